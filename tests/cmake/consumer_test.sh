#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The build as a user meets it: kmsdk installed to a prefix, a project of
# its own (examples/consumer, copied to a scratch folder) found through
# find_package(kmsdk). Checks that the build
# - gives a module and a C++ test that boots guests and loads it there;
# - installs in two components, the command alone or with what a build needs;
# - writes nothing into the sources, and a .clangd only when asked;
# - is a no-op the second time, and recompiles only what a touch changed;
# - reports a typo with the compiler's message at the source file and line.
#
# Usage: consumer_test.sh KMSDK_BUILD_DIR KMSDK_SOURCE_DIR
set -euo pipefail

kmsdk_build=$1 kmsdk_source=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-consumer-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cmake --install "$kmsdk_build" --prefix "$scratch/runtime" --component kmsdk_Runtime >/dev/null
[[ -x $scratch/runtime/bin/kmsdk ]] || fail "the kmsdk_Runtime component has no bin/kmsdk"
[[ ! -e $scratch/runtime/include ]] || fail "the kmsdk_Runtime component installed headers"
"$scratch/runtime/bin/kmsdk" new --list >/dev/null || fail "kmsdk new --list from the kmsdk_Runtime component"
cmake --install "$kmsdk_build" --prefix "$scratch/prefix" >/dev/null
[[ -f $scratch/prefix/include/kmsdk/guest.hpp ]] || fail "a whole install has no include/kmsdk/guest.hpp"
cp -r "$kmsdk_source/examples/consumer" "$scratch/src"
(cd "$scratch/src" && find . | sort) >"$scratch/before"

cmake -S "$scratch/src" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
	>"$scratch/configure.log" || { cat "$scratch/configure.log"; fail "configure"; }
cmake --build "$scratch/build" >"$scratch/build1.log" 2>&1 ||
	{ cat "$scratch/build1.log"; fail "first build"; }
kos=("$scratch"/build/modules/*/greeter.ko)
[[ -f ${kos[0]} ]] || fail "no greeter.ko under $scratch/build/modules"
echo "built ${#kos[@]} greeter.ko: ${kos[*]#"$scratch"/build/}"

ctest --test-dir "$scratch/build" --output-on-failure >"$scratch/ctest.log" 2>&1 ||
	{ cat "$scratch/ctest.log"; fail "the consumer's own guest test"; }
echo "the consumer's guest test passed: $(grep -m1 'tests passed' "$scratch/ctest.log")"

(cd "$scratch/src" && find . | sort) >"$scratch/after"
new=$(comm -13 "$scratch/before" "$scratch/after")
[[ -z $new ]] || fail "the build wrote into the source tree: $new"
cmake -S "$scratch/src" -B "$scratch/build" -DKMSDK_WRITE_CLANGD=ON >/dev/null
[[ -f $scratch/src/.clangd ]] || fail "-DKMSDK_WRITE_CLANGD=ON wrote no .clangd"
rm "$scratch/src/.clangd"
cmake -S "$scratch/src" -B "$scratch/build" -DKMSDK_WRITE_CLANGD=OFF >/dev/null

cmake --build "$scratch/build" >"$scratch/build2.log" 2>&1
if grep -q 'CC \[M\]' "$scratch/build2.log"; then
	cat "$scratch/build2.log"
	fail "a second build recompiled something"
fi

touch "$scratch/src/greeter.c"
cmake --build "$scratch/build" >"$scratch/build3.log" 2>&1
compiled=$(grep -c 'CC \[M\].*greeter\.o$' "$scratch/build3.log" || true)
[[ $compiled == "${#kos[@]}" ]] ||
	{ cat "$scratch/build3.log"; fail "touching greeter.c recompiled it $compiled times, not once per kernel"; }

sed -i 's/pr_info("loaded\\n");/pr_info("loaded\\n")/' "$scratch/src/greeter.c"
line=$(grep -n 'pr_info("loaded' "$scratch/src/greeter.c" | cut -d: -f1)
if cmake --build "$scratch/build" >"$scratch/typo.log" 2>&1; then
	fail "a build with a syntax error succeeded"
fi
grep -q "^$scratch/src/greeter.c:$((line + 1)):[0-9]*: error: " "$scratch/typo.log" ||
	grep -q "^$scratch/src/greeter.c:$line:[0-9]*: error: " "$scratch/typo.log" ||
	{ cat "$scratch/typo.log"; fail "the compiler error does not point at $scratch/src/greeter.c:$line"; }
echo "typo reported at: $(grep -m1 ': error: ' "$scratch/typo.log")"
echo "consumer build: 7 checks passed"
