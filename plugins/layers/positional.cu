/* positional.cu -- positional.c's sum and its gradient as kernels. */
#include "rows.cuh"

/* y[b, t] = x[b, t] + PE[t]: the learned table pe (T, E), or, when pe is
** NULL, the sinusoids computed in double as the .c's table:
** PE[t, j] = j odd ? cos(a) : sin(a), a = t 10000^(-(j - j % 2) / E)    (B, T, E) -> (B, T, E) */
__global__ void positional_forward_kernel(const float *x, const float *pe, float *y, int64_t B, int T, int E) {
  int64_t n = (int64_t)T * E;
  LUNET_KERNEL_LOOP(k, B * n) {
    int64_t i = k % n;
    float p;
    if (pe) {
      p = pe[i];
    } else {
      int t = (int)(i / E), j = (int)(i % E);
      double a = t * pow(10000.0, -(double)(j - j % 2) / E);
      p = (float)(j % 2 ? cos(a) : sin(a));
    }
    y[k] = x[k] + p;
  }
}

LUNET_LAUNCHER int positional_forward_launch(const float *x, const float *pe, float *y, int64_t B, int T, int E) {
  positional_forward_kernel<<<lunet_blocks(B * T * E), LUNET_THREADS, 0, LUNET_STREAM>>>(x, pe, y, B, T, E);
  return lunet_launched();
}

/* dW[t] = sum over the batch of dy[b, t] for t < T, 0 up to max_len
** (rows.cuh's column sums over the (B, T E) gradient)    -> (max_len, E) */
LUNET_LAUNCHER int positional_weight_grad_launch(const float *dy, float *dw, int64_t B, int T, int E, int max_len) {
  int n = T * E;
  if (max_len > T) {
    cudaError_t e = cudaMemsetAsync(dw + n, 0, sizeof(float) * (size_t)(max_len - T) * E, LUNET_STREAM);
    if (e != cudaSuccess) return (int)e;
  }
  return rows_sum_launch(dw, dy, B, n);
}
