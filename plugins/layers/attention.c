/*
** attention.c -- multi-head scaled dot-product self-attention, (T, E) -> (T, E),
** as torch.nn.MultiheadAttention(E, heads, batch_first = True) called with
** query = key = value = x.
**
** Parameters, PyTorch's names and layouts: in_proj_weight (3E, E) and
** in_proj_bias (3E) stack the Q, K and V projections; out_proj_weight (E, E)
** and out_proj_bias (E). Head h owns columns [h d, (h+1) d) of Q, K, V,
** d = E / heads:
**     [Q K V] = x W_in^T + b_in                      (T, 3E)
**     S_h = Q_h K_h^T / sqrt(d)                      (T, T), -inf above the diagonal if causal
**     P_h = softmax(S_h) over each row; D_h = dropout(P_h) in training
**     O = [D_1 V_1, ..., D_H V_H]                    (T, E)
**     y = O W_out^T + b_out                          (T, E)
** Initialised as PyTorch: W_in xavier-uniform, W_out U(+-1/sqrt(E)), biases 0.
** The per-head products go through host->gemm_batched, one call per sample
** over its heads. All scratch (QKV, P, D, O and backward's gradients) is
** sized by reserve(max_batch). The buffer `attention_weights` (heads, T, T)
** holds P of sample 0 of the last forward, for heatmaps; it is not trained,
** but as every buffer it is saved in checkpoints.
*/
#include <lunet/helpers.h>

enum { P_HEADS, P_CAUSAL, P_DROPOUT };

static const lunet_param_decl params[] = {
  [P_HEADS] = {"heads", LUNET_INT, 2, 1, 1 << 16, NULL, NULL,
               "attention heads; E must be divisible by it", LUNET_REQUIRED},
  [P_CAUSAL] = {"causal", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                "position t attends only to positions s <= t", 0},
  [P_DROPOUT] = {"dropout", LUNET_NUMBER, 0, 0, 0.999, NULL, NULL,
                 "probability of zeroing an attention weight in training", 0},
};

typedef struct attention {
  int T, E, H, d, causal;
  float drop;                    /* dropout probability */
  lunet_tensor wi, dwi, bi, dbi; /* in_proj_weight (3E, E), in_proj_bias (3E) */
  lunet_tensor wo, dwo, bo, dbo; /* out_proj_weight (E, E), out_proj_bias (E) */
  lunet_tensor shown;            /* attention_weights (H, T, T), a buffer */
  int max_batch;                 /* samples the scratch holds */
  float *qkv, *dqkv;             /* (B, T, 3E) */
  float *p, *dp;                 /* (B, H, T, T): softmax weights; backward's dL/dD, dL/dS */
  float *dropped;                /* (B, H, T, T): D, when dropout > 0 */
  float *o, *dout_o;             /* (B, T, E): heads' outputs and their gradient */
  int dropped_last;              /* the last forward applied dropout (D is in `dropped`) */
} attention;

static void attention_free_scratch(attention *a) {
  float **bufs[] = {&a->qkv, &a->dqkv, &a->p, &a->dp, &a->dropped, &a->o, &a->dout_o};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
    host->free(*bufs[i]);
    *bufs[i] = NULL;
  }
  a->max_batch = 0;
}

static void attention_destroy(void *self) {
  attention *a = self;
  if (!a) return;
  attention_free_scratch(a);
  host->free(a);
}

static float uniform(lunet_rng *rng, double bound) {
  return (float)(bound * (2.0 * host->rng_uniform(rng) - 1.0));
}

static void *attention_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                              lunet_build *b) {
  char buf[LUNET_SHAPE_TEXT];
  int H = (int)p[P_HEADS].num;
  if (in->ndim != 2 || in->dim[0] < 1 || in->dim[1] < 1) {
    host->error("attention: expected input (T, E) with T, E >= 1, got %s",
                lunet_shape_text(in, buf));
    return NULL;
  }
  if (in->dim[1] % H != 0) {
    host->error("attention: embedding size E = %d is not divisible by heads = %d", in->dim[1], H);
    return NULL;
  }
  attention *a = host->alloc(sizeof *a);
  if (!a) return NULL;
  a->T = in->dim[0], a->E = in->dim[1], a->H = H, a->d = a->E / H;
  a->causal = p[P_CAUSAL].num != 0;
  a->drop = (float)p[P_DROPOUT].num;
  int E = a->E;
  if (b->param(b, "in_proj_weight", &a->wi, &a->dwi, &(lunet_shape){2, {3 * E, E}}) ||
      b->param(b, "in_proj_bias", &a->bi, &a->dbi, &(lunet_shape){1, {3 * E}}) ||
      b->param(b, "out_proj_weight", &a->wo, &a->dwo, &(lunet_shape){2, {E, E}}) ||
      b->param(b, "out_proj_bias", &a->bo, &a->dbo, &(lunet_shape){1, {E}}) ||
      b->param(b, "attention_weights", &a->shown, NULL, &(lunet_shape){3, {H, a->T, a->T}})) {
    attention_destroy(a);
    return NULL;
  }
  for (int64_t i = 0; i < 3 * (int64_t)E * E; i++) /* xavier_uniform over (3E, E) */
    a->wi.f32[i] = uniform(b->rng, sqrt(6.0 / (4.0 * E)));
  for (int64_t i = 0; i < (int64_t)E * E; i++) a->wo.f32[i] = uniform(b->rng, 1.0 / sqrt(E));
  *out = *in;
  return a;
}

static int attention_reserve(void *self, int max_batch, int device) {
  attention *a = self;
  (void)device;
  if (max_batch <= a->max_batch) return 0;
  attention_free_scratch(a);
  int64_t B = max_batch, rows = B * a->T, w = B * a->H * a->T * a->T;
  a->qkv = lunet_alloc_floats(rows * 3 * a->E);
  a->dqkv = lunet_alloc_floats(rows * 3 * a->E);
  a->p = lunet_alloc_floats(w);
  a->dp = lunet_alloc_floats(w);
  a->dropped = a->drop > 0 ? lunet_alloc_floats(w) : NULL;
  a->o = lunet_alloc_floats(rows * a->E);
  a->dout_o = lunet_alloc_floats(rows * a->E);
  if (!a->qkv || !a->dqkv || !a->p || !a->dp || (a->drop > 0 && !a->dropped) || !a->o ||
      !a->dout_o) {
    attention_free_scratch(a);
    return 1;
  }
  a->max_batch = max_batch;
  return 0;
}

/* y = x W^T + b over n rows    (n, in) -> (n, out) */
static void affine(const float *x, const float *w, const float *bias, float *y, int64_t n,
                   int in, int out) {
  for (int64_t i = 0; i < n; i++) memcpy(y + i * out, bias, sizeof(float) * out);
  host->gemm(0, 1, (int)n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

/* dW = dy^T x, db = sum over rows of dy, dx = dy W (unless dx is NULL)    (n, out) -> (n, in) */
static void affine_backward(const float *x, const float *w, const float *dy, float *dw, float *db,
                            float *dx, int64_t n, int in, int out) {
  host->gemm(1, 0, out, in, (int)n, 1.0f, dy, out, x, in, 0.0f, dw, in);
  memset(db, 0, sizeof(float) * out);
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < out; j++) db[j] += dy[i * out + j];
  if (dx) host->gemm(0, 0, (int)n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

/* Each row of S, in place: masked (s > t when causal) -> 0, the rest softmax    (rows, T, T) */
static void masked_softmax(float *s, int64_t rows, int T, int causal) {
  for (int64_t r = 0; r < rows; r++) {
    float *row = s + r * T;
    int t = (int)(r % T), n = causal ? t + 1 : T;
    float m = row[0], sum = 0;
    for (int j = 1; j < n; j++) m = row[j] > m ? row[j] : m;
    for (int j = 0; j < n; j++) sum += row[j] = expf(row[j] - m);
    for (int j = 0; j < n; j++) row[j] /= sum;
    for (int j = n; j < T; j++) row[j] = 0;
  }
}

/* D = P m / (1 - p), m ~ Bernoulli(1 - p) drawn from rng    (n) -> (n) */
static void drop_weights(const float *p, float *d, int64_t n, float drop, lunet_rng *rng) {
  float keep = 1.0f / (1.0f - drop);
  for (int64_t i = 0; i < n; i++) d[i] = host->rng_uniform(rng) < drop ? 0.0f : p[i] * keep;
}

static int attention_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                             const lunet_ctx *ctx) {
  attention *a = self;
  int B = in->shape.dim[0], T = a->T, E = a->E, H = a->H, d = a->d;
  int64_t tt = (int64_t)T * T, w = (int64_t)B * H * tt;
  if (B > a->max_batch) {
    host->error("attention: batch of %d samples, expected at most %d as given to reserve()", B,
                a->max_batch);
    return 1;
  }
  affine(in->f32, a->wi.f32, a->bi.f32, a->qkv, (int64_t)B * T, E, 3 * E);
  for (int s = 0; s < B; s++) { /* S_h = Q_h K_h^T / sqrt(d)    (H, T, d) x (H, T, d) -> (H, T, T) */
    const float *q = a->qkv + (int64_t)s * T * 3 * E;
    host->gemm_batched(0, 1, T, T, d, 1.0f / sqrtf((float)d), q, 3 * E, d, q + E, 3 * E, d, 0.0f,
                       a->p + s * H * tt, T, tt, H);
  }
  masked_softmax(a->p, (int64_t)B * H * T, T, a->causal);
  a->dropped_last = ctx->train && a->drop > 0;
  if (a->dropped_last) drop_weights(a->p, a->dropped, w, a->drop, ctx->rng);
  const float *weights = a->dropped_last ? a->dropped : a->p;
  for (int s = 0; s < B; s++) /* O_h = D_h V_h    (H, T, T) x (H, T, d) -> (T, H d) */
    host->gemm_batched(0, 0, T, d, T, 1.0f, weights + s * H * tt, T, tt,
                       a->qkv + (int64_t)s * T * 3 * E + 2 * E, 3 * E, d, 0.0f,
                       a->o + (int64_t)s * T * E, E, d, H);
  affine(a->o, a->wo.f32, a->bo.f32, out->f32, (int64_t)B * T, E, E);
  memcpy(a->shown.f32, a->p, sizeof(float) * (size_t)(H * tt));
  return 0;
}

/* dS = P (dP - sum_j dP_j P_j) per row, dP = dD m / (1 - p) (m: D != 0) if dropped    (rows, T) */
static void softmax_backward(const float *p, const float *dropped, float *g, int64_t rows, int T,
                             float drop) {
  float keep = 1.0f / (1.0f - drop);
  for (int64_t r = 0; r < rows; r++) {
    const float *pr = p + r * T;
    float *gr = g + r * T;
    if (dropped)
      for (int j = 0; j < T; j++) gr[j] = dropped[r * T + j] != 0 ? gr[j] * keep : 0.0f;
    float dot = 0;
    for (int j = 0; j < T; j++) dot += gr[j] * pr[j];
    for (int j = 0; j < T; j++) gr[j] = pr[j] * (gr[j] - dot);
  }
}

static int attention_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                              const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  attention *a = self;
  int B = in->shape.dim[0], T = a->T, E = a->E, H = a->H, d = a->d;
  int64_t tt = (int64_t)T * T, n = (int64_t)B * T;
  float scale = 1.0f / sqrtf((float)d);
  (void)out, (void)ctx;
  if (B > a->max_batch) {
    host->error("attention: backward of %d samples, expected at most %d as given to reserve()",
                B, a->max_batch);
    return 1;
  }
  affine_backward(a->o, a->wo.f32, dout->f32, a->dwo.f32, a->dbo.f32, a->dout_o, n, E, E);
  const float *weights = a->dropped_last ? a->dropped : a->p;
  for (int s = 0; s < B; s++) {
    const float *qkv = a->qkv + (int64_t)s * T * 3 * E, *dO = a->dout_o + (int64_t)s * T * E;
    float *dqkv = a->dqkv + (int64_t)s * T * 3 * E, *g = a->dp + s * H * tt;
    /* dD_h = dO_h V_h^T    (H, T, d) x (H, T, d) -> (H, T, T) */
    host->gemm_batched(0, 1, T, T, d, 1.0f, dO, E, d, qkv + 2 * E, 3 * E, d, 0.0f, g, T, tt, H);
    /* dV_h = D_h^T dO_h    (H, T, T) x (H, T, d) -> (T, H d) */
    host->gemm_batched(1, 0, T, d, T, 1.0f, weights + s * H * tt, T, tt, dO, E, d, 0.0f,
                       dqkv + 2 * E, 3 * E, d, H);
    softmax_backward(a->p + s * H * tt, a->dropped_last ? a->dropped + s * H * tt : NULL, g,
                     (int64_t)H * T, T, a->drop);
    /* dQ_h = dS_h K_h / sqrt(d), dK_h = dS_h^T Q_h / sqrt(d)    -> (T, H d) each */
    host->gemm_batched(0, 0, T, d, T, scale, g, T, tt, qkv + E, 3 * E, d, 0.0f, dqkv, 3 * E, d, H);
    host->gemm_batched(1, 0, T, d, T, scale, g, T, tt, qkv, 3 * E, d, 0.0f, dqkv + E, 3 * E, d, H);
  }
  affine_backward(in->f32, a->wi.f32, a->dqkv, a->dwi.f32, a->dbi.f32, din ? din->f32 : NULL, n,
                  E, 3 * E);
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = attention_create,
  .destroy = attention_destroy,
  .reserve = attention_reserve,
  .forward = {[LUNET_CPU] = attention_forward},
  .backward = {[LUNET_CPU] = attention_backward},
  .check_input = {{2, {4, 6}}},
};

LUNET_LAYER_PLUGIN(api, "attention", "2.1.0",
                   "multi-head scaled dot-product self-attention, (T, E) -> (T, E), as "
                   "torch.nn.MultiheadAttention",
                   LUNET_PARAMS(params))
