# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What every part of the kernel cache scripts shares: where the cache is,
# and how they speak.

cache=${KMSDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmsdk}
readonly cache
readonly kernels_dir=$cache/kernels

die() {
	echo "kmsdk: $*" >&2
	exit 1
}

warn() {
	echo "kmsdk: $*" >&2
}

# Progress, on stderr so that a command's output stays clean for a pipe.
say() {
	[[ ${KMSDK_QUIET:-0} == 1 ]] || echo "kmsdk: $*" >&2
}

# Bytes as a person reads them: 512 MB, 1.3 GB.
human_size() {
	numfmt --to=si --suffix=B "$1"
}
