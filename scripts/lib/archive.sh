# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Debian's archive, read through a private apt configuration kept in the
# kmsdk cache: one folder per suite under $cache/apt/<suite>/ with its own
# sources.list, package lists and download cache. The host's /etc/apt is
# never written, and nothing is installed; Debian's archive keyring checks
# every list's signature.
#
# A kernel here is a release: VERSION-FLAVOUR, as Debian names its
# packages (6.1.0-57-amd64, 6.12.117+deb12-rt-amd64, 7.3.4+deb13-amd64).
# A SPEC, what users type, is one of
#   SERIES[-FLAVOUR]    6.12, 7.3, 6.12-rt, 6.12-cloud
#   RELEASE             6.12.117+deb12-rt-amd64
#   SUITE:SPEC          trixie:6.12, bookworm-security:6.12-rt
# and resolves to the newest release of it whose kernel, modules and
# headers all exist in one suite. A spec found in several suites resolves
# in the first of them in suite_order (the host's own release first, whose
# kernels build with the host's compiler); name a suite to pick another.

readonly archive_keyring=/usr/share/keyrings/debian-archive-keyring.gpg
readonly debian_mirror=${KMSDK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly security_mirror=${KMSDK_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
readonly apt_dir=$cache/apt
# Lists older than this are refreshed before a look-up.
readonly lists_max_age_min=$((24 * 60))
# A spec not found is looked up again in lists older than this.
readonly recheck_age_min=10

# Every suite kmsdk reads, oldest release first.
readonly known_suites=(bookworm bookworm-security trixie trixie-security trixie-backports sid)

# The release a suite belongs to: trixie for trixie-backports.
suite_family() {
	echo "${1%%-*}"
}

host_family() {
	local codename=
	# shellcheck disable=SC1091
	[[ -r /etc/os-release ]] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	echo "${codename:-bookworm}"
}

# The suites in the order a spec is looked up in: the host's release
# first, then the others from the oldest.
suite_order() {
	local host suite
	host=$(host_family)
	for suite in "${known_suites[@]}"; do
		[[ $(suite_family "$suite") == "$host" ]] && echo "$suite"
	done
	for suite in "${known_suites[@]}"; do
		[[ $(suite_family "$suite") == "$host" ]] || echo "$suite"
	done
}

is_known_suite() {
	local suite
	for suite in "${known_suites[@]}"; do
		[[ $suite == "$1" ]] && return 0
	done
	return 1
}

suite_uri() {
	[[ $1 == *-security ]] && echo "$security_mirror" || echo "$debian_mirror"
}

# apt-get or apt-cache, configured for one suite and nothing else.
suite_apt() {
	local suite=$1
	shift
	apt_in "$apt_dir/$suite" "$@"
}

# The same with the configuration in DIR: sources.list, lists/, cache/.
apt_in() {
	local dir=$1 tool=$2
	shift 2
	local -a opts=(
		-o "Dir::Etc::SourceList=$dir/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null
		-o "Dir::State::Lists=$dir/lists"
		-o "Dir::Cache=$dir/cache"
		-o Dir::State::status=/dev/null
		-o Acquire::Languages=none
		-o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false
		-o Acquire::Retries=1
		-o Acquire::http::Timeout=20
	)
	# As root, apt would hand downloads to the _apt user, who may not
	# write into the caller's cache.
	[[ $EUID == 0 ]] && opts+=(-o APT::Sandbox::User=root)
	"$tool" "${opts[@]}" "$@"
}

# Whether a suite's lists were read less than max_age minutes ago
# (default lists_max_age_min).
suite_lists_fresh() {
	local lists=$apt_dir/$1/lists max_age=${2:-$lists_max_age_min}
	[[ -n $(find "$lists" -maxdepth 1 -name '*_InRelease' -mmin "-$max_age" 2>/dev/null) ]]
}

# Brings one suite's lists up to date. The update runs on a copy that
# replaces them only once it has worked: a failure (no network, an archive
# that does not answer, a signature that does not check) keeps the lists
# that were there, and says which suite could not be read.
refresh_suite() {
	local suite=$1 force=${2:-}
	[[ -z $force ]] && suite_lists_fresh "$suite" && return 0
	local dir=$apt_dir/$suite
	mkdir -p "$apt_dir"
	# One reader at a time; one that waited may find the lists fresh.
	local lock
	exec {lock}>"$dir.lock"
	flock "$lock"
	if [[ -z $force ]] && suite_lists_fresh "$suite"; then
		exec {lock}>&-
		return 0
	fi
	local next=$dir.refresh-$$
	rm -rf "$next"
	mkdir -p "$dir/lists" "$dir/cache/archives/partial" "$next/lists/partial" "$next/cache/archives/partial"
	cp -a "$dir/lists/." "$next/lists/"
	echo "deb [signed-by=$archive_keyring] $(suite_uri "$suite") $suite main" >"$next/sources.list"
	say "reading Debian's $suite package lists"
	local log
	if ! log=$(apt_in "$next" apt-get -q update 2>&1) || grep -q '^[WE]: ' <<<"$log"; then
		rm -rf "$next"
		exec {lock}>&-
		grep '^[WE]: ' <<<"$log" | sed 's/^/  /' >&2
		warn "cannot read Debian's archive for $suite ($(suite_uri "$suite")); check the network or set KMSDK_DEBIAN_MIRROR"
		return 1
	fi
	rm -rf "$dir/lists.old"
	mv "$dir/lists" "$dir/lists.old"
	mv "$next/lists" "$dir/lists"
	mv "$next/sources.list" "$dir/sources.list"
	rm -rf "$dir/lists.old" "$next"
	exec {lock}>&-
}

# Refreshes the suites given (default: every suite); fails only when none
# could be read.
refresh_suites() {
	local suite read=0
	local -a suites=("$@")
	((${#suites[@]})) || mapfile -t suites < <(suite_order)
	for suite in "${suites[@]}"; do
		refresh_suite "$suite" && read=$((read + 1))
	done
	((read > 0)) || die "no suite of Debian's archive could be read; nothing was changed"
}

# The complete releases in one suite's lists, one per line: a release is
# complete when its headers exist and its kernel and modules too, as one
# -unsigned image (up to 6.x) or as linux-binary- and linux-modules- (7.x).
suite_releases() {
	local suite=$1 names
	names=$(suite_apt "$suite" apt-cache pkgnames linux- 2>/dev/null | grep -E '^linux-(image|headers|binary|modules)-[0-9]') || return 0
	local images binaries modules
	images=$(sed -n 's/^linux-image-\(.*-amd64\)-unsigned$/\1/p' <<<"$names")
	binaries=$(sed -n 's/^linux-binary-\(.*-amd64\)$/\1/p' <<<"$names")
	modules=$(sed -n 's/^linux-modules-\(.*-amd64\)$/\1/p' <<<"$names")
	local split
	split=$(grep -Fxf <(echo "$modules") <<<"$binaries" || true)
	sed -n 's/^linux-headers-\([0-9].*-amd64\)$/\1/p' <<<"$names" |
		grep -Fxf <(printf '%s\n%s\n' "$images" "$split") | sort -rV || true
}

# What a user types for a release: 6.12 for 6.12.117+deb12-amd64, 6.12-rt
# for its -rt-amd64 twin. Pure bash: it runs for every release listed.
spec_of() {
	local release=$1 flavour
	[[ $release =~ ^([0-9]+\.[0-9]+)[^-]*(-[0-9]+)?-(rt-amd64|cloud-amd64|amd64)$ ]] || return 1
	flavour=${BASH_REMATCH[3]}
	if [[ $flavour == amd64 ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo "${BASH_REMATCH[1]}-${flavour%-amd64}"
	fi
}

# Whether a release matches a spec without its suite.
release_matches() {
	local release=$1 spec=$2
	[[ $release == "$spec" ]] && return 0
	[[ $(spec_of "$release") == "$spec" ]]
}

# A spec → "SUITE RELEASE", looked up in the lists (refreshed when stale,
# and once more when the spec is not found). Dies naming what the archive
# offers when nothing matches.
resolve_spec() {
	local spec=$1 suite=
	if [[ $spec == *:* ]]; then
		suite=${spec%%:*}
		spec=${spec#*:}
		is_known_suite "$suite" ||
			die "'$suite' is not a suite kmsdk reads; it reads: ${known_suites[*]}"
	fi
	local -a suites
	if [[ -n $suite ]]; then
		suites=("$suite")
	else
		mapfile -t suites < <(suite_order)
	fi
	local flavour=
	[[ $spec =~ ^[0-9]+\.[0-9]+-([^.]*)$ ]] && flavour=${BASH_REMATCH[1]}
	if [[ -n $flavour && $flavour != rt && $flavour != cloud ]]; then
		echo "kmsdk: '$flavour' is not a flavour of Debian's kernels: a series comes as SERIES, SERIES-rt (PREEMPT_RT) and SERIES-cloud. Debian's archive offers:" >&2
		refresh_suites "${suites[@]}"
		list_available "${suites[@]}" >&2
		die "pick one of those, e.g. 'kmsdk kernels fetch $(newest_series "${suites[@]}")-rt'"
	fi
	local found
	if ! found=$(find_in_suites "$spec" "${suites[@]}"); then
		# Lists a little old may predate the release: read them again once.
		local s refreshed=0
		for s in "${suites[@]}"; do
			if ! suite_lists_fresh "$s" "$recheck_age_min"; then
				refresh_suite "$s" force || true
				refreshed=1
			fi
		done
		((refreshed)) && found=$(find_in_suites "$spec" "${suites[@]}") || found=
	fi
	if [[ -n $found ]]; then
		echo "$found"
		return 0
	fi
	echo "kmsdk: no Debian kernel matches '$1'${suite:+ in $suite}. Debian's archive offers:" >&2
	refresh_suites "${suites[@]}"
	list_available "${suites[@]}" >&2
	die "pick one of those, e.g. 'kmsdk kernels fetch $(newest_series "${suites[@]}")'"
}

# The newest of a spec's releases in the first suite group (the suites of
# one Debian release, which suite_order keeps together) that holds it.
find_in_suites() {
	local spec=$1 suite release best= best_suite= family=
	shift
	for suite in "$@"; do
		[[ -n $best && $(suite_family "$suite") != "$family" ]] && break
		family=$(suite_family "$suite")
		# Read only as far as the look-up goes: 6.1 needs no sid.
		refresh_suite "$suite" >&2 || true
		release=$(suite_releases "$suite" | while read -r r; do
			release_matches "$r" "$spec" && echo "$r"
		done | head -1)
		[[ -n $release ]] || continue
		if [[ -z $best ]] || is_newer "$release" "$best"; then
			best=$release
			best_suite=$suite
		fi
	done
	[[ -n $best ]] || return 1
	echo "$best_suite $best"
}

is_newer() {
	[[ $1 != "$2" && $(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1) == "$1" ]]
}

# "SPEC SUITE NEWEST" for every series and flavour of the suites given.
available_rows() {
	local suite release
	for suite in "$@"; do
		declare -A seen=()
		while read -r release; do
			[[ -n $release ]] || continue
			local spec
			spec=$(spec_of "$release") || continue
			[[ -n ${seen[$spec]:-} ]] && continue
			seen[$spec]=1
			echo "$spec $suite $release"
		done < <(suite_releases "$suite")
		unset seen
	done
}

list_available() {
	local -a suites=("$@")
	((${#suites[@]})) || mapfile -t suites < <(suite_order)
	printf '%-12s %-18s %s\n' SPEC SUITE NEWEST
	available_rows "${suites[@]}" | sort -k1,1V -k2,2 | while read -r spec suite release; do
		printf '%-12s %-18s %s\n' "$spec" "$suite" "$release"
	done
}

# The newest series of the generic flavour: what an error suggests.
newest_series() {
	available_rows "$@" | cut -d' ' -f1 | grep -v -- - | sort -V | tail -1
}

# Which suites hold given packages, from the lists already in the cache and
# never the network: for a kernel that kmsdk fetched before it wrote
# suite= into kernel.info. Reads "RELEASE PACKAGE=VERSION" lines (the
# kernel's headers as kernel.info records them) and writes "RELEASE SUITE"
# for each found; a version the lists no longer hold stays unknown. One
# version in two suites of one release (a security update taken into a
# point release) is one package, named by the first suite in suite_order:
# the one a fetch takes it from.
suites_holding() {
	local -A sought=()
	local release package
	while read -r release package; do
		if [[ -n $package ]]; then sought[$package]=$release; fi
	done
	((${#sought[@]})) || return 0
	# apt's own reader: the lists are kept compressed (lz4, gz, xz...).
	local cat_file=/usr/lib/apt/apt-helper
	[[ -x $cat_file ]] || return 0
	local suite found
	local -a lists
	for suite in $(suite_order); do
		mapfile -t lists < <(compgen -G "$apt_dir/$suite/lists/*_Packages*")
		((${#lists[@]})) || continue
		while read -r found; do
			[[ -n ${sought[$found]:-} ]] || continue
			echo "${sought[$found]} $suite"
			unset 'sought[$found]'
		done < <("$cat_file" cat-file "${lists[@]}" 2>/dev/null |
			grep -E '^(Package: linux-headers-|Version: |$)' |
			awk '/^$/ { p = "" } /^Package: linux-headers-/ { p = $2 } /^Version: / && p != "" { print p "=" $2; p = "" }' |
			grep -Fx -f <(printf '%s\n' "${!sought[@]}"))
		((${#sought[@]})) || break
	done
}
