#!/usr/bin/env bash
# tests/fuzz/run.sh -- builds the libFuzzer harnesses of tests/fuzz with
# clang (ASan + UBSan) and runs each for SECONDS (default 60).
#
#   tests/fuzz/run.sh [SECONDS [HARNESS...]]    e.g. tests/fuzz/run.sh 900 checkpoint
#
# Build folder: $FUZZ_BUILD (default build-fuzz). Each harness starts from
# its seed corpus, tests/fuzz/corpus/NAME (never written to), and keeps what
# it finds in $FUZZ_BUILD/corpus/NAME, so a second run goes on from there.
# A crash, leak, timeout (> 10 s on one input) or out-of-memory (> 2 GB)
# stops that harness with its input in $FUZZ_BUILD/artifacts/; the script
# then exits 1, after running the others.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(idx csv_dataset results_csv checkpoint text bpe)
build=${FUZZ_BUILD:-build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Dtests=false -Dnative=false \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized || exit 1
fi
ninja -C "$build" || exit 1

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OPENBLAS_NUM_THREADS=1 LUNET_THREADS=1
failed=()
mkdir -p "$build/artifacts"
for name in "${names[@]}"; do
  mkdir -p "$build/corpus/$name"
  echo "== fuzz_$name: ${seconds} s"
  "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" \
    "$build/corpus/$name" "tests/fuzz/corpus/$name" 2>"$build/fuzz_$name.log"
  rc=$?
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)|^INFO: seed corpus|cov:' \
    "$build/fuzz_$name.log" | tail -4
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    tail -60 "$build/fuzz_$name.log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing FAILED: ${failed[*]} (inputs in $build/artifacts/)"
  exit 1
fi
echo "fuzzing: no crash, leak or timeout in ${names[*]}"
