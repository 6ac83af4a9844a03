#!/usr/bin/env python3
"""Writes the small seed corpora under corpus/<target>/ that CI's smoke runs
start from. Synthetic values only (valid checksums, never real credentials).
Run from fuzz/: python3 make_seeds.py. Existing seeds are overwritten, new
inputs found by longer runs are kept."""
import bz2, gzip, io, json, lzma, os, struct, tarfile, zipfile, zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(ROOT)
BODY = "Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo"


def token(prefix="cfut_", body=BODY):
    return f"{prefix}{body}{zlib.crc32(body.encode()):08x}"


def put(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(rel):
    with open(os.path.join(REPO, "fixtures", rel), "rb") as f:
        return f.read()


def matcher_input(path, blob):
    p = path.encode()
    return bytes([len(p)]) + p + blob


T = token()
A = token("cfat_")
K = token("cfk_")

# matcher: a path-length byte, the path, the blob.
for rel, path in [
    ("tree/.env", ".env"),
    ("tree/certbot/cloudflare.ini", "certbot/cloudflare.ini"),
    ("tree/windows/notes-utf16.txt", "notes.txt"),
    ("tree/infra/main.tf", "infra/main.tf"),
    ("hiding/k8s/double-encoded.yaml", "k8s/secret.yaml"),
    ("hiding/worker/wrangler.toml", "wrangler.toml"),
]:
    put("matcher", os.path.basename(rel) or "env", matcher_input(path, fixture(rel)))
put("matcher", "tokens", matcher_input("x.env", f"CF_API_TOKEN={T}\nCF_ACCOUNT_TOKEN={A}\nCLOUDFLARE_API_KEY={K}\n".encode()))

# rules: a small rule file of the built-in shape.
put("rules", "one-rule.toml", '''[[rule]]
id = "kf.test.fuzz"
name = "fuzz seed"
pattern = '''"'''(?:TOKEN)=(?P<secret>[a-z]{12})'''"'''
confidence = "low"
keywords = ["TOKEN"]
examples = ["TOKEN=abcdefghijkl"]
negative_examples = ["TOKEN=abc"]
''')

# decode: base64, percent-encoding, a UTF-16 text, a token.
put("decode", "base64", "Q0ZfQVBJX1RPS0VOPWNmdXRfUTdtSzJwWDl2TDRuUjh0VzF5QjZjRDNmSDVqRzBzWmFFZVV1SWlPbw==")
put("decode", "token", T)
put("decode", "utf16", b"\xff\xfe" + "token=abc".encode("utf-16-le"))

# verify_answer: a reading byte (1: Global API Key), the HTTP status (2 bytes), the body.
def answer(global_key, http, body):
    return bytes([1 if global_key else 0]) + struct.pack(">H", http) + json.dumps(body).encode()
put("verify_answer", "token-active", answer(False, 200, {"success": True, "errors": [], "messages": [],
    "result": {"id": "x", "status": "active", "not_before": "2018-07-01T05:20:00Z", "expires_on": "2030-01-01T00:00:00Z"}}))
put("verify_answer", "token-invalid", answer(False, 401, {"success": False, "errors": [{"code": 1000, "message": "Invalid API Token"}], "messages": [], "result": None}))
put("verify_answer", "token-bad-header", answer(False, 400, {"success": False, "errors": [{"code": 6003, "message": "Invalid request headers", "error_chain": [{"code": 6111, "message": "Invalid format for Authorization header"}]}]}))
put("verify_answer", "key-active", answer(True, 200, {"success": True, "errors": [], "messages": [], "result": {"id": "u", "email": "a@example.com"}}))
put("verify_answer", "key-unknown", answer(True, 403, {"success": False, "errors": [{"code": 9103, "message": "Unknown X-Auth-Key or X-Auth-Email"}]}))
put("verify_answer", "listing", answer(False, 200, {"success": True, "errors": [], "result": [{"id": "a", "name": "Example account"}], "result_info": {"total_count": 1}}))
put("verify_answer", "html", bytes([0, 0, 200]) + b"<html><body>Attention Required</body></html>")

# config: a keyflare.toml with every key.
put("config", "keyflare.toml", '''exclude = ["vendor/**", "*.min.js"]
disable_rules = ["kf.cloudflare.origin-ca-key"]
allow_values = ["example-value"]
allow_patterns = ["^test_"]
verify = false
fail_on = "any"

[[rule]]
id = "kf.local.fuzz"
name = "local rule"
pattern = '''"'''LOCAL=(?P<secret>[a-z]{12})'''"'''
confidence = "low"
keywords = ["LOCAL"]
examples = ["LOCAL=abcdefghijkl"]
negative_examples = ["LOCAL=abc"]
''')
put("config", "empty.toml", "")

# baseline: version 1 with entries of both shapes.
put("baseline", "baseline.json", json.dumps({"version": 1, "entries": [
    {"rule_id": "kf.cloudflare.user-api-token", "fingerprint": "0123456789abcdef", "path": ".env"},
    {"rule_id": "kf.cloudflare.global-api-key", "fingerprint": "fedcba9876543210"}]}, indent=2))
put("baseline", "version2.json", '{"version": 2, "entries": []}')

# allow_marker: what follows the token on its line.
for i, s in enumerate(["keyflare:allow", "keyflare:allow kf.cloudflare.user-api-token",
                       "keyflare:allow kf.cloudflare.origin-ca-key", "// gitleaks:allow",
                       "pragma: allowlist secret", "nothing to see\nkeyflare:allow"]):
    put("allow_marker", f"marker-{i}", s)

# archive: hostile member names, links, nesting.
def tar_bytes(members, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data, kind in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tf.addfile(ti)
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(zi, data)
    return buf.getvalue()

env = f"CF_API_TOKEN={T}\n".encode()
put("archive", "names.tar", tar_bytes([("../../etc/passwd", env, "file"), ("/abs/.env", env, "file"),
    ("link", "../../outside", "sym"), ("hard", "/etc/shadow", "hard"), ("ok/.env", env, "file")]))
put("archive", "names.zip", zip_bytes([("../escape/.env", env), ("/abs/.env", env), ("a\x1b[31m.env", env)]))
put("archive", "nested.zip", zip_bytes([("inner.zip", zip_bytes([("inner2.zip", zip_bytes([(".env", env)]))]))]))
put("archive", "zeros.tar.gz", gzip.compress(tar_bytes([("zeros", b"\0" * 200_000, "file")]), mtime=0))
put("archive", "single.gz", gzip.compress(env, mtime=0))
# The other compressions: the hostile names in a tar.xz and a tar.bz2, a single
# .bz2, and a zstd file (the standard library has no zstd encoder: the one
# fixtures/generate_hiding.py made with the zstd command).
names = tar_bytes([("../../etc/passwd", env, "file"), ("/abs/.env", env, "file"), ("ok/.env", env, "file")])
put("archive", "names.tar.xz", lzma.compress(names, format=lzma.FORMAT_XZ, preset=6))
put("archive", "names.tar.bz2", bz2.compress(names, 9))
put("archive", "single.bz2", bz2.compress(env, 9))
put("archive", "purge.log.zst", fixture("hiding/logs/purge.log.zst"))
# Zip members stored with bzip2 and LZMA (Python writes both), undone by
# keyflare's own decoders rather than the zip crate's.
put("archive", "names-bzip2.zip", zip_bytes([("../escape/.env", env), ("ok/.env", env)], zipfile.ZIP_BZIP2))
put("archive", "names-lzma.zip", zip_bytes([("../escape/.env", env), ("ok/.env", env)], zipfile.ZIP_LZMA))

# git_paths: (depth, name length, name, content) repeated.
def entries(*es):
    out = b""
    for depth, name, content in es:
        out += bytes([depth, len(name)]) + name + bytes([content])
    return out
put("git_paths", "plain", entries((0, b".env", 1), (2, b"src", 0)))
put("git_paths", "hostile", entries((1, b"..", 1), (0, b"a/b", 1), (3, b"\x1b[2J", 1), (0, b".git", 1)))
put("git_paths", "deep", entries((63, b"d" * 200, 1)))

# escape: repository text as a hostile repository writes it (authors, paths, messages).
put("escape", "author", b"Eve\x1b]0;pwned\x07\x1b[2J <eve@evil.example>")
put("escape", "md-path", "x` ![img](evil.example?p.png) [click here](evil.example) `y.env")
put("escape", "links", "see https://evil.example and www.evil.example, @someone, <script>alert(1)</script> ``` a `b` c")
put("escape", "bidi", "\u202eevil\u200b.txt | *bold* _em_ ~~s~~ &amp; \\")

# respond_report: keyflare JSON reports as respond reads them (with the secret, redacted,
# forged), and a respond record.
import hashlib


def fingerprint(rule, secret):
    return hashlib.sha256(b"keyflare/v1\0" + rule.encode() + b"\0" + secret.encode()).hexdigest()[:32]


def finding(rule, secret, **extra):
    f = {"rule_id": rule, "class": "credential", "path": ".env", "line": 1,
         "secret": secret, "fingerprint": fingerprint(rule, token(secret[:5]) if "***" in secret else secret)}
    f.update(extra)
    return f


UT = "kf.cloudflare.user-api-token"
AT = "kf.cloudflare.account-api-token"
report = lambda fs: json.dumps({"version": "0.1.0", "tool": "keyflare", "findings": fs}, indent=2)
put("respond_report", "unredacted.json", report([
    finding(UT, token("cfut_")),
    finding(AT, token("cfat_"), account_ids=["0123456789abcdef0123456789abcdef"]),
    finding("kf.cloudflare.global-api-key", token("cfk_"), email="dev@example.com")]))
put("respond_report", "redacted.json", report([finding(UT, "cfut_***" + token()[-4:])]))
put("respond_report", "forged.json", report([
    finding(UT, token("cfut_")), dict(finding(UT, token("cfut_")), rule_id="kf.cloudflare.evil"),
    finding(UT, "cfut_\u001b[2J", path="a\u001b]0;x\u0007.env")]))
put("respond_report", "record.json", json.dumps({"tool": "keyflare", "kind": "respond-record", "entries": [
    {"time": "2026-12-06T07:00:00Z", "fingerprint": fingerprint(UT, token("cfut_")), "rule_id": UT,
     "action": "roll", "authority": "the leaked token itself",
     "call": "PUT /user/tokens/0123456789abcdef0123456789abcdef/value", "result": "rolled",
     "detail": "new value in new-token (mode 0600)"}]}, indent=2))

# merge_shard: audit shards as `keyflare audit --format json` writes them (the
# fields merge reads), a kept secret, hostile names, another version, a cut one.
import hashlib
def fingerprint(rule, secret):
    return hashlib.sha256(b"keyflare/v1\0" + rule.encode() + b"\0" + secret.encode()).digest()[:16].hex()
RULE = "kf.cloudflare.user-api-token"
commit = {"commit": "a" * 40, "author": "Test Author <author@example.com>",
          "date": "2024-05-01T10:00:00+00:00", "time": 1714557600}
cred = {"fingerprint": fingerprint(RULE, T), "rule_id": RULE, "shown": "cfut_***" + T[-4:],
        "places": [{"path": ".env", "line": 1, "introduced": commit, "in_worktree": True}],
        "first": commit, "removed": None, "in_head": True, "in_worktree": True}
def shard(name, creds, secrets=False, version="0.1.0"):
    return {"version": version, "tool": "keyflare", "findings": [], "summary": {}, "warnings": [],
            "notices": [], "repository": {"name": name, "url": None, "head": "b" * 40},
            "rules_digest": "sha256:00", "audit": {"format": 1, "secrets_included": secrets,
            "commits_scanned": 1, "files_scanned": 2, "history": True, "verified": False,
            "warnings": [], "credentials": creds}}
put("merge_shard", "one.json", json.dumps(shard("acme/api", [cred]), indent=2))
put("merge_shard", "kept.json", json.dumps(shard("acme/api", [dict(cred, secret=T)], True)))
evil = dict(cred, places=[{"path": "<script>alert(1)</script>.env", "line": 1,
            "introduced": dict(commit, author="<img src=x onerror=alert(1)>"), "in_worktree": False}])
put("merge_shard", "hostile.json", json.dumps(shard("<a href=https://evil.example>x</a>\u202e", [evil])))
put("merge_shard", "version.json", json.dumps(shard("acme/web", [], version="9.9.9")))
put("merge_shard", "cut.json", json.dumps(shard("acme/api", [cred]))[:300])
