#!/usr/bin/env bash
# The organisation pipeline on one machine: N repositories reached by file://
# URLs, one `keyflare audit --format json` shard each (JOBS at a time, as a CI
# matrix or an Indexed Job would run them), then `keyflare merge` to one report.
# Prints the wall time of each stage and of the whole.
#
# Usage: bash bench/org_pipeline.sh [KEYFLARE_BIN] [N=12] [JOBS=2]
# Everything is made under a temporary directory, removed at the end.
# Secrets are synthetic (cfut_ + 40 random characters + their CRC-32).
set -euo pipefail

bin=$(realpath "${1:-target/release/keyflare}")
n=${2:-12}
jobs=${3:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$work/gitconfig
: > "$work/gitconfig"

token() { # token SEED: a synthetic cfut_ token
	python3 - "$1" <<'EOF'
import random, string, sys, zlib
r = random.Random(int(sys.argv[1]))
body = "".join(r.choice(string.ascii_letters + string.digits) for _ in range(40))
print(f"cfut_{body}{zlib.crc32(body.encode()):08x}")
EOF
}

shared=$(token 0)
start=$(date +%s.%N)
for i in $(seq 1 "$n"); do
	src=$work/src/repo-$i
	mkdir -p "$src/config"
	git -C "$src" init -q -b main
	# 20 commits each; a third of the repositories hold the shared token.
	for c in $(seq 1 20); do
		echo "line $c" >> "$src/notes.txt"
		if [ "$c" = 5 ]; then echo "CLOUDFLARE_API_TOKEN=$(token "$i")" > "$src/.env"; fi
		if [ "$c" = 9 ] && [ $((i % 3)) = 0 ]; then
			echo "CLOUDFLARE_API_TOKEN=$shared" > "$src/config/deploy.env"
		fi
		if [ "$c" = 15 ]; then rm -f "$src/.env"; fi
		git -C "$src" add -A
		GIT_AUTHOR_DATE="2024-01-$(printf %02d "$c")T10:00:00+00:00" \
			GIT_COMMITTER_DATE="2024-01-$(printf %02d "$c")T10:00:00+00:00" \
			git -C "$src" commit -qm "commit $c"
	done
	git clone -q --bare "$src" "$work/remote/acme/repo-$i.git"
done
made=$(date +%s.%N)

mkdir -p "$work/shards"
seq 1 "$n" | xargs -P "$jobs" -I{} "$bin" audit "file://$work/remote/acme/repo-{}.git" \
	--format json -q -o "$work/shards/repo-{}.json" || true # exit 1: credentials found
audited=$(date +%s.%N)
"$bin" merge "$work/shards" -o "$work/org-audit.md" || true
"$bin" merge "$work/shards" -o "$work/org-audit.html" || true
merged=$(date +%s.%N)

echo "repositories: $n, audit jobs in parallel: $jobs"
echo "make repositories: $(echo "$made - $start" | bc) s (not part of the pipeline)"
echo "audit (clone + history + tree, per-repository shards): $(echo "$audited - $made" | bc) s"
echo "merge (markdown + html): $(echo "$merged - $audited" | bc) s"
echo "pipeline (audit + merge): $(echo "$merged - $made" | bc) s"
grep -m1 -A3 '^| repositories' "$work/org-audit.md"
