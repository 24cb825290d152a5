/*
** dense.c -- the fully connected layer, y = x W^T + b.
**
** The template for a layer plugin: declare parameters, build the instance in
** create(), and write forward/backward as GEMMs through the host. Any input
** shape is flattened to (B, in); the output is (B, out).
*/
#include <math.h>
#include <string.h>

#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_OUT, P_INIT, P_STD, P_BIAS };

static const lunet_param_decl params[] = {
  [P_OUT] = {"out", LUNET_INT, 8, 1, 1 << 24, NULL, NULL, "number of output units", LUNET_REQUIRED},
  [P_INIT] = {"init", LUNET_STRING, 0, 0, 0, "he", "he|xavier|normal",
              "weight init: he N(0,2/in), xavier U(+-sqrt(6/(in+out))), normal N(0,std^2)", 0},
  [P_STD] = {"std", LUNET_NUMBER, 0.01, 0, 1e6, NULL, NULL, "standard deviation for init=normal", 0},
  [P_BIAS] = {"bias", LUNET_BOOL, 1, 0, 1, NULL, NULL, "add a learned bias", 0},
};

typedef struct dense {
  int in, out;
  lunet_tensor w, dw; /* (out, in) */
  lunet_tensor b, db; /* (out) */
  int has_bias;
} dense;

static int alloc_tensor(lunet_tensor *t, int d0, int d1) {
  t->shape.ndim = d1 ? 2 : 1;
  t->shape.dim[0] = d0;
  t->shape.dim[1] = d1;
  t->device = LUNET_CPU;
  t->data = host->alloc(sizeof(float) * (size_t)d0 * (size_t)(d1 ? d1 : 1));
  return t->data != NULL;
}

static void dense_destroy(void *self) {
  dense *d = self;
  if (!d) return;
  host->free(d->w.data);
  host->free(d->dw.data);
  host->free(d->b.data);
  host->free(d->db.data);
  host->free(d);
}

static void init_weights(dense *d, const char *scheme, double std, lunet_rng *rng) {
  int64_t n = (int64_t)d->out * d->in;
  if (strcmp(scheme, "xavier") == 0) {
    double a = sqrt(6.0 / (d->in + d->out));
    for (int64_t i = 0; i < n; i++) d->w.data[i] = (float)(a * (2 * host->rng_uniform(rng) - 1));
    return;
  }
  if (strcmp(scheme, "he") == 0) std = sqrt(2.0 / d->in);
  for (int64_t i = 0; i < n; i++) d->w.data[i] = (float)(std * host->rng_normal(rng));
}

static void *dense_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                          lunet_rng *rng) {
  dense *d = host->alloc(sizeof *d);
  if (!d) return NULL;
  d->in = (int)lunet_numel(in);
  d->out = (int)p[P_OUT].num;
  d->has_bias = p[P_BIAS].num != 0;
  if (!alloc_tensor(&d->w, d->out, d->in) || !alloc_tensor(&d->dw, d->out, d->in) ||
      !alloc_tensor(&d->b, d->out, 0) || !alloc_tensor(&d->db, d->out, 0)) {
    dense_destroy(d);
    return NULL;
  }
  init_weights(d, p[P_INIT].str, p[P_STD].num, rng);
  out->ndim = 1;
  out->dim[0] = d->out;
  return d;
}

static int dense_parameters(void *self, lunet_param *out, int cap) {
  dense *d = self;
  lunet_param all[2] = {{"weight", &d->w, &d->dw}, {"bias", &d->b, &d->db}};
  int n = d->has_bias ? 2 : 1;
  for (int i = 0; i < n && i < cap; i++) out[i] = all[i];
  return n;
}

/* y = x W^T + b    (B, in) -> (B, out) */
static int dense_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                         const lunet_ctx *ctx) {
  dense *d = self;
  int B = in->shape.dim[0];
  (void)ctx;
  if (d->has_bias) {
    for (int i = 0; i < B; i++) memcpy(out->data + (size_t)i * d->out, d->b.data, sizeof(float) * d->out);
  }
  host->gemm(0, 1, B, d->out, d->in, 1.0f, in->data, d->in, d->w.data, d->in,
             d->has_bias ? 1.0f : 0.0f, out->data, d->out);
  return 0;
}

/* dW = dy^T x,  db = sum_i dy_i,  dx = dy W    (B, out) -> (B, in) */
static int dense_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                          const lunet_tensor *dout, lunet_tensor *din) {
  dense *d = self;
  int B = in->shape.dim[0];
  (void)out;
  host->gemm(1, 0, d->out, d->in, B, 1.0f, dout->data, d->out, in->data, d->in, 0.0f,
             d->dw.data, d->in);
  if (d->has_bias) {
    memset(d->db.data, 0, sizeof(float) * d->out);
    for (int i = 0; i < B; i++) {
      const float *g = dout->data + (size_t)i * d->out;
      for (int j = 0; j < d->out; j++) d->db.data[j] += g[j];
    }
  }
  if (din)
    host->gemm(0, 0, B, d->in, d->out, 1.0f, dout->data, d->out, d->w.data, d->in, 0.0f,
               din->data, d->in);
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = dense_create,
  .destroy = dense_destroy,
  .parameters = dense_parameters,
  .forward = {[LUNET_CPU] = dense_forward},
  .backward = {[LUNET_CPU] = dense_backward},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "dense",
  .version = "1.0.0",
  .summary = "fully connected layer y = x W^T + b",
  .params = params,
  .n_params = sizeof params / sizeof params[0],
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
