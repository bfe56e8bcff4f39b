#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# clangd understands module code: with the compile commands kmsdk gathered
# from Kbuild and the .clangd kmsdk wrote, every sample source checks clean,
# for every kernel of the build. The build's compile_commands.json holds
# one kernel's (KMSDK_CLANGD_KERNEL); the others' are gathered here the way
# the build gathers that one, from each module's per-kernel fragment, so a
# kernel built in its build root (7.x, gcc-14) is checked too.
#
# Usage: clangd_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir=$1 source_dir=$(realpath "$2")
command -v clangd >/dev/null || { echo "FAIL: clangd is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
[[ -f $source_dir/.clangd ]] || { echo "FAIL: no $source_dir/.clangd" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-clangd-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# check_sources DIR LABEL: clangd --check of every sample source with the
# compile_commands.json in DIR.
failed=0
check_sources() {
	local commands_dir=$1 label=$2 src log checked=0 bad=0
	while IFS= read -r src; do
		log=$(clangd --compile-commands-dir="$commands_dir" --check="$src" 2>&1) || true
		checked=$((checked + 1))
		if ! grep -q 'All checks completed, 0 errors' <<<"$log"; then
			echo "FAIL ($label): clangd reports errors in $src:" >&2
			grep -E '^E\[' <<<"$log" >&2 || tail -5 <<<"$log" >&2
			bad=$((bad + 1))
		elif grep -q 'Generic fallback command' <<<"$log"; then
			echo "FAIL ($label): no compile command for $src in $commands_dir/compile_commands.json" >&2
			bad=$((bad + 1))
		fi
	done < <(find "$source_dir/kmodules" -name '*.c' | sort)
	echo "clangd ($label): $((checked - bad)) of $checked module sources clean"
	failed=$((failed + bad))
}

check_sources "$build_dir" "the build's compile_commands.json"

# same_commands A B: the two databases compile the samples alike.
same_commands() {
	python3 -c 'import json, sys
def samples(path):
    return sorted((e for e in json.load(open(path)) if e["file"].startswith(sys.argv[3])),
                  key=lambda e: e["file"])
sys.exit(samples(sys.argv[1]) != samples(sys.argv[2]))' "$1" "$2" "$source_dir/kmodules/"
}

# Fragments live at <build>/kmodules/<module>/kbuild/<release>/<module>/.
mapfile -t releases < <(find "$build_dir/kmodules" -mindepth 3 -maxdepth 3 -path '*/kbuild/*' -type d \
	-printf '%f\n' | sort -u)
((${#releases[@]} > 0)) || { echo "FAIL: no per-kernel compile commands under $build_dir/kmodules" >&2; exit 1; }
for release in "${releases[@]}"; do
	fragments=$(find "$build_dir/kmodules" -path "*/kbuild/$release/*/compile_commands.json" | sort | paste -sd ';')
	mkdir -p "$scratch/$release"
	cmake "-DOUTPUT=$scratch/$release/compile_commands.json" "-DFRAGMENTS=$fragments" \
		-P "$source_dir/sdk/cmake/KmsdkMergeCompileCommands.cmake"
	# The build gathered one kernel's the same way: checked above already.
	if same_commands "$scratch/$release/compile_commands.json" "$build_dir/compile_commands.json"; then
		echo "clangd ($release): the build's compile_commands.json, checked above"
		continue
	fi
	check_sources "$scratch/$release" "$release"
done
((failed == 0))
