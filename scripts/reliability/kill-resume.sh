#!/bin/bash
# Kill-and-resume campaign (issue 17, part 2): runs a small real grid of the default model,
# SIGKILLs it again and again at chosen moments, resumes with --resume each time, and at the end
# compares the results with an uninterrupted run's on every field but timings
# (compare_results.py --ordered).
#
#   scripts/reliability/kill-resume.sh [KILLS]        # default 24 kills; log on stdout
#
# Kinds of kill, the first two in turn while rows remain, then the last two (once every row is in,
# or for the last 5 kills, when the attempt is let run until it writes its report):
#   random    at a random moment 0–RANDOM_S s after the start (model loading, data generation,
#             prompt checks, prefill or decode, whatever is running then)
#   mid-row   while the 1st, 2nd or 3rd row of this attempt (at random) is half-written:
#             A2ATS_TEST_WRITE_DELAY_MS makes the store write each row in two halves with a pause
#             between, and the kill comes when the file's last byte is not a newline
#   report    while report.md, a plot, results.csv or summary.json is being written (its
#             temporary file exists; the same hook pauses before each rename)
#   manifest  while manifest.json is being written
# Environment: A2ATS_EVAL (binary, default .build/release/a2ats-eval), WORK (scratch directory,
# default /tmp/a2ats-kill-resume, emptied first), DELAY_MS (hook pause, default 200), SEED,
# RANDOM_S (default: the reference run's seconds per row × 3, at least 2).
set -uo pipefail
BIN=${A2ATS_EVAL:-.build/release/a2ats-eval}
WORK=${WORK:-/tmp/a2ats-kill-resume}
KILLS=${1:-24}
DELAY_MS=${DELAY_MS:-200}
SEED=${SEED:-17}
RANDOM=$SEED
HERE=$(cd "$(dirname "$0")" && pwd)
GRID=(--task niah_single_1,niah_multikey_1 --length 512 --samples 2 --seed 7 --methods full,streamingllm,snapkv --budgets 32,96)
rm -rf "$WORK" && mkdir -p "$WORK"
OUT=$WORK/killed
RESULTS=$OUT/results.jsonl

echo "grid: ${GRID[*]}"
echo "binary: $BIN ($("$BIN" --version))"
start=$(date +%s.%N)
"$BIN" run "${GRID[@]}" --out "$WORK/reference" >"$WORK/reference.log" 2>&1 || { echo "reference run failed"; cat "$WORK/reference.log"; exit 1; }
expected=$(wc -l <"$WORK/reference/results.jsonl")
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
printf 'reference run: %s rows in %.1f s\n' "$expected" "$elapsed"
RANDOM_S=${RANDOM_S:-$(echo "r = $elapsed * 3 / $expected; if (r < 2) r = 2; scale=0; r / 1" | bc)}
echo "random kills within $RANDOM_S s of the start"

rows_done() { if [ -f "$RESULTS" ]; then wc -l <"$RESULTS"; else echo 0; fi; }
half_row() { [ -s "$RESULTS" ] && [ "$(tail -c 1 "$RESULTS" | od -An -c | tr -d ' ')" != '\n' ]; }
temporary() { compgen -G "$OUT/.$1.tmp-*" >/dev/null; }

kills=0 attempts=0 finished=0
declare -A by_kind=()
kinds=(random mid-row random mid-row)
while [ "$kills" -lt "$KILLS" ] || [ "${by_kind[report]:-0}" -lt 3 ] || [ "${by_kind[manifest]:-0}" -lt 2 ]; do
    attempts=$((attempts + 1))
    [ "$attempts" -gt $((KILLS * 6)) ] && { echo "too many attempts without landing the kills"; exit 1; }
    before=$(rows_done)
    if [ "$before" -ge "$expected" ] || [ "$kills" -ge $((KILLS - 5)) ]; then
        [ "${by_kind[report]:-0}" -le "${by_kind[manifest]:-0}" ] && kind=report || kind=manifest
    else
        kind=${kinds[$((attempts % ${#kinds[@]}))]}
    fi
    A2ATS_TEST_WRITE_DELAY_MS=$DELAY_MS "$BIN" run "${GRID[@]}" --out "$OUT" --resume >>"$WORK/killed.log" 2>&1 &
    pid=$!
    landed=""
    case $kind in
        random)
            sleep "$(printf '0.%03d' $((RANDOM % 1000)))"; sleep $((RANDOM % RANDOM_S))
            kill -0 "$pid" 2>/dev/null && landed=1 ;;
        mid-row)
            nth=$((RANDOM % 3))   # rows this attempt finishes before the one it is killed in
            while kill -0 "$pid" 2>/dev/null; do
                half_row && [ "$(rows_done)" -ge $((before + nth)) ] && { landed=1; break; }
                sleep 0.02
            done ;;
        report)
            while kill -0 "$pid" 2>/dev/null; do
                { temporary report.md || temporary results.csv || temporary summary.json || compgen -G "$OUT/.plot-*.tmp-*" >/dev/null; } && { landed=1; break; }
                sleep 0.02
            done ;;
        manifest)
            while kill -0 "$pid" 2>/dev/null; do temporary manifest.json && { landed=1; break; }; sleep 0.02; done ;;
    esac
    if [ -n "$landed" ] && kill -KILL "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        kills=$((kills + 1))
        by_kind[$kind]=$(( ${by_kind[$kind]:-0} + 1 ))
        tail_note=""; half_row && tail_note=" (file ends in a half row)"
        echo "kill $kills: $kind, rows before $before, after $(rows_done)$tail_note"
    else
        wait "$pid"; status=$?
        [ "$status" -ne 0 ] && { echo "attempt $attempts ($kind): the run failed with status $status"; tail -5 "$WORK/killed.log"; exit 1; }
        finished=$((finished + 1))
        echo "attempt $attempts ($kind): the run finished before the kill (rows $(rows_done))"
    fi
done

echo "final resume, without a kill:"
"$BIN" run "${GRID[@]}" --out "$OUT" --resume >"$WORK/final.log" 2>&1 || { echo "final resume failed"; tail -5 "$WORK/final.log"; exit 1; }
grep -E '^(results|report|peak)' "$WORK/final.log"
echo "kills: $kills ($(for k in "${!by_kind[@]}"; do printf '%s %s, ' "$k" "${by_kind[$k]}"; done | sed 's/, $//')); runs that finished before their kill: $finished"
echo "temporary files of killed atomic writes left after the final resume: $(find "$OUT" -name '.*.tmp-*' | wc -l)"
python3 "$HERE/compare_results.py" --ordered "$WORK/reference/results.jsonl" "$RESULTS"
