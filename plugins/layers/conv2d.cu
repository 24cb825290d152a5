/* conv2d.cu -- conv2d.c's passes as kernels: im2col, its adjoint col2im,
** and the permutations between the GEMM's channel-major matrices and the
** batch-major activations. The GEMMs are cuBLAS, via the host. */
#include "window2d.cuh"

/* col[(c k + u) k + v][b P + i Wo + j] = x[b, c, i s - p + u d, j s - p + v d],
** 0 in the padding    (B, C, H, W) -> (C k k, B P), P = Ho Wo */
__global__ void conv2d_im2col_kernel(geom g, const float *x, float *col, int B) {
  int64_t P = (int64_t)g.Ho * g.Wo, N = B * P;
  LUNET_KERNEL_LOOP(e, (int64_t)g.C * g.k * g.k * N) {
    int64_t r = e / N, n = e % N, b = n / P, q = n % P;
    int c = (int)(r / (g.k * g.k)), u = (int)(r / g.k % g.k), v = (int)(r % g.k);
    int h = (int)(q / g.Wo) * g.s - g.p + u * g.d, w = (int)(q % g.Wo) * g.s - g.p + v * g.d;
    col[e] = h >= 0 && h < g.H && w >= 0 && w < g.W ? x[((b * g.C + c) * g.H + h) * g.W + w] : 0.0f;
  }
}

/* x[b, c, h, w] = sum over taps (u, v), in that order, of the col entry of
** the window that reads (h, w) with them: the adjoint of im2col, gathered
** per pixel (no atomics; the .c's order of addition)    (C k k, B P) -> (B, C, H, W) */
__global__ void conv2d_col2im_kernel(geom g, const float *col, float *x, int B) {
  int64_t P = (int64_t)g.Ho * g.Wo, N = B * P;
  LUNET_KERNEL_LOOP(e, (int64_t)B * g.C * g.H * g.W) {
    int w = (int)(e % g.W), h = (int)(e / g.W % g.H), c = (int)(e / ((int64_t)g.W * g.H) % g.C);
    int64_t b = e / ((int64_t)g.W * g.H * g.C);
    float s = 0.0f;
    for (int u = 0; u < g.k; u++) {
      int ti = h + g.p - u * g.d; /* = i s */
      if (ti < 0 || ti % g.s || ti / g.s >= g.Ho) continue;
      for (int v = 0; v < g.k; v++) {
        int tj = w + g.p - v * g.d;
        if (tj < 0 || tj % g.s || tj / g.s >= g.Wo) continue;
        s += col[((int64_t)(c * g.k + u) * g.k + v) * N + b * P + (ti / g.s) * g.Wo + tj / g.s];
      }
    }
    x[e] = s;
  }
}

/* yk[o][b P + q] = dy[b][o][q]    (B, K, P) -> (K, B P) */
__global__ void conv2d_channel_major_kernel(const float *dy, float *yk, int B, int K, int64_t P) {
  int64_t N = B * P;
  LUNET_KERNEL_LOOP(e, K * N) {
    int64_t o = e / N, n = e % N;
    yk[e] = dy[(n / P * K + o) * P + n % P];
  }
}

/* y[b][o][q] = yk[o][b P + q] + bias[o] (bias NULL: 0)    (K, B P) -> (B, K, P) */
__global__ void conv2d_batch_major_kernel(const float *yk, const float *bias, float *y, int B, int K, int64_t P) {
  int64_t N = B * P;
  LUNET_KERNEL_LOOP(e, K * N) {
    int64_t q = e % P, o = e / P % K, b = e / (P * K);
    y[e] = yk[o * N + b * P + q] + (bias ? bias[o] : 0.0f);
  }
}

/* ones = 1    (n) */
__global__ void conv2d_ones_kernel(float *ones, int64_t n) {
  LUNET_KERNEL_LOOP(i, n) ones[i] = 1.0f;
}

LUNET_LAUNCHER int conv2d_im2col_launch(const void *gp, const float *x, float *col, int B) {
  geom g = *(const geom *)gp;
  conv2d_im2col_kernel<<<lunet_blocks((int64_t)g.C * g.k * g.k * B * g.Ho * g.Wo), LUNET_THREADS, 0,
                         LUNET_STREAM>>>(g, x, col, B);
  return lunet_launched();
}

LUNET_LAUNCHER int conv2d_col2im_launch(const void *gp, const float *col, float *x, int B) {
  geom g = *(const geom *)gp;
  conv2d_col2im_kernel<<<lunet_blocks((int64_t)B * g.C * g.H * g.W), LUNET_THREADS, 0, LUNET_STREAM>>>(g, col, x, B);
  return lunet_launched();
}

LUNET_LAUNCHER int conv2d_channel_major_launch(const float *dy, float *yk, int B, int K, int64_t P) {
  conv2d_channel_major_kernel<<<lunet_blocks(K * B * P), LUNET_THREADS, 0, LUNET_STREAM>>>(dy, yk, B, K, P);
  return lunet_launched();
}

LUNET_LAUNCHER int conv2d_batch_major_launch(const float *yk, const float *bias, float *y, int B, int K, int64_t P) {
  conv2d_batch_major_kernel<<<lunet_blocks(K * B * P), LUNET_THREADS, 0, LUNET_STREAM>>>(yk, bias, y, B, K, P);
  return lunet_launched();
}

LUNET_LAUNCHER int conv2d_ones_launch(float *ones, int64_t n) {
  conv2d_ones_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(ones, n);
  return lunet_launched();
}
