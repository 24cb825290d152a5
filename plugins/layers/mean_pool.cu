/* mean_pool.cu -- mean_pool.c's weighted mean on the GPU: each thread
** recomputes the T weights a = softmax(mask) of its sample (pooling.h's
** pool_softmax), so no pass needs scratch; every output element is one
** thread's sum, in pooling.h's order: no atomics. */
#include <lunet/kernels.cuh>

/* The max m and the sum of e^(mask_t - m) of one sample's mask    (T) */
__device__ static void pool_norm(const float *mask, int T, float *m, float *sum) {
  *m = -INFINITY, *sum = 0.0f;
  for (int u = 0; u < T; u++) *m = fmaxf(*m, mask[u]);
  for (int u = 0; u < T; u++) *sum += expf(mask[u] - *m);
}

/* a_t = softmax(mask)_t = e^(mask_t - m) / sum; mask NULL: 1 / T */
__device__ static float pool_weight(const float *mask, int T, int t, float m, float sum) {
  return mask ? expf(mask[t] - m) / sum : 1.0f / (float)T;
}

/* y[b, e] = sum_t a_t x[b, t, e]    (B, T, E), (B, T) -> (B, E) */
__global__ void mean_pool_forward_kernel(const float *x, const float *mask, float *y, int B, int T, int E) {
  LUNET_KERNEL_LOOP(k, (int64_t)B * E) {
    int64_t b = k / E, e = k % E;
    const float *mk = mask ? mask + b * T : NULL;
    float s = 0.0f, m = 0.0f, sum = 1.0f;
    if (mk) pool_norm(mk, T, &m, &sum);
    for (int t = 0; t < T; t++) s += pool_weight(mk, T, t, m, sum) * x[(b * T + t) * E + e];
    y[k] = s;
  }
}

/* dx[b, t, :] = a_t dy[b],  dmask[b, t] = a_t dy[b] . (x_t - y[b]); either
** NULL when not wanted    (B, E) -> (B, T, E), (B, T) */
__global__ void mean_pool_backward_kernel(const float *x, const float *mask, const float *y, const float *dy,
                                          float *dx, float *dmask, int B, int T, int E) {
  LUNET_KERNEL_LOOP(k, (int64_t)B * T) {
    int64_t b = k / T;
    int t = (int)(k % T);
    const float *mk = mask ? mask + b * T : NULL;
    float m = 0.0f, sum = 1.0f, g = 0.0f, dyy = 0.0f;
    if (mk) pool_norm(mk, T, &m, &sum);
    float a = pool_weight(mk, T, t, m, sum);
    const float *xt = x + k * E, *db = dy + b * E;
    for (int e = 0; e < E; e++) {
      dyy += db[e] * y[b * E + e];
      g += db[e] * xt[e];
      if (dx) dx[k * E + e] = a * db[e];
    }
    if (dmask) dmask[k] = a * (g - dyy);
  }
}

LUNET_LAUNCHER int mean_pool_forward_launch(const float *x, const float *mask, float *y, int B, int T, int E) {
  mean_pool_forward_kernel<<<lunet_blocks((int64_t)B * E), LUNET_THREADS, 0, LUNET_STREAM>>>(x, mask, y, B, T, E);
  return lunet_launched();
}

LUNET_LAUNCHER int mean_pool_backward_launch(const float *x, const float *mask, const float *y, const float *dy,
                                             float *dx, float *dmask, int B, int T, int E) {
  mean_pool_backward_kernel<<<lunet_blocks((int64_t)B * T), LUNET_THREADS, 0, LUNET_STREAM>>>(x, mask, y, dy, dx,
                                                                                             dmask, B, T, E);
  return lunet_launched();
}
