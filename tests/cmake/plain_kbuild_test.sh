#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The classic way still works: `make` (Kbuild, in place) in a copy of the
# tree builds every sample module for the given kernel, and `make clean`
# takes it all away again.
#
# Usage: plain_kbuild_test.sh SOURCE_DIR KDIR...
set -euo pipefail

source_dir=$1
shift
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-kbuild-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cp -r "$source_dir/Kbuild" "$source_dir/Makefile" "$source_dir/kmodules" \
	"$source_dir/scripts" "$scratch/"
# The Makefile runs Kbuild through the toolchain wrapper (build roots).
mkdir -p "$scratch/sdk/cmake"
cp "$source_dir/sdk/cmake/kmsdk-toolchain.sh" "$scratch/sdk/cmake/"
find "$scratch" -name CMakeLists.txt -delete
expected=$(cd "$source_dir/kmodules" && ls -d kms_*/ | wc -l)

for kdir in "$@"; do
	make -C "$scratch" KDIR="$kdir" >"$scratch/make.log" 2>&1 ||
		{ cat "$scratch/make.log"; fail "make KDIR=$kdir"; }
	built=$(find "$scratch/kmodules" -name '*.ko' | wc -l)
	[[ $built == "$expected" ]] || fail "make KDIR=$kdir built $built modules, not $expected"
	make -C "$scratch" KDIR="$kdir" clean >"$scratch/clean.log" 2>&1 ||
		{ cat "$scratch/clean.log"; fail "make clean"; }
	left=$(find "$scratch" -name '*.ko' -o -name '*.o' -o -name '.*.cmd' -o -name '*.mod*' -o -name Module.symvers)
	[[ -z $left ]] || fail "make clean left: $left"
	echo "make KDIR=$kdir: $built modules built, clean left nothing"
done
