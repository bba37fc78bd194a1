#!/bin/bash
# Determinism (issue 17, part 3): the same grid run twice on 2 threads and once on 1 thread
# (OPENBLAS_NUM_THREADS=1 under `taskset -c 0`, so the engine's own Dispatch workers see one
# core too: the manifest's machine.cores shows what the run saw), compared on every field but
# timings; then `forward` at 2K tokens on 1 and 2 threads: top-20 logits bit for bit and 32
# greedy tokens. Environment: A2ATS_EVAL, WORK (default /tmp/a2ats-determinism).
set -uo pipefail
BIN=${A2ATS_EVAL:-.build/release/a2ats-eval}
WORK=${WORK:-/tmp/a2ats-determinism}
HERE=$(cd "$(dirname "$0")" && pwd)
GRID=(--task niah_single_1 --length 1024 --samples 2 --seed 5 --methods full,snapkv,quest --budgets 64)
rm -rf "$WORK" && mkdir -p "$WORK"
failures=0
echo "grid: ${GRID[*]}"
run() {  # $1: name, $2...: prefix command
    local name=$1; shift
    "$@" "$BIN" run "${GRID[@]}" --out "$WORK/$name" >"$WORK/$name.log" 2>&1 || { echo "$name failed"; tail -3 "$WORK/$name.log"; exit 1; }
    echo "  $name: $(wc -l <"$WORK/$name/results.jsonl") rows, cores seen $(python3 -c "import json;print(json.load(open('$WORK/$name/manifest.json'))['machine']['cores'])")"
}
run two-a env OPENBLAS_NUM_THREADS=2
run two-b env OPENBLAS_NUM_THREADS=2
run one env OPENBLAS_NUM_THREADS=1 taskset -c 0
for other in two-b one; do
    outcome=$(python3 "$HERE/compare_results.py" --ordered "$WORK/two-a/results.jsonl" "$WORK/$other/results.jsonl" 2>&1) || failures=$((failures + 1))
    echo "two-a vs $other: $(echo "$outcome" | tail -1)"
done

echo "forward at 2K, 1 vs 2 threads"
"$BIN" generate --task niah_multikey_1 --length 2048 --samples 1 --seed 9 --out "$WORK/4k.jsonl" >/dev/null
text=$(python3 -c "import json;r=json.loads(open('$WORK/4k.jsonl').readline());print(r['input']+r.get('answer_prefix',''))")
OPENBLAS_NUM_THREADS=1 taskset -c 0 "$BIN" forward --text "$text" --top 20 --generate 32 >"$WORK/forward-1.json"
OPENBLAS_NUM_THREADS=2 "$BIN" forward --text "$text" --top 20 --generate 32 >"$WORK/forward-2.json"
python3 - "$WORK/forward-1.json" "$WORK/forward-2.json" <<'PY' || failures=$((failures + 1))
import json, sys
one, two = (json.load(open(p)) for p in sys.argv[1:3])
print(f"  prompt tokens {len(one['tokens'])}; generated equal: {one['generated'] == two['generated']} ({len(one['generated'])} tokens)")
ids_equal = [a[0] for a in one["top"]] == [b[0] for b in two["top"]]
diff = max(abs(a[1] - b[1]) for a, b in zip(one["top"], two["top"]))
print(f"  top-20 ids equal: {ids_equal}; max |logit difference| over the top 20: {diff:g}")
sys.exit(0 if one["generated"] == two["generated"] and ids_equal and diff == 0 else 1)
PY
echo "failures: $failures"
[ "$failures" -eq 0 ]
