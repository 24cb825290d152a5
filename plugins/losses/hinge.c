/*
** hinge.c -- the binary hinge loss, loss = mean_i max(0, 1 - t_i p_i), t = -1 or +1.
**
** As torch.relu(1 - t * p).mean() for scores p and targets t of shape (B,)
** (PyTorch has no binary hinge module; nn.HingeEmbeddingLoss is another
** function). One score per sample: prediction {1}, target {1}. The gradient
** is dloss/dp_i = -t_i [1 - t_i p_i > 0] / B, taken as 0 at the hinge itself
** (as relu's derivative at 0).
**
** Targets: regression data (classes = 0) must hold exactly -1 or +1;
** classification data must have classes = 2, and its class index 0 is read
** as t = -1, index 1 as t = +1. Any other target is an error in forward that
** names the row and the value. errors() counts the rows with sign(p) != t,
** so a score of exactly 0 is an error, and so is an invalid target.
** All but the row function is margin.h, shared with logistic.c and perceptron.c.
*/
#include "margin.h"

/* l = max(0, 1 - t p),  g = -t [1 - t p > 0] / B    scalars -> scalar */
static double hinge_row(float t, float p, int B, float *g) {
  double margin = 1.0 - t * (double)p;
  if (g) *g = margin > 0 ? (float)(-t / (double)B) : 0.0f;
  return margin > 0 ? margin : 0.0;
}

static void *hinge_create(const lunet_value *p, const lunet_shape *pred,
                          const lunet_shape *target, int classes, int device) {
  (void)p, (void)device;
  return margin_create("hinge", hinge_row, pred, target, classes);
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = hinge_create,
  .destroy = margin_destroy,
  .forward = {[LUNET_CPU] = margin_forward},
  .errors = margin_errors,
};

LUNET_LOSS_PLUGIN(api, "hinge", "2.0.0",
                  "binary hinge loss max(0, 1 - t p), t = -1/+1 or class 0/1, mean over the batch",
                  LUNET_NO_PARAMS)
