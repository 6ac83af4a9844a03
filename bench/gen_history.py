#!/usr/bin/env python3
"""Generate the synthetic git-history corpus (stdlib + git; fixed seed => identical repo).

  gen_history.py --out REPO --truth FILE [--commits N] [--seed S]

Builds a BARE repository (no work tree, so scanners see history only) with N commits
(default 10,000) on ``main`` through ``git fast-import``. Each commit edits one to three
small source/config files. About one commit in 40 plants a synthetic Cloudflare secret;
most of those are deleted again by a later commit (so they only live in history), a few
stay in HEAD. Decoys (look-alikes that should not be reported) are planted and removed the
same way.

Truth: FILE gets a JSON list of {commit_index, commit, path, line, kind, secret} where
``commit`` is the commit that ADDED the secret and ``line`` its 1-based line in that
commit's version of the file. Decoys go to the ``.decoys.json`` sibling. Both stay
outside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cfsynth as cs  # noqa: E402

TEXT_TYPES = {  # type -> (weight, directory choices, extension)
    "py": (20, ["src", "app", "tests"], ".py"),
    "ts": (14, ["web/src", "src"], ".ts"),
    "go": (12, ["internal", "cmd"], ".go"),
    "yaml": (10, ["config", "deploy"], ".yaml"),
    "tf": (5, ["infra"], ".tf"),
    "env": (3, ["services", "deploy"], ".env"),
    "ini": (1, ["deploy"], ".ini"),
    "sh": (4, ["scripts"], ".sh"),
    "json": (8, ["config", "fixtures"], ".json"),
    "md": (8, ["docs"], ".md"),
}


def split_lines(text: str) -> list[str]:
    return text.splitlines()


class Repo:
    def __init__(self, r: random.Random):
        self.r = r
        self.files: dict[str, list[str]] = {}
        self.types: dict[str, str] = {}
        self.pools = {t: cs.snippet_pool(r, t, 3000) for t in TEXT_TYPES}

    def new_path(self, ftype: str) -> str:
        _, dirs, ext = TEXT_TYPES[ftype]
        while True:
            d = self.r.choice(dirs)
            if ftype == "env":
                p = f"{d}/{cs.word(self.r)}/.env"
            else:
                p = f"{d}/{cs.ident(self.r)}{ext}"
            if p not in self.files:
                return p

    def new_file(self, ftype: str, target: int | None = None) -> str:
        p = self.new_path(ftype)
        target = target or self.r.randint(600, 9000)
        lines: list[str] = []
        size = 0
        while size < target:
            s = self.r.choice(self.pools[ftype])
            lines.extend(split_lines(s))
            size += len(s)
        self.files[p] = lines
        self.types[p] = ftype
        return p

    def edit(self, p: str) -> None:
        r = self.r
        lines = self.files[p]
        op = r.random()
        new = split_lines(r.choice(self.pools[self.types[p]]))
        if op < 0.5 or not lines:
            at = r.randint(0, len(lines))
            lines[at:at] = new
        elif op < 0.8:
            at = r.randrange(len(lines))
            lines[at:at + r.randint(1, 4)] = new
        else:
            at = r.randrange(len(lines))
            del lines[at:at + r.randint(1, 3)]
        # keep files from growing without bound
        if len(lines) > 600:
            at = r.randrange(300)
            del lines[at:at + 100]


def text_of(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20260402)
    a = ap.parse_args()
    out, truth = a.out.resolve(), a.truth.resolve()
    if out == truth or out in truth.parents:
        sys.exit("the truth file must live outside the repository")
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} exists and is not empty; delete it to regenerate")

    r = random.Random(a.seed)
    repo = Repo(r)
    n = a.commits
    types = list(TEXT_TYPES)
    weights = [TEXT_TYPES[t][0] for t in types]

    # plan the plants: (add_commit, remove_commit or None, template, positive?)
    plans: dict[int, list] = {}
    removals: dict[int, list] = {}
    n_pos = max(40, n // 40)
    n_neg = max(40, n // 40)
    for i in range(n_pos + n_neg):
        pos = i < n_pos
        tmpl = (cs.POSITIVES if pos else cs.NEGATIVES)[i % len(cs.POSITIVES if pos else cs.NEGATIVES)]
        c = r.randrange(1, n)
        plans.setdefault(c, []).append((tmpl, pos, r.random() < 0.85))

    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(out)], check=True)
    marks = out.parent / (out.name + ".marks")
    fi = subprocess.Popen(
        ["git", "-C", str(out), "fast-import", "--quiet", f"--export-marks={marks}"],
        stdin=subprocess.PIPE)
    w = fi.stdin
    assert w is not None

    pending_truth = []  # (commit_index, path, line, kind, secret, positive)
    authors = [(f.capitalize(), f"{f}@example.com") for f in cs.FIRST]
    t0 = 1_600_000_000
    total_blob_bytes = 0
    for ci in range(n):
        changed: set[str] = set()
        if ci == 0:
            for _ in range(150):
                changed.add(repo.new_file(r.choices(types, weights)[0]))
            msg = "Initial import"
        else:
            if r.random() < 0.03:
                changed.add(repo.new_file(r.choices(types, weights)[0]))
            for _ in range(r.randint(1, 3)):
                p = r.choice(list(repo.files))
                repo.edit(p)
                changed.add(p)
            msg = f"{r.choice(['Fix', 'Add', 'Update', 'Refactor', 'Tweak'])} {cs.word(r)} {cs.word(r)}"
        for p, secret_line in removals.pop(ci, []):
            lines = repo.files.get(p)
            if lines is not None and secret_line in lines:
                lines.remove(secret_line)
                changed.add(p)
                msg += " (remove leaked credential)"
        for tmpl, pos, will_remove in plans.get(ci, []):
            ftype, block, sec_idx, kind, secret = tmpl(r)
            candidates = [p for p, t in repo.types.items() if t == ftype]
            if not candidates or r.random() < 0.2:
                p = repo.new_file(ftype, r.randint(200, 3000))
            else:
                p = r.choice(candidates)
            lines = repo.files[p]
            at = r.randint(0, len(lines))
            lines[at:at] = block
            changed.add(p)
            pending_truth.append((ci, p, at + sec_idx + 1, kind, secret, pos))
            if will_remove:
                removals.setdefault(r.randint(ci + 1, min(n - 1, ci + 400)) if ci + 1 < n else n, []).append(
                    (p, block[sec_idx]))
        name, mail = r.choice(authors)
        ts = t0 + ci * 3600 + r.randint(0, 3000)
        mb = msg.encode()
        w.write(f"commit refs/heads/main\nmark :{ci + 1}\n".encode())
        w.write(f"author {name} <{mail}> {ts} +0000\ncommitter {name} <{mail}> {ts} +0000\n".encode())
        w.write(f"data {len(mb)}\n".encode() + mb + b"\n")
        for p in sorted(changed):
            data = text_of(repo.files[p])
            total_blob_bytes += len(data)
            w.write(f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n")
    w.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")

    mark_to_sha = {}
    for line in marks.read_text().splitlines():
        m, sha = line.split()
        mark_to_sha[int(m[1:])] = sha
    marks.unlink()
    rows, decoys = [], []
    for ci, p, line, kind, secret, pos in pending_truth:
        row = {"commit_index": ci, "commit": mark_to_sha[ci + 1], "path": p, "line": line, "kind": kind}
        if pos:
            row["secret"] = secret
            rows.append(row)
        else:
            row["value"] = secret
            decoys.append(row)
    truth.write_text(json.dumps(rows, indent=1) + "\n")
    Path(str(truth).replace(".truth.json", ".decoys.json")).write_text(json.dumps(decoys, indent=1) + "\n")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"synthetic-history: {n} commits, {total_blob_bytes / 1e6:.1f} MB of blobs written, "
          f"{size / 1e6:.1f} MB on disk, {len(rows)} secrets, {len(decoys)} decoys -> {out}")


if __name__ == "__main__":
    main()
