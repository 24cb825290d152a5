/*
** additive_attention.c -- additive (Bahdanau) attention, the attention of
** the first neural translation models (Bahdanau, Cho and Bengio 2015): each
** query q_t scores each key k_s with a one-hidden-layer network, and its
** output is the average of the keys (the values) under those scores:
**     e_ts = v^T tanh(W_q q_t + W_k k_s)       (Tq, Tk)
**     a_t  = softmax_s(e_ts + mask_s)
**     c_t  = sum_s a_ts k_s                    (Tq, Ek)
** Queries come from input 1 (Tq, Eq), keys and values from input 2 (Tk, Ek),
** an optional key-padding mask (Tk) is input 3 (see pad_mask): as
** cross_attention, a node of lunet.graph (a decoder state over the encoder's
** annotations). Unlike scaled dot-product attention, queries and keys may
** differ in width, and the score costs Tq Tk A, not Tq Tk E / heads.
**
** Parameters: query_weight W_q (A, Eq), key_weight W_k (A, Ek), both
** xavier-uniform, and v (A), N(0, 1/A); A = `hidden` (0: Ek). The buffer
** `attention_weights` (Tq, Tk) holds a of sample 0 of the last forward, for
** heatmaps. The weighted average is pooling.h's.
*/
#include "pooling.h"

enum { P_HIDDEN };

static const lunet_param_decl params[] = {
  [P_HIDDEN] = {"hidden", LUNET_INT, 0, 0, 1 << 24, NULL, NULL,
                "size A of the scoring layer tanh(W_q q + W_k k); 0: the keys' width", 0},
};

typedef struct additive {
  int Tq, Tk, Eq, Ek, A, masked;
  lunet_tensor wq, dwq, wk, dwk, v, dv; /* query_weight (A, Eq), key_weight (A, Ek), v (A) */
  lunet_tensor shown;                   /* attention_weights (Tq, Tk), a buffer */
  int max_batch;                        /* samples the scratch holds */
  float *pq, *dpq;                      /* (B, Tq, A): W_q q_t and its gradient */
  float *pk, *dpk;                      /* (B, Tk, A): W_k k_s and its gradient */
  float *h;                             /* (B, Tq, Tk, A): tanh(W_q q_t + W_k k_s) */
  float *a;                             /* (B, Tq, Tk): the weights */
  float *de;                            /* (Tk): dL/de_t of one query */
} additive;

static void additive_free_scratch(additive *p) {
  float **bufs[] = {&p->pq, &p->dpq, &p->pk, &p->dpk, &p->h, &p->a, &p->de};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
    host->free(*bufs[i]);
    *bufs[i] = NULL;
  }
  p->max_batch = 0;
}

static void additive_destroy(void *self) {
  additive *p = self;
  if (!p) return;
  additive_free_scratch(p);
  host->free(p);
}

static void *additive_create(const lunet_value *v, const lunet_shape *in, lunet_shape *out,
                             lunet_build *b) {
  char buf[LUNET_SHAPE_TEXT];
  if (lunet_expect_rank("additive_attention", &in[0], 2, "queries (Tq, Eq)") ||
      lunet_expect_rank("additive_attention", &in[1], 2, "keys (Tk, Ek)"))
    return NULL;
  if (b->n_inputs == 3 && (in[2].ndim != 1 || in[2].dim[0] != in[1].dim[0])) {
    host->error("additive_attention: the mask is %s, expected (%d): one value per key",
                lunet_shape_text(&in[2], buf), in[1].dim[0]);
    return NULL;
  }
  additive *p = host->alloc(sizeof *p);
  if (!p) return NULL;
  int Eq = in[0].dim[1], Ek = in[1].dim[1], A = v[P_HIDDEN].num > 0 ? (int)v[P_HIDDEN].num : Ek;
  *p = (additive){.Tq = in[0].dim[0], .Tk = in[1].dim[0], .Eq = Eq, .Ek = Ek, .A = A,
                  .masked = b->n_inputs == 3};
  if (b->param(b, "query_weight", &p->wq, &p->dwq, &(lunet_shape){2, {A, Eq}}) ||
      b->param(b, "key_weight", &p->wk, &p->dwk, &(lunet_shape){2, {A, Ek}}) ||
      b->param(b, "v", &p->v, &p->dv, &(lunet_shape){1, {A}}) ||
      b->param(b, "attention_weights", &p->shown, NULL, &(lunet_shape){2, {p->Tq, p->Tk}})) {
    additive_destroy(p);
    return NULL;
  }
  lunet_init_weights(p->wq.f32, (int64_t)A * Eq, "xavier", Eq, A, 0, b->rng);
  lunet_init_weights(p->wk.f32, (int64_t)A * Ek, "xavier", Ek, A, 0, b->rng);
  lunet_init_weights(p->v.f32, A, "normal", 0, 0, 1.0 / sqrt(A), b->rng);
  *out = (lunet_shape){2, {p->Tq, Ek}};
  return p;
}

static int additive_reserve(void *self, int max_batch, int device) {
  additive *p = self;
  (void)device;
  if (max_batch <= p->max_batch) return 0;
  additive_free_scratch(p);
  int64_t B = max_batch, qk = (int64_t)p->Tq * p->Tk;
  p->pq = lunet_alloc_floats(B * p->Tq * p->A);
  p->dpq = lunet_alloc_floats(B * p->Tq * p->A);
  p->pk = lunet_alloc_floats(B * p->Tk * p->A);
  p->dpk = lunet_alloc_floats(B * p->Tk * p->A);
  p->h = lunet_alloc_floats(B * qk * p->A);
  p->a = lunet_alloc_floats(B * qk);
  p->de = lunet_alloc_floats(p->Tk);
  if (!p->pq || !p->dpq || !p->pk || !p->dpk || !p->h || !p->a || !p->de) {
    additive_free_scratch(p);
    return 1;
  }
  p->max_batch = max_batch;
  return 0;
}

static int additive_fits(const additive *p, int B) {
  if (B <= p->max_batch) return 1;
  host->error("additive_attention: batch of %d samples, expected at most %d as given to "
              "reserve()", B, p->max_batch);
  return 0;
}

/* c_t = sum_s a_ts k_s, a_t = softmax(v^T tanh(W_q q_t + W_k k_s) + mask)
** (B, Tq, Eq), (B, Tk, Ek), (B, Tk) -> (B, Tq, Ek) */
static int additive_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                            const lunet_ctx *ctx) {
  additive *p = self;
  int B = in[0].shape.dim[0], Tq = p->Tq, Tk = p->Tk, Ek = p->Ek, A = p->A;
  (void)ctx;
  if (!additive_fits(p, B)) return 1;
  host->gemm(0, 1, B * Tq, A, p->Eq, 1.0f, in[0].f32, p->Eq, p->wq.f32, p->Eq, 0.0f, p->pq, A);
  host->gemm(0, 1, B * Tk, A, Ek, 1.0f, in[1].f32, Ek, p->wk.f32, Ek, 0.0f, p->pk, A);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < Tq; t++) {
      int64_t row = (int64_t)b * Tq + t;
      const float *pq = p->pq + row * A;
      float *e = p->a + row * Tk;
      for (int s = 0; s < Tk; s++) {
        const float *pk = p->pk + ((int64_t)b * Tk + s) * A;
        float *h = p->h + (row * Tk + s) * A, score = 0;
        for (int k = 0; k < A; k++) score += p->v.f32[k] * (h[k] = tanhf(pq[k] + pk[k]));
        e[s] = score;
      }
      pool_softmax(e, p->masked ? in[2].f32 + (int64_t)b * Tk : NULL, e, Tk);
      pool_sum(e, in[1].f32 + (int64_t)b * Tk * Ek, out->f32 + row * Ek, Tk, Ek);
    }
  memcpy(p->shown.f32, p->a, sizeof(float) * (size_t)Tq * Tk);
  return 0;
}

/* Given de_ts: dv = sum de_ts h_ts, dz_ts = de_ts v (1 - h_ts^2) added to
** dP_q[t] and dP_k[s]; then dW_q = dP_q^T q, dq = dP_q W_q, and the same for
** the keys, whose gradient also gets a_ts dc_t    (B, Tq, Ek) -> inputs */
static int additive_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                             const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  additive *p = self;
  int B = in[0].shape.dim[0], Tq = p->Tq, Tk = p->Tk, Eq = p->Eq, Ek = p->Ek, A = p->A;
  float *dq = din ? din[0].f32 : NULL, *dk = din ? din[1].f32 : NULL;
  float *dmask = din && p->masked ? din[2].f32 : NULL;
  (void)ctx;
  if (!additive_fits(p, B)) return 1;
  memset(p->dpq, 0, sizeof(float) * (size_t)B * Tq * A);
  memset(p->dpk, 0, sizeof(float) * (size_t)B * Tk * A);
  memset(p->dv.f32, 0, sizeof(float) * (size_t)A);
  if (dk) memset(dk, 0, sizeof(float) * (size_t)B * Tk * Ek);
  if (dmask) memset(dmask, 0, sizeof(float) * (size_t)B * Tk);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < Tq; t++) {
      int64_t row = (int64_t)b * Tq + t;
      pool_backward(p->a + row * Tk, in[1].f32 + (int64_t)b * Tk * Ek, out->f32 + row * Ek,
                    dout->f32 + row * Ek, p->de, dk ? dk + (int64_t)b * Tk * Ek : NULL, Tk, Ek);
      for (int s = 0; s < Tk; s++) {
        const float *h = p->h + (row * Tk + s) * A;
        float *dpq = p->dpq + row * A, *dpk = p->dpk + ((int64_t)b * Tk + s) * A, de = p->de[s];
        if (dmask) dmask[(int64_t)b * Tk + s] += de;
        for (int k = 0; k < A; k++) {
          float dz = de * p->v.f32[k] * (1.0f - h[k] * h[k]);
          p->dv.f32[k] += de * h[k];
          dpq[k] += dz;
          dpk[k] += dz;
        }
      }
    }
  host->gemm(1, 0, A, Eq, B * Tq, 1.0f, p->dpq, A, in[0].f32, Eq, 0.0f, p->dwq.f32, Eq);
  host->gemm(1, 0, A, Ek, B * Tk, 1.0f, p->dpk, A, in[1].f32, Ek, 0.0f, p->dwk.f32, Ek);
  if (dq) host->gemm(0, 0, B * Tq, Eq, A, 1.0f, p->dpq, A, p->wq.f32, Eq, 0.0f, dq, Eq);
  if (dk) host->gemm(0, 0, B * Tk, Ek, A, 1.0f, p->dpk, A, p->wk.f32, Ek, 1.0f, dk, Ek);
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = 3,
  .flags = LUNET_MASK_LAST,
  .create = additive_create,
  .destroy = additive_destroy,
  .reserve = additive_reserve,
  .forward = {[LUNET_CPU] = additive_forward},
  .backward = {[LUNET_CPU] = additive_backward},
  .check_input = {{2, {3, 5}}, {2, {4, 6}}, {1, {4}}},
};

LUNET_LAYER_PLUGIN(api, "additive_attention", "2.2.0",
                   "additive (Bahdanau) attention of queries (Tq, Eq) over keys (Tk, Ek) -> (Tq, "
                   "Ek): softmax_s(v^T tanh(W_q q_t + W_k k_s)), as cross-attention",
                   LUNET_PARAMS(params))
