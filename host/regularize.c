/*
** regularize.c -- penalties and gradient clipping; see regularize.h.
*/
#include "regularize.h"

#include <math.h>
#include <string.h>

static int penalized(const lunet_param *p) { return p->grad && strcmp(p->name, "bias") != 0; }

void add_penalty_grads(lunet_param *ps, int n, double l1, double l2) {
  if (l1 == 0 && l2 == 0) return;
  for (int i = 0; i < n; i++) {
    if (!penalized(&ps[i])) continue;
    const float *w = ps[i].value->data;
    float *g = ps[i].grad->data;
    int64_t len = lunet_numel(&ps[i].value->shape);
    for (int64_t j = 0; j < len; j++)
      g[j] += (float)(l2 * w[j] + l1 * ((w[j] > 0) - (w[j] < 0)));
  }
}

double penalty_value(const lunet_param *ps, int n, double l1, double l2) {
  double sq = 0, abs_sum = 0;
  for (int i = 0; i < n; i++) {
    if (!penalized(&ps[i])) continue;
    const float *w = ps[i].value->data;
    int64_t len = lunet_numel(&ps[i].value->shape);
    for (int64_t j = 0; j < len; j++) sq += (double)w[j] * w[j], abs_sum += fabs(w[j]);
  }
  return 0.5 * l2 * sq + l1 * abs_sum;
}

double clip_grad_norm(lunet_param *ps, int n, double max_norm) {
  double sq = 0;
  for (int i = 0; i < n; i++) {
    if (!ps[i].grad) continue;
    const float *g = ps[i].grad->data;
    int64_t len = lunet_numel(&ps[i].grad->shape);
    for (int64_t j = 0; j < len; j++) sq += (double)g[j] * g[j];
  }
  double norm = sqrt(sq);
  if (max_norm <= 0 || norm <= max_norm) return norm;
  float scale = (float)(max_norm / (norm + 1e-12));
  for (int i = 0; i < n; i++) {
    if (!ps[i].grad) continue;
    float *g = ps[i].grad->data;
    int64_t len = lunet_numel(&ps[i].grad->shape);
    for (int64_t j = 0; j < len; j++) g[j] *= scale;
  }
  return norm;
}
