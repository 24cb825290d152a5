/* maxpool2d.cu -- maxpool2d.c's windows as kernels: one thread per output
** for the maximum, one per input pixel for its gradient. */
#include "window2d.cuh"

/* y = the first maximum of each window over the taps inside the image, in
** row-major tap order (strict >, as the .c), argmax = its index r W + c in
** the plane    (B, C, H, W) -> (B, C, Ho, Wo) */
__global__ void maxpool_forward_kernel(geom g, const float *x, float *y, int *argmax, int64_t planes) {
  int64_t n_out = (int64_t)g.Ho * g.Wo;
  LUNET_KERNEL_LOOP(e, planes * n_out) {
    int64_t q = e / n_out;
    int i = (int)(e % n_out / g.Wo), j = (int)(e % g.Wo), where = -1;
    const float *plane = x + q * g.H * g.W;
    float best = 0.0f;
    FOR_WINDOW(g, i, j, if (where < 0 || plane[at] > best) best = plane[at], where = at);
    y[e] = best;
    argmax[e] = where;
  }
}

/* dx[h, w] = sum of dy over the windows, in row-major order, whose argmax is
** (h, w): the .c's dx[argmax] += dy, gathered per pixel    (B, C, Ho, Wo) -> (B, C, H, W) */
__global__ void maxpool_backward_kernel(geom g, const float *dy, const int *argmax, float *dx, int64_t planes) {
  int64_t n_in = (int64_t)g.H * g.W, n_out = (int64_t)g.Ho * g.Wo;
  LUNET_KERNEL_LOOP(e, planes * n_in) {
    int64_t q = e / n_in;
    int h = (int)(e % n_in / g.W), w = (int)(e % g.W), at = h * g.W + w;
    float s = 0.0f;
    for (int i = first_window(h, g); i < g.Ho && i * g.s - g.p <= h; i++)
      for (int j = first_window(w, g); j < g.Wo && j * g.s - g.p <= w; j++) {
        int64_t o = q * n_out + (int64_t)i * g.Wo + j;
        if (argmax[o] == at) s += dy[o];
      }
    dx[e] = s;
  }
}

LUNET_LAUNCHER int maxpool_forward_launch(const void *gp, const float *x, float *y, int *argmax, int64_t planes) {
  geom g = *(const geom *)gp;
  maxpool_forward_kernel<<<lunet_blocks(planes * g.Ho * g.Wo), LUNET_THREADS, 0, LUNET_STREAM>>>(g, x, y, argmax,
                                                                                                 planes);
  return lunet_launched();
}

LUNET_LAUNCHER int maxpool_backward_launch(const void *gp, const float *dy, const int *argmax, float *dx,
                                           int64_t planes) {
  geom g = *(const geom *)gp;
  maxpool_backward_kernel<<<lunet_blocks(planes * g.H * g.W), LUNET_THREADS, 0, LUNET_STREAM>>>(g, dy, argmax, dx,
                                                                                                planes);
  return lunet_launched();
}
