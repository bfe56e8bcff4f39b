# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Build roots: a kernel of another Debian release than the host's needs
# that release's compiler and C library (7.x's fixdep and modpost need
# glibc 2.38; bookworm has 2.36). kmsdk makes one minimal root per release
# and compiler, once, in $cache/roots/<family>-<compiler>/, with mmdebstrap
# --variant=minbase (debootstrap's minbase, made with apt; as a normal user
# in a user namespace), and Kbuild then runs inside it
# (sdk/cmake/kmsdk-toolchain.sh). root.info, written last, marks a root
# complete and lists its packages: one cut short, or made with another
# list, is made again.

readonly roots_dir=$cache/roots
# What Kbuild runs for an external module, besides the compiler; xz for
# modules_install, which compresses (CONFIG_MODULE_COMPRESS_XZ).
readonly root_packages=(make libc6-dev libelf-dev pahole bc flex bison xz-utils)

# The root a kernel of this suite and compiler builds in; "" when the host
# builds it (its own release).
root_needed_for() {
	local suite=$1 compiler=$2
	[[ $(suite_family "$suite") == "$(host_family)" ]] && return 0
	echo "$roots_dir/$(suite_family "$suite")-${compiler:-gcc}"
}

# Makes the root of a family and compiler unless it is complete.
ensure_root() {
	local root=$1 suite=$2 compiler=$3
	grep -qxF "packages=${root_packages[*]}" "$root/root.info" 2>/dev/null && return 0
	command -v mmdebstrap >/dev/null ||
		die "a $(suite_family "$suite") kernel builds in a $(suite_family "$suite") root, made with mmdebstrap: install it (apt-get install mmdebstrap) or run scripts/setup.sh"
	local family partial
	family=$(suite_family "$suite")
	partial=$roots_dir/.partial-$(basename "$root")
	rm -rf "$partial" "$partial.tar"
	mkdir -p "$roots_dir"
	# As a normal user, mmdebstrap works in a user namespace (subordinate
	# ids, newuidmap) and writes a tarball, unpacked here as the user's own
	# files: the user can remove the root again, and Kbuild runs in it
	# through a user namespace that maps the user to root. (fakechroot
	# cannot run a newer release's glibc.)
	local -a mode=(--mode=root)
	local target=$partial
	if [[ $EUID != 0 ]]; then
		mode=(--mode=unshare)
		target=$partial.tar
	fi
	trap 'rm -rf "$partial" "$partial.tar"' EXIT
	trap 'rm -rf "$partial" "$partial.tar"; exit 130' INT
	trap 'rm -rf "$partial" "$partial.tar"; exit 143' TERM
	say "making the $family build root with $compiler (once; about 20 s and 360 MB) in $root"
	local log=$roots_dir/.partial-$(basename "$root").log
	local include
	include=$(printf '%s,' "$compiler" "${root_packages[@]}")
	if ! mmdebstrap --variant=minbase "${mode[@]}" --include="${include%,}" \
		--aptopt='Acquire::Languages "none"' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
		"$family" "$target" \
		"deb [signed-by=$archive_keyring] $debian_mirror $family main" >"$log" 2>&1; then
		tail -n 15 "$log" | sed 's/^/  /' >&2
		rm -rf "$partial" "$partial.tar"
		local hint="check the network or set KMSDK_DEBIAN_MIRROR"
		[[ $EUID != 0 ]] && grep -q -i 'subuid\|subgid\|newuidmap\|unshare' "$log" &&
			hint="as a normal user it needs uidmap (scripts/setup.sh installs it) and subordinate ids for $(id -un) in /etc/subuid and /etc/subgid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un)), or run the fetch once as root with the same KMSDK_CACHE"
		die "cannot make the $family build root ($log has the whole log): $hint"
	fi
	rm -f "$log"
	if [[ $target != "$partial" ]]; then
		# Device nodes are the host's /dev, bound at run time.
		mkdir -p "$partial"
		tar -xf "$target" -C "$partial" --no-same-owner --exclude='./dev/*' ||
			die "cannot unpack the $family build root into $partial (a full disk?)"
		rm -f "$target"
	fi
	{
		echo "family=$family"
		echo "compiler=$compiler"
		echo "packages=${root_packages[*]}"
		echo "made=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$partial/root.info"
	# A root made with an older list of packages goes.
	rm -rf "$root"
	mv "$partial" "$root"
	trap - EXIT INT TERM
	say "build root $root ready ($(du -sh "$root" 2>/dev/null | cut -f1))"
}

# The roots in the cache, by name (trixie-gcc-14), one per line. Those
# still being made (.partial-*) are not roots yet.
cached_roots() {
	local dir
	for dir in "$roots_dir"/*/; do
		if [[ -d $dir ]]; then basename "$dir"; fi
	done | sort -V
}

# A root as the user names it: trixie-gcc-14, roots/trixie-gcc-14, or its
# path. Prints the folder; dies naming the roots there are.
root_named() {
	local name=${1%/}
	[[ $name == */* && $(realpath -m -- "$(dirname -- "$name")") == "$(realpath -m -- "$roots_dir")" ]] &&
		name=$(basename -- "$name")
	name=${name#roots/}
	if [[ -z $name || $name == */* || $name == .* || ! -d $roots_dir/$name ]]; then
		local known
		known=$(cached_roots | paste -sd' ')
		die "no build root '$1' in $roots_dir; $([[ -n $known ]] && echo "there are: $known" || echo "there are none")"
	fi
	echo "$roots_dir/$name"
}

# Deletes a root and says so. Whatever is mounted inside it (a bind of
# /home, say) is not the root's: rm would go through a bind of the same
# file system, so a mount refuses the removal rather than risk it.
# (kmsdk-toolchain.sh's own mounts live in a namespace of their own and
# are not seen here.)
remove_root() {
	local root=$1 why=$2 size mounts
	size=$(du -sh "$root" 2>/dev/null | cut -f1) || true
	mounts=$(awk -v dir="$(realpath -m -- "$root")" \
		'$5 == dir || index($5, dir "/") == 1 { print "  " $5 }' /proc/self/mountinfo)
	[[ -z $mounts ]] ||
		die "build root $root has something mounted inside, left as it is:"$'\n'"$mounts"$'\n'"unmount it (umount -R PATH) and run the remove again"
	# A root unpacked as a normal user may hold folders without write
	# permission, which rm cannot empty: made writable, they can.
	if ! rm -rf --one-file-system -- "$root" 2>/dev/null; then
		chmod -R u+w -- "$root" 2>/dev/null || true
		rm -rf --one-file-system -- "$root" ||
			die "cannot remove build root $root completely; remove the rest with: rm -rf $root (as root if root made it)"
	fi
	say "removed build root roots/$(basename "$root") (${size:-?}), $why"
}
