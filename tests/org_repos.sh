#!/usr/bin/env bash
# Makes N small git repositories for the organisation audit tests and
# measurements (default 12), with synthetic user API tokens (cfut_ + 40
# characters + their CRC32), some shared between repositories:
#
#   bash tests/org_repos.sh DIR [N] >repos.txt
#
# Repository i (acme/repo-NN) has three commits. Every third repository has
# the token SHARED_A in .env, every fourth SHARED_B in deploy/ci.yml, every
# even one its own token, and every fifth adds its own token in notes.txt and
# removes it again (history only). The last one is clean. Prints the list
# ("acme/repo-NN file:///DIR/repo-NN") and writes DIR/expected.tsv: repository,
# then the distinct tokens it holds (as their last 4 characters, as the redacted reports show them).
set -euo pipefail

dir="${1:?usage: org_repos.sh DIR [N]}"
n="${2:-12}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

token() { # token SEED: a synthetic cfut_ token, the same for the same SEED
  python3 - "$1" <<'PY'
import random, string, sys, zlib
r = random.Random("keyflare-org-audit-" + sys.argv[1])
body = "".join(r.choice(string.ascii_letters + string.digits) for _ in range(40))
print("cfut_" + body + format(zlib.crc32(body.encode()), "08x"))
PY
}
SHARED_A="$(token shared-a)"
SHARED_B="$(token shared-b)"
: >"$dir/expected.tsv"
for ((i = 0; i < n; i++)); do
  name="$(printf 'repo-%02d' "$i")"
  repo="$dir/$name"
  rm -rf "$repo"
  git init -q -b main "$repo"
  g() {
    git -C "$repo" -c user.name=Test -c user.email=test@example.com -c commit.gpgsign=false "$@"
  }
  export GIT_AUTHOR_DATE="2024-01-0$((1 + i % 9))T12:00:00Z" GIT_COMMITTER_DATE="2024-01-0$((1 + i % 9))T12:00:00Z"
  printf '# %s\n' "$name" >"$repo/README.md"
  printf 'print("hello from %s")\n' "$name" >"$repo/app.py"
  g add -A && g commit -qm "start"
  held=()
  if ((i < n - 1)); then
    if ((i % 3 == 0)); then
      printf 'CLOUDFLARE_API_TOKEN=%s\n' "$SHARED_A" >"$repo/.env"
      held+=("${SHARED_A: -4}")
    fi
    if ((i % 4 == 0)); then
      mkdir -p "$repo/deploy"
      printf 'env:\n  CF_API_TOKEN: %s\n' "$SHARED_B" >"$repo/deploy/ci.yml"
      held+=("${SHARED_B: -4}")
    fi
    if ((i % 2 == 0)); then
      own="$(token "own-$i")"
      printf 'const token = "%s";\n' "$own" >"$repo/config.js"
      held+=("${own: -4}")
    fi
  fi
  g add -A && g commit -qm "config" --allow-empty
  if ((i < n - 1 && i % 5 == 0)); then
    gone="$(token "gone-$i")"
    printf 'temporary: %s\n' "$gone" >"$repo/notes.txt"
    g add -A && g commit -qm "notes"
    g rm -q notes.txt && g commit -qm "remove the notes"
    held+=("${gone: -4}")
  fi
  printf 'acme/%s file://%s\n' "$name" "$repo"
  printf 'acme/%s\t%s\n' "$name" "${held[*]:-}" >>"$dir/expected.tsv"
done
