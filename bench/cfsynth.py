"""Shared pieces for the benchmark corpus generators (stdlib only).

Everything here is driven by an explicit ``random.Random`` so that the same seed gives
byte-identical corpora. All secrets are SYNTHETIC: random bodies, with a correct (or a
deliberately wrong) CRC-32 suffix for the 2026 ``cfut_``/``cfat_``/``cfk_`` formats.

Two kinds of planted items:

* positives ("secrets"): realistic leaks a Cloudflare scanner should report. Each
  template returns its text lines and which line holds the secret.
* negatives ("decoys"): look-alikes that a careful scanner should NOT report (git SHAs,
  zone/account ids, plain hashes, placeholders, bad-checksum tokens, Turnstile dummy keys).
"""

from __future__ import annotations

import random
import string
import zlib

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
LEGACY_TOKEN_ALPHABET = ALNUM + "_-"

WORDS = (
    "account address admin agent alert api app archive asset audit auth backend backup "
    "balance batch bucket buffer build bundle cache callback cart channel chart check "
    "client cluster code config connect consumer context cookie count counter cron "
    "customer dashboard data database date debug default delete deploy device digest "
    "domain draft driver edge email endpoint engine entry event export feature fetch "
    "field file filter flag format frame gateway graph group handler hash header health "
    "history host image import index input invoice item job key label layer layout lease "
    "limit link list loader local lock log login manager map market media member merge "
    "message meta metric migrate mode model module monitor name node notify object offset "
    "order origin output owner package page panel parser partner patch path payload "
    "payment peer policy pool port post preview price profile project provider proxy "
    "publish query queue quota range rate reader record redirect region registry release "
    "remote render report request resolver resource response result retry review role "
    "route rule runner sample scanner schema scope score search secret section segment "
    "sender server service session setting shard shipment signal site size slot snapshot "
    "socket source span stage state status storage store stream subject summary sync "
    "table tag target task template tenant test thread ticket timer token topic trace "
    "tracker transform trigger upload usage user value vendor version view volume webhook "
    "widget worker workflow zone"
).split()

FIRST = "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil trent victor walter".split()
DOMAINS = ["example.com", "example.org", "example.net", "acme.test", "corp.example"]


def word(r: random.Random) -> str:
    return r.choice(WORDS)


def ident(r: random.Random, n: int = 2, sep: str = "_") -> str:
    return sep.join(r.choice(WORDS) for _ in range(n))


def camel(r: random.Random, n: int = 2) -> str:
    ws = [r.choice(WORDS) for _ in range(n)]
    return ws[0] + "".join(w.capitalize() for w in ws[1:])


def pascal(r: random.Random, n: int = 2) -> str:
    return "".join(r.choice(WORDS).capitalize() for _ in range(n))


def hexs(r: random.Random, n: int) -> str:
    return "".join(r.choice(HEX) for _ in range(n))


def alnum(r: random.Random, n: int) -> str:
    return "".join(r.choice(ALNUM) for _ in range(n))


def email(r: random.Random) -> str:
    return f"{r.choice(FIRST)}.{word(r)}@{r.choice(DOMAINS)}"


def crc8(body: str) -> str:
    return format(zlib.crc32(body.encode()) & 0xFFFFFFFF, "08x")


def new_token(r: random.Random, prefix: str, valid: bool = True) -> str:
    """``prefix`` + 40 alnum + 8 hex CRC-32 of the body (wrong on purpose if not valid)."""
    body = alnum(r, 40)
    good = crc8(body)
    if valid:
        return prefix + body + good
    while True:
        bad = hexs(r, 8)
        if bad != good:
            return prefix + body + bad


def legacy_token(r: random.Random) -> str:
    """Pre-2026 40-char API token: mixed-case alnum with the odd '-' or '_'."""
    while True:
        s = list(alnum(r, 40))
        for _ in range(r.randint(0, 3)):
            s[r.randrange(1, 39)] = r.choice("-_")
        tok = "".join(s)
        # make sure it is not accidentally pure lowercase hex (that would be a decoy shape)
        if any(c.isupper() for c in tok) and any(c.isdigit() for c in tok):
            return tok


def legacy_global_key(r: random.Random) -> str:
    return hexs(r, 37)


def origin_ca_key(r: random.Random) -> str:
    return f"v1.0-{hexs(r, 24)}-{hexs(r, 146)}"


# --------------------------------------------------------------------------------------
# Positive templates. Each takes r and returns (file_type, lines, secret_line_index,
# kind, secret). file_type decides which kind of file the block is planted into.
# --------------------------------------------------------------------------------------


def _pos_env_cfut(r):
    s = new_token(r, "cfut_")
    var = r.choice(["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN"])
    lines = [f"# Cloudflare ({word(r)} {word(r)})", f"{var}={s}", f"CLOUDFLARE_ACCOUNT_ID={hexs(r, 32)}"]
    return "env", lines, 1, "cf-user-token", s


def _pos_py_cfut(r):
    s = new_token(r, "cfut_")
    lines = [
        "from cloudflare import Cloudflare",
        "",
        f"def make_{ident(r)}_client():",
        f'    return Cloudflare(api_token="{s}")',
    ]
    return "py", lines, 3, "cf-user-token", s


def _pos_go_cfut(r):
    s = new_token(r, "cfut_")
    lines = [
        f"func new{pascal(r)}API() (*cloudflare.API, error) {{",
        f'\treturn cloudflare.NewWithAPIToken("{s}")',
        "}",
    ]
    return "go", lines, 1, "cf-user-token", s


def _pos_ts_cfut(r):
    s = new_token(r, "cfut_")
    lines = [
        f"const {camel(r)}Client = new Cloudflare({{",
        f"  apiToken: '{s}',",
        "});",
    ]
    return "ts", lines, 1, "cf-user-token", s


def _pos_json_cfut(r):
    s = new_token(r, "cfut_")
    lines = [f'  "cloudflare": {{', f'    "apiToken": "{s}",', f'    "zone": "{word(r)}.example.com"', "  },"]
    return "json", lines, 1, "cf-user-token", s


def _pos_gha_cfut(r):
    s = new_token(r, "cfut_")
    lines = [
        "      - uses: cloudflare/wrangler-action@v3",
        "        with:",
        f"          apiToken: {s}",
        f"          accountId: {hexs(r, 32)}",
    ]
    return "yaml", lines, 2, "cf-user-token", s


def _pos_yaml_cfat(r):
    s = new_token(r, "cfat_")
    lines = ["cloudflare:", f"  account_id: {hexs(r, 32)}", f"  account_token: {s}", f"  zone: {word(r)}.example.com"]
    return "yaml", lines, 2, "cf-account-token", s


def _pos_env_cfat(r):
    s = new_token(r, "cfat_")
    lines = [f"CLOUDFLARE_ACCOUNT_ID={hexs(r, 32)}", f"CLOUDFLARE_API_TOKEN={s}"]
    return "env", lines, 1, "cf-account-token", s


def _pos_yaml_cfk(r):
    s = new_token(r, "cfk_")
    lines = ["cloudflare:", f"  email: {email(r)}", f"  global_api_key: {s}"]
    return "yaml", lines, 2, "cf-global-key", s


def _pos_env_cfk(r):
    s = new_token(r, "cfk_")
    lines = [f"CLOUDFLARE_EMAIL={email(r)}", f"CLOUDFLARE_API_KEY={s}"]
    return "env", lines, 1, "cf-global-key", s


def _pos_ini_certbot(r):
    s = legacy_global_key(r)
    lines = [
        "# Cloudflare API credentials used by Certbot",
        f"dns_cloudflare_email = {email(r)}",
        f"dns_cloudflare_api_key = {s}",
    ]
    return "ini", lines, 2, "cf-global-key-legacy", s


def _pos_sh_curl(r):
    s = legacy_global_key(r)
    lines = [
        f'curl -X GET "https://api.cloudflare.com/client/v4/zones/{hexs(r, 32)}/dns_records" \\',
        f'     -H "X-Auth-Email: {email(r)}" \\',
        f'     -H "X-Auth-Key: {s}" \\',
        '     -H "Content-Type: application/json"',
    ]
    return "sh", lines, 2, "cf-global-key-legacy", s


def _pos_md_curl(r):
    s = legacy_global_key(r)
    lines = [
        "```sh",
        "curl https://api.cloudflare.com/client/v4/user \\",
        f'  -H "X-Auth-Email: {email(r)}" \\',
        f'  -H "X-Auth-Key: {s}"',
        "```",
    ]
    return "md", lines, 3, "cf-global-key-legacy", s


def _pos_env_legacy_key(r):
    s = legacy_global_key(r)
    lines = [f"CF_API_EMAIL={email(r)}", f"CF_API_KEY={s}"]
    return "env", lines, 1, "cf-global-key-legacy", s


def _pos_py_xauth(r):
    s = legacy_global_key(r)
    lines = [
        "HEADERS = {",
        f'    "X-Auth-Email": "{email(r)}",',
        f'    "X-Auth-Key": "{s}",',
        "}",
    ]
    return "py", lines, 2, "cf-global-key-legacy", s


def _pos_tf_provider(r):
    s = legacy_token(r)
    lines = ['provider "cloudflare" {', f'  api_token = "{s}"', "}"]
    return "tf", lines, 1, "cf-api-token-legacy", s


def _pos_tf_variable(r):
    s = legacy_token(r)
    lines = ['variable "cloudflare_api_token" {', "  type    = string", f'  default = "{s}"', "}"]
    return "tf", lines, 2, "cf-api-token-legacy", s


def _pos_env_legacy_token(r):
    s = legacy_token(r)
    lines = [f"CLOUDFLARE_API_TOKEN={s}"]
    return "env", lines, 0, "cf-api-token-legacy", s


def _pos_py_legacy_token(r):
    s = legacy_token(r)
    lines = [f'CLOUDFLARE_TOKEN = "{s}"  # TODO move to vault']
    return "py", lines, 0, "cf-api-token-legacy", s


def _pos_env_origin(r):
    s = origin_ca_key(r)
    lines = [f"CF_ORIGIN_CA_KEY={s}"]
    return "env", lines, 0, "cf-origin-ca-key", s


def _pos_yaml_origin(r):
    s = origin_ca_key(r)
    lines = ["cloudflare:", f"  origin_ca_key: {s}"]
    return "yaml", lines, 1, "cf-origin-ca-key", s


def _pos_tf_origin(r):
    s = origin_ca_key(r)
    lines = ['provider "cloudflare" {', f'  api_user_service_key = "{s}"', "}"]
    return "tf", lines, 1, "cf-origin-ca-key", s


POSITIVES = [
    _pos_env_cfut, _pos_py_cfut, _pos_go_cfut, _pos_ts_cfut, _pos_json_cfut, _pos_gha_cfut,
    _pos_yaml_cfat, _pos_env_cfat, _pos_yaml_cfk, _pos_env_cfk,
    _pos_ini_certbot, _pos_sh_curl, _pos_md_curl, _pos_env_legacy_key, _pos_py_xauth,
    _pos_tf_provider, _pos_tf_variable, _pos_env_legacy_token, _pos_py_legacy_token,
    _pos_env_origin, _pos_yaml_origin, _pos_tf_origin,
]

# fragments for minified JS (one long line); (fragment, kind, secret)


def pos_minjs(r):
    choice = r.randrange(4)
    if choice == 0:
        s = new_token(r, "cfut_")
        return f'{camel(r)}={{cloudflareApiToken:"{s}",zone:"{word(r)}"}}', "cf-user-token", s
    if choice == 1:
        s = new_token(r, "cfat_")
        return f'const {camel(r)}="{s}"', "cf-account-token", s
    if choice == 2:
        s = new_token(r, "cfk_")
        return f'{camel(r)}.headers["X-Auth-Key"]="{s}"', "cf-global-key", s
    s = legacy_global_key(r)
    return f'{camel(r)}({{"X-Auth-Email":"{email(r)}","X-Auth-Key":"{s}"}})', "cf-global-key-legacy", s


# --------------------------------------------------------------------------------------
# Negative (decoy) templates: (file_type, lines, decoy_line_index, kind, value)
# --------------------------------------------------------------------------------------


def _neg_gha_sha(r):
    v = hexs(r, 40)
    lines = [f"      - uses: cloudflare/wrangler-action@{v}  # v3.{r.randint(0, 14)}.0"]
    return "yaml", lines, 0, "decoy-git-sha", v


def _neg_tf_module_sha(r):
    v = hexs(r, 40)
    lines = [
        f'module "cloudflare_{word(r)}" {{',
        f'  source = "git::https://github.com/example/terraform-cloudflare-{word(r)}.git?ref={v}"',
        "}",
    ]
    return "tf", lines, 1, "decoy-git-sha", v


def _neg_md_sha(r):
    v = hexs(r, 40)
    lines = [f"- Bump cloudflare-go to commit {v} ({word(r)} {word(r)} fix)"]
    return "md", lines, 0, "decoy-git-sha", v


def _neg_tf_zone(r):
    v = hexs(r, 32)
    lines = [
        f'resource "cloudflare_record" "{word(r)}" {{',
        f'  zone_id = "{v}"',
        f'  name    = "{word(r)}"',
        f'  content = "192.0.2.{r.randint(1, 254)}"',
        '  type    = "A"',
        "}",
    ]
    return "tf", lines, 1, "decoy-zone-id", v


def _neg_env_ids(r):
    v = hexs(r, 32)
    lines = [f"CLOUDFLARE_ZONE_ID={v}", f"CLOUDFLARE_ACCOUNT_ID={hexs(r, 32)}"]
    return "env", lines, 0, "decoy-zone-id", v


def _neg_py_hash(r):
    n = r.choice([32, 40, 64])
    v = hexs(r, n)
    name = {32: "MD5", 40: "SHA1", 64: "SHA256"}[n]
    lines = [f'EXPECTED_{name}_{word(r).upper()} = "{v}"']
    return "py", lines, 0, "decoy-hash", v


def _neg_json_hash(r):
    v = hexs(r, 64)
    lines = [f'  "{word(r)}-{word(r)}": {{ "version": "{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}", "sha256": "{v}" }},']
    return "json", lines, 0, "decoy-hash", v


def _neg_md_hash(r):
    v = hexs(r, 37)
    lines = [f"Artifact digest (truncated): `{v}`"]
    return "md", lines, 0, "decoy-hash", v


def _neg_env_placeholder(r):
    v = r.choice(["your-api-token-here", "<YOUR_CLOUDFLARE_API_TOKEN>", "changeme", "${CLOUDFLARE_API_TOKEN}",
                  "cfut_" + "x" * 48, "cfut_" + "X" * 40 + "xxxxxxxx"])
    lines = [f"CLOUDFLARE_API_TOKEN={v}"]
    return "env", lines, 0, "decoy-placeholder", v


def _neg_ini_placeholder(r):
    v = "0123456789abcdef0123456789abcdef01234"
    lines = ["# Cloudflare API credentials used by Certbot", "dns_cloudflare_email = cloudflare@example.com", f"dns_cloudflare_api_key = {v}"]
    return "ini", lines, 2, "decoy-placeholder", v


def _neg_tf_placeholder(r):
    v = r.choice(["<YOUR_CLOUDFLARE_API_TOKEN>", "your-api-token-here", "REPLACE_ME"])
    lines = ['provider "cloudflare" {', f'  api_token = "{v}"', "}"]
    return "tf", lines, 1, "decoy-placeholder", v


def _neg_env_badcrc(r):
    v = new_token(r, r.choice(["cfut_", "cfat_", "cfk_"]), valid=False)
    var = "CLOUDFLARE_API_KEY" if v.startswith("cfk_") else "CLOUDFLARE_API_TOKEN"
    lines = [f"{var}={v}"]
    return "env", lines, 0, "decoy-bad-crc", v


def _neg_yaml_badcrc(r):
    v = new_token(r, r.choice(["cfut_", "cfat_", "cfk_"]), valid=False)
    lines = ["cloudflare:", f"  api_token: {v}"]
    return "yaml", lines, 1, "decoy-bad-crc", v


def _neg_py_badcrc(r):
    v = new_token(r, "cfut_", valid=False)
    lines = [f'TEST_TOKEN = "{v}"  # fake token for unit tests']
    return "py", lines, 0, "decoy-bad-crc", v


def _neg_env_turnstile(r):
    v = r.choice(["1x0000000000000000000000000000000AA", "2x0000000000000000000000000000000AA",
                  "3x0000000000000000000000000000000AA"])
    lines = [f"TURNSTILE_SITE_KEY=1x00000000000000000000AA", f"TURNSTILE_SECRET_KEY={v}"]
    return "env", lines, 1, "decoy-turnstile-dummy", v


def _neg_ts_turnstile(r):
    v = "1x0000000000000000000000000000000AA"
    lines = [f"export const CLOUDFLARE_TURNSTILE_SECRET_KEY = '{v}'; // test key, always passes"]
    return "ts", lines, 0, "decoy-turnstile-dummy", v


NEGATIVES = [
    _neg_gha_sha, _neg_tf_module_sha, _neg_md_sha, _neg_tf_zone, _neg_env_ids,
    _neg_py_hash, _neg_json_hash, _neg_md_hash,
    _neg_env_placeholder, _neg_ini_placeholder, _neg_tf_placeholder,
    _neg_env_badcrc, _neg_yaml_badcrc, _neg_py_badcrc,
    _neg_env_turnstile, _neg_ts_turnstile,
]


def neg_minjs(r):
    c = r.randrange(4)
    if c == 0:
        v = new_token(r, "cfut_", valid=False)
        return f'{camel(r)}={{cloudflareApiToken:"{v}"}}', "decoy-bad-crc", v
    if c == 1:
        v = "1x0000000000000000000000000000000AA"
        return f'turnstile.render("#{word(r)}",{{sitekey:"1x00000000000000000000AA",secret:"{v}"}})', "decoy-turnstile-dummy", v
    if c == 2:
        v = hexs(r, 40)
        return f'{camel(r)}.commit="{v}"', "decoy-git-sha", v
    v = hexs(r, 32)
    return f'{camel(r)}={{cloudflareZoneId:"{v}"}}', "decoy-zone-id", v


# --------------------------------------------------------------------------------------
# Filler snippets per file type. Each returns a string of full lines ("...\n").
# --------------------------------------------------------------------------------------


def py_snippet(r):
    k = r.randrange(6)
    f, a, b = ident(r), ident(r, 1), ident(r, 1)
    if k == 0:
        return (f"def {f}({a}, {b}=None):\n    \"\"\"Return the {word(r)} {word(r)} for {a}.\"\"\"\n"
                f"    if {b} is None:\n        {b} = {{}}\n    result = []\n"
                f"    for item in {a}:\n        if item.{word(r)} > {r.randint(0, 999)}:\n"
                f"            result.append(item.{word(r)})\n    return result\n\n\n")
    if k == 1:
        return (f"class {pascal(r)}({pascal(r, 1)}):\n    {word(r)}_{word(r)} = {r.randint(0, 9999)}\n\n"
                f"    def __init__(self, {a}, {b}):\n        self.{a} = {a}\n        self.{b} = {b}\n\n"
                f"    def {f}(self):\n        return self.{a}.get(\"{word(r)}\", {r.randint(0, 50)})\n\n\n")
    if k == 2:
        return f"import {word(r)}\nfrom {word(r)}.{word(r)} import {pascal(r)}, {ident(r)}\n"
    if k == 3:
        return f"    logger.info(\"{word(r)} {word(r)} %s took %.2fs\", {a}, elapsed)\n"
    if k == 4:
        return f"{ident(r).upper()} = {r.randint(0, 100000)}\n"
    return (f"    try:\n        {a} = await self.{f}({b})\n    except {pascal(r)}Error as exc:\n"
            f"        raise RuntimeError(f\"{word(r)} failed: {{exc}}\") from exc\n")


def js_snippet(r, ts=False):
    k = r.randrange(5)
    f, a, b = camel(r), camel(r, 1), camel(r, 1)
    typ = (lambda t: f": {t}") if ts else (lambda t: "")
    if k == 0:
        return (f"export async function {f}({a}{typ('string')}, {b}{typ('number')} = {r.randint(1, 99)}){typ('Promise<void>')} {{\n"
                f"  const res = await fetch(`/api/{word(r)}/${{{a}}}`);\n  if (!res.ok) {{\n"
                f"    throw new Error(`{word(r)} failed: ${{res.status}}`);\n  }}\n"
                f"  const data = await res.json();\n  return data.{word(r)}.slice(0, {b});\n}}\n\n")
    if k == 1:
        return f"import {{ {camel(r)}, {camel(r)} }} from '../{word(r)}/{word(r)}';\n"
    if k == 2:
        return (f"const {f} = ({a}) => {{\n  return {a}.filter((x) => x.{word(r)} !== {r.randint(0, 9)})"
                f".map((x) => ({{ ...x, {word(r)}: true }}));\n}};\n\n")
    if k == 3:
        if ts:
            return (f"export interface {pascal(r)} {{\n  {a}: string;\n  {b}?: number;\n"
                    f"  {camel(r, 1)}: {pascal(r)}[];\n}}\n\n")
        return f"module.exports.{f} = {f};\n"
    return f"  console.debug('{word(r)}', {a}, {b});\n"


def go_snippet(r):
    k = r.randrange(4)
    f, a = pascal(r), camel(r, 1)
    if k == 0:
        return (f"func (s *{pascal(r)}) {f}(ctx context.Context, {a} string) error {{\n"
                f"\tif {a} == \"\" {{\n\t\treturn fmt.Errorf(\"{word(r)}: empty {a}\")\n\t}}\n"
                f"\tfor i := 0; i < {r.randint(2, 64)}; i++ {{\n\t\ts.{camel(r)}(i)\n\t}}\n\treturn nil\n}}\n\n")
    if k == 1:
        return (f"type {f} struct {{\n\t{pascal(r, 1)} string `json:\"{word(r)}\"`\n"
                f"\t{pascal(r, 1)} int    `json:\"{word(r)}\"`\n}}\n\n")
    if k == 2:
        return f"\t\"{r.choice(['github.com', 'golang.org/x', 'go.uber.org'])}/{word(r)}/{word(r)}\"\n"
    return f"\tlog.Printf(\"{word(r)} %s: %v\", {a}, err)\n"


def yaml_snippet(r):
    k = r.randrange(4)
    if k == 0:
        return (f"{word(r)}:\n  {word(r)}: {r.randint(0, 500)}\n  {word(r)}: \"{word(r)}-{word(r)}\"\n"
                f"  {word(r)}:\n    - {word(r)}\n    - {word(r)}\n")
    if k == 1:
        return (f"      - name: {word(r).capitalize()} {word(r)}\n        run: make {word(r)}\n"
                f"        env:\n          {ident(r).upper()}: ${{{{ secrets.{ident(r).upper()} }}}}\n")
    if k == 2:
        return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {word(r)}-{word(r)}\n"
                f"spec:\n  replicas: {r.randint(1, 9)}\n  template:\n    spec:\n      containers:\n"
                f"        - name: {word(r)}\n          image: registry.example.com/{word(r)}:{r.randint(1, 40)}.{r.randint(0, 9)}\n---\n")
    return f"# {word(r)} {word(r)} {word(r)}\n"


def tf_snippet(r):
    k = r.randrange(3)
    if k == 0:
        return (f'resource "aws_{word(r)}" "{word(r)}" {{\n  name = "{word(r)}-{word(r)}"\n'
                f'  tags = {{\n    Team = "{word(r)}"\n  }}\n}}\n\n')
    if k == 1:
        return f'variable "{ident(r)}" {{\n  type    = number\n  default = {r.randint(0, 100)}\n}}\n\n'
    return f'output "{ident(r)}" {{\n  value = {word(r)}.{word(r)}.id\n}}\n\n'


def env_snippet(r):
    k = r.randrange(3)
    if k == 0:
        return f"{ident(r).upper()}={word(r)}\n"
    if k == 1:
        return f"{ident(r).upper()}_PORT={r.randint(1024, 65000)}\n"
    return f"{ident(r).upper()}_URL=https://{word(r)}.example.com/{word(r)}\n"


def ini_snippet(r):
    return f"{ident(r)} = {word(r)}\n"


def sh_snippet(r):
    k = r.randrange(3)
    if k == 0:
        return f"if [ -z \"${{{ident(r).upper()}}}\" ]; then\n  echo \"missing {word(r)}\" >&2\n  exit 1\nfi\n"
    if k == 1:
        return f"{word(r)} --{word(r)} \"${{{ident(r).upper()}}}\" | grep -v {word(r)}\n"
    return f"export {ident(r).upper()}=\"{word(r)}\"\n"


def json_snippet(r):
    return (f'  "{camel(r)}": {{ "{word(r)}": {r.randint(0, 1000)}, "{word(r)}": "{word(r)} {word(r)}", '
            f'"{word(r)}": [{r.randint(0, 9)}, {r.randint(0, 9)}], "enabled": {r.choice(["true", "false"])} }},\n')


def md_snippet(r):
    k = r.randrange(4)
    if k == 0:
        return f"\n## {word(r).capitalize()} {word(r)}\n\n"
    if k == 1:
        ws = " ".join(word(r) for _ in range(r.randint(12, 40)))
        return ws.capitalize() + ".\n"
    if k == 2:
        return f"- `{camel(r)}`: {word(r)} {word(r)} {word(r)}\n"
    return f"```sh\n{word(r)} {word(r)} --{word(r)}\n```\n"


def minjs_fragment(r):
    k = r.randrange(4)
    if k == 0:
        return f"function {camel(r)}(e,t){{return e.{word(r)}(t)||{r.randint(0, 99)}}}"
    if k == 1:
        return f"var {alnum(r, 1).lower()}{r.randint(0, 99)}=n({r.randint(0, 9999)}),{camel(r)}=\"{word(r)}-{word(r)}\""
    if k == 2:
        return f"e.exports={{{word(r)}:function(){{return this.{word(r)}}},{word(r)}:!0}}"
    return f"if(t.{word(r)}!==void 0)throw new Error(\"{word(r)} {word(r)}\")"


SNIPPETS = {
    "py": py_snippet,
    "js": lambda r: js_snippet(r, False),
    "ts": lambda r: js_snippet(r, True),
    "go": go_snippet,
    "yaml": yaml_snippet,
    "tf": tf_snippet,
    "env": env_snippet,
    "ini": ini_snippet,
    "sh": sh_snippet,
    "json": json_snippet,
    "md": md_snippet,
}


def snippet_pool(r: random.Random, ftype: str, n: int) -> list[str]:
    f = SNIPPETS[ftype]
    return [f(r) for _ in range(n)]


def minjs_pool(r: random.Random, n: int) -> list[str]:
    return [minjs_fragment(r) for _ in range(n)]
