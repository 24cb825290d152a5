/*
** lunet/kernels.cuh -- what a plugin's CUDA file (<name>.cu, beside
** <name>.c, docs/cuda.md) shares: the launch shape of elementwise kernels,
** the grid-stride loop, a deterministic block reduction, and how a
** launcher reports failure.
**
** A .cu file holds kernels and their launchers, plain functions with C
** linkage that the plugin's .c calls from its CUDA entries:
**
**     LUNET_LAUNCHER int relu_forward_cuda(const float *x, float *y, int64_t n) {
**       relu_forward_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(x, y, n);
**       return lunet_launched();
**     }
**
** A launcher returns 0 or the cudaError_t of the launch; the .c turns it
** into an error with lunet_cuda_check() (lunet/helpers.h). Work goes on the
** calling thread's stream (nvcc --default-stream per-thread), as cuBLAS's.
*/
#ifndef LUNET_KERNELS_CUH
#define LUNET_KERNELS_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#define LUNET_LAUNCHER extern "C" __attribute__((visibility("hidden")))
#define LUNET_STREAM cudaStreamPerThread
#define LUNET_THREADS 256

/* Blocks for n elements at LUNET_THREADS a block, at most 2^20 (the loops
** below stride over the rest). */
static inline unsigned lunet_blocks(int64_t n) {
  int64_t b = (n + LUNET_THREADS - 1) / LUNET_THREADS;
  return (unsigned)(b < 1 ? 1 : b > (1 << 20) ? (1 << 20) : b);
}

/* for each i in [0, n) handled by this thread */
#define LUNET_KERNEL_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* The sum (or max) of v over the threads of a block of LUNET_THREADS, for
** every thread: a fixed tree, so the same inputs give the same bits. */
__device__ static inline float lunet_block_reduce(float v, int take_max) {
  __shared__ float part[LUNET_THREADS];
  part[threadIdx.x] = v;
  __syncthreads();
  for (int s = LUNET_THREADS / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) {
      float o = part[threadIdx.x + s];
      part[threadIdx.x] = take_max ? fmaxf(part[threadIdx.x], o) : part[threadIdx.x] + o;
    }
    __syncthreads();
  }
  float r = part[0];
  __syncthreads(); /* part is reused by the next call */
  return r;
}

/* 0 when the last launch went through, else its cudaError_t. */
static inline int lunet_launched(void) { return (int)cudaGetLastError(); }

#endif
