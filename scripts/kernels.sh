#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel cache: Debian kernels fetched with `apt-get download` and
# unpacked into $KMSDK_CACHE/kernels/<release>/, never installed into the
# host's /boot. One folder per release holds:
#
#   root/       the unpacked linux-image-<r>-unsigned, linux-headers-<r>,
#               its -common twin and linux-kbuild-*
#   build       -> the headers: the KDIR that Kbuild is run against
#   modules     -> root/lib/modules/<r>, indexed once with `depmod -b`
#   vmlinux     the ELF kernel taken out of vmlinuz (QEMU boots it via PVH)
#   config      -> the kernel's .config
#   kernel.info what was fetched; written last, so its presence means the
#               folder is complete
#
# Usage: kernels.sh list | fetch [SERIES|RELEASE ...] | path [SERIES|RELEASE]
set -euo pipefail

readonly default_series=(6.1 6.12)
readonly flavour=amd64
cache=${KMSDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmsdk}
readonly kernels_dir=$cache/kernels

die() {
	echo "kmsdk: $*" >&2
	exit 1
}

usage() {
	cat <<EOF
Usage: $(basename "$0") COMMAND

Manage the kernels kmsdk builds modules for and boots guests on.
They live in $kernels_dir (set KMSDK_CACHE to move it).

Commands:
  list                     list the cached kernels
  fetch [SERIES|RELEASE]…  fetch kernels from Debian's archive with
                           apt-get download (default: ${default_series[*]});
                           a series fetches its newest release that has both
                           headers and an -unsigned image
  path [SERIES|RELEASE]    print the folder of the newest cached match
EOF
}

# Releases of a series in apt's lists, newest first, for which both the
# headers and the unsigned image exist (not every headers release has one).
# A full release (6.1.0-56-amd64) selects just itself.
available_releases() {
	local want=$1 pattern
	if [[ $want == *-$flavour ]]; then
		pattern="^${want//./\\.}\$"
	else
		# 6.1.0-56-amd64 and 6.12.117+deb12-amd64, but not -cloud/-rt.
		pattern="^${want//./\\.}\\.[0-9][0-9.+a-z-]*-$flavour\$"
	fi
	local images
	images=$(apt-cache pkgnames linux-image- |
		sed -n "s/^linux-image-\\(.*\\)-unsigned\$/\\1/p")
	apt-cache pkgnames linux-headers- | sed 's/^linux-headers-//' |
		grep -E "$pattern" | grep -vE -- '-(cloud|rt)-[^-]+$' |
		grep -Fxf <(echo "$images") | sort -rV || true
}

# The packages behind one release: the image, the headers and the two
# packages the headers depend on for their Makefile and scripts.
packages_of() {
	local release=$1 depends
	depends=$(apt-cache show --no-all-versions "linux-headers-$release" |
		sed -n 's/^Depends: //p' | tr ',|' '\n\n' |
		sed 's/^ *//; s/ .*//')
	echo "linux-image-$release-unsigned"
	echo "linux-headers-$release"
	grep -E '^linux-headers-.*-common$|^linux-kbuild-' <<<"$depends" ||
		die "linux-headers-$release names no -common or linux-kbuild package"
}

read_u8() { od -An -tu1 -j"$2" -N1 "$1" | tr -d ' '; }
read_u32() { od -An -tu4 -j"$2" -N4 "$1" | tr -d ' '; }

# vmlinuz is a bzImage whose setup header locates the compressed ELF:
# payload_offset (0x248) and payload_length (0x24c), relative to the end of
# the setup sectors. The payload ends with the 4-byte uncompressed size.
extract_vmlinux() {
	local vmlinuz=$1 out=$2
	local setup_sects payload_offset payload_length start size magic
	[[ $(od -An -c -j514 -N4 "$vmlinuz" | tr -d ' ') == HdrS ]] ||
		die "$vmlinuz is not a bzImage (no HdrS header)"
	setup_sects=$(read_u8 "$vmlinuz" $((0x1f1)))
	payload_offset=$(read_u32 "$vmlinuz" $((0x248)))
	payload_length=$(read_u32 "$vmlinuz" $((0x24c)))
	start=$(((setup_sects + 1) * 512 + payload_offset))
	size=$(read_u32 "$vmlinuz" $((start + payload_length - 4)))
	magic=$(od -An -tx1 -j$start -N4 "$vmlinuz" | tr -d ' ')
	local decompress
	case $magic in
	fd377a58) decompress="xz -dc" ;;
	28b52ffd) decompress="zstd -dcq" ;;
	1f8b*) decompress="gzip -dc" ;;
	*) die "$vmlinuz: unknown payload compression (magic $magic)" ;;
	esac
	dd if="$vmlinuz" iflag=skip_bytes,count_bytes status=none bs=1M \
		skip=$start count=$((payload_length - 4)) | $decompress >"$out"
	[[ $(stat -c %s "$out") == "$size" ]] ||
		die "$vmlinuz: payload decompressed to the wrong size"
	[[ $(od -An -c -N4 "$out" | tr -d ' ') == 177ELF ]] ||
		die "$vmlinuz: payload is not an ELF file"
}

# Unpacked under one prefix, the headers work as they are but for two
# absolute paths: the flavour's Makefile includes its -common twin by
# /usr/src path, and the image's build/source links point there too.
relocate_headers() {
	local root=$1 release=$2
	local headers=$root/usr/src/linux-headers-$release
	sed -i 's|^include /usr/src/\(.*\)$|include $(dir $(lastword $(MAKEFILE_LIST)))../\1|' \
		"$headers/Makefile"
	local link
	for link in build source; do
		local target
		target=$(readlink "$root/lib/modules/$release/$link") || continue
		ln -sfn "../../..$target" "$root/lib/modules/$release/$link"
	done
}

fetch_release() {
	local release=$1 dest=$kernels_dir/$1
	[[ -f $dest/kernel.info ]] && return 0

	echo "kmsdk: fetching kernel $release into $dest"
	local work=$kernels_dir/.partial-$release
	rm -rf "$work" "$dest"
	mkdir -p "$work/debs" "$work/root"

	local packages
	mapfile -t packages < <(packages_of "$release")
	local -a apt_opts=(-q)
	[[ $EUID == 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)
	(cd "$work/debs" && apt-get "${apt_opts[@]}" download "${packages[@]}") ||
		die "apt-get download failed for ${packages[*]}; run 'apt-get update' (as root) and try again"

	echo "kmsdk: unpacking $release"
	local deb
	for deb in "$work"/debs/*.deb; do
		dpkg-deb -x "$deb" "$work/root"
	done
	relocate_headers "$work/root" "$release"

	echo "kmsdk: extracting vmlinux"
	extract_vmlinux "$work/root/boot/vmlinuz-$release" "$work/vmlinux"

	echo "kmsdk: indexing the kernel's modules (depmod)"
	depmod -b "$work/root" "$release"

	ln -s "root/usr/src/linux-headers-$release" "$work/build"
	ln -s "root/lib/modules/$release" "$work/modules"
	ln -s "root/boot/config-$release" "$work/config"
	{
		echo "release=$release"
		echo "series=$(series_of "$release")"
		for deb in "$work"/debs/*.deb; do
			echo "package=$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)"
		done
	} >"$work/kernel.info.tmp"
	rm -rf "$work/debs"
	mv "$work/kernel.info.tmp" "$work/kernel.info"
	mv "$work" "$dest"
	echo "kmsdk: kernel $release ready"
}

series_of() {
	cut -d. -f1,2 <<<"$1"
}

ensure_apt_lists() {
	[[ -n $(apt-cache pkgnames linux-headers- | head -1) ]] && return 0
	[[ $EUID == 0 ]] || die "apt has no package lists; run 'apt-get update' as root"
	echo "kmsdk: apt-get update"
	apt-get update -qq
}

fetch() {
	local -a wanted=("$@")
	((${#wanted[@]})) || wanted=("${default_series[@]}")
	ensure_apt_lists
	local want release
	for want in "${wanted[@]}"; do
		release=$(available_releases "$want" | head -1)
		if [[ -z $release && $EUID == 0 ]]; then
			apt-get update -qq
			release=$(available_releases "$want" | head -1)
		fi
		[[ -n $release ]] ||
			die "no Debian kernel '$want' with both linux-headers and linux-image-*-unsigned in apt's lists; try a series such as ${default_series[*]}"
		fetch_release "$release"
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

kernel_path() {
	local want=${1:-} release
	for release in $(cached_releases); do
		if [[ -z $want || $release == "$want" || $release == "$want".* ]]; then
			echo "$kernels_dir/$release"
			return 0
		fi
	done
	die "no cached kernel matches '${want:-any}'; fetch it with: $0 fetch $want"
}

list() {
	local releases
	releases=$(cached_releases)
	if [[ -z $releases ]]; then
		echo "No kernels in $kernels_dir; fetch some with: $0 fetch"
		return 0
	fi
	printf '%-24s %-6s %-8s %-8s %-8s %s\n' RELEASE SERIES HEADERS VMLINUX MODULES SIZE
	local release dir modules size
	for release in $releases; do
		dir=$kernels_dir/$release
		modules=$(grep -c . "$dir/modules/modules.dep" 2>/dev/null || echo 0)
		size=$(du -sh "$dir" 2>/dev/null | cut -f1)
		printf '%-24s %-6s %-8s %-8s %-8s %s\n' "$release" \
			"$(series_of "$release")" \
			"$([[ -f $dir/build/Makefile ]] && echo yes || echo MISSING)" \
			"$([[ -f $dir/vmlinux ]] && echo yes || echo MISSING)" \
			"$modules" "$size"
	done
}

case ${1:-} in
list) list ;;
fetch) shift && fetch "$@" ;;
path) shift && kernel_path "$@" ;;
-h | --help | help) usage ;;
*) usage >&2 && exit 2 ;;
esac
