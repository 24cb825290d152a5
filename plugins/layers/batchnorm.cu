/* batchnorm.cu -- batchnorm.c's per-channel passes as kernels: one block
** of LUNET_THREADS per channel c, over its B S values (B rows of S at
** (i C + c) S). Sums are float fixed trees here (deterministic), float rows
** added in double in the .c. */
#include <lunet/kernels.cuh>

/* Value k of the block's channel (k < B S): sample k / S, offset k % S. */
__device__ static inline int64_t channel_at(int64_t k, int C, int64_t S) {
  return ((k / S) * C + blockIdx.x) * S + k % S;
}

/* for each of this thread's share k of the channel's B S values, at = its index */
#define FOR_CHANNEL(at, B, C, S)                                            \
  for (int64_t k_ = threadIdx.x, at; k_ < (int64_t)(B) * (S) && (at = channel_at(k_, C, S), 1); \
       k_ += blockDim.x)

/* training: mean = sum x / n, var = sum (x - mean)^2 / n (n = B S), istd =
** 1 / sqrt(var + eps), running mean and variance (unbiased) updated with
** momentum m; eval: mean, istd from the running statistics. Then
** y = gamma (x - mean) istd + beta (gamma, beta NULL: 1, 0)    (B, C, S) -> (B, C, S) */
__global__ void batchnorm_forward_kernel(const float *x, float *y, const float *w, const float *b, float *rm,
                                         float *rv, float *stat, int B, int C, int64_t S, double m, double eps,
                                         int train) {
  int c = blockIdx.x;
  float mean, istd;
  if (train) {
    double n = (double)B * (double)S;
    float s = 0.0f, q = 0.0f;
    FOR_CHANNEL(at, B, C, S) s += x[at];
    double sum = lunet_block_reduce(s, 0);
    mean = (float)(sum / n);
    FOR_CHANNEL(at, B, C, S) q += (x[at] - mean) * (x[at] - mean);
    double var = lunet_block_reduce(q, 0) / n;
    istd = (float)(1.0 / sqrt(var + eps));
    if (threadIdx.x == 0) {
      stat[c] = mean, stat[C + c] = istd;
      rm[c] = (float)((1 - m) * rm[c] + m * (sum / n));
      rv[c] = (float)((1 - m) * rv[c] + m * var * n / (n - 1));
    }
  } else {
    mean = rm[c];
    istd = (float)(1.0 / sqrt((double)rv[c] + eps));
  }
  float scale = (w ? w[c] : 1.0f) * istd, shift = b ? b[c] : 0.0f;
  FOR_CHANNEL(at, B, C, S) y[at] = (x[at] - mean) * scale + shift;
}

/* training: sg = sum dy, sgx = sum dy (x - mean) istd, dgamma = sgx,
** dbeta = sg, dx = gamma istd (dy - sg / n - (x - mean) istd sgx / n);
** eval: mean, istd from the running statistics, dx = gamma istd dy    (B, C, S) -> (B, C, S) */
__global__ void batchnorm_backward_kernel(const float *x, const float *dy, float *dx, const float *w, float *dw,
                                          float *db, const float *rm, const float *rv, const float *stat, int B,
                                          int C, int64_t S, double eps, int train) {
  int c = blockIdx.x;
  double n = (double)B * (double)S;
  float mean = train ? stat[c] : rm[c];
  float istd = train ? stat[C + c] : (float)(1.0 / sqrt((double)rv[c] + eps));
  float sg = 0.0f, sgx = 0.0f;
  FOR_CHANNEL(at, B, C, S) {
    sg += dy[at];
    sgx += dy[at] * (x[at] - mean);
  }
  sg = lunet_block_reduce(sg, 0);
  sgx = lunet_block_reduce(sgx, 0) * istd;
  if (threadIdx.x == 0 && dw) dw[c] = sgx, db[c] = sg;
  if (!dx) return;
  float scale = (w ? w[c] : 1.0f) * istd, a = (float)(sg / n), b = (float)(sgx / n);
  if (train) FOR_CHANNEL(at, B, C, S) dx[at] = scale * (dy[at] - a - (x[at] - mean) * istd * b);
  else FOR_CHANNEL(at, B, C, S) dx[at] = scale * dy[at];
}

LUNET_LAUNCHER int batchnorm_forward_launch(const float *x, float *y, const float *w, const float *b, float *rm,
                                            float *rv, float *stat, int B, int C, int64_t S, double m, double eps,
                                            int train) {
  batchnorm_forward_kernel<<<C, LUNET_THREADS, 0, LUNET_STREAM>>>(x, y, w, b, rm, rv, stat, B, C, S, m, eps, train);
  return lunet_launched();
}

LUNET_LAUNCHER int batchnorm_backward_launch(const float *x, const float *dy, float *dx, const float *w, float *dw,
                                             float *db, const float *rm, const float *rv, const float *stat, int B,
                                             int C, int64_t S, double eps, int train) {
  batchnorm_backward_kernel<<<C, LUNET_THREADS, 0, LUNET_STREAM>>>(x, dy, dx, w, dw, db, rm, rv, stat, B, C, S, eps,
                                                                   train);
  return lunet_launched();
}
