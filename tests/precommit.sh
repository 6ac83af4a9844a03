#!/usr/bin/env bash
# Runs keyflare's pre-commit hooks for real: installs pre-commit from PyPI in
# a temporary virtualenv, makes a temporary repository, stages a file with a
# synthetic token, and checks that `pre-commit try-repo <this repo>` fails
# with the finding, then passes once the file is fixed.
#
# Uses the keyflare-system hook with the keyflare built from this checkout on
# PATH (cargo build, honouring CARGO_TARGET_DIR). With KEYFLARE_RUST_HOOK=1 it
# also runs the `keyflare` rust hook once, which makes pre-commit build the
# crate with cargo: 218 s on a busy 2-core machine (4 min end to end), so it
# is off by default.
#
# try-repo runs the hooks of this repository's HEAD: commit
# .pre-commit-hooks.yaml first. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$here/target}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
checks=0

say() { printf 'precommit.sh: %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }
pass() { checks=$((checks + 1)); say "ok: $*"; }

say "building keyflare"
(cd "$here" && cargo build --quiet --bin keyflare)
export PATH="$target/debug:$PATH"
[ "$(command -v keyflare)" = "$target/debug/keyflare" ] || fail "keyflare not on PATH"

say "installing pre-commit into a virtualenv"
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check pre-commit
precommit="$tmp/venv/bin/pre-commit"
export PRE_COMMIT_HOME="$tmp/cache"
say "pre-commit $("$precommit" --version | awk '{print $2}')"

# Isolated from the user's git configuration.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=test@example.com
export GIT_COMMITTER_NAME=Test GIT_COMMITTER_EMAIL=test@example.com
unset GIT_DIR GIT_INDEX_FILE GIT_WORK_TREE

# A synthetic token: cfut_ + 40 characters + their CRC32. Not a credential.
token="$(python3 -c 'import random, string, zlib
r = random.Random(20260301)
b = "".join(r.choice(string.ascii_letters + string.digits) for _ in range(40))
print("cfut_%s%08x" % (b, zlib.crc32(b.encode())))')"
# Sanity check of the test itself: the binary must find it outside pre-commit.
printf 'CLOUDFLARE_API_TOKEN=%s\n' "$token" > "$tmp/probe.env"
if keyflare scan --quiet "$tmp/probe.env" > /dev/null; then fail "keyflare does not detect the test token"; fi

work="$tmp/work"
git init -q -b main "$work"
cd "$work"
for i in $(seq 1 40); do echo "line $i" > "notes$i.txt"; done
git add . && git commit -q -m start
printf 'CLOUDFLARE_API_TOKEN=%s\n' "$token" > deploy.env
git add deploy.env

run() { # hook, args...: runs try-repo, output in $tmp/out, status in $status
  local hook="$1"; shift
  set +e
  "$precommit" try-repo "$here" "$hook" "$@" > "$tmp/out" 2>&1
  status=$?
  set -e
}

run keyflare-system --files deploy.env
[ "$status" -ne 0 ] || { cat "$tmp/out"; fail "the staged token did not fail the hook"; }
grep -q 'kf.cloudflare.user-api-token' "$tmp/out" || { cat "$tmp/out"; fail "no finding in the hook output"; }
grep -q 'deploy.env' "$tmp/out" || { cat "$tmp/out"; fail "the finding does not name deploy.env"; }
if grep -qF "$token" "$tmp/out"; then fail "the hook output shows the secret unredacted"; fi
pass "keyflare-system fails on a staged token (exit $status) and names deploy.env, redacted"

run keyflare-system --all-files
[ "$status" -ne 0 ] || { cat "$tmp/out"; fail "--all-files did not fail"; }
grep -q 'deploy.env' "$tmp/out" || { cat "$tmp/out"; fail "--all-files missed deploy.env"; }
pass "--all-files over 41 files (split across parallel calls) finds it too"

printf 'CLOUDFLARE_API_TOKEN=${CLOUDFLARE_API_TOKEN}\n' > deploy.env
git add deploy.env
run keyflare-system --files deploy.env
[ "$status" -eq 0 ] || { cat "$tmp/out"; fail "the fixed file still fails"; }
run keyflare-system --all-files
[ "$status" -eq 0 ] || { cat "$tmp/out"; fail "--all-files fails after the fix"; }
pass "the hook passes once the file is fixed (--files and --all-files)"

if [ "${KEYFLARE_RUST_HOOK:-0}" = 1 ]; then
  printf 'CLOUDFLARE_API_TOKEN=%s\n' "$token" > deploy.env
  git add deploy.env
  say "running the rust hook (pre-commit builds keyflare with cargo)"
  start=$(date +%s)
  run keyflare --files deploy.env
  took=$(( $(date +%s) - start ))
  [ "$status" -ne 0 ] || { cat "$tmp/out"; fail "the rust hook did not fail on the token"; }
  grep -q 'kf.cloudflare.user-api-token' "$tmp/out" || { cat "$tmp/out"; fail "the rust hook printed no finding"; }
  pass "the keyflare rust hook (built by pre-commit in ${took}s) fails on the token"
else
  say "skipped the rust hook (set KEYFLARE_RUST_HOOK=1: it builds the crate, minutes on 2 cores)"
fi

say "all $checks checks passed"
