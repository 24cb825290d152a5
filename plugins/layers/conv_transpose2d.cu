/* conv_transpose2d.cu -- conv_transpose2d.c's passes on the GPU for the
** whole batch: the unrolled windows of the output image, its adjoint (with
** the bias) and the bias gradient. The GEMMs are cuBLAS's strided batched
** ones, via the host. g is the conv2d geometry on the OUTPUT image
** (C, H, W) = (Cout, Ho, Wo), windows on the input's (H, W) grid (g.Ho, g.Wo). */
#include "window2d.cuh"

/* y[b, o, h, w] = bias[o] + sum over taps (u, v) of col[b][(o k + u) k + v][i W + j]
** for the window (i, j) that reads (h, w) with them: gathered per pixel,
** no atomics    (B, Cout k k, H W) -> (B, Cout, Ho, Wo) */
__global__ void convt_col2im_kernel(geom g, const float *col, const float *bias, float *y, int B) {
  int64_t P = (int64_t)g.Ho * g.Wo, rows = (int64_t)g.C * g.k * g.k;
  LUNET_KERNEL_LOOP(e, (int64_t)B * g.C * g.H * g.W) {
    int w = (int)(e % g.W), h = (int)(e / g.W % g.H), o = (int)(e / ((int64_t)g.W * g.H) % g.C);
    int64_t b = e / ((int64_t)g.W * g.H * g.C);
    float s = bias ? bias[o] : 0.0f;
    FOR_PIXEL_TAPS(g, h, w, s += col[(b * rows + (o * g.k + u) * g.k + v) * P + i * g.Wo + j]);
    y[e] = s;
  }
}

/* col[b][(o k + u) k + v][i W + j] = dy[b, o, i s - p + u d, j s - p + v d],
** 0 outside    (B, Cout, Ho, Wo) -> (B, Cout k k, H W) */
__global__ void convt_im2col_kernel(geom g, const float *dy, float *col, int B) {
  int64_t P = (int64_t)g.Ho * g.Wo, rows = (int64_t)g.C * g.k * g.k;
  LUNET_KERNEL_LOOP(e, B * rows * P) {
    int64_t q = e % P, r = e / P % rows, b = e / (P * rows);
    int o = (int)(r / (g.k * g.k)), u = (int)(r / g.k % g.k), v = (int)(r % g.k);
    int h = (int)(q / g.Wo) * g.s - g.p + u * g.d, w = (int)(q % g.Wo) * g.s - g.p + v * g.d;
    col[e] = h >= 0 && h < g.H && w >= 0 && w < g.W ? dy[((b * g.C + o) * g.H + h) * g.W + w] : 0.0f;
  }
}

/* db[o] = sum over b, q of dy[b, o, q]: block o, each thread a strided
** share in order, then the block's fixed tree    (B, Cout, plane) -> (Cout) */
__global__ void convt_bias_grad_kernel(const float *dy, float *db, int B, int C, int64_t plane) {
  int o = blockIdx.x;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < B * plane; i += blockDim.x) s += dy[(i / plane * C + o) * plane + i % plane];
  s = lunet_block_reduce(s, 0);
  if (threadIdx.x == 0) db[o] = s;
}

LUNET_LAUNCHER int convt_col2im_launch(const void *gp, const float *col, const float *bias, float *y, int B) {
  geom g = *(const geom *)gp;
  convt_col2im_kernel<<<lunet_blocks((int64_t)B * g.C * g.H * g.W), LUNET_THREADS, 0, LUNET_STREAM>>>(g, col, bias,
                                                                                                   y, B);
  return lunet_launched();
}

LUNET_LAUNCHER int convt_im2col_launch(const void *gp, const float *dy, float *col, int B) {
  geom g = *(const geom *)gp;
  convt_im2col_kernel<<<lunet_blocks((int64_t)B * g.C * g.k * g.k * g.Ho * g.Wo), LUNET_THREADS, 0, LUNET_STREAM>>>(
      g, dy, col, B);
  return lunet_launched();
}

LUNET_LAUNCHER int convt_bias_grad_launch(const float *dy, float *db, int B, int C, int64_t plane) {
  convt_bias_grad_kernel<<<C, LUNET_THREADS, 0, LUNET_STREAM>>>(dy, db, B, C, plane);
  return lunet_launched();
}
