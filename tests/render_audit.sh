#!/usr/bin/env bash
# Renders a sample `keyflare audit --format html` report in headless Chromium
# and checks that it loads cleanly: the screenshot exists and is not blank,
# the DOM has the expected title and table, and the console logged no errors.
#
#   bash tests/render_audit.sh [OUT.png]     (default: docs/audit-sample.png)
#
# Installs Debian's chromium with apt-get if it is missing. The sample
# repository is synthetic: cfut_ tokens with random bodies and a valid CRC32.
set -euo pipefail
cd "$(dirname "$0")/.."
out_png=${1:-docs/audit-sample.png}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

if ! command -v chromium >/dev/null; then
    apt-get install -y chromium >/dev/null
fi
cargo build --quiet
kf="$CARGO_TARGET_DIR/debug/keyflare"

work=$(mktemp -d)
profile=$(mktemp -d)
trap 'rm -rf "$work" "$profile"' EXIT

token() { # prefix seed -> a synthetic token (40 chars + CRC32 of them)
    python3 -c 'import random,sys,zlib
r=random.Random(int(sys.argv[2])); b="".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40))
print(sys.argv[1]+b+format(zlib.crc32(b.encode())&0xffffffff,"08x"))' "$1" "$2"
}
commit() { # date message
    GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" git -C "$repo" \
        -c user.name="Dana Developer" -c user.email=dana@example.com -c commit.gpgsign=false \
        commit -qm "$2"
}
repo="$work/shop-api"
mkdir -p "$repo/deploy" "$repo/src"
: > "$work/gitconfig"; export GIT_CONFIG_GLOBAL="$work/gitconfig" GIT_CONFIG_NOSYSTEM=1
git -c init.defaultBranch=main init -q "$repo"
old=$(token cfut_ 1); live=$(token cfut_ 2); acct=$(token cfat_ 3); key=$(token cfk_ 4)
echo "CLOUDFLARE_API_TOKEN=$old" > "$repo/.env"
echo 'print("hello")' > "$repo/src/app.py"
git -C "$repo" add -A; commit 2024-01-15T10:00:00+01:00 "initial import"
cp "$repo/.env" "$repo/deploy/production.env"
printf 'curl -H "X-Auth-Email: ops@example.com" -H "X-Auth-Key: %s" https://api.cloudflare.com/client/v4/zones\n' "$key" > "$repo/deploy/purge.sh"
git -C "$repo" add -A; commit 2024-03-02T16:20:00+01:00 "deploy scripts"
git -C "$repo" rm -q .env deploy/production.env; commit 2024-05-20T09:05:00+02:00 "remove env files"
printf 'import CloudFlare\ncf = CloudFlare.CloudFlare(token="%s")\n' "$live" > "$repo/src/dns.py"
printf 'account_id: 0123456789abcdef0123456789abcdef\ntoken: %s\n' "$acct" > "$repo/deploy/wrangler.yaml"
git -C "$repo" add -A; commit 2024-09-11T11:45:00+02:00 "dns sync"

html="$work/audit.html"
"$kf" audit "$repo" --format html -o "$html" || [ $? -eq 1 ]
for s in "$old" "$live" "$acct" "$key"; do
    if grep -qF "$s" "$html"; then echo "FAIL: a secret is in the HTML" >&2; exit 1; fi
done
if grep -qiE '<script|[[:space:]]src=|href="http|<link' "$html"; then
    echo "FAIL: the HTML loads scripts or external resources" >&2; exit 1
fi

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$profile")
url="file://$html"
"${chrome[@]}" --dump-dom "$url" > "$work/dom.html" 2>/dev/null
grep -q '<title>keyflare audit: ' "$work/dom.html" || { echo "FAIL: title missing from the DOM" >&2; exit 1; }
grep -q 'Credentials, most urgent first' "$work/dom.html" || { echo "FAIL: table missing" >&2; exit 1; }
[ "$(grep -o 'type="checkbox"' "$work/dom.html" | wc -l)" -ge 4 ] || { echo "FAIL: checklist missing" >&2; exit 1; }

"${chrome[@]}" --enable-logging=stderr --v=0 --hide-scrollbars --window-size=1280,1600 \
    --screenshot="$work/out.png" "$url" 2> "$work/chrome.log" >/dev/null
if grep -E 'CONSOLE|Uncaught|ERR_FILE_NOT_FOUND|net::ERR' "$work/chrome.log" | grep -v 'net::ERR_NAME' ; then
    echo "FAIL: the page logged errors (above)" >&2; exit 1
fi
size=$(stat -c %s "$work/out.png")
[ "$size" -gt 20000 ] || { echo "FAIL: screenshot is $size bytes: blank?" >&2; exit 1; }
# The committed sample stays under 300 KB: retake it shorter if need be.
for h in 1400 1200 1000; do
    [ "$(stat -c %s "$work/out.png")" -lt 300000 ] && break
    "${chrome[@]}" --hide-scrollbars --window-size=1280,$h --screenshot="$work/out.png" "$url" >/dev/null 2>&1
done
mkdir -p "$(dirname "$out_png")"
cp "$work/out.png" "$out_png"
echo "ok: $out_png ($size bytes), title and checklist present, no console errors"
