/*
** rows.cuh -- the two kernels of a bias on the GPU, shared by dense.cu and
** linear.cu: fill each row with the bias, and sum the rows of a gradient;
** and a copy between row-strided blocks (concat.cu, recurrent.cuh).
*/
#ifndef LUNET_ROWS_CUH
#define LUNET_ROWS_CUH

#include <lunet/kernels.cuh>

/* y[i, j] = b[j]    (n) -> (rows, n) */
__global__ void rows_fill_kernel(float *y, const float *b, int64_t rows, int n) {
  LUNET_KERNEL_LOOP(k, rows * n) y[k] = b[k % n];
}

#define ROWS_COLS 32  /* columns per block: a warp reads 32 consecutive floats of a row */
#define ROWS_LANES 8  /* row groups per block */

/* db[j] = sum_i dy[i, j]    (rows, n) -> (n). Block (32, 8) takes 32
** columns; lane ty sums rows ty, ty + 8, ... in order, then the 8 partial
** sums are added in a fixed order: deterministic, no atomics. */
__global__ void rows_sum_kernel(float *db, const float *dy, int64_t rows, int n) {
  __shared__ float part[ROWS_LANES][ROWS_COLS];
  int j = blockIdx.x * ROWS_COLS + threadIdx.x;
  float s = 0.0f;
  if (j < n)
    for (int64_t i = threadIdx.y; i < rows; i += ROWS_LANES) s += dy[i * n + j];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && j < n) {
    float t = 0.0f;
    for (int r = 0; r < ROWS_LANES; r++) t += part[r][threadIdx.x];
    db[j] = t;
  }
}

/* dst[i, c] = src[i, c], rows ld_dst and ld_src apart    -> (rows, n) */
__global__ void rows_copy_kernel(float *dst, int64_t ld_dst, const float *src, int64_t ld_src,
                                 int64_t rows, int64_t n) {
  LUNET_KERNEL_LOOP(k, rows * n) dst[k / n * ld_dst + k % n] = src[k / n * ld_src + k % n];
}

LUNET_LAUNCHER int rows_copy_launch(float *dst, int64_t ld_dst, const float *src, int64_t ld_src,
                                    int64_t rows, int64_t n) {
  rows_copy_kernel<<<lunet_blocks(rows * n), LUNET_THREADS, 0, LUNET_STREAM>>>(dst, ld_dst, src, ld_src,
                                                                               rows, n);
  return lunet_launched();
}

LUNET_LAUNCHER int rows_fill_launch(float *y, const float *b, int64_t rows, int n) {
  rows_fill_kernel<<<lunet_blocks(rows * n), LUNET_THREADS, 0, LUNET_STREAM>>>(y, b, rows, n);
  return lunet_launched();
}

LUNET_LAUNCHER int rows_sum_launch(float *db, const float *dy, int64_t rows, int n) {
  rows_sum_kernel<<<(n + ROWS_COLS - 1) / ROWS_COLS, dim3(ROWS_COLS, ROWS_LANES), 0, LUNET_STREAM>>>(db, dy, rows, n);
  return lunet_launched();
}

#endif
