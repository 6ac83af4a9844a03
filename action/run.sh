#!/usr/bin/env bash
# The steps of keyflare's GitHub Action (action.yml), runnable outside GitHub
# too (tests/action.sh does). One subcommand per step:
#
#   run.sh cache-key  the build cache's key, from the action's own source
#   run.sh download   the released binary of the action's version, its SHA-256
#                     checked against the release's SHA256SUMS (downloaded=true);
#                     downloaded=false when there is none to take (build it)
#   run.sh install    cargo install --locked keyflare from the action's source
#   run.sh ensure     download, else install (for workflows without the caches)
#   run.sh scan       pick what to scan from the event, run keyflare once with
#                     --fail-on none (JSON, SARIF, markdown and annotations in
#                     one run), write the job summary and the step's outputs
#   run.sh gate       fail the job per the fail-on input, from the JSON report
#
# Inputs come from INPUT_* variables that action.yml passes explicitly; the
# event from GITHUB_EVENT_NAME and GITHUB_EVENT_PATH; results go to
# GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. JSON is read with python3 (on every
# GitHub-hosted runner), never jq, so the script runs wherever python3 does.
# KEYFLARE_BIN names the keyflare binary (default: keyflare on PATH).
set -euo pipefail

ZERO_SHA_RE='^0+$'
# GitHub refuses a step summary over 1 MiB; stay clear of it.
SUMMARY_LIMIT="${KEYFLARE_SUMMARY_LIMIT:-1000000}"

die() { # die CODE MESSAGE: an error annotation, then exit CODE
  printf '::error title=keyflare action::%s\n' "$2"
  exit "$1"
}
notice() { printf '::notice title=keyflare action::%s\n' "$1"; }
warn() { printf '::warning title=keyflare action::%s\n' "$1"; }

# set_output NAME VALUE (to GITHUB_OUTPUT, or stderr when run by hand)
set_output() {
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  else
    printf 'output %s=%s\n' "$1" "$2" >&2
  fi
}

# event KEY.PATH: one string from the event payload ('' when absent)
event() {
  [[ -n "${GITHUB_EVENT_PATH:-}" && -f "${GITHUB_EVENT_PATH}" ]] || return 0
  python3 - "$GITHUB_EVENT_PATH" "$1" <<'PY'
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
if v is None:
    v = ""
elif isinstance(v, bool):
    v = "true" if v else "false"
print(v)
PY
}

bool() { # bool NAME VALUE: true|false, or die
  case "${2,,}" in
    true | yes | 1) echo true ;;
    false | no | 0 | '') echo false ;;
    *) die 2 "input $1 must be true or false, got '$2'" ;;
  esac
}

# ---------------------------------------------------------------- cache-key
cmd_cache_key() {
  local src="${1:-${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}}"
  local cargo_home="${CARGO_HOME:-$HOME/.cargo}"
  local rustc="none"
  if command -v rustc >/dev/null; then rustc="$(rustc -V)"; fi
  # hashFiles() only sees the workspace, and the action lives outside it when
  # used as owner/keyflare@v1: hash the sources that go into the binary here.
  local key
  key="$(python3 - "$src" "$rustc" <<'PY'
import hashlib, os, platform, sys
src, rustc = sys.argv[1], sys.argv[2]
h = hashlib.sha256(rustc.encode() + b"\0")
files = [f for f in ("Cargo.lock", "Cargo.toml", "build.rs") if os.path.isfile(os.path.join(src, f))]
for top in ("src", "rules"):
    for root, dirs, names in os.walk(os.path.join(src, top)):
        dirs.sort()
        files += sorted(os.path.relpath(os.path.join(root, n), src) for n in names)
for f in files:
    h.update(f.replace(os.sep, "/").encode() + b"\0")
    h.update(open(os.path.join(src, f), "rb").read() + b"\0")
# The runner image too: a binary built on a newer glibc fails on an older one.
image = os.environ.get("ImageOS", "")
if not image:
    try:
        rel = platform.freedesktop_os_release()
        image = rel.get("ID", "") + rel.get("VERSION_ID", "")
    except (OSError, AttributeError):
        image = platform.mac_ver()[0] or platform.release()
image = "".join(c for c in image if c.isalnum() or c in "._") or "unknown"
print(f"{platform.system()}-{platform.machine()}-{image}-{h.hexdigest()[:32]}")
PY
)"
  # Two caches: the binary (small, restored on every run) and the build
  # (registry and target/, hundreds of MB, restored only to rebuild).
  set_output key "keyflare-bin-$key"
  set_output build-key "keyflare-build-$key"
  set_output build-restore-key "keyflare-build-${key%-*}-"
  set_output cargo-home "$cargo_home"
  set_output bin "$cargo_home/bin/keyflare"
  set_output target-dir "${KEYFLARE_TARGET_DIR:-$HOME/.cache/keyflare-action/target}"
  echo "cache key: keyflare-bin-$key (rustc: $rustc)"
}

# ----------------------------------------------------------------- download
# release_target: the release asset's target triple for this runner ('' when
# no binary is released for it).
release_target() {
  local os arch
  os="$(uname -s)" arch="$(uname -m)"
  case "$os/$arch" in
    Linux/x86_64 | Linux/amd64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-musl ;;
    Darwin/x86_64) echo x86_64-apple-darwin ;;
    Darwin/arm64 | Darwin/aarch64) echo aarch64-apple-darwin ;;
    MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64) echo x86_64-pc-windows-msvc ;;
    *) echo "" ;;
  esac
}

# A release asset is taken only if its SHA-256 is the one in the release's
# SHA256SUMS. A missing release, asset or checksums file (or no network) is
# not an error: downloaded=false, and the action builds from source. A
# checksum MISMATCH is an error (exit 2), never a silent fallback: the asset
# was altered or corrupted, and someone must look.
cmd_download() {
  local src="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
  local root="${KEYFLARE_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}"
  local version="${KEYFLARE_VERSION:-}" target repo base
  if [[ -z "$version" ]]; then
    version="$(sed -n '/^\[package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' "$src/Cargo.toml" | head -1)"
  fi
  target="${KEYFLARE_TARGET:-$(release_target)}"
  repo="${KEYFLARE_RELEASE_REPO:-${GITHUB_ACTION_REPOSITORY:-}}"
  base="${KEYFLARE_RELEASE_URL:-}"
  if [[ -z "$base" && -n "$repo" ]]; then
    base="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download"
  fi
  if [[ -z "$version" || -z "$target" || -z "$base" ]]; then
    notice "no released keyflare binary to take (version '${version}', target '${target:-none}', repository '${repo:-unknown}'): building from source"
    set_output downloaded false
    return 0
  fi
  local exe="" ; [[ "$target" == *windows* ]] && exe=.exe
  local asset="keyflare-v$version-$target$exe"
  local dest="$root/bin/keyflare$exe"
  mkdir -p "$root/bin"
  local rc=0
  python3 - "${base%/}/v$version" "$asset" "$dest" <<'PY' || rc=$?
import hashlib, os, sys, tempfile, urllib.error, urllib.parse, urllib.request
base, asset, dest = sys.argv[1:4]
u = urllib.parse.urlsplit(base)
# HTTPS only, except a file server on this machine (tests, mirrors).
if u.scheme != "https" and not (u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost", "::1")):
    print(f"the release URL must be https://, not {base}", file=sys.stderr)
    sys.exit(3)
def get(name):
    with urllib.request.urlopen(f"{base}/{name}", timeout=120) as r:
        return r.read()
try:
    sums = get("SHA256SUMS").decode("utf-8", "replace")
except (urllib.error.URLError, OSError, ValueError) as e:
    print(f"no SHA256SUMS in the release at {base}: {e}", file=sys.stderr)
    sys.exit(3)
want = None
for line in sums.splitlines():
    parts = line.split()
    if len(parts) == 2 and parts[1].lstrip("*") == asset:
        want = parts[0].lower()
if want is None:
    print(f"the release's SHA256SUMS lists no {asset}", file=sys.stderr)
    sys.exit(3)
try:
    data = get(asset)
except (urllib.error.URLError, OSError, ValueError) as e:
    print(f"cannot download {base}/{asset}: {e}", file=sys.stderr)
    sys.exit(3)
got = hashlib.sha256(data).hexdigest()
if got != want:
    print(f"CHECKSUM MISMATCH for {base}/{asset}: SHA256SUMS says {want}, the download is {got}", file=sys.stderr)
    sys.exit(4)
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".keyflare-download-")
with os.fdopen(fd, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, dest)
print(f"{asset}: sha256 {got} (as in SHA256SUMS)")
PY
  case "$rc" in
    0) ;;
    4) die 2 "the released keyflare binary $asset does not match the release's SHA256SUMS: refusing it (and not building instead, which would hide it). Report it to the keyflare maintainers." ;;
    *)
      warn "no released keyflare binary $asset for v$version: building from source"
      set_output downloaded false
      return 0
      ;;
  esac
  if ! "$dest" --version 2>/dev/null | grep -qF "$version"; then
    rm -f "$dest"
    warn "the released binary $asset does not run here or is not v$version: building from source"
    set_output downloaded false
    return 0
  fi
  echo "keyflare: $("$dest" --version) from the release ($target), checksum verified"
  set_output downloaded true
}

# ensure: a keyflare binary in the install root, downloaded or built.
cmd_ensure() {
  local out
  out="$(GITHUB_OUTPUT='' cmd_download 2>&1)" || {
    echo "$out"
    exit 2
  }
  echo "$out"
  grep -q '^output downloaded=true' <<<"$out" || cmd_install
}

# ------------------------------------------------------------------ install
cmd_install() {
  local src="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
  command -v cargo >/dev/null ||
    die 2 "cargo not found: GitHub-hosted Linux and macOS runners have it; on other runners install Rust before this action"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${KEYFLARE_TARGET_DIR:-$HOME/.cache/keyflare-action/target}}"
  echo "::group::cargo install --locked --path $src"
  # --force: a restored cache can hold an older keyflare binary that cargo's
  # own install records (not cached) don't know about.
  cargo install --locked --force --root "${KEYFLARE_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}" --path "$src"
  echo "::endgroup::"
}

# --------------------------------------------------------------------- scan
# ensure_commits REPO BASE HEAD: both commits and their merge base present,
# fetching from origin if the checkout was too shallow.
ensure_commits() {
  local repo="$1" base="$2" head="$3"
  have() { git -C "$repo" cat-file -e "$1^{commit}" 2>/dev/null; }
  if have "$base" && have "$head" && git -C "$repo" merge-base "$base" "$head" >/dev/null 2>&1; then
    return 0
  fi
  if [[ "$(git -C "$repo" rev-parse --is-shallow-repository 2>/dev/null)" == true ]] ||
    ! have "$base" || ! have "$head"; then
    warn "the checkout lacks commits of ${base:0:12}..${head:0:12} (shallow clone?): fetching them. Set fetch-depth: 0 on actions/checkout to skip this."
    if [[ "$(git -C "$repo" rev-parse --is-shallow-repository 2>/dev/null)" == true ]]; then
      git -C "$repo" fetch --quiet --no-tags --unshallow origin >&2 || true
    fi
    have "$base" || git -C "$repo" fetch --quiet --no-tags origin "$base" >&2 || true
    have "$head" || git -C "$repo" fetch --quiet --no-tags origin "$head" >&2 || true
  fi
  have "$base" && have "$head"
}

# ensure_history REPO: unshallow a shallow clone before a history scan.
ensure_history() {
  [[ "$(git -C "$1" rev-parse --is-shallow-repository 2>/dev/null)" == true ]] || return 0
  warn "shallow clone: fetching the whole history for a history scan. Set fetch-depth: 0 on actions/checkout to skip this."
  git -C "$1" fetch --quiet --no-tags --unshallow origin >&2 ||
    warn "could not fetch the whole history: only the commits in the clone are scanned"
}

# The event decides what to scan: sets scan_flags, scope, what.
plan_scan() {
  local repo="$1" mode="$2" event_name="${GITHUB_EVENT_NAME:-}"
  scan_flags=()
  scope=""
  case "$mode" in
    tree)
      scope=tree what="the working tree"
      return 0
      ;;
    history)
      scan_flags=(--git) scope=history what="the whole history (all refs)"
      return 0
      ;;
  esac
  local base="" head=""
  case "$event_name" in
    pull_request | pull_request_target)
      base="$(event pull_request.base.sha)" head="$(event pull_request.head.sha)"
      [[ -n "$base" && -n "$head" ]] || die 2 "the $event_name event has no pull_request.base.sha/head.sha"
      ensure_commits "$repo" "$base" "$head" ||
        die 2 "commits ${base:0:12} (base) or ${head:0:12} (head) are not in the checkout and could not be fetched: use actions/checkout with fetch-depth: 0"
      scope=range what="the commits of this pull request (${base:0:12}..${head:0:12})" kind="pull request"
      pr_base="$base"
      ;;
    merge_group)
      base="$(event merge_group.base_sha)" head="$(event merge_group.head_sha)"
      ensure_commits "$repo" "$base" "$head" || die 2 "merge group commits missing: use fetch-depth: 0"
      scope=range what="the commits of this merge group (${base:0:12}..${head:0:12})" kind="merge group"
      ;;
    push)
      base="$(event before)" head="$(event after)"
      if [[ -z "$head" || "$head" =~ $ZERO_SHA_RE ]]; then
        scope=none what="nothing: the push deleted ${GITHUB_REF:-a ref}"
        return 0
      fi
      kind="push"
      if [[ -n "$base" && ! "$base" =~ $ZERO_SHA_RE ]] && ensure_commits "$repo" "$base" "$head"; then
        scope=range what="the pushed commits (${base:0:12}..${head:0:12})"
      else
        # A new branch (before is all zeros), or a force-push whose old tip is
        # gone: the pushed commits are those the default branch lacks.
        local default ref default_sha=""
        default="$(event repository.default_branch)" ref="$(event ref)"
        if [[ -n "$default" && "$ref" != "refs/heads/$default" ]]; then
          default_sha="$(git -C "$repo" rev-parse --verify --quiet "refs/remotes/origin/$default^{commit}" || true)"
          if [[ -z "$default_sha" ]]; then
            git -C "$repo" fetch --quiet --no-tags origin "+refs/heads/$default:refs/remotes/origin/$default" >&2 || true
            default_sha="$(git -C "$repo" rev-parse --verify --quiet "refs/remotes/origin/$default^{commit}" || true)"
          fi
        fi
        if [[ -n "$default_sha" ]] && ensure_commits "$repo" "$default_sha" "$head"; then
          base="$default_sha"
          scope=range what="the pushed commits that $default lacks (${base:0:12}..${head:0:12})"
          notice "new branch or rewritten history: scanning the commits that $default lacks"
        else
          scan_flags=(--git) scope=history what="the whole history (new branch with no default branch to compare with)"
          notice "new branch: scanning the whole history"
          return 0
        fi
      fi
      ;;
    *)
      if [[ "$mode" == range ]]; then
        die 2 "mode: range needs a pull_request, push or merge_group event, not '${event_name:-none}'"
      fi
      scan_flags=(--git) scope=history what="the whole history (all refs)"
      return 0
      ;;
  esac
  scan_flags=(--range "$base..$head")
}

# base_suppressions REPO BASE DIR: a pull request must not grant its own
# suppressions, so keyflare.toml and the baseline are read as the base commit
# has them, written under DIR/base/ (at their paths in the repository, so that
# the configuration's `baseline` key resolves there too). Prints
# "config PATH", "baseline PATH" and "changed NAME" lines. A file outside the
# repository (an absolute config input) is left as it is: the pull request
# cannot change it.
base_suppressions() {
  python3 - "$1" "$2" "$3" "${INPUT_CONFIG:-}" "${INPUT_BASELINE:-}" <<'PY'
import os, subprocess, sys
repo, base, out, cfg_in, bl_in = sys.argv[1:6]
top = subprocess.run(["git", "-C", repo, "rev-parse", "--show-toplevel"],
                     capture_output=True, text=True).stdout.strip()
if not top:
    sys.exit(0)
top = os.path.realpath(top)
EMPTY_BASELINE = b'{"version": 1, "tool": "keyflare", "entries": []}\n'

def rel(path):
    p = os.path.relpath(os.path.realpath(path), top)
    return None if p == ".." or p.startswith(".." + os.sep) else p.replace(os.sep, "/")

def at_base(r):
    got = subprocess.run(["git", "-C", top, "show", f"{base}:{r}"], capture_output=True)
    return got.stdout if got.returncode == 0 else None

def now(r):
    try:
        return open(os.path.join(top, r), "rb").read()
    except OSError:
        return None

def place(r, data):
    p = os.path.join(out, "base", r)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as fh:
        fh.write(data)
    return p

cfg = cfg_in or os.path.join(repo, "keyflare.toml")
cfg_rel = rel(cfg)
base_cfg = None
if cfg_rel is not None:
    base_cfg = at_base(cfg_rel)
    if base_cfg != now(cfg_rel):
        print(f"changed {cfg_rel}")
    # The base had no configuration: an empty one, not the pull request's.
    print(f"config {place(cfg_rel, base_cfg or b'')}")
bl_rel = None
if bl_in:
    bl_rel = rel(bl_in)
elif base_cfg is not None:
    try:
        import tomllib
        key = tomllib.loads(base_cfg.decode("utf-8", "replace")).get("baseline")
    except Exception:
        key = None
    if isinstance(key, str):
        bl_rel = os.path.normpath(os.path.join(os.path.dirname(cfg_rel), key)).replace(os.sep, "/")
        if bl_rel.startswith(".."):
            bl_rel = None
if bl_rel is not None:
    base_bl = at_base(bl_rel)
    if base_bl != now(bl_rel):
        print(f"changed {bl_rel}")
    p = place(bl_rel, base_bl or EMPTY_BASELINE)
    if bl_in:
        print(f"baseline {p}")
PY
}

# check_fail_on VALUE: keyflare's --fail-on grammar: any, active or none (at
# most one) plus examples and/or notes, comma-separated; or all.
check_fail_on() {
  local w level=""
  local -a words
  IFS=, read -r -a words <<<"$1"
  ((${#words[@]} > 0)) || die 2 "input fail-on is empty"
  for w in "${words[@]}"; do
    case "$w" in
      any | active | none | all)
        [[ -z "$level" || "$level" == "$w" ]] || die 2 "input fail-on takes one of any, active, none (or all), got '$1'"
        level="$w"
        ;;
      examples | example | notes | note) ;;
      *) die 2 "input fail-on must be any, active or none, plus examples and/or notes (comma-separated), or all; got '$1'" ;;
    esac
  done
}

cmd_scan() {
  local path="${INPUT_PATH:-.}" mode="${INPUT_MODE:-auto}" fail_on="${INPUT_FAIL_ON:-any}"
  local verify upload
  verify="$(bool verify "${INPUT_VERIFY:-false}")"
  upload="$(bool upload-sarif "${INPUT_UPLOAD_SARIF:-true}")"
  case "$mode" in auto | range | history | tree) ;; *) die 2 "input mode must be auto, range, history or tree, got '$mode'" ;; esac
  check_fail_on "$fail_on"
  if [[ ",$fail_on," == *,active,* && "$verify" != true ]]; then
    die 2 "fail-on: active needs verify: true (without verification no finding is known to be active)"
  fi

  # Extra flags, split like a shell would (quotes kept), never evaluated.
  local -a extra=()
  if [[ -n "${INPUT_ARGS:-}" ]]; then
    mapfile -d '' -t extra < <(python3 -c 'import shlex, sys; sys.stdout.write("".join(a + "\0" for a in shlex.split(sys.argv[1])))' "$INPUT_ARGS")
  fi
  local a
  for a in ${extra[@]+"${extra[@]}"}; do
    case "$a" in
      --no-redact) die 2 "args: --no-redact would print whole secrets into the job log, summary and annotations" ;;
      --format | --format=* | -f | -f* | --output | --output=* | -o | -o* | --fail-on | --fail-on=*)
        die 2 "args: '$a' is set by the action (use the fail-on and sarif-file inputs)" ;;
    esac
  done

  local outdir
  if [[ -n "${RUNNER_TEMP:-}" ]]; then
    outdir="$RUNNER_TEMP/keyflare"
    mkdir -p "$outdir"
  else
    outdir="$(mktemp -d "${TMPDIR:-/tmp}/keyflare.XXXXXX")"
  fi
  local json="$outdir/keyflare.json" md="$outdir/keyflare.md"
  local sarif="${INPUT_SARIF_FILE:-$outdir/keyflare.sarif}"
  mkdir -p "$(dirname "$sarif")"
  rm -f "$json" "$md" "$sarif"

  local -a scan_flags=()
  local scope="" what="" kind="" pr_base=""
  plan_scan "$path" "$mode"
  [[ "$scope" == history ]] && ensure_history "$path"
  local category="${INPUT_CATEGORY:-}"
  [[ -n "$category" ]] || category="keyflare/$scope"

  # Forks get a read-only token: SARIF upload would fail there.
  local head_repo base_repo
  head_repo="$(event pull_request.head.repo.full_name)"
  base_repo="$(event pull_request.base.repo.full_name)"
  if [[ "$upload" == true && -n "$head_repo" && "$head_repo" != "${base_repo:-${GITHUB_REPOSITORY:-}}" ]]; then
    notice "pull request from a fork ($head_repo): its token cannot upload SARIF, so the findings are in the annotations and the job summary only"
    upload=false
  fi

  if [[ "$scope" == none ]]; then
    echo "keyflare: scanning $what"
    set_output findings 0
    set_output active 0
    set_output sarif-file ""
    set_output json-file ""
    set_output upload-sarif false
    set_output category "$category"
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
      printf '**keyflare** scanned %s.\n' "$what" >>"$GITHUB_STEP_SUMMARY"
    fi
    return 0
  fi

  local bin="${KEYFLARE_BIN:-keyflare}"
  local -a cmd=("$bin" scan ${scan_flags[@]+"${scan_flags[@]}"} --fail-on none
    --format json --output "$json"
    --report "sarif:$sarif" --report "markdown:$md" --report "github:-")
  [[ "$verify" == true ]] && cmd+=(--verify)
  # A pull request's own keyflare.toml and baseline could suppress its own
  # leak: they are read as the base commit has them.
  local base_config="${INPUT_CONFIG:-}" base_baseline="${INPUT_BASELINE:-}" changed=""
  if [[ -n "$pr_base" ]]; then
    local line
    while IFS= read -r line; do
      case "$line" in
        "config "*) base_config="${line#config }" ;;
        "baseline "*) base_baseline="${line#baseline }" ;;
        "changed "*) changed+="${changed:+, }${line#changed }" ;;
      esac
    done < <(base_suppressions "$path" "$pr_base" "$outdir")
    if [[ -n "$changed" ]]; then
      notice "this pull request changes $changed: the scan used the base commit's version, so that a pull request cannot suppress its own findings"
    fi
  fi
  [[ -n "$base_baseline" ]] && cmd+=(--baseline "$base_baseline")
  [[ -n "$base_config" ]] && cmd+=(--config "$base_config")
  cmd+=(${extra[@]+"${extra[@]}"} "$path")

  echo "keyflare: scanning $what" >&2
  printf 'keyflare: running' >&2
  printf ' %q' "${cmd[@]}" >&2
  printf '\n' >&2
  # Annotations (the github format) go to stdout, where the runner reads them.
  local rc=0
  "${cmd[@]}" || rc=$?
  if [[ $rc -ne 0 && $rc -ne 1 ]]; then
    if [[ $rc -eq 2 && -s "$json" && -s "$sarif" && -s "$md" ]]; then
      warn "keyflare could not read everything it was asked to scan (exit 2; see its warnings above): the reports cover what it read"
    else
      if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        printf '**keyflare** failed (exit %s) scanning %s: see the step log.\n' "$rc" "$what" >>"$GITHUB_STEP_SUMMARY"
      fi
      die 2 "keyflare failed (exit $rc) before writing its reports"
    fi
  fi

  # Counts, the summary (truncated under GitHub's cap) and the note about
  # secrets that the range added and removed again.
  local stats
  stats="$(python3 - "$json" "$md" "$scope" "$what" "${kind:-}" "$SUMMARY_LIMIT" "${GITHUB_STEP_SUMMARY:-}" "$changed" <<'PY'
import json, sys
jpath, mdpath, scope, what, kind, limit, out, changed = sys.argv[1:9]
limit = int(limit)
rep = json.load(open(jpath, encoding="utf-8"))
findings = rep.get("findings", [])
active = [f for f in findings if (f.get("verification") or {}).get("status") == "active"]
gone = [f for f in findings if f.get("in_head") is False]

def n(count, one, many):
    return f"{count} {one if count == 1 else many}"

summary = rep.get("summary") or {}
suppressed = summary.get("suppressed") or 0
by_change = summary.get("suppressions_added_by_this_change") or 0
head = [f"**keyflare** scanned {what}: {n(len(findings), 'finding', 'findings')}"
        + (f", {len(active)} active" if active else "")
        + (f"; {suppressed} suppressed (by markers {summary.get('suppressed_by_markers', 0)}, "
           f"config {summary.get('suppressed_by_config', 0)}, baseline {summary.get('suppressed_by_baseline', 0)})"
           if suppressed else "")
        + (f"; {by_change} suppressed by this change, not applied" if by_change else "")
        + ".", ""]
if changed:
    head.append(f"> [!IMPORTANT]\n> This {kind or 'change'} changes {changed}: the scan used the base commit's "
                "version, so that a pull request cannot suppress its own findings.")
    head.append("")
if gone:
    it, them = ("it", "it") if len(gone) == 1 else ("they", "them")
    if scope == "range":
        head.append(f"> [!WARNING]\n> {n(len(gone), 'secret was', 'secrets were')} added and removed again "
                    f"inside this {kind or 'range'}. Code scanning will not show {them}, since the final files "
                    f"no longer have {them}, but {it} {'is' if len(gone) == 1 else 'are'} in the git history: "
                    f"rotate {them}. Squashing or force-pushing does not un-leak a pushed secret"
                    + (": GitHub keeps the pull request's commits." if kind == "pull request" else "."))
    else:
        head.append(f"> [!WARNING]\n> {n(len(gone), 'secret is', 'secrets are')} in the git history but no "
                    f"longer in the files. Deleting a file does not un-leak a secret: rotate {them}, "
                    "then purge the history.")
    head.append(">")
    for f in gone[:50]:
        where = f"`{f.get('path')}:{f.get('line')}`"
        commit = f" (commit `{str(f.get('commit'))[:12]}`)" if f.get("commit") else ""
        head.append(f"> - {where}: {f.get('rule_name') or f.get('rule_id')} `{f.get('secret')}`{commit}")
    if len(gone) > 50:
        head.append(f"> - and {len(gone) - 50} more: see the report below")
    head.append("")
prefix = "\n".join(head) + "\n"

md = open(mdpath, "rb").read()
if md and not md.endswith(b"\n"):
    md += b"\n"
body = md
note = b""
room = limit - len(prefix.encode()) - 600
if len(md) > room:
    cut = md.rfind(b"\n", 0, max(room, 0))
    body = md[: cut + 1 if cut >= 0 else 0]
    body = body.decode("utf-8", "ignore").encode()
    note = (f"\n\n> **Truncated**: the report is {len(md):,} bytes, over the job summary's 1 MiB limit. "
            f"All {len(findings)} findings are in the step log (annotations), the SARIF file "
            "(code scanning) and the JSON report (the json-file output).\n").encode()
if out:
    with open(out, "ab") as fh:
        fh.write(prefix.encode() + b"\n" + body + note)
print(len(findings), len(active), len(gone), len(rep.get("warnings") or []))
PY
)"
  local findings active gone warnings
  read -r findings active gone warnings <<<"$stats"

  set_output findings "$findings"
  set_output active "$active"
  set_output sarif-file "$sarif"
  set_output json-file "$json"
  set_output markdown-file "$md"
  set_output upload-sarif "$upload"
  set_output category "$category"
  echo "keyflare: $findings finding(s), $active active, $gone added and removed again, $warnings warning(s); reports in $outdir" >&2
}

# --------------------------------------------------------------------- gate
cmd_gate() {
  local fail_on="${INPUT_FAIL_ON:-any}" json="${KEYFLARE_JSON:-}"
  check_fail_on "$fail_on"
  [[ "$fail_on" == none ]] && {
    echo "keyflare: fail-on none: not failing"
    return 0
  }
  if [[ -z "$json" ]]; then
    echo "keyflare: nothing was scanned"
    return 0
  fi
  [[ -f "$json" ]] || die 2 "the JSON report $json is missing: did the scan step run?"
  local verdict
  verdict="$(python3 - "$json" "$fail_on" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1], encoding="utf-8"))
fs = rep.get("findings", [])
words = set(sys.argv[2].split(","))
level = next((w for w in ("active", "none", "all", "any") if w in words), "any")
def fails(f):
    # As keyflare's --fail-on: credentials by level; documented examples and
    # notes only when asked for (a report without "class" holds credentials).
    cls = f.get("class", "credential")
    if cls == "example":
        return level == "all" or bool(words & {"examples", "example"})
    if cls == "note":
        return level == "all" or bool(words & {"notes", "note"})
    if level == "none":
        return False
    return level != "active" or (f.get("verification") or {}).get("status") == "active"
creds = [f for f in fs if f.get("class", "credential") == "credential"]
active = [f for f in creds if (f.get("verification") or {}).get("status") == "active"]
bad = [f for f in fs if fails(f)]
print(len(bad), len(fs), len(creds), len(active), len(rep.get("warnings") or []))
PY
)"
  local bad total creds active warnings
  read -r bad total creds active warnings <<<"$verdict"
  if ((bad > 0)); then
    if [[ ",$fail_on," == *,active,* ]]; then
      die 1 "$active live Cloudflare credential(s) found (fail-on: $fail_on): rotate them now; see the job summary"
    fi
    die 1 "$bad failing finding(s), $creds of them leaked Cloudflare credential(s) (fail-on: $fail_on): see the annotations and the job summary"
  fi
  if ((warnings > 0)); then
    die 2 "the scan was incomplete ($warnings warning(s)): keyflare cannot vouch for what it did not read"
  fi
  echo "keyflare: no failing findings (fail-on: $fail_on; $total finding(s), $creds credential(s), $active active)"
}

case "${1:-}" in
  cache-key) shift && cmd_cache_key "$@" ;;
  download) cmd_download ;;
  install) cmd_install ;;
  ensure) cmd_ensure ;;
  scan) cmd_scan ;;
  gate) cmd_gate ;;
  *)
    echo "usage: $0 cache-key [SRC] | download | install | ensure | scan | gate" >&2
    exit 2
    ;;
esac
