#!/bin/bash
# Issue 17, part 2, the other two stops: SIGINT and a full disk, on the grid of kill-resume.sh.
#
#   scripts/reliability/sigint-disk-full.sh      # needs root for the tmpfs mounts
#
# SIGINT: the run must stop after the row it is on, exit 130, print the command that resumes
# it; running that command must finish the grid with results equal to an uninterrupted run's.
# Full disk: a small tmpfs (mount -t tmpfs) is filled with a filler file so that only a few rows
# fit; the run must fail with an error naming results.jsonl, exit non-zero, and keep every
# finished row (a prefix of the uninterrupted run's rows, ending on a newline). The same with
# room for every row but not the report: the error names the report file. Each damaged run is
# then copied to a roomy disk and resumed to completion.
# Environment: A2ATS_EVAL, WORK (default /tmp/a2ats-kill-resume; its reference/ is reused).
set -uo pipefail
BIN=${A2ATS_EVAL:-.build/release/a2ats-eval}
WORK=${WORK:-/tmp/a2ats-kill-resume}
HERE=$(cd "$(dirname "$0")" && pwd)
GRID=(--task niah_single_1,niah_multikey_1 --length 512 --samples 2 --seed 7 --methods full,streamingllm,snapkv --budgets 32,96)
REF=$WORK/reference
mkdir -p "$WORK"
if [ ! -s "$REF/results.jsonl" ]; then
    "$BIN" run "${GRID[@]}" --out "$REF" >"$WORK/reference.log" 2>&1 || { echo "reference run failed"; exit 1; }
fi
failures=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; failures=$((failures + 1)); fi; }
ends_clean() { [ ! -s "$1" ] || [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; }
is_prefix() { local n; n=$(wc -l <"$1"); python3 "$HERE/compare_results.py" --ordered <(head -n "$n" "$REF/results.jsonl") "$1" >/dev/null; }

echo "SIGINT"
OUT=$WORK/sigint
rm -rf "$OUT"
set -m   # job control: the background run gets SIGINT's default disposition, as at a terminal
"$BIN" run "${GRID[@]}" --out "$OUT" >"$WORK/sigint.log" 2>&1 &
pid=$!
set +m
until [ "$(wc -l 2>/dev/null <"$OUT/results.jsonl" || echo 0)" -ge 3 ]; do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
sent=$(date +%s.%N)
kill -INT "$pid"
wait "$pid"; status=$?
printf '  exit status %s, %.1f s after SIGINT, %s rows kept\n' "$status" "$(echo "$(date +%s.%N) - $sent" | bc)" "$(wc -l <"$OUT/results.jsonl")"
grep -A1 '^error: stopped' "$WORK/sigint.log" | sed 's/^/  | /'
check "exit status 130" '[ "$status" -eq 130 ]'
check "results end on a finished row" 'ends_clean "$OUT/results.jsonl"'
check "finished rows equal the uninterrupted run's first rows" 'is_prefix "$OUT/results.jsonl"'
resume=$(grep -A1 '^error: stopped' "$WORK/sigint.log" | tail -1 | sed 's/^ *//')
check "the message gives a resume command with --resume" '[[ "$resume" == *--resume* ]]'
eval "$resume" >"$WORK/sigint-resume.log" 2>&1
check "the printed command finishes the run (exit 0)" '[ $? -eq 0 ]'
check "resumed results equal the uninterrupted run (ordered)" 'python3 "$HERE/compare_results.py" --ordered "$REF/results.jsonl" "$OUT/results.jsonl"'

# A tmpfs of $1 KiB holding the reference's generated data (and, with $2 = rows, that many of
# its rows), then filled up to $3 KiB free.
full_disk() {
    local mountpoint=$WORK/tmpfs
    mkdir -p "$mountpoint"
    mountpoint -q "$mountpoint" && umount "$mountpoint"
    mount -t tmpfs -o size="$1"k tmpfs "$mountpoint" || { echo "mount -t tmpfs failed (needs root)"; exit 1; }
    mkdir -p "$mountpoint/run"
    cp -r "$REF/data" "$mountpoint/run/"
    [ "$2" -gt 0 ] && head -n "$2" "$REF/results.jsonl" >"$mountpoint/run/results.jsonl"
    local free; free=$(df -k --output=avail "$mountpoint" | tail -1)
    [ "$free" -gt "$3" ] && dd if=/dev/zero of="$mountpoint/filler" bs=1k count=$((free - $3)) status=none
    echo "$mountpoint/run"
}

for case in rows report; do
    echo "full disk during $case"
    if [ $case = rows ]; then dir=$(full_disk 1024 0 8); else dir=$(full_disk 1024 "$(wc -l <"$REF/results.jsonl")" 0); fi
    echo "  free: $(df -k --output=avail "$(dirname "$dir")" | tail -1) KiB"
    "$BIN" run "${GRID[@]}" --out "$dir" --resume >"$WORK/full-$case.log" 2>&1; status=$?
    echo "  exit status $status, $(wc -l <"$dir/results.jsonl") rows kept"
    grep '^error' "$WORK/full-$case.log" | sed 's/^/  | /'
    check "exit status non-zero" '[ "$status" -ne 0 ]'
    if [ $case = rows ]; then
        check "the error names results.jsonl and the cause" 'grep -q "results.jsonl: cannot append a row (No space left on device)" "$WORK/full-$case.log"'
    else
        check "the error names the file it could not write" 'grep -qE "^error: .*(manifest.json|report.md|\.svg|results.csv|summary.json): cannot write \(No space left on device\)" "$WORK/full-$case.log"'
    fi
    check "results end on a finished row" 'ends_clean "$dir/results.jsonl"'
    check "every finished row is kept and equals the uninterrupted run's" 'is_prefix "$dir/results.jsonl"'
    rm -rf "$WORK/full-$case" && cp -r "$dir" "$WORK/full-$case"
    umount "$WORK/tmpfs"
    "$BIN" run "${GRID[@]}" --out "$WORK/full-$case" --resume >>"$WORK/full-$case.log" 2>&1
    check "after moving to a roomy disk, --resume finishes (exit 0)" '[ $? -eq 0 ]'
    check "and the results equal the uninterrupted run (ordered)" 'python3 "$HERE/compare_results.py" --ordered "$REF/results.jsonl" "$WORK/full-$case/results.jsonl" >/dev/null'
done
echo "failures: $failures"
[ "$failures" -eq 0 ]
