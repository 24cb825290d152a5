/*
** elu.c -- the exponential linear unit, y = x for x > 0, else alpha (exp(x) - 1).
**
** As torch.nn.functional.elu(x, alpha), elementwise; the output has the
** shape of the input. Kernels see every tensor as (B, n), n = elements per
** sample. expm1f keeps small negative inputs accurate. Backward reads the
** input: the derivative is 1 for x > 0 and alpha exp(x) for x <= 0 (alpha at
** exactly 0, as PyTorch).
*/
#include <math.h>

#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_ALPHA };

static const lunet_param_decl params[] = {
  [P_ALPHA] = {"alpha", LUNET_NUMBER, 1.0, 0, 1e6, NULL, NULL,
               "saturation value -alpha for large negative inputs", 0},
};

typedef struct elu {
  int64_t n;   /* elements per sample */
  float alpha; /* scale of the negative part */
} elu;

static void *elu_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                        lunet_rng *rng) {
  elu *e = host->alloc(sizeof *e);
  (void)rng;
  if (!e) return NULL;
  e->n = lunet_numel(in);
  e->alpha = (float)p[P_ALPHA].num;
  *out = *in;
  return e;
}

static void elu_destroy(void *self) { host->free(self); }

static int elu_parameters(void *self, lunet_param *out, int cap) {
  (void)self;
  (void)out;
  (void)cap;
  return 0;
}

/* y = x > 0 ? x : alpha (exp(x) - 1)    (B, n) -> (B, n) */
static int elu_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                       const lunet_ctx *ctx) {
  elu *e = self;
  int64_t n = in->shape.dim[0] * e->n;
  (void)ctx;
  for (int64_t i = 0; i < n; i++) {
    float x = in->data[i];
    out->data[i] = x > 0.0f ? x : e->alpha * expm1f(x);
  }
  return 0;
}

/* dx = dy * (x > 0 ? 1 : alpha exp(x))    (B, n) -> (B, n) */
static int elu_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                        const lunet_tensor *dout, lunet_tensor *din) {
  elu *e = self;
  int64_t n = in->shape.dim[0] * e->n;
  (void)out;
  if (!din) return 0;
  for (int64_t i = 0; i < n; i++) {
    float x = in->data[i];
    din->data[i] = x > 0.0f ? dout->data[i] : dout->data[i] * e->alpha * expf(x);
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = elu_create,
  .destroy = elu_destroy,
  .parameters = elu_parameters,
  .forward = {[LUNET_CPU] = elu_forward},
  .backward = {[LUNET_CPU] = elu_backward},
  .check_input = {1, {6}},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "elu",
  .version = "1.0.0",
  .summary = "ELU y = x > 0 ? x : alpha (exp(x) - 1), elementwise (as torch elu)",
  .params = params,
  .n_params = sizeof params / sizeof params[0],
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
