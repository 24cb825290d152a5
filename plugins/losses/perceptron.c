/*
** perceptron.c -- the perceptron criterion, loss = mean_i max(0, -t_i p_i), t = -1 or +1.
**
** As torch.relu(-t * p).mean() for scores p and targets t of shape (B,):
** Rosenblatt's rule as a loss, zero for every correctly classified sample
** and growing with the score of a wrong one, without the margin of hinge.c.
** One score per sample: prediction {1}, target {1}. The gradient is
** dloss/dp_i = -t_i [-t_i p_i > 0] / B, taken as 0 at p_i = 0 (as relu's
** derivative at 0), so a score of exactly 0 gets no push: start from
** weights that are not all zero.
**
** Targets: regression data (classes = 0) must hold exactly -1 or +1;
** classification data must have classes = 2, and its class index 0 is read
** as t = -1, index 1 as t = +1. Any other target is an error in forward that
** names the row and the value. errors() counts the rows with sign(p) != t,
** so a score of exactly 0 is an error, and so is an invalid target.
** All but the row function is margin.h, shared with hinge.c and logistic.c.
*/
#include "margin.h"

/* l = max(0, -t p),  g = -t [-t p > 0] / B    scalars -> scalar */
static double perceptron_row(float t, float p, int B, float *g) {
  double margin = -t * (double)p;
  if (g) *g = margin > 0 ? (float)(-t / (double)B) : 0.0f;
  return margin > 0 ? margin : 0.0;
}

static void *perceptron_create(const lunet_value *p, const lunet_shape *pred,
                               const lunet_shape *target, int classes, int device) {
  (void)p, (void)device;
  return margin_create("perceptron", perceptron_row, pred, target, classes);
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = perceptron_create,
  .destroy = margin_destroy,
  .forward = {[LUNET_CPU] = margin_forward},
  .errors = margin_errors,
};

LUNET_LOSS_PLUGIN(api, "perceptron", "2.0.0",
                  "perceptron criterion max(0, -t p), t = -1/+1 or class 0/1, mean over the batch",
                  LUNET_NO_PARAMS)
