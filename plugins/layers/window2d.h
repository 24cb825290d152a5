/*
** window2d.h -- k x k windows sliding over an image: the geometry shared by
** conv2d, conv_transpose2d, maxpool2d and avgpool2d (each still one .c file
** and one .so; this header is compiled into each).
**
** Tap (u, v) of window (i, j) reads pixel (i s - p + u d, j s - p + v d) of
** an image (C, H, W); the windows form a grid (Ho, Wo). Pools use d = 1.
**   - window_count(): Ho from H (the conv2d formula);
**   - pool_geometry(): the checked geometry of a pooling layer;
**   - FOR_WINDOW: the taps of one window that fall inside the image;
**   - im2col() / col2im(): unroll the windows into GEMM columns and back.
** Everything is static inline, so a plugin that uses only part of it
** compiles without unused-function warnings.
*/
#ifndef LUNET_LAYERS_WINDOW2D_H
#define LUNET_LAYERS_WINDOW2D_H

#include <lunet/helpers.h>

/* An image (C, H, W) and the grid (Ho, Wo) of k x k windows on it, at
** stride s, padding p and dilation d. */
typedef struct geom {
  int C, H, W;
  int k, s, p, d;
  int Ho, Wo;
} geom;

static inline int64_t window_floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Ho = floor((n + 2p - d (k - 1) - 1) / s) + 1 */
static inline int64_t window_count(int64_t n, int k, int s, int p, int d) {
  return window_floor_div(n + 2 * (int64_t)p - (int64_t)d * (k - 1) - 1, s) + 1;
}

/* Fills g for pooling `in` (C, H, W) over k x k windows at stride s and
** padding p (d = 1); 0, or -1 after an error naming `plugin`. Refuses a
** padding above k/2 (a window could hold only padding) and a window that
** does not fit the padded image. */
static inline int pool_geometry(const char *plugin, const lunet_shape *in, int k, int s, int p,
                                geom *g) {
  if (lunet_expect_rank(plugin, in, 3, "(C, H, W)")) return -1;
  if (2 * p > k) {
    host->error("%s: padding %d is more than half the kernel %d: windows would hold only padding",
                plugin, p, k);
    return -1;
  }
  int H = in->dim[1], W = in->dim[2];
  if (H + 2 * p < k || W + 2 * p < k) {
    host->error("%s: a %dx%d window does not fit the %dx%d input with padding %d", plugin, k, k, H,
                W, p);
    return -1;
  }
  *g = (geom){in->dim[0], H, W, k, s, p, 1, (int)window_count(H, k, s, p, 1),
              (int)window_count(W, k, s, p, 1)};
  return 0;
}

/* Runs the statement given after j for the index `at` = r W + c of every
** input pixel (r, c) in window (i, j) of geometry g, padding skipped, taps
** in row-major order. */
#define FOR_WINDOW(g, i, j, ...)                               \
  for (int u = 0; u < (g)->k; u++) {                           \
    int r = (i) * (g)->s - (g)->p + u * (g)->d;                \
    if (r < 0 || r >= (g)->H) continue;                        \
    for (int v = 0; v < (g)->k; v++) {                         \
      int c = (j) * (g)->s - (g)->p + v * (g)->d;              \
      if (c < 0 || c >= (g)->W) continue;                      \
      int at = r * (g)->W + c;                                 \
      __VA_ARGS__;                                             \
    }                                                          \
  }

/* ---- im2col ---------------------------------------------------------------
** im2col and col2im split each row of taps into the zero padding and the
** run of window positions that fall inside the image, so the inner loops
** have no bounds checks (at stride 1 they are a memcpy and a vector add). */

/* The outputs j in [*lo, *hi) whose tap j s + off lands inside [0, n);
** the others read the zero padding. */
static inline void inside_range(int n_out, int n, int s, int off, int *lo, int *hi) {
  int a = off >= 0 ? 0 : (-off + s - 1) / s;          /* first j with j s + off >= 0 */
  int b = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1; /* first j with j s + off >= n */
  *lo = a < n_out ? a : n_out;
  *hi = b < n_out ? b : n_out;
  if (*hi < *lo) *hi = *lo;
}

/* dst[j] = src[j s + off] inside the image, 0 in the padding    (n) -> (n_out) */
static inline void gather_row(float *restrict dst, const float *restrict src, int n_out, int lo,
                              int hi, int s, int off) {
  memset(dst, 0, sizeof(float) * (size_t)lo);
  if (s == 1) {
    memcpy(dst + lo, src + lo + off, sizeof(float) * (size_t)(hi - lo));
  } else {
    for (int j = lo; j < hi; j++) dst[j] = src[j * s + off];
  }
  memset(dst + hi, 0, sizeof(float) * (size_t)(n_out - hi));
}

/* dst[j s + off] += src[j] inside the image; the adjoint of gather_row */
static inline void scatter_add_row(float *restrict dst, const float *restrict src, int lo, int hi,
                                   int s, int off) {
  if (s == 1) {
    for (int j = lo; j < hi; j++) dst[j + off] += src[j];
  } else {
    for (int j = lo; j < hi; j++) dst[j * s + off] += src[j];
  }
}

/* col[(c k + u) k + v][i Wo + j] = x[c, i s - p + u d, j s - p + v d] or 0
** outside;  (C, H, W) -> (C k k, Ho Wo), rows ld floats apart */
static inline void im2col(const geom *g, const float *x, float *col, size_t ld) {
  for (int c = 0; c < g->C; c++)
    for (int u = 0; u < g->k; u++)
      for (int v = 0; v < g->k; v++) {
        float *row = col + ((size_t)(c * g->k + u) * g->k + v) * ld;
        int off = v * g->d - g->p, lo, hi;
        inside_range(g->Wo, g->W, g->s, off, &lo, &hi);
        for (int i = 0; i < g->Ho; i++) {
          int h = i * g->s - g->p + u * g->d;
          float *dst = row + (size_t)i * g->Wo;
          if (h < 0 || h >= g->H)
            memset(dst, 0, sizeof(float) * (size_t)g->Wo);
          else
            gather_row(dst, x + ((size_t)c * g->H + h) * g->W, g->Wo, lo, hi, g->s, off);
        }
      }
}

/* x[c, i s - p + u d, j s - p + v d] += col[(c k + u) k + v][i Wo + j], the
** adjoint of im2col;  (C k k, Ho Wo) -> (C, H, W), x accumulated */
static inline void col2im(const geom *g, const float *col, size_t ld, float *x) {
  for (int c = 0; c < g->C; c++)
    for (int u = 0; u < g->k; u++)
      for (int v = 0; v < g->k; v++) {
        const float *row = col + ((size_t)(c * g->k + u) * g->k + v) * ld;
        int off = v * g->d - g->p, lo, hi;
        inside_range(g->Wo, g->W, g->s, off, &lo, &hi);
        for (int i = 0; i < g->Ho; i++) {
          int h = i * g->s - g->p + u * g->d;
          if (h < 0 || h >= g->H) continue;
          scatter_add_row(x + ((size_t)c * g->H + h) * g->W, row + (size_t)i * g->Wo, lo, hi, g->s, off);
        }
      }
}

#endif /* LUNET_LAYERS_WINDOW2D_H */
