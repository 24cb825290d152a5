/*
** linear.c -- y = x W^T + b over the last axis, as torch.nn.Linear: the
** per-position layer of sequence models, (T, in) -> (T, out).
**
** A sample of shape (..., in) is a stack of rows of `in` features; every
** row maps to `out` features by the same weight (out, in) and bias (out),
** so a batch is one GEMM over all its B x ... rows (dense, by contrast,
** flattens the whole sample). Initialised as PyTorch's nn.Linear: weight
** and bias U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)).
*/
#include <lunet/helpers.h>

enum { P_OUT, P_BIAS };

static const lunet_param_decl params[] = {
  [P_OUT] = {"out", LUNET_INT, 4, 1, 1 << 24, NULL, NULL, "features out per position",
             LUNET_REQUIRED},
  [P_BIAS] = {"bias", LUNET_BOOL, 1, 0, 1, NULL, NULL, "add a learned bias", 0},
};

typedef struct linear {
  int in, out, has_bias;
  int64_t rows;       /* positions per sample: the product of the leading axes */
  lunet_tensor w, dw; /* (out, in) */
  lunet_tensor b, db; /* (out) */
} linear;

static void linear_destroy(void *self) { host->free(self); }

static void *linear_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                           lunet_build *b) {
  int ok = in->ndim >= 1 && lunet_numel(in) >= 1 && lunet_numel(in) <= 1 << 30;
  for (int i = 0; ok && i < in->ndim; i++) ok = in->dim[i] >= 1;
  if (!ok) {
    char buf[LUNET_SHAPE_TEXT];
    host->error("linear: expected input (..., in) with every size at least 1 and at most 2^30 "
                "elements, got %s", lunet_shape_text(in, buf));
    return NULL;
  }
  linear *l = host->alloc(sizeof *l);
  if (!l) return NULL;
  l->in = in->dim[in->ndim - 1];
  l->rows = lunet_numel(in) / l->in;
  l->out = (int)p[P_OUT].num;
  l->has_bias = p[P_BIAS].num != 0;
  if (b->param(b, "weight", &l->w, &l->dw, &(lunet_shape){2, {l->out, l->in}}) ||
      (l->has_bias && b->param(b, "bias", &l->b, &l->db, &(lunet_shape){1, {l->out}}))) {
    linear_destroy(l);
    return NULL;
  }
  double k = 1.0 / sqrt((double)l->in);
  for (int64_t i = 0; i < (int64_t)l->out * l->in; i++)
    l->w.f32[i] = (float)(k * (2.0 * host->rng_uniform(b->rng) - 1.0));
  for (int i = 0; l->has_bias && i < l->out; i++)
    l->b.f32[i] = (float)(k * (2.0 * host->rng_uniform(b->rng) - 1.0));
  *out = *in;
  out->dim[in->ndim - 1] = l->out;
  return l;
}

/* y = x W^T + b    (B ..., in) -> (B ..., out) */
static int linear_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                          const lunet_ctx *ctx) {
  linear *l = self;
  int64_t n = in->shape.dim[0] * l->rows;
  (void)ctx;
  for (int64_t i = 0; l->has_bias && i < n; i++)
    memcpy(out->f32 + i * l->out, l->b.f32, sizeof(float) * l->out);
  host->gemm(0, 1, (int)n, l->out, l->in, 1.0f, in->f32, l->in, l->w.f32, l->in,
             l->has_bias ? 1.0f : 0.0f, out->f32, l->out);
  return 0;
}

/* dW = dy^T x,  db = sum over rows of dy,  dx = dy W    (B ..., out) -> (B ..., in) */
static int linear_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                           const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  linear *l = self;
  int64_t n = in->shape.dim[0] * l->rows;
  (void)out, (void)ctx;
  host->gemm(1, 0, l->out, l->in, (int)n, 1.0f, dout->f32, l->out, in->f32, l->in, 0.0f,
             l->dw.f32, l->in);
  if (l->has_bias) {
    memset(l->db.f32, 0, sizeof(float) * l->out);
    for (int64_t i = 0; i < n; i++)
      for (int j = 0; j < l->out; j++) l->db.f32[j] += dout->f32[i * l->out + j];
  }
  if (din)
    host->gemm(0, 0, (int)n, l->in, l->out, 1.0f, dout->f32, l->out, l->w.f32, l->in, 0.0f,
               din->f32, l->in);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU: the GEMMs through the device's services (cuBLAS),
** the bias by the kernels of linear.cu (rows.cuh). */
int rows_fill_launch(float *y, const float *b, int64_t rows, int n);
int rows_sum_launch(float *db, const float *dy, int64_t rows, int n);

static int linear_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                               const lunet_ctx *ctx) {
  linear *l = self;
  int64_t n = in->shape.dim[0] * l->rows;
  (void)ctx;
  if (l->has_bias && lunet_cuda_check("linear", rows_fill_launch(out->f32, l->b.f32, n, l->out))) return -1;
  host->device[LUNET_CUDA]->gemm(0, 1, (int)n, l->out, l->in, 1.0f, in->f32, l->in, l->w.f32, l->in,
                                 l->has_bias ? 1.0f : 0.0f, out->f32, l->out);
  return 0;
}

static int linear_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  linear *l = self;
  int64_t n = in->shape.dim[0] * l->rows;
  const lunet_device_services *gpu = host->device[LUNET_CUDA];
  (void)out, (void)ctx;
  gpu->gemm(1, 0, l->out, l->in, (int)n, 1.0f, dout->f32, l->out, in->f32, l->in, 0.0f, l->dw.f32, l->in);
  if (l->has_bias && lunet_cuda_check("linear", rows_sum_launch(l->db.f32, dout->f32, n, l->out))) return -1;
  if (din)
    gpu->gemm(0, 0, (int)n, l->in, l->out, 1.0f, dout->f32, l->out, l->w.f32, l->in, 0.0f, din->f32, l->in);
  return 0;
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = linear_create,
  .destroy = linear_destroy,
  .forward = {[LUNET_CPU] = linear_forward LUNET_ON_CUDA(linear_forward_cuda)},
  .backward = {[LUNET_CPU] = linear_backward LUNET_ON_CUDA(linear_backward_cuda)},
  .check_input = {{2, {3, 4}}},
};

LUNET_LAYER_PLUGIN(api, "linear", "2.1.0",
                   "y = x W^T + b on the last axis, (..., in) -> (..., out), as torch.nn.Linear",
                   LUNET_PARAMS(params))
