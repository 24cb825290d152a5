/*
** pooling.h -- a weighted average over positions, the step that mean_pool,
** attention_pool and additive_attention share: weights a = softmax(score +
** mask) over T positions, then y = sum_t a_t x_t. The scores are zero for a
** mean, u_t . u_w for attention pooling, v^T tanh(W_q q + W_k k_t) for
** additive attention; the optional mask (see pad_mask) is added before the
** softmax, so that -1e9 gives a position no weight.
*/
#ifndef LUNET_POOLING_H
#define LUNET_POOLING_H

#include <lunet/helpers.h>

#include "fastmath.h"

/* a = softmax(score + mask) over t; score or mask may be NULL (zero)    (T) -> (T) */
static void pool_softmax(const float *score, const float *mask, float *a, int T) {
  for (int t = 0; t < T; t++) a[t] = (score ? score[t] : 0.0f) + (mask ? mask[t] : 0.0f);
  fast_softmax(a, T);
}

/* y = sum_t a_t x_t    (T), (T, E) -> (E) */
static void pool_sum(const float *a, const float *x, float *y, int T, int E) {
  memset(y, 0, sizeof(float) * (size_t)E);
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++) y[e] += a[t] * x[(int64_t)t * E + e];
}

/* Given dy: dscore_t = a_t dy . (x_t - y) (the gradient of score and of mask),
** and dx_t += a_t dy unless dx is NULL    (E) -> (T), (T, E) */
static void pool_backward(const float *a, const float *x, const float *y, const float *dy,
                          float *dscore, float *dx, int T, int E) {
  double dyy = row_dot_dev(dy, y, E, 0.0f); /* the dot products in lanes (m = 0) */
  for (int t = 0; t < T; t++) {
    double g = row_dot_dev(dy, x + (int64_t)t * E, E, 0.0f);
    dscore[t] = a[t] * (float)(g - dyy);
    if (dx)
      for (int e = 0; e < E; e++) dx[(int64_t)t * E + e] += a[t] * dy[e];
  }
}

#endif /* LUNET_POOLING_H */
