#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `kmsdk lint DIR` as a user runs it on a module of their own, with the
# real checkpatch.pl, sparse and clang-format:
#   - a badly styled module (spaces for indentation, no SPDX line, no blank
#     line after declarations, a __user pointer dereferenced) fails with
#     exit status 1 and file:line messages naming each problem in
#     checkpatch's and sparse's own words;
#   - a copy of kmodules/kms_hello passes with exit status 0;
#   - a path that does not exist is a usage error, exit status 2, named;
#   - nothing is left in TMPDIR.
#
# Usage: lint_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir=$1 source_dir=$2
kmsdk=$build_dir/bin/kmsdk
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-lint-test-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

[[ -x $kmsdk ]] || fail "$kmsdk is not built (cmake --build $build_dir --target kmsdk_cli)"
for tool in perl sparse clang-format; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup.sh installs it)"
done
"$source_dir/scripts/kernels.sh" path >/dev/null 2>&1 ||
	skip "no cached kernel for sparse to build against (kmsdk kernels fetch 6.12)"

# The lint's own scratch folders go here, to be counted at the end.
mkdir -p "$scratch/tmp"
export TMPDIR=$scratch/tmp

# lint NAME ARG...: runs kmsdk lint in the scratch folder; its output in
# NAME.out, its status in $status.
lint() {
	local name=$1
	shift
	status=0
	(cd "$scratch" && timeout 500 "$kmsdk" lint "$@") >"$scratch/$name.out" 2>&1 || status=$?
}

# expect NAME TEXT: the run's output has the line.
expect() {
	grep -qF -- "$2" "$scratch/$1.out" ||
		fail "kmsdk lint ($1) does not say '$2'; it said:$(printf '\n'; cat "$scratch/$1.out")"
}

mkdir "$scratch/ugly"
# Line 1 lacks the SPDX tag; lines 8-10 are indented with spaces; line 9
# follows the declaration without a blank line; line 15 dereferences a
# user-space pointer, which only sparse sees.
cat >"$scratch/ugly/ugly.c" <<'EOF'
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/uaccess.h>

static int __init ugly_init(void)
{
    int answer = 42;
    pr_info("ugly: %d\n", answer);
    return 0;
}

int ugly_peek(int __user *where)
{
	return *where;
}
EXPORT_SYMBOL_GPL(ugly_peek);

module_init(ugly_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A module in the wrong style");
EOF
echo 'obj-m += ugly.o' >"$scratch/ugly/Kbuild"

lint ugly ugly
((status == 1)) || fail "kmsdk lint of a badly styled module exited $status, not 1:$(printf '\n'; cat "$scratch/ugly.out")"
expect ugly "ugly/ugly.c:1: WARNING: Missing or malformed SPDX-License-Identifier tag in line 1"
expect ugly "ugly/ugly.c:8: WARNING: please, no spaces at the start of a line"
expect ugly "ugly/ugly.c:9: WARNING: Missing a blank line after declarations"
expect ugly "ugly/ugly.c:15:17: warning: dereference of noderef expression"
grep -qE '^ugly/ugly.c:8:[0-9]+: warning: code should be clang-formatted$' "$scratch/ugly.out" ||
	fail "clang-format does not name ugly.c:8:$(printf '\n'; cat "$scratch/ugly.out")"
grep -qE '^checkpatch: [1-9][0-9]* problems? in 1 file ' "$scratch/ugly.out" ||
	fail "no checkpatch summary counting the problems:$(printf '\n'; cat "$scratch/ugly.out")"
grep -qE '^sparse: [1-9][0-9]* problems? in 1 file against ' "$scratch/ugly.out" ||
	fail "no sparse summary counting the problems:$(printf '\n'; cat "$scratch/ugly.out")"

cp -r "$source_dir/kmodules/kms_hello" "$scratch/kms_hello"
lint hello kms_hello
((status == 0)) || fail "kmsdk lint of a copy of kms_hello exited $status, not 0:$(printf '\n'; cat "$scratch/hello.out")"
expect hello "checkpatch: 0 problems in 1 file "
expect hello "clang-format: 0 problems in 1 file "
expect hello "sparse: 0 problems in 1 file against"
# The copy is as it was: sparse built elsewhere.
diff -r "$source_dir/kmodules/kms_hello" "$scratch/kms_hello" >/dev/null ||
	fail "kmsdk lint left files in the module folder: $(diff -rq "$source_dir/kmodules/kms_hello" "$scratch/kms_hello")"

lint missing /nonexistent
((status == 2)) || fail "kmsdk lint /nonexistent exited $status, not 2 (a usage error)"
expect missing "no such file or folder: /nonexistent"

leftover=$(find "$scratch/tmp" -mindepth 1 | head -5)
[[ -z $leftover ]] || fail "kmsdk lint left files in TMPDIR: $leftover"
echo "PASS: kmsdk lint finds each problem by file:line (exit 1), passes kms_hello (exit 0), refuses a missing path (exit 2)"
