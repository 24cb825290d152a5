/*
** layernorm.c -- layer normalization, y = gamma (x - mean) / sqrt(var + eps) + beta.
**
** As PyTorch's LayerNorm(normalized_shape = the per-sample input shape):
** each sample is normalized over all its n elements with its own mean and
** biased variance, the same in training and eval mode. With axis = "last",
** as LayerNorm(C) on samples (..., C), the layer of sequence models: each
** position is normalized over its C features. Kernels see every tensor as
** rows of n elements, (B, n) or (B rows, C). With affine, gamma ("weight",
** init 1) and beta ("bias", init 0) have the shape of one row (the
** per-sample shape, or (C)) and act elementwise (the host owns their
** memory); without, they are not declared and are taken as 1 and 0
** (gamma_at, beta_at). The mean and 1 / sqrt(var + eps) of each row of the
** last forward, training or eval, are kept for backward, in scratch sized
** by reserve(max_batch); the math is the same in both modes, so backward
** after an eval forward is the training one (an eval forward of more rows
** than reserved keeps nothing, and a backward after it is refused).
*/
#include <lunet/helpers.h>

#include "fastmath.h"

enum { P_EPS, P_AFFINE, P_AXIS };

static const lunet_param_decl params[] = {
  [P_EPS] = {"eps", LUNET_NUMBER, 1e-5, 0, 1, NULL, NULL,
             "added to the variance before the square root", 0},
  [P_AFFINE] = {"affine", LUNET_BOOL, 1, 0, 1, NULL, NULL,
                "learn an elementwise scale gamma ('weight') and shift beta ('bias')", 0},
  [P_AXIS] = {"axis", LUNET_STRING, 0, 0, 0, "sample", "sample|last",
              "normalize each sample as a whole, or each position over the last axis", 0},
};

typedef struct layernorm {
  int64_t n;          /* elements per row: per sample, or the last axis */
  int64_t rows;       /* rows per sample: 1, or the positions before the last axis */
  int affine;         /* gamma and beta are trained and declared */
  double eps;
  lunet_tensor w, dw; /* gamma and its gradient, the shape of a row */
  lunet_tensor b, db; /* beta and its gradient, the shape of a row */
  float *mean, *istd; /* per row of the last forward, (max_batch rows) */
  int max_batch;      /* samples the scratch holds */
  int device;         /* where the scratch lives */
} layernorm;

static void layernorm_destroy(void *self) {
  layernorm *ln = self;
  if (!ln) return;
  lunet_free_on(ln->device, ln->mean);
  lunet_free_on(ln->device, ln->istd);
  host->free(ln);
}

static void *layernorm_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                              lunet_build *b) {
  layernorm *ln;
  if (in->ndim < 1 || lunet_numel(in) < 1) {
    host->error("layernorm: input has %d dimensions and %lld elements per sample, expected at "
                "least 1 of each", in->ndim, (long long)lunet_numel(in));
    return NULL;
  }
  ln = host->alloc(sizeof *ln);
  if (!ln) return NULL;
  int last = strcmp(p[P_AXIS].str, "last") == 0;
  lunet_shape row = last ? (lunet_shape){1, {in->dim[in->ndim - 1]}} : *in;
  ln->n = lunet_numel(&row);
  ln->rows = lunet_numel(in) / ln->n;
  ln->affine = p[P_AFFINE].num != 0;
  ln->eps = p[P_EPS].num;
  if (ln->affine && (b->param(b, "weight", &ln->w, &ln->dw, &row) ||
                     b->param(b, "bias", &ln->b, &ln->db, &row))) {
    layernorm_destroy(ln);
    return NULL;
  }
  if (ln->affine)
    for (int64_t j = 0; j < ln->n; j++) ln->w.f32[j] = 1.0f; /* gamma */
  *out = *in;
  return ln;
}

static int layernorm_reserve(void *self, int max_batch, int device) {
  layernorm *ln = self;
  if (max_batch <= ln->max_batch && device == ln->device) return 0;
  lunet_free_on(ln->device, ln->mean);
  lunet_free_on(ln->device, ln->istd);
  ln->max_batch = 0;
  ln->device = device;
  ln->mean = lunet_alloc_floats_on(device, (int64_t)max_batch * ln->rows);
  ln->istd = lunet_alloc_floats_on(device, (int64_t)max_batch * ln->rows);
  if (!ln->mean || !ln->istd) return -1;
  ln->max_batch = max_batch;
  return 0;
}

/* gamma and beta at element j: 1 and 0 without affine */
static float gamma_at(const layernorm *ln, int64_t j) { return ln->affine ? ln->w.f32[j] : 1.0f; }
static float beta_at(const layernorm *ln, int64_t j) { return ln->affine ? ln->b.f32[j] : 0.0f; }

/* mean = sum x / n,  istd = 1 / sqrt(sum (x - mean)^2 / n + eps)    (n) -> scalars */
static void row_stats(const layernorm *ln, const float *x, float *mean, float *istd) {
  *mean = (float)(row_sum(x, ln->n) / (double)ln->n);
  *istd = (float)(1.0 / sqrt(row_sq_dev(x, ln->n, *mean) / (double)ln->n + ln->eps));
}

/* y = gamma (x - mean) istd + beta, per row    (B rows, n) -> (B rows, n) */
static int layernorm_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                             const lunet_ctx *ctx) {
  layernorm *ln = self;
  int B = in->shape.dim[0], keep = B <= ln->max_batch; /* room for the row statistics */
  if (ctx->train && !keep) {
    host->error("layernorm: batch of %d rows, expected at most %d as given to reserve()", B,
                ln->max_batch);
    return -1;
  }
  for (int64_t i = 0; i < B * ln->rows; i++) {
    const float *x = in->f32 + i * ln->n;
    float *y = out->f32 + i * ln->n, mean, istd;
    row_stats(ln, x, &mean, &istd);
    for (int64_t j = 0; j < ln->n; j++) y[j] = (x[j] - mean) * istd * gamma_at(ln, j) + beta_at(ln, j);
    if (keep) {
      ln->mean[i] = mean;
      ln->istd[i] = istd;
    }
  }
  return 0;
}

/* g = dy gamma,  dx = istd (g - sum g / n - xhat sum g xhat / n)    (n) -> (n)
** g is made in dx first (dx may be dy itself), then both sums run over it. */
static void backward_row(const layernorm *ln, const float *x, const float *dy, float *dx,
                         float mean, float istd) {
  for (int64_t j = 0; j < ln->n; j++) dx[j] = dy[j] * gamma_at(ln, j);
  float a = (float)(row_sum(dx, ln->n) / (double)ln->n);
  float b = (float)(row_dot_dev(dx, x, ln->n, mean) * istd / (double)ln->n);
  for (int64_t j = 0; j < ln->n; j++) dx[j] = istd * (dx[j] - a - (x[j] - mean) * istd * b);
}

/* dgamma = sum_i dy xhat,  dbeta = sum_i dy    (rows, n) -> (n) */
static void param_grads(layernorm *ln, const float *x, const float *dy, int64_t rows) {
  for (int64_t j = 0; j < ln->n; j++) ln->dw.f32[j] = ln->db.f32[j] = 0.0f;
  for (int64_t i = 0; i < rows; i++, x += ln->n, dy += ln->n)
    for (int64_t j = 0; j < ln->n; j++) {
      ln->dw.f32[j] += dy[j] * (x[j] - ln->mean[i]) * ln->istd[i];
      ln->db.f32[j] += dy[j];
    }
}

/* dgamma, dbeta when affine; dx per row    (B rows, n) -> (B rows, n) */
static int layernorm_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                              const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  layernorm *ln = self;
  int B = in->shape.dim[0];
  (void)out, (void)ctx; /* the same function in both modes */
  if (B > ln->max_batch) {
    host->error("layernorm: backward of %d rows, expected at most %d as given to reserve()", B,
                ln->max_batch);
    return -1;
  }
  if (ln->affine) param_grads(ln, in->f32, dout->f32, B * ln->rows);
  for (int64_t i = 0; din && i < B * ln->rows; i++) {
    int64_t at = i * ln->n;
    backward_row(ln, in->f32 + at, dout->f32 + at, din->f32 + at, ln->mean[i], ln->istd[i]);
  }
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same rows on the GPU (layernorm.cu); the statistics are always kept
** there, so the batch must fit what reserve() was given in both modes. */
int layernorm_forward_launch(const float *x, float *y, const float *w, const float *b, float *mean,
                             float *istd, int64_t rows, int64_t n, float eps);
int layernorm_backward_launch(const float *x, const float *dy, float *dx, const float *w,
                              const float *mean, const float *istd, int64_t rows, int64_t n);
int layernorm_params_launch(const float *x, const float *dy, const float *mean, const float *istd,
                            float *dw, float *db, int64_t rows, int64_t n);

static int layernorm_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                  const lunet_ctx *ctx) {
  layernorm *ln = self;
  int B = in->shape.dim[0];
  (void)ctx;
  if (B > ln->max_batch) {
    host->error("layernorm: batch of %d rows, expected at most %d as given to reserve()", B, ln->max_batch);
    return -1;
  }
  return lunet_cuda_check("layernorm", layernorm_forward_launch(in->f32, out->f32, ln->affine ? ln->w.f32 : NULL,
                                                                ln->affine ? ln->b.f32 : NULL, ln->mean, ln->istd,
                                                                B * ln->rows, ln->n, (float)ln->eps));
}

static int layernorm_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                   const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  layernorm *ln = self;
  int64_t rows = in->shape.dim[0] * ln->rows;
  (void)out, (void)ctx;
  if (in->shape.dim[0] > ln->max_batch) {
    host->error("layernorm: backward of %d rows, expected at most %d as given to reserve()", in->shape.dim[0],
                ln->max_batch);
    return -1;
  }
  if (ln->affine && lunet_cuda_check("layernorm", layernorm_params_launch(in->f32, dout->f32, ln->mean, ln->istd,
                                                                          ln->dw.f32, ln->db.f32, rows, ln->n)))
    return -1;
  if (!din) return 0;
  return lunet_cuda_check("layernorm", layernorm_backward_launch(in->f32, dout->f32, din->f32,
                                                                 ln->affine ? ln->w.f32 : NULL, ln->mean, ln->istd,
                                                                 rows, ln->n));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = layernorm_create,
  .destroy = layernorm_destroy,
  .reserve = layernorm_reserve,
  .forward = {[LUNET_CPU] = layernorm_forward LUNET_ON_CUDA(layernorm_forward_cuda)},
  .backward = {[LUNET_CPU] = layernorm_backward LUNET_ON_CUDA(layernorm_backward_cuda)},
  .check_input = {{2, {2, 3}}},
};

LUNET_LAYER_PLUGIN(api, "layernorm", "2.1.0",
                   "layer normalization of each sample or position (torch.nn.LayerNorm)",
                   LUNET_PARAMS(params))
