#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# A Markdown table of a test run, kernel by suite, for CI's job summary
# ($GITHUB_STEP_SUMMARY): each cell says pass, FAIL or skip, how many test
# cases passed and how long the suite took, and the failed cases are
# listed below it with their first message line.
#
# It reads two kinds of JUnit report, files or folders of them (*.xml):
# - a guest suite's own, written when KMSDK_JUNIT_DIR is set
#   (<suite>_<kernel spec>.xml, tests/guest/support/junit_listener.hpp), one
#   <testcase> per test case;
# - ctest's, from `ctest --output-junit FILE`, one <testcase> per ctest
#   test: guest_<suite>_<spec> gives the suite and kernel, any other test
#   (unit, build, a module project's own) goes under the column "all".
# Where both cover one suite on one kernel, the suite's own report is used.
#
# Usage: junit-summary.py [--title TEXT] REPORT_OR_FOLDER...
# Exit status: 0 with the table on stdout, whatever the tests' verdicts;
# 1 when nothing readable was given, with the reason on stderr.
import argparse
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

# The tail of a test or file name that is a kernel: 6.1, 6.12-rt, 7.3,
# 6.12.117+deb12-rt-amd64 (spec or release).
KERNEL = re.compile(r"^\d+\.\d+([.+~-][\w.+~-]*)?$")
NO_KERNEL = "all"


class Bad(Exception):
    """A report that cannot be read: the message names it and why."""


class Cell:
    def __init__(self):
        self.cases = 0
        self.passed = 0
        self.skipped = 0
        self.failed = []  # "case: first message line"
        self.seconds = 0.0

    def verdict(self):
        if self.failed:
            return "FAIL"
        # As ctest does: a suite in which some case skipped and none failed.
        if self.skipped:
            return "skip"
        return "pass"

    def text(self):
        verdict = self.verdict()
        shown = f"**{verdict}**" if verdict == "FAIL" else verdict
        return f"{shown} {self.passed}/{self.cases}, {self.seconds:.1f} s"


def split_kernel(name):
    """'vermagic_6.12-rt' -> ('vermagic', '6.12-rt'); no kernel -> (name, 'all')."""
    head, _, tail = name.rpartition("_")
    if head and KERNEL.match(tail):
        return head, tail
    return name, NO_KERNEL


def first_line(element):
    text = (element.get("message") or element.text or "").strip()
    return text.splitlines()[0] if text else element.tag


def ctest_reason(case, failure):
    """ctest's <failure> has no message: the output's last words say most."""
    if failure is not None and (failure.get("message") or "").strip():
        return first_line(failure)
    out = [line.strip() for line in (case.findtext("system-out") or "").splitlines()]
    out = [line for line in out if line and not set(line) <= set("=-")]
    return out[-1] if out else "failed"


def seconds_of(element):
    try:
        return float(element.get("time") or 0)
    except ValueError:
        return 0.0


def read_suite_report(path, root):
    """A guest suite's report: one file, one suite on one kernel."""
    suite = root.find("testsuite")
    if suite is None:
        raise Bad(f"{path}: a <testsuites> without a <testsuite>")
    kernel = None
    for prop in suite.iter("property"):
        if prop.get("name") == "kernel":
            kernel = prop.get("value")
    name, from_file = split_kernel(path.stem)
    if kernel and path.stem.endswith("_" + kernel):
        name = path.stem[: -len(kernel) - 1]
    kernel = kernel or from_file
    cell = Cell()
    for case in suite.iter("testcase"):
        cell.cases += 1
        cell.seconds += seconds_of(case)
        problems = case.findall("failure") + case.findall("error")
        if problems:
            cell.failed.append(f"{case.get('name')}: {first_line(problems[0])}")
        elif case.find("skipped") is not None:
            cell.skipped += 1
        else:
            cell.passed += 1
    return {(name, kernel): cell}


def read_ctest_report(path, root):
    """ctest's report: one <testcase> per ctest test."""
    cells = {}
    for case in root.iter("testcase"):
        name, kernel = split_kernel(case.get("name", ""))
        if kernel != NO_KERNEL and name.startswith("guest_"):
            name = name[len("guest_"):]
        cell = cells.setdefault((name, kernel), Cell())
        cell.cases += 1
        cell.seconds += seconds_of(case)
        status = case.get("status", "")
        failure = case.find("failure")
        if failure is not None or status == "fail":
            cell.failed.append(f"{case.get('name')}: {ctest_reason(case, failure)}")
        elif case.find("skipped") is not None or status in ("notrun", "disabled"):
            cell.skipped += 1
        else:
            cell.passed += 1
    return cells


def read(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise Bad(f"{path}: not well-formed XML ({error}); was the run cut short?")
    except OSError as error:
        raise Bad(f"{path}: {error.strerror}")
    if root.tag == "testsuites":
        return "suite", read_suite_report(path, root)
    if root.tag == "testsuite":
        return "ctest", read_ctest_report(path, root)
    raise Bad(f"{path}: <{root.tag}> is not a JUnit report (<testsuites> or <testsuite>)")


def reports(arguments):
    for argument in arguments:
        path = pathlib.Path(argument)
        if path.is_dir():
            found = sorted(path.rglob("*.xml"))
            if not found:
                raise Bad(f"{path}: no *.xml in this folder; did any test run?")
            yield from found
        elif path.exists():
            yield path
        else:
            raise Bad(f"{path}: no such file or folder")


def version_key(kernel):
    if kernel == NO_KERNEL:
        return ((1 << 30,), kernel)
    return (tuple(int(part) for part in re.findall(r"\d+", kernel)), kernel)


def table(cells, title):
    kernels = sorted({kernel for _, kernel in cells}, key=version_key)
    suites = sorted({suite for suite, _ in cells})
    lines = [f"### {title}", "", "| suite | " + " | ".join(kernels) + " |",
             "|---|" + "---|" * len(kernels)]
    for suite in suites:
        row = [cells[(suite, k)].text() if (suite, k) in cells else "–" for k in kernels]
        lines.append(f"| {suite} | " + " | ".join(row) + " |")
    verdicts = [cell.verdict() for cell in cells.values()]
    runs = "1 suite run" if len(cells) == 1 else f"{len(cells)} suite runs"
    lines += ["", f"{runs}: {verdicts.count('pass')} passed, "
              f"{verdicts.count('FAIL')} failed, {verdicts.count('skip')} skipped."]
    failed = [(suite, kernel, case) for (suite, kernel), cell in sorted(cells.items())
              for case in cell.failed]
    if failed:
        lines += ["", "Failed:", ""]
        lines += [f"- {suite} on {kernel}: {case}" for suite, kernel, case in failed]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Markdown table of JUnit reports, kernel by suite")
    parser.add_argument("--title", default="kmsdk tests")
    parser.add_argument("reports", nargs="+", metavar="REPORT_OR_FOLDER")
    options = parser.parse_args()
    own, from_ctest = {}, {}
    try:
        for path in reports(options.reports):
            kind, cells = read(path)
            (own if kind == "suite" else from_ctest).update(cells)
    except Bad as error:
        print(f"junit-summary: {error}", file=sys.stderr)
        return 1
    cells = {**from_ctest, **own}
    sys.stdout.write(table(cells, options.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
