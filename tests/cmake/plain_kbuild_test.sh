#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The classic way still works: `make` (Kbuild, in place) in a copy of the
# tree builds every sample module for the given kernel, and `make clean`
# takes it all away again. The build runs with W=1, Kbuild's extra
# warnings, and must print none: a sample is code to copy.
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
	make -C "$scratch" KDIR="$kdir" W=1 >"$scratch/make.log" 2>&1 ||
		{ cat "$scratch/make.log"; fail "make KDIR=$kdir W=1"; }
	grep -q -- '-Wmissing-prototypes' "$scratch/kmodules/kms_hello/.kms_hello.o.cmd" ||
		fail "make KDIR=$kdir W=1 did not reach Kbuild: no -Wmissing-prototypes in the compile"
	# kms_proprietary's one modpost warning is its lesson: the GPL-only
	# symbol it is refused (6.x and 7.x word it differently).
	warnings=$(grep -E ': warning:|^WARNING:' "$scratch/make.log" |
		grep -vE "^WARNING: modpost: (\"kms_core_gpl_mul\" \[.*/kms_proprietary\.ko\]|kms_proprietary\.ko: symbol 'kms_core_gpl_mul') undefined!\$" || true)
	[[ -z $warnings ]] || fail "make KDIR=$kdir W=1 warned:"$'\n'"$warnings"
	built=$(find "$scratch/kmodules" -name '*.ko' | wc -l)
	[[ $built == "$expected" ]] || fail "make KDIR=$kdir built $built modules, not $expected"
	make -C "$scratch" KDIR="$kdir" clean >"$scratch/clean.log" 2>&1 ||
		{ cat "$scratch/clean.log"; fail "make clean"; }
	left=$(find "$scratch" -name '*.ko' -o -name '*.o' -o -name '.*.cmd' -o -name '*.mod*' -o -name Module.symvers)
	[[ -z $left ]] || fail "make clean left: $left"
	echo "make KDIR=$kdir W=1: $built modules built without a warning, clean left nothing"
done
