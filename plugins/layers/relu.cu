/* relu.cu -- relu.c's two loops as kernels. */
#include <lunet/kernels.cuh>

/* y = max(x, 0)    (B, n) -> (B, n), n_all = B n */
__global__ void relu_forward_kernel(const float *x, float *y, int64_t n_all) {
  LUNET_KERNEL_LOOP(i, n_all) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

/* dx = y > 0 ? dy : 0    (B, n) -> (B, n) */
__global__ void relu_backward_kernel(const float *y, const float *dy, float *dx, int64_t n_all) {
  LUNET_KERNEL_LOOP(i, n_all) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

LUNET_LAUNCHER int relu_forward_launch(const float *x, float *y, int64_t n_all) {
  relu_forward_kernel<<<lunet_blocks(n_all), LUNET_THREADS, 0, LUNET_STREAM>>>(x, y, n_all);
  return lunet_launched();
}

LUNET_LAUNCHER int relu_backward_launch(const float *y, const float *dy, float *dx, int64_t n_all) {
  relu_backward_kernel<<<lunet_blocks(n_all), LUNET_THREADS, 0, LUNET_STREAM>>>(y, dy, dx, n_all);
  return lunet_launched();
}
