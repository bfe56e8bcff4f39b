#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `kmsdk kernels` against Debian's real archive, in a cache of its own: what
# the archive offers, how SPECs resolve, and what bad input and an
# unreachable archive get. The archive moves on, so releases are matched
# by shape (6.12.<n>+deb12-rt-amd64), never by number.
#
# First, without the network, `list` and `remove` on a cache of fake but
# well-formed kernels, build roots and package lists: the roots table,
# suites told by the lists, a root removed with the last kernel that
# builds in it. Those run even when the archive cannot be reached; the
# test then fails if they did, and is skipped otherwise.
#
# Usage: kernels_test.sh KMSDK_CLI KERNELS_SCRIPT
set -uo pipefail

kmsdk=$1 script=$2
skip_code=77
failures=0

scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-archive-test-XXXXXX")
# A bind mount the remove must refuse to go through is undone first.
trap 'umount "$scratch/offline/roots/sid-gcc-15/home" 2>/dev/null; rm -rf "$scratch"' EXIT
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

lacks() {
	local name=$1 text=$2 pattern=$3
	! grep -Eq -- "$pattern" <<<"$text" || {
		fail "$name: a line matches /$pattern/ in:"
		sed 's/^/  | /' <<<"$text" | head -n 40 >&2
	}
}

# fake_kernel CACHE RELEASE [LINE...]: a kernel's folder as a fetch leaves
# it, with what list reads and little else: kernel.info (release=,
# series= and the LINEs: suite=, toolroot=, package=...), the headers'
# Makefile, vmlinux and an indexed modules tree.
fake_kernel() {
	local cache=$1 release=$2
	shift 2
	local dir=$cache/kernels/$release
	mkdir -p "$dir/root/usr/src/linux-headers-$release" "$dir/root/lib/modules/$release" \
		"$cache/initramfs/$release"
	touch "$dir/root/usr/src/linux-headers-$release/Makefile"
	printf 'kernel/fs/a.ko:\nkernel/fs/b.ko: kernel/fs/a.ko\n' >"$dir/root/lib/modules/$release/modules.dep"
	ln -sfn "root/usr/src/linux-headers-$release" "$dir/build"
	ln -sfn "root/lib/modules/$release" "$dir/modules"
	head -c 1048576 /dev/zero >"$dir/vmlinux"
	{
		echo "release=$release"
		echo "series=$(cut -d. -f1,2 <<<"$release")"
		printf '%s\n' "$@"
	} >"$dir/kernel.info"
}

# fake_root DIR FAMILY COMPILER: a finished build root, 2 MB of "compiler".
fake_root() {
	local dir=$1
	mkdir -p "$dir/usr/bin" "$dir/etc"
	head -c 2097152 /dev/zero >"$dir/usr/bin/$3"
	# The packages the script makes a root with: it keeps a root made so.
	local packages
	packages=$(cache=/nonexistent && source "$(dirname "$script")/lib/toolroot.sh" &&
		echo "${root_packages[*]}")
	printf 'family=%s\ncompiler=%s\npackages=%s\nmade=2026-01-01T00:00:00Z\n' "$2" "$3" "$packages" \
		>"$dir/root.info"
}

# A Packages list in a suite's private lists, as apt-get update leaves it.
fake_list() {
	local cache=$1 suite=$2 file=$3
	shift 3
	mkdir -p "$cache/apt/$suite/lists"
	printf '%s\n' "$@" >"$cache/apt/$suite/lists/$file"
}

offline=$scratch/offline
echo "== list without the network: kernels, build roots and the total"
t=trixie-gcc-14
fake_root "$offline/roots/$t" trixie gcc-14
fake_root "$offline/roots/sid-gcc-15" sid gcc-15
mkdir -p "$offline/roots/.partial-trixie-gcc-16"
fake_kernel "$offline" 7.3.4+deb13-amd64 suite=trixie-backports compiler=gcc-14 \
	"toolroot=$offline/roots/$t" package=linux-headers-7.3.4+deb13-amd64=7.3.4-1~bpo13+1
# The same root reached through a symlink to the cache is the same root.
ln -s offline "$scratch/offline-link"
fake_kernel "$offline" 7.3.4+deb13-rt-amd64 suite=trixie-backports compiler=gcc-14 \
	"toolroot=$scratch/offline-link/roots/$t"
# A root that a cache moved away from left behind: not this cache's.
fake_root "$scratch/elsewhere/roots/$t" trixie gcc-14
fake_kernel "$offline" 7.3.4+deb13-cloud-amd64 suite=trixie-backports compiler=gcc-14 \
	"toolroot=$scratch/elsewhere/roots/$t"
# Fetched before kernel.info kept a suite: the lists know 6.1.0-99's
# headers in bookworm-security at the version it has (bookworm's is
# another), and 6.12.999's nowhere.
fake_kernel "$offline" 6.1.0-99-amd64 package=linux-headers-6.1.0-99-amd64=6.1.999-2 \
	package=linux-kbuild-6.1=6.1.999-2
fake_kernel "$offline" 6.12.999+deb12-amd64 package=linux-headers-6.12.999+deb12-amd64=6.12.999-1
fake_list "$offline" bookworm deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages \
	'Package: linux-headers-6.1.0-99-amd64' 'Version: 6.1.999-1' '' \
	'Package: linux-headers-6.12.999+deb12-amd64' 'Source: linux-6.12' 'Version: 6.12.998-1' ''
fake_list "$offline" bookworm-security deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages \
	'Package: hello' 'Version: 6.12.999-1' '' \
	'Package: linux-headers-6.1.0-99-amd64' 'Source: linux' 'Version: 6.1.999-2' ''
gzip "$offline/apt/bookworm-security/lists/"*_Packages
export KMSDK_CACHE=$offline
touch "$scratch/before-list"
sleep 1
if expect_status 0 "list with roots" "$kmsdk" kernels list; then
	contains "list with roots" "$out" '^7\.3\.4\+deb13-amd64 +7\.3 +trixie-backports +yes +yes +2 +[0-9.]+M$'
	contains "suite from the lists" "$out" '^6\.1\.0-99-amd64 +6\.1 +bookworm-security +yes'
	contains "suite nowhere in the lists" "$out" '^6\.12\.999\+deb12-amd64 +6\.12 +- +yes'
	contains "roots table" "$out" '^ROOT +USED BY +SIZE$'
	contains "roots table" "$out" "^trixie-gcc-14 +7\\.3,7\\.3-rt +[0-9.]+M$"
	contains "roots table" "$out" '^sid-gcc-15 +- +[0-9.]+M$'
	contains "total" "$out" "^total [0-9.]+[KMG] in ${offline//+/\\+} \\(kernels [0-9.]+[KMG], roots [0-9.]+[KMG], initramfs [0-9.]+[KMG], apt [0-9.]+[KMG]\\)$"
	lacks "list with roots" "$out" 'partial'
	# The kernels, a blank line, the roots, a blank line, the total.
	shape=$(awk '/^(RELEASE|ROOT|total) / { print $1; next } /^$/ { print "blank"; next } { print "row" }' <<<"$out" | uniq | paste -sd' ')
	[[ $shape == "RELEASE row blank ROOT row blank total" ]] || fail "list's layout is '$shape'"
	[[ -z $err ]] || fail "list wrote to stderr: $err"
fi
[[ -z $(find "$offline" -newer "$scratch/before-list" -print -quit) ]] ||
	fail "list changed the cache: $(find "$offline" -newer "$scratch/before-list")"

echo "== list: no roots, no roots table"
fake_kernel "$scratch/no-roots" 6.1.0-99-amd64 suite=bookworm-security
if KMSDK_CACHE=$scratch/no-roots expect_status 0 "list without roots" "$kmsdk" kernels list; then
	lacks "list without roots" "$out" '^ROOT '
	contains "list without roots" "$out" '^6\.1\.0-99-amd64 +6\.1 +bookworm-security '
	contains "list without roots" "$out" '^total [0-9.]+[KMG] in .* \(kernels [0-9.]+[KMG], initramfs [0-9.]+[KMG]\)$'
fi

echo "== remove: a build root goes with the last kernel that builds in it"
expect_status 1 "remove --root in use" "$kmsdk" kernels remove --root "$t" &&
	contains "remove --root in use" "$err" "build root roots/$t is in use by 7\\.3,7\\.3-rt .*kmsdk kernels remove 7\\.3 7\\.3-rt"
[[ -f $offline/roots/$t/root.info ]] || fail "a refused remove --root removed the root"
# Every name is checked first: one that is wrong removes nothing.
expect_status 1 "remove with a bad --root" "$kmsdk" kernels remove 6.1 --root nowhere-gcc-1 &&
	contains "remove with a bad --root" "$err" "no build root 'nowhere-gcc-1' in .*; there are: sid-gcc-15 $t$"
expect_status 1 "remove with a bad SPEC" "$kmsdk" kernels remove 6.1 5.10 &&
	contains "remove with a bad SPEC" "$err" "no cached kernel matches '5\\.10'"
[[ -d $offline/kernels/6.1.0-99-amd64 ]] || fail "a refused remove took 6.1.0-99-amd64"

if expect_status 0 "remove 7.3" "$kmsdk" kernels remove 7.3; then
	contains "remove 7.3" "$err" '^kmsdk: removed kernel 7\.3\.4\+deb13-amd64$'
	lacks "remove 7.3" "$err" 'build root'
fi
[[ -f $offline/roots/$t/root.info ]] || fail "the root went while 7.3-rt still builds in it"

# A fetch under way names its root only when it ends: the root stays.
mkdir -p "$offline/kernels/.partial-7.3.5+deb13-amd64/root"
expect_status 0 "remove 7.3-rt during a fetch" "$kmsdk" kernels remove 7.3-rt &&
	contains "remove 7.3-rt during a fetch" "$err" "^kmsdk: kept build root roots/$t: the fetch in .*\\.partial-7\\.3\\.5\\+deb13-amd64 .*kmsdk kernels remove --root $t$"
[[ -f $offline/roots/$t/root.info ]] || fail "the root went while a fetch was under way"
expect_status 0 "remove the cut-short fetch" "$kmsdk" kernels remove 7.3.5+deb13-amd64
expect_status 0 "list an unused root" "$kmsdk" kernels list &&
	contains "list an unused root" "$out" "^$t +- +[0-9.]+M$"

fake_kernel "$offline" 7.3.4+deb13-rt-amd64 suite=trixie-backports compiler=gcc-14 \
	"toolroot=$scratch/offline-link/roots/$t"
if expect_status 0 "remove the last kernel of a root" "$kmsdk" kernels remove 7.3-rt; then
	contains "remove the last kernel of a root" "$err" '^kmsdk: removed kernel 7\.3\.4\+deb13-rt-amd64$'
	contains "remove the last kernel of a root" "$err" "^kmsdk: removed build root roots/$t \\([0-9.]+M\\), no cached kernel builds in it$"
fi
[[ ! -e $offline/roots/$t ]] || fail "remove left the build root no kernel builds in"
[[ ! -e $offline/initramfs/7.3.4+deb13-rt-amd64 ]] || fail "remove left 7.3-rt's initramfs"

# Another cache's root, named by a kernel of this one, is not removed.
expect_status 0 "remove 7.3-cloud" "$kmsdk" kernels remove 7.3-cloud &&
	lacks "remove 7.3-cloud" "$err" 'build root'
[[ -f $scratch/elsewhere/roots/$t/root.info ]] || fail "remove took a root outside the cache"

echo "== remove --root: a root no kernel builds in"
mkdir -p "$offline/roots/sid-gcc-15/usr/lib/locked" "$scratch/home"
touch "$offline/roots/sid-gcc-15/usr/lib/locked/file" "$scratch/home/precious"
chmod 555 "$offline/roots/sid-gcc-15/usr/lib/locked"
if [[ $EUID == 0 ]] && mkdir -p "$offline/roots/sid-gcc-15/home" &&
	mount --bind "$scratch/home" "$offline/roots/sid-gcc-15/home" 2>/dev/null; then
	expect_status 1 "remove --root with a mount inside" "$kmsdk" kernels remove --root sid-gcc-15 &&
		contains "remove --root with a mount inside" "$err" "has something mounted inside.*"$'\n'".*/sid-gcc-15/home"
	[[ -f $scratch/home/precious ]] || fail "remove --root went through a bind mount"
	umount "$offline/roots/sid-gcc-15/home"
else
	echo "(not root: the bind mount inside a root is not tried)"
fi
if expect_status 0 "remove --root" "$kmsdk" kernels remove --root roots/sid-gcc-15; then
	contains "remove --root" "$err" '^kmsdk: removed build root roots/sid-gcc-15 \([0-9.]+M\), no cached kernel builds in it$'
fi
[[ ! -e $offline/roots/sid-gcc-15 ]] || fail "remove --root left roots/sid-gcc-15"
[[ -f $scratch/home/precious ]] || fail "remove --root took what was bound into the root"
expect_status 0 "list after the roots went" "$kmsdk" kernels list &&
	lacks "list after the roots went" "$out" '^ROOT '
expect_status 2 "remove with nothing named" "$kmsdk" kernels remove

export KMSDK_CACHE=$scratch/cache

# Reachable at all? Without the archive the rest cannot run: skipped,
# unless what ran already failed.
if ! timeout 20 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null &&
	[[ -z ${KMSDK_DEBIAN_MIRROR:-} ]]; then
	if ((failures)); then
		echo "$failures check(s) failed; the archive's checks not run: deb.debian.org is not reachable" >&2
		exit 1
	fi
	echo "SKIP: deb.debian.org is not reachable (the checks without it passed)" >&2
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
if expect_status 1 "fetch 6.12-foo" "$kmsdk" kernels fetch 6.12-foo; then
	contains "fetch 6.12-foo" "$err" "'foo' is not a flavour.*SERIES-rt"
	contains "fetch 6.12-foo" "$err" '^6\.12-rt +bookworm-security'
fi
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
