/*
** regularize.c -- penalties and gradient clipping; see regularize.h.
*/
#include "nn/regularize.h"

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
