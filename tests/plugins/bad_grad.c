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
#include <lunet/helpers.h>

static const lunet_param_decl params[] = {
  {"note", LUNET_STRING, 0, 0, 0, "", NULL, "free text, unused; stored in checkpoints", 0},
};

typedef struct bad_grad {
  int64_t n; /* elements per sample */
} bad_grad;

static void *bad_grad_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                             lunet_build *build) {
  bad_grad *b = host->alloc(sizeof *b);
  (void)p, (void)build;
  if (!b) return NULL;
  b->n = lunet_numel(in);
  *out = *in;
  return b;
}

static void bad_grad_destroy(void *self) { host->free(self); }

/* y = max(0, x)    (B, n) -> (B, n) */
static int bad_grad_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                            const lunet_ctx *ctx) {
  bad_grad *b = self;
  int64_t n = in->shape.dim[0] * b->n;
  (void)ctx;
  for (int64_t i = 0; i < n; i++) out->f32[i] = in->f32[i] < 0.0f ? 0.0f : in->f32[i];
  return 0;
}

/* dx = 2 dy [y > 0]: WRONG on purpose, the true gradient is dy [y > 0] */
static int bad_grad_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                             const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  bad_grad *b = self;
  int64_t n = in->shape.dim[0] * b->n;
  (void)ctx;
  if (!din) return 0;
  for (int64_t i = 0; i < n; i++) din->f32[i] = out->f32[i] > 0.0f ? 2.0f * dout->f32[i] : 0.0f;
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = bad_grad_create,
  .destroy = bad_grad_destroy,
  .forward = {[LUNET_CPU] = bad_grad_forward},
  .backward = {[LUNET_CPU] = bad_grad_backward},
};

LUNET_LAYER_PLUGIN(api, "bad_grad", "2.0.0", "test plugin: relu with a backward twice too large",
                   LUNET_PARAMS(params))
