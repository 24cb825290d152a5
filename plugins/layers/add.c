/*
** add.c -- the sum of 2 to 8 inputs, y = x_0 + x_1 + ... + x_{k-1}, elementwise.
**
** A graph node with several inputs (n_inputs = -1), such as the join of a
** residual block, y = x + body(x). Every input must have the same number
** of elements per sample; the output takes the first input's shape, and
** kernels see every tensor as (B, n). The sum runs in input order, left to
** right, in float: ((x_0 + x_1) + x_2) + ... Backward hands dy unchanged to
** every input whose gradient is wanted.
*/
#include <lunet/helpers.h>

typedef struct add {
  int64_t n; /* elements per sample */
  int k;     /* inputs */
} add;

static void add_destroy(void *self) { host->free(self); }

/* 0 when every input has as many elements per sample as input 0; else an
** error naming both shapes. */
static int check_shapes(const lunet_shape *in, int k) {
  for (int i = 1; i < k; i++) {
    if (lunet_numel(&in[i]) == lunet_numel(&in[0])) continue;
    char a[LUNET_SHAPE_TEXT], b[LUNET_SHAPE_TEXT];
    host->error("add: input %d has shape %s (%lld elements per sample), input 0 has %s "
                "(%lld); expected inputs with the same number of elements", i,
                lunet_shape_text(&in[i], a), (long long)lunet_numel(&in[i]),
                lunet_shape_text(&in[0], b), (long long)lunet_numel(&in[0]));
    return -1;
  }
  return 0;
}

static void *add_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                        lunet_build *b) {
  (void)p;
  if (b->n_inputs < 2 || b->n_inputs > LUNET_MAX_INPUTS) {
    host->error("add: %d inputs, expected 2 to %d", b->n_inputs, LUNET_MAX_INPUTS);
    return NULL;
  }
  if (check_shapes(in, b->n_inputs)) return NULL;
  add *a = host->alloc(sizeof *a);
  if (!a) return NULL;
  a->n = lunet_numel(&in[0]);
  a->k = b->n_inputs;
  *out = in[0];
  return a;
}

/* The arrays of one call, for host->parallel_for over elements. */
typedef struct arrays {
  const float *x[LUNET_MAX_INPUTS]; /* forward: the inputs */
  float *y;                         /* forward: the output */
  const float *dy;                  /* backward: dL/dy */
  float *dx[LUNET_MAX_INPUTS];      /* backward: dL/dx_i, NULL when not wanted */
  int k;                            /* inputs */
} arrays;

#define GRAIN (1 << 15) /* elements per thread at least: waking one costs ~10 us */

/* y = a + b    elements [lo, hi) */
static void sum2(const float *restrict a, const float *restrict b, float *restrict y, int64_t lo,
                 int64_t hi) {
  for (int64_t i = lo; i < hi; i++) y[i] = a[i] + b[i];
}

/* y = y + x    elements [lo, hi) */
static void accumulate(const float *restrict x, float *restrict y, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; i++) y[i] += x[i];
}

/* y = x_0 + x_1 + ... + x_{k-1}, left to right    k x (B, n) -> (B, n) */
static void forward_range(void *ctx, int64_t lo, int64_t hi) {
  const arrays *a = ctx;
  sum2(a->x[0], a->x[1], a->y, lo, hi);
  for (int i = 2; i < a->k; i++) accumulate(a->x[i], a->y, lo, hi);
}

/* dx_i = dy for every wanted input    (B, n) -> k x (B, n) */
static void backward_range(void *ctx, int64_t lo, int64_t hi) {
  const arrays *a = ctx;
  for (int i = 0; i < a->k; i++)
    if (a->dx[i]) memcpy(a->dx[i] + lo, a->dy + lo, sizeof(float) * (size_t)(hi - lo));
}

static int add_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                       const lunet_ctx *ctx) {
  add *s = self;
  arrays a = {.y = out->f32, .k = s->k};
  (void)ctx;
  for (int i = 0; i < s->k; i++) a.x[i] = in[i].f32;
  host->parallel_for(in[0].shape.dim[0] * s->n, GRAIN, forward_range, &a);
  return 0;
}

static int add_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                        const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  add *s = self;
  arrays a = {.dy = dout->f32, .k = s->k};
  (void)out, (void)ctx;
  if (!din) return 0;
  for (int i = 0; i < s->k; i++) a.dx[i] = din[i].f32;
  host->parallel_for(in[0].shape.dim[0] * s->n, GRAIN, backward_range, &a);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU: the sum by the kernel of add.cu, the gradient as
** copies through the device's services. */
int add_forward_launch(const float *const *x, int k, float *y, int64_t n_all);

static int add_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                            const lunet_ctx *ctx) {
  add *s = self;
  const float *x[LUNET_MAX_INPUTS];
  (void)ctx;
  for (int i = 0; i < s->k; i++) x[i] = in[i].f32;
  return lunet_cuda_check("add", add_forward_launch(x, s->k, out->f32, in[0].shape.dim[0] * s->n));
}

static int add_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                             const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  add *s = self;
  size_t bytes = sizeof(float) * (size_t)(in[0].shape.dim[0] * s->n);
  (void)out, (void)ctx;
  for (int i = 0; din && i < s->k; i++)
    if (din[i].data && host->device[LUNET_CUDA]->copy(din[i].f32, dout->f32, bytes, LUNET_COPY_ON_DEVICE))
      return -1;
  return 0;
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = -1,
  .create = add_create,
  .destroy = add_destroy,
  .forward = {[LUNET_CPU] = add_forward LUNET_ON_CUDA(add_forward_cuda)},
  .backward = {[LUNET_CPU] = add_backward LUNET_ON_CUDA(add_backward_cuda)},
  .check_input = {{2, {2, 3}}, {2, {2, 3}}, {1, {6}}},
};

LUNET_LAYER_PLUGIN(api, "add", "2.0.0",
                   "sum of 2 to 8 inputs y = x_0 + x_1 + ..., elementwise, left to right",
                   LUNET_NO_PARAMS)
