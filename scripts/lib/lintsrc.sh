# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The kernel's checkpatch.pl for kmsdk-lint.sh, with the spelling.txt and
# const_structs.checkpatch it reads from its own folder. They come from
# Debian's linux-source package of one series, fetched once with the
# suite's private apt configuration (archive.sh), into
#
#   $cache/lint/linux-source-<series>/
#     scripts/checkpatch.pl, scripts/spelling.txt,
#     scripts/const_structs.checkpatch
#     source.info   the package and version; written last, so its
#                   presence means the folder is complete
#
# Only those three files are taken out of the source tarball (150 MB),
# streamed, never unpacked whole. The work happens in a .partial- folder
# renamed into place at the end, under a lock: concurrent lint runs fetch
# once, and one cut short leaves nothing that could be used.
#
# Needs common.sh and archive.sh sourced first.

readonly lint_source_series=6.12
readonly lint_dir=$cache/lint
readonly lint_source_files=(scripts/checkpatch.pl scripts/spelling.txt
	scripts/const_structs.checkpatch)

# The folder of the lint files, fetched when missing; its path on stdout.
lint_source_dir() {
	local dest=$lint_dir/linux-source-$lint_source_series
	if [[ ! -f $dest/source.info ]]; then
		mkdir -p "$lint_dir"
		local lock
		exec {lock}>"$dest.lock"
		flock "$lock"
		# Another run may have fetched it while this one waited.
		[[ -f $dest/source.info ]] || fetch_lint_source "$dest"
		exec {lock}>&-
	fi
	echo "$dest"
}

# The first suite, in suite_order, whose lists offer the package.
lint_source_suite() {
	local package=$1 suite
	for suite in $(suite_order); do
		refresh_suite "$suite" >&2 || continue
		if [[ -n $(suite_apt "$suite" apt-cache madison "$package" 2>/dev/null) ]]; then
			echo "$suite"
			return 0
		fi
	done
	return 1
}

fetch_lint_source() {
	local dest=$1 package=linux-source-$lint_source_series
	local work=$lint_dir/.partial-$package
	local suite
	suite=$(lint_source_suite "$package") ||
		die "no suite of Debian's archive offers $package, which has the kernel's checkpatch.pl; check the network (or KMSDK_DEBIAN_MIRROR), then run the lint again"
	rm -rf "$work"
	mkdir -p "$work/debs"
	trap 'rm -rf "$work"' EXIT
	trap 'rm -rf "$work"; exit 130' INT
	trap 'rm -rf "$work"; exit 143' TERM

	say "fetching $package from $suite for checkpatch.pl (once; a 150 MB download)"
	(cd "$work/debs" && suite_apt "$suite" apt-get -q download "$package" >&2) ||
		die "$package download failed from $suite; check the network (or KMSDK_DEBIAN_MIRROR) and run the lint again; nothing was kept"
	local deb
	deb=$(compgen -G "$work/debs/*.deb" | head -1) ||
		die "apt-get download of $package left no .deb in $work/debs; nothing was kept"

	# The package holds usr/src/linux-source-<series>.tar.xz, whose
	# members start with linux-source-<series>/.
	local tarball=./usr/src/$package.tar.xz
	local -a members=()
	local file
	for file in "${lint_source_files[@]}"; do
		members+=("$package/$file")
	done
	say "extracting ${lint_source_files[*]} from $package"
	if ! dpkg-deb --fsys-tarfile "$deb" | tar -xO -f - "$tarball" |
		tar -xJ -f - -C "$work" "${members[@]}"; then
		die "cannot extract ${lint_source_files[*]} from $(basename "$deb") (a full disk, or a package laid out otherwise?); nothing was kept"
	fi
	mv "$work/$package/scripts" "$work/scripts"
	rmdir "$work/$package"
	{
		echo "package=$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)"
		echo "suite=$suite"
	} >"$work/source.info.tmp"
	rm -rf "$work/debs"
	mv "$work/source.info.tmp" "$work/source.info"
	rm -rf "$dest"
	mv "$work" "$dest"
	trap - EXIT INT TERM
	say "kernel lint files ready in $dest"
}
