/*
** conv2d.c -- 2-D convolution (cross-correlation, as in every DL framework)
** with stride, zero padding and dilation:
**
**   y[b,o,i,j] = bias[o] + sum_{c,u,v} w[o,c,u,v] x[b, c, i s - p + u d, j s - p + v d]
**
** Input (B, C, H, W), weight (K, C, k, k), output (B, K, Ho, Wo) with
**   Ho = floor((H + 2p - d (k - 1) - 1) / s) + 1   (likewise Wo),
** which for d = 1 is the familiar floor((n + 2p - f) / s) + 1.
**
** GEMM layout (batched): im2col unrolls the whole batch into one matrix
** col (C k k, B Ho Wo), the column of output pixel (b, i, j) being
** b Ho Wo + i Wo + j. Then each pass is one large GEMM:
**   forward   Y   (K, B Ho Wo)   = W (K, C k k) col (C k k, B Ho Wo)
**   backward  dW  (K, C k k)     = dY (K, B Ho Wo) col^T
**             dcol (C k k, B Ho Wo) = W^T dY,  then col2im per sample -> dx
** Y and dY are kept channel-major (K, B Ho Wo) in scratch and permuted
** to and from the batch-major activations (B, K, Ho Wo). One GEMM per pass
** keeps the matrices large enough for a threaded BLAS to use every core;
** the price is memory: col holds B C k^2 Ho Wo floats (k^2 times the input),
** allocated by reserve(max_batch). backward reuses the col of the last
** training forward (whose `in` it is given, by the ABI's contract) unless an
** eval forward has overwritten it since, then reuses the buffer for dcol.
** After an eval forward (the same function in both modes) backward unrolls
** its `in` again, so it needs nothing that only a training forward keeps.
**
** im2col and col2im (window2d.h, shared with conv_transpose2d) split each
** row of taps into the zero padding and the run of window positions that
** fall inside the image, so the inner loops have no bounds checks.
**
** Parameters: "weight" (K, C, k, k), then "bias" (K) when bias is set; the
** host owns their memory (see lunet/plugin.h).
*/
#include <limits.h>

#include "window2d.h"

enum { P_OUT, P_KERNEL, P_STRIDE, P_PAD, P_DIL, P_BIAS, P_INIT, P_STD };

static const lunet_param_decl params[] = {
  [P_OUT] = {"out_channels", LUNET_INT, 4, 1, 1 << 20, NULL, NULL, "number of output channels K", LUNET_REQUIRED},
  [P_KERNEL] = {"kernel", LUNET_INT, 3, 1, 1024, NULL, NULL, "kernel size k (k x k)", 0},
  [P_STRIDE] = {"stride", LUNET_INT, 1, 1, 1024, NULL, NULL, "step s between windows", 0},
  [P_PAD] = {"padding", LUNET_INT, 0, 0, 1024, NULL, NULL, "zeros p added on each side", 0},
  [P_DIL] = {"dilation", LUNET_INT, 1, 1, 1024, NULL, NULL, "spacing d between kernel taps", 0},
  [P_BIAS] = {"bias", LUNET_BOOL, 1, 0, 1, NULL, NULL, "add a learned bias per output channel", 0},
  [P_INIT] = {"init", LUNET_STRING, 0, 0, 0, "he", LUNET_INIT_CHOICES,
              "weight init: he N(0,2/(C k^2)), xavier U(+-sqrt(6/((C+K) k^2))), normal N(0,std^2)", 0},
  [P_STD] = {"std", LUNET_NUMBER, 0.01, 0, 1e6, NULL, NULL, "standard deviation for init=normal", 0},
};

typedef struct conv2d {
  geom g;
  int K, rows;              /* output channels; rows = C k k */
  int has_bias;
  lunet_tensor w, dw;       /* (K, C, k, k) */
  lunet_tensor b, db;       /* (K) */
  int max_batch;
  float *col;               /* (C k k, max_batch Ho Wo); dcol in backward */
  int col_valid;            /* col holds the im2col of the last training forward */
  float *yk;                /* (K, max_batch Ho Wo): Y or dY, channel-major */
  float *ones;              /* (max_batch Ho Wo) ones: db = dY ones is a GEMM too */
  int device;               /* where col, yk and ones live */
} conv2d;

#ifdef LUNET_WITH_CUDA
/* The kernels of conv2d.cu (geom: window2d.h's, as conv2d.cu mirrors it). */
int conv2d_im2col_launch(const void *geom, const float *x, float *col, int B);
int conv2d_col2im_launch(const void *geom, const float *col, float *x, int B);
int conv2d_channel_major_launch(const float *dy, float *yk, int B, int K, int64_t P);
int conv2d_batch_major_launch(const float *yk, const float *bias, float *y, int B, int K, int64_t P);
int conv2d_ones_launch(float *ones, int64_t n);
#endif

static void conv2d_destroy(void *self) {
  conv2d *cv = self;
  if (!cv) return;
  lunet_free_on(cv->device, cv->col);
  lunet_free_on(cv->device, cv->yk);
  lunet_free_on(cv->device, cv->ones);
  host->free(cv);
}

/* Reads (C, H, W) and the hyper-parameters into g; 0, or -1 after an error. */
static int plan_geometry(geom *g, int K, const lunet_value *p, const lunet_shape *in) {
  char shp[LUNET_SHAPE_TEXT];
  if (lunet_expect_rank("conv2d", in, 3, "(C, H, W)")) return -1;
  lunet_shape_text(in, shp);
  *g = (geom){.C = in->dim[0], .H = in->dim[1], .W = in->dim[2], .k = (int)p[P_KERNEL].num,
              .s = (int)p[P_STRIDE].num, .p = (int)p[P_PAD].num, .d = (int)p[P_DIL].num};
  int64_t ho = window_count(g->H, g->k, g->s, g->p, g->d), wo = window_count(g->W, g->k, g->s, g->p, g->d);
  if (ho < 1 || wo < 1) {
    host->error("conv2d: output would be %lld x %lld for input (C, H, W) = %s with kernel k = %d, "
                "stride s = %d, padding p = %d, dilation d = %d: Ho = floor((H + 2p - d(k-1) - 1)/s) + 1 "
                "= floor((%d + %d - %d - 1)/%d) + 1, Wo = floor((%d + %d - %d - 1)/%d) + 1; expected "
                "both at least 1 (the dilated kernel spans %d pixels)",
                (long long)ho, (long long)wo, shp, g->k, g->s, g->p, g->d, g->H, 2 * g->p,
                g->d * (g->k - 1), g->s, g->W, 2 * g->p, g->d * (g->k - 1), g->s, g->d * (g->k - 1) + 1);
    return -1;
  }
  if ((int64_t)g->C * g->k * g->k > INT_MAX || ho * wo > INT_MAX || (int64_t)K * ho * wo > INT_MAX) {
    host->error("conv2d: input %s with K = %d, k = %d gives %lld x %lld outputs; the unrolled "
                "matrices exceed %d rows or columns", shp, K, g->k, (long long)ho, (long long)wo, INT_MAX);
    return -1;
  }
  g->Ho = (int)ho;
  g->Wo = (int)wo;
  return 0;
}

/* Weights as lunet_init_weights with fan_in = C k^2, fan_out = K k^2. */
static void *conv2d_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                           lunet_build *b) {
  geom g;
  int K = (int)p[P_OUT].num;
  if (plan_geometry(&g, K, p, in)) return NULL;
  conv2d *cv = host->alloc(sizeof *cv);
  if (!cv) return NULL;
  cv->g = g;
  cv->K = K;
  cv->rows = g.C * g.k * g.k;
  cv->has_bias = p[P_BIAS].num != 0;
  if (b->param(b, "weight", &cv->w, &cv->dw, &(lunet_shape){4, {K, g.C, g.k, g.k}}) ||
      (cv->has_bias && b->param(b, "bias", &cv->b, &cv->db, &(lunet_shape){1, {K}}))) {
    conv2d_destroy(cv);
    return NULL;
  }
  double kk = (double)g.k * g.k, fan_in = g.C * kk, fan_out = K * kk;
  lunet_init_weights(cv->w.f32, lunet_numel(&cv->w.shape), p[P_INIT].str, fan_in, fan_out,
                     p[P_STD].num, b->rng);
  *out = (lunet_shape){3, {K, g.Ho, g.Wo}};
  return cv;
}

/* col (C k k, B Ho Wo), yk (K, B Ho Wo) and ones (B Ho Wo) for B = max_batch */
static int conv2d_reserve(void *self, int max_batch, int device) {
  conv2d *cv = self;
  int64_t n = (int64_t)max_batch * cv->g.Ho * cv->g.Wo;
  if (max_batch <= cv->max_batch && device == cv->device) return 0;
  if (n > INT_MAX) {
    host->error("conv2d: batch %d of %d x %d outputs has %lld GEMM columns, more than %d",
                max_batch, cv->g.Ho, cv->g.Wo, (long long)n, INT_MAX);
    return -1;
  }
  lunet_free_on(cv->device, cv->col);
  lunet_free_on(cv->device, cv->yk);
  lunet_free_on(cv->device, cv->ones);
  cv->max_batch = 0;
  cv->col_valid = 0;
  cv->device = device;
  cv->col = lunet_alloc_floats_on(device, (int64_t)cv->rows * n);
  cv->yk = lunet_alloc_floats_on(device, (int64_t)cv->K * n);
  cv->ones = lunet_alloc_floats_on(device, n);
  if (!cv->col || !cv->yk || !cv->ones) return -1;
#ifdef LUNET_WITH_CUDA
  if (device == LUNET_CUDA && lunet_cuda_check("conv2d", conv2d_ones_launch(cv->ones, n))) return -1;
#endif
  for (int64_t i = 0; device == LUNET_CPU && i < n; i++) cv->ones[i] = 1.0f;
  cv->max_batch = max_batch;
  return 0;
}

/* The batch size of `in`, or -1 after an error when it does not fit. */
static int batch_of(const conv2d *cv, const lunet_tensor *in) {
  int B = in->shape.ndim > 0 ? in->shape.dim[0] : 0;
  int64_t row = lunet_row_size(in), want = (int64_t)cv->g.C * cv->g.H * cv->g.W;
  if (B < 1 || B > cv->max_batch || row != want) {
    char shp[LUNET_SHAPE_TEXT];
    host->error("conv2d: got input %s, expected (B, %d, %d, %d) with 1 <= B <= %d (the reserved batch)",
                lunet_shape_text(&in->shape, shp), cv->g.C, cv->g.H, cv->g.W, cv->max_batch);
    return -1;
  }
  return B;
}

/* ---- per-sample passes, spread over the host's threads --------------------
** Each pass below handles samples [lo, hi) of a batch of B; the GEMM
** matrices hold sample b in columns [b P, (b + 1) P), P = Ho Wo, of rows
** N = B P floats long. */
typedef struct pass {
  const conv2d *cv;
  const float *src;
  float *dst;
  int B;
} pass;

/* col = im2col of each sample;  (B, C, H, W) -> (C k k, B P) */
static void unroll_samples(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  const geom *g = &t->cv->g;
  size_t P = (size_t)g->Ho * g->Wo, img = (size_t)g->C * g->H * g->W;
  for (int64_t b = lo; b < hi; b++) im2col(g, t->src + b * img, t->cv->col + b * P, P * t->B);
}

/* dx = col2im of each sample's columns of dcol;  (C k k, B P) -> (B, C, H, W) */
static void roll_samples(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  const geom *g = &t->cv->g;
  size_t P = (size_t)g->Ho * g->Wo, img = (size_t)g->C * g->H * g->W;
  memset(t->dst + lo * img, 0, sizeof(float) * img * (size_t)(hi - lo));
  for (int64_t b = lo; b < hi; b++) col2im(g, t->cv->col + b * P, P * t->B, t->dst + b * img);
}

/* yk[o][b P + q] = dy[b][o][q];  (B, K, P) -> (K, B P) */
static void channel_major_samples(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  size_t P = (size_t)t->cv->g.Ho * t->cv->g.Wo, K = (size_t)t->cv->K, N = P * t->B;
  for (int64_t b = lo; b < hi; b++)
    for (size_t o = 0; o < K; o++) memcpy(t->cv->yk + o * N + b * P, t->src + (b * K + o) * P, sizeof(float) * P);
}

/* y[b][o][q] = yk[o][b P + q] + bias[o];  (K, B P) -> (B, K, P) */
static void batch_major_samples(void *ctx, int64_t lo, int64_t hi) {
  const pass *t = ctx;
  size_t P = (size_t)t->cv->g.Ho * t->cv->g.Wo, K = (size_t)t->cv->K, N = P * t->B;
  for (int64_t b = lo; b < hi; b++)
    for (size_t o = 0; o < K; o++) {
      const float *restrict src = t->cv->yk + o * N + b * P;
      float *restrict dst = t->dst + (b * K + o) * P;
      float add = t->cv->has_bias ? t->cv->b.f32[o] : 0.0f;
      for (size_t q = 0; q < P; q++) dst[q] = src[q] + add;
    }
}

/* Runs a pass over the batch, a few samples per chunk: at least ~32k floats
** of work each, so that waking a thread pays. */
static void each_sample(const conv2d *cv, lunet_range_fn fn, const float *src, float *dst, int B,
                        int64_t floats_per_sample) {
  pass t = {cv, src, dst, B};
  host->parallel_for(B, 1 + (1 << 15) / floats_per_sample, fn, &t);
}

/* y = W col + bias    (B, C, H, W) -> (B, K, Ho, Wo) */
static int conv2d_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                          const lunet_ctx *ctx) {
  conv2d *cv = self;
  int B = batch_of(cv, in), P = cv->g.Ho * cv->g.Wo;
  if (B < 0) return -1;
  each_sample(cv, unroll_samples, in->f32, NULL, B, (int64_t)cv->rows * P);
  cv->col_valid = ctx->train;
  host->gemm(0, 0, cv->K, B * P, cv->rows, 1.0f, cv->w.f32, cv->rows, cv->col, B * P, 0.0f,
             cv->yk, B * P);
  each_sample(cv, batch_major_samples, NULL, out->f32, B, (int64_t)cv->K * P);
  return 0;
}

/* dW = dY col^T,  db = sum dY,  dx = col2im(W^T dY)    (B, K, Ho, Wo) -> (B, C, H, W) */
static int conv2d_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                           const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  conv2d *cv = self;
  int B = batch_of(cv, in), P = cv->g.Ho * cv->g.Wo;
  (void)out, (void)ctx;
  if (B < 0) return -1;
  int N = B * P;
  if (!cv->col_valid) each_sample(cv, unroll_samples, in->f32, NULL, B, (int64_t)cv->rows * P);
  cv->col_valid = 0; /* about to become dcol */
  each_sample(cv, channel_major_samples, dout->f32, NULL, B, (int64_t)cv->K * P);
  host->gemm(0, 1, cv->K, cv->rows, N, 1.0f, cv->yk, N, cv->col, N, 0.0f, cv->dw.f32, cv->rows);
  if (cv->has_bias) /* db[o] = sum_{b,q} dY[o][b P + q]    (K, B P) -> (K) */
    host->gemm(0, 0, cv->K, 1, N, 1.0f, cv->yk, N, cv->ones, 1, 0.0f, cv->db.f32, 1);
  if (!din) return 0;
  host->gemm(1, 0, cv->rows, N, cv->K, 1.0f, cv->w.f32, cv->rows, cv->yk, N, 0.0f, cv->col, N);
  each_sample(cv, roll_samples, NULL, din->f32, B, (int64_t)cv->rows * P);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same passes on the GPU: the GEMMs through the device's services
** (cuBLAS), the unrolling and permutations by conv2d.cu. */
static int conv2d_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                               const lunet_ctx *ctx) {
  conv2d *cv = self;
  int B = batch_of(cv, in), P = cv->g.Ho * cv->g.Wo;
  if (B < 0 || lunet_cuda_check("conv2d", conv2d_im2col_launch(&cv->g, in->f32, cv->col, B))) return -1;
  cv->col_valid = ctx->train;
  host->device[LUNET_CUDA]->gemm(0, 0, cv->K, B * P, cv->rows, 1.0f, cv->w.f32, cv->rows, cv->col, B * P, 0.0f,
                                 cv->yk, B * P);
  return lunet_cuda_check("conv2d", conv2d_batch_major_launch(cv->yk, cv->has_bias ? cv->b.f32 : NULL, out->f32,
                                                              B, cv->K, P));
}

static int conv2d_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  conv2d *cv = self;
  int B = batch_of(cv, in), P = cv->g.Ho * cv->g.Wo;
  const lunet_device_services *gpu = host->device[LUNET_CUDA];
  (void)out, (void)ctx;
  if (B < 0) return -1;
  int N = B * P;
  if (!cv->col_valid && lunet_cuda_check("conv2d", conv2d_im2col_launch(&cv->g, in->f32, cv->col, B))) return -1;
  cv->col_valid = 0; /* about to become dcol */
  if (lunet_cuda_check("conv2d", conv2d_channel_major_launch(dout->f32, cv->yk, B, cv->K, P))) return -1;
  gpu->gemm(0, 1, cv->K, cv->rows, N, 1.0f, cv->yk, N, cv->col, N, 0.0f, cv->dw.f32, cv->rows);
  if (cv->has_bias) gpu->gemm(0, 0, cv->K, 1, N, 1.0f, cv->yk, N, cv->ones, 1, 0.0f, cv->db.f32, 1);
  if (!din) return 0;
  gpu->gemm(1, 0, cv->rows, N, cv->K, 1.0f, cv->w.f32, cv->rows, cv->yk, N, 0.0f, cv->col, N);
  return lunet_cuda_check("conv2d", conv2d_col2im_launch(&cv->g, cv->col, din->f32, B));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = conv2d_create,
  .destroy = conv2d_destroy,
  .reserve = conv2d_reserve,
  .forward = {[LUNET_CPU] = conv2d_forward LUNET_ON_CUDA(conv2d_forward_cuda)},
  .backward = {[LUNET_CPU] = conv2d_backward LUNET_ON_CUDA(conv2d_backward_cuda)},
  .check_input = {{3, {2, 6, 6}}},
};

LUNET_LAYER_PLUGIN(api, "conv2d", "2.0.0",
                   "2-D convolution with stride, padding and dilation, (B, C, H, W) -> (B, K, Ho, Wo)",
                   LUNET_PARAMS(params))
