#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job's tour: every sample module, for every kernel it was built
# for, as `modinfo` shows it.
#
# Usage: tour.sh [BUILD_DIR]
set -euo pipefail

build_dir=${1:-build}
modules_dir=$build_dir/modules
[[ -d $modules_dir ]] ||
	{ echo "kmsdk: nothing built in $build_dir; run 'make run'" >&2; exit 1; }

for release_dir in "$modules_dir"/*/; do
	release=$(basename "$release_dir")
	echo "=== kernel $release"
	for ko in "$release_dir"*.ko; do
		echo
		echo "\$ modinfo $(basename "$ko")"
		modinfo "$ko" | grep -vE '^(filename|srcversion|retpoline|intree|name):'
	done
	echo
done
