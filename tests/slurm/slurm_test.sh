#!/usr/bin/env bash
# slurm_test.sh -- lunet.sweep{ launcher = "slurm" } against a real Slurm:
#   slurm_test.sh LUNET_EXE
# Starts a one-node cluster (cluster.sh), then runs tests/slurm/sweep.lua,
# 22 trials through a job array:
#   1. the submitter waits; trial 3 crashes, trial 5 passes its timeout, and
#      the task of trial 7 is cancelled (scancel JOB_TASK) while it runs:
#      21 rows, and the submitter says one trial left no row;
#   2. a rerun with detach = true submits trial 7 alone and returns; a copy
#      of its spooled record, as if a second task had run it too, is made;
#   3. a rerun waits for (or collects) that array: every trial exactly once;
#   4. Ctrl-C (SIGINT) in the submitter of another sweep cancels its array.
# Exits 77 (skipped) unless run as root with slurm-wlm and munge installed.
# The cluster is stopped by PID on every exit.
set -u
lunet=$1
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then echo "skipped: the cluster needs root"; exit 77; fi
for cmd in slurmctld slurmd munged sbatch squeue scancel sinfo runuser; do
  command -v "$cmd" >/dev/null || { echo "skipped: $cmd is not installed (apt-get install slurm-wlm munge)"; exit 77; }
done

work=$(mktemp -d /tmp/lunet_slurm.XXXXXX)
chmod 0755 "$work"
source "$here/cluster.sh"
finish() {
  local rc=$?
  cluster_stop
  if [ $rc != 0 ]; then
    echo "--- failed; the task logs and daemon logs:"
    tail -n 5 "$work"/run/out.csv.spool/slurm-*.out "$work"/slurmctld.log "$work"/slurmd.log 2>/dev/null | tail -n 80
  fi
  rm -rf "$work"
  exit $rc
}
trap finish EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; exit 1; }

cluster_start "$work" || fail "the cluster did not start"
dir=$work/run
mkdir -p "$dir"
cd "$work" || exit 1

# 1. The sweep, with the task of trial 7 cancelled while it runs.
"$lunet" run "$here/sweep.lua" "$dir" run >"$work/run1.log" 2>&1 &
submitter=$!
for _ in $(seq 600); do [ -s "$dir/cancel-me" ] && break; sleep 0.1; done
[ -s "$dir/cancel-me" ] || fail "trial 7 never started: $(cat "$work/run1.log")"
scancel "$(cat "$dir/cancel-me")" || fail "scancel $(cat "$dir/cancel-me") failed"
wait $submitter || fail "the first run failed: $(cat "$work/run1.log")"
cat "$work/run1.log"
grep -q "RESULT total=22 skipped=0 done=21 failed=2 lost=1" "$work/run1.log" || fail "run 1: wrong counts"
grep -q "1 trials of job array .* left no row" "$work/run1.log" || fail "run 1: the lost trial was not named"
[ "$(grep -c . "$dir/out.csv")" = 22 ] || fail "run 1: expected a header and 21 rows in out.csv"

# 2. A detached rerun submits trial 7 alone; its record is then copied.
"$lunet" run "$here/sweep.lua" "$dir" detach >"$work/run2.log" 2>&1 || fail "run 2 failed: $(cat "$work/run2.log")"
cat "$work/run2.log"
grep -q "RESULT total=22 skipped=21 done=0 failed=0 lost=0 job=" "$work/run2.log" || fail "run 2: wrong counts"
grep -q "for 1 trials" "$work/run2.log" || fail "run 2 did not submit the one missing trial"
for _ in $(seq 300); do
  record=$(ls "$dir"/out.csv.spool/*.trial 2>/dev/null | head -n 1)
  [ -n "$record" ] && break
  sleep 0.1
done
[ -n "$record" ] || fail "the detached array left no record in the spool"
cp "$record" "$dir/out.csv.spool/6.99_0.trial" # as if a second task ran trial 7 too

# 3. The rerun collects: every trial once.
"$lunet" run "$here/sweep.lua" "$dir" run >"$work/run3.log" 2>&1 || fail "run 3 failed: $(cat "$work/run3.log")"
cat "$work/run3.log"
grep -q "RESULT total=22 skipped=22 done=0" "$work/run3.log" || fail "run 3: wrong counts"
ls "$dir"/out.csv.spool/*.trial >/dev/null 2>&1 && fail "records left in the spool: $(ls "$dir/out.csv.spool")"
"$lunet" run "$here/sweep.lua" "$dir" check || fail "the rows are wrong"
# 4. Ctrl-C while the array runs: the submitter cancels it and says so.
"$lunet" run "$here/sweep.lua" "$dir" slow >"$work/run4.log" 2>&1 &
submitter=$!
job=
for _ in $(seq 300); do
  job=$(cat "$dir/slow.csv.spool/job" 2>/dev/null)
  [ -n "$job" ] && squeue --noheader --array --jobs="$job" --format=%T 2>/dev/null | grep -q RUNNING && break
  sleep 0.1
done
[ -n "$job" ] || fail "run 4 submitted nothing: $(cat "$work/run4.log")"
kill -INT $submitter
wait $submitter && fail "run 4 ended well after SIGINT"
cat "$work/run4.log"
grep -q "interrupted: job array $job cancelled (scancel $job)" "$work/run4.log" || fail "run 4: no cancel message"
for _ in $(seq 100); do
  [ -z "$(squeue --noheader --array --jobs="$job" --format=%T 2>/dev/null)" ] && break
  sleep 0.1
done
[ -z "$(squeue --noheader --array --jobs="$job" --format=%T 2>/dev/null)" ] || fail "job array $job still runs"
echo "slurm test passed"
