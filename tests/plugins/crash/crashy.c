/*
** crashy.c -- a test layer that kills its process with SIGSEGV in forward
** when its parameter `crash` is true, or never returns from forward when
** `hang` is true (otherwise the identity), to show that a crashing plugin
** costs a sweep one row, not the sweep, and that `lunet check` reports it.
** LUNET_CRASHY_INIT in the environment makes it fail as it is loaded:
** 1 (SIGSEGV), abort or hang, to show that a command that never uses it
** goes on, and that lunet names the file.
*/
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <lunet/helpers.h>

static const lunet_param_decl params[] = {
  {"crash", LUNET_BOOL, 0, 0, 1, NULL, NULL, "raise SIGSEGV in forward", 0},
  {"hang", LUNET_BOOL, 0, 0, 1, NULL, NULL, "never return from forward", 0},
};

static void hang(void) {
  for (;;) pause();
}

__attribute__((constructor)) static void crashy_load(void) {
  const char *v = getenv("LUNET_CRASHY_INIT");
  if (!v) return;
  if (strcmp(v, "1") == 0) raise(SIGSEGV);
  if (strcmp(v, "abort") == 0) abort();
  if (strcmp(v, "hang") == 0) hang();
}

typedef struct crashy {
  int crash, hang;
  int64_t n;
} crashy;

static void *crashy_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                           lunet_build *b) {
  (void)b;
  crashy *c = host->alloc(sizeof *c);
  if (!c) return NULL;
  c->crash = p[0].num != 0;
  c->hang = p[1].num != 0;
  c->n = lunet_numel(in);
  *out = *in;
  return c;
}

static void crashy_destroy(void *self) { host->free(self); }

/* y = x, or a segmentation fault    (B, n) -> (B, n) */
static int crashy_forward(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  crashy *c = self;
  (void)ctx;
  if (c->crash) raise(SIGSEGV);
  if (c->hang) hang();
  memcpy(out->f32, in->f32, sizeof(float) * (size_t)(in->shape.dim[0] * c->n));
  return 0;
}

static int crashy_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                           const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  crashy *c = self;
  (void)out, (void)ctx;
  if (din) memcpy(din->f32, dout->f32, sizeof(float) * (size_t)(in->shape.dim[0] * c->n));
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof api, .create = crashy_create, .destroy = crashy_destroy,
  .forward = {[LUNET_CPU] = crashy_forward}, .backward = {[LUNET_CPU] = crashy_backward},
};

LUNET_LAYER_PLUGIN(api, "crashy", "2.0.0", "test layer: the identity, SIGSEGV (crash = true) or a hang (hang = true)",
                   LUNET_PARAMS(params))
