#!/usr/bin/env python3
"""Turns SWE-bench-style instances into cases for `repolens eval localize`.

Input lines: {instance_id, repo, base_commit, problem_statement, gold_files}.
Output lines: {id, root, question, gold_files}, where `root` is a checkout of `repo` at
`base_commit` (a `git worktree` of one local clone per repository).

The repositories are not downloaded here: give each one as a git directory, either explicitly
(`--repo owner/name=/path/to/git-dir`, repeatable) or through a mirror folder laid out as
`MIRRORS/owner+name/repo` (`--mirrors`). Instances whose repository is missing are skipped and
listed on stderr.

    python3 bench/swebench_cases.py ../shared/swebench/swebench_lite_dev.jsonl \
        --mirrors /work/.mirror --work /tmp/swebench --out /tmp/swebench/cases.jsonl
"""

import argparse
import json
import os
import subprocess
import sys


def git(*args, cwd=None, quiet=False):
    subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL if quiet else None)


def checkout(clone, root, commit):
    """A worktree of `clone` at `commit`. Mirrors may lack the blobs of their largest files
    (data, not code); then only the files whose blobs are present are checked out."""
    try:
        git("worktree", "add", "-q", "--detach", root, commit, cwd=clone, quiet=True)
        return
    except subprocess.CalledProcessError:
        pass
    git("worktree", "prune", cwd=clone)
    if os.path.isdir(root):
        subprocess.run(["rm", "-rf", root], check=True)
    git("worktree", "add", "-q", "--detach", "--no-checkout", root, commit, cwd=clone)
    listing = subprocess.run(["git", "ls-tree", "-r", "-z", commit], cwd=root, check=True,
                             capture_output=True).stdout.decode().split("\0")
    entries = [line.split("\t", 1) for line in listing if line]
    blobs = [(meta.split()[2], path) for meta, path in entries if meta.split()[1] == "blob"]
    check = subprocess.run(["git", "cat-file", "--batch-check"], cwd=root, check=True, capture_output=True,
                           input="".join(f"{sha}\n" for sha, _ in blobs).encode()).stdout.decode().splitlines()
    present = [path for (_, path), line in zip(blobs, check) if not line.endswith("missing")]
    subprocess.run(["git", "checkout", commit, "--pathspec-from-file=-", "--pathspec-file-nul"], cwd=root,
                   check=True, input="\0".join(f":(literal){p}" for p in present).encode(),
                   stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instances", help="SWE-bench-style JSONL")
    parser.add_argument("--repo", action="append", default=[], metavar="OWNER/NAME=GITDIR")
    parser.add_argument("--mirrors", help="folder with OWNER+NAME/repo git directories")
    parser.add_argument("--work", default="/tmp/swebench", help="where clones and checkouts go")
    parser.add_argument("--out", default="/tmp/swebench/cases.jsonl")
    args = parser.parse_args()

    sources = dict(item.split("=", 1) for item in args.repo)
    os.makedirs(args.work, exist_ok=True)
    cases, skipped = [], []
    with open(args.instances) as f:
        instances = [json.loads(line) for line in f if line.strip()]
    for inst in instances:
        repo = inst["repo"]
        source = sources.get(repo)
        if source is None and args.mirrors:
            candidate = os.path.join(args.mirrors, repo.replace("/", "+"), "repo")
            if os.path.isdir(candidate):
                source = candidate
        if source is None:
            skipped.append(inst["instance_id"])
            continue
        clone = os.path.join(args.work, "clones", repo.replace("/", "+"))
        if not os.path.isdir(clone):
            git("clone", "-q", "--no-checkout", source, clone)
        root = os.path.join(args.work, "roots", inst["instance_id"])
        if not os.path.isdir(root):
            checkout(clone, root, inst["base_commit"])
        cases.append({
            "id": inst["instance_id"],
            "root": root,
            "question": inst["problem_statement"],
            "gold_files": inst["gold_files"],
        })
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as out:
        for case in cases:
            out.write(json.dumps(case) + "\n")
    print(f"{len(cases)} cases written to {args.out}", file=sys.stderr)
    if skipped:
        print(f"skipped (repository not given): {', '.join(skipped)}", file=sys.stderr)


if __name__ == "__main__":
    main()
