#!/bin/bash
# Stops what scripts/slurm/start.sh started: slurmd, slurmctld (by their pid files) and munged.
# Leaves the packages and $SLURM_STATE (logs) in place.
set -uo pipefail
STATE=${SLURM_STATE:-/tmp/a2ats-slurm}
for daemon in slurmd slurmctld; do
    if [ -s "$STATE/$daemon.pid" ]; then
        pid=$(cat "$STATE/$daemon.pid")
        kill "$pid" 2>/dev/null && echo "stopped $daemon ($pid)"
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
done
if [ -s /run/munge/munged.pid ]; then
    pid=$(cat /run/munge/munged.pid)
    kill "$pid" 2>/dev/null && echo "stopped munged ($pid)"
fi
