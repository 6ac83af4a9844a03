#!/usr/bin/env python3
"""Build cases.json: the Cloudflare test cases of other secret scanners.

Sources (read from public copies of each repository):
  gitleaks     cmd/generate/config/rules/cloudflare.go, cmd/generate/config/utils/generate.go
  betterleaks  cmd/generate/config/rules/cloudflare.go, cloudflare_test.go, utils/generate.go
  trufflehog   pkg/detectors/cloudflare{apitoken,globalapikey,cakey}/{,v1/,v2/}*_test.go
  kingfisher   crates/kingfisher-rules/data/rules/cloudflare.yml (and the older data/rules/cloudflare.yml)
  osv-scalibr  veles/secrets/cloudflareapitoken/detector_test.go
  noseyparker  has no Cloudflare rule (crates/noseyparker/data/default/builtin/rules/): no cases.

Every value that could be a real credential is replaced by a freshly generated
synthetic value of the same shape; peers' obviously fake values (abcdef1234...,
A1B2C3..., strings.Repeat) are kept. New-format positives carry a correct CRC32.
The generator is seeded so the file is reproducible: `python3 make_cases.py`.
"""
import json
import os
import random
import string
import zlib

R = random.Random(20260501)
HEX = "0123456789abcdef"
ALNUM = string.ascii_letters + string.digits
LOWER_EXT = string.ascii_lowercase + string.digits + "_-"   # gitleaks AlphaNumericExtendedShort
MIXED_EXT = ALNUM + "_-"

# keyflare's own credibility filters (src/matcher/credible.rs looks_like_placeholder,
# min_entropy in rules/cloudflare.toml): generated values must pass them, or a
# miss would say nothing about the text form.
WORDS = ["example", "your", "xxxx", "placeholder", "redacted", "changeme", "change_me",
         "dummy", "sample", "replace", "insert", "here", "token", "secret", "apikey",
         "api_key", "api-key", "...", "<", ">", "****"]


def placeholder(s):
    low = s.lower()
    if any(w in low for w in WORDS):
        return True
    same = asc = 1
    for a, b in zip(low, low[1:]):
        same = same + 1 if a == b else 1
        asc = asc + 1 if (ord(b) == ord(a) + 1 and b.isalnum()) else 1
        if same >= 6 or asc >= 6:
            return True
    return False


def entropy(s):
    import math
    n = len(s)
    return -sum(s.count(c) / n * math.log2(s.count(c) / n) for c in set(s))


def rand(alphabet, n, min_ent=3.6, must=None):
    while True:
        v = "".join(R.choice(alphabet) for _ in range(n))
        if placeholder(v) or entropy(v) < min_ent:
            continue
        if must and not must(v):
            continue
        return v


def hex37():
    return rand(HEX, 37, 3.3)


def tok40():          # gitleaks' cloudflare-api-key TP shape: [a-z0-9_-]{40}
    return rand(LOWER_EXT, 40)


def tok40_mixed(must=None):   # real legacy token shape: [A-Za-z0-9_-]{40}
    return rand(MIXED_EXT, 40, must=must)


def crc(body):
    return format(zlib.crc32(body.encode()) & 0xFFFFFFFF, "08x")


def newfmt(prefix):
    body = rand(ALNUM, 40)
    return prefix + body + crc(body)


def badsum(prefix):
    body = rand(ALNUM, 40)
    while True:
        s = "".join(R.choice(HEX) for _ in range(8))
        if s != crc(body):
            return prefix + body + s


def origin_ca():
    return "v1.0-" + rand(HEX, 24, 3.0) + "-" + rand(HEX, 146, 3.0)


# gitleaks cmd/generate/config/utils/generate.go GenerateSampleSecrets
# ({i} = identifier, {s} = secret); Go string escapes already resolved.
GITLEAKS_FORMS = [
    ("ini - quoted1", '{i}Token="{s}"'),
    ("ini - quoted2", '{i}Token = "{s}"'),
    ("ini - unquoted1", "{i}Token={s}"),
    ("ini - unquoted2", "{i}Token = {s}"),
    ("json - string", '{\n    "{i}_token": "{s}"\n}'),
    ("json - escaped string", '\\{\n    \\"{i}_token\\": \\"{s}\\"\n\\}'),
    ("xml - element", "<{i}Token>{s}</{i}Token>"),
    ("xml - element multiline", "<{i}Token>\n    {s}\n</{i}Token>"),
    ("yaml - singleline - unquoted", "{i}_token: {s}"),
    ("yaml - singleline - single quote", "{i}_token: '{s}'"),
    ("yaml - singleline - double quote", '{i}_token: "{s}"'),
    ("yaml - multiline - literal", "{i}_token: |\n  {s}"),
    ("yaml - multiline - folding", "{i}_token: >\n  {s}"),
    ("C#", 'string {i}Token = "{s}";'),
    ("go - normal", 'var {i}Token string = "{s}"'),
    ("go - short", '{i}Token := "{s}"'),
    ("go - backticks", "{i}Token := `{s}`"),
    ("java", 'String {i}Token = "{s}";'),
    ("kotlin - notype", 'var {i}Token = "{s}"'),
    ("php - string concat", '${i}Token .= "{s}"'),
    ("python - single quote", "{i}Token = '{s}'"),
    ("python - double quote", '{i}Token = "{s}"'),
    ("csv - unquoted", "{i}Token,{s},"),
    ("logstash", '  "{i}Token" => "{s}"'),
    ("make - recursive assignment", '{i}_TOKEN = "{s}"'),
    ("make - simple assignment", '{i}_TOKEN := "{s}"'),
    ("make - shell assignment", '{i}_TOKEN ::= "{s}"'),
    ("make - evaluated shell assignment", '{i}_TOKEN :::= "{s}"'),
    ("make - conditional assignment", '{i}_TOKEN ?= "{s}"'),
    ("make - append", '{i}_TOKEN += "{s}"'),
]
# betterleaks' GenerateSampleSecrets: the gitleaks forms minus a few (json escaped
# string, xml element, yaml multiline, csv, make append are TODO there) plus these two.
BETTERLEAKS_EXTRA_FORMS = [
    ("json - escaped newline in string", '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}'),
    ("misc - comma operator", 'System.setProperty("{I}_TOKEN", "{s}")'),
]


def form(tpl, ident, secret):
    return tpl.replace("{i}", ident).replace("{I}", ident.upper()).replace("{s}", secret)


cases = []


def add(source, text, expect, kind, note="", secret=None):
    c = {"source": source, "text": text, "expect": expect, "kind": kind, "note": note}
    if secret is not None:
        c["secret"] = secret
    cases.append(c)


# ---------------------------------------------------------------- gitleaks
for name, tpl in GITLEAKS_FORMS:
    s = hex37()
    add("gitleaks cloudflare.go GenerateSampleSecrets (global key)", form(tpl, "cloudflare", s),
        "found", "global-key-legacy", f"form '{name}', secret [a-f0-9]{{37}}", s)
for name, tpl in GITLEAKS_FORMS:
    s = tok40()
    add("gitleaks cloudflare.go GenerateSampleSecrets (api key)", form(tpl, "cloudflare", s),
        "found", "api-token-legacy", f"form '{name}', secret [a-z0-9_-]{{40}}", s)
for name, tpl in GITLEAKS_FORMS:
    s = origin_ca()
    add("gitleaks cloudflare.go GenerateSampleSecrets (origin ca)", form(tpl, "cloudflare", s),
        "found", "origin-ca", f"form '{name}', secret v1.0-[a-f0-9]{{24}}-[a-f0-9]{{146}}", s)

for tpl in ['cloudflare_global_api_key = "{s}"', "CLOUDFLARE_GLOBAL_API_KEY: {s}", 'cloudflare: "{s}"']:
    s = hex37()
    add("gitleaks cloudflare.go tps (global_keys)", tpl.replace("{s}", s), "found", "global-key-legacy",
        "global-key TP; also an FP list of the api-key and origin-ca rules (must not be classed as those)", s)
for tpl in ['cloudflare_api_key = "{s}"', "CLOUDFLARE_API_KEY: {s}", 'cloudflare: "{s}"']:
    s = tok40_mixed(must=lambda v: any(c.isupper() for c in v))
    add("gitleaks cloudflare.go tps (api_keys)", tpl.replace("{s}", s), "found", "api-token-legacy",
        "api-key TP; also an FP list of the global-key and origin-ca rules (must not be classed as those)", s)
for _ in range(2):
    s = origin_ca()
    add("gitleaks cloudflare.go tps (origin_ca_keys)", "CLOUDFLARE_ORIGIN_CA: " + s, "found", "origin-ca",
        "origin-ca TP; also an FP list of the global-key and api-key rules", s)

# ---------------------------------------------------------------- betterleaks
for name, tpl in BETTERLEAKS_EXTRA_FORMS:
    s = hex37()
    add("betterleaks cloudflare.go GenerateSampleSecrets extra forms", form(tpl, "cloudflare", s),
        "found", "global-key-legacy", f"form '{name}' (not in gitleaks), secret [a-f0-9]{{37}}", s)
    s = tok40()
    add("betterleaks cloudflare.go GenerateSampleSecrets extra forms", form(tpl, "cloudflare", s),
        "found", "api-token-legacy", f"form '{name}' (not in gitleaks), secret [a-z0-9_-]{{40}}", s)
    s = origin_ca()
    add("betterleaks cloudflare.go GenerateSampleSecrets extra forms", form(tpl, "cloudflare", s),
        "found", "origin-ca", f"form '{name}' (not in gitleaks), secret v1.0-hex24-hex146", s)
# CloudflareAPIKeyV2 TPs: cf[ua]t_ + 40 alnum + 8 random hex (random: checksum wrong)
for p, k in [("cfut_", "cfut"), ("cfat_", "cfat")]:
    s = badsum(p)
    add("betterleaks cloudflare.go APIKeyV2 tps", s, "not_found", k,
        "bad checksum: betterleaks appends 8 random hex; keyflare checks the CRC32", s)
    s = newfmt(p)
    add("betterleaks cloudflare.go APIKeyV2 tps", s, "found", k,
        "same shape as betterleaks' TP, with a correct CRC32", s)
add("betterleaks cloudflare.go APIKeyV2 fps", "cfut_" + rand(ALNUM, 39) + "".join(R.choice(HEX) for _ in range(8)),
    "not_found", "cfut", "39-character body")
add("betterleaks cloudflare.go APIKeyV2 fps", "cfat_" + rand(ALNUM, 40) + "".join(R.choice("ABCDEF") for _ in range(8)),
    "not_found", "cfat", "uppercase checksum")
# cloudflare_test.go TestCloudflareAPIKeyV2Formats (input is "token = " + token); values are obviously fake
add("betterleaks cloudflare_test.go V2Formats", "token = cfut_" + "A1b2" * 10 + "deadbeef", "not_found", "cfut",
    "bad checksum (peer's fake value A1b2*10 + deadbeef; betterleaks expects a match)")
add("betterleaks cloudflare_test.go V2Formats", "token = cfat_" + "Z9y8" * 10 + "cafebabe", "not_found", "cfat",
    "bad checksum (peer's fake value Z9y8*10 + cafebabe; betterleaks expects a match)")
add("betterleaks cloudflare_test.go V2Formats", "token = cfut_A1b2C3d4deadbeef", "not_found", "cfut", "short payload")
add("betterleaks cloudflare_test.go V2Formats", "token = cfat_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0CAFEBABE",
    "not_found", "cfat", "uppercase checksum")
# CloudflareAccountIDV1 (SkipReport: a component, never a finding)
for t in ["account_id=00000000000000000000000000000000",
          "CLOUDFLARE_ACCOUNT_ID=11111111111111111111111111111111",
          'accountId: "22222222222222222222222222222222"',
          "cloudflare account id = 33333333333333333333333333333333",
          "cloudflare_access_key_id=44444444444444444444444444444444"]:
    add("betterleaks cloudflare_test.go AccountIDV1", t, "not_found", "other",
        "an account id is not a credential (betterleaks only uses it as a validation component)")
a = rand(HEX, 32, 3.0)
add("betterleaks cloudflare_test.go AccountIDV1", f"CLOUDFLARE_ACCOUNT_ID={a}", "not_found", "other",
    "random 32-hex account id after a Cloudflare name: must not be reported")

# ---------------------------------------------------------------- trufflehog
s = tok40_mixed(must=lambda v: "_" in v)
add("trufflehog cloudflareapitoken v1 test", """
		# Configuration File: config.yaml
		database:
			host: $DB_HOST
			port: $DB_PORT
			username: $DB_USERNAME
			password: $DB_PASS  # IMPORTANT: Do not share this password publicly

		api:
			auth_type: "Bearer"
			base_url: "https://api.example.com/v1/user"
			cloudflare_token: "%s"

		# Notes:
		# - Remember to rotate the secret every 90 days.
		# - The above credentials should only be used in a secure environment.
	""" % s, "found", "api-token-legacy", "valid pattern (YAML config)", s)
s = tok40_mixed(must=lambda v: v[-1] != "-")[:-1] + "-"
add("trufflehog cloudflareapitoken v1 test", "cloudflare_token: " + s, "found", "api-token-legacy",
    "valid pattern ending in hyphen", s)
add("trufflehog cloudflareapitoken v1 test", "cloudflare_token: " + s + R.choice(ALNUM), "not_found",
    "api-token-legacy", "token longer than 40 characters")
s = newfmt("cfut_")
add("trufflehog cloudflareapitoken v2 test", "token: " + s, "found", "cfut", "v2 user token, no keyword needed", s)
s = newfmt("cfat_")
add("trufflehog cloudflareapitoken v2 test", "token: " + s, "found", "cfat", "v2 account token, no keyword needed", s)
add("trufflehog cloudflareapitoken v2 test", "cfut_: " + tok40_mixed(must=lambda v: "_" in v), "not_found",
    "api-token-legacy", "legacy token after a 'cfut_:' label: no Cloudflare name")

# cloudflareglobalapikey v1: the peer's own value is an obvious fake with an ascending run
fake = "abcdef1234567890abcdef1234567890abcdef0"
add("trufflehog cloudflareglobalapikey v1 test", f"cloudflare: {fake} / testuser1005@example.com", "not_found",
    "global-key-legacy", "placeholder: peer's fake 'abcdef1234567890...' (keyflare's placeholder filter drops "
    "ascending runs; trufflehog expects a match)")
k = rand(HEX, 39, 3.3)
add("trufflehog cloudflareglobalapikey v1 test", f"cloudflare: {k} / testuser1005@example.com", "found",
    "global-key-legacy", "valid pattern with a random 39-hex key (peer's case, fresh value)", k)
add("trufflehog cloudflareglobalapikey v1 test",
    f"cloudflare keyword is not close to the real key and id = {rand(HEX, 39, 3.3)} / testuser1005@example.com",
    "not_found", "global-key-legacy", "key out of prefix range (fresh value)")
add("trufflehog cloudflareglobalapikey v1 test", f"cloudflare: {rand(HEX, 39, 3.3)}/testing@go", "found",
    "global-key-legacy", "invalid pattern: trufflehog finds nothing without a valid email (fresh value)")
s = newfmt("cfk_")
add("trufflehog cloudflareglobalapikey v2 test", f"some config: {s} / testuser1005@example.com", "found", "cfk",
    "v2 key, no keyword needed", s)
s = newfmt("cfk_")
add("trufflehog cloudflareglobalapikey v2 test", f"API_KEY={s}", "found", "cfk", "v2 key, no email nearby", s)
add("trufflehog cloudflareglobalapikey v2 test", f"cfk_: {rand(HEX, 39, 3.3)} / testuser1005@example.com",
    "not_found", "global-key-legacy", "legacy key after a 'cfk_:' label: no Cloudflare name")

# cloudflarecakey: keyPat = cloudflare prefix + \b(v[A-Za-z0-9._-]{173,})\b ; peer value is 187 chars
ca = "v" + "".join(R.choice(MIXED_EXT + ".") for _ in range(186))
while not ca[-1].isalnum() or placeholder(ca):
    ca = "v" + "".join(R.choice(MIXED_EXT + ".") for _ in range(186))
add("trufflehog cloudflarecakey test", """
		# Configuration File: config.yaml
		database:
			host: $DB_HOST
			port: $DB_PORT
			username: $DB_USERNAME
			password: $DB_PASS  # IMPORTANT: Do not share this password publicly

		api:
			auth_type: "API-Key"
			base_url: "https://api.example.com/v1/user"
			cloudflare: "%s"

		# Notes:
		# - Remember to rotate the secret every 90 days.
		# - The above credentials should only be used in a secure environment.
	""" % ca, "not_found", "origin-ca",
    "peer's CA key is 'v' + 186 of [A-Za-z0-9._-], not the documented v1.0-hex24-hex146 shape (fresh value)"
    " | keyflare only accepts documented Origin CA layouts (v1.0- + hex groups); a bare v+186 chars is too loose", ca)

# ---------------------------------------------------------------- kingfisher
s = rand(LOWER_EXT, 40, must=lambda v: "_" in v)
add("kingfisher cloudflare.yml examples", f"cloudflareAPIKey = {s}", "found", "api-token-legacy",
    "kingfisher.cloudflare.1 example", s)
s1 = rand(LOWER_EXT, 40, must=lambda v: "-" in v)
s2 = rand(LOWER_EXT, 40, must=lambda v: "_" in v)
add("kingfisher cloudflare.yml examples", f"CLOUDFLARE_API_TOKEN: '{s1}'\ncloudflare_key=\"{s2}\"\n", "found",
    "api-token-legacy", "kingfisher.cloudflare.1 example (two tokens; checks the first)", s1)
add("kingfisher cloudflare.yml examples", f"CLOUDFLARE_API_TOKEN: '{s1}'\ncloudflare_key=\"{s2}\"\n", "found",
    "api-token-legacy", "kingfisher.cloudflare.1 example (two tokens; checks the second)", s2)


def kf_ca():
    return "v1.0-" + rand(HEX, 64, 3.0) + "-" + rand(HEX, 128, 3.0) + "-" + rand(HEX, 64, 3.0)


s = kf_ca()
add("kingfisher cloudflare.yml examples", f"X-Auth-User-Service-Key = {s}", "found", "origin-ca",
    "kingfisher.cloudflare.2 example: v1.0-hex64-hex128-hex64 (not the v1.0-hex24-hex146 shape)", s)
s = kf_ca()
add("kingfisher cloudflare.yml examples", f'cloudflare_service_key: "{s}"\n', "found", "origin-ca",
    "kingfisher.cloudflare.2 example: v1.0-hex64-hex128-hex64", s)
add("kingfisher cloudflare.yml examples", "CF_API_TOKEN=cfut_" + rand(ALNUM, 41), "not_found", "cfut",
    "kingfisher.cloudflare.3 example: cfut_ + 41 alnum, no CRC32 (kingfisher accepts cfut_[A-Za-z0-9_-]{41,64})")
# older data/rules/cloudflare.yml (pattern [a-z0-9_-]{38,42}); obviously fake values kept
add("kingfisher data/rules/cloudflare.yml (older) examples",
    "cloudflareAPIKey = A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q7R8S9T0", "found", "api-token-legacy",
    "peer's fake value kept", "A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q7R8S9T0")
add("kingfisher data/rules/cloudflare.yml (older) examples",
    "CLOUDFLARE_API_TOKEN: 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0'\n"
    'cloudflare_key="B1C2D3E4F5G6H7I8J9K0L1M2N3O4P5Q6R7S8T9U0V1"\n', "found", "api-token-legacy",
    "peer's fake values kept; the first is 40 chars", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0")
add("kingfisher data/rules/cloudflare.yml (older) examples",
    'cloudflare_key="B1C2D3E4F5G6H7I8J9K0L1M2N3O4P5Q6R7S8T9U0V1"\n', "not_found", "api-token-legacy",
    "42 characters: legacy tokens are exactly 40 (kingfisher later narrowed {38,42} to {40})")
add("kingfisher cloudflare.yml examples", "X-Auth-User-Service-Key = " + origin_ca(), "found", "origin-ca",
    "kingfisher's key name with the documented v1.0-hex24-hex146 shape (fresh)")

# ---------------------------------------------------------------- osv-scalibr
K = rand(ALNUM, 40)
K2 = K[:-1] + ("a" if K[-1] != "a" else "b")
tps = [
    ("CLOUDFLARE_API_TOKEN environment variable", f'CLOUDFLARE_API_TOKEN="{K}"'),
    ("CLOUDFLARE_API_KEY environment variable", f"CLOUDFLARE_API_KEY={K}"),
    ("CF_API_TOKEN environment variable", f"CF_API_TOKEN='{K}'"),
    ("CF_API_KEY environment variable", f"CF_API_KEY={K}"),
    ("CLOUDFLARE_TOKEN environment variable", f'CLOUDFLARE_TOKEN="{K}"'),
    ("CF_TOKEN environment variable", f"CF_TOKEN={K}"),
    ("CLOUDFLARE_AUTH_KEY environment variable", f'CLOUDFLARE_AUTH_KEY="{K}"'),
    ("CF_ACCOUNT_ID environment variable (40-char value)", f"CF_ACCOUNT_ID={K}"),
    ("lowercase cloudflare_api_token", f"cloudflare_api_token={K}"),
    ("lowercase cf_api_key", f'cf_api_key="{K}"'),
    ("JSON CLOUDFLARE_API_TOKEN", f'{{"CLOUDFLARE_API_TOKEN": "{K}"}}'),
    ("JSON with whitespace inside the quotes", f'{{"CLOUDFLARE_API_TOKEN" : " {K} " }}'),
    ("YAML cloudflare_api_token", f'cloudflare_api_token: "{K}"'),
    ("YAML with whitespace inside the quotes", f'cloudflare_api_token: " {K} "'),
    ("YAML nested cloudflare config", f'cloudflare:\n  CLOUDFLARE_API_TOKEN: "{K}"'),
    ("YAML without quotes", f"cf_api_key: {K}"),
    ("case insensitive", f'Cloudflare_Api_Token="{K}"'),
    ("larger config file", f"\nserver:\n  port: 8080\ncloudflare:\n  CLOUDFLARE_API_TOKEN: {K}\n  zone_id: abcd1234\n"
                           "database:\n  host: localhost\n\t\t\t\t"),
    ("extra whitespace around assignment", f'CLOUDFLARE_API_TOKEN  =  "{K}"'),
]
for name, t in tps:
    add("osv-scalibr cloudflareapitoken detector_test tps", t, "found", "api-token-legacy", name, K)
t = f'CLOUDFLARE_API_TOKEN="{K}"\nCF_API_KEY={K2}'
add("osv-scalibr cloudflareapitoken detector_test tps", t, "found", "api-token-legacy",
    "multiple matches (checks the first)", K)
add("osv-scalibr cloudflareapitoken detector_test tps", t, "found", "api-token-legacy",
    "multiple matches (checks the second)", K2)
for name, t in [
    ("token without context keyword", K),
    ("short key", f'CLOUDFLARE_API_TOKEN="{K[:-1]}"'),
    ("invalid character in key", f'CLOUDFLARE_API_TOKEN="{K[:2]}@{K[2:39]}"'),
    ("token too long", f'CLOUDFLARE_API_TOKEN="{K}a"'),
    ("malformed assignment", f"CLOUDFLARE_API_TOKEN{K}"),
]:
    add("osv-scalibr cloudflareapitoken detector_test tns", t, "not_found", "api-token-legacy", name)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.json")
with open(out, "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases -> {out}")
