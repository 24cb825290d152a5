/* adagrad.cu -- adagrad.c's update() as one fused kernel, and its accumulator fill. */
#include <lunet/kernels.cuh>

/* g = grad + wd w;  sum += g^2;  w -= lr g / (sqrt(sum) + eps)    (n) -> (n) */
__global__ void adagrad_update_kernel(float *w, const float *grad, float *sum, int64_t n, float lr, float eps,
                                      float wd) {
  LUNET_KERNEL_LOOP(i, n) {
    float wi = w[i], g = grad[i] + wd * wi, s = sum[i] + g * g;
    sum[i] = s;
    w[i] = wi - lr * g / (sqrtf(s) + eps);
  }
}

/* sum = v    (n) */
__global__ void adagrad_fill_kernel(float *sum, float v, int64_t n) {
  LUNET_KERNEL_LOOP(i, n) sum[i] = v;
}

LUNET_LAUNCHER int adagrad_update_launch(float *w, const float *grad, float *sum, int64_t n, float lr, float eps,
                                         float wd) {
  adagrad_update_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(w, grad, sum, n, lr, eps, wd);
  return lunet_launched();
}

LUNET_LAUNCHER int adagrad_fill_launch(float *sum, float v, int64_t n) {
  adagrad_fill_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(sum, v, n);
  return lunet_launched();
}
