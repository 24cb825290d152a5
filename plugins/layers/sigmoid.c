/*
** sigmoid.c -- the logistic function, y = 1 / (1 + exp(-x)), elementwise.
**
** No parameters; the output has the shape of the input. Kernels see every
** tensor as (B, n), n = elements per sample. Backward needs only the saved
** output, since sigmoid'(x) = y (1 - y). For x below about -88, expf(-x)
** overflows to +inf and y becomes exactly 0, which is the right limit.
*/
#include <math.h>

#include <lunet/plugin.h>

static const lunet_host *host;

typedef struct sigmoid {
  int64_t n; /* elements per sample */
} sigmoid;

static void *sigmoid_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                            lunet_rng *rng) {
  sigmoid *s = host->alloc(sizeof *s);
  (void)p;
  (void)rng;
  if (!s) return NULL;
  s->n = lunet_numel(in);
  *out = *in;
  return s;
}

static void sigmoid_destroy(void *self) { host->free(self); }

static int sigmoid_parameters(void *self, lunet_param *out, int cap) {
  (void)self;
  (void)out;
  (void)cap;
  return 0;
}

/* y = 1 / (1 + exp(-x))    (B, n) -> (B, n) */
static int sigmoid_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                           const lunet_ctx *ctx) {
  sigmoid *s = self;
  int64_t n = in->shape.dim[0] * s->n;
  (void)ctx;
  const float *restrict x = in->data;
  float *restrict y = out->data;
  for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
  return 0;
}

/* dx = dy * y (1 - y)    (B, n) -> (B, n) */
static int sigmoid_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                            const lunet_tensor *dout, lunet_tensor *din) {
  sigmoid *s = self;
  int64_t n = in->shape.dim[0] * s->n;
  if (!din) return 0;
  const float *restrict y = out->data, *restrict dy = dout->data;
  float *restrict dx = din->data;
  for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = sigmoid_create,
  .destroy = sigmoid_destroy,
  .parameters = sigmoid_parameters,
  .forward = {[LUNET_CPU] = sigmoid_forward},
  .backward = {[LUNET_CPU] = sigmoid_backward},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "sigmoid",
  .version = "1.0.0",
  .summary = "logistic function y = 1 / (1 + exp(-x)), elementwise",
  .params = NULL,
  .n_params = 0,
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
