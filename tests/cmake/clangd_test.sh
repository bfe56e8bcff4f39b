#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# clangd understands module code: with the compile commands kmsdk gathered
# from Kbuild and the .clangd kmsdk wrote, every sample source checks clean.
#
# Usage: clangd_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir=$1 source_dir=$2
command -v clangd >/dev/null || { echo "FAIL: clangd is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
[[ -f $source_dir/.clangd ]] || { echo "FAIL: no $source_dir/.clangd" >&2; exit 1; }

failed=0 checked=0
while IFS= read -r src; do
	log=$(clangd --compile-commands-dir="$build_dir" --check="$src" 2>&1) || true
	checked=$((checked + 1))
	if ! grep -q 'All checks completed, 0 errors' <<<"$log"; then
		echo "FAIL: clangd reports errors in $src:" >&2
		grep -E '^E\[' <<<"$log" >&2 || tail -5 <<<"$log" >&2
		failed=$((failed + 1))
	elif grep -q 'Generic fallback command' <<<"$log"; then
		echo "FAIL: no compile command for $src in $build_dir/compile_commands.json" >&2
		failed=$((failed + 1))
	fi
done < <(find "$source_dir/kmodules" -name '*.c' | sort)
echo "clangd: $((checked - failed)) of $checked module sources clean"
((failed == 0))
