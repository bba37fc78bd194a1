#!/usr/bin/env bash
# Fuzzing campaign over every file parser (docs/reliability.md, "Fuzzing").
#
#   scripts/fuzz.sh [--runs N] [--seconds S] [--no-build] [TARGET[=RUNS] ...]
#
# Builds Fuzz/ (the libFuzzer driver over A2ATSFuzzTargets) with -sanitize=fuzzer,address, then
# runs each target — all of them when none is named — for RUNS inputs (default --runs, 10000)
# from its seed corpus Fuzz/corpus/<target>/ plus the JSON/GGUF/binary dictionary, with a
# per-input time limit (10 s), a single-allocation limit (256 MB: every input is at most a
# few tens of KB, so a bigger allocation is one a header made up) and an RSS limit (2 GB).
# New coverage goes to Fuzz/.build/work/<target>/ (the committed corpus stays small); crash,
# timeout and out-of-memory reproducers to Fuzz/.build/artifacts/<target>/. Ends with a table:
# inputs tried, crashes, timeouts, OOMs per target, also written to Fuzz/.build/summary.md.
# A reproducer replays with: FUZZ_TARGET=<target> Fuzz/.build/release/a2ats-fuzz <file>
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=10000
SECONDS_LIMIT=0
BUILD=1
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --seconds) SECONDS_LIMIT=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=($(ls Fuzz/corpus))
fi

BIN=Fuzz/.build/release/a2ats-fuzz
if [ $BUILD = 1 ]; then
    (cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -O -Xlinker --allow-multiple-definition 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol" | tail -20)
fi
[ -x "$BIN" ] || { echo "error: $BIN was not built" >&2; exit 1; }

dictionary() {
    case "$1" in
        gguf) echo Fuzz/dictionaries/gguf.dict ;;
        codebook|offline-artifact) echo Fuzz/dictionaries/binary.dict ;;
        safetensors) echo Fuzz/dictionaries/safetensors.dict ;;
        chat-template) echo Fuzz/dictionaries/jinja.dict ;;
        *) echo Fuzz/dictionaries/json.dict ;;
    esac
}

SUMMARY=Fuzz/.build/summary.md
{
    echo "| target | inputs tried | crashes | timeouts | OOMs | seconds | peak RSS MB | corpus after |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$SUMMARY"
STATUS=0
for spec in "${TARGETS[@]}"; do
    target=${spec%%=*}
    runs=$RUNS
    [ "$spec" != "$target" ] && runs=${spec#*=}
    [ -d "Fuzz/corpus/$target" ] || { echo "error: no corpus Fuzz/corpus/$target (targets: $(ls Fuzz/corpus | tr '\n' ' '))" >&2; exit 2; }
    work=Fuzz/.build/work/$target
    artifacts=Fuzz/.build/artifacts/$target
    mkdir -p "$work" "$artifacts"
    log=Fuzz/.build/$target.log
    echo "== $target: $runs inputs"
    started=$(date +%s)
    marker=Fuzz/.build/$target.started
    touch "$marker"
    set +e
    ASAN_OPTIONS=detect_leaks=0 FUZZ_TARGET=$target "$BIN" "$work" "Fuzz/corpus/$target" -runs="$runs" -max_total_time="$SECONDS_LIMIT" \
        -dict="$(dictionary "$target")" -timeout=10 -malloc_limit_mb=256 -rss_limit_mb=2048 -detect_leaks=0 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" > "$log" 2>&1
    code=$?
    set -e
    elapsed=$(( $(date +%s) - started ))
    executed=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
    # This run's reproducers only (older ones stay for reference).
    crashes=$(find "$artifacts" -name 'crash-*' -newer "$marker" | wc -l)
    timeouts=$(find "$artifacts" -name 'timeout-*' -newer "$marker" | wc -l)
    ooms=$(find "$artifacts" -name 'oom-*' -newer "$marker" | wc -l)
    rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
    corpus=$(ls "$work" | wc -l)
    echo "| $target | $executed | $crashes | $timeouts | $ooms | $elapsed | $rss | $corpus |" >> "$SUMMARY"
    if [ $code -ne 0 ] || [ $((crashes + timeouts + ooms)) -gt 0 ]; then
        STATUS=1
        echo "   FAILED (exit $code): see $log and $artifacts/"
        grep -m3 -E "Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY" "$log" | sed 's/^/   /' || true
    fi
done
cat "$SUMMARY"
exit $STATUS
