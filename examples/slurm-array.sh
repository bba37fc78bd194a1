#!/bin/bash
# A sharded a2ats-eval sweep as a Slurm job array: 8 array tasks, task I runs samples
# k with k mod 8 = I of every task, all methods × budgets, into its own directory.
#
#   mkdir -p logs
#   jid=$(sbatch --parsable examples/slurm-array.sh)
#   sbatch --dependency=afterok:$jid --array=0 examples/slurm-array.sh report   # merge when all 8 are done
# (--array=0: without it the report job would inherit --array=0-7 below and run 8 times)
#
# a2ats-eval reads the shard from Slurm itself: I = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN,
# N = SLURM_ARRAY_TASK_COUNT. Keep the array contiguous (0-7, or 0-7%4 to run 4 at a time);
# a list such as 0,2,4 is refused. --resume makes a requeued or restarted task continue from
# its last finished row; every shard generates the same RULER data (same --seed and --length).
# The run directory, report and grid can be set from the environment (sbatch passes it on):
# A2ATS_RUN, A2ATS_REPORT, A2ATS_GRID (words split on spaces); scripts/slurm/array-check.sh runs
# this file under a real one-node Slurm as a 4-task array (sbatch --array=0-3 overrides 0-7).
#
#SBATCH --job-name=a2ats-eval
#SBATCH --array=0-7
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=12:00:00
#SBATCH --requeue
#SBATCH --output=logs/%x-%A_%a.out
set -euo pipefail

A2ATS_EVAL=${A2ATS_EVAL:-.build/release/a2ats-eval}   # or the installed binary
RUN=${A2ATS_RUN:-runs/x}
GRID=${A2ATS_GRID:---task niah_single_1,vt --length 4096 --samples 40 --seed 42 --methods full,streamingllm,snapkv,oracle --budgets 64,256,0.03}
export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}

if [ "${1:-}" = report ]; then
    # Merges the shard directories: per-task tables, plots, results.csv and summary.json.
    exec "$A2ATS_EVAL" report "$RUN"/shard-* --out "${A2ATS_REPORT:-reports/x.md}"
fi

# --out is given, so no shard suffix is added: the directory name carries the array index.
# shellcheck disable=SC2086  # GRID is a list of words
exec "$A2ATS_EVAL" run $GRID --out "$RUN/shard-$SLURM_ARRAY_TASK_ID" --resume
