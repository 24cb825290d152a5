/*
** window2d.cuh -- window2d.h's geometry for the .cu files of conv2d,
** maxpool2d and avgpool2d: the same struct, field for field, so that a .c
** hands its geom to a launcher as it is; the taps of a window, and the
** windows that hold a pixel.
*/
#ifndef LUNET_LAYERS_WINDOW2D_CUH
#define LUNET_LAYERS_WINDOW2D_CUH

#include <lunet/kernels.cuh>

/* An image (C, H, W) and the grid (Ho, Wo) of k x k windows on it, at
** stride s, padding p and dilation d (window2d.h's geom). */
typedef struct geom {
  int C, H, W;
  int k, s, p, d;
  int Ho, Wo;
} geom;

/* Runs the statement given after j for the index `at` = r W + c of every
** input pixel (r, c) in window (i, j) of geometry g, padding skipped, taps
** in row-major order (window2d.h's FOR_WINDOW). */
#define FOR_WINDOW(g, i, j, ...)                   \
  for (int u = 0; u < (g).k; u++) {                \
    int r = (i) * (g).s - (g).p + u * (g).d;       \
    if (r < 0 || r >= (g).H) continue;             \
    for (int v = 0; v < (g).k; v++) {              \
      int c = (j) * (g).s - (g).p + v * (g).d;     \
      if (c < 0 || c >= (g).W) continue;           \
      int at = r * (g).W + c;                      \
      __VA_ARGS__;                                 \
    }                                              \
  }

/* Runs the statement given after w for every tap (u, v) and window
** (i, j) of geometry g that reads pixel (h, w) of the image, taps in
** row-major order: the gather form of col2im, one thread per pixel, no
** atomics. (i s = h + p - u d must be a multiple of s inside the grid.) */
#define FOR_PIXEL_TAPS(g, h, w, ...)                                    \
  for (int u = 0; u < (g).k; u++) {                                     \
    int ti = (h) + (g).p - u * (g).d;                                   \
    if (ti < 0 || ti % (g).s || ti / (g).s >= (g).Ho) continue;         \
    for (int v = 0; v < (g).k; v++) {                                   \
      int tj = (w) + (g).p - v * (g).d;                                 \
      if (tj < 0 || tj % (g).s || tj / (g).s >= (g).Wo) continue;       \
      int i = ti / (g).s, j = tj / (g).s;                               \
      __VA_ARGS__;                                                      \
    }                                                                   \
  }

/* The first window index along an axis whose taps (d = 1) can reach pixel
** h: the least i >= 0 with i s - p + k - 1 >= h. Windows i up to the last
** with i s - p <= h hold it. */
__device__ static inline int first_window(int h, const geom &g) {
  int t = h + g.p - g.k + 1;
  return t <= 0 ? 0 : (t + g.s - 1) / g.s;
}

#endif
