/*
** pooling.cuh -- pooling.h on the GPU, shared by mean_pool.cu and
** attention_pool.cu: the weights a = softmax(score + mask) over T
** positions, the weighted sum y = sum_t a_t x_t, and its backward. Each
** output element is one thread's loop, in pooling.h's order: no atomics.
*/
#ifndef LUNET_POOLING_CUH
#define LUNET_POOLING_CUH

#include <lunet/kernels.cuh>

/* a[b] = softmax_t(score[b] + mask[b]); score or mask NULL: 0; score may
** be a    (B, T) -> (B, T) */
__global__ void pool_softmax_kernel(const float *score, const float *mask, float *a, int B, int T) {
  LUNET_KERNEL_LOOP(b, B) {
    float *ab = a + b * T, m = -INFINITY, sum = 0.0f;
    for (int t = 0; t < T; t++) {
      ab[t] = (score ? score[b * T + t] : 0.0f) + (mask ? mask[b * T + t] : 0.0f);
      m = fmaxf(m, ab[t]);
    }
    for (int t = 0; t < T; t++) sum += ab[t] = expf(ab[t] - m);
    for (int t = 0; t < T; t++) ab[t] /= sum;
  }
}

/* y[b, e] = sum_t a[b, t] x[b, t, e]    (B, T), (B, T, E) -> (B, E) */
__global__ void pool_sum_kernel(const float *a, const float *x, float *y, int B, int T, int E) {
  LUNET_KERNEL_LOOP(k, (int64_t)B * E) {
    int64_t b = k / E, e = k % E;
    float s = 0.0f;
    for (int t = 0; t < T; t++) s += a[b * T + t] * x[(b * T + t) * E + e];
    y[k] = s;
  }
}

/* ds[b, t] = a_t dy[b] . (x_t - y[b]) (the gradient of score and mask);
** dx[b, t, :] = a_t dy[b] (overwritten); either NULL when not wanted
**     (B, E) -> (B, T), (B, T, E) */
__global__ void pool_backward_kernel(const float *a, const float *x, const float *y, const float *dy, float *ds,
                                     float *dx, int B, int T, int E) {
  LUNET_KERNEL_LOOP(k, (int64_t)B * T) {
    int64_t b = k / T;
    const float *xt = x + k * E, *db = dy + b * E, *yb = y + b * E;
    float g = 0.0f, dyy = 0.0f;
    for (int e = 0; e < E; e++) {
      dyy += db[e] * yb[e];
      g += db[e] * xt[e];
      if (dx) dx[k * E + e] = a[k] * db[e];
    }
    if (ds) ds[k] = a[k] * (g - dyy);
  }
}

LUNET_LAUNCHER int pool_softmax_launch(const float *score, const float *mask, float *a, int B, int T) {
  pool_softmax_kernel<<<lunet_blocks(B), LUNET_THREADS, 0, LUNET_STREAM>>>(score, mask, a, B, T);
  return lunet_launched();
}

LUNET_LAUNCHER int pool_sum_launch(const float *a, const float *x, float *y, int B, int T, int E) {
  pool_sum_kernel<<<lunet_blocks((int64_t)B * E), LUNET_THREADS, 0, LUNET_STREAM>>>(a, x, y, B, T, E);
  return lunet_launched();
}

LUNET_LAUNCHER int pool_backward_launch(const float *a, const float *x, const float *y, const float *dy, float *ds,
                                        float *dx, int B, int T, int E) {
  pool_backward_kernel<<<lunet_blocks((int64_t)B * T), LUNET_THREADS, 0, LUNET_STREAM>>>(a, x, y, dy, ds, dx, B, T,
                                                                                         E);
  return lunet_launched();
}

#endif
