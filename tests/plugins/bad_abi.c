/*
** bad_abi.c -- a test plugin built for a future, incompatible ABI.
**
** Otherwise a valid layer (the identity), its descriptor claims
** abi_major = LUNET_ABI_MAJOR + 1. The host must refuse it at load time with
** a message naming the file and both versions, and never call into it. It
** writes its descriptor by hand: LUNET_LAYER_PLUGIN (helpers.h) would claim
** this header's ABI.
*/
#include <string.h>

#include <lunet/plugin.h>

static const lunet_host *host;

static void *ident_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                          lunet_build *b) {
  (void)p, (void)b;
  *out = *in;
  return host->alloc(1);
}

static void ident_destroy(void *self) { host->free(self); }

/* y = x */
static int ident_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                         const lunet_ctx *ctx) {
  (void)self, (void)ctx;
  memcpy(out->f32, in->f32, sizeof(float) * (size_t)lunet_numel(&in->shape));
  return 0;
}

/* dx = dy */
static int ident_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                          const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  (void)self, (void)out, (void)ctx;
  if (din) memcpy(din->f32, dout->f32, sizeof(float) * (size_t)lunet_numel(&in->shape));
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = ident_create,
  .destroy = ident_destroy,
  .forward = {[LUNET_CPU] = ident_forward},
  .backward = {[LUNET_CPU] = ident_backward},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR + 1, /* the point of this plugin */
  .abi_minor = 0,
  .kind = LUNET_LAYER,
  .name = "bad_abi",
  .version = "2.0.0",
  .summary = "test plugin: the identity, built for an incompatible ABI",
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
