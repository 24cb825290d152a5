/*
** logistic.c -- the soft-margin logistic loss, loss = mean_i log(1 + exp(-t_i p_i)), t = -1 or +1.
**
** As torch.nn.functional.soft_margin_loss(p, t) (reduction='mean'); for
** class 0/1 targets it equals binary_cross_entropy on the logit p. One score
** per sample: prediction {1}, target {1}. With z = t p the loss is computed
** as max(-z, 0) + log1p(exp(-|z|)), so no exp() overflows for scores like
** +-1000, and the gradient dloss/dp_i = -t_i sigmoid(-z_i) / B with
** sigmoid(-z) = 1 / (1 + exp(z)), whose exp() may overflow only to give the
** right limit 0.
**
** Targets: regression data (classes = 0) must hold exactly -1 or +1;
** classification data must have classes = 2, and its class index 0 is read
** as t = -1, index 1 as t = +1. Any other target is an error in forward that
** names the row and the value. errors() counts the rows with sign(p) != t,
** so a score of exactly 0 is an error, and so is an invalid target.
** All but the row function is margin.h, shared with hinge.c and perceptron.c.
*/
#include "margin.h"

/* l = log(1 + exp(-z)) = max(-z, 0) + log1p(exp(-|z|)),  g = -t sigmoid(-z) / B,  z = t p
**     scalars -> scalar */
static double logistic_row(float t, float p, int B, float *g) {
  double z = t * (double)p;
  if (g) *g = (float)(-t / (1.0 + exp(z)) / B);
  return (z < 0 ? -z : 0.0) + log1p(exp(-fabs(z)));
}

static void *logistic_create(const lunet_value *p, const lunet_shape *pred,
                             const lunet_shape *target, int classes, int device) {
  (void)p, (void)device;
  return margin_create("logistic", logistic_row, pred, target, classes);
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = logistic_create,
  .destroy = margin_destroy,
  .forward = {[LUNET_CPU] = margin_forward},
  .errors = margin_errors,
};

LUNET_LOSS_PLUGIN(api, "logistic", "2.0.0",
                  "soft-margin logistic loss log(1 + exp(-t p)), stable, t = -1/+1 or class 0/1",
                  LUNET_NO_PARAMS)
