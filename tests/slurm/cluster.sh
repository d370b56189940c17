#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost, for tests/test_slurm.py and CI.
#   cluster.sh install        install munge and SLURM from Debian's packages (root, apt)
#   cluster.sh start DIR      write DIR/slurm.conf, start munged, slurmctld and slurmd; wait for idle
#   cluster.sh stop DIR       stop the daemons started by `start` (by their pid files)
# Client commands need SLURM_CONF=DIR/slurm.conf in their environment.
set -euo pipefail

install() {
    if command -v slurmctld >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # not the slurm-wlm metapackage: it pulls ~25 -dev packages nobody needs here
    apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
}

start() {
    local dir=$1
    mkdir -p "$dir"/{state,spool,log,run}
    dir=$(cd "$dir" && pwd)
    # munge: its run folder must belong to the munge user, and a key must exist
    mkdir -p /run/munge && chown munge:munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey -c -f && chown munge:munge /etc/munge/munge.key
    fi
    if ! pgrep -x munged >/dev/null; then   # started here, so stopped here too
        runuser -u munge -- munged
        pgrep -n -x munged > "$dir/run/munged.pid"
    fi
    for _ in $(seq 40); do
        [ -S /run/munge/munge.socket.2 ] && break
        sleep 0.25
    done
    if [ ! -S /run/munge/munge.socket.2 ]; then
        echo "munged did not start (see /var/log/munge/munged.log)" >&2
        stop "$dir"
        return 1
    fi
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)                                                  # never claim more CPUs than exist
    mem=$(( $(free -m | awk '/^Mem:/ {print $2}') * 9 / 10 ))    # a little below what there is
    cat > "$dir/slurm.conf" <<CONF
ClusterName=dropoutsme-ci
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=ci Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    # Job steps (srun inside sbatch) look for the default location, whatever SLURM_CONF says
    # outside: point it at this file unless a real configuration is there.
    mkdir -p /etc/slurm
    if [ ! -e /etc/slurm/slurm.conf ] || [ -L /etc/slurm/slurm.conf ]; then
        ln -sf "$SLURM_CONF" /etc/slurm/slurm.conf
    fi
    slurmctld -i -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 60); do
        if [ "$(sinfo -h -o %t 2>/dev/null)" = "idle" ]; then
            return 0
        fi
        sleep 0.5
    done
    echo "SLURM did not become idle; logs in $dir/log" >&2
    sinfo >&2 || true
    stop "$dir"
    return 1
}

stop() {
    local dir=$1
    for daemon in slurmd slurmctld munged; do
        local pidfile="$dir/run/$daemon.pid"
        if [ -s "$pidfile" ]; then
            local pid
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 40); do   # wait, so that a restart does not meet a dying daemon
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
        fi
    done
    if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$dir/slurm.conf" ]; then
        rm -f /etc/slurm/slurm.conf
    fi
}

"$@"
