#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs Kbuild for one module in its build folder on behalf of
# kmsdk_add_module(), and makes the result usable from the source tree:
# - compiler messages name the real source file, not the build folder's
#   link to it, so editors and terminals jump to the right line;
# - compile_commands.json entries come from the exact commands Kbuild ran
#   (its .<obj>.o.cmd files), pointing at the real sources;
# - the .ko is copied to a per-release output folder, with a fresh time
#   stamp: that copy tells the calling build this one is up to date, even
#   when Kbuild had nothing to do.
#
# Usage: kmsdk-kbuild.sh KDIR BUILD_DIR SOURCE_DIR OUTPUT_DIR
#                        MODULE "EXTRA_SYMVERS..." SOURCE...
set -euo pipefail

kdir=$1 build_dir=$2 source_dir=$3 output_dir=$4 module=$5
extra_symvers=$6
shift 6
sources=("$@")

# Map "<build_dir>/x.c" back to "<source_dir>/x.c" for the module's own
# sources only: generated files such as x.mod.c do live in the build folder.
map_paths=()
for src in "${sources[@]}"; do
	map_paths+=(-e "s|$build_dir/$src|$source_dir/$src|g")
done

make_args=(-C "$kdir" "M=$build_dir")
[[ -n $extra_symvers ]] && make_args+=("KBUILD_EXTRA_SYMBOLS=$extra_symvers")
# Module BTF needs the kernel's vmlinux in the headers, and 6.1's Debian
# headers ship neither it nor resolve_btfids: skip the step instead of
# printing "Skipping BTF generation" for every module.
[[ -e $kdir/vmlinux ]] || make_args+=("CONFIG_DEBUG_INFO_BTF_MODULES=")

# Kbuild runs as a plain command of the calling build, not as a recursive
# make that could share its jobserver; modules are a few objects each.
unset MAKEFLAGS MFLAGS MAKELEVEL

# KMSDK_WERROR=1 (kmsdk_add_module's KMSDK_MODULE_WERROR): a compiler or
# modpost warning fails the build.
[[ ${KMSDK_WERROR:-0} == 1 ]] && make_args+=("KCFLAGS=-Werror")
# KMSDK_ALLOW_UNRESOLVED=1 (ALLOW_UNRESOLVED): modpost leaves symbols it
# cannot resolve to the kernel, which resolves or refuses them at load.
# Those are expected then, and reported as what they are.
expected=()
if [[ ${KMSDK_ALLOW_UNRESOLVED:-0} == 1 ]]; then
	make_args+=("KBUILD_MODPOST_WARN=1")
	# Up to 6.x: WARNING: modpost: "sym" [path/x.ko] undefined!
	# From 7.x:   WARNING: modpost: x.ko: symbol 'sym' undefined!
	expected=(-e "s|^WARNING: modpost: \\(\"[^\"]*\"\\) \\[.*\\] undefined!\$|  UNRESOLVED \\1 left for the kernel to resolve at load (ALLOW_UNRESOLVED)|"
		-e "s|^WARNING: modpost: [^ ]*\\.ko: symbol '\\([^']*\\)' undefined!\$|  UNRESOLVED \"\\1\" left for the kernel to resolve at load (ALLOW_UNRESOLVED)|")
fi

# Kbuild's own progress lines are useful; its "Entering directory" chatter
# is not.
log=$build_dir/kbuild.log
# A kernel of another Debian release builds in its build root.
toolchain=$(dirname "${BASH_SOURCE[0]}")/kmsdk-toolchain.sh
if ! "$toolchain" "$kdir" make "${make_args[@]}" modules 2>&1 |
	sed -u "${map_paths[@]}" "${expected[@]}" -e '/^make\[[0-9]*\]: \(Entering\|Leaving\) directory/d' \
		-e '/^make: \(Entering\|Leaving\) directory/d' | tee "$log"; then
	echo "kmsdk: Kbuild failed for $module against $kdir" >&2
	exit 1
fi
if [[ ${KMSDK_WERROR:-0} == 1 ]] && grep -q '^WARNING: modpost' "$log"; then
	echo "kmsdk: modpost warned about $module (KMSDK_MODULE_WERROR is on)" >&2
	exit 1
fi

json_string() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# One entry per source, taken from the command line Kbuild recorded
# (cmd_… on 6.1, savedcmd_… on 6.12); what follows ';' is objtool.
write_compile_commands() {
	local directory entries=() src obj_dir base cmd_file line command
	directory=$(cd "$kdir" && pwd -P)
	for src in "${sources[@]}"; do
		obj_dir=$(dirname "$build_dir/$src")
		base=$(basename "$src" .c)
		cmd_file=$obj_dir/.$base.o.cmd
		[[ -f $cmd_file ]] || continue
		line=$(head -n 1 "$cmd_file")
		command=${line#*:= }
		command=${command%%;*}
		command=${command//$build_dir\/$src/$source_dir\/$src}
		entries+=("  {\"directory\": $(json_string "$directory"), \"file\": $(json_string "$source_dir/$src"), \"command\": $(json_string "${command% }")}")
	done
	local IFS=$'\n'
	local joined
	joined=$(printf '%s,\n' "${entries[@]}")
	printf '[\n%s\n]\n' "${joined%,}" >"$build_dir/compile_commands.json.tmp"
	mv "$build_dir/compile_commands.json.tmp" "$build_dir/compile_commands.json"
}

write_compile_commands
mkdir -p "$output_dir"
cp "$build_dir/$module.ko" "$output_dir/$module.ko"
