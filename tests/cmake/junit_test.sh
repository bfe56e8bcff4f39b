#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# JUnit as CI reads it, from one real guest suite on one kernel, run by
# ctest as tests/guest/CMakeLists.txt registers it (a ctest folder of its
# own in a scratch folder, so the build's own Testing/ log is not shared):
# - with KMSDK_JUNIT_DIR naming a folder that does not exist yet, the suite
#   makes it and writes <suite>_<spec>.xml there: one <testcase> per
#   TEST_CASE, named and ordered as `--list-test-names-only` lists them,
#   with times, the kernel's spec and release, and no failure;
# - the console output is still there (ctest's report holds it);
# - `ctest --output-junit` gives one <testcase> for the suite, passed;
# - scripts/junit-summary.py makes a table of both, says FAIL for a report
#   with a failure in it, and refuses a broken or missing report;
# - a KMSDK_JUNIT_DIR that cannot be a folder fails the suite at once,
#   naming it, before any guest boots.
#
# Usage: junit_test.sh SUITE_BINARY RELEASE SPEC SOURCE_DIR
set -euo pipefail

suite_binary=$1 release=$2 spec=$3 source_dir=$4
summary=$source_dir/scripts/junit-summary.py
suite_file=$(basename "$suite_binary")
suite=${suite_file#guest_}
test_name=${suite_file}_$spec
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmsdk-junit-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[[ -x $suite_binary ]] || fail "$suite_binary is not built: cmake --build --preset default"
command -v python3 >/dev/null || fail "python3 is missing: install python3 (scripts/setup.sh does)"

junit=$scratch/reports/nested
mkdir -p "$scratch/ctest"
cat >"$scratch/ctest/CTestTestfile.cmake" <<EOF
add_test($test_name "$suite_binary")
set_tests_properties($test_name PROPERTIES
  ENVIRONMENT "KMSDK_TEST_KERNEL=$release;KMSDK_JUNIT_DIR=$junit"
  SKIP_RETURN_CODE 77 TIMEOUT 600)
EOF

# Catch2 v2 exits with the number of names it listed.
"$suite_binary" --list-test-names-only >"$scratch/names" || true
[[ -s $scratch/names ]] || fail "$suite_binary --list-test-names-only listed nothing"
start=$EPOCHREALTIME
ctest --test-dir "$scratch/ctest" --output-junit "$scratch/ctest.xml" --output-on-failure \
	>"$scratch/ctest.log" 2>&1 || { cat "$scratch/ctest.log"; fail "$test_name failed under ctest"; }
echo "$test_name ran under ctest in $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $start }") s"

report=$junit/${suite}_$spec.xml
[[ -f $report ]] || fail "no $report; $junit holds: $(ls -A "$junit" 2>&1)"

python3 - "$report" "$scratch/names" "$scratch/ctest.xml" "$suite_file" "$test_name" "$spec" "$release" <<'EOF'
import os
import sys
import xml.etree.ElementTree as ET

report, names_file, ctest_file, binary, test_name, spec, release = sys.argv[1:]


def fail(message):
    sys.exit(f"FAIL: {message}")


root = ET.parse(report).getroot()
suites = root.findall("testsuite")
if root.tag != "testsuites" or len(suites) != 1:
    fail(f"{report}: wanted <testsuites> holding one <testsuite>")
suite = suites[0]
listed = [line for line in open(names_file).read().splitlines() if line]
cases = suite.findall("testcase")
names = [case.get("name") for case in cases]
if names != listed:
    fail(f"{report}: testcases {names}, but the suite lists {listed}")
if suite.get("name") != binary or suite.get("tests") != str(len(listed)):
    fail(f"{report}: testsuite name={suite.get('name')} tests={suite.get('tests')}, "
         f"wanted {binary} and {len(listed)}")
for case in cases:
    if float(case.get("time", "-1")) < 0:
        fail(f"{report}: testcase {case.get('name')!r} has no time")
    if case.find("failure") is not None or case.find("error") is not None:
        fail(f"{report}: testcase {case.get('name')!r} failed: {ET.tostring(case, 'unicode')}")
properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
if properties.get("kernel") != spec or properties.get("release") != release:
    fail(f"{report}: properties {properties}, wanted kernel {spec}, release {release}")
print(f"{report.rsplit('/', 1)[-1]}: {len(cases)} testcases, one per TEST_CASE, in the listed order")

ctest_cases = ET.parse(ctest_file).getroot().findall("testcase")
if [case.get("name") for case in ctest_cases] != [test_name] or ctest_cases[0].get("status") != "run":
    fail(f"{ctest_file}: wanted one testcase {test_name} with status run, got "
         f"{[(case.get('name'), case.get('status')) for case in ctest_cases]}")
out = ctest_cases[0].findtext("system-out") or ""
if "All tests passed" not in out:
    fail(f"{ctest_file}: the suite's console output is not in ctest's report: {out[:400]!r}")
print("ctest --output-junit: one testcase, passed, with the suite's console output")

# A copy with a failure in its second case, for the summary.
broken = cases[1 if len(cases) > 1 else 0]
failure = ET.SubElement(broken, "failure", message="REQUIRE( false )", type="REQUIRE")
failure.text = "REQUIRE( false )\nat somewhere.cpp:1"
suite.set("failures", "1")
copy = report.replace("/nested/", "/failed/")
os.makedirs(os.path.dirname(copy))
ET.ElementTree(root).write(copy, encoding="unicode")
EOF

count=$(wc -l <"$scratch/names")
"$summary" "$junit" "$scratch/ctest.xml" >"$scratch/summary.md"
cat "$scratch/summary.md"
grep -q "^| suite | $spec |\$" "$scratch/summary.md" || fail "the summary has no column for $spec"
grep -q "^| $suite | pass $count/$count, [0-9.]* s |\$" "$scratch/summary.md" ||
	fail "the summary does not say $suite passed $count of $count on $spec"

"$summary" "$scratch/ctest.xml" >"$scratch/ctest-summary.md"
grep -q "^| $suite | pass 1/1, [0-9.]* s |\$" "$scratch/ctest-summary.md" ||
	{ cat "$scratch/ctest-summary.md"; fail "the summary of ctest's report alone does not say $suite passed"; }

"$summary" "$scratch/reports/failed" >"$scratch/failed.md"
grep -q "^| $suite | \*\*FAIL\*\* $((count - 1))/$count, " "$scratch/failed.md" ||
	{ cat "$scratch/failed.md"; fail "the summary of a report with a failure does not say FAIL"; }
grep -q "^- $suite on $spec: .*: REQUIRE( false )\$" "$scratch/failed.md" ||
	{ cat "$scratch/failed.md"; fail "the summary does not list the failed case"; }
echo "junit-summary.py: pass for the real reports, FAIL and the case for a failed copy"

echo '<testsuites><testsuite' >"$scratch/cut.xml"
mkdir "$scratch/empty"
for bad in "$scratch/cut.xml:not well-formed XML" "$scratch/empty:no \*.xml in this folder" \
	"$scratch/absent.xml:no such file or folder"; do
	if "$summary" "${bad%%:*}" >"$scratch/bad.out" 2>"$scratch/bad.err"; then
		fail "junit-summary.py accepted ${bad%%:*}"
	fi
	grep -q "${bad#*:}" "$scratch/bad.err" ||
		fail "junit-summary.py on ${bad%%:*} said: $(cat "$scratch/bad.err")"
done
echo "junit-summary.py: refuses a cut-short report, an empty folder and a missing file"

touch "$scratch/a-file"
start=$(date +%s)
if KMSDK_TEST_KERNEL=$release KMSDK_JUNIT_DIR=$scratch/a-file timeout 60 "$suite_binary" \
	>"$scratch/file.log" 2>&1; then
	fail "the suite ran with KMSDK_JUNIT_DIR naming a file"
fi
(($(date +%s) - start < 10)) || fail "a bad KMSDK_JUNIT_DIR took $(($(date +%s) - start)) s to refuse"
grep -q "KMSDK_JUNIT_DIR=$scratch/a-file: cannot make that folder" "$scratch/file.log" ||
	{ cat "$scratch/file.log"; fail "the suite's refusal does not name KMSDK_JUNIT_DIR"; }
echo "a KMSDK_JUNIT_DIR that is a file: refused at once: $(grep -m1 KMSDK_JUNIT_DIR "$scratch/file.log")"
echo "junit: all checks passed"
