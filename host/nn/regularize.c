/*
** regularize.c -- penalties and gradient clipping; see regularize.h.
*/
#include "nn/regularize.h"

#include <math.h>
#include <string.h>

/* Trained and not a bias: "3.1.dense.bias" ends in the word "bias". */
static int penalized(const lunet_param *p) {
  const char *dot = strrchr(p->name, '.');
  return strcmp(dot ? dot + 1 : p->name, "bias") != 0;
}

void add_penalty_grads(lunet_params *ps, double l1, double l2) {
  if (l1 == 0 && l2 == 0) return;
  for (int i = 0; i < ps->n; i++) {
    const lunet_param *p = &ps->tensors[i];
    if (!penalized(p)) continue;
    const float *w = p->value->f32;
    float *g = p->grad->f32;
    int64_t len = lunet_numel(&p->value->shape);
    for (int64_t j = 0; j < len; j++) g[j] += (float)(l2 * w[j] + l1 * ((w[j] > 0) - (w[j] < 0)));
  }
}

/* sum of g^2 in double, in order    (N) -> scalar */
double clip_grad_norm(lunet_params *ps, double max_norm) {
  float *g = ps->grad.f32;
  int64_t len = lunet_numel(&ps->grad.shape);
  double sq = 0;
  for (int64_t j = 0; j < len; j++) sq += (double)g[j] * g[j];
  double norm = sqrt(sq);
  if (max_norm <= 0 || norm <= max_norm) return norm;
  float scale = (float)(max_norm / (norm + 1e-12));
  for (int64_t j = 0; j < len; j++) g[j] *= scale;
  return norm;
}
