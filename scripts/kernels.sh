#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel cache: Debian kernels fetched from Debian's archive through a
# private apt configuration (lib/archive.sh) and unpacked into
# $KMSDK_CACHE/kernels/<release>/ (lib/unpack.sh), never installed into
# the host's /boot.
#
# Usage: kernels.sh list | available [SUITE...] | resolve SPEC |
#                   fetch [SPEC...] | ensure [SPEC...] |
#                   remove [--root NAME]... [SPEC...] | path [SPEC]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=lib/archive.sh
. "$here/lib/archive.sh"
# shellcheck source=lib/toolroot.sh
. "$here/lib/toolroot.sh"
# shellcheck source=lib/unpack.sh
. "$here/lib/unpack.sh"

readonly default_specs=(6.1 6.12)

usage() {
	cat <<EOF
Usage: $(basename "$0") COMMAND

Manage the kernels kmsdk builds modules for and boots guests on.
They live in $kernels_dir (set KMSDK_CACHE to move it).

Commands:
  list                 the cached kernels and build roots, with their size
                       on disk, and the cache's total
  available [SUITE…]   what Debian's archive offers: each series and
                       flavour, its suite and newest release
  resolve SPEC         the suite and release a SPEC would fetch
  fetch [--debug-symbols] [SPEC…]
                       fetch kernels into the cache (default: ${default_specs[*]});
                       --debug-symbols also fetches each one's -dbg package
                       (about 850 MB) and keeps its vmlinux, for kmsdk debug
  ensure [SPEC…]       fetch those that no cached kernel matches yet
  remove SPEC…         delete cached kernels, with their snapshots and
                       base initramfs, and a build root no cached kernel
                       builds in any more
  remove --root NAME   delete a build root no cached kernel builds in
  path [SPEC]          print the folder of the newest cached match

SPEC is a series (6.12, 7.3), a series and flavour (6.12-rt, 6.12-cloud),
a full release (6.12.117+deb12-rt-amd64), or any of them after a suite
(trixie:6.12). It resolves to the newest release whose kernel, modules and
headers are all in the archive, looked up first in the host's own Debian
release: $(suite_order | paste -sd' ').
EOF
}

fetch() {
	local debug_symbols=0
	if [[ ${1:-} == --debug-symbols ]]; then
		debug_symbols=1
		shift
	fi
	local -a wanted=("$@")
	((${#wanted[@]})) || wanted=("${default_specs[@]}")
	local spec resolved suite release
	for spec in "${wanted[@]}"; do
		# A cached release needs no archive.
		if already_cached "${spec#*:}"; then
			release=${spec#*:}
		else
			resolved=$(resolve_spec "$spec")
			read -r suite release <<<"$resolved"
			fetch_release "$suite" "$release"
		fi
		((debug_symbols)) && fetch_debug_symbols "$release"
	done
	return 0
}

# Like fetch, but a spec that a cached kernel already matches is left as
# it is, without asking the archive: what setup does on every run.
ensure() {
	local -a wanted=("$@")
	((${#wanted[@]})) || wanted=("${default_specs[@]}")
	local spec
	local cached
	for spec in "${wanted[@]}"; do
		cached=$(cached_matches "$spec" | head -1)
		if [[ -n $cached ]]; then
			ensure_cached_root "$kernels_dir/$cached"
		else
			fetch "$spec"
		fi
	done
}

# Cached releases, newest first.
cached_releases() {
	local info
	for info in "$kernels_dir"/*/kernel.info; do
		[[ -f $info ]] || continue
		basename "$(dirname "$info")"
	done | sort -rV
}

# Cached releases that a spec names (its suite aside), newest first.
cached_matches() {
	local want=${1#*:} release
	for release in $(cached_releases); do
		if [[ -z $want || $release == "$want" ]] || release_matches "$release" "$want"; then
			echo "$release"
		fi
	done
}

kernel_path() {
	local release
	release=$(cached_matches "${1:-}" | head -1)
	[[ -n $release ]] ||
		die "no cached kernel matches '${1:-any}'; fetch it with: kmsdk kernels fetch ${1:-6.12}"
	echo "$kernels_dir/$release"
}

# The cached kernels that build in a root (a folder; any path to it), one
# release per line, newest first. kernel.info names its root by path:
# compared as real paths, a cache reached through a symlink still matches.
root_users() {
	local root release toolroot
	root=$(realpath -m -- "$1")
	for release in $(cached_releases); do
		toolroot=$(sed -n 's/^toolroot=//p' "$kernels_dir/$release/kernel.info")
		if [[ -n $toolroot && $(realpath -m -- "$toolroot") == "$root" ]]; then
			echo "$release"
		fi
	done
}

# The SPECs of releases, each once, as a list reads them: 7.3,7.3-rt.
specs_of() {
	local release
	for release in "$@"; do
		spec_of "$release" || echo "$release"
	done | sort -uV | paste -sd,
}

# After its kernels went: the root of a removed kernel that no cached
# kernel builds in any more goes too. Only a root of this cache is
# removed: a kernel.info of a cache moved elsewhere may name another's.
remove_root_if_unused() {
	local root
	root=$(realpath -m -- "$1")
	[[ $(dirname -- "$root") == "$(realpath -m -- "$roots_dir")" && -d $root ]] || return 0
	[[ -z $(root_users "$root") ]] || return 0
	# A fetch under way writes its kernel.info, and with it the root it
	# builds in, only at the end.
	local partial
	partial=$(compgen -G "$kernels_dir/.partial-*" | head -1) || true
	if [[ -n $partial ]]; then
		say "kept build root roots/$(basename "$root"): the fetch in $partial (under way, or cut short) may build in it; once it is done or removed: kmsdk kernels remove --root $(basename "$root")"
		return 0
	fi
	remove_root "$root" "no cached kernel builds in it"
}

# remove [--root NAME]... [SPEC]...: every name is checked before
# anything is deleted, so a typo removes nothing.
remove() {
	local root
	local -a specs=() roots=()
	while (($#)); do
		case $1 in
		--root)
			(($# >= 2)) || die "--root needs the name of a build root, e.g. --root trixie-gcc-14; 'kmsdk kernels' lists them"
			root=$(root_named "$2")
			roots+=("$root")
			shift 2
			;;
		--root=*)
			root=$(root_named "${1#--root=}")
			roots+=("$root")
			shift
			;;
		-*) die "remove takes SPECs and --root NAME, not '$1'" ;;
		*) specs+=("$1") && shift ;;
		esac
	done
	((${#specs[@]} + ${#roots[@]})) ||
		die "name the kernels to remove, e.g. 'kmsdk kernels remove 6.1', or a build root: 'kmsdk kernels remove --root trixie-gcc-14'"

	local spec release
	local -a releases=() matched
	for spec in "${specs[@]}"; do
		mapfile -t matched < <(cached_matches "$spec")
		# A fetch that was cut short is removable by its release too.
		[[ -d $kernels_dir/.partial-${spec#*:} ]] && matched+=("${spec#*:}")
		((${#matched[@]})) ||
			die "no cached kernel matches '$spec'; 'kmsdk kernels' lists them"
		releases+=("${matched[@]}")
	done

	local -a freed=()
	for release in "${releases[@]}"; do
		[[ -e $kernels_dir/$release || -e $kernels_dir/.partial-$release ]] || continue
		root=$(sed -n 's/^toolroot=//p' "$kernels_dir/$release/kernel.info" 2>/dev/null || true)
		if [[ -n $root ]]; then freed+=("$root"); fi
		rm -rf "${kernels_dir:?}/$release" "$kernels_dir/.partial-$release" \
			"$cache/initramfs/$release"
		say "removed kernel $release"
	done
	for root in "${freed[@]}"; do
		remove_root_if_unused "$root"
	done

	local users
	for root in "${roots[@]}"; do
		# Gone with the last of its kernels, above.
		[[ -d $root ]] || continue
		users=$(root_users "$root")
		# shellcheck disable=SC2086 # one release per word
		[[ -z $users ]] ||
			die "build root roots/$(basename "$root") is in use by $(specs_of $users) ($(paste -sd' ' <<<"$users")): remove those kernels instead (kmsdk kernels remove $(specs_of $users | tr , ' ')), and the root goes with the last of them"
		remove_root "$root" "no cached kernel builds in it"
	done
}

# The kernels, then the build roots, then the cache's whole size: plain
# columns under a header line each, for a person or a pipe.
list() {
	local -a releases roots
	mapfile -t releases < <(cached_releases)
	mapfile -t roots < <(cached_roots)
	if ((${#releases[@]} == 0 && ${#roots[@]} == 0)); then
		echo "No kernels in $kernels_dir; fetch some with: kmsdk kernels fetch 6.12"
		return 0
	fi
	# Sizes on disk of the cache's folders two deep (kernels/<release>,
	# roots/<name>) and of the whole, from one walk of the cache.
	# Keyed by path in the cache; the cache itself is ".".
	local -A disk_use=()
	local size path top=${cache%/}
	while IFS=$'\t' read -r size path; do
		path=${path#"$top"}
		path=${path#/}
		disk_use[${path:-.}]=$size
	done < <(du -h --dereference-args --max-depth=2 -- "${top:-/}" 2>/dev/null)

	if ((${#releases[@]} == 0)); then
		echo "No kernels in $kernels_dir; fetch some with: kmsdk kernels fetch 6.12"
	else
		list_kernels "${releases[@]}"
	fi
	if ((${#roots[@]})); then
		echo
		list_roots "${roots[@]}"
	fi
	echo
	list_total
}

list_kernels() {
	# Kernels fetched before kernel.info kept a suite: the lists in the
	# cache may still tell it.
	local release dir
	local -A inferred=()
	local suite
	while read -r release suite; do
		inferred[$release]=$suite
	done < <(for release in "$@"; do
		grep -q '^suite=' "$kernels_dir/$release/kernel.info" && continue
		echo "$release $(sed -n "s/^package=\(linux-headers-$release=\)/\1/p" "$kernels_dir/$release/kernel.info" | head -1)"
	done | suites_holding)

	printf '%-28s %-10s %-18s %-8s %-8s %-8s %s\n' RELEASE SPEC SUITE HEADERS VMLINUX MODULES SIZE
	local modules size
	for release in "$@"; do
		dir=$kernels_dir/$release
		modules=$(grep -c . "$dir/modules/modules.dep" 2>/dev/null || echo 0)
		size=${disk_use[kernels/$release]:-?}
		suite=$(sed -n 's/^suite=//p' "$dir/kernel.info")
		suite=${suite:-${inferred[$release]:-}}
		printf '%-28s %-10s %-18s %-8s %-8s %-8s %s\n' "$release" \
			"$(spec_of "$release" || echo "$release")" "${suite:--}" \
			"$([[ -f $dir/build/Makefile ]] && echo yes || echo MISSING)" \
			"$([[ -f $dir/vmlinux ]] && echo yes || echo MISSING)" \
			"$modules" "$size"
	done
}

# USED BY: the SPECs of the cached kernels that build in the root; "-"
# for none, which 'kmsdk kernels remove --root NAME' removes.
list_roots() {
	printf '%-28s %-18s %s\n' ROOT "USED BY" SIZE
	local name users size
	for name in "$@"; do
		users=$(root_users "$roots_dir/$name")
		size=${disk_use[roots/$name]:-?}
		# shellcheck disable=SC2086 # one release per word
		printf '%-28s %-18s %s\n' "$name" "$( [[ -n $users ]] && specs_of $users || echo -)" "$size"
	done
}

# "total 2.3G in ~/.cache/kmsdk (kernels 1.9G, roots 284M, ...)": also
# what the tables do not show (snapshots are in kernels/, base initramfs,
# apt's lists and downloads).
list_total() {
	local -a parts=()
	local name
	for name in kernels roots initramfs apt; do
		if [[ -n ${disk_use[$name]:-} ]]; then parts+=("$name ${disk_use[$name]}"); fi
	done
	local joined
	joined=$(printf '%s, ' "${parts[@]}")
	printf 'total %s in %s (%s)\n' "${disk_use[.]:-?}" "$cache" "${joined%, }"
}

case ${1:-} in
list) list ;;
available)
	shift
	for suite in "$@"; do
		is_known_suite "$suite" || die "'$suite' is not a suite kmsdk reads; it reads: ${known_suites[*]}"
	done
	refresh_suites "$@"
	list_available "$@"
	;;
resolve)
	shift
	(($# == 1)) || die "usage: kernels.sh resolve SPEC"
	resolve_spec "$1"
	;;
fetch) shift && fetch "$@" ;;
ensure) shift && ensure "$@" ;;
remove) shift && remove "$@" ;;
path) shift && kernel_path "$@" ;;
-h | --help | help) usage ;;
*) usage >&2 && exit 2 ;;
esac
