/*
** margin.h -- what the one-score losses hinge.c, logistic.c and perceptron.c
** share: everything but the loss of one sample.
**
** One score p per sample, positive for +1: prediction {1}, target {1}.
** Regression data (classes = 0) must hold t = -1 or +1 exactly;
** classification data must have classes = 2, and its class index 0 is read
** as t = -1, index 1 as t = +1. Any other target is an error in forward
** that names the row and the value. errors() counts the rows with
** sign(p) != t, so a score of exactly 0 is an error, and so is an invalid
** target.
**
** A loss writes its row function and a create() that calls margin_create;
** margin_destroy, margin_forward and margin_errors go in its table as they
** are.
*/
#include <lunet/helpers.h>

/* The loss l(p, t) of one sample with t = -1 or +1, its share of the batch
** mean being l / B; unless g is NULL, writes dl/dp / B to *g. */
typedef double (*margin_row_fn)(float t, float p, int B, float *g);

typedef struct margin {
  const char *name;  /* the loss, for messages */
  margin_row_fn row; /* its loss of one sample */
  int indices;       /* 1: class indices 0 and 1 (classes = 2); 0: targets -1 and +1 */
} margin;

/* Checks one score and one target per sample, and classes 0 or 2. */
static void *margin_create(const char *name, margin_row_fn row, const lunet_shape *pred,
                           const lunet_shape *target, int classes) {
  char buf[LUNET_SHAPE_TEXT];
  if (lunet_numel(pred) != 1) {
    host->error("%s: prediction shape %s has %lld elements per sample, expected (1): one "
                "score per sample, positive for +1", name, lunet_shape_text(pred, buf),
                (long long)lunet_numel(pred));
    return NULL;
  }
  if (classes != 0 && classes != 2) {
    host->error("%s: the data has classes=%d, expected classes=2 (class 0 -> -1, class 1 "
                "-> +1) or regression targets -1 and +1", name, classes);
    return NULL;
  }
  if (lunet_numel(target) != 1) {
    host->error("%s: target shape %s has %lld elements per sample, expected (1): -1 or +1, "
                "or a class index 0 or 1", name, lunet_shape_text(target, buf),
                (long long)lunet_numel(target));
    return NULL;
  }
  margin *m = host->alloc(sizeof *m);
  if (!m) return NULL;
  m->name = name;
  m->row = row;
  m->indices = classes == 2;
  return m;
}

static void margin_destroy(void *self) { host->free(self); }

/* the target t as -1 or +1 (class 0 -> -1, 1 -> +1), or 0 when invalid */
static float sign_target(const margin *m, float t) {
  if (m->indices) return t == 0.0f ? -1.0f : t == 1.0f ? 1.0f : 0.0f;
  return t == -1.0f || t == 1.0f ? t : 0.0f;
}

/* reports target t of row i as invalid; returns -1 */
static int bad_target(const margin *m, int i, float t) {
  if (m->indices)
    host->error("%s: target of row %d is %g, expected class index 0 (-> -1) or 1 (-> +1)",
                m->name, i, t);
  else
    host->error("%s: target of row %d is %g, expected -1 or +1", m->name, i, t);
  return -1;
}

/* loss = mean_i l(p_i, t_i),  grad_i = dl/dp_i / B    (B, 1), (B, 1) -> scalar */
static int margin_forward(void *self, const lunet_tensor *pred, const lunet_tensor *target,
                          double *loss, lunet_tensor *grad) {
  margin *m = self;
  int B = pred->shape.dim[0];
  double sum = 0.0;
  if (B < 1 || target->shape.dim[0] != B) {
    host->error("%s: batch of %d predictions and %d targets, expected the same number, at "
                "least 1", m->name, B, target->shape.dim[0]);
    return -1;
  }
  for (int i = 0; i < B; i++) {
    float t = sign_target(m, target->f32[i]);
    if (t == 0.0f) return bad_target(m, i, target->f32[i]);
    sum += m->row(t, pred->f32[i], B, grad ? grad->f32 + i : NULL);
  }
  *loss = sum / B;
  return 0;
}

/* rows with sign(p) != t    (B, 1), (B, 1) -> count */
static int64_t margin_errors(void *self, const lunet_tensor *pred, const lunet_tensor *target) {
  margin *m = self;
  int B = pred->shape.dim[0];
  int64_t wrong = 0;
  for (int i = 0; i < B; i++) {
    float t = sign_target(m, target->f32[i]), p = pred->f32[i];
    float s = (float)((p > 0.0f) - (p < 0.0f));
    wrong += t == 0.0f || s != t;
  }
  return wrong;
}
