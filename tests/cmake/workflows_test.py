#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# No GitHub runner runs here, so this checks what can be checked of the
# GitHub action (action.yml) and workflows (.github/workflows/*.yml, and
# docs/module-workflow.yml, the one `kmsdk new` installs) without one:
# - every file parses as YAML;
# - its structure: the action is composite with the inputs kernels, project
#   and test-filter; a workflow has `on` and jobs, each job a deadline
#   (timeout-minutes) and steps; each step either runs a command, with
#   shell: bash, or uses an action of the short list below;
# - every command a step runs is one that .ci/run runs or the README
#   documents (the rule is at `documented_keys`);
# - the guest shards of ci.yml hold every guest suite of
#   tests/guest/CMakeLists.txt exactly once;
# - actionlint passes, when it is installed. Debian 12 has no package of
#   it: the check then prints a SKIPPED line and the rest still decides.
# Then it proves it can fail: copies of the files, broken in one way each,
# in a temporary folder, must each be refused with the right reason.
#
# Usage: workflows_test.py SOURCE_DIR [--docs EXTRA.md]...
#        (--docs: more Markdown to read as documentation, e.g. a README
#        section not merged yet)
import argparse
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("FAIL: python3 cannot import yaml: install python3-yaml (scripts/setup.sh does)", file=sys.stderr)
    sys.exit(1)

# What a step may `uses:`: GitHub's own actions at the major version the
# files were written for, this repository's action, and the placeholder
# name under which module repositories use it (docs/module-workflow.yml).
ALLOWED_USES = re.compile(
    r"^(actions/(checkout|cache|cache/restore|cache/save|upload-artifact)@v4|\./|kmsdk/kmsdk@v[0-9.]+)$")

# Shell plumbing a step may run without the README documenting it: the
# workflows' own bookkeeping, not a way into kmsdk.
PLUMBING = {
    "echo", "printf",  # messages; lines into $GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_STEP_SUMMARY
    "test", "[", "exit",  # conditions and failing a step
    "mkdir",  # the JUnit folder
    "chmod",  # making /dev/kvm usable
    "grep",  # the action's check that it runs on Debian 12
}
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}"}
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;"}
# Programs whose first argument is what they run: their key is that script.
INTERPRETERS = {"python3", "bash", "sh"}
# A first argument that names a subcommand or an option, and so belongs to
# the command (`make test`, `cmake --preset`); anything else is a value.
SUBCOMMAND = re.compile(r"^-{0,2}[A-Za-z][\w-]*$")
# Where a step finds this repository: the action's checkout, the workspace.
REPOSITORY_PREFIXES = ("$GITHUB_ACTION_PATH/", "$GITHUB_WORKSPACE/", "./")


def normalise_expressions(text):
    """${{ github.action_path }} is the repository; any other ${{ }} a value."""
    text = re.sub(r"\$\{\{\s*github\.action_path\s*\}\}", "$GITHUB_ACTION_PATH", text)
    return re.sub(r"\$\{\{.*?\}\}", "EXPR", text)


def logical_lines(script):
    """Lines of a shell script, continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", script)
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def command_lines(line):
    """The line, and each $(...) in it as a line of its own."""
    found = []
    inner = re.compile(r"\$\(([^()]*)\)")
    while (match := inner.search(line)):
        found.append(match.group(1))
        line = line[:match.start()] + "SUBST" + line[match.end():]
    return [line] + found


def commands(line):
    """Each simple command of a line, as its words: redirections, leading
    assignments and keywords dropped. Raises ValueError on bad quoting."""
    result = []
    for part in command_lines(line):
        lexer = shlex.shlex(part, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words, skip_next = [], False
        for token in list(lexer) + [";"]:
            if skip_next:
                skip_next = False
            elif token in SEPARATORS:
                if words:
                    result.append(words)
                words = []
            elif set(token) <= set("<>&"):
                skip_next = True  # the redirection's target
                if words and words[-1].isdigit():
                    words.pop()  # 2>&1: the descriptor
            elif not words and (token in KEYWORDS or re.match(r"^\w+=", token)):
                continue
            else:
                words.append(token)
    return [words for words in result if words and words[0] not in ("for", "case", "in", "esac")]


def program(word):
    for prefix in REPOSITORY_PREFIXES:
        if word.startswith(prefix):
            return word[len(prefix):]
    return word


def key(words):
    """The part of a command that must be documented: its program and, when
    it is a subcommand or an option, its first argument."""
    name = program(words[0])
    rest = words[1:]
    if name in INTERPRETERS and rest:
        return (name, program(rest[0]))
    if rest and SUBCOMMAND.match(rest[0]):
        return (name, rest[0])
    return (name, None)


def markdown_commands(text):
    """Shell lines of a Markdown file: fenced sh/bash blocks, and code spans."""
    lines = []
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
    for match in fence.finditer(text):
        if match.group(1) in ("sh", "bash", "shell", "console"):
            lines += logical_lines(match.group(2))
    outside = fence.sub("", text)
    lines += re.findall(r"`([^`\n]+)`", outside)
    return lines


def documented_keys(root, extra_docs):
    """The rule: a step's command is documented when its key (program, plus
    its first argument when that is a subcommand or an option) is the key of
    some command in .ci/run, or in the README's shell blocks or code spans
    (the README's and examples/consumer/README.md's, the consumer project
    the README points module authors at)."""
    lines = list(logical_lines((root / ".ci/run").read_text()))
    for doc in [root / "README.md", root / "examples/consumer/README.md", *extra_docs]:
        lines += markdown_commands(pathlib.Path(doc).read_text())
    keys = set()
    for line in lines:
        try:
            keys.update(key(words) for words in commands(normalise_expressions(line)))
        except ValueError:
            pass  # prose in a code span, not a command
    return keys


def load(path, problems):
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problems.append(f"{path}{where}: not valid YAML: {getattr(error, 'problem', error)}")
        return None


def check_steps(name, steps, documented, problems, counts):
    if not isinstance(steps, list) or not steps:
        problems.append(f"{name}: no steps")
        return
    for number, step in enumerate(steps, 1):
        where = f"{name}, step {number} ({step.get('name') or step.get('uses') or 'unnamed'})"
        if ("run" in step) == ("uses" in step):
            problems.append(f"{where}: a step has either run or uses")
            continue
        if "uses" in step:
            if not ALLOWED_USES.match(str(step["uses"])):
                problems.append(f"{where}: uses {step['uses']}, not one of {ALLOWED_USES.pattern}")
            continue
        if step.get("shell") != "bash":
            problems.append(f"{where}: a run step needs shell: bash")
        for line in logical_lines(normalise_expressions(str(step["run"]))):
            try:
                found = commands(line)
            except ValueError as error:
                problems.append(f"{where}: cannot read `{line}`: {error}")
                continue
            for words in found:
                counts["commands"] += 1
                command = key(words)
                if command[0] in PLUMBING or command in documented:
                    continue
                shown = " ".join(part for part in command if part)
                problems.append(f"{where}: `{shown}` is a command neither .ci/run runs nor the "
                                f"README documents (in `{line}`): document it, or run one that is")


def check_action(path, data, documented, problems, counts):
    if not isinstance(data, dict):
        problems.append(f"{path}: not a mapping")
        return
    for field in ("name", "description", "runs"):
        if field not in data:
            problems.append(f"{path}: no {field}")
    inputs = data.get("inputs") or {}
    for name in ("kernels", "project", "test-filter"):
        if name not in inputs or "description" not in (inputs[name] or {}):
            problems.append(f"{path}: no input {name} with a description")
    runs = data.get("runs") or {}
    if runs.get("using") != "composite":
        problems.append(f"{path}: runs.using is {runs.get('using')!r}, not 'composite'")
    check_steps(str(path), runs.get("steps"), documented, problems, counts)


def check_workflow(path, data, documented, problems, counts):
    if not isinstance(data, dict):
        problems.append(f"{path}: not a mapping")
        return
    # YAML 1.1 reads the key `on` as true.
    if "on" not in data and True not in data:
        problems.append(f"{path}: no `on` (the events that start it)")
    jobs = data.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        problems.append(f"{path}: no jobs")
        return
    for name, job in jobs.items():
        where = f"{path}, job {name}"
        if "runs-on" not in job:
            problems.append(f"{where}: no runs-on")
        if "timeout-minutes" not in job:
            problems.append(f"{where}: no timeout-minutes: every job needs a deadline")
        needs = job.get("needs", [])
        for needed in [needs] if isinstance(needs, str) else needs:
            if needed not in jobs:
                problems.append(f"{where}: needs {needed}, which is no job of this workflow")
        check_steps(where, job.get("steps"), documented, problems, counts)


def check_shards(root, path, data, problems):
    """The guest job's shards hold every suite exactly once."""
    suites = re.findall(r"^kmsdk_add_guest_suite\((\w+)[\s)]",
                        (root / "tests/guest/CMakeLists.txt").read_text(), re.M)
    for name, job in (data.get("jobs") or {}).items():
        shards = ((job.get("strategy") or {}).get("matrix") or {}).get("shard")
        if not isinstance(shards, list):
            continue
        held = [suite for shard in shards for suite in str(shard.get("suites", "")).split("|")]
        for suite in sorted(set(suites) - set(held)):
            problems.append(f"{path}, job {name}: no shard runs the guest suite {suite}: add it to one")
        for suite in sorted(set(held) - set(suites)):
            problems.append(f"{path}, job {name}: a shard names {suite}, which is no guest suite")
        for suite in sorted({s for s in held if held.count(s) > 1}):
            problems.append(f"{path}, job {name}: the guest suite {suite} is in more than one shard")
        return len(shards)
    return 0


def check(root, extra_docs=()):
    """Every problem of the tree at root, and what was checked."""
    problems, notes = [], []
    documented = documented_keys(root, extra_docs)
    files = [root / "action.yml", *sorted((root / ".github/workflows").glob("*.y*ml")),
             root / "docs/module-workflow.yml"]
    for path in files:
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        counts = {"commands": 0}
        data = load(path, problems)
        if data is None:
            continue
        if path.name == "action.yml":
            check_action(path, data, documented, problems, counts)
        else:
            check_workflow(path, data, documented, problems, counts)
            if shards := check_shards(root, path, data, problems):
                notes.append(f"{path.relative_to(root)}: {shards} guest shards")
        notes.append(f"{path.relative_to(root)}: parsed, {counts['commands']} commands checked")
    return problems, notes


def actionlint(root):
    tool = shutil.which("actionlint")
    if not tool:
        print("SKIPPED: actionlint is not installed (Debian 12 has no package of it); "
              "YAML, structure and commands were checked without it")
        return []
    workflows = sorted(str(p) for p in (root / ".github/workflows").glob("*.y*ml"))
    run = subprocess.run([tool, *workflows, str(root / "docs/module-workflow.yml")],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        return [f"actionlint: {line}" for line in run.stdout.splitlines() or run.stderr.splitlines()]
    print("actionlint: no findings")
    return []


def broken_copy(root, scratch, name, edit):
    """A copy of what check() reads, with one file edited."""
    copy = scratch / name
    for part in ("action.yml", ".github/workflows", "docs/module-workflow.yml", ".ci/run",
                 "README.md", "examples/consumer/README.md", "tests/guest/CMakeLists.txt"):
        source, target = root / part, copy / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    file, old, new = edit
    text = (copy / file).read_text()
    if old not in text:
        raise SystemExit(f"FAIL: the self-test cannot find `{old}` in {file} to break it")
    (copy / file).write_text(text.replace(old, new, 1))
    return copy


def self_test(root, extra_docs):
    """Each broken copy must be refused, and for the reason it was broken."""
    cases = [
        ("a YAML error", (".github/workflows/ci.yml", "jobs:\n", "jobs:\n  - [unclosed\n"),
         "not valid YAML"),
        ("a command nobody documents",
         ("action.yml", "    - name: Build and install kmsdk\n",
          "    - name: Fetch a tool\n      shell: bash\n"
          "      run: curl -fsSL https://example.org/tool.sh | bash\n"
          "    - name: Build and install kmsdk\n"),
         "`curl -fsSL` is a command neither"),
        ("a step without a shell", ("docs/module-workflow.yml", "      - uses: actions/checkout@v4\n",
                                    "      - run: make test\n      - uses: actions/checkout@v4\n"),
         "needs shell: bash"),
        ("an action of nobody's", ("docs/module-workflow.yml", "actions/checkout@v4", "someone/checkout@main"),
         "uses someone/checkout@main"),
        ("a guest suite in no shard", (".github/workflows/ci.yml", "|labs\n", "\n"),
         "no shard runs the guest suite labs"),
        ("an action that is not composite", ("action.yml", "using: composite", "using: node20"),
         "not 'composite'"),
    ]
    failures = []
    with tempfile.TemporaryDirectory(prefix="kmsdk-workflows-") as scratch:
        for number, (what, edit, expected) in enumerate(cases):
            copy = broken_copy(root, pathlib.Path(scratch), f"case{number}", edit)
            problems, _ = check(copy, extra_docs)
            if any(expected in problem for problem in problems):
                print(f"refused, as it must be: {what}")
            else:
                failures.append(f"a copy with {what} was not refused for it "
                                f"(wanted `{expected}`; got {problems or 'no problem at all'})")
    return failures


def main():
    parser = argparse.ArgumentParser(description="check the GitHub action and workflows")
    parser.add_argument("source_dir", type=pathlib.Path)
    parser.add_argument("--docs", action="append", default=[], type=pathlib.Path,
                        help="more Markdown to read as documentation")
    options = parser.parse_args()
    root = options.source_dir.resolve()

    problems, notes = check(root, options.docs)
    for note in notes:
        print(note)
    problems += actionlint(root)
    problems += self_test(root, options.docs)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("workflows: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
