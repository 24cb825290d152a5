/*
** elementwise.h -- what the elementwise activation layers (sigmoid, tanh,
** leaky_relu, elu, swish) share, so that each file holds only its math.
**
** Such a layer maps every element on its own, y = f(x): the output has the
** shape of the input, and the kernels see every tensor as (B, n), n =
** elements per sample. A layer file includes this header, declares its
** parameters (if any: numbers, handed to its math as floats, c[P_...] in
** declaration order) and defines the two functions of one element below;
** it ends with
**
**     ELEMENTWISE_PLUGIN("elu", "2.0.0", "summary", LUNET_PARAMS(params))
**
** (LUNET_NO_PARAMS for none), which makes create, the function table and
** the descriptor. The loops here run on ranges of elements that
** host->parallel_for hands to the threads, and inline the two functions;
** the restrict pointers let the compiler vectorize them (without them it
** reloads the data pointers after every store). With CUDA, the layer's .cu
** (elementwise.cuh) gives the same two functions to two kernels.
*/
#ifndef LUNET_ELEMENTWISE_H
#define LUNET_ELEMENTWISE_H

#include <lunet/helpers.h>

/* y = f(x), the layer's activation of one element. */
static inline float activation(const float *c, float x);

/* dx = dy f'(x), from the input x, the output y = f(x) or both (the load
** of the one it ignores is optimised away). */
static inline float derivative(const float *c, float x, float y, float dy);

#define ELEMENTWISE_MAX_PARAMS 4 /* parameters a layer may have */
#define ELEMENTWISE_GRAIN (1 << 15) /* elements per thread at least: waking one costs ~10 us */

typedef struct elementwise {
  int64_t n;                       /* elements per sample */
  float c[ELEMENTWISE_MAX_PARAMS]; /* the parameters, in declaration order */
} elementwise;

/* The arrays of one call. */
typedef struct elementwise_arrays {
  const float *c;  /* the layer's parameters */
  const float *x;  /* the input */
  const float *y;  /* backward: the output */
  const float *dy; /* backward: dL/dy */
  float *dst;      /* forward: y; backward: dx */
} elementwise_arrays;

/* An instance for per-sample shape `in` with the n_params parameters p. */
static void *elementwise_new(const lunet_value *p, int n_params, const lunet_shape *in,
                             lunet_shape *out) {
  elementwise *e = host->alloc(sizeof *e);
  if (!e) return NULL;
  e->n = lunet_numel(in);
  for (int i = 0; i < n_params; i++) e->c[i] = (float)p[i].num;
  *out = *in;
  return e;
}

static void elementwise_destroy(void *self) { host->free(self); }

/* y = f(x)    (B, n) -> (B, n) */
static void elementwise_forward_loop(const float *restrict c, const float *restrict x,
                                     float *restrict y, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; i++) y[i] = activation(c, x[i]);
}

/* dx = dy f'(x)    (B, n) -> (B, n) */
static void elementwise_backward_loop(const float *restrict c, const float *restrict x,
                                      const float *restrict y, const float *restrict dy,
                                      float *restrict dx, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; i++) dx[i] = derivative(c, x[i], y[i], dy[i]);
}

/* The loops get the parameters in a local array, copied element by element:
** then a parameter read on one side of a ?: only (leaky_relu's slope) is
** still loaded once, before the loop, and the loop vectorizes (GCC 12 does
** not hoist such a read from the layer's memory, nor from a memcpy'd copy). */
static void elementwise_forward_range(void *ctx, int64_t lo, int64_t hi) {
  const elementwise_arrays *a = ctx;
  float c[ELEMENTWISE_MAX_PARAMS];
  for (int j = 0; j < ELEMENTWISE_MAX_PARAMS; j++) c[j] = a->c[j];
  elementwise_forward_loop(c, a->x, a->dst, lo, hi);
}

static void elementwise_backward_range(void *ctx, int64_t lo, int64_t hi) {
  const elementwise_arrays *a = ctx;
  float c[ELEMENTWISE_MAX_PARAMS];
  for (int j = 0; j < ELEMENTWISE_MAX_PARAMS; j++) c[j] = a->c[j];
  elementwise_backward_loop(c, a->x, a->y, a->dy, a->dst, lo, hi);
}

static int elementwise_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                               const lunet_ctx *ctx) {
  elementwise *e = self;
  elementwise_arrays a = {e->c, in->f32, NULL, NULL, out->f32};
  (void)ctx;
  host->parallel_for(in->shape.dim[0] * e->n, ELEMENTWISE_GRAIN, elementwise_forward_range, &a);
  return 0;
}

static int elementwise_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  elementwise *e = self;
  (void)ctx;
  if (!din) return 0;
  elementwise_arrays a = {e->c, in->f32, out->f32, dout->f32, din->f32};
  host->parallel_for(in->shape.dim[0] * e->n, ELEMENTWISE_GRAIN, elementwise_backward_range, &a);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The CUDA entries: the same loops as kernels (elementwise.cuh, included
** by the layer's .cu). */
int elementwise_forward_launch(const float *c, const float *x, float *y, int64_t n_all);
int elementwise_backward_launch(const float *c, const float *x, const float *y, const float *dy,
                                float *dx, int64_t n_all);

static int elementwise_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                    const lunet_ctx *ctx) {
  elementwise *e = self;
  (void)ctx;
  return lunet_cuda_check("activation", elementwise_forward_launch(e->c, in->f32, out->f32,
                                                                   in->shape.dim[0] * e->n));
}

static int elementwise_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                     const lunet_tensor *dout, lunet_tensor *din,
                                     const lunet_ctx *ctx) {
  elementwise *e = self;
  (void)ctx;
  if (!din) return 0;
  return lunet_cuda_check("activation", elementwise_backward_launch(e->c, in->f32, out->f32, dout->f32,
                                                                    din->f32, in->shape.dim[0] * e->n));
}
#endif

/* The parameter count of LUNET_PARAMS(decls) or LUNET_NO_PARAMS. */
#define ELEMENTWISE_COUNT_(decls, count) (count)

/* create, the function table and the descriptor of an elementwise layer;
** the last argument is LUNET_PARAMS(decls) or LUNET_NO_PARAMS. */
#define ELEMENTWISE_PLUGIN(NAME, VERSION, SUMMARY, ...)                                       \
  _Static_assert(ELEMENTWISE_COUNT_(__VA_ARGS__) <= ELEMENTWISE_MAX_PARAMS,                   \
                 "more parameters than elementwise.h holds");                                 \
  static void *elementwise_create(const lunet_value *p, const lunet_shape *in,                \
                                  lunet_shape *out, lunet_build *b) {                         \
    (void)b;                                                                                  \
    return elementwise_new(p, ELEMENTWISE_COUNT_(__VA_ARGS__), in, out);                      \
  }                                                                                           \
  static const lunet_layer_api elementwise_api = {                                            \
    .size = sizeof(lunet_layer_api),                                                          \
    .create = elementwise_create,                                                             \
    .destroy = elementwise_destroy,                                                           \
    .forward = {[LUNET_CPU] = elementwise_forward LUNET_ON_CUDA(elementwise_forward_cuda)},    \
    .backward = {[LUNET_CPU] = elementwise_backward LUNET_ON_CUDA(elementwise_backward_cuda)}, \
    .check_input = {{2, {2, 3}}},                                                             \
  };                                                                                          \
  LUNET_LAYER_PLUGIN(elementwise_api, NAME, VERSION, SUMMARY, __VA_ARGS__)

#endif /* LUNET_ELEMENTWISE_H */
