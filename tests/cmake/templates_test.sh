#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `kmsdk new` as a module author meets it: kmsdk installed into a fresh
# prefix, on PATH, and every template it lists made into a project that
# `cmake --workflow --preset default` configures, builds for every cached
# kernel and tests in a guest of each. Also: what a project holds, and the
# refusals (an existing folder with files, a name that is no C identifier,
# an unknown template), each with exit status 1 and nothing left behind.
#
# Usage: templates_test.sh KMSDK_BUILD_DIR [TEMPLATE...]   (default: every template)
set -euo pipefail

kmsdk_build=$1
shift
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-templates-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cmake --install "$kmsdk_build" --prefix "$scratch/prefix" >/dev/null
export PATH="$scratch/prefix/bin:$PATH"
[[ $(command -v kmsdk) == "$scratch/prefix/bin/kmsdk" ]] || fail "the installed kmsdk is not the one on PATH"

listed=$(kmsdk new --list)
echo "$listed"
for required in hello params chardev pci fs net; do
	grep -q "^$required " <<<"$listed" || fail "kmsdk new --list has no $required template"
done
templates=("$@")
((${#templates[@]})) || mapfile -t templates < <(awk '{ print $1 }' <<<"$listed")

# expect_refusal WORDS...: kmsdk new refuses with status 1, a message, and
# nothing made.
expect_refusal() {
	local status=0
	(cd "$scratch/refusals" && kmsdk new "$@") >"$scratch/refusal.out" 2>"$scratch/refusal.err" || status=$?
	[[ $status == 1 ]] || { cat "$scratch/refusal.err"; fail "kmsdk new $* exited $status, not 1"; }
	[[ -s $scratch/refusal.err ]] || fail "kmsdk new $* said nothing"
	echo "refused (kmsdk new $*): $(cat "$scratch/refusal.err")"
}
mkdir -p "$scratch/refusals/taken"
touch "$scratch/refusals/taken/notes.txt"
expect_refusal hello taken
[[ $(ls -A "$scratch/refusals/taken") == notes.txt ]] || fail "a refused kmsdk new changed the folder"
expect_refusal hello my-driver
grep -q "my_driver" "$scratch/refusal.err" || fail "the refusal of my-driver does not suggest my_driver"
expect_refusal no_such_template fresh
grep -q "hello" "$scratch/refusal.err" || fail "the refusal of an unknown template does not list the templates"
expect_refusal net a_name_too_long_for_an_interface
[[ $(ls -A "$scratch/refusals") == taken ]] || fail "refusals left files behind: $(ls -A "$scratch/refusals")"
mkdir "$scratch/refusals/empty_dir"
(cd "$scratch/refusals" && kmsdk new hello empty_dir >/dev/null) || fail "kmsdk new into an empty folder"
[[ -f $scratch/refusals/empty_dir/empty_dir.c ]] || fail "kmsdk new into an empty folder wrote no empty_dir.c"

for template in "${templates[@]}"; do
	module="my_$template"
	project="$scratch/projects/$module"
	started=$SECONDS
	kmsdk new "$template" "$project" >"$scratch/new.log" || { cat "$scratch/new.log"; fail "kmsdk new $template"; }
	for file in CMakeLists.txt README.md dkms.conf Kbuild CMakePresets.json .gitignore \
		"${module}_test.cpp" .github/workflows/kmsdk.yml; do
		[[ -f $project/$file ]] || fail "the $template project has no $file"
	done
	grep -q '^find_package(kmsdk' "$project/CMakeLists.txt" ||
		fail "the $template project's CMakeLists.txt does not find_package(kmsdk)"
	grep -q "BUILT_MODULE_NAME\[0\]=\"\?$module\"\?" "$project/dkms.conf" ||
		fail "the $template project's dkms.conf does not build $module"
	if leftover=$(grep -rl 'kms_' "$project"); then
		fail "the $template project still names the sample in: $leftover"
	fi
	(cd "$project" && cmake --workflow --preset default) >"$scratch/$template.log" 2>&1 ||
		{ tail -n 60 "$scratch/$template.log"; fail "cmake --workflow --preset default in the $template project"; }
	kos=("$project"/build/modules/*/"$module.ko")
	[[ -f ${kos[0]} ]] || fail "the $template project built no $module.ko"
	grep -q "100% tests passed" "$scratch/$template.log" ||
		{ tail -n 30 "$scratch/$template.log"; fail "the $template project's test did not pass"; }
	echo "$template: $module.ko for ${#kos[@]} kernels, its guest test passed ($((SECONDS - started)) s)"
done
echo "templates: ${#templates[@]} made, built and tested"
