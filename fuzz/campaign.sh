#!/usr/bin/env bash
# A fuzz campaign: one libFuzzer process at a time (build first: cargo fuzz build -s none),
# nice 19, slices of SLICE seconds, until DEADLINE (epoch seconds).
# Each slice appends one line to log/slices.tsv:
#   start  target  wall_s  user_s  sys_s  exit  runs  cov  ft  corpus_files
# A target's working corpus starts as its seeds (fuzz/corpus/<target>) plus, when
# fuzz/corpus-min.tar.xz is there, the minimised corpus of earlier campaigns
# (kept out of fuzz/corpus/ because CI's smoke runs read every seed file).
# Example: KEYFLARE_FUZZ_DIR=/tmp/kf DEADLINE=$(date -d 18:00 +%s) fuzz/campaign.sh
# ONCE=1 for one round; ROUNDS lists the targets in order; SLICE is seconds per run.
set -u
BIN=${BIN:-$(cd "$(dirname "$0")" && pwd)/target/x86_64-unknown-linux-gnu/release}
C=${KEYFLARE_FUZZ_DIR:?a directory: one working corpus per target, log/, artifacts/}
DEADLINE=${DEADLINE:?epoch seconds}
ROUNDS=${ROUNDS:-$(ls "$(dirname "$0")/corpus")}
SLICE=${SLICE:-300}
# Two targets write a file (`baseline`) or a repository (`git_paths`) per
# input: on a disk they wait on the kernel and use a fifth to a third of
# their core.
if [[ -z ${TMPDIR:-} && -d /dev/shm && -w /dev/shm ]]; then
  export TMPDIR=/dev/shm
fi
SEEDS=$(cd "$(dirname "$0")" && pwd)/corpus
MIN=$(cd "$(dirname "$0")" && pwd)/corpus-min.tar.xz
mkdir -p "$C/log" "$C/artifacts"
# Only the targets this directory fuzzes, each once (a marker per target): a
# directory that held every target's minimised corpus looked, to whoever
# merged the directories later, like one that had fuzzed them all. A target
# the tarball lacks starts from its seeds. (.min-unpacked is the marker of
# campaigns that unpacked everything.)
if [[ -f $MIN && ! -e $C/.min-unpacked ]]; then
  packed=$(tar -tJf "$MIN" | cut -d/ -f1 | sort -u) || exit 2
  for t in $ROUNDS; do
    [[ -e $C/.min-unpacked-$t ]] && continue
    if grep -qx -- "$t" <<<"$packed"; then
      tar -xJf "$MIN" -C "$C" "$t" || exit 2
    fi
    touch "$C/.min-unpacked-$t"
  done
fi
[[ -f $C/log/slices.tsv ]] || printf 'start\ttarget\twall_s\tuser_s\tsys_s\texit\truns\tcov\tft\tcorpus_files\n' >$C/log/slices.tsv
while :; do
  for t in $ROUNDS; do
    now=$(date +%s)
    left=$((DEADLINE - now))
    ((left < 60)) && exit 0
    secs=$((left < SLICE ? left : SLICE))
    stamp=$(date -u +%H%M%S)
    mkdir -p "$C/$t" && cp -n "$SEEDS/$t"/* "$C/$t/"
    mkdir -p "$C/artifacts/$t"
    out=$C/log/$t-$stamp.log
    /usr/bin/time -f '%U %S %e' -o $C/log/time.tmp \
      nice -n 19 "$BIN/$t" "$C/$t" -max_total_time="$secs" -max_len=65536 -timeout=20 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$C/artifacts/$t/" >"$out" 2>&1
    rc=$?
    read -r user sys wall < <(tail -1 $C/log/time.tmp)
    runs=$(grep -m1 '^stat::number_of_executed_units' "$out" | awk '{print $2}')
    last=$(grep -E '^#[0-9]+' "$out" | tail -1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    files=$(find "$C/$t" -type f | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$t" "$wall" "$user" "$sys" "$rc" \
      "${runs:-?}" "${cov:-?}" "${ft:-?}" "$files" >>$C/log/slices.tsv
    if ((rc != 0)); then
      echo "$t: exit $rc at $stamp, see $out" >>$C/log/findings.txt
    fi
  done
  [[ -n ${ONCE:-} ]] && exit 0
done
