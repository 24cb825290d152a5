/*
** batchnorm.c -- batch normalization, y = gamma (x - mean) / sqrt(var + eps) + beta.
**
** As PyTorch's BatchNorm1d/2d/3d (torch.nn.functional.batch_norm). A
** per-sample input {C} (after dense) is normalized per feature over the
** batch; an input {C, d1, ...} (after conv: {C, H, W}) per channel over the
** n = B * d1 * ... values of that channel. Kernels see every tensor as
** (B, C, S), S = d1 * ... (1 for an input {C}).
**
** Training mode (ctx->train) normalizes with the batch mean and the biased
** variance, and updates the running averages as PyTorch does:
**     running_mean = (1 - momentum) running_mean + momentum mean
**     running_var  = (1 - momentum) running_var  + momentum var n / (n - 1)
** (the unbiased variance). As in PyTorch, training needs n >= 2 values per
** channel: a batch of 1 after dense is an error. Eval mode normalizes with
** the running averages and changes nothing.
**
** Parameters, declared in this order: "weight" (gamma, init 1) and "bias"
** (beta, init 0), trained, only when affine; "running_mean" (init 0) and
** "running_var" (init 1) as buffers (grad NULL), so checkpoints save them.
** The host owns their memory. Without affine gamma and beta are taken as 1
** and 0 (gamma_of, beta_of), so one kernel serves both. The batch mean and
** 1 / sqrt(var + eps) per channel are kept from the last training forward
** for backward; eval forwards leave them alone.
**
** After an eval forward (ctx->train == 0) backward differentiates the eval
** function, an affine map per channel with the running statistics held
** fixed: dx = dy gamma istd, istd = 1 / sqrt(running_var + eps) as eval
** forward computes it, and dgamma, dbeta as in training with running_mean.
*/
#include <lunet/helpers.h>

#include "fastmath.h"

enum { P_MOMENTUM, P_EPS, P_AFFINE };

static const lunet_param_decl params[] = {
  [P_MOMENTUM] = {"momentum", LUNET_NUMBER, 0.1, 0, 1, NULL, NULL,
                  "running = (1 - momentum) running + momentum batch (PyTorch convention)", 0},
  [P_EPS] = {"eps", LUNET_NUMBER, 1e-5, 0, 1, NULL, NULL,
             "added to the variance before the square root", 0},
  [P_AFFINE] = {"affine", LUNET_BOOL, 1, 0, 1, NULL, NULL,
                "learn a scale gamma ('weight') and shift beta ('bias') per channel", 0},
};

typedef struct batchnorm {
  int c;                 /* channels (features) C */
  int64_t s;             /* values per channel and sample, S */
  int affine;            /* gamma and beta are trained and declared */
  double momentum, eps;
  lunet_tensor w, dw;    /* gamma and its gradient, (C) */
  lunet_tensor b, db;    /* beta and its gradient, (C) */
  lunet_tensor rm, rv;   /* running mean and variance, (C), buffers */
  float *mean, *istd;    /* batch mean, 1 / sqrt(var + eps) of the last training forward, (C) */
  float *stat;           /* on the GPU: the same two, (2C), once reserved there */
} batchnorm;

static void batchnorm_destroy(void *self) {
  batchnorm *bn = self;
  if (!bn) return;
  host->free(bn->mean);
  host->free(bn->istd);
  if (bn->stat) host->device[LUNET_CUDA]->free(bn->stat);
  host->free(bn);
}

/* The parameters in their order: weight and bias when affine, then the
** running statistics; 0, or non-zero after an error. */
static int declare_params(batchnorm *bn, const lunet_build *b) {
  const lunet_shape *c = &(lunet_shape){1, {bn->c}};
  return (bn->affine && (b->param(b, "weight", &bn->w, &bn->dw, c) ||
                         b->param(b, "bias", &bn->b, &bn->db, c))) ||
         b->param(b, "running_mean", &bn->rm, NULL, c) ||
         b->param(b, "running_var", &bn->rv, NULL, c);
}

static void *batchnorm_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                              lunet_build *b) {
  batchnorm *bn;
  if (in->ndim < 1 || in->dim[0] < 1) {
    host->error("batchnorm: input has %d dimensions, expected {C} (after dense) or {C, H, W} "
                "(after conv) with C >= 1", in->ndim);
    return NULL;
  }
  bn = host->alloc(sizeof *bn);
  if (!bn) return NULL;
  bn->c = in->dim[0];
  bn->s = lunet_numel(in) / bn->c;
  bn->affine = p[P_AFFINE].num != 0;
  bn->momentum = p[P_MOMENTUM].num;
  bn->eps = p[P_EPS].num;
  if (declare_params(bn, b) || !(bn->mean = host->alloc(sizeof(float) * (size_t)bn->c)) ||
      !(bn->istd = host->alloc(sizeof(float) * (size_t)bn->c))) {
    batchnorm_destroy(bn);
    return NULL;
  }
  for (int c = 0; c < bn->c; c++) {
    if (bn->affine) bn->w.f32[c] = 1.0f;
    bn->rv.f32[c] = 1.0f;
  }
  *out = *in;
  return bn;
}

/* gamma and beta of channel c: 1 and 0 without affine */
static float gamma_of(const batchnorm *bn, int64_t c) { return bn->affine ? bn->w.f32[c] : 1.0f; }
static float beta_of(const batchnorm *bn, int64_t c) { return bn->affine ? bn->b.f32[c] : 0.0f; }

/* y = (x - mean) scale + shift    (S) -> (S) */
static void row_affine(float *restrict y, const float *restrict x, int64_t n, float mean, float scale,
                       float shift) {
  for (int64_t k = 0; k < n; k++) y[k] = (x[k] - mean) * scale + shift;
}

/* ---- per-channel passes, spread over the host's threads ------------------
** Channels are independent, so each pass handles channels [lo, hi) whole:
** every sum keeps its order whatever the number of threads. */
typedef struct pass {
  batchnorm *bn;
  const float *x, *dy;
  float *y, *dx;
  int B;
} pass;

/* y = gamma (x - mean) istd + beta on channel c    (B, C, S) -> (B, C, S) */
static void normalize_channel(const pass *t, int c, float mean, float istd) {
  const batchnorm *bn = t->bn;
  for (int i = 0; i < t->B; i++) {
    int64_t at = ((int64_t)i * bn->c + c) * bn->s;
    row_affine(t->y + at, t->x + at, bn->s, mean, gamma_of(bn, c) * istd, beta_of(bn, c));
  }
}

/* the batch mean and variance, the running averages, then y    (B, C, S) -> (B, C, S) */
static void train_channels(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  batchnorm *bn = t->bn;
  double n = (double)t->B * (double)bn->s, m = bn->momentum;
  for (int64_t c = lo; c < hi; c++) {
    /* two passes, mean then sum (x - mean)^2: no cancellation in the variance */
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < t->B; i++) sum += row_sum(t->x + ((int64_t)i * bn->c + c) * bn->s, bn->s);
    float mean = (float)(sum / n);
    for (int i = 0; i < t->B; i++) sq += row_sq_dev(t->x + ((int64_t)i * bn->c + c) * bn->s, bn->s, mean);
    double var = sq / n;
    bn->mean[c] = mean;
    bn->istd[c] = (float)(1.0 / sqrt(var + bn->eps));
    bn->rm.f32[c] = (float)((1 - m) * bn->rm.f32[c] + m * (sum / n));
    bn->rv.f32[c] = (float)((1 - m) * bn->rv.f32[c] + m * var * n / (n - 1));
    normalize_channel(t, (int)c, bn->mean[c], bn->istd[c]);
  }
}

/* y with the running statistics; bn->mean and bn->istd stay those of training */
static void eval_channels(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  const batchnorm *bn = t->bn;
  for (int64_t c = lo; c < hi; c++)
    normalize_channel(t, (int)c, bn->rm.f32[c], (float)(1.0 / sqrt((double)bn->rv.f32[c] + bn->eps)));
}

/* dgamma = sum dy xhat,  dbeta = sum dy,  xhat = (x - mean) istd,
** dx = gamma istd (dy - sum dy / n - xhat sum dy xhat / n)    (B, C, S) -> (B, C, S) */
static void backward_channels(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  batchnorm *bn = t->bn;
  double n = (double)t->B * (double)bn->s;
  for (int64_t c = lo; c < hi; c++) {
    double sg = 0.0, sgx = 0.0;
    float mean = bn->mean[c], istd = bn->istd[c];
    for (int i = 0; i < t->B; i++) {
      int64_t at = ((int64_t)i * bn->c + c) * bn->s;
      sg += row_sum(t->dy + at, bn->s);
      sgx += row_dot_dev(t->dy + at, t->x + at, bn->s, mean);
    }
    sgx *= istd;
    if (bn->affine) {
      bn->db.f32[c] = (float)sg;
      bn->dw.f32[c] = (float)sgx;
    }
    if (!t->dx) continue;
    float a = (float)(sg / n), b = (float)(sgx / n), scale = gamma_of(bn, c) * istd;
    for (int i = 0; i < t->B; i++) {
      int64_t at = ((int64_t)i * bn->c + c) * bn->s;
      const float *restrict x = t->x + at, *restrict dy = t->dy + at;
      float *restrict dx = t->dx + at;
      for (int64_t k = 0; k < bn->s; k++) dx[k] = scale * (dy[k] - a - (x[k] - mean) * istd * b);
    }
  }
}

/* eval: xhat = (x - running_mean) istd,  istd = 1 / sqrt(running_var + eps),
** dgamma = sum dy xhat,  dbeta = sum dy,  dx = gamma istd dy    (B, C, S) -> (B, C, S) */
static void eval_backward_channels(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  batchnorm *bn = t->bn;
  for (int64_t c = lo; c < hi; c++) {
    /* mean, istd and scale exactly as eval_channels and normalize_channel form them */
    float mean = bn->rm.f32[c], istd = (float)(1.0 / sqrt((double)bn->rv.f32[c] + bn->eps));
    if (bn->affine) {
      double sg = 0.0, sgx = 0.0;
      for (int i = 0; i < t->B; i++) {
        int64_t at = ((int64_t)i * bn->c + c) * bn->s;
        sg += row_sum(t->dy + at, bn->s);
        sgx += row_dot_dev(t->dy + at, t->x + at, bn->s, mean);
      }
      bn->db.f32[c] = (float)sg;
      bn->dw.f32[c] = (float)(sgx * istd);
    }
    if (!t->dx) continue;
    float scale = gamma_of(bn, c) * istd;
    for (int i = 0; i < t->B; i++) {
      int64_t at = ((int64_t)i * bn->c + c) * bn->s;
      const float *restrict dy = t->dy + at;
      float *restrict dx = t->dx + at;
      for (int64_t k = 0; k < bn->s; k++) dx[k] = scale * dy[k];
    }
  }
}

/* Runs a pass over the channels, at least ~32k values per chunk. */
static void each_channel(pass *t, lunet_range_fn fn) {
  int64_t per_channel = (int64_t)t->B * t->bn->s;
  host->parallel_for(t->bn->c, 1 + (1 << 15) / (per_channel > 0 ? per_channel : 1), fn, t);
}

/* y = gamma (x - mean) / sqrt(var + eps) + beta    (B, C, S) -> (B, C, S) */
static int batchnorm_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                             const lunet_ctx *ctx) {
  batchnorm *bn = self;
  pass t = {bn, in->f32, NULL, out->f32, NULL, in->shape.dim[0]};
  double n = (double)t.B * (double)bn->s;
  if (ctx->train && n < 2) {
    host->error("batchnorm: training with %.0f value per channel (batch %d), expected at least "
                "2 to compute a variance (as PyTorch)", n, t.B);
    return -1;
  }
  each_channel(&t, ctx->train ? train_channels : eval_channels);
  return 0;
}

/* training: the gradient through the batch statistics; eval: through the
** fixed running statistics    (B, C, S) -> (B, C, S) */
static int batchnorm_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                              const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  pass t = {self, in->f32, dout->f32, NULL, din ? din->f32 : NULL, in->shape.dim[0]};
  (void)out;
  each_channel(&t, ctx->train ? backward_channels : eval_backward_channels);
  return 0;
}

/* Only the GPU needs scratch: the batch statistics there. */
static int batchnorm_reserve(void *self, int max_batch, int device) {
  batchnorm *bn = self;
  (void)max_batch;
  if (device == LUNET_CPU || bn->stat) return 0;
  return (bn->stat = lunet_alloc_floats_on(device, 2 * (int64_t)bn->c)) ? 0 : -1;
}

#ifdef LUNET_WITH_CUDA
/* The same passes on the GPU, one block per channel (batchnorm.cu). */
int batchnorm_forward_launch(const float *x, float *y, const float *w, const float *b, float *rm, float *rv,
                             float *stat, int B, int C, int64_t S, double m, double eps, int train);
int batchnorm_backward_launch(const float *x, const float *dy, float *dx, const float *w, float *dw, float *db,
                              const float *rm, const float *rv, const float *stat, int B, int C, int64_t S,
                              double eps, int train);

static int batchnorm_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                  const lunet_ctx *ctx) {
  batchnorm *bn = self;
  int B = in->shape.dim[0];
  if (ctx->train && (double)B * (double)bn->s < 2) {
    host->error("batchnorm: training with %.0f value per channel (batch %d), expected at least "
                "2 to compute a variance (as PyTorch)", (double)B * (double)bn->s, B);
    return -1;
  }
  if (!bn->stat) {
    host->error("batchnorm: forward on the GPU before reserve() for it");
    return -1;
  }
  return lunet_cuda_check("batchnorm", batchnorm_forward_launch(in->f32, out->f32, bn->affine ? bn->w.f32 : NULL,
                                                                bn->affine ? bn->b.f32 : NULL, bn->rm.f32,
                                                                bn->rv.f32, bn->stat, B, bn->c, bn->s, bn->momentum,
                                                                bn->eps, ctx->train));
}

static int batchnorm_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                   const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  batchnorm *bn = self;
  (void)out;
  return lunet_cuda_check("batchnorm", batchnorm_backward_launch(
      in->f32, dout->f32, din ? din->f32 : NULL, bn->affine ? bn->w.f32 : NULL, bn->affine ? bn->dw.f32 : NULL,
      bn->affine ? bn->db.f32 : NULL, bn->rm.f32, bn->rv.f32, bn->stat, in->shape.dim[0], bn->c, bn->s, bn->eps,
      ctx->train));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = batchnorm_create,
  .destroy = batchnorm_destroy,
  .reserve = batchnorm_reserve,
  .forward = {[LUNET_CPU] = batchnorm_forward LUNET_ON_CUDA(batchnorm_forward_cuda)},
  .backward = {[LUNET_CPU] = batchnorm_backward LUNET_ON_CUDA(batchnorm_backward_cuda)},
  .check_input = {{3, {2, 3, 3}}},
};

LUNET_LAYER_PLUGIN(api, "batchnorm", "2.0.0",
                   "batch normalization per feature or per channel (as torch.nn.BatchNorm1d/2d)",
                   LUNET_PARAMS(params))
