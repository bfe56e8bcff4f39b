#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build-time signing as a user of an installed kmsdk meets it: the
# examples/consumer project, copied to a scratch folder, configured with
# -DKMSDK_SIGN_MODULES=ON against kmsdk installed to a prefix. Checks that
# - each greeter.ko is signed by the installed `kmsdk sign` with kmsdk's key
#   (modinfo on the host: signer, sig_key, sig_hashalgo of its certificate);
# - a second build signs nothing again;
# - KMSDK_SIGNING_KEY/KMSDK_SIGNING_CERT (a DER certificate) re-make the
#   modules signed with that key, and KMSDK_SIGN_MODULES=OFF unsigned;
# - a key without its certificate is refused when configuring.
#
# Usage: signing_build_test.sh KMSDK_BUILD_DIR KMSDK_SOURCE_DIR RELEASE...
set -euo pipefail

(($# >= 3)) || { echo "usage: $0 KMSDK_BUILD_DIR KMSDK_SOURCE_DIR RELEASE..." >&2; exit 2; }
kmsdk_build=$1 kmsdk_source=$2
shift 2
releases=("$@")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-signing-build-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v openssl >/dev/null || { echo "SKIP: openssl is not installed (scripts/setup.sh)"; exit 77; }

cache=${KMSDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmsdk}
kernels=$(IFS=';' && echo "${releases[*]}")

cmake --install "$kmsdk_build" --prefix "$scratch/prefix" >/dev/null
cp -r "$kmsdk_source/examples/consumer" "$scratch/src"

configure() {
	cmake -S "$scratch/src" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
		-DKMSDK_KERNELS="$kernels" "$@" >"$scratch/configure.log" 2>&1
}
build() {
	cmake --build "$scratch/build" --target greeter -- VERBOSE=1 >"$scratch/$1.log" 2>&1 ||
		{ cat "$scratch/$1.log"; fail "build $1"; }
}

# modinfo's field for every greeter.ko, one line each, all alike.
field_of_all() {
	local values=() release
	for release in "${releases[@]}"; do
		values+=("$(modinfo -F "$1" "$scratch/build/modules/$release/greeter.ko")")
	done
	printf '%s\n' "${values[@]}" | sort -u
}

# What modinfo shows of a certificate: its CN as signer, its serial as
# sig_key (colon-separated pairs).
cert_cn() { openssl x509 -inform "$2" -in "$1" -noout -subject -nameopt sep_multiline,utf8 | sed -n 's/^ *CN=//p'; }
cert_serial() { openssl x509 -inform "$2" -in "$1" -noout -serial | sed 's/^serial=//; s/../&:/g; s/:$//'; }

expect_signed_by() { # CERT FORM
	local signer key hash
	signer=$(field_of_all signer) key=$(field_of_all sig_key) hash=$(field_of_all sig_hashalgo)
	[[ $signer == "$(cert_cn "$1" "$2")" ]] || fail "signer '$signer', not the CN of $1"
	[[ $key == "$(cert_serial "$1" "$2")" ]] || fail "sig_key '$key', not the serial of $1"
	[[ $hash == sha256 ]] || fail "sig_hashalgo '$hash', not sha256"
}

configure -DKMSDK_SIGN_MODULES=ON || { cat "$scratch/configure.log"; fail "configure with signing"; }
build signed
grep -q "$scratch/prefix/bin/kmsdk sign --quiet .*/greeter.ko" "$scratch/signed.log" ||
	{ cat "$scratch/signed.log"; fail "the installed kmsdk did not sign the modules"; }
expect_signed_by "$cache/signing/cert.pem" PEM
echo "signed ${#releases[@]} greeter.ko with kmsdk's key: $(field_of_all signer)"

build again
if grep -q "kmsdk sign" "$scratch/again.log"; then
	cat "$scratch/again.log"
	fail "a second build signed again"
fi
echo "a second build signed nothing"

openssl req -new -x509 -newkey rsa:2048 -nodes -batch -days 2 -subj "/CN=kmsdk build test key" \
	-outform DER -keyout "$scratch/own-key.pem" -out "$scratch/own-cert.der" 2>/dev/null
configure -DKMSDK_SIGNING_KEY="$scratch/own-key.pem" -DKMSDK_SIGNING_CERT="$scratch/own-cert.der" ||
	{ cat "$scratch/configure.log"; fail "configure with a key of our own"; }
build own
expect_signed_by "$scratch/own-cert.der" DER
echo "re-made with KMSDK_SIGNING_KEY/CERT: $(field_of_all signer)"

configure -DKMSDK_SIGN_MODULES=OFF || { cat "$scratch/configure.log"; fail "configure without signing"; }
build off
[[ -z $(field_of_all signer) ]] || fail "KMSDK_SIGN_MODULES=OFF left signed modules"
echo "re-made unsigned with KMSDK_SIGN_MODULES=OFF"

if configure -DKMSDK_SIGN_MODULES=ON -DKMSDK_SIGNING_CERT= -DKMSDK_SIGNING_KEY="$scratch/own-key.pem"; then
	fail "a key without its certificate was accepted"
fi
grep -q "KMSDK_SIGNING_CERT '' does not exist: give both KMSDK_SIGNING_KEY and" \
	"$scratch/configure.log" || { cat "$scratch/configure.log"; fail "no clear message for a key without its certificate"; }
echo "a key without its certificate: refused at configure time"
echo "signing build: 5 checks passed"
