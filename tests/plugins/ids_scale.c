/*
** ids_scale.c -- a test layer of two inputs, token ids and floats: y = x *
** w[id], elementwise, w (vocab) trained.
**
** Input 0 holds int32 ids (LUNET_TAKES_IDS), input 1 floats of the same
** shape; n_inputs = 2. Backward writes the gradient of input 1 and of w,
** never of the ids (din[0] has no data). A correct layer: `lunet check` must
** pass it, comparing two tensors (input 1 and w).
*/
#include <lunet/helpers.h>

enum { P_VOCAB };

static const lunet_param_decl params[] = {
  [P_VOCAB] = {"vocab", LUNET_INT, 6, 1, 1 << 20, NULL, NULL, "ids lie in [0, vocab)", 0},
};

typedef struct ids_scale {
  int vocab;
  lunet_tensor w, dw; /* (vocab) */
} ids_scale;

static void ids_scale_destroy(void *self) { host->free(self); }

static void *ids_scale_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                              lunet_build *b) {
  if (b->n_inputs != 2 || lunet_numel(&in[0]) != lunet_numel(&in[1])) {
    host->error("ids_scale: expected 2 inputs of the same size, ids and floats");
    return NULL;
  }
  ids_scale *s = host->alloc(sizeof *s);
  if (!s) return NULL;
  s->vocab = (int)p[P_VOCAB].num;
  if (b->param(b, "weight", &s->w, &s->dw, &(lunet_shape){1, {s->vocab}})) {
    ids_scale_destroy(s);
    return NULL;
  }
  lunet_init_weights(s->w.f32, s->vocab, "normal", 0, 0, 1.0, b->rng);
  b->id_limit = s->vocab;
  *out = in[1];
  return s;
}

/* y = x1 * w[x0]    (B, n) ids, (B, n) -> (B, n) */
static int ids_scale_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                             const lunet_ctx *ctx) {
  ids_scale *s = self;
  (void)ctx;
  for (int64_t i = 0; i < lunet_numel(&in[1].shape); i++) {
    int32_t id = in[0].i32[i];
    if (id < 0 || id >= s->vocab) {
      host->error("ids_scale: id %d at %lld, expected 0 <= id < %d", (int)id, (long long)i,
                  s->vocab);
      return -1;
    }
    out->f32[i] = in[1].f32[i] * s->w.f32[id];
  }
  return 0;
}

/* dw[v] = sum of dy * x1 where x0 = v; dx1 = dy * w[x0] */
static int ids_scale_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                              const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  ids_scale *s = self;
  (void)out, (void)ctx;
  memset(s->dw.f32, 0, sizeof(float) * (size_t)s->vocab);
  for (int64_t i = 0; i < lunet_numel(&in[1].shape); i++) {
    int32_t id = in[0].i32[i];
    s->dw.f32[id] += dout->f32[i] * in[1].f32[i];
    if (din && din[1].f32) din[1].f32[i] = dout->f32[i] * s->w.f32[id];
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = 2,
  .flags = LUNET_TAKES_IDS,
  .create = ids_scale_create,
  .destroy = ids_scale_destroy,
  .forward = {[LUNET_CPU] = ids_scale_forward},
  .backward = {[LUNET_CPU] = ids_scale_backward},
};

LUNET_LAYER_PLUGIN(api, "ids_scale", "2.0.0",
                   "test layer: y = x * w[id] of token ids and floats", LUNET_PARAMS(params))
