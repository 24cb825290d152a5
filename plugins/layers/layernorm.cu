/* layernorm.cu -- layernorm.c's rows as kernels: one block of LUNET_THREADS
** per row for the statistics, forward and dx; columns of 32 for dgamma and
** dbeta. Sums are float fixed trees here, double loops in the .c. */
#include <lunet/kernels.cuh>

/* mean = sum x / n, istd = 1 / sqrt(sum (x - mean)^2 / n + eps);
** y = gamma (x - mean) istd + beta (gamma, beta NULL: 1, 0)    (rows, n) -> (rows, n) */
__global__ void layernorm_forward_kernel(const float *x, float *y, const float *w, const float *b, float *mean,
                                         float *istd, int64_t n, float eps) {
  const float *xr = x + blockIdx.x * n;
  float *yr = y + blockIdx.x * n, s = 0.0f, q = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += xr[j];
  float m = lunet_block_reduce(s, 0) / (float)n;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) q += (xr[j] - m) * (xr[j] - m);
  float is = 1.0f / sqrtf(lunet_block_reduce(q, 0) / (float)n + eps);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    yr[j] = (xr[j] - m) * is * (w ? w[j] : 1.0f) + (b ? b[j] : 0.0f);
  if (threadIdx.x == 0) mean[blockIdx.x] = m, istd[blockIdx.x] = is;
}

/* g = dy gamma, dx = istd (g - sum g / n - xhat sum g xhat / n)    (rows, n) -> (rows, n) */
__global__ void layernorm_backward_kernel(const float *x, const float *dy, float *dx, const float *w,
                                          const float *mean, const float *istd, int64_t n) {
  const float *xr = x + blockIdx.x * n, *dyr = dy + blockIdx.x * n;
  float *dxr = dx + blockIdx.x * n, m = mean[blockIdx.x], is = istd[blockIdx.x], sg = 0.0f, sgx = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    float g = dyr[j] * (w ? w[j] : 1.0f);
    sg += g;
    sgx += g * (xr[j] - m) * is;
  }
  float a = lunet_block_reduce(sg, 0) / (float)n, c = lunet_block_reduce(sgx, 0) / (float)n;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    dxr[j] = is * (dyr[j] * (w ? w[j] : 1.0f) - a - (xr[j] - m) * is * c);
}

#define LN_COLS 32
#define LN_LANES 8

/* dgamma_j = sum_i dy xhat, dbeta_j = sum_i dy    (rows, n) -> (n): lane ty
** sums rows ty, ty + 8, ..., then the 8 lanes in order (deterministic). */
__global__ void layernorm_params_kernel(const float *x, const float *dy, const float *mean, const float *istd,
                                        float *dw, float *db, int64_t rows, int64_t n) {
  __shared__ float pw[LN_LANES][LN_COLS], pb[LN_LANES][LN_COLS];
  int64_t j = blockIdx.x * (int64_t)LN_COLS + threadIdx.x;
  float sw = 0.0f, sb = 0.0f;
  if (j < n)
    for (int64_t i = threadIdx.y; i < rows; i += LN_LANES) {
      float g = dy[i * n + j];
      sw += g * (x[i * n + j] - mean[i]) * istd[i];
      sb += g;
    }
  pw[threadIdx.y][threadIdx.x] = sw, pb[threadIdx.y][threadIdx.x] = sb;
  __syncthreads();
  if (threadIdx.y == 0 && j < n) {
    float tw = 0.0f, tb = 0.0f;
    for (int r = 0; r < LN_LANES; r++) tw += pw[r][threadIdx.x], tb += pb[r][threadIdx.x];
    dw[j] = tw, db[j] = tb;
  }
}

LUNET_LAUNCHER int layernorm_forward_launch(const float *x, float *y, const float *w, const float *b, float *mean,
                                            float *istd, int64_t rows, int64_t n, float eps) {
  if (rows > 0)
    layernorm_forward_kernel<<<(unsigned)rows, LUNET_THREADS, 0, LUNET_STREAM>>>(x, y, w, b, mean, istd, n, eps);
  return lunet_launched();
}

LUNET_LAUNCHER int layernorm_backward_launch(const float *x, const float *dy, float *dx, const float *w,
                                             const float *mean, const float *istd, int64_t rows, int64_t n) {
  if (rows > 0)
    layernorm_backward_kernel<<<(unsigned)rows, LUNET_THREADS, 0, LUNET_STREAM>>>(x, dy, dx, w, mean, istd, n);
  return lunet_launched();
}

LUNET_LAUNCHER int layernorm_params_launch(const float *x, const float *dy, const float *mean, const float *istd,
                                           float *dw, float *db, int64_t rows, int64_t n) {
  layernorm_params_kernel<<<(unsigned)((n + LN_COLS - 1) / LN_COLS), dim3(LN_COLS, LN_LANES), 0, LUNET_STREAM>>>(
      x, dy, mean, istd, dw, db, rows, n);
  return lunet_launched();
}
