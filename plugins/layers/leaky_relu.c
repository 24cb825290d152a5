/*
** leaky_relu.c -- the leaky rectified linear unit, y = x for x > 0, else slope x.
**
** As torch.nn.functional.leaky_relu(x, negative_slope = slope), elementwise;
** the output has the shape of the input. Kernels see every tensor as (B, n),
** n = elements per sample. Backward reads the input, not the output, so any
** slope (even a negative one) works; the derivative at exactly 0 is taken as
** slope, as PyTorch does.
*/
#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_SLOPE };

static const lunet_param_decl params[] = {
  [P_SLOPE] = {"slope", LUNET_NUMBER, 0.01, -1e6, 1e6, NULL, NULL,
               "factor for x <= 0 (PyTorch's negative_slope)", 0},
};

typedef struct leaky_relu {
  int64_t n;   /* elements per sample */
  float slope; /* factor for x <= 0 */
} leaky_relu;

static void *leaky_relu_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                               lunet_rng *rng) {
  leaky_relu *r = host->alloc(sizeof *r);
  (void)rng;
  if (!r) return NULL;
  r->n = lunet_numel(in);
  r->slope = (float)p[P_SLOPE].num;
  *out = *in;
  return r;
}

static void leaky_relu_destroy(void *self) { host->free(self); }

static int leaky_relu_parameters(void *self, lunet_param *out, int cap) {
  (void)self;
  (void)out;
  (void)cap;
  return 0;
}

/* y = x > 0 ? x : slope x    (B, n) -> (B, n) */
static int leaky_relu_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                              const lunet_ctx *ctx) {
  leaky_relu *r = self;
  int64_t n = in->shape.dim[0] * r->n;
  (void)ctx;
  const float *restrict x = in->data;
  float *restrict y = out->data;
  float slope = r->slope;
  for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
  return 0;
}

/* dx = dy * (x > 0 ? 1 : slope)    (B, n) -> (B, n) */
static int leaky_relu_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                               const lunet_tensor *dout, lunet_tensor *din) {
  leaky_relu *r = self;
  int64_t n = in->shape.dim[0] * r->n;
  (void)out;
  if (!din) return 0;
  const float *restrict x = in->data, *restrict dy = dout->data;
  float *restrict dx = din->data;
  float slope = r->slope;
  for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = leaky_relu_create,
  .destroy = leaky_relu_destroy,
  .parameters = leaky_relu_parameters,
  .forward = {[LUNET_CPU] = leaky_relu_forward},
  .backward = {[LUNET_CPU] = leaky_relu_backward},
  .check_input = {1, {6}},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "leaky_relu",
  .version = "1.0.0",
  .summary = "leaky ReLU y = x > 0 ? x : slope x, elementwise (as torch leaky_relu)",
  .params = params,
  .n_params = sizeof params / sizeof params[0],
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
