/*
** bad_grad.c -- a test layer whose backward is deliberately wrong.
**
** The forward is relu, y = max(0, x); the backward returns twice the true
** gradient, dx = 2 dy [y > 0]. The gradient check must fail it: that is the
** proof that the check has teeth.
**
** It also declares a free-form string parameter `note` that does nothing:
** the checkpoint tests store awkward strings in it (spaces, newlines, '=',
** '%') to prove that any string value round-trips through a checkpoint.
*/
#include <lunet/plugin.h>

static const lunet_host *host;

static const lunet_param_decl params[] = {
  {"note", LUNET_STRING, 0, 0, 0, "", NULL, "free text, unused; stored in checkpoints", 0},
};

typedef struct bad_grad {
  int64_t n; /* elements per sample */
} bad_grad;

static void *bad_grad_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                             lunet_rng *rng) {
  bad_grad *b = host->alloc(sizeof *b);
  (void)p;
  (void)rng;
  if (!b) return NULL;
  b->n = lunet_numel(in);
  *out = *in;
  return b;
}

static void bad_grad_destroy(void *self) { host->free(self); }

static int bad_grad_parameters(void *self, lunet_param *out, int cap) {
  (void)self;
  (void)out;
  (void)cap;
  return 0;
}

/* y = max(0, x)    (B, n) -> (B, n) */
static int bad_grad_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                            const lunet_ctx *ctx) {
  bad_grad *b = self;
  int64_t n = in->shape.dim[0] * b->n;
  (void)ctx;
  for (int64_t i = 0; i < n; i++) out->data[i] = in->data[i] < 0.0f ? 0.0f : in->data[i];
  return 0;
}

/* dx = 2 dy [y > 0]: WRONG on purpose, the true gradient is dy [y > 0] */
static int bad_grad_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                             const lunet_tensor *dout, lunet_tensor *din) {
  bad_grad *b = self;
  int64_t n = in->shape.dim[0] * b->n;
  if (!din) return 0;
  for (int64_t i = 0; i < n; i++) din->data[i] = out->data[i] > 0.0f ? 2.0f * dout->data[i] : 0.0f;
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = bad_grad_create,
  .destroy = bad_grad_destroy,
  .parameters = bad_grad_parameters,
  .forward = {[LUNET_CPU] = bad_grad_forward},
  .backward = {[LUNET_CPU] = bad_grad_backward},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "bad_grad",
  .version = "1.0.0",
  .summary = "test plugin: relu with a backward twice too large",
  .params = params,
  .n_params = 1,
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
