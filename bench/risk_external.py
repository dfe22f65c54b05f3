#!/usr/bin/env python3
"""Scores every development snapshot with `repolens risks --rev SNAPSHOT --json` and writes the
JSON lines that `risk_eval.py --external` reads: one file with the risk score, one with the risk
density (risk per line, the effort-aware ordering).

    REPOS_DIR=/tmp/repos python3 bench/risk_external.py \
        --labels /work/shared/risk_eval/labels_h12 --bin target/release/repolens --out /tmp/risk
    python3 ../shared/tools/risk_eval.py --preset all --external /tmp/risk/score.jsonl --out /tmp/r.json

Snapshots are the `snapshot` commits of the label files (the last first-parent commit before each
cutoff); repositories are found as risk_eval.py finds them ($REPOS_DIR/<owner>+<name>/repo, or a
clone named after the repository). `--rev` makes repolens read the code *and* the history as of
the snapshot, so nothing after the cutoff is used.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import time

SLUGS = {"requests": "psf/requests", "flask": "pallets/flask", "pytest": "pytest-dev/pytest"}


def repo_dir(slug):
    base = os.environ.get("REPOS_DIR", "repos")
    owner, name = slug.split("/")
    for cand in (f"{owner}+{name}/repo", f"{owner}+{name}", name):
        d = os.path.join(base, cand)
        if os.path.isdir(d):
            return d
    sys.exit(f"no clone of {slug} under {base}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", required=True, help="folder of <repo>_<cutoff>.json label files")
    ap.add_argument("--bin", default="target/release/repolens")
    ap.add_argument("--out", required=True, help="output folder")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    score_lines, density_lines = [], []
    for path in sorted(glob.glob(os.path.join(args.labels, "*_*.json"))):
        name = os.path.basename(path)[:-5]
        repo, cutoff = name.rsplit("_", 1)
        if repo not in SLUGS:
            continue  # e.g. pytest_keyword_*: the same snapshots under another oracle
        snapshot = json.load(open(path))["snapshot"]
        started = time.time()
        out = subprocess.run([args.bin, "risks", "--root", repo_dir(SLUGS[repo]), "--rev", snapshot, "--json"],
                             check=True, stdout=subprocess.PIPE).stdout
        report = json.loads(out)
        with open(os.path.join(args.out, f"{name}.json"), "wb") as fh:
            fh.write(out)
        print(f"{name}: {len(report['files'])} files, {len(report['functions'])} functions "
              f"in {time.time() - started:.1f} s", file=sys.stderr)
        for f in report["files"]:
            row = {"repo": repo, "cutoff": cutoff, "path": f["path"]}
            score_lines.append(dict(row, score=f["score"]))
            density_lines.append(dict(row, score=math.log(f["density"])))
        for f in report["functions"]:
            row = {"repo": repo, "cutoff": cutoff, "path": f["path"], "qual": f["qual"]}
            score_lines.append(dict(row, score=f["score"]))
            density_lines.append(dict(row, score=math.log(f["density"])))
    for fname, lines in (("score.jsonl", score_lines), ("density.jsonl", density_lines)):
        with open(os.path.join(args.out, fname), "w") as fh:
            fh.writelines(json.dumps(line) + "\n" for line in lines)


if __name__ == "__main__":
    main()
