#!/usr/bin/env bash
# bench/gpu_check.sh -- the GPU check of docs/cuda.md, on a machine with one
# NVIDIA GPU (an H200), CUDA 13 and Python with PyTorch, from the repository
# root, after bench/gpu_bundle.sh made build-cuda-bundle/ on a Debian machine:
#
#   bench/gpu_check.sh            (run tool: carry = ["build-cuda-bundle"])
#
#   1. parity: every CUDA entry against its CPU reference, forward, backward
#      and optimizer steps, random shapes, fp32 relative error <= 1e-4
#      (bench/gpu_parity);
#   2. a short training on the CPU and on the GPU that must agree, and a
#      model saved on the GPU loaded on the CPU (bench/gpu_train.lua);
#   3. MLP, CNN, char-transformer and char-LSTM timings, lunet and PyTorch
#      on the same GPU (bench/mlp.lua, cnn.lua, transformer.lua, lstm.lua and
#      their _torch.py; PyTorch's LSTM is cuDNN's),
#      one run each, as a markdown table (also in $OUT/gpu_check.md when the
#      run tool's $OUT is set). A workload with a layer that has no CUDA
#      entry yet says so instead of a time.
# A few minutes in all (the timings are most of it). Without a GPU (here),
# step 1 runs its CPU half, says why there is no GPU, and the check stops:
# a dry run. Exit status: 0 passed (or dry run), 1 a check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=$PWD/build-cuda-bundle
py=${PYTHON:-python3}
if [ ! -x "$bundle/bin/lunet" ]; then
  echo "gpu_check: no $bundle/bin/lunet: run bench/gpu_bundle.sh on a machine with lunet's packages first" >&2
  exit 1
fi
libs=$(mktemp -d)
trap 'rm -rf "$libs"' EXIT
tar -C "$libs" -xJf "$bundle/lib.tar.xz"
export LD_LIBRARY_PATH="$libs/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# CUDA 13's libraries: the toolkit's (the binaries' rpath), else PyTorch's wheels
if [ ! -e /usr/local/cuda/lib64/libcublas.so.13 ]; then
  for name in libcublas.so.13 libcudart.so.13; do
    found=$(find / -xdev -name "$name" 2>/dev/null | head -1)
    [ -n "$found" ] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$found")"
  done
fi
export LUNET_PLUGIN_PATH="$bundle/plugins" LUNET_DATA_DIR="$bundle/data" LUNET_THREADS=4 OPENBLAS_NUM_THREADS=4
lunet=$bundle/bin/lunet
fail=0
report=${OUT:+$OUT/gpu_check.md}

echo "== machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')," \
     "bundle of commit $(cut -c1-12 "$bundle/COMMIT" 2>/dev/null), $(date -u +%Y-%m-%d)"
"$lunet" version

echo "== 1. parity of every CUDA entry with the CPU reference"
"$bundle/bin/gpu_parity" --rounds 3
rc=$?
if [ $rc -eq 77 ]; then
  echo "gpu_check: no GPU here, so this was a dry run: the bundle loads, every plugin and the CPU half of the parity checks ran"
  exit 0
fi
[ $rc -ne 0 ] && fail=1

echo "== 2. the same training on the CPU and on the GPU"
"$lunet" run bench/gpu_train.lua --device cuda || fail=1

echo "== 3. timings against PyTorch on the same GPU"
# the value of KEY in the RESULT line of a command, or why there is none
result() {
  local key=$1 out
  shift
  out=$("$@" 2>&1)
  if grep -q "^RESULT" <<<"$out"; then
    grep "^RESULT" <<<"$out" | tr ' ' '\n' | sed -n "s/^$key=//p"
  else
    echo "not run: $(grep -m1 -E 'error|no cuda entry|: ' <<<"$out" | cut -c1-160)"
  fi
}
table="| workload | lunet | PyTorch | lunet/PyTorch |\n|---|---|---|---|"
row() {
  local name=$1 key=$2 args=$3 lua=$4 torch=$5 a b ratio
  a=$(result "$key" "$lunet" run "bench/$lua" $args --device cuda)
  b=$(result "$key" "$py" "bench/$torch" $args --device cuda)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
  echo "  $name: lunet $a, PyTorch $b"
  table="$table\n| $name | $a | $b | $ratio |"
}
row "MLP 784-256-128-10 epoch (60k images, batch 128), s" epoch_seconds "--hidden 256,128 --batch 128 --epochs 3" mlp.lua mlp_torch.py
row "CNN of cnn_fashion.lua, epoch of 10k images, s" epoch_seconds "--n 10000 --epochs 2" cnn.lua cnn_torch.py
row "transformer step (2 blocks, B 32, T 128, E 128, 4 heads, V 100), s" step_seconds "--steps 20 --epochs 3" transformer.lua transformer_torch.py
row "char LSTM step (B 64, T 128, H 256, V 100), s" step_seconds "--steps 20 --epochs 3" lstm.lua lstm_torch.py
printf "\n$table\n"
[ -n "$report" ] && printf "GPU check, $(date -u +%Y-%m-%d), $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null)\n\n$table\n" >"$report"
[ $fail -eq 0 ] && echo "gpu_check: passed" || echo "gpu_check: FAILED (see above)"
exit $fail
