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
  float *a_gpu;  /* (max_batch, T): the weights on the GPU, or NULL */
  int max_batch; /* samples a_gpu holds */
} mean_pool;

static void mean_pool_destroy(void *self) {
  mean_pool *m = self;
  if (!m) return;
  host->free(m->a);
  host->free(m->ds);
  lunet_free_on(LUNET_CUDA, m->a_gpu);
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

/* The GPU's weights for max_batch samples; the CPU's are create()'s. */
static int mean_pool_reserve(void *self, int max_batch, int device) {
  mean_pool *m = self;
  if (device != LUNET_CUDA || max_batch <= m->max_batch) return 0;
  lunet_free_on(LUNET_CUDA, m->a_gpu);
  m->max_batch = 0;
  if (!(m->a_gpu = lunet_alloc_floats_on(LUNET_CUDA, (int64_t)max_batch * m->T))) return -1;
  m->max_batch = max_batch;
  return 0;
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
/* The same on the GPU (mean_pool.cu: pooling.cuh's kernels). */
int pool_softmax_launch(const float *score, const float *mask, float *a, int B, int T);
int pool_sum_launch(const float *a, const float *x, float *y, int B, int T, int E);
int pool_backward_launch(const float *a, const float *x, const float *y, const float *dy, float *ds,
                         float *dx, int B, int T, int E);

static int mean_pool_fits(const mean_pool *m, int B) {
  if (B <= m->max_batch) return 0;
  host->error("mean_pool: batch of %d samples, expected at most %d as given to reserve()", B, m->max_batch);
  return -1;
}

/* a = softmax(mask), y = sum_t a_t x_t    (B, T, E), (B, T) -> (B, E) */
static int mean_pool_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                  const lunet_ctx *ctx) {
  mean_pool *m = self;
  int B = in[0].shape.dim[0];
  (void)ctx;
  return mean_pool_fits(m, B) ||
                 lunet_cuda_check("mean_pool", pool_softmax_launch(NULL, m->masked ? in[1].f32 : NULL, m->a_gpu, B, m->T)) ||
                 lunet_cuda_check("mean_pool", pool_sum_launch(m->a_gpu, in[0].f32, out->f32, B, m->T, m->E))
             ? -1
             : 0;
}

/* dx_t = a_t dy, dmask_t = a_t dy . (x_t - y)    (B, E) -> (B, T, E), (B, T) */
static int mean_pool_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                   const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  mean_pool *m = self;
  int B = in[0].shape.dim[0];
  (void)ctx;
  if (!din) return 0;
  return mean_pool_fits(m, B) ||
         lunet_cuda_check("mean_pool", pool_softmax_launch(NULL, m->masked ? in[1].f32 : NULL, m->a_gpu, B, m->T)) ||
         lunet_cuda_check("mean_pool", pool_backward_launch(m->a_gpu, in[0].f32, out->f32, dout->f32,
                                                            m->masked ? din[1].f32 : NULL, din[0].f32, B, m->T,
                                                            m->E))
             ? -1
             : 0;
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = 2,
  .flags = LUNET_MASK_LAST,
  .create = mean_pool_create,
  .destroy = mean_pool_destroy,
  .reserve = mean_pool_reserve,
  .forward = {[LUNET_CPU] = mean_pool_forward LUNET_ON_CUDA(mean_pool_forward_cuda)},
  .backward = {[LUNET_CPU] = mean_pool_backward LUNET_ON_CUDA(mean_pool_backward_cuda)},
  .check_input = {{2, {4, 6}}, {1, {4}}},
};

LUNET_LAYER_PLUGIN(api, "mean_pool", "2.2.0",
                   "mean over positions, (T, E) -> (E), skipping those a key-padding mask hides",
                   LUNET_NO_PARAMS)
