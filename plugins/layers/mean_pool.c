/*
** mean_pool.c -- the mean over positions, (T, E) -> (E): the simplest way
** from a sequence of vectors to one vector for a classifier, as
** x.mean(dim = 1) in PyTorch.
**
** With a second input, a key-padding mask (T) (see pad_mask), the mean is
** over the positions the mask keeps: y = sum_t softmax(mask)_t x_t, which is
** the plain mean when the mask is 0 and skips positions at -1e9. The
** softmax (pooling.h, shared with attention_pool) makes the mask an input
** like any other, with a gradient. No parameters.
*/
#include "pooling.h"

typedef struct mean_pool {
  int T, E, masked;
  float *a, *ds; /* (T): the weights of one sample, and dL/dmask when it is not wanted */
} mean_pool;

static void mean_pool_destroy(void *self) {
  mean_pool *m = self;
  if (!m) return;
  host->free(m->a);
  host->free(m->ds);
  host->free(m);
}

static void *mean_pool_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                              lunet_build *b) {
  char buf[LUNET_SHAPE_TEXT];
  (void)p;
  if (lunet_expect_rank("mean_pool", &in[0], 2, "(T, E)")) return NULL;
  if (b->n_inputs == 2 && (in[1].ndim != 1 || in[1].dim[0] != in[0].dim[0])) {
    host->error("mean_pool: the mask is %s, expected (%d): one value per position", 
                lunet_shape_text(&in[1], buf), in[0].dim[0]);
    return NULL;
  }
  mean_pool *m = host->alloc(sizeof *m);
  if (!m) return NULL;
  *m = (mean_pool){.T = in[0].dim[0], .E = in[0].dim[1], .masked = b->n_inputs == 2};
  m->a = lunet_alloc_floats(m->T);
  m->ds = lunet_alloc_floats(m->T);
  if (!m->a || !m->ds) {
    mean_pool_destroy(m);
    return NULL;
  }
  *out = (lunet_shape){1, {m->E}};
  return m;
}

/* y = sum_t softmax(mask)_t x_t    (B, T, E), (B, T) -> (B, E) */
static int mean_pool_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                             const lunet_ctx *ctx) {
  mean_pool *m = self;
  (void)ctx;
  for (int s = 0; s < in[0].shape.dim[0]; s++) {
    pool_softmax(NULL, m->masked ? in[1].f32 + (int64_t)s * m->T : NULL, m->a, m->T);
    pool_sum(m->a, in[0].f32 + (int64_t)s * m->T * m->E, out->f32 + (int64_t)s * m->E, m->T, m->E);
  }
  return 0;
}

/* dx_t = a_t dy, dmask_t = a_t dy . (x_t - y)    (B, E) -> (B, T, E), (B, T) */
static int mean_pool_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                              const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  mean_pool *m = self;
  int T = m->T, E = m->E;
  (void)ctx;
  if (!din) return 0;
  float *dx = din[0].f32, *dmask = m->masked ? din[1].f32 : NULL;
  if (dx) memset(dx, 0, sizeof(float) * (size_t)lunet_numel(&in[0].shape));
  for (int s = 0; s < in[0].shape.dim[0]; s++) {
    pool_softmax(NULL, m->masked ? in[1].f32 + (int64_t)s * T : NULL, m->a, T);
    pool_backward(m->a, in[0].f32 + (int64_t)s * T * E, out->f32 + (int64_t)s * E,
                  dout->f32 + (int64_t)s * E, dmask ? dmask + (int64_t)s * T : m->ds,
                  dx ? dx + (int64_t)s * T * E : NULL, T, E);
  }
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU (mean_pool.cu): one thread per output element. */
int mean_pool_forward_launch(const float *x, const float *mask, float *y, int B, int T, int E);
int mean_pool_backward_launch(const float *x, const float *mask, const float *y, const float *dy,
                              float *dx, float *dmask, int B, int T, int E);

static int mean_pool_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                  const lunet_ctx *ctx) {
  mean_pool *m = self;
  (void)ctx;
  return lunet_cuda_check("mean_pool", mean_pool_forward_launch(in[0].f32, m->masked ? in[1].f32 : NULL,
                                                                out->f32, in[0].shape.dim[0], m->T, m->E));
}

static int mean_pool_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                   const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  mean_pool *m = self;
  (void)ctx;
  if (!din) return 0;
  return lunet_cuda_check("mean_pool",
                          mean_pool_backward_launch(in[0].f32, m->masked ? in[1].f32 : NULL, out->f32, dout->f32,
                                                    din[0].f32, m->masked ? din[1].f32 : NULL,
                                                    in[0].shape.dim[0], m->T, m->E));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = 2,
  .flags = LUNET_MASK_LAST,
  .create = mean_pool_create,
  .destroy = mean_pool_destroy,
  .forward = {[LUNET_CPU] = mean_pool_forward LUNET_ON_CUDA(mean_pool_forward_cuda)},
  .backward = {[LUNET_CPU] = mean_pool_backward LUNET_ON_CUDA(mean_pool_backward_cuda)},
  .check_input = {{2, {4, 6}}, {1, {4}}},
};

LUNET_LAYER_PLUGIN(api, "mean_pool", "2.2.0",
                   "mean over positions, (T, E) -> (E), skipping those a key-padding mask hides",
                   LUNET_NO_PARAMS)
