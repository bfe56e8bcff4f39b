#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel cache: Debian kernels fetched from Debian's archive through a
# private apt configuration (lib/archive.sh) and unpacked into
# $KMSDK_CACHE/kernels/<release>/ (lib/unpack.sh), never installed into
# the host's /boot.
#
# Usage: kernels.sh list | available [SUITE...] | resolve SPEC |
#                   fetch [SPEC...] | ensure [SPEC...] | remove SPEC... |
#                   path [SPEC]
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
  list                 the cached kernels, with their size on disk
  available [SUITE…]   what Debian's archive offers: each series and
                       flavour, its suite and newest release
  resolve SPEC         the suite and release a SPEC would fetch
  fetch [SPEC…]        fetch kernels into the cache (default: ${default_specs[*]})
  ensure [SPEC…]       fetch those that no cached kernel matches yet
  remove SPEC…         delete cached kernels, with their snapshots and
                       base initramfs
  path [SPEC]          print the folder of the newest cached match

SPEC is a series (6.12, 7.3), a series and flavour (6.12-rt, 6.12-cloud),
a full release (6.12.117+deb12-rt-amd64), or any of them after a suite
(trixie:6.12). It resolves to the newest release whose kernel, modules and
headers are all in the archive, looked up first in the host's own Debian
release: $(suite_order | paste -sd' ').
EOF
}

fetch() {
	local -a wanted=("$@")
	((${#wanted[@]})) || wanted=("${default_specs[@]}")
	local spec resolved suite release
	for spec in "${wanted[@]}"; do
		# A cached release needs no archive.
		already_cached "${spec#*:}" && continue
		resolved=$(resolve_spec "$spec")
		read -r suite release <<<"$resolved"
		fetch_release "$suite" "$release"
	done
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

remove() {
	(($#)) || die "name the kernels to remove, e.g. 'kmsdk kernels remove 6.1'"
	local spec release
	for spec in "$@"; do
		local -a releases
		mapfile -t releases < <(cached_matches "$spec")
		# A fetch that was cut short is removable by its release too.
		[[ -d $kernels_dir/.partial-${spec#*:} ]] && releases+=("${spec#*:}")
		((${#releases[@]})) ||
			die "no cached kernel matches '$spec'; 'kmsdk kernels' lists them"
		for release in "${releases[@]}"; do
			rm -rf "${kernels_dir:?}/$release" "$kernels_dir/.partial-$release" \
				"$cache/initramfs/$release"
			say "removed kernel $release"
		done
	done
}

list() {
	local releases
	releases=$(cached_releases)
	if [[ -z $releases ]]; then
		echo "No kernels in $kernels_dir; fetch some with: kmsdk kernels fetch 6.12"
		return 0
	fi
	printf '%-28s %-10s %-18s %-8s %-8s %-8s %s\n' RELEASE SPEC SUITE HEADERS VMLINUX MODULES SIZE
	local release dir modules size suite
	for release in $releases; do
		dir=$kernels_dir/$release
		modules=$(grep -c . "$dir/modules/modules.dep" 2>/dev/null || echo 0)
		size=$(du -sh "$dir" 2>/dev/null | cut -f1)
		suite=$(sed -n 's/^suite=//p' "$dir/kernel.info")
		printf '%-28s %-10s %-18s %-8s %-8s %-8s %s\n' "$release" \
			"$(spec_of "$release" || echo "$release")" "${suite:--}" \
			"$([[ -f $dir/build/Makefile ]] && echo yes || echo MISSING)" \
			"$([[ -f $dir/vmlinux ]] && echo yes || echo MISSING)" \
			"$modules" "$size"
	done
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
