#!/usr/bin/env python3
"""Generate the large pre-commit corpus (stdlib + git; fixed seed => identical repo).

  gen_big_index.py --out DIR [--files 100000] [--dirs 2000] [--commits 40000] [--staged 10]

A work tree whose first commit holds FILES files of about 1 KB under DIRS directories,
followed by COMMITS commits that each change two files, all written with
``git fast-import``. Then STAGED files are changed in the work tree and staged with
``git add``: what a pre-commit hook scans in a big repository. The index keeps git's
cache-tree (TREE extension), as it does after any ``git add``. No secrets: the point is
the time it takes to find what is staged.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True


def body(r: random.Random, n: int) -> bytes:
    words = ["config", "value", "handler", "request", "return", "self", "data", "item", "path"]
    lines = []
    size = 0
    while size < n:
        line = f"{r.choice(words)}_{r.randrange(10**6)} = {r.choice(words)}({r.randrange(1000)})\n"
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--dirs", type=int, default=2000)
    ap.add_argument("--commits", type=int, default=40_000)
    ap.add_argument("--staged", type=int, default=10)
    ap.add_argument("--seed", type=int, default=22)
    a = ap.parse_args()
    r = random.Random(a.seed)
    out = a.out
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    paths = [f"pkg{i % a.dirs:04d}/mod{i // a.dirs:03d}.py" for i in range(a.files)]
    fi = subprocess.Popen(["git", "-C", str(out), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    w = fi.stdin
    assert w is not None
    t = 1_600_000_000

    def commit(n: int, files: list[tuple[str, bytes]]) -> None:
        msg = f"change {n}\n".encode()
        w.write(b"commit refs/heads/main\n")
        w.write(f"committer Bench <bench@example.com> {t + n * 60} +0000\n".encode())
        w.write(b"data %d\n%s" % (len(msg), msg))
        for p, data in files:
            w.write(f"M 100644 inline {p}\n".encode())
            w.write(b"data %d\n%s\n" % (len(data), data))

    commit(0, [(p, body(r, 1000)) for p in paths])
    for n in range(1, a.commits):
        commit(n, [(r.choice(paths), body(r, 1000)) for _ in range(2)])
    w.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", str(out), "reset", "-q", "--hard", "main"], check=True)
    for p in r.sample(paths, a.staged):
        with open(out / p, "ab") as f:
            f.write(b"\n# local change\nsetting = 'value'\n")
        subprocess.run(["git", "-C", str(out), "add", p], check=True)


if __name__ == "__main__":
    main()
