/*
** swish.c -- the swish function, y = x sigmoid(beta x), elementwise.
**
** With beta = 1 this is torch.nn.functional.silu(x); beta is fixed, not
** learned. The output has the shape of the input; kernels see every tensor
** as (B, n), n = elements per sample. Backward reads the input and
** recomputes s = sigmoid(beta x): dy/dx = s + beta x s (1 - s). For beta x
** below about -88, expf overflows to +inf and s becomes exactly 0, the
** right limit (as in sigmoid.c).
*/
#include <math.h>

#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_BETA };

static const lunet_param_decl params[] = {
  [P_BETA] = {"beta", LUNET_NUMBER, 1.0, -1e3, 1e3, NULL, NULL,
              "slope inside the sigmoid; 1 gives SiLU", 0},
};

typedef struct swish {
  int64_t n;  /* elements per sample */
  float beta; /* slope inside the sigmoid */
} swish;

static void *swish_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                          lunet_rng *rng) {
  swish *s = host->alloc(sizeof *s);
  (void)rng;
  if (!s) return NULL;
  s->n = lunet_numel(in);
  s->beta = (float)p[P_BETA].num;
  *out = *in;
  return s;
}

static void swish_destroy(void *self) { host->free(self); }

static int swish_parameters(void *self, lunet_param *out, int cap) {
  (void)self;
  (void)out;
  (void)cap;
  return 0;
}

/* y = x / (1 + exp(-beta x))    (B, n) -> (B, n) */
static int swish_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                         const lunet_ctx *ctx) {
  swish *s = self;
  int64_t n = in->shape.dim[0] * s->n;
  (void)ctx;
  for (int64_t i = 0; i < n; i++) {
    float x = in->data[i];
    out->data[i] = x / (1.0f + expf(-s->beta * x));
  }
  return 0;
}

/* dx = dy * (s + beta x s (1 - s)),  s = sigmoid(beta x)    (B, n) -> (B, n) */
static int swish_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                          const lunet_tensor *dout, lunet_tensor *din) {
  swish *s = self;
  int64_t n = in->shape.dim[0] * s->n;
  (void)out;
  if (!din) return 0;
  for (int64_t i = 0; i < n; i++) {
    float x = in->data[i], sg = 1.0f / (1.0f + expf(-s->beta * x));
    din->data[i] = dout->data[i] * (sg + s->beta * x * sg * (1.0f - sg));
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = swish_create,
  .destroy = swish_destroy,
  .parameters = swish_parameters,
  .forward = {[LUNET_CPU] = swish_forward},
  .backward = {[LUNET_CPU] = swish_backward},
  .check_input = {1, {6}},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "swish",
  .version = "1.0.0",
  .summary = "swish y = x sigmoid(beta x), elementwise (beta = 1: torch silu)",
  .params = params,
  .n_params = sizeof params / sizeof params[0],
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
