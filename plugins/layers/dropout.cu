/* dropout.cu -- dropout.c's products with the mask (drawn on the host) as one kernel. */
#include <lunet/kernels.cuh>

/* y = x mask: forward (x the input) and backward (x = dy, y = dx)    (B, n) -> (B, n) */
__global__ void dropout_apply_kernel(const float *x, const float *mask, float *y, int64_t n) {
  LUNET_KERNEL_LOOP(i, n) y[i] = x[i] * mask[i];
}

LUNET_LAUNCHER int dropout_apply_launch(const float *x, const float *mask, float *y, int64_t n) {
  dropout_apply_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(x, mask, y, n);
  return lunet_launched();
}
