/*
** conv_transpose2d.c -- transposed ("fractionally strided") 2-D convolution,
** the adjoint of conv2d: where conv2d maps an image y (K, Ho, Wo) to
** x (C, H, W) by y -> W * y, this layer maps x back by x -> W^T x.
**
**   y[b,o,r,c] = bias[o] + sum_{i,u,v : r = i s - p + u d, c = j s - p + v d} w[i,o,u,v] x[b,i,.,.]
**
** Input (B, Cin, H, W), weight (Cin, Cout, k, k) as in PyTorch, output
** (B, Cout, Ho, Wo) with Ho = (H - 1) s - 2p + d (k - 1) + output_padding + 1.
**
** GEMM layout, per sample: the geometry is that of a conv2d reading the
** OUTPUT image (Cout, Ho, Wo) with windows on an H x W grid, so
**   forward   col (Cout k k, H W) = W^T (Cout k k, Cin) x (Cin, H W),  then col2im -> y
**   backward  dcol = im2col(dy);  dx (Cin, H W) = W (Cin, Cout k k) dcol;
**             dW (Cin, Cout k k) += x (Cin, H W) dcol^T
** im2col/col2im are conv2d's (window2d.h). The scratch col (Cout k k, H W)
** does not depend on the batch: create() allocates it.
**
** On the GPU (conv_transpose2d.cu) the batch goes at once: col (B, Cout k
** k, H W) through one strided batched GEMM (W shared, stride 0), the
** gather-style col2im with the bias, and back; dW sums one GEMM per sample
** in order (no atomics). reserve() allocates that col on the GPU.
**
** Parameters: "weight" (Cin, Cout, k, k), then "bias" (Cout) when bias is
** set; the host owns their memory (see lunet/plugin.h).
*/
#include "window2d.h"

enum { P_OUT, P_KERNEL, P_STRIDE, P_PAD, P_OUTPAD, P_DIL, P_BIAS };

static const lunet_param_decl params[] = {
  [P_OUT] = {"out_channels", LUNET_INT, 3, 1, 1 << 20, NULL, NULL, "number of output channels", LUNET_REQUIRED},
  [P_KERNEL] = {"kernel", LUNET_INT, 3, 1, 1024, NULL, NULL, "kernel size k (k x k)", 0},
  [P_STRIDE] = {"stride", LUNET_INT, 1, 1, 1024, NULL, NULL, "upsampling step s", 0},
  [P_PAD] = {"padding", LUNET_INT, 0, 0, 1024, NULL, NULL, "rows/columns p cropped from each side", 0},
  [P_OUTPAD] = {"output_padding", LUNET_INT, 0, 0, 1023, NULL, NULL, "extra rows/columns at the end (< s or < d)", 0},
  [P_DIL] = {"dilation", LUNET_INT, 1, 1, 1024, NULL, NULL, "spacing d between kernel taps", 0},
  [P_BIAS] = {"bias", LUNET_BOOL, 1, 0, 1, NULL, NULL, "add a learned bias per output channel", 0},
};

/* A geom (window2d.h) holds the conv2d geometry on the output image:
** (C, H, W) = (Cout, Ho, Wo), windows on an (Ho, Wo) = (H, W) grid of the
** input. */
typedef struct convt {
  geom g;
  int cin;
  int has_bias;
  lunet_tensor w, dw; /* (Cin, Cout, k, k) */
  lunet_tensor b, db; /* (Cout) */
  float *col;         /* (Cout k k, H W) */
  float *col_gpu;     /* (max_batch, Cout k k, H W) on the GPU, or NULL */
  int max_batch;      /* samples col_gpu holds */
} convt;

static void convt_destroy(void *self) {
  convt *t = self;
  if (!t) return;
  host->free(t->col);
  lunet_free_on(LUNET_CUDA, t->col_gpu);
  host->free(t);
}

static void *convt_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out, lunet_build *b) {
  if (lunet_expect_rank("conv_transpose2d", in, 3, "(C, H, W)")) return NULL;
  int k = (int)p[P_KERNEL].num, s = (int)p[P_STRIDE].num, pad = (int)p[P_PAD].num, d = (int)p[P_DIL].num;
  int op = (int)p[P_OUTPAD].num, cout = (int)p[P_OUT].num, H = in->dim[1], W = in->dim[2];
  if (op >= s && op >= d) {
    host->error("conv_transpose2d: output_padding %d must be smaller than the stride %d or the dilation %d", op, s, d);
    return NULL;
  }
  int Ho = (H - 1) * s - 2 * pad + d * (k - 1) + op + 1, Wo = (W - 1) * s - 2 * pad + d * (k - 1) + op + 1;
  if (Ho < 1 || Wo < 1) {
    host->error("conv_transpose2d: output would be %d x %d for input %d x %d: (H - 1) s - 2p + d (k - 1) + "
                "output_padding + 1 must be at least 1", Ho, Wo, H, W);
    return NULL;
  }
  convt *t = host->alloc(sizeof *t);
  if (!t) return NULL;
  t->g = (geom){cout, Ho, Wo, k, s, pad, d, H, W};
  t->cin = in->dim[0];
  t->has_bias = p[P_BIAS].num != 0;
  if (b->param(b, "weight", &t->w, &t->dw, &(lunet_shape){4, {t->cin, cout, k, k}}) ||
      (t->has_bias && b->param(b, "bias", &t->b, &t->db, &(lunet_shape){1, {cout}})) ||
      !(t->col = host->alloc(sizeof(float) * (size_t)cout * k * k * H * W))) {
    convt_destroy(t);
    return NULL;
  }
  /* He init on the fan-in of an output pixel's gradient path, Cout k^2 as PyTorch counts it */
  lunet_init_weights(t->w.f32, lunet_numel(&t->w.shape), "he", (double)cout * k * k,
                     (double)t->cin * k * k, 0.0, b->rng);
  *out = (lunet_shape){3, {cout, Ho, Wo}};
  return t;
}

/* y = col2im(W^T x) + b    (B, Cin, H, W) -> (B, Cout, Ho, Wo) */
static int convt_forward(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  convt *t = self;
  const geom *g = &t->g;
  int rows = g->C * g->k * g->k, hw = g->Ho * g->Wo, plane = g->H * g->W;
  (void)ctx;
  for (int b = 0; b < in->shape.dim[0]; b++) {
    const float *x = in->f32 + (size_t)b * t->cin * hw;
    float *y = out->f32 + (size_t)b * g->C * plane;
    host->gemm(1, 0, rows, hw, t->cin, 1.0f, t->w.f32, rows, x, hw, 0.0f, t->col, hw);
    for (int o = 0; o < g->C; o++)
      for (int q = 0; q < plane; q++) y[(size_t)o * plane + q] = t->has_bias ? t->b.f32[o] : 0.0f;
    col2im(g, t->col, (size_t)hw, y);
  }
  return 0;
}

/* dcol = im2col(dy);  dx = W dcol;  dW = sum_b x dcol^T;  db = sum dy    (B, Cout, Ho, Wo) -> (B, Cin, H, W) */
static int convt_backward(void *self, const lunet_tensor *in, const lunet_tensor *out, const lunet_tensor *dout,
                          lunet_tensor *din, const lunet_ctx *ctx) {
  convt *t = self;
  const geom *g = &t->g;
  int rows = g->C * g->k * g->k, hw = g->Ho * g->Wo, plane = g->H * g->W;
  (void)out, (void)ctx;
  memset(t->dw.f32, 0, sizeof(float) * (size_t)lunet_numel(&t->dw.shape));
  if (t->has_bias) memset(t->db.f32, 0, sizeof(float) * (size_t)g->C);
  for (int b = 0; b < in->shape.dim[0]; b++) {
    const float *x = in->f32 + (size_t)b * t->cin * hw, *dy = dout->f32 + (size_t)b * g->C * plane;
    im2col(g, dy, t->col, (size_t)hw);
    host->gemm(0, 1, t->cin, rows, hw, 1.0f, x, hw, t->col, hw, 1.0f, t->dw.f32, rows);
    if (din) host->gemm(0, 0, t->cin, hw, rows, 1.0f, t->w.f32, rows, t->col, hw, 0.0f, din->f32 + (size_t)b * t->cin * hw, hw);
    for (int o = 0; t->has_bias && o < g->C; o++)
      for (int q = 0; q < plane; q++) t->db.f32[o] += dy[(size_t)o * plane + q];
  }
  return 0;
}

/* The GPU's col for max_batch samples; the CPU's is create()'s. */
static int convt_reserve(void *self, int max_batch, int device) {
  convt *t = self;
  const geom *g = &t->g;
  if (device != LUNET_CUDA || max_batch <= t->max_batch) return 0;
  lunet_free_on(LUNET_CUDA, t->col_gpu);
  t->max_batch = 0;
  t->col_gpu = lunet_alloc_floats_on(LUNET_CUDA, (int64_t)max_batch * g->C * g->k * g->k * g->Ho * g->Wo);
  if (!t->col_gpu) return -1;
  t->max_batch = max_batch;
  return 0;
}

#ifdef LUNET_WITH_CUDA
int convt_col2im_launch(const void *g, const float *col, const float *bias, float *y, int B);
int convt_im2col_launch(const void *g, const float *dy, float *col, int B);
int convt_bias_grad_launch(const float *dy, float *db, int B, int C, int64_t plane);

static int convt_batch_cuda(const convt *t, int B) {
  if (B <= t->max_batch) return 0;
  host->error("conv_transpose2d: batch of %d, expected at most %d as given to reserve()", B, t->max_batch);
  return -1;
}

/* y = col2im(W^T x_b for every b) + b    (B, Cin, H, W) -> (B, Cout, Ho, Wo) */
static int convt_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  convt *t = self;
  const geom *g = &t->g;
  int B = in->shape.dim[0], rows = g->C * g->k * g->k, hw = g->Ho * g->Wo;
  (void)ctx;
  if (convt_batch_cuda(t, B)) return -1;
  /* col_b = W^T x_b    (Cout k k, Cin) x (Cin, H W) per sample */
  host->device[LUNET_CUDA]->gemm_batched(1, 0, rows, hw, t->cin, 1.0f, t->w.f32, rows, 0, in->f32, hw,
                                         (int64_t)t->cin * hw, 0.0f, t->col_gpu, hw, (int64_t)rows * hw, B);
  return lunet_cuda_check("conv_transpose2d",
                          convt_col2im_launch(g, t->col_gpu, t->has_bias ? t->b.f32 : NULL, out->f32, B));
}

/* dcol = im2col(dy);  dx_b = W dcol_b;  dW = sum_b x_b dcol_b^T;  db = sum dy */
static int convt_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                               const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  convt *t = self;
  const geom *g = &t->g;
  const lunet_device_services *gpu = host->device[LUNET_CUDA];
  int B = in->shape.dim[0], rows = g->C * g->k * g->k, hw = g->Ho * g->Wo;
  (void)out, (void)ctx;
  if (convt_batch_cuda(t, B) ||
      lunet_cuda_check("conv_transpose2d", convt_im2col_launch(g, dout->f32, t->col_gpu, B)))
    return -1;
  for (int b = 0; b < B; b++) /* (Cin, H W) x (H W, Cout k k), the first overwrites */
    gpu->gemm(0, 1, t->cin, rows, hw, 1.0f, in->f32 + (size_t)b * t->cin * hw, hw,
              t->col_gpu + (size_t)b * rows * hw, hw, b ? 1.0f : 0.0f, t->dw.f32, rows);
  if (din) /* (Cin, Cout k k) x (Cout k k, H W) per sample */
    gpu->gemm_batched(0, 0, t->cin, hw, rows, 1.0f, t->w.f32, rows, 0, t->col_gpu, hw, (int64_t)rows * hw, 0.0f,
                      din->f32, hw, (int64_t)t->cin * hw, B);
  if (t->has_bias &&
      lunet_cuda_check("conv_transpose2d", convt_bias_grad_launch(dout->f32, t->db.f32, B, g->C,
                                                                  (int64_t)g->H * g->W)))
    return -1;
  return 0;
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = convt_create,
  .destroy = convt_destroy,
  .reserve = convt_reserve,
  .forward = {[LUNET_CPU] = convt_forward LUNET_ON_CUDA(convt_forward_cuda)},
  .backward = {[LUNET_CPU] = convt_backward LUNET_ON_CUDA(convt_backward_cuda)},
  .check_input = {{3, {2, 3, 3}}},
};

LUNET_LAYER_PLUGIN(api, "conv_transpose2d", "2.0.0",
                   "transposed 2-D convolution, the adjoint of conv2d (upsampling)", LUNET_PARAMS(params))
