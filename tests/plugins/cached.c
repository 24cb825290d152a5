/*
** cached.c -- a test layer that breaks the one rule of host-owned
** parameters: it keeps the weight pointer create() saw.
**
** y = x * w elementwise, w (n) trained. create() stores w.f32 in `stale`,
** and forward reads the weight through it; backward is right and goes
** through the tensors. The host gathers parameters into flat buffers after
** create() and frees the memory create() saw, so forward reads freed memory
** and ignores the values the host perturbs or an optimizer updates.
** `lunet check` must fail it.
*/
#include <lunet/helpers.h>

typedef struct cached {
  int64_t n;          /* elements per sample */
  lunet_tensor w, dw; /* (n) */
  const float *stale; /* WRONG on purpose: w.f32 as create() saw it */
} cached;

static void cached_destroy(void *self) { host->free(self); }

static void *cached_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                           lunet_build *b) {
  (void)p;
  cached *c = host->alloc(sizeof *c);
  if (!c) return NULL;
  c->n = lunet_numel(in);
  if (b->param(b, "weight", &c->w, &c->dw, &(lunet_shape){1, {(int32_t)c->n}})) {
    cached_destroy(c);
    return NULL;
  }
  for (int64_t i = 0; i < c->n; i++) c->w.f32[i] = (float)(1.0 + 0.5 * host->rng_normal(b->rng));
  c->stale = c->w.f32;
  *out = *in;
  return c;
}

/* y = x * w, w read through the stale pointer    (B, n) -> (B, n) */
static int cached_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                          const lunet_ctx *ctx) {
  cached *c = self;
  (void)ctx;
  for (int64_t i = 0; i < lunet_numel(&in->shape); i++)
    out->f32[i] = in->f32[i] * c->stale[i % c->n];
  return 0;
}

/* dw = sum over the batch of dy * x; dx = dy * w    (B, n) -> dw, (B, n) */
static int cached_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                           const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  cached *c = self;
  (void)out, (void)ctx;
  memset(c->dw.f32, 0, sizeof(float) * (size_t)c->n);
  for (int64_t i = 0; i < lunet_numel(&in->shape); i++) {
    c->dw.f32[i % c->n] += dout->f32[i] * in->f32[i];
    if (din) din->f32[i] = dout->f32[i] * c->w.f32[i % c->n];
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = cached_create,
  .destroy = cached_destroy,
  .forward = {[LUNET_CPU] = cached_forward},
  .backward = {[LUNET_CPU] = cached_backward},
};

LUNET_LAYER_PLUGIN(api, "cached", "2.0.0",
                   "test layer: y = x * w with w read through a pointer kept from create()",
                   LUNET_NO_PARAMS)
