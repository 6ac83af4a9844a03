#!/usr/bin/env python3
"""Generate the synthetic benchmark trees (stdlib only, fixed seed => identical output).

  gen_corpus.py tree     --out DIR --truth FILE [--size-mb N] [--seed S]
  gen_corpus.py big-line --out DIR --truth FILE [--size-mb N] [--seed S]
  gen_corpus.py copy-tree --src DIR --out DIR [--size-mb N]

``tree``: a source tree of about N MB (default 300) spread over many projects: Python,
JS/TS, Go, YAML (k8s + GitHub Actions), Terraform, .env, certbot .ini, shell, JSON,
Markdown and minified JS (long lines). Synthetic Cloudflare secrets are planted in
realistic contexts and look-alike decoys next to them.

``big-line``: one file holding a single line of about N MB (default 100) of minified-JS
like text with a few secrets and decoys inside.

``copy-tree``: a plain copy (no hard links, the source is only read) of a real tree such as
``~/.cargo/registry/src``; with --size-mb, whole top-level crate folders are taken in name
order until about N MB. It has no truth file (any Cloudflare finding there is suspect).

The truth (what a scanner should report) goes to FILE as a JSON list of
{path, line, kind, secret}; the decoys go to FILE with ``.truth.json`` replaced by
``.decoys.json`` ({path, line, kind, value}). Paths are relative to DIR. Both files must
live OUTSIDE DIR so that they are not scanned.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cfsynth as cs  # noqa: E402

# file type -> (relative weight by count, (min bytes, max bytes), directory choices, extension)
TYPES = {
    "py": (18, (1_500, 60_000), ["src", "app", "lib", "tests", "tools"], ".py"),
    "ts": (12, (1_500, 50_000), ["src", "web/src", "packages/core/src"], ".ts"),
    "js": (10, (1_000, 40_000), ["src", "web", "scripts", "functions"], ".js"),
    "go": (12, (1_500, 60_000), ["cmd", "internal", "pkg"], ".go"),
    "yaml": (7, (300, 12_000), ["config", "deploy/k8s", "charts/templates", ".github/workflows"], ".yaml"),
    "tf": (4, (500, 15_000), ["infra", "terraform/modules", "terraform/envs"], ".tf"),
    "env": (2, (200, 2_000), [".", "deploy", "services"], ".env"),
    "ini": (1, (100, 1_000), ["deploy", "certbot", "etc"], ".ini"),
    "sh": (3, (300, 6_000), ["scripts", "bin", "ci"], ".sh"),
    "json": (8, (1_000, 200_000), ["config", "fixtures", "data"], ".json"),
    "md": (8, (800, 30_000), ["docs", "docs/guides", "."], ".md"),
    "minjs": (0.7, (80_000, 3_000_000), ["static", "public/assets", "dist"], ".min.js"),
}

POOL_SIZE = 6000


def log_uniform(r: random.Random, lo: int, hi: int) -> int:
    import math
    return int(math.exp(r.uniform(math.log(lo), math.log(hi))))


def plan_files(r: random.Random, budget: int) -> list[dict]:
    n_projects = max(6, budget // 8_000_000)
    projects = [f"{cs.word(r)}-{cs.word(r)}-{i:03d}" for i in range(n_projects)]
    files: list[dict] = []
    used: set[str] = set()

    def add(project: str, ftype: str, name: str | None = None, size: int | None = None):
        w, (lo, hi), dirs, ext = TYPES[ftype]
        if size is None:
            size = log_uniform(r, lo, hi)
        if name is None:
            d = r.choice(dirs)
            if ftype == "env":
                base = r.choice([".env", ".env.production", ".env.staging", ".env.local"])
                name = base if d == "." else f"{d}/{cs.word(r)}/{base}"
            elif ftype == "minjs":
                name = f"{d}/{cs.word(r)}.{cs.hexs(r, 8)}.min.js"
            elif ftype == "yaml" and d == ".github/workflows":
                name = f"{d}/{cs.word(r)}-{cs.word(r)}.yml"
            elif ftype == "ini":
                name = f"{d}/{r.choice(['cloudflare', 'dns', 'credentials', cs.word(r)])}{ext}"
            else:
                name = f"{cs.ident(r)}{ext}" if d == "." else f"{d}/{cs.ident(r)}{ext}"
        path = f"{project}/{name}"
        k = 1
        while path in used:
            stem, dot, ext2 = path.rpartition(".")
            path = f"{stem}_{k}.{ext2}" if dot and "/" not in ext2 else f"{path}_{k}"
            k += 1
        used.add(path)
        files.append({"path": path, "type": ftype, "size": size})
        return size

    total = 0
    # every project gets the files that carry most leaks in real life
    for p in projects:
        total += add(p, "env", ".env")
        total += add(p, "ini", "deploy/cloudflare.ini")
        total += add(p, "tf", "infra/main.tf")
        total += add(p, "yaml", ".github/workflows/deploy.yml")
        total += add(p, "md", "README.md")
    types = list(TYPES)
    weights = [TYPES[t][0] for t in types]
    while total < budget:
        t = r.choices(types, weights)[0]
        total += add(r.choice(projects), t)
    return files


def build_text_file(r, pools, f, plants):
    """Return (text, [(plant_index, line_no)]) for a line-oriented file."""
    pool = pools[f["type"]]
    chunks: list[str] = []
    size = 0
    target = f["size"]
    while size < target:
        batch = r.choices(pool, k=32)
        chunks.extend(batch)
        size += sum(len(c) for c in batch)
    # plant blocks at distinct chunk boundaries
    if len(plants) <= len(chunks) + 1:
        positions = sorted(r.sample(range(len(chunks) + 1), len(plants)))
    else:
        positions = sorted(r.choices(range(len(chunks) + 1), k=len(plants)))
    out: list[str] = []
    located = []
    line = 1
    pi = 0
    for idx in range(len(chunks) + 1):
        while pi < len(plants) and positions[pi] == idx:
            lines, sec_idx = plants[pi]["lines"], plants[pi]["sec_idx"]
            located.append((pi, line + sec_idx))
            block = "\n".join(lines) + "\n"
            out.append(block)
            line += block.count("\n")
            pi += 1
        if idx < len(chunks):
            out.append(chunks[idx])
            line += chunks[idx].count("\n")
    return "".join(out), located


def build_minjs_file(r, pool, f, plants):
    """Minified JS: a few very long lines; at most one plant per line."""
    target = f["size"]
    n_lines = max(len(plants) + 1, max(1, target // 250_000))
    per_line = target // n_lines
    plant_lines = r.sample(range(n_lines), len(plants))
    by_line = {ln: i for i, ln in enumerate(plant_lines)}
    out = []
    located = []
    for ln in range(n_lines):
        frags = []
        size = 0
        while size < per_line:
            batch = r.choices(pool, k=64)
            frags.extend(batch)
            size += sum(len(x) + 1 for x in batch)
        if ln in by_line:
            pi = by_line[ln]
            frags.insert(r.randrange(len(frags) + 1), plants[pi]["frag"])
            located.append((pi, ln + 1))
        out.append(";".join(frags) + ";\n")
    return "".join(out), located


def gen_tree(out: Path, truth: Path, size_mb: float, seed: int) -> None:
    r = random.Random(seed)
    budget = int(size_mb * 1_000_000)
    files = plan_files(r, budget)
    pools = {t: cs.snippet_pool(r, t, POOL_SIZE) for t in cs.SNIPPETS}
    mpool = cs.minjs_pool(r, POOL_SIZE)

    by_type: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        by_type.setdefault(f["type"], []).append(i)
        f["plants"] = []

    n_pos = max(60, int(size_mb))
    n_neg = max(60, int(size_mb))
    n_min_pos = max(4, n_pos // 25)
    n_min_neg = max(4, n_neg // 25)
    for i in range(n_pos):
        ftype, lines, sec_idx, kind, secret = cs.POSITIVES[i % len(cs.POSITIVES)](r)
        fi = r.choice(by_type[ftype])
        files[fi]["plants"].append({"lines": lines, "sec_idx": sec_idx, "kind": kind, "secret": secret, "pos": True})
    for i in range(n_neg):
        ftype, lines, sec_idx, kind, value = cs.NEGATIVES[i % len(cs.NEGATIVES)](r)
        fi = r.choice(by_type[ftype])
        files[fi]["plants"].append({"lines": lines, "sec_idx": sec_idx, "kind": kind, "secret": value, "pos": False})
    mins = by_type.get("minjs", [])
    if mins:
        for i in range(n_min_pos + n_min_neg):
            frag, kind, secret = (cs.pos_minjs if i < n_min_pos else cs.neg_minjs)(r)
            fi = r.choice(mins)
            files[fi]["plants"].append({"frag": frag, "kind": kind, "secret": secret, "pos": i < n_min_pos})

    out.mkdir(parents=True, exist_ok=True)
    truth_rows, decoy_rows = [], []
    total = 0
    for f in files:
        if f["type"] == "minjs":
            text, located = build_minjs_file(r, mpool, f, f["plants"])
        else:
            text, located = build_text_file(r, pools, f, f["plants"])
        p = out / f["path"]
        p.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        p.write_bytes(data)
        total += len(data)
        for pi, line in located:
            pl = f["plants"][pi]
            if pl["pos"]:
                truth_rows.append({"path": f["path"], "line": line, "kind": pl["kind"], "secret": pl["secret"]})
            else:
                decoy_rows.append({"path": f["path"], "line": line, "kind": pl["kind"], "value": pl["secret"]})
    write_truth(truth, truth_rows, decoy_rows)
    print(f"synthetic-tree: {len(files)} files, {total / 1e6:.1f} MB, {len(truth_rows)} secrets, "
          f"{len(decoy_rows)} decoys -> {out}")


def gen_big_line(out: Path, truth: Path, size_mb: float, seed: int) -> None:
    r = random.Random(seed)
    pool = cs.minjs_pool(r, 20_000)
    target = int(size_mb * 1_000_000)
    rel = "dist/bundle.min.js"
    p = out / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    n_pos, n_neg = 6, 6
    plants = [(cs.pos_minjs(r), True) for _ in range(n_pos)] + [(cs.neg_minjs(r), False) for _ in range(n_neg)]
    r.shuffle(plants)
    # plant offsets spread over the line (first and last near the edges of the buffer)
    cut = sorted(r.sample(range(1, 1000), len(plants)))
    truth_rows, decoy_rows = [], []
    with open(p, "w") as fh:
        fh.write("/*! bundle */!function(){")
        for k in range(1000):
            parts = []
            size = 0
            seg = target // 1000
            while size < seg:
                batch = r.choices(pool, k=16)
                parts.extend(batch)
                size += sum(len(x) + 1 for x in batch)
            fh.write(";".join(parts))
            if cut and k == cut[0]:
                cut.pop(0)
                (frag, kind, secret), pos = plants.pop(0)
                fh.write(";" + frag)
                (truth_rows if pos else decoy_rows).append(
                    {"path": rel, "line": 1, "kind": kind, ("secret" if pos else "value"): secret})
            fh.write(";")
        fh.write("}();\n")
    write_truth(truth, truth_rows, decoy_rows)
    print(f"big-line: {p.stat().st_size / 1e6:.1f} MB on one line, {len(truth_rows)} secrets, "
          f"{len(decoy_rows)} decoys -> {out}")


def copy_tree(src: Path, out: Path, size_mb: float | None) -> None:
    import shutil
    cap = int(size_mb * 1_000_000) if size_mb else None
    total = files = 0
    # registry layout: src/<index-dir>/<crate-version>/...; treat each crate folder as a unit
    units = []
    for index_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        units += sorted(p for p in index_dir.iterdir())
    for u in units:
        size = 0
        n = 0
        for root, _dirs, names in os.walk(u):
            for nm in names:
                fp = os.path.join(root, nm)
                if os.path.isfile(fp) and not os.path.islink(fp):
                    size += os.path.getsize(fp)
                    n += 1
        if cap is not None and total + size > cap and total > 0:
            continue
        dest = out / u.relative_to(src)
        if u.is_dir():
            shutil.copytree(u, dest, symlinks=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(u, dest)
        total += size
        files += n
        if cap is not None and total >= cap:
            break
    print(f"copy-tree: {files} files, {total / 1e6:.1f} MB from {src} -> {out}")


def write_truth(truth: Path, rows, decoys) -> None:
    rows.sort(key=lambda x: (x["path"], x["line"]))
    decoys.sort(key=lambda x: (x["path"], x["line"]))
    truth.write_text(json.dumps(rows, indent=1) + "\n")
    dpath = Path(str(truth).replace(".truth.json", ".decoys.json"))
    if dpath == truth:
        dpath = truth.with_suffix(".decoys.json")
    dpath.write_text(json.dumps(decoys, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["tree", "big-line", "copy-tree"])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--truth", type=Path)
    ap.add_argument("--src", type=Path, help="copy-tree: the tree to copy (only read)")
    ap.add_argument("--size-mb", type=float, default=None)
    ap.add_argument("--seed", type=int, default=20260401)
    a = ap.parse_args()
    out = a.out.resolve()
    if a.mode == "copy-tree":
        if not a.src:
            sys.exit("copy-tree needs --src")
        if out.exists() and any(out.iterdir()):
            sys.exit(f"{out} exists and is not empty; delete it to regenerate")
        copy_tree(a.src.resolve(), out, a.size_mb)
        return
    if not a.truth:
        sys.exit(f"{a.mode} needs --truth")
    truth = a.truth.resolve()
    if out == truth or out in truth.parents:
        sys.exit("the truth file must live outside the corpus directory")
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} exists and is not empty; delete it to regenerate")
    if a.mode == "tree":
        gen_tree(out, truth, a.size_mb or 300, a.seed)
    else:
        gen_big_line(out, truth, a.size_mb or 100, a.seed)


if __name__ == "__main__":
    main()
