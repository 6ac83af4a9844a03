#!/usr/bin/env bash
# Organisation audit: the steps that .github/workflows/org-audit.yml and the
# Kubernetes Jobs in deploy/kubernetes/ run, as one script so that the logic is
# tested outside both engines (tests/org_audit.sh). One subcommand per step:
#
#   org-audit.sh list ORG >repos.txt
#       Every repository of ORG from the GitHub REST API
#       (GET $GITHUB_API_URL/orgs/ORG/repos?per_page=100&type=all, following
#       Link: rel="next"; /users/ORG/repos if ORG is a user). One line per
#       repository, "OWNER/REPO CLONE_URL", sorted. Archived repositories and
#       forks are left out unless INCLUDE_ARCHIVED / INCLUDE_FORKS is true.
#       Needs python3.
#   org-audit.sh plan REPOS.txt [BATCH_SIZE] [MAX_JOBS]
#       How many jobs audit REPOS.txt: BATCH_SIZE repositories per job (10),
#       more per job if that would take more than MAX_JOBS jobs (256, GitHub's
#       matrix limit). Prints repositories=, jobs=, batch-size= and matrix=
#       (a JSON matrix of the job indexes) lines, for GITHUB_OUTPUT.
#   org-audit.sh slice REPOS.txt INDEX COUNT
#       The repositories of slice INDEX (0-based) of COUNT: contiguous, sizes
#       differing by at most one, every repository in exactly one slice.
#   org-audit.sh audit REPOS.txt INDEX COUNT OUTDIR
#       keyflare audit --format json on a full (mirror) clone of each
#       repository of the slice: OUTDIR/shards/OWNER__REPO.json, one line per
#       repository in OUTDIR/status/INDEX.tsv. A repository that fails does
#       not stop the others; the exit status is 2 if any failed.
#   org-audit.sh merge SHARDS_DIR REPORT_DIR
#       keyflare merge of every shard into REPORT_DIR/org-audit.{md,html,json,sarif}.
#
# Environment: KEYFLARE_BIN (default keyflare on PATH); KEYFLARE_SHARD_FLAGS,
# extra flags for each audit (split on blanks); KEYFLARE_MERGE_FLAGS, extra
# flags for merge (--verify); GITHUB_API_URL, GITHUB_SERVER_URL (GitHub
# Enterprise); GITHUB_TOKEN, a read-only token: it lists private repositories
# and clones them, through git's environment (never a command line or a URL).
# Only bash, git and keyflare are needed past `list`, so a small image runs it.
set -euo pipefail

die() {
  printf 'org-audit: error: %s\n' "$1" >&2
  exit "${2:-2}"
}
note() { printf 'org-audit: %s\n' "$1" >&2; }

bool() { # bool VALUE: true|false
  case "${1,,}" in
    true | yes | 1) echo true ;;
    *) echo false ;;
  esac
}

# read_repos FILE: the list's "NAME URL" lines into the arrays NAMES and URLS
# (comments and blank lines skipped; a missing URL is the server's .git URL).
read_repos() {
  [[ -f "$1" ]] || die "no repository list: $1"
  NAMES=() URLS=()
  local server="${GITHUB_SERVER_URL:-https://github.com}" name url rest
  while read -r name url rest || [[ -n "${name:-}" ]]; do
    [[ -z "${name:-}" || "$name" == \#* ]] && continue
    [[ "$name" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "$1: '$name' is not OWNER/REPO"
    NAMES+=("$name")
    URLS+=("${url:-$server/$name.git}")
  done <"$1"
}

is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }

# ------------------------------------------------------------------- list
cmd_list() {
  local org="${1:-}"
  [[ -n "$org" ]] || die "usage: org-audit.sh list ORG"
  python3 - "$org" "${GITHUB_API_URL:-https://api.github.com}" \
    "$(bool "${INCLUDE_ARCHIVED:-false}")" "$(bool "${INCLUDE_FORKS:-false}")" <<'PY'
import json, os, re, sys, urllib.error, urllib.parse, urllib.request

org, api, archived_ok, forks_ok = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3] == "true", sys.argv[4] == "true"
token = os.environ.get("GITHUB_TOKEN", "")
origin = urllib.parse.urlsplit(api)[:2]

def get(url):
    req = urllib.request.Request(url, headers={
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "keyflare-org-audit",
    })
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp), resp.headers.get("Link", "")

def next_link(link):
    for part in link.split(","):
        m = re.match(r'\s*<([^>]+)>\s*;(.*)', part)
        if m and re.search(r'rel="?next"?', m.group(2)):
            return m.group(1)
    return None

def pages(path):
    url = f"{api}/{path}/{urllib.parse.quote(org)}/repos?per_page=100&type=all"
    for _ in range(10000):  # 1,000,000 repositories: past that, a loop
        page, link = get(url)
        if not isinstance(page, list):
            raise SystemExit(f"org-audit: error: {url}: expected a list of repositories")
        yield from page
        url = next_link(link)
        if not url:
            return
        # The token goes to the API's own host only, whatever a header says.
        if urllib.parse.urlsplit(url)[:2] != origin:
            raise SystemExit(f"org-audit: error: the next page is on another host ({url}): refused")
    raise SystemExit("org-audit: error: more than 10,000 pages: stopped")

try:
    try:
        repos = list(pages("orgs"))
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
        repos = list(pages("users"))  # a user account, not an organisation
except urllib.error.HTTPError as e:
    hint = " (a private organisation needs a token: GITHUB_TOKEN)" if e.code in (401, 403, 404) else ""
    raise SystemExit(f"org-audit: error: listing {org}: HTTP {e.code} {e.reason}{hint}")
except (urllib.error.URLError, OSError, ValueError) as e:
    raise SystemExit(f"org-audit: error: listing {org}: {e}")

kept, skipped = {}, {"archived": 0, "forks": 0}
for r in repos:
    if r.get("archived") and not archived_ok:
        skipped["archived"] += 1
    elif r.get("fork") and not forks_ok:
        skipped["forks"] += 1
    else:
        name, url = r.get("full_name"), r.get("clone_url")
        if not isinstance(name, str) or not isinstance(url, str) or not re.fullmatch(r"[\w.-]+/[\w.-]+", name) or " " in url:
            raise SystemExit(f"org-audit: error: a repository without a usable full_name/clone_url: {str(r)[:200]}")
        kept[name] = url
for name in sorted(kept):
    print(name, kept[name])
private = sum(1 for r in repos if r.get("private") and r.get("full_name") in kept)
print(f"org-audit: {org}: {len(repos)} repositories listed, {len(kept)} kept ({private} private), "
      f"{skipped['archived']} archived and {skipped['forks']} forks left out", file=sys.stderr)
PY
}

# ------------------------------------------------------------------- plan
cmd_plan() {
  local list="${1:-}" batch="${2:-10}" max="${3:-256}"
  [[ -n "$list" ]] || die "usage: org-audit.sh plan REPOS.txt [BATCH_SIZE] [MAX_JOBS]"
  if ! is_count "$batch" || ((batch == 0)); then die "batch size must be a positive integer, got '$batch'"; fi
  if ! is_count "$max" || ((max == 0)); then die "max jobs must be a positive integer, got '$max'"; fi
  local NAMES URLS
  read_repos "$list"
  local n=${#NAMES[@]} jobs
  # More repositories per job rather than more jobs than the matrix allows.
  if (((n + batch - 1) / batch > max)); then
    batch=$(((n + max - 1) / max))
    note "$n repositories at ${2:-10} per job would need more than $max jobs: $batch per job"
  fi
  jobs=$(((n + batch - 1) / batch))
  local i matrix="" sep=""
  for ((i = 0; i < jobs; i++)); do
    matrix+="$sep$i"
    sep=","
  done
  echo "repositories=$n"
  echo "jobs=$jobs"
  echo "batch-size=$batch"
  echo "matrix={\"batch\":[$matrix]}"
}

# ------------------------------------------------------------------ slice
# slice_bounds N INDEX COUNT: sets FIRST and LAST (exclusive) of the slice.
slice_bounds() {
  local n="$1" index="$2" count="$3"
  if ! is_count "$index" || ! is_count "$count" || ((count == 0)); then
    die "INDEX and COUNT must be integers, COUNT > 0 (got '$index' '$count')"
  fi
  ((index < count)) || die "slice index $index is out of range: $count slices (0..$((count - 1)))"
  local base=$((n / count)) extra=$((n % count))
  FIRST=$((index * base + (index < extra ? index : extra)))
  LAST=$((FIRST + base + (index < extra ? 1 : 0)))
}

cmd_slice() {
  (($# == 3)) || die "usage: org-audit.sh slice REPOS.txt INDEX COUNT"
  local NAMES URLS FIRST LAST i
  read_repos "$1"
  slice_bounds "${#NAMES[@]}" "$2" "$3"
  for ((i = FIRST; i < LAST; i++)); do
    echo "${NAMES[i]} ${URLS[i]}"
  done
}

# ------------------------------------------------------------------ audit
# git_auth: a read-only token reaches private repositories on the GitHub
# server through git's environment (as actions/checkout does), so it is on no
# command line and in no URL, and keyflare keeps these entries.
git_auth() {
  [[ -n "${GITHUB_TOKEN:-}" ]] || return 0
  local server="${GITHUB_SERVER_URL:-https://github.com}" n="${GIT_CONFIG_COUNT:-0}" basic
  basic="$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 | tr -d '\n')"
  export "GIT_CONFIG_KEY_$n=http.$server/.extraheader"
  export "GIT_CONFIG_VALUE_$n=AUTHORIZATION: basic $basic"
  export GIT_CONFIG_COUNT=$((n + 1))
}

cmd_audit() {
  (($# == 4)) || die "usage: org-audit.sh audit REPOS.txt INDEX COUNT OUTDIR"
  local list="$1" index="$2" count="$3" out="$4"
  local bin="${KEYFLARE_BIN:-keyflare}"
  local NAMES URLS FIRST LAST
  read_repos "$list"
  slice_bounds "${#NAMES[@]}" "$index" "$count"
  mkdir -p "$out/shards" "$out/status"
  local status="$out/status/$index.tsv"
  : >"$status"
  local -a flags=()
  read -r -a flags <<<"${KEYFLARE_SHARD_FLAGS:-}"
  # Part of the shard format since keyflare merge: older binaries lack it.
  local -a naming=()
  if "$bin" audit --help 2>/dev/null | grep -q -- '--repository-name'; then
    naming=(--repository-name)
  else
    note "this keyflare has no audit --repository-name: shards are named by their clone URL"
  fi
  git_auth
  export GIT_TERMINAL_PROMPT=0
  note "slice $index of $count: $((LAST - FIRST)) of ${#NAMES[@]} repositories"
  local i name url shard rc start failed=0
  for ((i = FIRST; i < LAST; i++)); do
    name="${NAMES[i]}" url="${URLS[i]}"
    shard="$out/shards/${name//\//__}.json"
    rm -f "$shard"
    start=$SECONDS
    rc=0
    "$bin" audit --format json -o "$shard" ${naming[@]+"${naming[@]}" "$name"} \
      ${flags[@]+"${flags[@]}"} "$url" </dev/null || rc=$?
    # 0: clean, 1: findings; 2 with a shard: partial (keyflare warned).
    if [[ ($rc -eq 0 || $rc -eq 1) && -s "$shard" ]]; then
      printf '%s\tok\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" >>"$status"
    elif [[ $rc -eq 2 && -s "$shard" ]]; then
      printf '%s\tpartial\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" >>"$status"
      note "$name: partial audit (exit 2): its shard covers what keyflare could read"
    else
      rm -f "$shard"
      printf '%s\tfailed\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" >>"$status"
      note "$name: audit failed (exit $rc): no shard"
      failed=$((failed + 1))
    fi
  done
  note "slice $index: $((LAST - FIRST - failed)) shards, $failed failed"
  ((failed == 0)) || exit 2
}

# ------------------------------------------------------------------ merge
cmd_merge() {
  (($# == 2)) || die "usage: org-audit.sh merge SHARDS_DIR REPORT_DIR"
  local shards="$1" report="$2" bin="${KEYFLARE_BIN:-keyflare}"
  [[ -d "$shards" ]] || die "no shard directory: $shards"
  "$bin" merge --help >/dev/null 2>&1 || die "this keyflare has no merge command (keyflare $("$bin" --version 2>/dev/null || echo '?'))"
  mkdir -p "$report"
  local -a flags=()
  read -r -a flags <<<"${KEYFLARE_MERGE_FLAGS:-}"
  # One merge writes every format, so --verify asks about each secret once.
  local ext rc=0
  local -a outs=()
  for ext in ${KEYFLARE_MERGE_FORMATS:-json md html sarif}; do
    outs+=(-o "$report/org-audit.$ext")
  done
  "$bin" merge ${flags[@]+"${flags[@]}"} "$shards" "${outs[@]}" || rc=$?
  # As audit: 1 means findings, which is what an audit is for.
  ((rc == 0 || rc == 1)) || die "keyflare merge failed (exit $rc)"
  note "reports in $report"
}

case "${1:-}" in
  list | plan | slice | audit | merge)
    cmd="$1"
    shift
    "cmd_$cmd" "$@"
    ;;
  *) die "usage: org-audit.sh list|plan|slice|audit|merge ... (see the head of this script)" ;;
esac
