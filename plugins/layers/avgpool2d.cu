/* avgpool2d.cu -- avgpool2d.c's windows as kernels: one thread per output
** for the mean, one per input pixel for its gradient. */
#include "window2d.cuh"

/* y = sum of the window's taps inside the image / k^2 (zero padding
** counted), taps in row-major order    (B, C, H, W) -> (B, C, Ho, Wo) */
__global__ void avgpool_forward_kernel(geom g, const float *x, float *y, int64_t planes) {
  int64_t n_out = (int64_t)g.Ho * g.Wo;
  float scale = 1.0f / (float)(g.k * g.k);
  LUNET_KERNEL_LOOP(e, planes * n_out) {
    const float *plane = x + e / n_out * g.H * g.W;
    int i = (int)(e % n_out / g.Wo), j = (int)(e % g.Wo);
    float sum = 0.0f;
    FOR_WINDOW(g, i, j, sum += plane[at]);
    y[e] = sum * scale;
  }
}

/* dx = sum over the windows holding the pixel, in row-major order, of
** dy / k^2 (the .c's scatter, gathered)    (B, C, Ho, Wo) -> (B, C, H, W) */
__global__ void avgpool_backward_kernel(geom g, const float *dy, float *dx, int64_t planes) {
  int64_t n_in = (int64_t)g.H * g.W, n_out = (int64_t)g.Ho * g.Wo;
  float scale = 1.0f / (float)(g.k * g.k);
  LUNET_KERNEL_LOOP(e, planes * n_in) {
    const float *grad = dy + e / n_in * n_out;
    int h = (int)(e % n_in / g.W), w = (int)(e % g.W);
    float s = 0.0f;
    for (int i = first_window(h, g); i < g.Ho && i * g.s - g.p <= h; i++)
      for (int j = first_window(w, g); j < g.Wo && j * g.s - g.p <= w; j++) s += grad[i * g.Wo + j] * scale;
    dx[e] = s;
  }
}

LUNET_LAUNCHER int avgpool_forward_launch(const void *gp, const float *x, float *y, int64_t planes) {
  geom g = *(const geom *)gp;
  avgpool_forward_kernel<<<lunet_blocks(planes * g.Ho * g.Wo), LUNET_THREADS, 0, LUNET_STREAM>>>(g, x, y, planes);
  return lunet_launched();
}

LUNET_LAUNCHER int avgpool_backward_launch(const void *gp, const float *dy, float *dx, int64_t planes) {
  geom g = *(const geom *)gp;
  avgpool_backward_kernel<<<lunet_blocks(planes * g.H * g.W), LUNET_THREADS, 0, LUNET_STREAM>>>(g, dy, dx, planes);
  return lunet_launched();
}
