#!/usr/bin/env bash
# Builds a tree of hostile inputs for keyflare in OUT (created; must not exist
# or be empty), one directory per case, and prints what a scan of OUT must
# find, one line per expected finding:
#
#   find <TAB> case <TAB> path relative to OUT <TAB> line <TAB> column or -
#
# Newlines in paths are printed as \n. Files that must be skipped are named
# in tests/adversarial.rs, which runs this script (cargo test --release --
# --ignored adversarial).
#
# Needs: bash, coreutils, sed, python3 (CRC32 for the synthetic token, UTF-16, the
# socket). Takes about 1 GB of free space less the 2 GB sparse file, which
# takes none, and a few seconds. Every secret is synthetic: cfut_ + 40
# alphanumerics + the CRC32 of those 40.
set -euo pipefail

OUT=${1:?usage: adversarial.sh OUT}
mkdir -p "$OUT"
if [ -n "$(ls -A "$OUT")" ]; then
  echo "adversarial.sh: $OUT is not empty" >&2
  exit 2
fi
OUT=$(cd "$OUT" && pwd -P)

TOKEN=$(python3 -c 'import zlib; b = "OxPNfh6Wog2X96yl5Ym6kX5sPeGbia1SvKSwtxNx"; print("cfut_%s%08x" % (b, zlib.crc32(b.encode())))')

# `yes` dies of SIGPIPE when `head` has enough: only head's status counts.
repeat() { # text bytes [tr args...]
  (
    set +o pipefail
    yes "$1" | tr -d "${3:-}" | head -c "$2"
  )
}

expect() { # case path line [column]
  local path=${2//$'\n'/\\n}
  printf 'find\t%s\t%s\t%s\t%s\n' "$1" "$path" "$3" "${4:--}"
}

# 1. 200 MB without a newline (a minified bundle gone wrong), the token at the very end.
mkdir "$OUT/long-line"
{
  repeat 'q7Zk2Rv9Lp4Wx8Nc3Hb6Jt1Fy5Gd0Ms' $((200 * 1024 * 1024)) '\n'
  printf ' %s' "$TOKEN"
} >"$OUT/long-line/bundle.min.js"
expect long-line long-line/bundle.min.js 1 $((200 * 1024 * 1024 + 2))

# 2. 10 million short lines, the token on line 7,777,777.
mkdir "$OUT/many-lines"
seq 1 10000000 | sed "7777777s/.*/token: $TOKEN/" >"$OUT/many-lines/app.log"
expect many-lines many-lines/app.log 7777777 8

# 3. A 2 GB sparse file (no disk used): over the size limit, skipped and counted.
mkdir "$OUT/sparse"
truncate -s 2G "$OUT/sparse/disk.img"

# 4. 10,000 nested directories, far past PATH_MAX (4096), built one relative
#    step at a time (python: 10,000 mkdir/chdir pairs without 10,000 forks).
#    A token at level 20 must be found; the one at the bottom cannot be
#    reached by path, which must not stop the scan.
mkdir "$OUT/deep"
python3 - "$OUT/deep" "$TOKEN" <<'PY'
import os, sys
os.chdir(sys.argv[1])
line = "CLOUDFLARE_API_TOKEN=%s\n" % sys.argv[2]
for level in range(1, 10001):
    os.mkdir("d")
    os.chdir("d")
    if level == 20:
        open("shallow.env", "w").write(line)
open("bottom.env", "w").write(line)
PY
expect deep "deep/$(printf 'd/%.0s' $(seq 20))shallow.env" 1 22

# 5. 100,000 small files in 100 directories; the token in one of them, line 2.
mkdir "$OUT/many-files"
(
  cd "$OUT/many-files"
  for d in $(seq -w 0 99); do
    mkdir "$d"
    for f in $(seq -w 0 999); do
      echo "file $d/$f" >"$d/$f.txt"
    done
  done
  printf 'file 42/042\ntoken: %s\n' "$TOKEN" >42/042.txt
)
expect many-files many-files/42/042.txt 2 8

# 6. File names that are not UTF-8, and names with newlines.
mkdir "$OUT/names"
printf 'token: %s\n' "$TOKEN" >"$OUT/names/bad-"$'\xff\xfe'"-name.txt"
expect names "names/bad-"$'\xff\xfe'"-name.txt" 1 8
printf 'token: %s\n' "$TOKEN" >"$OUT/names/new"$'\n'"line.txt"
expect names "names/new"$'\n'"line.txt" 1 8
mkdir "$OUT/names/dir"$'\xc3'
printf 'token: %s\n' "$TOKEN" >"$OUT/names/dir"$'\xc3'"/inside.txt"
expect names "names/dir"$'\xc3'"/inside.txt" 1 8

# 7. Things that are not regular files: symlink loops, a link to /dev/zero,
#    a FIFO (opening it would block), a socket; and a file without read
#    permission (root reads it anyway: then it is a finding).
mkdir "$OUT/special"
ln -s . "$OUT/special/loop"
ln -s b "$OUT/special/a"
ln -s a "$OUT/special/b"
ln -s /dev/zero "$OUT/special/zero"
mkfifo "$OUT/special/pipe"
(cd "$OUT/special" && python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")')
printf 'token: %s\n' "$TOKEN" >"$OUT/special/locked.txt"
chmod 000 "$OUT/special/locked.txt"

# 8. Encodings: UTF-16 with a byte-order mark (both orders), CRLF line ends.
mkdir "$OUT/encodings"
python3 - "$OUT/encodings" "$TOKEN" <<'PY'
import sys
out, token = sys.argv[1], sys.argv[2]
text = "; settings\r\n[cloudflare]\r\ntoken = %s\r\n" % token
open(out + "/utf16le.ini", "wb").write(b"\xff\xfe" + text.encode("utf-16-le"))
open(out + "/utf16be.ini", "wb").write(b"\xfe\xff" + ("é\n" + text).encode("utf-16-be"))
open(out + "/crlf.ini", "wb").write(text.encode())
PY
expect encodings encodings/utf16le.ini 3 9
expect encodings encodings/utf16be.ini 4 9
expect encodings encodings/crlf.ini 3 9

# 9. A keyword storm: 20 MB of lines that make every Cloudflare rule run its
#    regexes and context checks, and none of which is a credential.
mkdir "$OUT/storm"
repeat 'CLOUDFLARE_API_TOKEN=${{ secrets.CLOUDFLARE_API_TOKEN }} cfut_ cfk_ cf_api_key=xxxxxxxx x-auth-key: eyJhIjoi v1.0- account_id' \
  $((20 * 1024 * 1024)) >"$OUT/storm/workflow.yml"
