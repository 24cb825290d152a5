/*
** loss.c -- loss instances and error counts; see loss.h.
*/
#include "nn/loss.h"

#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "base/tensor.h"
#include "runtime/services.h"

/* Token data: K classes, outputs (T, K) per sample and T class indices. */
static void count_units(loss_fn *l, const model *m, const dataset *ds) {
  int64_t out = lunet_numel(&m->out), tgt = lunet_numel(&ds->info.target), K = ds->info.classes;
  l->units = K > 0 && tgt > 1 && out == tgt * K ? tgt : 1;
  l->perplexity = l->units > 1 && strcmp(l->pe->desc->name, "cross_entropy") == 0;
}

int loss_open(loss_fn *l, const model *m, const dataset *ds) {
  if (!dataset_has_targets(ds)) {
    services_error("dataset %s has no targets (lunet.data without y): it serves model:predict only; "
                   "give y = {...} to train or evaluate on it", ds->name);
    return -1;
  }
  count_units(l, m, ds);
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

int64_t counted_units(const loss_fn *l, const lunet_tensor *target) {
  const lunet_loss_api *api = l->pe->desc->loss;
  if (LUNET_HAS_FIELD(api, lunet_loss_api, counted) && api->counted) return api->counted(l->self, target);
  return target->shape.dim[0] * l->units;
}

int64_t count_errors(const loss_fn *l, const lunet_tensor *pred, const lunet_tensor *target) {
  if (l->pe->desc->loss->errors) return l->pe->desc->loss->errors(l->self, pred, target);
  int64_t B = pred->shape.dim[0] * l->units, wrong = 0;
  int64_t P = lunet_row_size(pred) / l->units, T = lunet_row_size(target) / l->units;
  for (int64_t i = 0; i < B; i++) {
    const float *t = target->f32 + i * T;
    int truth = T == 1 ? (int)t[0] : argmax_f32(t, T);
    wrong += argmax_f32(pred->f32 + i * P, P) != truth;
  }
  return wrong;
}
