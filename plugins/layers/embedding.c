/*
** embedding.c -- a table of token vectors, y = W[id], as torch.nn.Embedding:
** the first layer of a language model, and the first layer of lunet that
** takes token ids.
**
** Input 0 holds int32 ids (LUNET_TAKES_IDS) of any per-sample shape, (T) or
** (T1, T2); the output appends `dim`: (T, dim). The weight (vocab, dim)
** starts N(0, 1), as PyTorch's. An id outside [0, vocab) is an error that
** names its position and value; it is never read past. Ids have no
** gradient: backward writes dW only, and never din.
*/
#include <lunet/helpers.h>

enum { P_VOCAB, P_DIM };

static const lunet_param_decl params[] = {
  [P_VOCAB] = {"vocab", LUNET_INT, 7, 1, 1 << 30, NULL, NULL,
               "number of token ids: ids lie in [0, vocab)", LUNET_REQUIRED},
  [P_DIM] = {"dim", LUNET_INT, 4, 1, 1 << 24, NULL, NULL, "size of each token's vector",
             LUNET_REQUIRED},
};

typedef struct embedding {
  int vocab, dim;
  lunet_tensor w, dw; /* (vocab, dim) */
} embedding;

static void embedding_destroy(void *self) { host->free(self); }

/* 0 when `in` is a shape of ids (every size at least 1) with room left for
** `dim`; else an error and -1. */
static int check_ids_shape(const lunet_shape *in) {
  int ok = in->ndim >= 1 && in->ndim < LUNET_MAX_DIMS;
  for (int i = 0; ok && i < in->ndim; i++) ok = in->dim[i] >= 1;
  if (ok) return 0;
  char buf[LUNET_SHAPE_TEXT];
  host->error("embedding: expected ids of shape (T), (T1, T2), ... with 1 to %d dimensions, "
              "every size at least 1, got %s", LUNET_MAX_DIMS - 1, lunet_shape_text(in, buf));
  return -1;
}

static void *embedding_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                              lunet_build *b) {
  if (check_ids_shape(in)) return NULL;
  embedding *e = host->alloc(sizeof *e);
  if (!e) return NULL;
  e->vocab = (int)p[P_VOCAB].num;
  e->dim = (int)p[P_DIM].num;
  if (b->param(b, "weight", &e->w, &e->dw, &(lunet_shape){2, {e->vocab, e->dim}})) {
    embedding_destroy(e);
    return NULL;
  }
  lunet_init_weights(e->w.f32, (int64_t)e->vocab * e->dim, "normal", 0, 0, 1.0, b->rng);
  b->id_limit = e->vocab;
  *out = *in;
  out->dim[out->ndim++] = e->dim;
  return e;
}

/* The index of element i of a tensor of shape `s`, "(b, t)", in buf. */
static const char *position_text(const lunet_shape *s, int64_t i, char *buf) {
  lunet_shape pos = {s->ndim, {0}};
  for (int k = s->ndim - 1; k >= 0; k--) {
    pos.dim[k] = (int32_t)(i % s->dim[k]);
    i /= s->dim[k];
  }
  return lunet_shape_text(&pos, buf);
}

/* 0 when every id of `in` lies in [0, vocab); else an error naming the
** first one outside and its position. */
static int check_ids(const embedding *e, const lunet_tensor *in) {
  if (in->dtype != LUNET_I32) {
    host->error("embedding: input has dtype %d, expected int32 token ids (%d)", (int)in->dtype,
                LUNET_I32);
    return -1;
  }
  int64_t n = lunet_numel(&in->shape);
  for (int64_t i = 0; i < n; i++) {
    if (in->i32[i] >= 0 && in->i32[i] < e->vocab) continue;
    char buf[LUNET_SHAPE_TEXT];
    host->error("embedding: id %d at position %s (batch index first) is out of range, "
                "expected 0 <= id < vocab = %d", (int)in->i32[i],
                position_text(&in->shape, i, buf), e->vocab);
    return -1;
  }
  return 0;
}

/* The arrays of one forward, for host->parallel_for over rows. */
typedef struct gather {
  const int32_t *ids;
  const float *w;
  float *y;
  int dim;
} gather;

/* y[i, :] = W[id[i], :]    rows [lo, hi) */
static void gather_range(void *ctx, int64_t lo, int64_t hi) {
  const gather *g = ctx;
  for (int64_t i = lo; i < hi; i++)
    memcpy(g->y + i * g->dim, g->w + (int64_t)g->ids[i] * g->dim, sizeof(float) * g->dim);
}

#define GRAIN (1 << 15) /* floats per thread at least: waking one costs ~10 us */

/* y[b, t, :] = W[id[b, t], :]    (B, T...) ids -> (B, T..., dim) */
static int embedding_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                             const lunet_ctx *ctx) {
  embedding *e = self;
  (void)ctx;
  if (check_ids(e, in)) return -1;
  gather g = {in->i32, e->w.f32, out->f32, e->dim};
  host->parallel_for(lunet_numel(&in->shape), GRAIN / e->dim + 1, gather_range, &g);
  return 0;
}

/* dW = 0; dW[id[b, t], :] += dy[b, t, :] in order of (b, t)    (B, T..., dim) -> dW */
static int embedding_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                              const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  embedding *e = self;
  int64_t n = lunet_numel(&in->shape);
  float *dw = e->dw.f32;
  (void)out, (void)din, (void)ctx;
  memset(dw, 0, sizeof(float) * (size_t)e->vocab * (size_t)e->dim);
  for (int64_t i = 0; i < n; i++) {
    const float *g = dout->f32 + i * e->dim;
    float *row = dw + (int64_t)in->i32[i] * e->dim;
    for (int j = 0; j < e->dim; j++) row[j] += g[j];
  }
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU (embedding.cu). The ids there are not read back to
** check them: a bad id gives a row of NaN instead (see the kernel). */
int embedding_forward_launch(const int32_t *ids, const float *w, float *y, int64_t n, int dim, int vocab);
int embedding_backward_launch(const int32_t *ids, const float *dy, float *dw, int64_t n, int dim, int vocab);

static int embedding_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                  const lunet_ctx *ctx) {
  embedding *e = self;
  (void)ctx;
  if (in->dtype != LUNET_I32) {
    host->error("embedding: input has dtype %d, expected int32 token ids (%d)", (int)in->dtype, LUNET_I32);
    return -1;
  }
  return lunet_cuda_check("embedding", embedding_forward_launch(in->i32, e->w.f32, out->f32,
                                                                lunet_numel(&in->shape), e->dim, e->vocab));
}

static int embedding_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                   const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  embedding *e = self;
  (void)out, (void)din, (void)ctx;
  return lunet_cuda_check("embedding", embedding_backward_launch(in->i32, dout->f32, e->dw.f32,
                                                                 lunet_numel(&in->shape), e->dim, e->vocab));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .flags = LUNET_TAKES_IDS,
  .create = embedding_create,
  .destroy = embedding_destroy,
  .forward = {[LUNET_CPU] = embedding_forward LUNET_ON_CUDA(embedding_forward_cuda)},
  .backward = {[LUNET_CPU] = embedding_backward LUNET_ON_CUDA(embedding_backward_cuda)},
  .check_input = {{1, {5}}},
};

LUNET_LAYER_PLUGIN(api, "embedding", "2.0.0",
                   "token embedding y = W[id]: int32 ids -> vectors (dim), as torch.nn.Embedding",
                   LUNET_PARAMS(params))
