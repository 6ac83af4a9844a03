#!/usr/bin/env python3
"""Writes N audit shards of K findings each, for timing `keyflare merge`.

Each shard is what `keyflare audit REPO --format json` writes for one
repository: the template (version, rules digest, the shape of a finding and
of a credential record) comes from a real audit of a one-file repository made
here, so the shards pass merge's checks. Secrets are synthetic (cfut_ + 40
random characters + their CRC-32); a share of them (--shared) is drawn from a
pool common to all shards, so that merge has secrets to group across
repositories. Shards hold the secrets only redacted (no --keep-secrets).

Usage:
  python3 bench/gen_shards.py --keyflare target/release/keyflare --out /tmp/shards \
      [--shards 1000] [--findings 50] [--shared 0.1] [--seed 21]
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cfsynth  # noqa: E402

RULE = "kf.cloudflare.user-api-token"


def fingerprint(rule: str, secret: str) -> str:
    h = hashlib.sha256(b"keyflare/v1\0" + rule.encode() + b"\0" + secret.encode())
    return h.digest()[:16].hex()


def template(keyflare: str) -> dict:
    """A real shard of a repository holding one token in .env."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        os.makedirs(repo)
        token = cfsynth.new_token(random.Random(1), "cfut_")
        with open(os.path.join(repo, ".env"), "w") as f:
            f.write(f"CLOUDFLARE_API_TOKEN={token}\n")
        env = dict(os.environ, GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
                   GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com",
                   GIT_AUTHOR_DATE="2024-01-01T00:00:00+00:00",
                   GIT_COMMITTER_DATE="2024-01-01T00:00:00+00:00")
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
            subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env,
                           check=True)
        out = os.path.join(tmp, "shard.json")
        subprocess.run([keyflare, "audit", repo, "--format", "json", "--repository-name",
                        "bench/template", "-q", "-o", out], check=False)
        with open(out) as f:
            return json.load(f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keyflare", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shards", type=int, default=1000)
    ap.add_argument("--findings", type=int, default=50)
    ap.add_argument("--shared", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=21)
    a = ap.parse_args()
    t = template(a.keyflare)
    finding_t = t["findings"][0]
    cred_t = t["audit"]["credentials"][0]
    r = random.Random(a.seed)
    pool = [cfsynth.new_token(r, "cfut_") for _ in range(200)]
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.shards):
        findings, creds = [], {}
        for j in range(a.findings):
            secret = r.choice(pool) if r.random() < a.shared else cfsynth.new_token(r, "cfut_")
            fp = fingerprint(RULE, secret)
            commit = cfsynth.hexs(r, 40)
            time = 1_600_000_000 + r.randrange(100_000_000)
            date = datetime.datetime.fromtimestamp(time, datetime.timezone.utc).isoformat()
            path = f"services/{cfsynth.word(r)}/{j}/config.env"
            f = copy.deepcopy(finding_t)
            f.update(path=path, line=j + 1, secret="cfut_***" + secret[-4:], fingerprint=fp,
                     commit=commit, date=date)
            findings.append(f)
            introduced = {"commit": commit, "author": "Bench <bench@example.com>",
                          "date": date, "time": time}
            place = {"path": path, "line": j + 1, "introduced": introduced, "in_worktree": True}
            if fp in creds:
                creds[fp]["places"].append(place)
                continue
            c = copy.deepcopy(cred_t)
            c.update(fingerprint=fp, shown="cfut_***" + secret[-4:], places=[place],
                     first=introduced, removed=None, in_head=True, in_worktree=True)
            creds[fp] = c
        shard = copy.deepcopy(t)
        shard["findings"] = findings
        shard["summary"]["findings"] = len(findings)
        shard["summary"]["credentials"] = len(creds)
        shard["repository"] = {"name": f"bench/repo-{i:05d}", "url": None,
                               "head": cfsynth.hexs(r, 40)}
        shard["audit"]["credentials"] = list(creds.values())
        with open(os.path.join(a.out, f"repo-{i:05d}.json"), "w") as f:
            json.dump(shard, f, indent=2)
    print(f"wrote {a.shards} shards of {a.findings} findings to {a.out}")


if __name__ == "__main__":
    main()
