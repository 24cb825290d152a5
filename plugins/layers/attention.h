/*
** attention.h -- what self-attention (attention.c) and cross-attention
** (cross_attention.c) share: multi-head scaled dot-product attention of
** queries from x (Tq, E) over keys and values from m (Tk, E), as
** torch.nn.MultiheadAttention(E, heads, batch_first = True)(x, m, m).
**
** Parameters, PyTorch's names and layouts: in_proj_weight (3E, E) and
** in_proj_bias (3E) stack the Q, K and V projections; out_proj_weight (E, E)
** and out_proj_bias (E). Head h owns columns [h d, (h+1) d) of Q, K, V,
** d = E / heads:
**     Q = x W_q^T + b_q,  [K V] = m W_kv^T + b_kv    (Tq, E), (Tk, 2E)
**     S_h = Q_h K_h^T / sqrt(d) + mask               (Tq, Tk), -inf above the diagonal if causal
**     P_h = softmax(S_h) over each row; D_h = dropout(P_h) in training
**     O = [D_1 V_1, ..., D_H V_H]                    (Tq, E)
**     y = O W_out^T + b_out                          (Tq, E)
** The optional last input, mask (Tk), is PyTorch's float key_padding_mask:
** added to every row of every head's scores, 0 keeps key s, -1e9 (as
** pad_mask writes) ignores it. Its gradient is the sum of dS over heads and
** queries. A row whose keys are all ignored averages them (no NaN).
** Initialised as PyTorch: W_in xavier-uniform, W_out U(+-1/sqrt(E)), biases 0.
** The per-head products go through host->gemm_batched, one call per sample
** over its heads. All scratch (Q, KV, P, D, O and backward's gradients) is
** sized by reserve(max_batch) on the device it names: the same code runs on
** the CPU and on the GPU, where the loops below are attention.cuh's kernels
** (dropout's mask drawn on the host, from the same stream, and copied
** over). The buffer `attention_weights` (heads, Tq, Tk)
** holds P of sample 0 of the last forward, for heatmaps; it is not trained,
** but as every buffer it is saved in checkpoints.
*/
#ifndef LUNET_ATTENTION_H
#define LUNET_ATTENTION_H

#include <lunet/helpers.h>

#include "fastmath.h"

typedef struct attention {
  const char *name;              /* the plugin, for messages */
  int Tq, Tk, E, H, d, causal;
  int masked;                    /* takes the mask (Tk) as its last input */
  float drop;                    /* dropout probability */
  lunet_tensor wi, dwi, bi, dbi; /* in_proj_weight (3E, E), in_proj_bias (3E) */
  lunet_tensor wo, dwo, bo, dbo; /* out_proj_weight (E, E), out_proj_bias (E) */
  lunet_tensor shown;            /* attention_weights (H, Tq, Tk), a buffer */
  int max_batch;                 /* samples the scratch holds */
  float *q, *dq;                 /* (B, Tq, E) */
  float *kv, *dkv;               /* (B, Tk, 2E) */
  float *p, *dp;                 /* (B, H, Tq, Tk): softmax weights; backward's dL/dD, dL/dS */
  float *dropped;                /* (B, H, Tq, Tk): D, when dropout > 0 */
  float *o, *dout_o;             /* (B, Tq, E): heads' outputs and their gradient */
  int dropped_last;              /* the last forward applied dropout (D is in `dropped`) */
  int device;                    /* where the scratch lives and the kernels run */
  float *hmask;                  /* on the GPU with dropout: the mask drawn on the host */
} attention;

#ifdef LUNET_WITH_CUDA
/* The kernels of attention.cuh, and rows.cuh's bias kernels. */
int rows_fill_launch(float *y, const float *b, int64_t rows, int n);
int rows_sum_launch(float *db, const float *dy, int64_t rows, int n);
int attention_softmax_launch(float *S, const float *mask, int B, int H, int Tq, int Tk, int causal);
int attention_softmax_backward_launch(const float *P, const float *dropped, float *G, int64_t rows, int Tk,
                                      float keep);
int attention_drop_launch(const float *P, const float *m, float *D, int64_t n);
#define ATTENTION_ON_GPU(a) ((a)->device == LUNET_CUDA)
#else
#define ATTENTION_ON_GPU(a) 0
#endif

/* The services of the device the instance runs on. */
static const lunet_device_services *attention_dev(const attention *a) { return host->device[a->device]; }

static void attention_free_scratch(attention *a) {
  float **bufs[] = {&a->q, &a->dq, &a->kv, &a->dkv, &a->p, &a->dp, &a->dropped, &a->o, &a->dout_o};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
    lunet_free_on(a->device, *bufs[i]);
    *bufs[i] = NULL;
  }
  host->free(a->hmask);
  a->hmask = NULL;
  a->max_batch = 0;
}

static void attention_destroy(void *self) {
  attention *a = self;
  if (!a) return;
  attention_free_scratch(a);
  host->free(a);
}

static int attention_expect(const char *name, const lunet_shape *in, const char *what) {
  char buf[LUNET_SHAPE_TEXT];
  if (in->ndim == 2 && in->dim[0] >= 1 && in->dim[1] >= 1) return 0;
  host->error("%s: expected %s (T, E) with T, E >= 1, got %s", name, what,
              lunet_shape_text(in, buf));
  return 1;
}

static float attention_uniform(lunet_rng *rng, double bound) {
  return (float)(bound * (2.0 * host->rng_uniform(rng) - 1.0));
}

/* An instance for queries of shape x (Tq, E), keys/values m (Tk, E) and,
** unless NULL, a key mask (Tk). */
static attention *attention_new(const char *name, const lunet_shape *x, const lunet_shape *m,
                                const lunet_shape *mask, int heads, int causal, double drop,
                                lunet_build *b) {
  char buf[LUNET_SHAPE_TEXT];
  if (attention_expect(name, x, "queries") || attention_expect(name, m, "keys and values"))
    return NULL;
  if (mask && (mask->ndim != 1 || mask->dim[0] != m->dim[0])) {
    host->error("%s: the mask is %s, expected (%d): one value per key", name,
                lunet_shape_text(mask, buf), m->dim[0]);
    return NULL;
  }
  if (m->dim[1] != x->dim[1]) {
    host->error("%s: keys and values have %d features, the queries %d; expected the same E", name,
                m->dim[1], x->dim[1]);
    return NULL;
  }
  if (x->dim[1] % heads != 0) {
    host->error("%s: embedding size E = %d is not divisible by heads = %d", name, x->dim[1], heads);
    return NULL;
  }
  attention *a = host->alloc(sizeof *a);
  if (!a) return NULL;
  *a = (attention){.name = name, .Tq = x->dim[0], .Tk = m->dim[0], .E = x->dim[1], .H = heads,
                   .d = x->dim[1] / heads, .causal = causal, .masked = mask != NULL,
                   .drop = (float)drop};
  int E = a->E;
  if (b->param(b, "in_proj_weight", &a->wi, &a->dwi, &(lunet_shape){2, {3 * E, E}}) ||
      b->param(b, "in_proj_bias", &a->bi, &a->dbi, &(lunet_shape){1, {3 * E}}) ||
      b->param(b, "out_proj_weight", &a->wo, &a->dwo, &(lunet_shape){2, {E, E}}) ||
      b->param(b, "out_proj_bias", &a->bo, &a->dbo, &(lunet_shape){1, {E}}) ||
      b->param(b, "attention_weights", &a->shown, NULL, &(lunet_shape){3, {heads, a->Tq, a->Tk}})) {
    attention_destroy(a);
    return NULL;
  }
  for (int64_t i = 0; i < 3 * (int64_t)E * E; i++) /* xavier_uniform over (3E, E) */
    a->wi.f32[i] = attention_uniform(b->rng, sqrt(6.0 / (4.0 * E)));
  for (int64_t i = 0; i < (int64_t)E * E; i++)
    a->wo.f32[i] = attention_uniform(b->rng, 1.0 / sqrt(E));
  return a;
}

static int attention_reserve(void *self, int max_batch, int device) {
  attention *a = self;
  if (max_batch <= a->max_batch && device == a->device) return 0;
  attention_free_scratch(a);
  a->device = device;
  int64_t B = max_batch, nq = B * a->Tq * a->E, nkv = B * a->Tk * 2 * a->E;
  int64_t w = B * a->H * a->Tq * a->Tk;
  a->q = lunet_alloc_floats_on(device, nq);
  a->dq = lunet_alloc_floats_on(device, nq);
  a->kv = lunet_alloc_floats_on(device, nkv);
  a->dkv = lunet_alloc_floats_on(device, nkv);
  a->p = lunet_alloc_floats_on(device, w);
  a->dp = lunet_alloc_floats_on(device, w);
  a->dropped = a->drop > 0 ? lunet_alloc_floats_on(device, w) : NULL;
  a->hmask = a->drop > 0 && device != LUNET_CPU ? lunet_alloc_floats(w) : NULL;
  a->o = lunet_alloc_floats_on(device, nq);
  a->dout_o = lunet_alloc_floats_on(device, nq);
  if (!a->q || !a->dq || !a->kv || !a->dkv || !a->p || !a->dp || (a->drop > 0 && !a->dropped) ||
      (a->drop > 0 && device != LUNET_CPU && !a->hmask) || !a->o || !a->dout_o) {
    attention_free_scratch(a);
    return 1;
  }
  a->max_batch = max_batch;
  return 0;
}

/* y = x W^T + b over n rows    (n, in) -> (n, out); 1 if a GPU launch failed.
** (A failed GEMM is reported by the device's next copy: the ABI's gemm is void.) */
static int attention_affine(const attention *a, const float *x, const float *w, const float *bias,
                            float *y, int64_t n, int in, int out) {
#ifdef LUNET_WITH_CUDA
  if (ATTENTION_ON_GPU(a) && lunet_cuda_check(a->name, rows_fill_launch(y, bias, n, out))) return 1;
#endif
  for (int64_t i = 0; !ATTENTION_ON_GPU(a) && i < n; i++) memcpy(y + i * out, bias, sizeof(float) * out);
  attention_dev(a)->gemm(0, 1, (int)n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
  return 0;
}

/* db = sum over the rows of dy    (n, out) -> (out); 1 if a GPU launch failed */
static int attention_column_sums(const attention *a, const float *dy, float *db, int64_t n, int out) {
#ifdef LUNET_WITH_CUDA
  if (ATTENTION_ON_GPU(a)) return lunet_cuda_check(a->name, rows_sum_launch(db, dy, n, out)) ? 1 : 0;
#else
  (void)a;
#endif
  memset(db, 0, sizeof(float) * out);
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < out; j++) db[j] += dy[i * out + j];
  return 0;
}

/* dW = dy^T x, db = sum over rows of dy, dx = dy W + beta dx (unless dx is NULL)
** (n, out) -> (n, in); 1 if a GPU launch failed */
static int attention_affine_backward(const attention *a, const float *x, const float *w, const float *dy,
                                     float *dw, float *db, float *dx, float beta, int64_t n, int in,
                                     int out) {
  const lunet_device_services *dev = attention_dev(a);
  dev->gemm(1, 0, out, in, (int)n, 1.0f, dy, out, x, in, 0.0f, dw, in);
  if (attention_column_sums(a, dy, db, n, out)) return 1;
  if (dx) dev->gemm(0, 0, (int)n, in, out, 1.0f, dy, out, w, in, beta, dx, in);
  return 0;
}

/* Each row of S, in place: + mask (unless NULL), then keys s > t -> 0 when
** causal, the rest softmax    (rows, Tq, Tk), mask (Tk) */
static void attention_softmax(float *s, const float *mask, int64_t rows, int Tq, int Tk,
                              int causal) {
  for (int64_t r = 0; r < rows; r++) {
    float *row = s + r * Tk;
    int t = (int)(r % Tq), n = causal && t + 1 < Tk ? t + 1 : Tk;
    for (int j = 0; mask && j < n; j++) row[j] += mask[j];
    fast_softmax(row, n);
    for (int j = n; j < Tk; j++) row[j] = 0;
  }
}

/* D = P m / (1 - p), m ~ Bernoulli(1 - p) drawn from rng    (n) -> (n). On
** the GPU the same draws fill the host mask, which is copied over. */
static int attention_drop(attention *a, const float *p, float *d, int64_t n, lunet_rng *rng) {
  float keep = 1.0f / (1.0f - a->drop);
  if (!ATTENTION_ON_GPU(a)) {
    for (int64_t i = 0; i < n; i++) d[i] = host->rng_uniform(rng) < a->drop ? 0.0f : p[i] * keep;
    return 0;
  }
  for (int64_t i = 0; i < n; i++) a->hmask[i] = host->rng_uniform(rng) < a->drop ? 0.0f : keep;
  if (attention_dev(a)->copy(a->dropped, a->hmask, sizeof(float) * (size_t)n, LUNET_COPY_TO_DEVICE)) return 1;
#ifdef LUNET_WITH_CUDA
  return lunet_cuda_check(a->name, attention_drop_launch(p, a->dropped, d, n));
#else
  return 1;
#endif
}

static int attention_fits(const attention *a, int B, const char *call) {
  if (B <= a->max_batch) return 1;
  host->error("%s: %s of %d samples, expected at most %d as given to reserve()", a->name, call, B,
              a->max_batch);
  return 0;
}

/* y = attention of queries from x over keys and values from m, keys
** masked by mask unless NULL    (B, Tq, E), (B, Tk, E), (B, Tk) -> (B, Tq, E) */
static int attention_run(attention *a, const float *x, const float *m, const float *mask,
                         float *y, const lunet_ctx *ctx, int B) {
  int Tq = a->Tq, Tk = a->Tk, E = a->E, H = a->H, d = a->d;
  int64_t qk = (int64_t)Tq * Tk, w = (int64_t)B * H * qk;
  const lunet_device_services *dev = attention_dev(a);
  if (!attention_fits(a, B, "batch")) return 1;
  if (attention_affine(a, x, a->wi.f32, a->bi.f32, a->q, (int64_t)B * Tq, E, E) ||
      attention_affine(a, m, a->wi.f32 + (int64_t)E * E, a->bi.f32 + E, a->kv, (int64_t)B * Tk, E, 2 * E))
    return 1;
  /* S_h = Q_h K_h^T / sqrt(d)    (H, Tq, d) x (H, Tk, d) -> (H, Tq, Tk) */
  for (int s = 0; s < B; s++)
    dev->gemm_batched(0, 1, Tq, Tk, d, 1.0f / sqrtf((float)d), a->q + (int64_t)s * Tq * E, E, d,
                      a->kv + (int64_t)s * Tk * 2 * E, 2 * E, d, 0.0f, a->p + s * H * qk, Tk, qk,
                      H);
#ifdef LUNET_WITH_CUDA
  if (ATTENTION_ON_GPU(a) && lunet_cuda_check(a->name, attention_softmax_launch(a->p, mask, B, H, Tq, Tk, a->causal)))
    return 1;
#endif
  for (int s = 0; !ATTENTION_ON_GPU(a) && s < B; s++)
    attention_softmax(a->p + s * H * qk, mask ? mask + (int64_t)s * Tk : NULL, (int64_t)H * Tq, Tq,
                      Tk, a->causal);
  a->dropped_last = ctx->train && a->drop > 0;
  if (a->dropped_last && attention_drop(a, a->p, a->dropped, w, ctx->rng)) return 1;
  const float *weights = a->dropped_last ? a->dropped : a->p;
  for (int s = 0; s < B; s++) /* O_h = D_h V_h    (H, Tq, Tk) x (H, Tk, d) -> (Tq, H d) */
    dev->gemm_batched(0, 0, Tq, d, Tk, 1.0f, weights + s * H * qk, Tk, qk,
                      a->kv + (int64_t)s * Tk * 2 * E + E, 2 * E, d, 0.0f,
                      a->o + (int64_t)s * Tq * E, E, d, H);
  if (attention_affine(a, a->o, a->wo.f32, a->bo.f32, y, (int64_t)B * Tq, E, E)) return 1;
  if (!ATTENTION_ON_GPU(a)) memcpy(a->shown.f32, a->p, sizeof(float) * (size_t)(H * qk));
  else if (dev->copy(a->shown.f32, a->p, sizeof(float) * (size_t)(H * qk), LUNET_COPY_ON_DEVICE)) return 1;
  return 0;
}

/* dS = P (dP - sum_j dP_j P_j) per row, dP = dD m / (1 - p) (m: D != 0) if dropped
** (rows, Tk) */
static void attention_softmax_backward(const float *p, const float *dropped, float *g,
                                       int64_t rows, int Tk, float drop) {
  float keep = 1.0f / (1.0f - drop);
  for (int64_t r = 0; r < rows; r++) {
    const float *pr = p + r * Tk;
    float *gr = g + r * Tk;
    if (dropped)
      for (int j = 0; j < Tk; j++) gr[j] = dropped[r * Tk + j] != 0 ? gr[j] * keep : 0.0f;
    float dot = (float)row_dot_dev(gr, pr, Tk, 0.0f); /* sum_j dP_j P_j, in lanes */
    for (int j = 0; j < Tk; j++) gr[j] = pr[j] * (gr[j] - dot);
  }
}

/* dmask = sum of dS over heads and queries    (H Tq, Tk) -> (Tk) */
static int attention_mask_grad(const attention *a, const float *g, float *dmask, int64_t rows, int Tk) {
  return attention_column_sums(a, g, dmask, rows, Tk);
}

/* Gradients of the last attention_run: parameters always; dx, dm and dmask
** unless NULL (dm == dx adds the keys' and values' share to the queries'). */
static int attention_grad(attention *a, const float *x, const float *m, const float *dy, float *dx,
                          float *dm, float *dmask, int B) {
  int Tq = a->Tq, Tk = a->Tk, E = a->E, H = a->H, d = a->d;
  int64_t qk = (int64_t)Tq * Tk;
  float scale = 1.0f / sqrtf((float)d);
  const lunet_device_services *dev = attention_dev(a);
  if (!attention_fits(a, B, "backward")) return 1;
  if (attention_affine_backward(a, a->o, a->wo.f32, dy, a->dwo.f32, a->dbo.f32, a->dout_o, 0.0f,
                                (int64_t)B * Tq, E, E))
    return 1;
  const float *weights = a->dropped_last ? a->dropped : a->p;
  for (int s = 0; s < B; s++) {
    const float *q = a->q + (int64_t)s * Tq * E, *kv = a->kv + (int64_t)s * Tk * 2 * E;
    const float *dO = a->dout_o + (int64_t)s * Tq * E;
    float *dq = a->dq + (int64_t)s * Tq * E, *dkv = a->dkv + (int64_t)s * Tk * 2 * E;
    float *g = a->dp + s * H * qk;
    /* dD_h = dO_h V_h^T    (H, Tq, d) x (H, Tk, d) -> (H, Tq, Tk) */
    dev->gemm_batched(0, 1, Tq, Tk, d, 1.0f, dO, E, d, kv + E, 2 * E, d, 0.0f, g, Tk, qk, H);
    /* dV_h = D_h^T dO_h    (H, Tq, Tk) x (H, Tq, d) -> (Tk, H d) */
    dev->gemm_batched(1, 0, Tk, d, Tq, 1.0f, weights + s * H * qk, Tk, qk, dO, E, d, 0.0f,
                      dkv + E, 2 * E, d, H);
    const float *dropped = a->dropped_last ? a->dropped + s * H * qk : NULL;
#ifdef LUNET_WITH_CUDA
    if (ATTENTION_ON_GPU(a) &&
        lunet_cuda_check(a->name, attention_softmax_backward_launch(a->p + s * H * qk, dropped, g, (int64_t)H * Tq,
                                                                    Tk, 1.0f / (1.0f - a->drop))))
      return 1;
#endif
    if (!ATTENTION_ON_GPU(a)) attention_softmax_backward(a->p + s * H * qk, dropped, g, (int64_t)H * Tq, Tk, a->drop);
    if (dmask && attention_mask_grad(a, g, dmask + (int64_t)s * Tk, (int64_t)H * Tq, Tk)) return 1;
    /* dQ_h = dS_h K_h / sqrt(d), dK_h = dS_h^T Q_h / sqrt(d)    -> (Tq, H d), (Tk, H d) */
    dev->gemm_batched(0, 0, Tq, d, Tk, scale, g, Tk, qk, kv, 2 * E, d, 0.0f, dq, E, d, H);
    dev->gemm_batched(1, 0, Tk, d, Tq, scale, g, Tk, qk, q, E, d, 0.0f, dkv, 2 * E, d, H);
  }
  if (attention_affine_backward(a, x, a->wi.f32, a->dq, a->dwi.f32, a->dbi.f32, dx, 0.0f,
                                (int64_t)B * Tq, E, E))
    return 1;
  return attention_affine_backward(a, m, a->wi.f32 + (int64_t)E * E, a->dkv, a->dwi.f32 + (int64_t)E * E,
                                   a->dbi.f32 + E, dm, dm == dx ? 1.0f : 0.0f, (int64_t)B * Tk, E, 2 * E);
}

#endif /* LUNET_ATTENTION_H */
