/*
** relu.c -- the rectified linear unit, y = max(0, x), elementwise.
**
** The smallest layer plugin: no parameters, and the output has the shape of
** the input. Kernels see every tensor as (B, n), n = elements per sample.
** The derivative at exactly 0 is taken as 0 (as PyTorch does); a NaN input
** stays NaN, so a diverging run shows up instead of being hidden.
*/
#include <lunet/plugin.h>

static const lunet_host *host;

typedef struct relu {
  int64_t n; /* elements per sample */
} relu;

static void *relu_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                         lunet_rng *rng) {
  relu *r = host->alloc(sizeof *r);
  (void)p;
  (void)rng;
  if (!r) return NULL;
  r->n = lunet_numel(in);
  *out = *in;
  return r;
}

static void relu_destroy(void *self) { host->free(self); }

static int relu_parameters(void *self, lunet_param *out, int cap) {
  (void)self;
  (void)out;
  (void)cap;
  return 0;
}

/* y = max(0, x)    (B, n) -> (B, n) */
static int relu_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                        const lunet_ctx *ctx) {
  relu *r = self;
  int64_t n = in->shape.dim[0] * r->n;
  const float *restrict x = in->data;
  float *restrict y = out->data;
  (void)ctx;
  for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
  return 0;
}

/* dx = dy * [y > 0]    (B, n) -> (B, n) */
static int relu_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                         const lunet_tensor *dout, lunet_tensor *din) {
  relu *r = self;
  int64_t n = in->shape.dim[0] * r->n;
  if (!din) return 0;
  /* restrict locals: without them the compiler reloads the data pointers
  ** after every store and the loop stays scalar and branchy */
  const float *restrict y = out->data, *restrict dy = dout->data;
  float *restrict dx = din->data;
  for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = relu_create,
  .destroy = relu_destroy,
  .parameters = relu_parameters,
  .forward = {[LUNET_CPU] = relu_forward},
  .backward = {[LUNET_CPU] = relu_backward},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "relu",
  .version = "1.0.0",
  .summary = "rectified linear unit y = max(0, x), elementwise",
  .params = NULL,
  .n_params = 0,
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
