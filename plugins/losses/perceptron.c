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
*/
#include <stdio.h>

#include <lunet/plugin.h>

static const lunet_host *host;

typedef struct perceptron {
  int indices; /* 1: class indices 0 and 1 (classes = 2); 0: targets -1 and +1 */
} perceptron;

/* writes a shape as "{2, 3}" into buf */
static const char *shape_str(const lunet_shape *s, char *buf, size_t size) {
  int k = snprintf(buf, size, "{");
  for (int i = 0; i < s->ndim && k > 0 && (size_t)k < size; i++)
    k += snprintf(buf + k, size - (size_t)k, i ? ", %d" : "%d", s->dim[i]);
  if (k > 0 && (size_t)k < size) snprintf(buf + k, size - (size_t)k, "}");
  return buf;
}

static void *perceptron_create(const lunet_value *p, const lunet_shape *pred,
                               const lunet_shape *target, int classes) {
  char buf[96];
  perceptron *pc;
  (void)p;
  if (lunet_numel(pred) != 1) {
    host->error("perceptron: prediction shape %s has %lld elements per sample, expected {1}: one "
                "score per sample, positive for +1", shape_str(pred, buf, sizeof buf),
                (long long)lunet_numel(pred));
    return NULL;
  }
  if (classes != 0 && classes != 2) {
    host->error("perceptron: the data has classes=%d, expected classes=2 (class 0 -> -1, class 1 "
                "-> +1) or regression targets -1 and +1", classes);
    return NULL;
  }
  if (lunet_numel(target) != 1) {
    host->error("perceptron: target shape %s has %lld elements per sample, expected {1}: -1 or +1, "
                "or a class index 0 or 1", shape_str(target, buf, sizeof buf),
                (long long)lunet_numel(target));
    return NULL;
  }
  pc = host->alloc(sizeof *pc);
  if (!pc) return NULL;
  pc->indices = classes == 2;
  return pc;
}

static void perceptron_destroy(void *self) { host->free(self); }

/* the target t as -1 or +1 (class 0 -> -1, 1 -> +1), or 0 when invalid */
static float sign_target(const perceptron *pc, float t) {
  if (pc->indices) return t == 0.0f ? -1.0f : t == 1.0f ? 1.0f : 0.0f;
  return t == -1.0f || t == 1.0f ? t : 0.0f;
}

/* reports target t of row i as invalid; returns 1 */
static int bad_target(const perceptron *pc, int i, float t) {
  if (pc->indices)
    host->error("perceptron: target of row %d is %g, expected class index 0 (-> -1) or 1 (-> +1)",
                i, t);
  else
    host->error("perceptron: target of row %d is %g, expected -1 or +1", i, t);
  return 1;
}

/* l = max(0, -t p),  g = -t [-t p > 0] / B    (B, 1), (B, 1) -> scalar */
static int perceptron_forward(void *self, const lunet_tensor *pred, const lunet_tensor *target,
                              double *loss, lunet_tensor *grad) {
  perceptron *pc = self;
  int B = pred->shape.dim[0];
  double sum = 0.0;
  if (B < 1 || target->shape.dim[0] != B) {
    host->error("perceptron: batch of %d predictions and %d targets, expected the same number, "
                "at least 1", B, target->shape.dim[0]);
    return 1;
  }
  for (int i = 0; i < B; i++) {
    float t = sign_target(pc, target->data[i]);
    double margin;
    if (t == 0.0f) return bad_target(pc, i, target->data[i]);
    margin = -t * (double)pred->data[i];
    if (margin > 0) sum += margin;
    if (grad) grad->data[i] = margin > 0 ? (float)(-t / (double)B) : 0.0f;
  }
  *loss = sum / B;
  return 0;
}

/* rows with sign(p) != t    (B, 1), (B, 1) -> count */
static int64_t perceptron_errors(void *self, const lunet_tensor *pred,
                                 const lunet_tensor *target) {
  perceptron *pc = self;
  int B = pred->shape.dim[0];
  int64_t wrong = 0;
  for (int i = 0; i < B; i++) {
    float t = sign_target(pc, target->data[i]), p = pred->data[i];
    float s = (float)((p > 0.0f) - (p < 0.0f));
    wrong += t == 0.0f || s != t;
  }
  return wrong;
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = perceptron_create,
  .destroy = perceptron_destroy,
  .forward = {[LUNET_CPU] = perceptron_forward},
  .errors = perceptron_errors,
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LOSS,
  .name = "perceptron",
  .version = "1.0.0",
  .summary = "perceptron criterion max(0, -t p), t = -1/+1 or class 0/1, mean over the batch",
  .params = NULL,
  .n_params = 0,
  .loss = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
