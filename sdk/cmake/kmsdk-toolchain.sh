#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs a command with the toolchain a cached kernel's modules build with.
# For a kernel of the host's own Debian release that is the host itself.
# A kernel of another release (7.x from trixie-backports: gcc-14, glibc
# 2.38) names in its kernel.info the build root `kmsdk kernels fetch` made
# for it; the command then runs chrooted in that root, in a mount and PID
# namespace of its own, with /proc and /dev mounted and the host's
# folders outside the system ones (/home, /root, /tmp, /work, ...) bound at
# the same paths, so that every path on the command line means what it
# means here. As a normal user the namespaces are a user namespace's.
#
# Usage: kmsdk-toolchain.sh KDIR COMMAND [ARG...]
#   e.g. kmsdk-toolchain.sh ~/.cache/kmsdk/kernels/7.3.4+deb13-amd64/build \
#            make -C ~/.cache/kmsdk/kernels/7.3.4+deb13-amd64/build M=$PWD modules
set -euo pipefail

die() {
	echo "kmsdk: $*" >&2
	exit 1
}

(($# >= 2)) || die "usage: $(basename "$0") KDIR COMMAND [ARG...]"
kdir=$1
shift

# The kernel's cache folder holds kernel.info beside build/. A KDIR
# elsewhere (a distribution's /lib/modules/<r>/build) is the host's.
info=
for candidate in "$kdir/../kernel.info" "$kdir/../../../../kernel.info"; do
	if [[ -f $candidate ]]; then
		info=$candidate
		break
	fi
done
toolroot=
[[ -n $info ]] && toolroot=$(sed -n 's/^toolroot=//p' "$info")
[[ -n $toolroot ]] || exec "$@"

release=$(sed -n 's/^release=//p' "$info")
[[ -f $toolroot/root.info ]] ||
	die "the build root of $release ($toolroot) is missing or unfinished; make it with: kmsdk kernels fetch $release"

# Host folders to see inside: every top-level one that is not the root's
# own system.
binds=()
for dir in /*; do
	[[ -d $dir && ! -L $dir ]] || continue
	case $dir in
	/bin | /boot | /dev | /etc | /lib | /lib32 | /lib64 | /libx32 | /lost+found | /proc | /run | /sbin | /sys | /usr | /var) ;;
	*) binds+=("$dir") ;;
	esac
done
[[ -d /var/tmp ]] && binds+=(/var/tmp)

user_ns=()
[[ $EUID == 0 ]] || user_ns=(--user --map-root-user)

# Inside: mounts private to the namespace, then chroot and the same
# folder, with the root's PATH and everything else as it was.
exec unshare "${user_ns[@]}" --mount --pid --fork -- bash -c '
set -e
root=$1 cwd=$2
shift 2
mount --make-rprivate /
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
while [[ $1 != -- ]]; do
	mkdir -p "$root$1"
	mount --rbind "$1" "$root$1"
	shift
done
shift
exec chroot "$root" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin \
	/bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' kmsdk-toolchain "$toolroot" "$PWD" "${binds[@]}" -- "$@"
