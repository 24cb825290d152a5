/*
** softmax.c -- the softmax over the features of each sample, y = exp(x) / sum exp(x).
**
** As torch.softmax(x.flatten(1), dim=1): a sample of any shape is treated as
** one vector of its n elements, and the output has the input's shape. With
** axis = "last", as torch.softmax(x, dim=-1): each position of a sample
** (..., C) on its own, n = C (a language model's next-token distribution).
** Kernels see every tensor as rows of n. The row maximum m is subtracted before
** exp(), y_j = exp(x_j - m) / sum_k exp(x_k - m), so no exp() overflows and
** the largest term is exactly 1. Backward is the full Jacobian-vector
** product from the saved output, dx_j = y_j (dy_j - sum_k dy_k y_k), which
** costs O(n) per row instead of forming the n x n Jacobian.
*/
#include <lunet/helpers.h>

enum { P_AXIS };

static const lunet_param_decl params[] = {
  [P_AXIS] = {"axis", LUNET_STRING, 0, 0, 0, "sample", "sample|last",
              "over each sample's elements, or over the last axis at each position", 0},
};

typedef struct softmax {
  int64_t n;    /* elements per row: per sample, or the last axis */
  int64_t rows; /* rows per sample */
} softmax;

static void *softmax_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                            lunet_build *b) {
  softmax *s;
  (void)b;
  if (in->ndim < 1 || lunet_numel(in) < 1) {
    host->error("softmax: input has %lld elements per sample, expected at least 1",
                (long long)lunet_numel(in));
    return NULL;
  }
  s = host->alloc(sizeof *s);
  if (!s) return NULL;
  s->n = strcmp(p[P_AXIS].str, "last") == 0 ? in->dim[in->ndim - 1] : lunet_numel(in);
  s->rows = lunet_numel(in) / s->n;
  *out = *in;
  return s;
}

static void softmax_destroy(void *self) { host->free(self); }

/* y_j = exp(x_j - m) / sum_k exp(x_k - m),  m = max_k x_k    (n) -> (n) */
static void softmax_row(const float *x, float *y, int64_t n) {
  float m = x[0];
  double sum = 0.0;
  for (int64_t j = 1; j < n; j++)
    if (x[j] > m) m = x[j];
  for (int64_t j = 0; j < n; j++) {
    y[j] = expf(x[j] - m);
    sum += y[j];
  }
  for (int64_t j = 0; j < n; j++) y[j] = (float)(y[j] / sum);
}

/* y = softmax(x) per row    (B rows, n) -> (B rows, n) */
static int softmax_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                           const lunet_ctx *ctx) {
  softmax *s = self;
  int64_t rows = in->shape.dim[0] * s->rows;
  (void)ctx;
  for (int64_t i = 0; i < rows; i++) softmax_row(in->f32 + i * s->n, out->f32 + i * s->n, s->n);
  return 0;
}

/* dx_j = y_j (dy_j - sum_k dy_k y_k)    (B rows, n) -> (B rows, n) */
static int softmax_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                            const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  softmax *s = self;
  int64_t rows = in->shape.dim[0] * s->rows;
  (void)ctx;
  if (!din) return 0;
  for (int64_t i = 0; i < rows; i++) {
    const float *y = out->f32 + i * s->n, *dy = dout->f32 + i * s->n;
    float *dx = din->f32 + i * s->n;
    double dot = 0.0;
    for (int64_t j = 0; j < s->n; j++) dot += (double)dy[j] * y[j];
    for (int64_t j = 0; j < s->n; j++) dx[j] = y[j] * (dy[j] - (float)dot);
  }
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same rows on the GPU, one block each (softmax.cu); the sums are in
** float there (a block's tree), in double here. */
int softmax_forward_launch(const float *x, float *y, int64_t rows, int64_t n);
int softmax_backward_launch(const float *y, const float *dy, float *dx, int64_t rows, int64_t n);

static int softmax_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                const lunet_ctx *ctx) {
  softmax *s = self;
  (void)ctx;
  return lunet_cuda_check("softmax", softmax_forward_launch(in->f32, out->f32, in->shape.dim[0] * s->rows, s->n));
}

static int softmax_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                 const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  softmax *s = self;
  (void)ctx;
  if (!din) return 0;
  return lunet_cuda_check("softmax", softmax_backward_launch(out->f32, dout->f32, din->f32,
                                                             in->shape.dim[0] * s->rows, s->n));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = softmax_create,
  .destroy = softmax_destroy,
  .forward = {[LUNET_CPU] = softmax_forward LUNET_ON_CUDA(softmax_forward_cuda)},
  .backward = {[LUNET_CPU] = softmax_backward LUNET_ON_CUDA(softmax_backward_cuda)},
  .check_input = {{1, {6}}},
};

LUNET_LAYER_PLUGIN(api, "softmax", "2.1.0",
                   "stable softmax over each sample, or each position's last axis (torch.softmax)",
                   LUNET_PARAMS(params))
