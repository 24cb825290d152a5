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
*/
#include <math.h>
#include <stdio.h>

#include <lunet/plugin.h>

static const lunet_host *host;

typedef struct logistic {
  int indices; /* 1: class indices 0 and 1 (classes = 2); 0: targets -1 and +1 */
} logistic;

/* writes a shape as "{2, 3}" into buf */
static const char *shape_str(const lunet_shape *s, char *buf, size_t size) {
  int k = snprintf(buf, size, "{");
  for (int i = 0; i < s->ndim && k > 0 && (size_t)k < size; i++)
    k += snprintf(buf + k, size - (size_t)k, i ? ", %d" : "%d", s->dim[i]);
  if (k > 0 && (size_t)k < size) snprintf(buf + k, size - (size_t)k, "}");
  return buf;
}

static void *logistic_create(const lunet_value *p, const lunet_shape *pred,
                             const lunet_shape *target, int classes) {
  char buf[96];
  logistic *lg;
  (void)p;
  if (lunet_numel(pred) != 1) {
    host->error("logistic: prediction shape %s has %lld elements per sample, expected {1}: one "
                "score per sample, positive for +1", shape_str(pred, buf, sizeof buf),
                (long long)lunet_numel(pred));
    return NULL;
  }
  if (classes != 0 && classes != 2) {
    host->error("logistic: the data has classes=%d, expected classes=2 (class 0 -> -1, class 1 "
                "-> +1) or regression targets -1 and +1", classes);
    return NULL;
  }
  if (lunet_numel(target) != 1) {
    host->error("logistic: target shape %s has %lld elements per sample, expected {1}: -1 or +1, "
                "or a class index 0 or 1", shape_str(target, buf, sizeof buf),
                (long long)lunet_numel(target));
    return NULL;
  }
  lg = host->alloc(sizeof *lg);
  if (!lg) return NULL;
  lg->indices = classes == 2;
  return lg;
}

static void logistic_destroy(void *self) { host->free(self); }

/* the target t as -1 or +1 (class 0 -> -1, 1 -> +1), or 0 when invalid */
static float sign_target(const logistic *lg, float t) {
  if (lg->indices) return t == 0.0f ? -1.0f : t == 1.0f ? 1.0f : 0.0f;
  return t == -1.0f || t == 1.0f ? t : 0.0f;
}

/* reports target t of row i as invalid; returns 1 */
static int bad_target(const logistic *lg, int i, float t) {
  if (lg->indices)
    host->error("logistic: target of row %d is %g, expected class index 0 (-> -1) or 1 (-> +1)",
                i, t);
  else
    host->error("logistic: target of row %d is %g, expected -1 or +1", i, t);
  return 1;
}

/* l = log(1 + exp(-z)) = max(-z, 0) + log1p(exp(-|z|)),  g = -t sigmoid(-z) / B,  z = t p
**     (B, 1), (B, 1) -> scalar */
static int logistic_forward(void *self, const lunet_tensor *pred, const lunet_tensor *target,
                            double *loss, lunet_tensor *grad) {
  logistic *lg = self;
  int B = pred->shape.dim[0];
  double sum = 0.0;
  if (B < 1 || target->shape.dim[0] != B) {
    host->error("logistic: batch of %d predictions and %d targets, expected the same number, "
                "at least 1", B, target->shape.dim[0]);
    return 1;
  }
  for (int i = 0; i < B; i++) {
    float t = sign_target(lg, target->data[i]);
    double z;
    if (t == 0.0f) return bad_target(lg, i, target->data[i]);
    z = t * (double)pred->data[i];
    sum += (z < 0 ? -z : 0.0) + log1p(exp(-fabs(z)));
    if (grad) grad->data[i] = (float)(-t / (1.0 + exp(z)) / B);
  }
  *loss = sum / B;
  return 0;
}

/* rows with sign(p) != t    (B, 1), (B, 1) -> count */
static int64_t logistic_errors(void *self, const lunet_tensor *pred,
                               const lunet_tensor *target) {
  logistic *lg = self;
  int B = pred->shape.dim[0];
  int64_t wrong = 0;
  for (int i = 0; i < B; i++) {
    float t = sign_target(lg, target->data[i]), p = pred->data[i];
    float s = (float)((p > 0.0f) - (p < 0.0f));
    wrong += t == 0.0f || s != t;
  }
  return wrong;
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = logistic_create,
  .destroy = logistic_destroy,
  .forward = {[LUNET_CPU] = logistic_forward},
  .errors = logistic_errors,
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LOSS,
  .name = "logistic",
  .version = "1.0.0",
  .summary = "soft-margin logistic loss log(1 + exp(-t p)), stable, t = -1/+1 or class 0/1",
  .params = NULL,
  .n_params = 0,
  .loss = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
