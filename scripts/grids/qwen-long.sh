#!/usr/bin/env bash
# Issue 15's long-context grids on Qwen2.5-Coder-0.5B-Instruct (32K context):
#   ceilings: full attention on the RULER niah, vt and cwe families at 8K, 16K and 32K;
#   methods:  at 32K, on the tasks where full attention scores well (METHOD_TASKS), a2ats with
#             the model's own C = 1024 codebook, snapkv and every retrieval baseline at attended
#             fractions 1%, 3% and 10% (budgets searched per sample to land within ±10%), with
#             full attention and the matched oracle ceilings, all forked from one prefill per sample.
# Rounds grow n so every cell has rows early; each round resumes the last, so the grid can be
# stopped and restarted (or continued in a later session) with the same binary.
#
# Usage: scripts/grids/qwen-long.sh BINARY [OUT]   (BINARY: a copy of a2ats-eval built from one commit)
#        METHOD_TASKS="niah_multikey_2 vt" to choose the 32K method tasks.
#        BINARY_8K=PATH: the build that wrote the 8K ceilings, if not BINARY (each run directory is
#        one build, and --resume refuses rows of another; reports/qwen-long: 8K by 1885f257ea59,
#        16K and 32K by 70a152673c40).
#        methods-32k/ read codebooks calibrated on another host (sha256 4ef87304…); calibrating again
#        gives another file (reports/qwen-long/README.md), so the method grid continues in
#        METHODS_DIR (default methods-32k-2) with BINARY_METHODS (default BINARY; methods-32k-2 is
#        build dd2b361f43bb, C = 1024 codebooks sha256 ec6b5512…).
set -euo pipefail
bin=${1:?usage: qwen-long.sh BINARY [OUT]}
bin8k=${BINARY_8K:-$bin}
binMethods=${BINARY_METHODS:-$bin}
methodsDir=${METHODS_DIR:-methods-32k-2}
out=${2:-reports/qwen-long}
model=qwen2.5-coder-0.5b
ceiling_tasks="niah_single_1 niah_single_2 niah_single_3 niah_multikey_1 niah_multikey_2 niah_multikey_3 niah_multivalue niah_multiquery vt cwe"
method_tasks=${METHOD_TASKS:-"niah_multikey_2 vt"}
methods="full,a2ats:centroids=1024,snapkv,quest,pqcache,clusterkv,shadowkv,infinigen,doublesparsity,actqkv,magicpig"

ceilings() {  # LENGTH SAMPLES [TASKS]
  local binary=$bin
  [ "$1" = 8192 ] && binary=$bin8k
  for task in ${3:-$ceiling_tasks}; do
    "$binary" run --model "$model" --task "$task" --length "$1" --samples "$2" --methods full \
      --out "$out/full-$(( $1 / 1024 ))k/$task" --resume
  done
}
methods32k() {  # SAMPLES
  for task in $method_tasks; do
    "$binMethods" run --model "$model" --task "$task" --length 32768 --samples "$1" --methods "$methods" \
      --attended-fractions 0.01,0.03,0.1 --out "$out/$methodsDir/$task" --resume
  done
}

ceilings 8192 5
methods32k 2
ceilings 16384 5
ceilings 8192 20
methods32k 5
ceilings 16384 20
methods32k 10
ceilings 32768 10 "$(echo " $ceiling_tasks " | sed -E "$(for t in $method_tasks; do printf 's/ %s / /;' "$t"; done)")"
