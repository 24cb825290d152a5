/*
** maxout.c -- maxout, y_g = max_{j < k} x_{g k + j}: each group of k features -> its max.
**
** As x.flatten(1).unflatten(1, (n / k, k)).amax(2) in PyTorch (Goodfellow et
** al., 2013, without the linear pieces: put a dense layer with k times the
** units in front). A sample of any shape is treated as one vector of its n
** elements, which must be a multiple of k; the output is {n / k}. Kernels
** see the input as (B, n / k, k) and the output as (B, n / k). Backward
** finds each group's maximum again from the input (no scratch) and routes
** the gradient to it alone; among equal maxima the first wins. A NaN in a
** group makes its output NaN, so a diverging run shows up.
*/
#include <limits.h>

#include <lunet/helpers.h>

enum { P_PIECES };

static const lunet_param_decl params[] = {
  [P_PIECES] = {"pieces", LUNET_INT, 2, 1, 1 << 16, NULL, NULL,
                "k: features per group; the input size must be a multiple of k", 0},
};

typedef struct maxout {
  int64_t groups; /* outputs per sample, n / k */
  int k;          /* features per group */
} maxout;

static void *maxout_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                           lunet_build *b) {
  int64_t n = lunet_numel(in);
  int k = (int)p[P_PIECES].num;
  maxout *m;
  (void)b;
  if (k < 1 || n < 1 || n % k != 0) {
    host->error("maxout: input has %lld features, not divisible by pieces = %d; expected a "
                "multiple of %d", (long long)n, k, k);
    return NULL;
  }
  if (n / k > INT_MAX) {
    host->error("maxout: %lld outputs per sample, expected at most %d", (long long)(n / k),
                INT_MAX);
    return NULL;
  }
  m = host->alloc(sizeof *m);
  if (!m) return NULL;
  m->k = k;
  m->groups = n / k;
  out->ndim = 1;
  out->dim[0] = (int)m->groups;
  return m;
}

static void maxout_destroy(void *self) { host->free(self); }

/* index of the first maximum of x[0..k), or of the first NaN    (k) -> scalar */
static int argmax(const float *x, int k) {
  int best = 0;
  if (x[0] != x[0]) return 0;
  for (int j = 1; j < k; j++) {
    if (x[j] != x[j]) return j;
    if (x[j] > x[best]) best = j;
  }
  return best;
}

/* y_g = max_j x_{g k + j}    (B, n / k, k) -> (B, n / k) */
static int maxout_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                          const lunet_ctx *ctx) {
  maxout *m = self;
  int64_t rows = in->shape.dim[0] * m->groups;
  (void)ctx;
  for (int64_t g = 0; g < rows; g++) {
    const float *x = in->f32 + g * m->k;
    out->f32[g] = x[argmax(x, m->k)];
  }
  return 0;
}

/* dx_{g k + j} = dy_g if j is the group's argmax, else 0    (B, n / k) -> (B, n / k, k) */
static int maxout_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                           const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  maxout *m = self;
  int64_t rows = in->shape.dim[0] * m->groups;
  (void)out, (void)ctx;
  if (!din) return 0;
  for (int64_t g = 0; g < rows; g++) {
    const float *x = in->f32 + g * m->k;
    float *dx = din->f32 + g * m->k;
    int best = argmax(x, m->k);
    for (int j = 0; j < m->k; j++) dx[j] = j == best ? dout->f32[g] : 0.0f;
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = maxout_create,
  .destroy = maxout_destroy,
  .forward = {[LUNET_CPU] = maxout_forward},
  .backward = {[LUNET_CPU] = maxout_backward},
  .check_input = {{1, {6}}},
};

LUNET_LAYER_PLUGIN(api, "maxout", "2.0.0",
                   "maxout: each group of k consecutive features -> its maximum, (n) -> (n / k)",
                   LUNET_PARAMS(params))
