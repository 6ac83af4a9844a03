#!/usr/bin/env python3
"""Run keyflare over the peer scanners' Cloudflare test cases (cases.json).

Each case is written to its own file (case_000.txt, ...) in a temporary
directory, `keyflare scan <dir> --format json --no-redact` is run once, and the
findings are matched back to the cases by path. A "found" case counts as found
when some finding in its file has the case's `secret` (or any finding, when the
case gives none); it is also reported when the rule that found it is not the
rule of the case's `kind`. A "not_found" case with any finding is a false
positive.

Usage: python3 tests/data/peers/run.py [path/to/keyflare]
Exit code: 0 if every case behaves as expected, 1 otherwise.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "keyflare")

KIND_RULES = {
    "global-key-legacy": {"kf.cloudflare.global-api-key.legacy"},
    "api-token-legacy": {"kf.cloudflare.api-token.legacy"},
    "origin-ca": {"kf.cloudflare.origin-ca-key"},
    "cfut": {"kf.cloudflare.user-api-token"},
    "cfat": {"kf.cloudflare.account-api-token"},
    "cfk": {"kf.cloudflare.global-api-key"},
    "other": None,
}


def short(text, n=150):
    t = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return t if len(t) <= n else t[: n - 3] + "..."


def main():
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    with tempfile.TemporaryDirectory(prefix="kf-peers-") as tmp:
        names = []
        for i, c in enumerate(cases):
            name = f"case_{i:03d}.txt"
            names.append(name)
            with open(os.path.join(tmp, name), "w", newline="") as f:
                f.write(c["text"])
        proc = subprocess.run(
            [BIN, "scan", tmp, "--format", "json", "--no-redact", "--fail-on", "none", "--quiet"],
            capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"keyflare failed ({proc.returncode}): {proc.stderr}")
        report = json.loads(proc.stdout)

    by_file = collections.defaultdict(list)
    for fd in report["findings"]:
        by_file[os.path.basename(fd["path"])].append(fd)

    per_source = collections.OrderedDict()
    misses, fps, wrong_kind = [], [], []
    for i, c in enumerate(cases):
        fs = by_file.get(names[i], [])
        st = per_source.setdefault(c["source"], {"pos": 0, "pos_ok": 0, "neg": 0, "neg_ok": 0})
        if c["expect"] == "found":
            st["pos"] += 1
            hits = [fd for fd in fs if c.get("secret") is None or fd.get("secret") == c["secret"]]
            if hits:
                st["pos_ok"] += 1
                rules = KIND_RULES.get(c["kind"])
                if rules is not None and not any(fd["rule_id"] in rules for fd in hits):
                    wrong_kind.append((i, c, sorted({fd["rule_id"] for fd in hits})))
            else:
                misses.append((i, c, sorted({fd["rule_id"] for fd in fs})))
        else:
            st["neg"] += 1
            if fs:
                fps.append((i, c, sorted({fd["rule_id"] for fd in fs})))
            else:
                st["neg_ok"] += 1

    print(f"keyflare: {BIN}")
    print(f"{len(cases)} cases\n")
    w = max(len(s) for s in per_source)
    print(f"{'source':<{w}}  found/expected  not-found/expected")
    tot = [0, 0, 0, 0]
    for s, st in per_source.items():
        pos = f"{st['pos_ok']}/{st['pos']}" if st["pos"] else "-"
        neg = f"{st['neg_ok']}/{st['neg']}" if st["neg"] else "-"
        print(f"{s:<{w}}  {pos:>14}  {neg:>18}")
        for j, k in enumerate(("pos_ok", "pos", "neg_ok", "neg")):
            tot[j] += st[k]
    print(f"{'TOTAL':<{w}}  {tot[0]:>7}/{tot[1]:<6}  {tot[2]:>11}/{tot[3]:<6}\n")

    print(f"MISSES ({len(misses)}): expected found, not found")
    for i, c, other in misses:
        extra = f" [other findings: {', '.join(other)}]" if other else ""
        print(f"  case_{i:03d} [{c['source']}] ({c['kind']}; {c['note']}){extra}\n      {short(c['text'])}")
    print(f"\nFALSE POSITIVES ({len(fps)}): expected not_found, found")
    for i, c, rules in fps:
        print(f"  case_{i:03d} [{c['source']}] ({c['kind']}; {c['note']}) by {', '.join(rules)}\n"
              f"      {short(c['text'])}")
    print(f"\nWRONG RULE ({len(wrong_kind)}): found, but not by the rule of the case's kind")
    for i, c, rules in wrong_kind:
        print(f"  case_{i:03d} [{c['source']}] ({c['kind']}) by {', '.join(rules)}\n      {short(c['text'])}")
    return 0 if not (misses or fps) else 1


if __name__ == "__main__":
    sys.exit(main())
