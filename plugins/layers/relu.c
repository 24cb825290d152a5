/*
** relu.c -- the rectified linear unit, y = max(0, x), elementwise.
**
** The smallest layer plugin: no parameters, and the output has the shape of
** the input. Kernels see every tensor as (B, n), n = elements per sample.
** The derivative at exactly 0 is taken as 0 (as PyTorch does); a NaN input
** stays NaN, so a diverging run shows up instead of being hidden.
**
** It also shows how a kernel uses the host's threads: the loop body takes
** a range of elements, and host->parallel_for splits the batch into ranges.
*/
#include <lunet/helpers.h>

typedef struct relu {
  int64_t n; /* elements per sample */
} relu;

static void *relu_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                         lunet_build *b) {
  relu *r = host->alloc(sizeof *r);
  (void)p, (void)b;
  if (!r) return NULL;
  r->n = lunet_numel(in);
  *out = *in;
  return r;
}

static void relu_destroy(void *self) { host->free(self); }

/* The arrays of one call. The kernels below run on elements [lo, hi), a
** chunk of the batch that host->parallel_for hands to one thread; the
** restrict pointers let the compiler vectorize (without them it reloads
** the data pointers after every store). */
typedef struct arrays {
  const float *src;  /* forward: x; backward: y */
  const float *grad; /* backward: dy */
  float *dst;        /* forward: y; backward: dx */
} arrays;

#define GRAIN (1 << 15) /* elements per thread at least: waking one costs ~10 us */

/* y = max(0, x)    (B, n) -> (B, n) */
static void forward_range(void *ctx, int64_t lo, int64_t hi) {
  const arrays *a = ctx;
  const float *restrict x = a->src;
  float *restrict y = a->dst;
  for (int64_t i = lo; i < hi; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

/* dx = dy * [y > 0]    (B, n) -> (B, n) */
static void backward_range(void *ctx, int64_t lo, int64_t hi) {
  const arrays *a = ctx;
  const float *restrict y = a->src, *restrict dy = a->grad;
  float *restrict dx = a->dst;
  for (int64_t i = lo; i < hi; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static int relu_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                        const lunet_ctx *ctx) {
  relu *r = self;
  arrays a = {in->f32, NULL, out->f32};
  (void)ctx;
  host->parallel_for(in->shape.dim[0] * r->n, GRAIN, forward_range, &a);
  return 0;
}

static int relu_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                         const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  relu *r = self;
  (void)ctx;
  if (!din) return 0;
  arrays a = {out->f32, dout->f32, din->f32};
  host->parallel_for(in->shape.dim[0] * r->n, GRAIN, backward_range, &a);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same loops on the GPU (relu.cu). */
int relu_forward_launch(const float *x, float *y, int64_t n_all);
int relu_backward_launch(const float *y, const float *dy, float *dx, int64_t n_all);

static int relu_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                             const lunet_ctx *ctx) {
  relu *r = self;
  (void)ctx;
  return lunet_cuda_check("relu", relu_forward_launch(in->f32, out->f32, in->shape.dim[0] * r->n));
}

static int relu_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                              const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  relu *r = self;
  (void)ctx;
  if (!din) return 0;
  return lunet_cuda_check("relu", relu_backward_launch(out->f32, dout->f32, din->f32,
                                                       in->shape.dim[0] * r->n));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = relu_create,
  .destroy = relu_destroy,
  .forward = {[LUNET_CPU] = relu_forward LUNET_ON_CUDA(relu_forward_cuda)},
  .backward = {[LUNET_CPU] = relu_backward LUNET_ON_CUDA(relu_backward_cuda)},
};

LUNET_LAYER_PLUGIN(api, "relu", "2.0.0", "rectified linear unit y = max(0, x), elementwise",
                   LUNET_NO_PARAMS)
