/*
** flatten.c -- reshapes each sample to one dimension, (B, d1, d2, ...) -> (B, n).
**
** No parameters. Activations are row-major and contiguous, so the data does
** not move: forward and backward are plain copies, and only the per-sample
** shape changes from {d1, d2, ...} to {n}, n = d1 * d2 * ...
*/
#include <limits.h>

#include <lunet/helpers.h>

typedef struct flatten {
  int64_t n; /* elements per sample */
} flatten;

static void *flatten_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                            lunet_build *b) {
  int64_t n = lunet_numel(in);
  flatten *f;
  (void)p, (void)b;
  if (n < 1 || n > INT_MAX) {
    host->error("flatten: input has %lld elements per sample, expected 1 to %d",
                (long long)n, INT_MAX);
    return NULL;
  }
  f = host->alloc(sizeof *f);
  if (!f) return NULL;
  f->n = n;
  out->ndim = 1;
  out->dim[0] = (int)n;
  return f;
}

static void flatten_destroy(void *self) { host->free(self); }

/* copies src to dst unless they are the same buffer */
static void copy(float *dst, const float *src, int64_t n) {
  if (dst != src) memcpy(dst, src, sizeof(float) * (size_t)n);
}

/* y = x    (B, d1, d2, ...) -> (B, n) */
static int flatten_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                           const lunet_ctx *ctx) {
  flatten *f = self;
  (void)ctx;
  copy(out->f32, in->f32, in->shape.dim[0] * f->n);
  return 0;
}

/* dx = dy    (B, n) -> (B, d1, d2, ...) */
static int flatten_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                            const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  flatten *f = self;
  (void)out, (void)ctx;
  if (din) copy(din->f32, dout->f32, in->shape.dim[0] * f->n);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same copies on the GPU, through the device's services. */
static int flatten_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                const lunet_ctx *ctx) {
  flatten *f = self;
  (void)ctx;
  return host->device[LUNET_CUDA]->copy(out->f32, in->f32, sizeof(float) * (size_t)(in->shape.dim[0] * f->n),
                                        LUNET_COPY_ON_DEVICE);
}

static int flatten_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                 const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  flatten *f = self;
  (void)out, (void)ctx;
  if (!din) return 0;
  return host->device[LUNET_CUDA]->copy(din->f32, dout->f32, sizeof(float) * (size_t)(in->shape.dim[0] * f->n),
                                        LUNET_COPY_ON_DEVICE);
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = flatten_create,
  .destroy = flatten_destroy,
  .forward = {[LUNET_CPU] = flatten_forward LUNET_ON_CUDA(flatten_forward_cuda)},
  .backward = {[LUNET_CPU] = flatten_backward LUNET_ON_CUDA(flatten_backward_cuda)},
  .check_input = {{3, {2, 3, 4}}},
};

LUNET_LAYER_PLUGIN(api, "flatten", "2.0.0",
                   "reshapes each sample to one dimension, (B, d1, d2, ...) -> (B, n)",
                   LUNET_NO_PARAMS)
