# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# One kernel from Debian's archive into the cache: its packages downloaded
# with the suite's private apt configuration (archive.sh), unpacked with
# dpkg-deb under one prefix, and laid out as kmsdk reads it:
#
#   root/       the unpacked packages
#   build       -> the headers: the KDIR that Kbuild is run against
#   modules     -> the lib/modules/<r> tree, indexed once with `depmod -b`
#   vmlinux     the ELF kernel taken out of vmlinuz (QEMU boots it via PVH)
#   config      -> the kernel's .config
#   kernel.info what was fetched and what builds for it (toolroot=: the
#               build root Kbuild runs in, for a kernel of another Debian
#               release); written last, so its presence means the folder
#               is complete
#
# A fetch works in .partial-<release>/ and renames it into place at the
# end: whatever stops it half-way leaves no folder that could be used, and
# the next fetch starts that one afresh.

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
	# The size zstd reads past the frame makes it exit non-zero after
	# writing the whole ELF: the size and magic checks below judge.
	dd if="$vmlinuz" iflag=skip_bytes,count_bytes status=none bs=1M \
		skip=$start count=$((payload_length - 4)) | $decompress >"$out" || true
	[[ $(stat -c %s "$out") == "$size" ]] ||
		die "$vmlinuz: payload decompressed to $(stat -c %s "$out") bytes, not $size (a full disk?)"
	[[ $(od -An -c -N4 "$out" | tr -d ' ') == 177ELF ]] ||
		die "$vmlinuz: payload is not an ELF file"
}

# Unpacked under one prefix, the headers work as they are but for their
# absolute paths: the flavour's Makefile includes its -common twin by
# /usr/src path, and the modules tree's build/source links point there too.
relocate_headers() {
	local root=$1 release=$2 modules=$3
	local headers=$root/usr/src/linux-headers-$release
	# From 7.x the Makefile also sets KBUILD_OUTPUT to its /usr/src path:
	# its own folder, wherever it is.
	sed -i -e 's|^include /usr/src/\(.*\)$|include $(dir $(lastword $(MAKEFILE_LIST)))../\1|' \
		-e 's|^KBUILD_OUTPUT=/usr/src/.*$|KBUILD_OUTPUT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))|' \
		"$headers/Makefile"
	local link target
	for link in build source; do
		target=$(readlink "$modules/$link") || continue
		[[ $target == /* ]] || continue
		ln -sfn "$(realpath --relative-to="$modules" -m "$root$target")" "$modules/$link"
	done
}

# The packages behind one release in one suite, one per line: the headers
# and the two packages they depend on for their Makefile and scripts, then
# the kernel and its modules: one -unsigned image up to 6.x; from 7.x,
# linux-binary- (the kernel), linux-modules- and linux-base- (config,
# modules.builtin).
# The package names the headers of a release depend on, one per line
# (alternatives split, versions dropped).
headers_depends() {
	local suite=$1 release=$2
	suite_apt "$suite" apt-cache show --no-all-versions "linux-headers-$release" |
		sed -n 's/^Depends: //p' | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//'
}

packages_of() {
	local suite=$1 release=$2 depends
	depends=$(headers_depends "$suite" "$release")
	echo "linux-headers-$release"
	grep -E '^linux-headers-.*-common(-rt)?$|^linux-kbuild-' <<<"$depends" ||
		die "linux-headers-$release names no -common or linux-kbuild package"
	if suite_apt "$suite" apt-cache show "linux-image-$release-unsigned" >/dev/null 2>&1; then
		echo "linux-image-$release-unsigned"
	else
		echo "linux-binary-$release"
		echo "linux-modules-$release"
		echo "linux-base-$release"
	fi
}

# The compiler the headers ask for: gcc-12, gcc-14 (from gcc-14-for-host).
compiler_of() {
	headers_depends "$1" "$2" | sed -n 's/^\(gcc-[0-9]*\)\(-for-host\)\?$/\1/p' | head -1
}

# Bytes the packages take: what is downloaded plus what it unpacks to, and
# the ELF kernel (about three times vmlinuz) on top.
space_needed() {
	local suite=$1
	shift
	suite_apt "$suite" apt-cache show --no-all-versions "$@" |
		awk '/^Size: / { s += $2 } /^Installed-Size: / { s += $2 * 1024 } END { print s + 64 * 1024 * 1024 }'
}

check_space() {
	local needed=$1 free
	mkdir -p "$kernels_dir"
	free=$(df --output=avail -B1 "$kernels_dir" | tail -1)
	((free >= needed)) ||
		die "fetching this kernel needs $(human_size "$needed") in $kernels_dir and $(human_size "$free") is free; make room (kmsdk kernels remove SPEC) or set KMSDK_CACHE"
}

# The tree lib/modules/<r> as depmod and the runtime look for it. From
# 7.x Debian ships it under usr/lib/modules (merged /usr): lib/modules
# then points there.
modules_tree() {
	local root=$1 release=$2
	if [[ ! -d $root/lib/modules/$release && -d $root/usr/lib/modules/$release ]]; then
		mkdir -p "$root/lib/modules"
		ln -s "../../usr/lib/modules/$release" "$root/lib/modules/$release"
	fi
	[[ -d $root/lib/modules/$release ]] || die "the packages of $release hold no modules tree"
	echo "$root/lib/modules/$release"
}

# Up to 6.x the kernel and its config are in boot/; from 7.x in the
# modules tree.
kernel_file() {
	local root=$1 release=$2 name=$3
	local file
	for file in "$root/boot/$name-$release" "$root/usr/lib/modules/$release/$name"; do
		[[ -f $file ]] && { echo "$file"; return 0; }
	done
	die "the packages of $release hold no $name"
}

# A cached kernel's build root, made again if it went.
ensure_cached_root() {
	local info=$1/kernel.info toolroot suite compiler
	toolroot=$(sed -n 's/^toolroot=//p' "$info")
	[[ -n $toolroot ]] || return 0
	suite=$(sed -n 's/^suite=//p' "$info")
	compiler=$(sed -n 's/^compiler=//p' "$info")
	ensure_root "$toolroot" "$suite" "$compiler"
}

# True when a release is cached whole: then only its build root is made
# again if it went.
already_cached() {
	local release=$1
	[[ -f $kernels_dir/$release/kernel.info ]] || return 1
	say "kernel $release is already in the cache"
	ensure_cached_root "$kernels_dir/$release"
}

fetch_release() {
	local suite=$1 release=$2 dest=$kernels_dir/$2
	already_cached "$release" && return 0
	local work=$kernels_dir/.partial-$release
	rm -rf "$work" "$dest"

	local -a packages
	mapfile -t packages < <(packages_of "$suite" "$release")
	check_space "$(space_needed "$suite" "${packages[@]}")"
	# The build root first: a kernel is complete only with what builds
	# its modules.
	local compiler toolroot
	compiler=$(compiler_of "$suite" "$release")
	toolroot=$(root_needed_for "$suite" "$compiler")
	[[ -n $toolroot ]] && ensure_root "$toolroot" "$suite" "$compiler"

	mkdir -p "$work/debs" "$work/root"
	# Whatever ends this fetch early leaves nothing behind.
	trap 'rm -rf "$work"' EXIT
	trap 'rm -rf "$work"; exit 130' INT
	trap 'rm -rf "$work"; exit 143' TERM

	say "fetching kernel $release from $suite: ${packages[*]}"
	(cd "$work/debs" && suite_apt "$suite" apt-get -q download "${packages[@]}" >&2) ||
		die "apt-get download failed for ${packages[*]} from $suite; nothing was kept"

	say "unpacking $release"
	local deb
	for deb in "$work"/debs/*.deb; do
		dpkg-deb -x "$deb" "$work/root" ||
			die "cannot unpack $(basename "$deb") (a full disk?); nothing was kept"
	done
	local modules
	modules=$(modules_tree "$work/root" "$release")
	relocate_headers "$work/root" "$release" "$modules"

	say "extracting vmlinux"
	extract_vmlinux "$(kernel_file "$work/root" "$release" vmlinuz)" "$work/vmlinux"

	say "indexing the kernel's modules (depmod)"
	depmod -b "$work/root" "$release"

	ln -s "root/usr/src/linux-headers-$release" "$work/build"
	ln -s "$(realpath --relative-to="$work" "$modules")" "$work/modules"
	ln -s "$(realpath --relative-to="$work" "$(kernel_file "$work/root" "$release" config)")" "$work/config"
	{
		echo "release=$release"
		echo "series=$(cut -d. -f1,2 <<<"$release")"
		echo "suite=$suite"
		echo "compiler=$compiler"
		[[ -n $toolroot ]] && echo "toolroot=$toolroot"
		for deb in "$work"/debs/*.deb; do
			echo "package=$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)"
		done
	} >"$work/kernel.info.tmp"
	rm -rf "$work/debs"
	mv "$work/kernel.info.tmp" "$work/kernel.info"
	mv "$work" "$dest"
	trap - EXIT INT TERM
	say "kernel $release ready ($(du -sh "$dest" | cut -f1))"
}

# The vmlinux of a cached kernel's -dbg package, with its DWARF, as
# vmlinux-debug beside the kernel: for gdb (kmsdk debug). Only that file
# is kept of a package that unpacks to several GB (every module's debug
# information too).
fetch_debug_symbols() {
	local release=$1 dest=$kernels_dir/$1
	local package=linux-image-$release-dbg
	if [[ -f $dest/vmlinux-debug ]]; then
		say "the debug symbols of $release are already in the cache"
		return 0
	fi
	local suite size
	suite=$(sed -n 's/^suite=//p' "$dest/kernel.info")
	refresh_suite "$suite" || true
	size=$(suite_apt "$suite" apt-cache show --no-all-versions "$package" 2>/dev/null | sed -n 's/^Size: //p' | head -1)
	[[ -n $size ]] || die "Debian's $suite archive has no $package: its debug symbols cannot be fetched"
	# The package, and its vmlinux unpacked beside it.
	check_space $((size * 3))
	say "fetching $package: a $(human_size "$size") download, for one vmlinux with debug information"
	local work=$dest/.partial-debug
	rm -rf "$work"
	mkdir -p "$work"
	trap 'rm -rf "$work"' EXIT
	trap 'rm -rf "$work"; exit 130' INT
	trap 'rm -rf "$work"; exit 143' TERM
	(cd "$work" && suite_apt "$suite" apt-get -q download "$package" >&2) ||
		die "apt-get download failed for $package from $suite; nothing was kept"
	say "extracting the vmlinux of $package"
	dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work" --wildcards '*/vmlinux*' ||
		die "cannot unpack $package (a full disk?); nothing was kept"
	local vmlinux
	vmlinux=$(find "$work" -type f \( -name "vmlinux-$release" -o -name vmlinux \) | head -1)
	[[ -n $vmlinux ]] || die "$package holds no vmlinux; nothing was kept"
	mv "$vmlinux" "$dest/vmlinux-debug"
	rm -rf "$work"
	trap - EXIT INT TERM
	say "debug symbols of $release ready: $dest/vmlinux-debug ($(du -h "$dest/vmlinux-debug" | cut -f1)); kmsdk debug uses them"
}
