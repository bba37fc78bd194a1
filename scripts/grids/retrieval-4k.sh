#!/usr/bin/env bash
# The equal-workload comparison of issue 14 on the default model at 4K: every retrieval method,
# a2ats and PrefixKV at attended fractions 1%, 3% and 10% (each row's budget searched per sample
# until its measured fraction lands within ±10%), full attention and the matched oracle ceilings,
# all forked from one prefill per sample. Tasks grow in rounds (5, 10, 20, … 50 samples each) so
# that every task has rows early; each round resumes the last, so the grid can be stopped and
# restarted (or continued in a later session) with the same binary.
#
# Usage: scripts/grids/retrieval-4k.sh BINARY [OUT]   (BINARY: a copy of a2ats-eval built from one commit)
set -euo pipefail
bin=${1:?usage: retrieval-4k.sh BINARY [OUT]}
out=${2:-reports/retrieval-4k}
methods="full,a2ats,quest,quest:dense_layers=0,pqcache,clusterkv,clusterkv:window=64,dense_layers=0,shadowkv,infinigen,doublesparsity,actqkv:sinks=8,window=64,magicpig,prefixkv"
targets="0.01,0.03,0.1"
for samples in 5 10 20 30 40 50; do
  for task in niah_multikey_1 niah_multivalue lcc vt; do
    case $task in
      lcc) args=(--task lcc=tasks/data/lcc-stdlib.jsonl --max-length 3968) ;;
      *) args=(--task "$task" --length 4096) ;;
    esac
    "$bin" run "${args[@]}" --samples "$samples" --methods "$methods" --attended-fractions "$targets" \
      --out "$out/$task" --resume
  done
done
