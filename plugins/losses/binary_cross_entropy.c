/*
** binary_cross_entropy.c -- binary cross-entropy on logits, fused with the sigmoid and stable.
**
** As torch.nn.BCEWithLogitsLoss(reduction='mean'): for logits p and targets
** t in [0, 1] of shape (B, P),
**     l = -t log sigmoid(p) - (1 - t) log(1 - sigmoid(p))
**       = max(p, 0) - p t + log1p(exp(-|p|))
** and the loss is the mean over all B * P elements, so no log() sees 0 and
** no exp() overflows for logits like +-1000. The gradient is
** dloss/dp = (sigmoid(p) - t) / (B P).
**
** Targets: P probabilities per sample (shape {P} or any shape of P
** elements: multi-label, or one-hot), each in [0, 1]; or, for
** classification data with classes = 2 and one logit per sample (P = 1),
** the class index 0 or 1, which is the same number. Other class data is
** refused at create (use cross_entropy); a target out of range is an error
** in forward naming the row, the element and the value.
** errors() counts the rows where some (p_j > 0) != (t_j > 0.5); for class
** indices that is (p > 0) != t.
*/
#include <lunet/helpers.h>

typedef struct binary_cross_entropy {
  int64_t p;   /* logits per sample, P */
  int indices; /* 1: class indices 0 and 1 (classes = 2, P = 1) */
} binary_cross_entropy;

static void *binary_cross_entropy_create(const lunet_value *p, const lunet_shape *pred,
                                         const lunet_shape *target, int classes, int device) {
  int64_t np = lunet_numel(pred), nt = lunet_numel(target);
  char ps[LUNET_SHAPE_TEXT], ts[LUNET_SHAPE_TEXT];
  (void)p, (void)device;
  if (classes > 0 && nt == 1 && (np != 1 || classes != 2)) {
    host->error("binary_cross_entropy: class-index targets with classes=%d and prediction shape "
                "%s, expected classes=2 and one logit per sample (1); for more classes use "
                "cross_entropy or one-hot targets", classes, lunet_shape_text(pred, ps));
    return NULL;
  }
  if (nt != np) {
    host->error("binary_cross_entropy: target shape %s has %lld elements per sample, expected "
                "%lld as the prediction shape %s", lunet_shape_text(target, ts),
                (long long)nt, (long long)np, lunet_shape_text(pred, ps));
    return NULL;
  }
  binary_cross_entropy *b = host->alloc(sizeof *b);
  if (!b) return NULL;
  b->p = np;
  b->indices = classes == 2 && np == 1;
  return b;
}

static void binary_cross_entropy_destroy(void *self) { host->free(self); }

/* reports target t of row i, element j as invalid; returns -1 */
static int bad_target(const binary_cross_entropy *b, int i, int64_t j, float t) {
  if (b->indices)
    host->error("binary_cross_entropy: target of batch row %d (from 1) is %g, expected class index 0 or 1",
                i + 1, t);
  else
    host->error("binary_cross_entropy: target of batch row %d, element %lld (both from 1) is %g, "
                "expected a probability in [0, 1]", i + 1, (long long)j + 1, t);
  return -1;
}

/* l = max(p, 0) - p t + log1p(exp(-|p|)),  g = (sigmoid(p) - t) scale    scalars -> scalar */
static double element(float p, float t, float *g, double scale) {
  double e = exp(-fabs((double)p)), s = p >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  if (g) *g = (float)((s - t) * scale);
  return (p > 0 ? (double)p : 0.0) - (double)p * t + log1p(e);
}

/* loss = mean over all B P elements of l(p, t)    (B, P), (B, P) -> scalar */
static int binary_cross_entropy_forward(void *self, const lunet_tensor *pred,
                                        const lunet_tensor *target, double *loss,
                                        lunet_tensor *grad) {
  binary_cross_entropy *b = self;
  int B = pred->shape.dim[0];
  double scale = 1.0 / ((double)B * (double)b->p), sum = 0.0;
  if (B < 1 || target->shape.dim[0] != B) {
    host->error("binary_cross_entropy: batch of %d predictions and %d targets, expected the "
                "same number, at least 1", B, target->shape.dim[0]);
    return -1;
  }
  for (int i = 0; i < B; i++) {
    for (int64_t j = 0; j < b->p; j++) {
      int64_t at = (int64_t)i * b->p + j;
      float t = target->f32[at];
      if (b->indices ? !(t == 0.0f || t == 1.0f) : !(t >= 0.0f && t <= 1.0f))
        return bad_target(b, i, j, t);
      sum += element(pred->f32[at], t, grad ? grad->f32 + at : NULL, scale);
    }
  }
  *loss = sum * scale;
  return 0;
}

/* rows with some (p_j > 0) != (t_j > 0.5)    (B, P), (B, P) -> count */
static int64_t binary_cross_entropy_errors(void *self, const lunet_tensor *pred,
                                           const lunet_tensor *target) {
  binary_cross_entropy *b = self;
  int B = pred->shape.dim[0];
  int64_t wrong = 0;
  for (int i = 0; i < B; i++) {
    const float *p = pred->f32 + (int64_t)i * b->p, *t = target->f32 + (int64_t)i * b->p;
    int64_t j = 0;
    while (j < b->p && (p[j] > 0.0f) == (t[j] > 0.5f)) j++;
    wrong += j < b->p;
  }
  return wrong;
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = binary_cross_entropy_create,
  .destroy = binary_cross_entropy_destroy,
  .forward = {[LUNET_CPU] = binary_cross_entropy_forward},
  .errors = binary_cross_entropy_errors,
};

LUNET_LOSS_PLUGIN(api, "binary_cross_entropy", "2.0.0",
                  "binary cross-entropy on logits, stable, mean over all elements "
                  "(BCEWithLogitsLoss)", LUNET_NO_PARAMS)
