# cluster.sh -- a one-node Slurm cluster for the tests, from Debian's
# slurm-wlm and munge packages. Sourced by slurm_test.sh (bash, as root):
#
#   cluster_start DIR    munged, slurmctld and slurmd with DIR/slurm.conf;
#                        munge's socket, state, spool, logs and pid files
#                        under DIR; exports SLURM_CONF
#   cluster_stop         stops what cluster_start started, by PID
#
# The settings that work in a container without cgroups or systemd:
# proctrack/linuxproc, task/none, no job accounting, cons_tres with CR_Core,
# one node named by `hostname` with the machine's CPU count, reached at
# 127.0.0.1 (the host name need not resolve). munged is a private one, on
# a socket under DIR (AuthInfo=socket=...), so that two clusters on one
# machine, or a system munged, never share or stop each other's.

CLUSTER_PIDS=()

# Waits up to $2 tenths of a second for the file $1 to hold a live pid.
wait_pidfile() {
  for _ in $(seq "$2"); do
    if [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

start_munge() {
  local dir=$1/munge
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p "$dir"
  chown munge:munge "$dir"
  runuser -u munge -- /usr/sbin/munged --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" || return 1
  wait_pidfile "$dir/munged.pid" 50 || return 1
  CLUSTER_PIDS+=("$(cat "$dir/munged.pid")")
}

# A TCP port nobody listens on, from a range Slurm's defaults avoid.
free_port() {
  local p
  for p in $(shuf -i 20000-29999 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo 26817
}

write_conf() {
  local dir=$1 host
  host=$(hostname)
  cat >"$dir/slurm.conf" <<EOF
ClusterName=lunettest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

cluster_start() {
  local dir=$1
  mkdir -p "$dir/state" "$dir/spool"
  start_munge "$dir" || { echo "cluster: cannot start munged"; cat "$dir/munge/munged.log"; return 1; }
  write_conf "$dir"
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" || { echo "cluster: slurmctld failed"; cat "$dir/slurmctld.log"; return 1; }
  wait_pidfile "$dir/slurmctld.pid" 100 && CLUSTER_PIDS+=("$(cat "$dir/slurmctld.pid")")
  slurmd -f "$SLURM_CONF" || { echo "cluster: slurmd failed"; cat "$dir/slurmd.log"; return 1; }
  wait_pidfile "$dir/slurmd.pid" 100 && CLUSTER_PIDS+=("$(cat "$dir/slurmd.pid")")
  for _ in $(seq 150); do # the node up and idle: ready for jobs
    if sinfo --noheader --format=%t 2>/dev/null | grep -q idle; then return 0; fi
    sleep 0.2
  done
  echo "cluster: the node never became idle:"; sinfo; tail -20 "$dir/slurmctld.log" "$dir/slurmd.log"
  return 1
}

cluster_stop() {
  local pid
  for pid in "${CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${CLUSTER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${CLUSTER_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  CLUSTER_PIDS=()
}
