/* softmax.cu -- softmax.c's rows as kernels: one block of LUNET_THREADS per row. */
#include <lunet/kernels.cuh>

/* y_j = exp(x_j - m) / sum_k exp(x_k - m),  m = max_k x_k    (rows, n) -> (rows, n) */
__global__ void softmax_forward_kernel(const float *x, float *y, int64_t n) {
  const float *xr = x + blockIdx.x * n;
  float *yr = y + blockIdx.x * n;
  float m = -INFINITY, s = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, xr[j]);
  m = lunet_block_reduce(m, 1);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    float e = expf(xr[j] - m);
    yr[j] = e;
    s += e;
  }
  s = lunet_block_reduce(s, 0);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] /= s;
}

/* dx_j = y_j (dy_j - sum_k dy_k y_k)    (rows, n) -> (rows, n) */
__global__ void softmax_backward_kernel(const float *y, const float *dy, float *dx, int64_t n) {
  const float *yr = y + blockIdx.x * n, *dyr = dy + blockIdx.x * n;
  float *dxr = dx + blockIdx.x * n, dot = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) dot += dyr[j] * yr[j];
  dot = lunet_block_reduce(dot, 0);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) dxr[j] = yr[j] * (dyr[j] - dot);
}

LUNET_LAUNCHER int softmax_forward_launch(const float *x, float *y, int64_t rows, int64_t n) {
  if (rows > 0) softmax_forward_kernel<<<(unsigned)rows, LUNET_THREADS, 0, LUNET_STREAM>>>(x, y, n);
  return lunet_launched();
}

LUNET_LAUNCHER int softmax_backward_launch(const float *y, const float *dy, float *dx, int64_t rows, int64_t n) {
  if (rows > 0) softmax_backward_kernel<<<(unsigned)rows, LUNET_THREADS, 0, LUNET_STREAM>>>(y, dy, dx, n);
  return lunet_launched();
}
