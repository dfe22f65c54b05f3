#!/usr/bin/env python3
"""Recreates the repair development set for `repolens eval repair` from git mirrors.

Each task is a real bug-fix commit of a small pure-Python project with a pytest suite that runs
offline. For a commit C that changes one source file and some test files, the task's checkout
is C's tree with the source file put back as it was in C^ (the fix reverted, the fix's tests
kept). The tests of C's test files that fail there and pass with the fix are the task's
fail-to-pass tests. The candidate pool is the real fix, as search/replace blocks, plus up to
three plausible wrong patches made by mutating the fix's added lines (a comparison or boolean
operator flipped, an off-by-one, a constant changed, one hunk of several left out), each
checked to parse and to differ from the fix. Candidates are ordered by a hash, so the real fix
is not always first.

Usage (mirrors as `fetch` leaves them; checkouts and the cases file go to OUT, never into the
repolens repository):

    python3 bench/repair_devset.py --mirrors /work/.mirror --out /tmp/repair-dev

writes OUT/<task id>/ (a checkout) and OUT/cases.jsonl, one task per line:

    {"id", "root", "location": "FILE:LINE", "candidates": [block text, ...],
     "known_fix": block text, "fail_to_pass": [node ids], "tests": [the fix's test files],
     "commit", "subject"}

Tasks whose fix has no fail-to-pass test here (the test needs something not installed, or
passes without the fix) are skipped with a message. Needs git and python3 with pytest.
"""

import argparse
import ast
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

# (mirror directory name, commit, task id). Chosen from `git log` of each mirror: commits that
# change one source file by a few lines and add or change a test for the bug.
TASKS = [
    ("more-itertools+more-itertools", "edb3346", "more-itertools-numeric-range-reversed"),
    ("more-itertools+more-itertools", "71b46b0", "more-itertools-windowed-size"),
    ("more-itertools+more-itertools", "cf186b5", "more-itertools-product-index"),
    ("more-itertools+more-itertools", "cca3294", "more-itertools-last-reversed-none"),
    ("more-itertools+more-itertools", "073d234", "more-itertools-repeat-iterators"),
    ("mahmoud+boltons", "c1c25da", "boltons-bits-length"),
    ("mahmoud+boltons", "8c3fc28", "boltons-pluralize-x"),
    ("mahmoud+boltons", "4aa77cd", "boltons-split-maxsplit-zero"),
    ("mahmoud+boltons", "766b554", "boltons-bytes2human"),
    ("mahmoud+boltons", "25e8d6b", "boltons-barrellist-insert"),
    ("mahmoud+boltons", "ead236e", "boltons-backoff-factor-one"),
    ("pallets+click", "1b0e19f5", "click-envvar-hint"),
]

SOURCE_DIRS = ("src/", "more_itertools/", "boltons/", "click/")


def git(mirror, *args, text=True):
    return subprocess.run(["git", "-C", mirror, *args], check=True, capture_output=True, text=text).stdout


def is_test(path):
    name = os.path.basename(path)
    return path.startswith(("tests/", "test/")) or name.startswith("test_") or name == "conftest.py"


def changed_files(mirror, commit):
    out = git(mirror, "diff", "--name-only", f"{commit}^", commit)
    return [p for p in out.splitlines() if p.endswith(".py")]


def blocks(path, before, after, context=2):
    """Search/replace blocks turning `before` into `after`, each SEARCH unique in `before`."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    out = []
    for group in matcher.get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        # Widen until the search text is unique (and never empty).
        while True:
            search = "".join(old[i1:i2])
            if search.strip() and before.count(search) == 1:
                break
            if i1 == 0 and i2 == len(old):
                break
            if i1 > 0:
                i1, j1 = i1 - 1, j1 - 1
            if i2 < len(old):
                i2, j2 = i2 + 1, j2 + 1
        out.append(f"{path}\n<<<<<<< SEARCH\n{''.join(old[i1:i2])}=======\n{''.join(new[j1:j2])}>>>>>>> REPLACE\n")
    return "\n".join(out)


MUTATIONS = [
    (r"<=", "<"), (r">=", ">"), (r"(?<![<>=!])<(?![<=])", "<="), (r"(?<![<>=!-])>(?![>=])", ">="),
    (r"==", "!="), (r"!=", "=="), (r"\band\b", "or"), (r"\bor\b", "and"), (r"\bis not\b", "is"),
    (r"\bnot\s+", ""), (r"\bTrue\b", "False"), (r"\bFalse\b", "True"), (r"\+ 1\b", "- 1"),
    (r"- 1\b", "+ 1"), (r"\b0\b", "1"), (r"\b1\b", "0"), (r"\b1024\b", "1000"),
    (r"\*\* (\w+)", r"** (\1 + 1)"), (r"(?<=>= )(\w[\w.]*( \*\* \w+)?)", r"\1 - 1"),
    (r"\blist\(", "tuple("), (r"\btuple\(", "list("), (r"\[-1\]", "[0]"), (r", None\)", ")"),
    (r" \* \w+(?=\s*$)", ""), (r"\bNone\b", "0"),
]


def mutants(before, after, limit=3):
    """Wrong fixes: `after` with one mutation on a line the fix added, or with a hunk left out."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    added = [j for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("replace", "insert") for j in range(j1, j2)]
    seen = {after, before}
    out = []

    def keep(text):
        if text in seen:
            return False
        try:
            ast.parse(text)
        except SyntaxError:
            return False
        seen.add(text)
        out.append(text)
        return True

    for pattern, repl in MUTATIONS:
        for j in added:
            line = new[j]
            code = line.split("#", 1)[0]
            m = re.search(pattern, code)
            if not m or line.lstrip().startswith(("'", '"')):
                continue
            mutated = new[:j] + [line[: m.start()] + m.expand(repl) + line[m.end():]] + new[j + 1:]
            if keep("".join(mutated)):
                break
        if len(out) >= limit:
            return out
    # Leave one hunk out when the fix has several.
    opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if len(opcodes) > 1 and len(out) < limit:
        tag, i1, i2, j1, j2 = opcodes[-1]
        partial = new[:j1] + old[i1:i2] + new[j2:]
        keep("".join(partial))
    return out[:limit]


def run_pytest(root, selection):
    """{node id: passed?} for `selection` in `root`."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "junit.xml")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
        if os.path.isdir(os.path.join(root, "src")):
            env["PYTHONPATH"] = os.path.join(root, "src")
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={root}",
             f"--junitxml={report}", "-o", "junit_family=xunit1", *selection],
            cwd=root, env=env, capture_output=True, timeout=900,
        )
        if not os.path.exists(report):
            return {}
        results = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            file = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
            classname = case.get("classname", "")
            parts = classname.split(".")
            # xunit1: classname is the module path plus the class, if any.
            mod = file[:-3].replace("/", ".")
            cls = classname[len(mod) + 1:] if classname.startswith(mod + ".") else ""
            node = file + ("::" + cls.replace(".", "::") if cls else "") + "::" + case.get("name")
            failed = any(child.tag in ("failure", "error") for child in case)
            skipped = any(child.tag == "skipped" for child in case)
            if not skipped:
                results[node] = not failed
        return results


def stable_order(items, key):
    return sorted(items, key=lambda text: hashlib.sha256((key + text).encode()).hexdigest())


def make_task(mirrors, mirror_name, commit, task_id, out_dir):
    mirror = os.path.join(mirrors, mirror_name, "repo")
    files = changed_files(mirror, commit)
    sources = [f for f in files if not is_test(f)]
    tests = [f for f in files if is_test(f) and os.path.basename(f).startswith("test")]
    if len(sources) != 1 or not tests:
        return None, f"{task_id}: expected one source file and a test file, got {files}"
    source = sources[0]
    root = os.path.join(out_dir, task_id)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    archive = git(mirror, "archive", "--format=tar", commit, text=False)
    subprocess.run(["tar", "-x", "-C", root], input=archive, check=True)
    fixed = git(mirror, "show", f"{commit}:{source}")
    buggy = git(mirror, "show", f"{commit}^:{source}")
    path = os.path.join(root, source)

    with open(path, "w") as f:
        f.write(fixed)
    after = run_pytest(root, tests)
    with open(path, "w") as f:
        f.write(buggy)
    before = run_pytest(root, tests)
    fail_to_pass = sorted(t for t, ok in after.items() if ok and before.get(t) is False)
    if not fail_to_pass:
        return None, f"{task_id}: no fail-to-pass test ({len(after)} tests ran with the fix)"

    fix = blocks(source, buggy, fixed)
    wrong = [blocks(source, buggy, m) for m in mutants(buggy, fixed)]
    matcher = difflib.SequenceMatcher(a=buggy.splitlines(), b=fixed.splitlines(), autojunk=False)
    first = next(op for op in matcher.get_opcodes() if op[0] != "equal")
    line = min(first[1] + 1, len(buggy.splitlines()))
    subject = git(mirror, "log", "-1", "--format=%s", commit).strip()
    case = {
        "id": task_id,
        "root": root,
        "location": f"{source}:{line}",
        "candidates": stable_order([fix, *wrong], task_id),
        "known_fix": fix,
        "fail_to_pass": fail_to_pass,
        # The wider suite finalists run: the test files the fix touched (whole suites take
        # minutes per candidate on a loaded two-core machine).
        "tests": tests,
        "commit": f"{mirror_name.replace('+', '/')}@{commit}",
        "subject": subject,
    }
    return case, f"{task_id}: {len(fail_to_pass)} fail-to-pass, {len(wrong)} wrong candidates"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", default="/work/.mirror")
    parser.add_argument("--out", default="/tmp/repair-dev")
    parser.add_argument("--only", nargs="*", help="task ids to build (default: all)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for mirror_name, commit, task_id in TASKS:
        if args.only and task_id not in args.only:
            continue
        try:
            case, message = make_task(args.mirrors, mirror_name, commit, task_id, args.out)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
            case, message = None, f"{task_id}: failed: {err}"
        print(message, file=sys.stderr)
        if case:
            cases.append(case)
    with open(os.path.join(args.out, "cases.jsonl"), "w") as f:
        for case in cases:
            f.write(json.dumps(case) + "\n")
    print(f"{len(cases)} tasks in {os.path.join(args.out, 'cases.jsonl')}", file=sys.stderr)


if __name__ == "__main__":
    main()
