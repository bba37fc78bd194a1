#!/bin/bash
# Runs examples/slurm-array.sh under a real Slurm (scripts/slurm/start.sh first) as a 4-task
# array over a small grid, merges the shards with its `report` job (afterok dependency), and
# checks the result against one unsharded run of the same grid:
#   - the merged rows equal the unsharded rows on every field but timings;
#   - the reports are byte-identical once timings are set to 0 in both inputs (report.md also
#     names its input directories: that one line is shown, not compared).
# Then the same for the Kubernetes Indexed Job: the container command of
# examples/k8s-indexed-job.yaml run with JOB_COMPLETION_INDEX=0..3 and A2ATS_SHARDS=4.
#
#   scripts/slurm/start.sh && scripts/slurm/array-check.sh; scripts/slurm/stop.sh
#
# Every run here uses one OpenBLAS thread (the array tasks get --cpus-per-task=1, and the
# example sets OPENBLAS_NUM_THREADS from it): OpenBLAS sums in another order on 2 threads, which
# moves logits in their last bits and can move a measured attended_tokens (docs/reliability.md,
# Determinism); the unsharded reference and the pods use the same thread count as the array.
# Environment: A2ATS_EVAL (absolute path of the binary, default $PWD/.build/release/a2ats-eval),
# WORK (default /tmp/a2ats-slurm-check, emptied first). Run from the repository root.
set -uo pipefail
ROOT=$PWD
BIN=${A2ATS_EVAL:-$ROOT/.build/release/a2ats-eval}
WORK=${WORK:-/tmp/a2ats-slurm-check}
export A2ATS_GRID="--task niah_single_1,niah_multikey_1 --length 512 --samples 4 --seed 11 --methods full,quest --budgets 48"
export OPENBLAS_NUM_THREADS=1
COMPARE="python3 $ROOT/scripts/reliability/compare_results.py"
rm -rf "$WORK" && mkdir -p "$WORK/logs"
failures=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; failures=$((failures + 1)); fi; }

echo "grid: $A2ATS_GRID"
echo "unsharded reference run"
# shellcheck disable=SC2086
"$BIN" run $A2ATS_GRID --out "$WORK/whole" >"$WORK/whole.log" 2>&1 || { echo "reference run failed"; tail "$WORK/whole.log"; exit 1; }
echo "  $(wc -l <"$WORK/whole/results.jsonl") rows"

# Report of results files with every timing set to 0, written to $2 (a directory).
normalized_report() {
    local out=$1; shift
    local inputs=()
    for dir in "$@"; do
        mkdir -p "$out/in/$(basename "$dir")"
        python3 -c 'import json,sys
for line in sys.stdin:
    row = json.loads(line)
    for f in ("seconds", "prefill_seconds", "selection_seconds"):
        if f in row: row[f] = 0
    print(json.dumps(row, ensure_ascii=False, separators=(",", ":")))' <"$dir/results.jsonl" >"$out/in/$(basename "$dir")/results.jsonl"
        inputs+=("$out/in/$(basename "$dir")")
    done
    "$BIN" report "${inputs[@]}" --out "$out/report/report.md" --title "slurm check" >/dev/null
}
normalized_report "$WORK/norm-whole" "$WORK/whole"

compare_reports() {   # $1: normalized report dir of the shards
    local shards=$1   # check's eval sees this (bash locals are dynamically scoped), not $1
    for file in "$WORK"/norm-whole/report/*; do
        name=$(basename "$file")
        if [ "$name" = report.md ]; then
            check "report.md byte-identical but for its 'merged from' line" \
                'cmp -s <(grep -v "merged from:" "$file") <(grep -v "merged from:" "$shards/report/$name")'
            diff <(grep "merged from:" "$file") <(grep "merged from:" "$shards/report/$name") | grep '^[<>]' | sed 's/^/    /'
        else
            check "$name byte-identical" 'cmp -s "$file" "$shards/report/$name"'
        fi
    done
}

echo "Slurm: sbatch --array=0-3 examples/slurm-array.sh"
cd "$WORK"
export A2ATS_EVAL=$BIN A2ATS_RUN=$WORK/slurm A2ATS_REPORT=$WORK/slurm-report/report.md
start=$(date +%s)
jid=$(sbatch --parsable --array=0-3 --cpus-per-task=1 --mem=1500M "$ROOT/examples/slurm-array.sh")
rid=$(sbatch --parsable --dependency=afterok:"$jid" --array=0 --cpus-per-task=1 --mem=500M "$ROOT/examples/slurm-array.sh" report)
echo "  array job $jid, report job $rid"
while squeue -h -j "$jid,$rid" 2>/dev/null | grep -q .; do sleep 5; done
echo "  finished in $(( $(date +%s) - start )) s"
for f in logs/*.out; do echo "  --- $f"; grep -E '^(results|report|peak|wrote|error)' "$f" | sed 's/^/    /'; done
check "4 shard directories with results" '[ "$(ls -d slurm/shard-*/results.jsonl | wc -l)" -eq 4 ]'
check "the report job wrote the merged report" '[ -s slurm-report/report.md ]'
check "shard manifests record origin slurm" '[ "$(grep -l "\"slurm\"" slurm/shard-*/manifest.json | wc -l)" -eq 4 ]'
check "merged shard rows equal the unsharded run (every field but timings)" \
    '$COMPARE "$WORK/whole/results.jsonl" --against slurm/shard-*/results.jsonl'
normalized_report "$WORK/norm-slurm" slurm/shard-*
compare_reports "$WORK/norm-slurm"

echo "Kubernetes Indexed Job: the container command with JOB_COMPLETION_INDEX=0..3, A2ATS_SHARDS=4"
# The args of the yaml, as the container's /bin/sh -c receives them (folded >- block: one line).
command=$(awk '/- >-/ {on=1; next} on && /resources:/ {exit} on {sub(/^ +/, ""); printf "%s ", $0}' "$ROOT/examples/k8s-indexed-job.yaml")
echo "  sh -c '$command'"
mkdir -p k8s && cd k8s
for index in 0 1 2 3; do
    # OPENBLAS_NUM_THREADS=1 here, where the yaml's pods set 4 (see above).
    PATH=$(dirname "$BIN"):$PATH JOB_COMPLETION_INDEX=$index A2ATS_SHARDS=4 /bin/sh -c "$command" >"../logs/k8s-$index.log" 2>&1
    check "pod $index exits 0" '[ $? -eq 0 ]'
done
cd ..
check "shard manifests record origin kubernetes" '[ "$(grep -l "\"kubernetes\"" k8s/runs/x/shard-*/manifest.json | wc -l)" -eq 4 ]'
check "merged pod rows equal the unsharded run (every field but timings)" \
    '$COMPARE "$WORK/whole/results.jsonl" --against k8s/runs/x/shard-*/results.jsonl'
normalized_report "$WORK/norm-k8s" k8s/runs/x/shard-*
compare_reports "$WORK/norm-k8s"
echo "failures: $failures"
[ "$failures" -eq 0 ]
