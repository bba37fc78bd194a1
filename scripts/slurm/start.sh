#!/bin/bash
# Starts a one-node Slurm on this machine (Debian's slurm-wlm with munge), by hand, without
# systemd: munged, slurmctld and slurmd run as root with a minimal slurm.conf whose node is
# this host (all its CPUs, its memory less 1 GiB). Needs root. Undo with scripts/slurm/stop.sh.
#
#   sudo scripts/slurm/start.sh          # then: sinfo, sbatch, squeue as usual
#
# State, logs and pid files go to $SLURM_STATE (default /tmp/a2ats-slurm); the config is
# written to /etc/slurm/slurm.conf (where Debian's commands read it) unless one exists that
# this script did not write.
set -euo pipefail
STATE=${SLURM_STATE:-/tmp/a2ats-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by a2ats-eval scripts/slurm/start.sh"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge
fi
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    echo "error: $CONF exists and was not written by this script; not touching it" >&2
    exit 1
fi

host=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$STATE"/spool "$STATE"/ctld /etc/slurm /run/munge /var/log/munge /var/lib/munge
cat > "$CONF" <<CONF
$MARK
ClusterName=a2ats
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
JobCompType=jobcomp/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

# munge: a key (the package makes one; make it if missing), then the daemon as user munge.
if [ ! -s /etc/munge/munge.key ]; then mungekey --create --keyfile=/etc/munge/munge.key; fi
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
chmod 0700 /etc/munge
chmod 0600 /etc/munge/munge.key
if [ ! -S /run/munge/munge.socket.2 ] || ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
fi
munge -n | unmunge >/dev/null   # fails loudly if munge does not work

slurmctld
slurmd
for _ in $(seq 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
        sinfo
        exit 0
    fi
    sleep 1
done
echo "error: the node did not become idle within 60 s; see $STATE/slurmctld.log and $STATE/slurmd.log" >&2
sinfo -R >&2 || true
exit 1
