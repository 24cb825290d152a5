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
**
** Tokens: predictions (T, V) per sample with targets (T), V = the data's
** classes (a language model's next-token logits): every position is a row
** of its own, and the loss is the mean over all the tokens of the batch, N
** of them, with gradient (softmax(p) - onehot(c)) / N. `ignore` (a token id
** counted from 1, as Lua counts them; 0: none) leaves its positions out of
** the loss, its gradient (0 there) and N: padding. errors() counts the rows
** (tokens) whose argmax misses the target, ignored ones never.
*/
#include <limits.h>

#include <lunet/helpers.h>

enum { P_IGNORE };

static const lunet_param_decl params[] = {
  [P_IGNORE] = {"ignore", LUNET_INT, 0, 0, 2147483647.0, NULL, NULL,
                "token data: the id (from 1) whose positions are left out, e.g. padding; 0: none", 0},
};

typedef struct cross_entropy {
  int k;       /* logits per row = number of classes */
  int rows;    /* rows per sample: T positions for tokens, else 1 */
  int indices; /* 1: targets are class indices, one per row; 0: K probabilities */
  int ignore;  /* class index (0-based) left out, -1: none */
} cross_entropy;

/* Token data: (T, V) logits and T indices per sample, T > 1. */
static int token_rows(const lunet_shape *pred, const lunet_shape *target, int classes) {
  int64_t t = lunet_numel(target);
  if (classes < 2 || t < 2 || pred->ndim < 2 || pred->dim[pred->ndim - 1] != classes) return 0;
  return lunet_numel(pred) == t * classes && t <= INT_MAX ? (int)t : 0;
}

static void *cross_entropy_create(const lunet_value *p, const lunet_shape *pred,
                                  const lunet_shape *target, int classes, int device) {
  int rows = token_rows(pred, target, classes);
  int64_t k = rows ? classes : lunet_numel(pred), t = rows ? 1 : lunet_numel(target);
  char ps[LUNET_SHAPE_TEXT], ts[LUNET_SHAPE_TEXT];
  (void)device;
  if (p[P_IGNORE].num > 0 && !rows) {
    host->error("cross_entropy: ignore = %g applies to token data (predictions (T, V), targets "
                "(T)), but the prediction shape is %s", p[P_IGNORE].num, lunet_shape_text(pred, ps));
    return NULL;
  }
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
  ce->rows = rows ? rows : 1;
  ce->indices = t == 1;
  ce->ignore = (int)p[P_IGNORE].num - 1;
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

/* Rows counted in the mean: every row, less the ignored tokens. */
static int counted_rows(const cross_entropy *ce, const float *target, int n) {
  int count = n;
  for (int i = 0; ce->ignore >= 0 && i < n; i++) count -= target[i] == (float)ce->ignore;
  return count;
}

/* loss = mean_i l(p_i, t_i)    (B, K), (B, 1) or (B, K); tokens (B, T, V), (B, T) -> scalar */
static int cross_entropy_forward(void *self, const lunet_tensor *pred,
                                 const lunet_tensor *target, double *loss, lunet_tensor *grad) {
  cross_entropy *ce = self;
  int B = pred->shape.dim[0], k = ce->k, n = B * ce->rows;
  double sum = 0.0;
  if (B < 1 || target->shape.dim[0] != B) {
    host->error("cross_entropy: batch of %d predictions and %d targets, expected the same "
                "number, at least 1", B, target->shape.dim[0]);
    return -1;
  }
  int N = ce->indices ? counted_rows(ce, target->f32, n) : n;
  for (int i = 0; i < n; i++) {
    const float *p = pred->f32 + (int64_t)i * k;
    float *g = grad ? grad->f32 + (int64_t)i * k : NULL;
    if (!ce->indices) {
      sum += row_probs(p, target->f32 + (int64_t)i * k, g, k, N);
      continue;
    }
    if (ce->ignore >= 0 && target->f32[i] == (float)ce->ignore) {
      for (int j = 0; g && j < k; j++) g[j] = 0.0f;
      continue;
    }
    int c = class_of(target->f32[i], k);
    if (c < 0) {
      host->error("cross_entropy: target of batch row %d (from 1) is %g, expected a class index 0..%d "
                  "(from 0, as plugins count; lunet.data counts classes from 1)", i + 1, target->f32[i], k - 1);
      return -1;
    }
    sum += row_index(p, c, g, k, N);
  }
  *loss = N ? sum / N : 0.0;
  return 0;
}

static int argmax(const float *v, int k) {
  int best = 0;
  for (int j = 1; j < k; j++)
    if (v[j] > v[best]) best = j;
  return best;
}

/* rows whose argmax misses the class (of the probabilities' argmax);
** ignored tokens never count */
static int64_t cross_entropy_errors(void *self, const lunet_tensor *pred, const lunet_tensor *target) {
  cross_entropy *ce = self;
  int64_t n = (int64_t)pred->shape.dim[0] * ce->rows, wrong = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *t = target->f32 + (ce->indices ? i : i * ce->k);
    if (ce->indices && ce->ignore >= 0 && t[0] == (float)ce->ignore) continue;
    int truth = ce->indices ? (int)t[0] : argmax(t, ce->k);
    wrong += argmax(pred->f32 + i * ce->k, ce->k) != truth;
  }
  return wrong;
}

/* the rows (tokens) of the mean and of errors(): all but the ignored ones */
static int64_t cross_entropy_counted(void *self, const lunet_tensor *target) {
  cross_entropy *ce = self;
  int n = target->shape.dim[0] * ce->rows;
  return ce->indices ? counted_rows(ce, target->f32, n) : n;
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = cross_entropy_create,
  .destroy = cross_entropy_destroy,
  .forward = {[LUNET_CPU] = cross_entropy_forward},
  .errors = cross_entropy_errors,
  .counted = cross_entropy_counted,
};

LUNET_LOSS_PLUGIN(api, "cross_entropy", "2.0.0",
                  "softmax + negative log-likelihood, stable, mean over the batch (or its tokens)",
                  LUNET_PARAMS(params))
