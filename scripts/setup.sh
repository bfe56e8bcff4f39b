#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Set up a Debian 12 machine for kmsdk: the packages it builds and runs
# with, then the kernels it builds modules for. Safe to re-run: a step with
# nothing to do prints nothing, and kernels already cached are left as they
# are. Kernels are unpacked into the kmsdk cache, never installed: the
# host's /boot and boot menu stay as they are.
#
# Usage: setup.sh [SPEC ...]   (default kernels: 6.1 6.12; SPEC as kernels.sh takes it)
#        KMSDK_KERNEL_SERIES="6.1 6.12" is read when no argument is given.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

readonly packages=(
	# host build of the SDK
	cmake g++ make pkg-config
	catch2 libcli11-dev libfmt-dev libarchive-dev libkmod-dev
	# QMP, the QEMU monitor protocol that saves and restores guests, is JSON
	nlohmann-json3-dev
	# the guest agent is linked statically, zlib included
	zlib1g-dev
	# the hash of a snapshot's RAM file
	libxxhash-dev
	# Kbuild against Debian's headers: both series were built with gcc-12,
	# and 6.12 runs pahole for BTF
	gcc-12 pahole
	# kernel cache: Debian's archive read with a private apt configuration
	# checked against its keyring, apt-get download, unpack, vmlinux
	# payloads, depmod
	debian-archive-keyring dpkg xz-utils zstd kmod
	# build roots for kernels of another Debian release (7.x); uidmap makes
	# them as a normal user
	mmdebstrap uidmap
	# guests: busybox for the small tools, and Debian's own (kmod above,
	# util-linux's dmesg, mount's mount and umount, iproute2's ip, dash), which
	# guests carry with their shared libraries in place of busybox's applets
	qemu-system-x86 busybox-static cpio util-linux mount iproute2 dash libc-bin
	# editor support for module code
	clangd
	# kmsdk debug: gdb (with its Python) on the guest's gdbstub, and ld to
	# place each module's object at its load addresses
	gdb binutils
	# the protocol decoder's fuzzer (make fuzz): clang's libFuzzer and sanitizers
	clang libclang-rt-14-dev
	# lint (make lint, kmsdk lint): sparse through Kbuild's C=2, clang-format
	# on the C, clang-tidy on the C++; checkpatch comes from linux-source
	sparse clang-format clang-tidy
	# DKMS packaging, checked with private trees; signing keys for sign-file
	dkms openssl
	# the GitHub workflows and action are parsed in CI
	python3-yaml
)

missing_packages() {
	local pkg
	for pkg in "${packages[@]}"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$pkg" 2>/dev/null |
			grep -qx installed || echo "$pkg"
	done
}

install_packages() {
	local -a missing
	mapfile -t missing < <(missing_packages)
	((${#missing[@]})) || return 0

	local -a sudo=()
	if [[ $EUID != 0 ]]; then
		command -v sudo >/dev/null ||
			{ echo "kmsdk: missing packages: ${missing[*]}; install them as root with apt-get" >&2; exit 1; }
		sudo=(sudo)
	fi
	echo "kmsdk: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_packages
# shellcheck disable=SC2086 # the series list is meant to split
if (($#)); then
	"$here/kernels.sh" ensure "$@"
else
	"$here/kernels.sh" ensure ${KMSDK_KERNEL_SERIES:-}
fi
