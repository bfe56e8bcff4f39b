#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS builds every sample from its dkms.conf, the way a user's machine
# would, and the results load in a guest. Everything dkms writes goes to a
# private tree in a scratch folder (--dkmstree, --sourcetree, --installtree,
# TMPDIR, and a signing key of its own), and the test fails if
# /var/lib/dkms, /lib/modules, /boot or /usr/src change while it runs.
#
#   - every folder of kmodules/ has a dkms.conf of the project's version;
#   - `dkms add`, `build` and `install` (into the private tree, with
#     --no-depmod, as depmod would write to /lib/modules) of every sample
#     against the first cached kernel of 6.12 that builds with the host's
#     toolchain (else the first such kernel): each .ko is there with the
#     kernel's vermagic and dkms's signature, installed in updates/dkms;
#     kms_consumer depends on kms_core, kms_proprietary is built despite
#     modpost and depends on nothing;
#   - a kernel that builds in a build root (7.x) builds kms_consumer
#     through a `make` on PATH that runs kmsdk-toolchain.sh;
#   - `kmsdk run` loads the installed modules as a user would: kms_core,
#     kms_consumer, kms-hello-1, kms_multifile and kms_checksum print what
#     they print, and the kernel refuses kms_proprietary.
#
# Usage: dkms_test.sh KMSDK_BUILD_DIR KMSDK_SOURCE_DIR KDIR...
set -euo pipefail

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

(($# >= 3)) || fail "usage: $(basename "$0") KMSDK_BUILD_DIR KMSDK_SOURCE_DIR KDIR..."
build_dir=$1 source_dir=$2
shift 2
kmsdk=$build_dir/bin/kmsdk
toolchain=$source_dir/sdk/cmake/kmsdk-toolchain.sh
[[ -x $kmsdk ]] || fail "no $kmsdk: build the kmsdk_cli target first"
if ! command -v dkms >/dev/null; then
	echo "SKIP: dkms is not installed; scripts/setup.sh installs it"
	exit 77
fi
# The signing settings below come from the environment, which dkms's
# framework files override; a per-module file would change a build.
mapfile -t overrides < <(
	grep -Els '^[[:space:]]*(sign_file|mok_signing_key|mok_certificate)=' \
		/etc/dkms/framework.conf /etc/dkms/framework.conf.d/*.conf 2>/dev/null
	find /etc/dkms -maxdepth 1 -name 'kms_*.conf' 2>/dev/null
)
if ((${#overrides[@]} > 0)); then
	echo "SKIP: the host's dkms settings would sign with its own key or change a build: ${overrides[*]}"
	exit 77
fi
started=$SECONDS

# The samples and the version their dkms.conf must carry.
version=$(sed -n 's/^project(kmsdk VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
[[ -n $version ]] || fail "no project version in $source_dir/CMakeLists.txt"
samples=()
for dir in "$source_dir"/kmodules/*/; do
	name=$(basename "$dir")
	conf=$dir/dkms.conf
	[[ -f $conf ]] || fail "kmodules/$name has no dkms.conf"
	grep -qx "PACKAGE_NAME=\"$name\"" "$conf" || fail "$conf: PACKAGE_NAME is not \"$name\""
	grep -qx "PACKAGE_VERSION=\"$version\"" "$conf" ||
		fail "$conf: PACKAGE_VERSION is not the project's \"$version\""
	samples+=("$name")
done

# conf_value NAME VARIABLE: a plain value of a sample's dkms.conf.
conf_value() {
	sed -n "s/^$2=\"\\(.*\\)\"\$/\\1/p" "$source_dir/kmodules/$1/dkms.conf"
}

# kernel_info KDIR KEY: a line of the kernel cache's kernel.info beside
# KDIR, found as kmsdk-toolchain.sh finds it (build/ is a link into the
# unpacked packages); nothing for a KDIR outside the cache.
kernel_info() {
	local info
	for info in "$1/../kernel.info" "$1/../../../../kernel.info"; do
		if [[ -f $info ]]; then
			sed -n "s/^$2=//p" "$info"
			return 0
		fi
	done
}

# The kernel every sample builds for: the first 6.12 of the host's
# toolchain, else the first of the host's toolchain. And the first that
# builds in a build root, if any.
host_kdir='' host_612='' rooted_kdir=''
for kdir in "$@"; do
	if [[ -n $(kernel_info "$kdir" toolroot) ]]; then
		[[ -n $rooted_kdir ]] || rooted_kdir=$kdir
		continue
	fi
	[[ -n $host_kdir ]] || host_kdir=$kdir
	[[ -n $host_612 || $(kernel_info "$kdir" series) != 6.12 ]] || host_612=$kdir
done
host_kdir=${host_612:-$host_kdir}
[[ -n $host_kdir ]] || fail "none of $* builds with the host's toolchain: fetch one with kmsdk kernels fetch 6.12"

# release_of KDIR: the release the kernel's vermagic names (Debian's 6.1
# headers hold another in include/config/kernel.release).
release_of() {
	local file=$1/include/generated/utsrelease.h release
	[[ -f $file ]] || fail "$1 is not a kernel build folder: no include/generated/utsrelease.h"
	release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$file")
	[[ -n $release ]] || fail "no UTS_RELEASE in $file"
	echo "$release"
}

# What the host must keep: listed with sizes and times, before and after.
host_state() {
	local dir
	for dir in /var/lib/dkms /lib/modules /boot; do
		if [[ -e $dir ]]; then
			find "$dir" -printf '%p %y %s %T@\n'
		else
			echo "$dir absent"
		fi
	done
	# dkms would add /usr/src/NAME-VERSION; the headers below are many.
	if [[ -e /usr/src ]]; then
		find /usr/src -maxdepth 2 -printf '%p %y %s %T@\n'
	else
		echo "/usr/src absent"
	fi
}
host_before=$(host_state | sort)

# descendants PID: the processes below PID, children first. timeout(1)
# puts what it runs in a process group of its own, so killing the
# shell's jobs would leave dkms and make running.
descendants() {
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		descendants "$child"
		echo "$child"
	done
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-dkms-XXXXXX")
cleanup() {
	local pids
	read -ra pids <<<"$(descendants $$ | tr '\n' ' ')"
	((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
mkdir -p "$scratch"/{source,dkms,tmp,logs,bin}
# dkms's own temporary files (mktemp) go here.
export TMPDIR=$scratch/tmp
# dkms signs with sign_file and the key pair it names, generating the pair
# when missing; left unset, the key is /var/lib/dkms/mok.key.
export mok_signing_key=$scratch/mok.key mok_certificate=$scratch/mok.pub

# dkms_private KDIR ACTION ARG...: dkms on the private tree, for the kernel
# in KDIR, with a deadline.
dkms_private() {
	local kdir=$1 action=$2
	shift 2
	timeout --kill-after=10 300 dkms "$action" --dkmstree "$scratch/dkms" \
		--sourcetree "$scratch/source" --installtree "$scratch/install" \
		--kernelsourcedir "$kdir" "$@"
}

# in_background COMMAND...: runs it as a job once fewer jobs than cores run.
in_background() {
	while (($(jobs -pr | wc -l) >= $(nproc))); do
		wait -n || true
	done
	"$@" &
}

# add_one NAME: the sample's source where `dkms add kmodules/NAME` would
# copy it (/usr/src/NAME-VERSION), then dkms add; the status in a file.
# That form of add wants root, this one does not.
add_one() {
	local log=$scratch/logs/add-$1.log status=0
	cp -r "$source_dir/kmodules/$1" "$scratch/source/$1-$version"
	dkms_private "$host_kdir" add -m "$1" -v "$version" >"$log" 2>&1 || status=$?
	echo "$status" >"$log.status"
}

for name in "${samples[@]}"; do
	in_background add_one "$name"
done
wait
for name in "${samples[@]}"; do
	log=$scratch/logs/add-$name.log
	[[ $(cat "$log.status") == 0 ]] || { cat "$log"; fail "dkms add $name"; }
done
echo "dkms add: ${#samples[@]} samples in $((SECONDS - started)) s"

# build_one KDIR RELEASE NAME: dkms build and install, the status in a file.
build_one() {
	local kdir=$1 release=$2 name=$3 log=$scratch/logs/$2-$3.log status=0
	{
		dkms_private "$kdir" build -m "$name" -v "$version" -k "$release" -j 1 &&
			dkms_private "$kdir" install -m "$name" -v "$version" -k "$release" --no-depmod
	} >"$log" 2>&1 || status=$?
	echo "$status" >"$log.status"
}

# build_all KDIR NAME...: builds with as many dkms at once as cores. The
# first alone, as it generates the signing key.
build_all() {
	local kdir=$1 release name
	shift
	release=$(release_of "$kdir")
	export sign_file=$kdir/scripts/sign-file
	mkdir -p "$scratch/install/$release"
	build_one "$kdir" "$release" "$1"
	shift
	for name in "$@"; do
		in_background build_one "$kdir" "$release" "$name"
	done
	wait
}

# check_built KDIR NAME...: each .ko built, signed and installed.
check_built() {
	local kdir=$1 release name log built ko installed arch_dirs
	shift
	release=$(release_of "$kdir")
	for name in "$@"; do
		log=$scratch/logs/$release-$name.log
		if [[ $(cat "$log.status") != 0 ]]; then
			cat "$log"
			find "$scratch/dkms/$name" -name make.log -exec cat {} + 2>/dev/null || true
			fail "dkms build or install of $name for $release failed"
		fi
		grep -qxF "Signing key: $mok_signing_key" "$log" ||
			{ cat "$log"; fail "dkms did not sign $name with $mok_signing_key (its output is above)"; }
		built=$(conf_value "$name" 'BUILT_MODULE_NAME\[0\]')
		arch_dirs=("$scratch/dkms/$name/$version/$release"/*/)
		((${#arch_dirs[@]} == 1)) || fail "dkms made ${#arch_dirs[@]} arch folders for $name: ${arch_dirs[*]}"
		ko=${arch_dirs[0]}module/$built.ko
		[[ -f $ko ]] || { cat "$log"; fail "dkms build of $name left no $ko"; }
		[[ $(modinfo -F vermagic "$ko") == "$release "* ]] ||
			fail "$ko has vermagic '$(modinfo -F vermagic "$ko")', not $release's"
		[[ $(modinfo -F signer "$ko") == 'DKMS module signing key' ]] ||
			fail "$ko is not signed with dkms's key: signer '$(modinfo -F signer "$ko")'"
		installed=$scratch/install/$release/updates/dkms/$built.ko
		cmp -s "$ko" "$installed" || fail "dkms install did not put $built.ko in $installed"
	done
	if [[ " $* " == *" kms_consumer "* ]]; then
		[[ $(modinfo -F depends "$scratch/install/$release/updates/dkms/kms_consumer.ko") == kms_core ]] ||
			fail "kms_consumer for $release does not depend on kms_core"
	fi
	if [[ " $* " == *" kms_proprietary "* ]]; then
		[[ -z $(modinfo -F depends "$scratch/install/$release/updates/dkms/kms_proprietary.ko") ]] ||
			fail "kms_proprietary for $release records a dependency: it was built with kms_core's symbols"
		grep -q 'kms_core_gpl_mul.*undefined' "$scratch/dkms/kms_proprietary/$version/$release"/*/log/make.log ||
			fail "modpost did not warn about kms_core_gpl_mul for kms_proprietary on $release"
	fi
	echo "dkms build and install for $release: $# module(s), signed, of its vermagic, at $((SECONDS - started)) s"
}

# kms_core first: the others read its source, and it makes the key.
ordered=(kms_core)
for name in "${samples[@]}"; do
	[[ $name == kms_core ]] || ordered+=("$name")
done
host_release=$(release_of "$host_kdir")
build_all "$host_kdir" "${ordered[@]}"
check_built "$host_kdir" "${ordered[@]}"

# A build-root kernel: dkms runs `make` from PATH, here one that runs in
# the root. kms_consumer shows it, MAKE[0] and its build of kms_core
# included; one sample, to keep the test short.
if [[ -n $rooted_kdir ]]; then
	cat >"$scratch/bin/make" <<-EOF
		#!/usr/bin/env bash
		# The build root's make, for dkms (dkms_test.sh).
		exec "$toolchain" "$rooted_kdir" make "\$@"
	EOF
	chmod +x "$scratch/bin/make"
	PATH=$scratch/bin:$PATH build_all "$rooted_kdir" kms_consumer
	check_built "$rooted_kdir" kms_consumer
fi

# stderr too: dkms's readelf warns about each kernel without a .comment.
status=$(dkms_private "$host_kdir" status -k "$host_release" 2>&1)
for name in "${samples[@]}"; do
	grep -q "^$name/$version, $host_release, [^:]*: installed\$" <<<"$status" ||
		fail "dkms status does not show $name installed for $host_release:"$'\n'"$status"
done

# guest_run RELEASE LOG KMSDK_RUN_ARGS...: kmsdk run, its output in LOG.
guest_run() {
	local release=$1 log=$2
	shift 2
	timeout --kill-after=10 180 "$kmsdk" run --kernel "$release" --timeout 60 "$@" >"$log" 2>&1 ||
		{ cat "$log"; fail "kmsdk run $* on $release"; }
}

# expect LOG TEXT: the guest printed TEXT.
expect() {
	grep -qF -- "$2" "$1" || { cat "$1"; fail "no '$2' in the guest's output"; }
}

installed=$scratch/install/$host_release/updates/dkms
log=$scratch/logs/guest-stack.log
guest_run "$host_release" "$log" -m "$installed/kms_core.ko" -m "$installed/kms_consumer.ko" \
	-m "$installed/kms-hello-1.ko" -m "$installed/kms_multifile.ko" -m "$installed/kms_checksum.ko" -- \
	'insmod kms_core.ko && insmod kms_consumer.ko && insmod kms-hello-1.ko &&
	 insmod kms_multifile.ko && modprobe kms_checksum && lsmod && dmesg'
expect "$log" 'kms_core: loaded, exporting kms_core_add, kms_core_gpl_mul and kms_core_sub'
expect "$log" 'kms_consumer: kms_core_add(2, 3) = 5'
expect "$log" 'kms_consumer: kms_core_gpl_mul(6, 7) = 42'
expect "$log" 'kms_consumer: kms_core_sub(9, 4) = 5'
expect "$log" 'kms_hello_1: Hello world 1.'
expect "$log" 'kms_multifile: init in start.c'
expect "$log" 'kms_checksum: crc32c("123456789") = 0xe3069283'
grep -qE '^kms_core +[0-9]+ +1 kms_consumer$' "$log" ||
	{ cat "$log"; fail "lsmod does not show kms_core used by kms_consumer"; }

# The license check happens at load: the module taints the kernel (P) and
# finds no GPL-only symbol, so the run allows that one kernel problem.
log=$scratch/logs/guest-proprietary.log
guest_run "$host_release" "$log" --allow-kernel-problems \
	-m "$installed/kms_core.ko" -m "$installed/kms_proprietary.ko" -- \
	'insmod kms_core.ko && ! insmod kms_proprietary.ko && dmesg'
expect "$log" "kms_proprietary: module license 'Proprietary' taints kernel."
expect "$log" 'kms_proprietary: Unknown symbol kms_core_gpl_mul (err -2)'

echo "kmsdk run: the dkms-built modules load, and kms_proprietary is refused, in $((SECONDS - started)) s"

[[ -z $(ls -A "$scratch/tmp") ]] || fail "dkms left temporary files: $(ls -A "$scratch/tmp")"
host_after=$(host_state | sort)
if [[ $host_before != "$host_after" ]]; then
	diff <(echo "$host_before") <(echo "$host_after") || true
	fail "the host's /var/lib/dkms, /lib/modules, /boot or /usr/src changed"
fi
echo "host: /var/lib/dkms, /lib/modules, /boot and /usr/src unchanged; $((SECONDS - started)) s in all"
