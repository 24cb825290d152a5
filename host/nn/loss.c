/*
** loss.c -- loss instances and error counts; see loss.h.
*/
#include "nn/loss.h"

#include <stdio.h>

#include "base/text.h"
#include "runtime/services.h"

int loss_open(loss_fn *l, const model *m, const dataset *ds) {
  services_clear_error();
  l->self = l->pe->desc->loss->create(l->params.v, &m->out, &ds->info.target, ds->info.classes,
                                      LUNET_CPU);
  if (l->self) return 0;
  char why[1024], a[128], b[128];
  snprintf(why, sizeof why, "%s", services_last_error());
  shape_format(&m->out, a, sizeof a);
  shape_format(&ds->info.target, b, sizeof b);
  services_error("loss %s does not fit model output %s and %s targets %s (%d classes): %s",
                 l->pe->desc->name, a, ds->name, b, ds->info.classes, why);
  return -1;
}

void loss_close(loss_fn *l) {
  if (l->self) l->pe->desc->loss->destroy(l->self);
  l->self = NULL;
}

int loss_value(const loss_fn *l, const lunet_tensor *pred, const lunet_tensor *target, double *loss,
               lunet_tensor *grad) {
  return l->pe->desc->loss->forward[LUNET_CPU](l->self, pred, target, loss, grad);
}

static int argmax(const float *v, int64_t n) {
  int best = 0;
  for (int64_t j = 1; j < n; j++)
    if (v[j] > v[best]) best = (int)j;
  return best;
}

int64_t count_errors(const loss_fn *l, const lunet_tensor *pred, const lunet_tensor *target) {
  if (l->pe->desc->loss->errors) return l->pe->desc->loss->errors(l->self, pred, target);
  int B = pred->shape.dim[0];
  int64_t P = lunet_row_size(pred), T = lunet_row_size(target), wrong = 0;
  for (int i = 0; i < B; i++) {
    const float *t = target->f32 + i * T;
    int truth = T == 1 ? (int)t[0] : argmax(t, T);
    wrong += argmax(pred->f32 + i * P, P) != truth;
  }
  return wrong;
}
