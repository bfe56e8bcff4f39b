#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The build errors the READMEs quote, made by the real build of each kernel:
#   - modpost stops a non-GPL module that uses a GPL-only symbol
#     (kms_proprietary with kms_core's Module.symvers);
#   - modpost stops a module whose symbols it cannot find (kms_consumer
#     without KBUILD_EXTRA_SYMBOLS), and the same build passes with it;
#   - on a kernel built with IBT, objtool warns about (6.12) or refuses
#     (from 6.15) init_module()/cleanup_module() whose addresses nothing
#     takes: kms-hello-1 without the two references it keeps for that.
#
# Usage: modpost_test.sh SOURCE_DIR KDIR...
set -euo pipefail

source_dir=$1
shift
toolchain=$source_dir/sdk/cmake/kmsdk-toolchain.sh
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-modpost-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# kbuild KDIR DIR [VAR=VALUE...]: `make modules` of the module in DIR, its
# output in DIR/make.log; the status is make's.
kbuild() {
	local kdir=$1 dir=$2
	shift 2
	"$toolchain" "$kdir" make -C "$kdir" M="$dir" "$@" modules >"$dir/make.log" 2>&1
}

# expect_line FILE LINE: the log holds LINE, whole.
expect_line() {
	grep -qxF -- "$2" "$1" || { cat "$1"; fail "no line '$2' in $1"; }
}

for kdir in "$@"; do
	work=$scratch/$(basename "$(dirname "$kdir")")
	mkdir -p "$work"
	for module in kms_core kms_consumer kms_proprietary kms_hello_1; do
		cp -r "$source_dir/kmodules/$module" "$work/"
		rm -f "$work/$module/CMakeLists.txt"
	done
	kbuild "$kdir" "$work/kms_core" || { cat "$work/kms_core/make.log"; fail "kms_core for $kdir"; }
	symbols=$work/kms_core/Module.symvers

	if kbuild "$kdir" "$work/kms_proprietary" KBUILD_EXTRA_SYMBOLS="$symbols"; then
		fail "modpost let kms_proprietary use a GPL-only symbol on $kdir"
	fi
	# 7.x puts the module's name first.
	proprietary_log=$work/kms_proprietary/make.log
	if grep -qF 'ERROR: modpost: kms_proprietary.ko:' "$proprietary_log"; then
		expect_line "$proprietary_log" \
			"ERROR: modpost: kms_proprietary.ko: GPL-incompatible module uses GPL-only symbol 'kms_core_gpl_mul'"
	else
		expect_line "$proprietary_log" \
			"ERROR: modpost: GPL-incompatible module kms_proprietary.ko uses GPL-only symbol 'kms_core_gpl_mul'"
	fi

	if kbuild "$kdir" "$work/kms_consumer"; then
		fail "modpost built kms_consumer without kms_core's symbols on $kdir"
	fi
	consumer_log=$work/kms_consumer/make.log
	if grep -qF 'ERROR: modpost: kms_consumer.ko:' "$consumer_log"; then
		expect_line "$consumer_log" "ERROR: modpost: kms_consumer.ko: symbol 'kms_core_add' undefined!"
	else
		grep -qE '^ERROR: modpost: "kms_core_add" \[.*/kms_consumer\.ko\] undefined!$' "$consumer_log" ||
			{ cat "$consumer_log"; fail "modpost did not name kms_core_add undefined on $kdir"; }
	fi
	kbuild "$kdir" "$work/kms_consumer" KBUILD_EXTRA_SYMBOLS="$symbols" ||
		{ cat "$consumer_log"; fail "kms_consumer with KBUILD_EXTRA_SYMBOLS on $kdir"; }

	# The notes' bare hello-1: kms-hello-1 without its references.
	bare=$work/kms_hello_1
	sed -i '/__initdata __used = /d' "$bare/kms-hello-1.c"
	grep -q '_ref' "$bare/kms-hello-1.c" && fail "the references are still in the bare copy"
	if ! grep -q '^CONFIG_X86_KERNEL_IBT=y' "$kdir/.config"; then
		kbuild "$kdir" "$bare" || { cat "$bare/make.log"; fail "bare kms-hello-1 on $kdir"; }
		grep -q 'objtool' "$bare/make.log" && { cat "$bare/make.log"; fail "objtool spoke on $kdir"; }
		echo "$kdir: no IBT, bare init_module() builds without a word"
	elif kbuild "$kdir" "$bare"; then
		grep -qE 'warning: objtool: init_module\(\): not an indirect call target$' "$bare/make.log" ||
			{ cat "$bare/make.log"; fail "objtool did not warn about init_module() on $kdir"; }
		echo "$kdir: IBT, objtool warns: init_module(): not an indirect call target"
	else
		grep -qE 'error: objtool: (init|cleanup)_module\(\): Magic init_module\(\) function name is deprecated, use module_init\(fn\) instead$' "$bare/make.log" ||
			{ cat "$bare/make.log"; fail "bare kms-hello-1 failed on $kdir, not for objtool's reason"; }
		echo "$kdir: IBT, objtool refuses: Magic init_module() function name is deprecated"
	fi
	echo "$kdir: modpost refused the GPL-only symbol and the undefined one, as the READMEs quote"
done
