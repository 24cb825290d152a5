#!/usr/bin/env bash
# bench/gpu_bundle.sh -- run HERE (a Debian machine with lunet's packages and
# nvcc): builds lunet with CUDA and packs what bench/gpu_check.sh needs on a
# GPU machine that has CUDA 13, Python with PyTorch, meson and ninja, but no
# Debian packages and no network (docs/cuda.md, "The GPU check").
#
#   bench/gpu_bundle.sh            -> build-cuda-bundle/ (about 35 MB)
#
# What travels is binaries built here with their shared libraries, not
# sources to build there: the lunet executable, every plugin, the parity
# program, and the libraries of Debian's packages they link (Lua 5.4,
# OpenBLAS with its LAPACK and libgfortran, libcsv, zlib), packed as
# lib.tar.xz; the CUDA libraries are the GPU machine's own (same major
# version, 13). Fashion-MNIST's training files go along for the MLP and CNN
# timings. Binaries need a glibc at least as new as this machine's (2.36);
# the GPU image's (Ubuntu 24.04, 2.39) is.
#
# The folder's name matches .gitignore's build*/, so git ignores it; the run
# tool carries it when named: carry = ["build-cuda-bundle"].
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-cuda
out=build-cuda-bundle
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "gpu_bundle: no nvcc on PATH nor at /usr/local/cuda/bin/nvcc: CUDA is needed to build the bundle" >&2
  exit 1
fi
[ -f "$build/build.ninja" ] || meson setup "$build" -Dcuda=enabled
ninja -C "$build" host/lunet bench/gpu_parity $(cd "$build" && ninja -t targets all | awk -F: '/^plugins\/[a-z_0-9]*\.so:/ {print $1}')

rm -rf "$out"
mkdir -p "$out/bin" "$out/plugins" "$out/lib" "$out/data/fashion-mnist"
cp "$build/host/lunet" "$build/bench/gpu_parity" "$out/bin/"
cp "$build"/plugins/*.so "$out/plugins/"
# every library ldd finds outside glibc, the compiler's runtime and CUDA
for f in "$out"/bin/* "$out"/plugins/*.so; do ldd "$f"; done | awk '/=> \// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+)\.so|/ld-linux|cuda|libcublas|libcudart' |
  while read -r lib; do cp -L "$lib" "$out/lib/"; done
tar -C "$out" -cJf "$out/lib.tar.xz" lib
rm -rf "$out/lib"
data=${LUNET_DATA_DIR:-/usr/share/datasets}/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || data=/usr/share/datasets/fashion-mnist
cp "$data"/train-images-idx3-ubyte.gz "$data"/train-labels-idx1-ubyte.gz "$out/data/fashion-mnist/"
git rev-parse HEAD > "$out/COMMIT"
echo "gpu_bundle: $(du -sh "$out" | cut -f1) in $out (commit $(cut -c1-12 "$out/COMMIT")); on the GPU machine: bench/gpu_check.sh"
