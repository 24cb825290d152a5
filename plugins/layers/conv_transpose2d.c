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
** im2col/col2im are those of conv2d.c (each plugin is one standalone file).
** The scratch col (Cout k k, H W) comes from reserve().
*/
#include <math.h>
#include <string.h>

#include <lunet/plugin.h>

static const lunet_host *host;

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

/* The conv2d geometry on the output image: (C, H, W) = (Cout, Ho, Wo),
** windows on an (Ho, Wo) = (H, W) grid of the input. */
typedef struct geom {
  int C, H, W;
  int k, s, p, d;
  int Ho, Wo;
} geom;

typedef struct convt {
  geom g;
  int cin;
  int has_bias;
  lunet_tensor w, dw; /* (Cin, Cout, k, k) */
  lunet_tensor b, db; /* (Cout) */
  float *col;         /* (Cout k k, H W) */
} convt;

/* col[(c k + u) k + v][i Wo + j] = x[c, i s - p + u d, j s - p + v d] or 0;
** (C, H, W) -> (C k k, Ho Wo) */
static void im2col(const geom *g, const float *x, float *col) {
  size_t ld = (size_t)g->Ho * g->Wo;
  for (int c = 0; c < g->C; c++)
    for (int u = 0; u < g->k; u++)
      for (int v = 0; v < g->k; v++) {
        float *row = col + ((size_t)(c * g->k + u) * g->k + v) * ld;
        for (int i = 0; i < g->Ho; i++) {
          int h = i * g->s - g->p + u * g->d;
          for (int j = 0; j < g->Wo; j++) {
            int w = j * g->s - g->p + v * g->d;
            row[(size_t)i * g->Wo + j] = h >= 0 && h < g->H && w >= 0 && w < g->W ? x[((size_t)c * g->H + h) * g->W + w] : 0.0f;
          }
        }
      }
}

/* the adjoint: x[c, i s - p + u d, j s - p + v d] += col[...][i Wo + j];
** (C k k, Ho Wo) -> (C, H, W) */
static void col2im(const geom *g, const float *col, float *x) {
  size_t ld = (size_t)g->Ho * g->Wo;
  for (int c = 0; c < g->C; c++)
    for (int u = 0; u < g->k; u++)
      for (int v = 0; v < g->k; v++) {
        const float *row = col + ((size_t)(c * g->k + u) * g->k + v) * ld;
        for (int i = 0; i < g->Ho; i++) {
          int h = i * g->s - g->p + u * g->d;
          if (h < 0 || h >= g->H) continue;
          for (int j = 0; j < g->Wo; j++) {
            int w = j * g->s - g->p + v * g->d;
            if (w >= 0 && w < g->W) x[((size_t)c * g->H + h) * g->W + w] += row[(size_t)i * g->Wo + j];
          }
        }
      }
}

static int alloc_tensor(lunet_tensor *t, lunet_shape s) {
  t->shape = s;
  t->device = LUNET_CPU;
  t->data = host->alloc(sizeof(float) * (size_t)lunet_numel(&s));
  return t->data != NULL;
}

static void convt_destroy(void *self) {
  convt *t = self;
  if (!t) return;
  host->free(t->w.data), host->free(t->dw.data), host->free(t->b.data), host->free(t->db.data);
  host->free(t->col);
  host->free(t);
}

static void *convt_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out, lunet_rng *rng) {
  if (in->ndim != 3) {
    host->error("conv_transpose2d: expected input (C, H, W), got %d dimension%s", in->ndim, in->ndim == 1 ? "" : "s");
    return NULL;
  }
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
  if (!alloc_tensor(&t->w, (lunet_shape){4, {t->cin, cout, k, k}}) || !alloc_tensor(&t->dw, t->w.shape) ||
      !alloc_tensor(&t->b, (lunet_shape){1, {cout}}) || !alloc_tensor(&t->db, t->b.shape) ||
      !(t->col = host->alloc(sizeof(float) * (size_t)cout * k * k * H * W))) {
    convt_destroy(t);
    return NULL;
  }
  /* He init on the fan-in of an output pixel's gradient path, Cout k^2 as PyTorch counts it */
  double std = sqrt(2.0 / ((double)cout * k * k));
  for (int64_t i = 0; i < lunet_numel(&t->w.shape); i++) t->w.data[i] = (float)(std * host->rng_normal(rng));
  *out = (lunet_shape){3, {cout, Ho, Wo}};
  return t;
}

static int convt_parameters(void *self, lunet_param *out, int cap) {
  convt *t = self;
  lunet_param all[2] = {{"weight", &t->w, &t->dw}, {"bias", &t->b, &t->db}};
  int n = t->has_bias ? 2 : 1;
  for (int i = 0; i < n && i < cap; i++) out[i] = all[i];
  return n;
}

/* y = col2im(W^T x) + b    (B, Cin, H, W) -> (B, Cout, Ho, Wo) */
static int convt_forward(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  convt *t = self;
  const geom *g = &t->g;
  int rows = g->C * g->k * g->k, hw = g->Ho * g->Wo, plane = g->H * g->W;
  (void)ctx;
  for (int b = 0; b < in->shape.dim[0]; b++) {
    const float *x = in->data + (size_t)b * t->cin * hw;
    float *y = out->data + (size_t)b * g->C * plane;
    host->gemm(1, 0, rows, hw, t->cin, 1.0f, t->w.data, rows, x, hw, 0.0f, t->col, hw);
    for (int o = 0; o < g->C; o++)
      for (int q = 0; q < plane; q++) y[(size_t)o * plane + q] = t->has_bias ? t->b.data[o] : 0.0f;
    col2im(g, t->col, y);
  }
  return 0;
}

/* dcol = im2col(dy);  dx = W dcol;  dW = sum_b x dcol^T;  db = sum dy    (B, Cout, Ho, Wo) -> (B, Cin, H, W) */
static int convt_backward(void *self, const lunet_tensor *in, const lunet_tensor *out, const lunet_tensor *dout,
                          lunet_tensor *din) {
  convt *t = self;
  const geom *g = &t->g;
  int rows = g->C * g->k * g->k, hw = g->Ho * g->Wo, plane = g->H * g->W;
  (void)out;
  memset(t->dw.data, 0, sizeof(float) * (size_t)lunet_numel(&t->dw.shape));
  memset(t->db.data, 0, sizeof(float) * (size_t)g->C);
  for (int b = 0; b < in->shape.dim[0]; b++) {
    const float *x = in->data + (size_t)b * t->cin * hw, *dy = dout->data + (size_t)b * g->C * plane;
    im2col(g, dy, t->col);
    host->gemm(0, 1, t->cin, rows, hw, 1.0f, x, hw, t->col, hw, 1.0f, t->dw.data, rows);
    if (din) host->gemm(0, 0, t->cin, hw, rows, 1.0f, t->w.data, rows, t->col, hw, 0.0f, din->data + (size_t)b * t->cin * hw, hw);
    for (int o = 0; t->has_bias && o < g->C; o++)
      for (int q = 0; q < plane; q++) t->db.data[o] += dy[(size_t)o * plane + q];
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = convt_create,
  .destroy = convt_destroy,
  .parameters = convt_parameters,
  .forward = {[LUNET_CPU] = convt_forward},
  .backward = {[LUNET_CPU] = convt_backward},
  .check_input = {3, {2, 3, 3}},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "conv_transpose2d",
  .version = "1.0.0",
  .summary = "transposed 2-D convolution, the adjoint of conv2d (upsampling)",
  .params = params,
  .n_params = sizeof params / sizeof params[0],
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
