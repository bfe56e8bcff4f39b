#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Lints kernel module C and the C++ beside it, as `kmsdk lint` and `make
# lint` run it:
# - checkpatch.pl --strict on every .c and .h (the kernel's own, taken once
#   from Debian's linux-source package into the kmsdk cache);
# - clang-format on the same files: the nearest .clang-format above each,
#   else kmsdk.clang-format (the kernel's style, installed beside this);
# - sparse through Kbuild's C=2 on every module folder (a Kbuild, or a
#   Makefile with obj-m, naming objects), built in a scratch copy against
#   a cached kernel, so no object lands in the source tree;
# - clang-tidy on the C++ sources a compile_commands.json lists.
# Every finding is printed as file:line: message, then one summary line
# per tool. Exit status: 0 when no tool found anything, 1 when one did (or
# could not run), 2 for a wrong command line.
#
# Usage: kmsdk-lint.sh [-k|--kernel SPEC] [-p|--compile-commands FILE]
#                      [-j|--jobs N] [PATH...]        (default PATH: .)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The kernel cache scripts: scripts/ in a source tree; installed, share/kmsdk
# beside this folder (share/cmake/kmsdk).
scripts=
for candidate in "$here/../../scripts" "$here/../../kmsdk"; do
	if [[ -f $candidate/lib/lintsrc.sh ]]; then
		scripts=$(cd "$candidate" && pwd)
		break
	fi
done
if [[ -z $scripts ]]; then
	echo "kmsdk: the kernel cache scripts (lib/lintsrc.sh) are not beside $here; reinstall kmsdk" >&2
	exit 1
fi
# shellcheck source=scripts/lib/common.sh
. "$scripts/lib/common.sh"
# shellcheck source=scripts/lib/archive.sh
. "$scripts/lib/archive.sh"
# shellcheck source=scripts/lib/lintsrc.sh
. "$scripts/lib/lintsrc.sh"

usage() {
	cat <<EOF
Usage: kmsdk lint [OPTIONS] [PATH...]

Lint kernel module C and C++ in PATHs (module folders or files; default .):
checkpatch.pl --strict and clang-format on .c and .h, sparse on each module
folder through Kbuild's C=2, and clang-tidy on the C++ a
compile_commands.json lists.

Options:
  -k, --kernel SPEC            the cached kernel sparse builds against
                               (default: the newest generic kernel that
                               builds with the host's compiler)
  -p, --compile-commands FILE  the compile_commands.json for the C++
                               (default: one in a PATH folder or its build/)
  -j, --jobs N                 tools run N at a time (default: $(nproc))
  -h, --help                   this text

Exit status: 0 nothing found, 1 a tool found something or could not run,
2 a wrong command line.
EOF
}

usage_error() {
	echo "kmsdk: $*" >&2
	echo "Run 'kmsdk lint --help' for usage." >&2
	exit 2
}

kernel_spec='' compile_commands='' jobs=$(nproc)
paths=()
while (($#)); do
	case $1 in
	-k | --kernel)
		(($# >= 2)) || usage_error "$1 needs a kernel, e.g. $1 6.12"
		kernel_spec=$2
		shift 2
		;;
	--kernel=*) kernel_spec=${1#*=} && shift ;;
	-p | --compile-commands)
		(($# >= 2)) || usage_error "$1 needs a compile_commands.json"
		compile_commands=$2
		shift 2
		;;
	--compile-commands=*) compile_commands=${1#*=} && shift ;;
	-j | --jobs)
		(($# >= 2)) || usage_error "$1 needs a number"
		jobs=$2
		shift 2
		;;
	--jobs=*) jobs=${1#*=} && shift ;;
	-h | --help) usage && exit 0 ;;
	--) shift && paths+=("$@") && break ;;
	-*) usage_error "unknown option '$1'" ;;
	*) paths+=("$1") && shift ;;
	esac
done
((${#paths[@]})) || paths=(.)
[[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs takes a positive number, not '$jobs'"
for path in "${paths[@]}"; do
	[[ -e $path ]] || usage_error "no such file or folder: $path"
done
if [[ -n $compile_commands ]]; then
	[[ -d $compile_commands ]] && compile_commands=$compile_commands/compile_commands.json
	[[ -f $compile_commands ]] ||
		usage_error "no compile_commands.json at $compile_commands; configure with cmake -DCMAKE_EXPORT_COMPILE_COMMANDS=ON to have one"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-lint-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- What to lint -----------------------------------------------------------

# Folders no lint looks into: version control, and build trees (CMake's, or
# anything holding a CMakeCache.txt) whose copies of sources are not ours.
list_files() {
	local path
	for path in "${paths[@]}"; do
		if [[ -f $path ]]; then
			echo "$path"
			continue
		fi
		find "$path" -type d \( -name .git -o -name build -o -name 'build-*' \
			-o -exec test -e '{}/CMakeCache.txt' \; \) -prune \
			-o -type f -print
	done | sed 's|^\./||' | sort -u
}
mapfile -t all_files < <(list_files)
c_files=() cxx_sources=() cxx_files=() module_dirs=()
for file in "${all_files[@]}"; do
	case $file in
	*.mod.c) ;; # Kbuild's, left by a build in place
	*.c | *.h) c_files+=("$file") ;;
	*.cpp | *.cc | *.cxx) cxx_sources+=("$file") && cxx_files+=("$file") ;;
	*.hpp | *.hh | *.hxx) cxx_files+=("$file") ;;
	*/Kbuild | Kbuild | */Makefile | Makefile)
		# A module folder names objects: obj-m += x.o, not only folders.
		if grep -qE '^[[:space:]]*obj-(m|y|\$\([A-Z_]+\))[[:space:]]*[+:]?=.*\.o\b' "$file"; then
			module_dirs+=("$(dirname "$file")")
		fi
		;;
	esac
done
mapfile -t module_dirs < <(printf '%s\n' "${module_dirs[@]}" | sed '/^$/d' | sort -u)

status=0
found() { status=1; }

# Seconds since a time taken from EPOCHREALTIME, as "1.2 s".
seconds_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'
}

# "1 problem in 3 files": a count and its noun.
count_of() {
	if (($1 == 1)); then echo "1 $2"; else echo "$1 $2s"; fi
}

need_tool() {
	command -v "$1" >/dev/null && return 0
	echo "$2: $1 is not installed: apt-get install $3 (or run scripts/setup.sh)" >&2
	found
	return 1
}

# --- checkpatch -------------------------------------------------------------

# Findings checkpatch makes of out-of-tree code that no change could fix:
# - LINUX_VERSION_CODE: a module built for several kernels tests the
#   version, and checkpatch's "code should be for the version to which it
#   is merged" is for code merged into the kernel;
# - CONSTANT_COMPARISON on such a test: LINUX_VERSION_CODE < KERNEL_VERSION()
#   reads to it as a constant on the left;
# - PREFER_PR_LEVEL for printk(KERN_DEFAULT ...): it suggests pr_default(),
#   which no kernel has.
checkpatch_filter() {
	local file line level type message text
	while IFS= read -r finding; do
		if [[ ! $finding =~ ^(.+):([0-9]+):\ (ERROR|WARNING|CHECK):([A-Z0-9_]+):\ (.*)$ ]]; then
			[[ -n $finding ]] && echo "$finding"
			continue
		fi
		file=${BASH_REMATCH[1]} line=${BASH_REMATCH[2]} level=${BASH_REMATCH[3]}
		type=${BASH_REMATCH[4]} message=${BASH_REMATCH[5]}
		text=$(sed -n "${line}p" "$file" 2>/dev/null || true)
		case $type in
		LINUX_VERSION_CODE) continue ;;
		CONSTANT_COMPARISON) [[ $text == *LINUX_VERSION_CODE* ]] && continue ;;
		PREFER_PR_LEVEL) [[ $text == *KERN_DEFAULT* ]] && continue ;;
		esac
		echo "$file:$line: $level: $message ($type)"
	done
}

run_checkpatch() {
	local start=$EPOCHREALTIME
	need_tool perl checkpatch perl || return 0
	local source_dir
	source_dir=$(lint_source_dir) || {
		echo "checkpatch: not run: checkpatch.pl could not be fetched (the reason is above)"
		found
		return 0
	}
	local checkpatch=$source_dir/scripts/checkpatch.pl
	printf '%s\0' "${c_files[@]}" |
		xargs -0 -r -P "$jobs" -n 8 perl "$checkpatch" --no-tree --strict --terse \
			--showfile --show-types --no-summary --color=never -f \
			>"$work/checkpatch.raw" 2>&1 || true
	checkpatch_filter <"$work/checkpatch.raw" | sort -t: -k1,1 -k2,2n >"$work/checkpatch.out"
	cat "$work/checkpatch.out"
	local problems
	problems=$(grep -c . "$work/checkpatch.out" || true)
	((problems == 0)) || found
	echo "checkpatch: $(count_of "$problems" problem) in $(count_of ${#c_files[@]} file) ($(seconds_since "$start"))"
}

# --- clang-format -----------------------------------------------------------

# The .clang-format clang-format itself would find for a file, else ours.
format_style_of() {
	local dir
	dir=$(cd "$(dirname "$1")" && pwd)
	while :; do
		for name in .clang-format _clang-format; do
			[[ -f $dir/$name ]] && echo "$dir/$name" && return 0
		done
		[[ $dir == / ]] && break
		dir=$(dirname "$dir")
	done
	echo "$here/kmsdk.clang-format"
}

run_clang_format() {
	local start=$EPOCHREALTIME
	need_tool clang-format clang-format clang-format || return 0
	local file style
	: >"$work/clang-format.list"
	for file in "${c_files[@]}"; do
		style=$(format_style_of "$file")
		printf '%s\t%s\n' "$style" "$file" >>"$work/clang-format.list"
	done
	# One run per style, its files together.
	local -a styles
	mapfile -t styles < <(cut -f1 "$work/clang-format.list" | sort -u)
	: >"$work/clang-format.raw"
	for style in "${styles[@]}"; do
		awk -F'\t' -v s="$style" '$1 == s { print $2 }' "$work/clang-format.list" |
			tr '\n' '\0' |
			xargs -0 -r clang-format --style="file:$style" --dry-run \
				>>"$work/clang-format.raw" 2>&1 || true
	done
	grep -E '^.+:[0-9]+:[0-9]+: (warning|error): ' "$work/clang-format.raw" |
		sed -E 's/ \[-Wclang-format-violations\]$//' >"$work/clang-format.out" || true
	cat "$work/clang-format.out"
	local problems
	problems=$(grep -c . "$work/clang-format.out" || true)
	if ((problems)); then
		found
		# How to take what it asks for, file by file.
		local -a unformatted
		mapfile -t unformatted < <(cut -d: -f1 "$work/clang-format.out" | sort -u)
		for file in "${unformatted[@]}"; do
			echo "clang-format: to reformat $file: clang-format -i --style=file:$(format_style_of "$file") $file"
		done
	fi
	echo "clang-format: $(count_of "$problems" problem) in $(count_of ${#c_files[@]} file) ($(seconds_since "$start"))"
}

# --- sparse -----------------------------------------------------------------

# The kernel sparse builds against: --kernel, else the newest generic
# kernel that builds with the host's own compiler (no build root).
sparse_kernel() {
	if [[ -n $kernel_spec ]]; then
		bash "$scripts/kernels.sh" path "$kernel_spec"
		return
	fi
	local info release
	for info in "$kernels_dir"/*/kernel.info; do
		[[ -f $info ]] || continue
		release=$(basename "$(dirname "$info")")
		[[ $(spec_of "$release") =~ ^[0-9]+\.[0-9]+$ ]] || continue
		grep -q '^toolroot=' "$info" && continue
		echo "$release"
	done | sort -rV | head -1 | sed "s|^|$kernels_dir/|"
}

run_sparse() {
	local start=$EPOCHREALTIME
	need_tool sparse sparse sparse || return 0
	local kernel
	kernel=$(sparse_kernel) || {
		found
		return 0
	}
	if [[ -z $kernel || ! -d $kernel/build ]]; then
		echo "sparse: no cached kernel to build against; fetch one: kmsdk kernels fetch 6.12" >&2
		found
		return 0
	fi
	local kdir=$kernel/build release
	release=$(basename "$kernel")

	# Each module folder is copied to the scratch tree at its own absolute
	# path below it, without what a build in place left, and listed in one
	# Kbuild: one Kbuild run, its modpost over all. A folder a Kbuild takes
	# headers from beside it ($(src)/../other) comes along, unlisted.
	local tree=$work/sparse dir abs sibling
	mkdir -p "$tree/.bin"
	: >"$tree/Kbuild"
	copy_folder() {
		mkdir -p "$tree$1"
		tar -C "$1" --exclude-vcs --exclude-tag-all=CMakeCache.txt \
			--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
			--exclude='.*.cmd' --exclude=modules.order --exclude=Module.symvers \
			--exclude=.tmp_versions -cf - . | tar -C "$tree$1" -xf -
	}
	for dir in "${module_dirs[@]}"; do
		abs=$(realpath "$dir")
		[[ -d $tree$abs ]] || copy_folder "$abs"
		echo "obj-m += ${abs#/}/" >>"$tree/Kbuild"
		# shellcheck disable=SC2016 # $(src) is Kbuild's, read literally
		while read -r sibling; do
			[[ -d $abs/../$sibling && ! -d $tree$(realpath "$abs/../$sibling") ]] &&
				copy_folder "$(realpath "$abs/../$sibling")"
		done < <(cat "$abs"/Kbuild "$abs"/Makefile 2>/dev/null |
			sed -n 's|.*$(src)/\.\./\([A-Za-z0-9_.-]*\).*|\1|p' | sort -u)
	done
	# sparse's report goes to a file of its own, apart from the
	# compiler's; the host's sparse is copied in (it needs only libc), so
	# that a kernel built in a build root finds it there too.
	cp /usr/bin/sparse "$tree/.bin/sparse" 2>/dev/null || cp "$(command -v sparse)" "$tree/.bin/sparse"
	cat >"$tree/.bin/check" <<EOF
#!/bin/sh
echo "\$*" | grep -o '[^ ]*\.c\$' >>"$tree/.bin/checked"
"$tree/.bin/sparse" "\$@" 2>>"$tree/.bin/report"
exit 0
EOF
	chmod +x "$tree/.bin/check"
	: >"$tree/.bin/report"
	: >"$tree/.bin/checked"
	local -a make_args=(-C "$kdir" "M=$tree" C=2 "CHECK=$tree/.bin/check" KBUILD_MODPOST_WARN=1 -j "$jobs")
	[[ -e $kdir/vmlinux ]] || make_args+=("CONFIG_DEBUG_INFO_BTF_MODULES=")
	local toolchain=$here/kmsdk-toolchain.sh
	# modpost's refusals (a non-GPL module using a GPL-only symbol) come
	# after sparse has seen every file, and are the build's business.
	if ! (unset MAKEFLAGS MFLAGS MAKELEVEL && "$toolchain" "$kdir" make "${make_args[@]}" modules) \
		>"$work/sparse.build" 2>&1 &&
		! { grep -q '^ERROR: modpost: ' "$work/sparse.build" &&
			! grep -qE '^[^ ]+:[0-9]+(:[0-9]+)?: (fatal )?error: ' "$work/sparse.build"; }; then
		sed -e "s|$tree/|/|g" -e "s|$PWD/||g" "$work/sparse.build" | grep -v '^make\[[0-9]*\]: \(Entering\|Leaving\)' | tail -n 30
		echo "sparse: the modules do not build against $release (the compiler's messages are above); fix the build, or pick another kernel with --kernel"
		found
		return 0
	fi
	# What sparse says of the kernel's own headers (any path outside the
	# scratch tree) is the kernel's. Ours are named by their real path,
	# relative to here when below it.
	local kernel_reports
	grep -E '^.+:[0-9]+:[0-9]+: (warning|error): ' "$tree/.bin/report" | sort -u >"$work/sparse.all" || true
	grep -F "$tree/" "$work/sparse.all" | sed -e "s|$tree/|/|" -e "s|^$PWD/||" >"$work/sparse.out" || true
	kernel_reports=$(grep -vcF "$tree/" "$work/sparse.all" || true)
	cat "$work/sparse.out"
	local problems checked
	problems=$(grep -c . "$work/sparse.out" || true)
	checked=$(sort -u "$tree/.bin/checked" | grep -c . || true)
	((problems == 0)) || found
	local note=
	((kernel_reports == 0)) || note="; $kernel_reports in the kernel's own headers, not counted"
	echo "sparse: $(count_of "$problems" problem) in $(count_of "$checked" file) against $release$note ($(seconds_since "$start"))"
}

# --- clang-tidy -------------------------------------------------------------

# A compile_commands.json for the C++: --compile-commands, else one in a
# PATH folder or its build/.
find_compile_commands() {
	[[ -n $compile_commands ]] && echo "$compile_commands" && return 0
	local path
	for path in "${paths[@]}"; do
		[[ -d $path ]] || path=$(dirname "$path")
		for candidate in "$path/compile_commands.json" "$path/build/compile_commands.json"; do
			[[ -f $candidate ]] && echo "$candidate" && return 0
		done
	done
	return 1
}

run_clang_tidy() {
	local start=$EPOCHREALTIME
	local database
	if ! database=$(find_compile_commands); then
		echo "clang-tidy: skipped: ${#cxx_files[@]} C++ files and no compile_commands.json; pass --compile-commands FILE (cmake -DCMAKE_EXPORT_COMPILE_COMMANDS=ON writes one)"
		return 0
	fi
	need_tool clang-tidy clang-tidy clang-tidy || return 0
	# The sources of ours it lists; headers are checked through them.
	local -A listed=()
	local file
	while IFS= read -r file; do
		listed[$file]=1
	done < <(python3 -c 'import json, os, sys
for entry in json.load(open(sys.argv[1])):
    print(os.path.realpath(os.path.join(entry.get("directory", "."), entry["file"])))' "$database")
	local -a units=() unlisted=()
	for file in "${cxx_sources[@]}"; do
		if [[ -n ${listed[$(realpath "$file")]:-} ]]; then
			units+=("$file")
		else
			unlisted+=("$file")
		fi
	done
	if ((${#unlisted[@]})); then
		echo "clang-tidy: not in $database, so not checked: ${unlisted[*]}"
	fi
	# Each unit's diagnostics in a file of its own; a header's, reported
	# through every unit that includes it, are printed once.
	mkdir -p "$work/tidy"
	local n=0
	# shellcheck disable=SC2016 # sh expands them, once per unit
	for file in "${units[@]}"; do
		n=$((n + 1))
		printf '%s\0%s\0' "$work/tidy/$n.out" "$file"
	done | xargs -0 -r -n 2 -P "$jobs" sh -c 'clang-tidy -p "$0" --quiet "$2" >"$1" 2>&1 || true' "$(dirname "$database")"
	cat "$work"/tidy/*.out 2>/dev/null |
		grep -E '^.+:[0-9]+:[0-9]+: (warning|error): ' |
		sed -E "s|^$(pwd)/||; s/,-warnings-as-errors\]$/]/" | sort -u >"$work/clang-tidy.out" || true
	cat "$work/clang-tidy.out"
	local problems
	problems=$(grep -c . "$work/clang-tidy.out" || true)
	((problems == 0)) || found
	echo "clang-tidy: $(count_of "$problems" problem) in $(count_of ${#units[@]} file) ($(seconds_since "$start"))"
}

# --- The run ----------------------------------------------------------------

if ((${#c_files[@]})); then
	run_checkpatch
	run_clang_format
else
	echo "checkpatch, clang-format: no .c or .h files in ${paths[*]}"
fi
if ((${#module_dirs[@]})); then
	run_sparse
elif ((${#c_files[@]})); then
	echo "sparse: no module folder (a Kbuild, or a Makefile with obj-m) in ${paths[*]}"
fi
if ((${#cxx_sources[@]})); then
	run_clang_tidy
fi
exit "$status"
