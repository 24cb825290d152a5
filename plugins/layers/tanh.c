/*
** tanh.c -- the hyperbolic tangent, y = tanh(x), elementwise.
**
** No parameters; the output has the shape of the input. Kernels see every
** tensor as (B, n), n = elements per sample. Backward needs only the saved
** output, since tanh'(x) = 1 - y^2.
*/
#include <math.h>

#include <lunet/plugin.h>

static const lunet_host *host;

typedef struct tanh_layer {
  int64_t n; /* elements per sample */
} tanh_layer;

static void *tanh_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                         lunet_rng *rng) {
  tanh_layer *t = host->alloc(sizeof *t);
  (void)p;
  (void)rng;
  if (!t) return NULL;
  t->n = lunet_numel(in);
  *out = *in;
  return t;
}

static void tanh_destroy(void *self) { host->free(self); }

static int tanh_parameters(void *self, lunet_param *out, int cap) {
  (void)self;
  (void)out;
  (void)cap;
  return 0;
}

/* y = tanh(x)    (B, n) -> (B, n) */
static int tanh_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                        const lunet_ctx *ctx) {
  tanh_layer *t = self;
  int64_t n = in->shape.dim[0] * t->n;
  (void)ctx;
  const float *restrict x = in->data;
  float *restrict y = out->data;
  for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
  return 0;
}

/* dx = dy * (1 - y^2)    (B, n) -> (B, n) */
static int tanh_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                         const lunet_tensor *dout, lunet_tensor *din) {
  tanh_layer *t = self;
  int64_t n = in->shape.dim[0] * t->n;
  if (!din) return 0;
  const float *restrict y = out->data, *restrict dy = dout->data;
  float *restrict dx = din->data;
  for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = tanh_create,
  .destroy = tanh_destroy,
  .parameters = tanh_parameters,
  .forward = {[LUNET_CPU] = tanh_forward},
  .backward = {[LUNET_CPU] = tanh_backward},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "tanh",
  .version = "1.0.0",
  .summary = "hyperbolic tangent y = tanh(x), elementwise",
  .params = NULL,
  .n_params = 0,
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
