/*
** cross_entropy.c -- softmax and negative log-likelihood, fused and stable.
**
** For a row of K logits p, log softmax(p)_j = p_j - lse(p), where
** lse(p) = m + log sum_j exp(p_j - m) with m = max_j p_j, so no exp()
** overflows even for logits like +-1000. The loss is the mean over the batch
** (PyTorch's CrossEntropyLoss, reduction='mean'):
**     class index c:          l = lse(p) - p_c
**     probabilities t (K):    l = sum_j t_j (lse(p) - p_j)
** and the gradient is (softmax(p) * sum_j t_j - t) / B, which is
** (softmax(p) - onehot(c)) / B for indices and one-hot or normalised targets.
**
** Targets are either class indices (target shape {1}, the class 0..K-1 stored
** as a float) or K probabilities per sample (one-hot or soft). An index that
** is not an integer in 0..K-1 is an error, never an out-of-bounds read.
** errors() is left to the host, which compares argmaxes.
*/
#include <limits.h>

#include <lunet/helpers.h>

typedef struct cross_entropy {
  int k;       /* logits per sample = number of classes */
  int indices; /* 1: targets are class indices {1}; 0: K probabilities */
} cross_entropy;

static void *cross_entropy_create(const lunet_value *p, const lunet_shape *pred,
                                  const lunet_shape *target, int classes, int device) {
  int64_t k = lunet_numel(pred), t = lunet_numel(target);
  char ps[LUNET_SHAPE_TEXT], ts[LUNET_SHAPE_TEXT];
  (void)p, (void)device;
  if (k < 2 || k > INT_MAX) {
    host->error("cross_entropy: prediction shape %s gives K=%lld logits per sample, expected "
                "K >= 2 (one logit per class)", lunet_shape_text(pred, ps), (long long)k);
    return NULL;
  }
  if (classes > 0 && k != classes) {
    host->error("cross_entropy: prediction shape %s gives K=%lld logits but the data has "
                "classes=%d, expected K == classes", lunet_shape_text(pred, ps),
                (long long)k, classes);
    return NULL;
  }
  if (t != 1 && t != k) {
    host->error("cross_entropy: target shape %s has %lld elements per sample, expected (1) "
                "(class index) or %lld (probabilities, as prediction shape %s)",
                lunet_shape_text(target, ts), (long long)t, (long long)k,
                lunet_shape_text(pred, ps));
    return NULL;
  }
  cross_entropy *ce = host->alloc(sizeof *ce);
  if (!ce) return NULL;
  ce->k = (int)k;
  ce->indices = t == 1;
  return ce;
}

static void cross_entropy_destroy(void *self) { host->free(self); }

/* lse(p) = m + log sum_j exp(p_j - m),  m = max_j p_j    (K) -> scalar */
static double log_sum_exp(const float *p, int k) {
  double m = p[0], s = 0.0;
  for (int j = 1; j < k; j++)
    if (p[j] > m) m = p[j];
  for (int j = 0; j < k; j++) s += exp(p[j] - m);
  return m + log(s);
}

/* the class stored in t, or -1 unless t is an integer in 0..k-1 */
static int class_of(float t, int k) {
  int c;
  if (!(t >= 0.0f && t < (float)k)) return -1; /* also refuses NaN */
  c = (int)t;
  return (float)c == t ? c : -1;
}

/* l = lse(p) - p_c,  g = (softmax(p) - onehot(c)) / B    (K) -> scalar */
static double row_index(const float *p, int c, float *g, int k, int B) {
  double lse = log_sum_exp(p, k);
  if (g)
    for (int j = 0; j < k; j++) g[j] = (float)((exp(p[j] - lse) - (j == c)) / B);
  return lse - p[c];
}

/* l = sum_j t_j (lse(p) - p_j),  g = (softmax(p) sum_j t_j - t) / B    (K) -> scalar */
static double row_probs(const float *p, const float *t, float *g, int k, int B) {
  double lse = log_sum_exp(p, k), l = 0.0, tsum = 0.0;
  for (int j = 0; j < k; j++) {
    if (t[j] != 0.0f) l += t[j] * (lse - p[j]); /* 0 * log 0 counts as 0 */
    tsum += t[j];
  }
  if (g)
    for (int j = 0; j < k; j++) g[j] = (float)((exp(p[j] - lse) * tsum - t[j]) / B);
  return l;
}

/* loss = mean_i l(p_i, t_i)    (B, K), (B, 1) or (B, K) -> scalar */
static int cross_entropy_forward(void *self, const lunet_tensor *pred,
                                 const lunet_tensor *target, double *loss, lunet_tensor *grad) {
  cross_entropy *ce = self;
  int B = pred->shape.dim[0], k = ce->k;
  double sum = 0.0;
  if (B < 1 || target->shape.dim[0] != B) {
    host->error("cross_entropy: batch of %d predictions and %d targets, expected the same "
                "number, at least 1", B, target->shape.dim[0]);
    return -1;
  }
  for (int i = 0; i < B; i++) {
    const float *p = pred->f32 + (int64_t)i * k;
    float *g = grad ? grad->f32 + (int64_t)i * k : NULL;
    if (ce->indices) {
      int c = class_of(target->f32[i], k);
      if (c < 0) {
        host->error("cross_entropy: target of row %d is %g, expected a class index 0..%d",
                    i, target->f32[i], k - 1);
        return -1;
      }
      sum += row_index(p, c, g, k, B);
    } else {
      sum += row_probs(p, target->f32 + (int64_t)i * k, g, k, B);
    }
  }
  *loss = sum / B;
  return 0;
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = cross_entropy_create,
  .destroy = cross_entropy_destroy,
  .forward = {[LUNET_CPU] = cross_entropy_forward},
};

LUNET_LOSS_PLUGIN(api, "cross_entropy", "2.0.0",
                  "softmax + negative log-likelihood, stable, mean over the batch", LUNET_NO_PARAMS)
