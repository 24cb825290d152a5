/*
** step.c -- forward, backward and update of one batch; see step.h.
*/
#include "nn/step.h"

#include <string.h>

#include "nn/regularize.h"
#include "runtime/devices.h"
#include "runtime/services.h"

int stepper_open(stepper *s, model *m, loss_fn *loss, const plugin_entry *opt,
                 const param_values *opt_params, uint64_t seed) {
  memset(s, 0, sizeof *s);
  s->m = m;
  s->loss = loss;
  s->opt = opt;
  rng_seed(&s->layer_rng, seed ^ STEP_LAYER_SEED);
  s->ctx = (lunet_ctx){sizeof s->ctx, 1, &s->layer_rng, LUNET_CPU, 1};
  if (!opt->desc->optimizer->step[m->device]) {
    services_error("optimizer %s has no %s entry; move the model with model:to(\"cpu\")", opt->desc->name,
                   device_name(m->device));
    return -1;
  }
  if (weights_enter(&m->ws)) return -1; /* create() sees where the values live */
  services_clear_error();
  s->opt_self = opt->desc->optimizer->create(opt_params->v, &m->ws.view);
  if (s->opt_self) return 0;
  if (!*services_last_error()) services_error("optimizer %s could not be created", opt->desc->name);
  return -1;
}

void stepper_close(stepper *s) {
  if (s->opt_self) s->opt->desc->optimizer->destroy(s->opt_self);
  s->opt_self = NULL;
}

int stepper_forward(stepper *s, const batch *b, double *loss, const lunet_tensor **y) {
  s->ctx.reset = b->first;
  if (!(*y = model_forward(s->m, b->x, &s->ctx))) return -1;
  return loss_value(s->loss, *y, &b->y, loss, model_output_grad(s->m));
}

int stepper_backward(stepper *s) {
  if (s->m->device != LUNET_CPU && (s->l1 > 0 || s->l2 > 0 || s->clip_norm > 0)) {
    services_error("train: l1, l2 and clip_norm run on the CPU only; train this model on the CPU "
                   "(model:to(\"cpu\")) or without them");
    return -1;
  }
  if (model_backward(s->m, NULL, NULL, NULL)) return -1;
  add_penalty_grads(&s->m->ws.view, s->l1, s->l2);
  if (s->clip_norm > 0) s->grad_norm = clip_grad_norm(&s->m->ws.view, s->clip_norm);
  return 0;
}

int stepper_update(stepper *s) {
  return s->opt->desc->optimizer->step[s->m->device](s->opt_self, &s->m->ws.view);
}

int stepper_set(stepper *s, int index, double value) {
  return s->opt->desc->optimizer->set(s->opt_self, index, value);
}
