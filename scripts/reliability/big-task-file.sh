#!/bin/bash
# Resource bounds (issue 17, part 4): a 2 GB task file is streamed, not loaded. Writes a RULER
# niah file of ~20 MB and one of ~2 GB (the same ~500-token sample repeated, each line a
# valid sample) under $WORK, runs the first 4 samples of each with full attention, and prints
# each run's peak resident memory (getrusage, as the run prints it: peak_rss_bytes in its
# manifest) and /usr/bin/time's maximum resident set size when it is installed. The files are
# deleted at the end. Environment: A2ATS_EVAL, WORK (default /tmp/a2ats-big-file), GB (default 2).
set -euo pipefail
BIN=${A2ATS_EVAL:-.build/release/a2ats-eval}
WORK=${WORK:-/tmp/a2ats-big-file}
GB=${GB:-2}
rm -rf "$WORK" && mkdir -p "$WORK"
trap 'rm -rf "$WORK"/*.jsonl "$WORK"/*/data' EXIT
"$BIN" generate --task niah_single_1 --length 512 --samples 1 --seed 3 --out "$WORK/seed.jsonl" >/dev/null
for size in small big; do
    python3 - "$WORK/seed.jsonl" "$WORK/$size.jsonl" "$([ $size = small ] && echo 0.02 || echo "$GB")" <<'PY'
import json, sys
seed = json.loads(open(sys.argv[1]).readline())
target = float(sys.argv[3]) * 1e9
written, index = 0, 0
with open(sys.argv[2], "w") as out:
    while written < target:
        seed["index"] = index
        line = json.dumps(seed) + "\n"
        out.write(line)
        written += len(line)
        index += 1
print(f"{sys.argv[2]}: {written / 1e9:.2f} GB, {index} samples")
PY
    timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -v)
    "${timer[@]}" "$BIN" run --task "niah_single_1=$WORK/$size.jsonl" --samples 4 --methods full --out "$WORK/$size" \
        >"$WORK/$size.log" 2>&1
    echo "  $(grep '^peak memory' "$WORK/$size.log"); peak_rss_bytes $(python3 -c "import json;print(json.load(open('$WORK/$size/manifest.json'))['peak_rss_bytes'])")"
    grep 'Maximum resident' "$WORK/$size.log" | sed 's/^\s*/  \/usr\/bin\/time: /' || true
done
