/*
** crashy.c -- a test layer that kills its process with SIGSEGV in forward
** when its parameter `crash` is true (otherwise the identity), to show that
** a crashing plugin costs a sweep one row, not the sweep.
*/
#include <signal.h>
#include <string.h>

#include <lunet/plugin.h>

static const lunet_host *host;

static const lunet_param_decl params[] = {
  {"crash", LUNET_BOOL, 0, 0, 1, NULL, NULL, "raise SIGSEGV in forward", 0},
};

typedef struct crashy {
  int crash;
  int64_t n;
} crashy;

static void *crashy_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out, lunet_rng *rng) {
  (void)rng;
  crashy *c = host->alloc(sizeof *c);
  if (!c) return NULL;
  c->crash = p[0].num != 0;
  c->n = lunet_numel(in);
  *out = *in;
  return c;
}

static void crashy_destroy(void *self) { host->free(self); }

static int crashy_parameters(void *self, lunet_param *out, int cap) {
  (void)self, (void)out, (void)cap;
  return 0;
}

/* y = x, or a segmentation fault    (B, n) -> (B, n) */
static int crashy_forward(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  crashy *c = self;
  (void)ctx;
  if (c->crash) raise(SIGSEGV);
  memcpy(out->data, in->data, sizeof(float) * (size_t)(in->shape.dim[0] * c->n));
  return 0;
}

static int crashy_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                           const lunet_tensor *dout, lunet_tensor *din) {
  crashy *c = self;
  (void)out;
  if (din) memcpy(din->data, dout->data, sizeof(float) * (size_t)(in->shape.dim[0] * c->n));
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof api, .create = crashy_create, .destroy = crashy_destroy, .parameters = crashy_parameters,
  .forward = {[LUNET_CPU] = crashy_forward}, .backward = {[LUNET_CPU] = crashy_backward},
};

static const lunet_plugin plugin = {
  .size = sizeof plugin, .abi_major = LUNET_ABI_MAJOR, .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER, .name = "crashy", .version = "1.0.0",
  .summary = "test layer: the identity, or SIGSEGV when crash = true",
  .params = params, .n_params = 1, .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
