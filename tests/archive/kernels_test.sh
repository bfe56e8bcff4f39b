#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `kmsdk kernels` against Debian's real archive, in a cache of its own: what
# the archive offers, how SPECs resolve, and what bad input and an
# unreachable archive get. The archive moves on, so releases are matched
# by shape (6.12.<n>+deb12-rt-amd64), never by number.
#
# Usage: kernels_test.sh KMSDK_CLI KERNELS_SCRIPT
set -uo pipefail

kmsdk=$1 script=$2
skip_code=77
failures=0

scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-archive-test-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export KMSDK_CACHE=$scratch/cache

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# expect_ok NAME COMMAND...: runs it into $out and $err, and wants status 0.
expect_status() {
	local want=$1 name=$2
	shift 2
	"$@" >"$scratch/out" 2>"$scratch/err"
	local status=$?
	out=$(<"$scratch/out") err=$(<"$scratch/err")
	if [[ $status != "$want" ]]; then
		fail "$name: exited $status, not $want"
		sed 's/^/  stderr: /' "$scratch/err" | tail -n 20 >&2
		return 1
	fi
}

contains() {
	local name=$1 text=$2 pattern=$3
	grep -Eq -- "$pattern" <<<"$text" || {
		fail "$name: no line matches /$pattern/ in:"
		sed 's/^/  | /' <<<"$text" | head -n 40 >&2
	}
}

# Reachable at all? Without the archive this suite cannot run: skipped.
if ! timeout 20 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null &&
	[[ -z ${KMSDK_DEBIAN_MIRROR:-} ]]; then
	echo "SKIP: deb.debian.org is not reachable" >&2
	exit $skip_code
fi

echo "== kmsdk kernels available"
if expect_status 0 "available" "$kmsdk" kernels available; then
	contains available "$out" '^SPEC +SUITE +NEWEST$'
	contains available "$out" '^6\.1 +bookworm-security +6\.1\.0-[0-9]+-amd64$'
	contains available "$out" '^6\.12 +bookworm-security +6\.12\.[0-9]+\+deb12-amd64$'
	contains available "$out" '^6\.12-rt +bookworm-security +6\.12\.[0-9]+\+deb12-rt-amd64$'
	contains available "$out" '^6\.12-cloud +bookworm-security +6\.12\.[0-9]+\+deb12-cloud-amd64$'
	contains available "$out" '^6\.12 +trixie +6\.12\.[0-9]+\+deb13-amd64$'
	contains available "$out" '^7\.[0-9]+ +(trixie-backports|sid) +7\.[0-9]+\.[0-9]+\+deb1[34]-amd64$'
	# Progress goes to stderr, so the table pipes clean.
	contains "available's progress" "$err" "^kmsdk: reading Debian's bookworm package lists$"
	[[ -d $KMSDK_CACHE/apt/bookworm/lists ]] || fail "no private lists in $KMSDK_CACHE/apt/bookworm"
fi

echo "== a second look-up reads no list again"
expect_status 0 "available again" "$kmsdk" kernels available &&
	[[ $err != *"reading Debian's"* ]] || fail "fresh lists were read again: $err"

echo "== SPECs resolve in the host's release first, or in the suite named"
resolve() { expect_status 0 "resolve $1" bash "$script" resolve "$1" && contains "resolve $1" "$out" "$2"; }
resolve 6.1 '^bookworm(-security)? 6\.1\.0-[0-9]+-amd64$'
resolve 6.12 '^bookworm(-security)? 6\.12\.[0-9]+\+deb12-amd64$'
resolve 6.12-rt '^bookworm(-security)? 6\.12\.[0-9]+\+deb12-rt-amd64$'
resolve trixie:6.12 '^trixie 6\.12\.[0-9]+\+deb13-amd64$'
newest_7=$(grep -Eo '^7\.[0-9]+ ' <<<"$out$(bash "$script" available 2>/dev/null)" | sort -V | tail -n 1 | tr -d ' ')
[[ -n $newest_7 ]] && resolve "$newest_7" "^(trixie-backports|sid) ${newest_7//./\\.}\\.[0-9]+\\+deb1[34]-amd64$"
release=$(bash "$script" resolve 6.12-rt 2>/dev/null | cut -d' ' -f2)
[[ -n $release ]] && resolve "$release" "^bookworm(-security)? ${release//+/\\+}$"

echo "== unknown names say what there is"
if expect_status 1 "resolve 9.9" bash "$script" resolve 9.9; then
	contains "resolve 9.9" "$err" "no Debian kernel matches '9\.9'"
	contains "resolve 9.9" "$err" '^6\.12-rt +bookworm-security'
	contains "resolve 9.9" "$err" "kmsdk kernels fetch 7\.[0-9]+'$"
fi
expect_status 1 "fetch 6.12-foo" "$kmsdk" kernels fetch 6.12-foo &&
	contains "fetch 6.12-foo" "$err" "'foo' is not a flavour.*SERIES-rt"
expect_status 1 "fetch nowhere:6.1" "$kmsdk" kernels fetch nowhere:6.1 &&
	contains "fetch nowhere:6.1" "$err" "'nowhere' is not a suite kmsdk reads; it reads: bookworm"
expect_status 2 "remove with no SPEC" "$kmsdk" kernels remove
expect_status 1 "remove 5.10" "$kmsdk" kernels remove 5.10 &&
	contains "remove 5.10" "$err" "no cached kernel matches '5\.10'"
[[ ! -d $KMSDK_CACHE/kernels || -z $(ls -A "$KMSDK_CACHE/kernels") ]] ||
	fail "bad input left something in $KMSDK_CACHE/kernels: $(ls -A "$KMSDK_CACHE/kernels")"

echo "== an unreachable archive names the suite and changes nothing"
# sid's lists are fresh from above: made stale, they are read again.
find "$KMSDK_CACHE/apt/sid/lists" -maxdepth 1 -name '*_InRelease' -exec touch -d '2 days ago' {} +
lists_before=$(cd "$KMSDK_CACHE/apt" && find . -type f -exec md5sum {} + | sort)
if KMSDK_DEBIAN_MIRROR=http://127.0.0.1:9/debian \
	expect_status 1 "fetch with no archive" "$kmsdk" kernels fetch sid:9.9; then
	contains "no archive" "$err" "cannot read Debian's archive for sid \(http://127\.0\.0\.1:9/debian\)"
	contains "no archive" "$err" "no Debian kernel matches 'sid:9\.9' in sid"
fi
lists_after=$(cd "$KMSDK_CACHE/apt" && find . -type f -exec md5sum {} + | sort)
[[ $lists_before == "$lists_after" ]] || fail "a failed read changed the private apt folders"
[[ -z $(ls -A "$KMSDK_CACHE/kernels" 2>/dev/null) ]] || fail "a failed fetch left $(ls -A "$KMSDK_CACHE/kernels")"
[[ -z $(find "$KMSDK_CACHE/apt" -maxdepth 1 -name '*.refresh-*') ]] || fail "a failed read left its copy"

echo "== a cut-short fetch is never listed, and remove takes it and a kernel's folders"
mkdir -p "$KMSDK_CACHE/kernels/.partial-6.12.1+deb12-amd64/root" \
	"$KMSDK_CACHE/kernels/6.12.2+deb12-rt-amd64/snapshots" "$KMSDK_CACHE/initramfs/6.12.2+deb12-rt-amd64"
echo "release=6.12.2+deb12-rt-amd64" >"$KMSDK_CACHE/kernels/6.12.2+deb12-rt-amd64/kernel.info"
if expect_status 0 "list" "$kmsdk" kernels list; then
	contains list "$out" '^6\.12\.2\+deb12-rt-amd64 +6\.12-rt '
	[[ $out != *partial* ]] || fail "list shows a fetch that never finished: $out"
fi
expect_status 0 "remove 6.12-rt" "$kmsdk" kernels remove 6.12-rt &&
	contains "remove 6.12-rt" "$err" '^kmsdk: removed kernel 6\.12\.2\+deb12-rt-amd64$'
[[ ! -e $KMSDK_CACHE/kernels/6.12.2+deb12-rt-amd64 && ! -e $KMSDK_CACHE/initramfs/6.12.2+deb12-rt-amd64 ]] ||
	fail "remove left the kernel's folder or its initramfs"
expect_status 0 "remove a cut-short fetch" "$kmsdk" kernels remove 6.12.1+deb12-amd64
[[ ! -e $KMSDK_CACHE/kernels/.partial-6.12.1+deb12-amd64 ]] || fail "remove left the cut-short fetch"

echo "== a disk too small stops before downloading, with the space needed"
if [[ $EUID == 0 ]] && mkdir -p "$scratch/small" && mount -t tmpfs -o size=60m tmpfs "$scratch/small" 2>/dev/null; then
	# The lists 6.12-rt is looked up in (the host's release), not sid's.
	mkdir -p "$scratch/small/apt"
	cp -a "$KMSDK_CACHE/apt/bookworm" "$KMSDK_CACHE/apt/bookworm-security" "$scratch/small/apt/"
	started=$SECONDS
	KMSDK_CACHE=$scratch/small expect_status 1 "fetch into 40 MB" "$kmsdk" kernels fetch 6.12-rt &&
		contains "small disk" "$err" 'fetching this kernel needs [0-9.]+[MG]B in .* and [0-9.]+[kMG]?B is free'
	((SECONDS - started < 30)) || fail "the small disk took $((SECONDS - started)) s to refuse"
	[[ -z $(ls -A "$scratch/small/kernels" 2>/dev/null) ]] || fail "a refused fetch left $(ls -A "$scratch/small/kernels")"
	umount "$scratch/small"
else
	echo "(not root: the small-disk case needs a tmpfs mount; not run)"
fi

if ((failures)); then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all checks passed"
