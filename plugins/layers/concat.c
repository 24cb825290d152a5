/*
** concat.c -- joins 2 to 8 inputs along one axis, as torch.cat(xs, dim=axis).
**
** A graph node with several inputs (n_inputs = -1). Axes count as in
** PyTorch on (B, ...) tensors: axis 1 is the first per-sample dimension
** (the channels of (C, H, W) images, the features of vectors). Every input
** has the same per-sample dimensions but along the axis, where the output
** has their sum: (B, ..., d_0, ...) + (B, ..., d_1, ...) -> (B, ..., d_0 +
** d_1, ...). Kernels see input i as (R, d_i, inner) and the output as (R,
** D, inner), R = B times the dimensions before the axis, inner = the
** product of those after it, D = sum_i d_i: each of the R rows of the
** output is the rows of the inputs, one after the other. Backward splits
** dy the same way into the wanted inputs' gradients.
*/
#include <lunet/helpers.h>

enum { P_AXIS };

static const lunet_param_decl params[] = {
  [P_AXIS] = {"axis", LUNET_INT, 1, 1, LUNET_MAX_DIMS - 1, NULL, NULL,
              "dimension to join along, as torch.cat's dim: 1 is the first per-sample one", 0},
};

typedef struct concat {
  int k;                          /* inputs */
  int64_t rows;                   /* per sample: product of the dimensions before the axis */
  int64_t len[LUNET_MAX_INPUTS];  /* per row: d_i inner, the floats of input i */
  int64_t width;                  /* per row of the output: D inner, the sum of len */
} concat;

static void concat_destroy(void *self) { host->free(self); }

/* 0 when input i matches input 0 in every dimension but `a` (per sample),
** every size at least 1; else an error naming both shapes. */
static int check_shape(const lunet_shape *in, int i, int a) {
  int ok = in[i].ndim == in[0].ndim;
  for (int j = 0; ok && j < in[0].ndim; j++)
    ok = in[i].dim[j] >= 1 && (j == a || in[i].dim[j] == in[0].dim[j]);
  if (ok) return 0;
  char s[LUNET_SHAPE_TEXT], s0[LUNET_SHAPE_TEXT];
  host->error("concat: input %d has shape %s, expected input 0's %s in every dimension but "
              "axis %d, every size at least 1", i, lunet_shape_text(&in[i], s),
              lunet_shape_text(&in[0], s0), a + 1);
  return -1;
}

/* The per-sample output shape in *out: the inputs' sizes along axis a
** summed; 0, or -1 after an error. */
static int joined_shape(const lunet_shape *in, int k, int a, lunet_shape *out) {
  char s[LUNET_SHAPE_TEXT];
  if (a >= in[0].ndim) {
    host->error("concat: axis %d, but input 0 has shape %s: expected axis 1 to %d", a + 1,
                lunet_shape_text(&in[0], s), in[0].ndim);
    return -1;
  }
  int64_t d = 0;
  for (int i = 0; i < k; i++) {
    if (check_shape(in, i, a)) return -1;
    d += in[i].dim[a];
  }
  if (d > INT32_MAX) {
    host->error("concat: the joined axis %d has %lld elements, expected at most %d", a + 1,
                (long long)d, INT32_MAX);
    return -1;
  }
  *out = in[0];
  out->dim[a] = (int32_t)d;
  return 0;
}

static void *concat_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                           lunet_build *b) {
  int k = b->n_inputs, a = (int)p[P_AXIS].num - 1;
  if (k < 2 || k > LUNET_MAX_INPUTS) {
    host->error("concat: %d inputs, expected 2 to %d", k, LUNET_MAX_INPUTS);
    return NULL;
  }
  if (joined_shape(in, k, a, out)) return NULL;
  concat *c = host->alloc(sizeof *c);
  if (!c) return NULL;
  int64_t inner = 1;
  for (int j = a + 1; j < out->ndim; j++) inner *= out->dim[j];
  c->k = k;
  c->rows = lunet_numel(out) / (out->dim[a] * inner);
  for (int i = 0; i < k; i++) c->len[i] = in[i].dim[a] * inner;
  c->width = out->dim[a] * inner;
  return c;
}

/* The arrays of one call, for host->parallel_for over rows. */
typedef struct arrays {
  const concat *c;
  const float *x[LUNET_MAX_INPUTS]; /* forward: the inputs */
  float *y;                         /* forward: the output */
  const float *dy;                  /* backward: dL/dy */
  float *dx[LUNET_MAX_INPUTS];      /* backward: dL/dx_i, NULL when not wanted */
} arrays;

#define GRAIN (1 << 15) /* floats per thread at least: waking one costs ~10 us */

/* y[r] = (x_0[r], x_1[r], ..., x_{k-1}[r])    k x (R, d_i inner) -> (R, D inner) */
static void forward_range(void *ctx, int64_t lo, int64_t hi) {
  const arrays *a = ctx;
  const concat *c = a->c;
  for (int64_t r = lo; r < hi; r++) {
    float *y = a->y + r * c->width;
    for (int i = 0; i < c->k; i++) {
      memcpy(y, a->x[i] + r * c->len[i], sizeof(float) * (size_t)c->len[i]);
      y += c->len[i];
    }
  }
}

/* (dx_0[r], dx_1[r], ..., dx_{k-1}[r]) = dy[r]    (R, D inner) -> k x (R, d_i inner) */
static void backward_range(void *ctx, int64_t lo, int64_t hi) {
  const arrays *a = ctx;
  const concat *c = a->c;
  for (int64_t r = lo; r < hi; r++) {
    const float *dy = a->dy + r * c->width;
    for (int i = 0; i < c->k; i++) {
      if (a->dx[i]) memcpy(a->dx[i] + r * c->len[i], dy, sizeof(float) * (size_t)c->len[i]);
      dy += c->len[i];
    }
  }
}

static int concat_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                          const lunet_ctx *ctx) {
  concat *c = self;
  arrays a = {.c = c, .y = out->f32};
  (void)ctx;
  for (int i = 0; i < c->k; i++) a.x[i] = in[i].f32;
  host->parallel_for(in[0].shape.dim[0] * c->rows, GRAIN / c->width + 1, forward_range, &a);
  return 0;
}

static int concat_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                           const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  concat *c = self;
  arrays a = {.c = c, .dy = dout->f32};
  (void)out, (void)ctx;
  if (!din) return 0;
  for (int i = 0; i < c->k; i++) a.dx[i] = din[i].f32;
  host->parallel_for(in[0].shape.dim[0] * c->rows, GRAIN / c->width + 1, backward_range, &a);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU: one strided copy per input (concat.cu, rows.cuh). */
int rows_copy_launch(float *dst, int64_t ld_dst, const float *src, int64_t ld_src, int64_t rows,
                     int64_t n);

/* y[r, at_i : at_i + len_i] = x_i[r]    k x (R, d_i inner) -> (R, D inner) */
static int concat_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                               const lunet_ctx *ctx) {
  concat *c = self;
  int64_t R = in[0].shape.dim[0] * c->rows, at = 0;
  (void)ctx;
  for (int i = 0; i < c->k; at += c->len[i], i++)
    if (lunet_cuda_check("concat", rows_copy_launch(out->f32 + at, c->width, in[i].f32, c->len[i], R,
                                                    c->len[i])))
      return -1;
  return 0;
}

/* dx_i[r] = dy[r, at_i : at_i + len_i]    (R, D inner) -> k x (R, d_i inner) */
static int concat_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  concat *c = self;
  int64_t R = in[0].shape.dim[0] * c->rows, at = 0;
  (void)out, (void)ctx;
  for (int i = 0; din && i < c->k; at += c->len[i], i++)
    if (din[i].f32 && lunet_cuda_check("concat", rows_copy_launch(din[i].f32, c->len[i], dout->f32 + at,
                                                                  c->width, R, c->len[i])))
      return -1;
  return 0;
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = -1,
  .create = concat_create,
  .destroy = concat_destroy,
  .forward = {[LUNET_CPU] = concat_forward LUNET_ON_CUDA(concat_forward_cuda)},
  .backward = {[LUNET_CPU] = concat_backward LUNET_ON_CUDA(concat_backward_cuda)},
  .check_input = {{2, {2, 3}}, {2, {4, 3}}, {2, {1, 3}}},
};

LUNET_LAYER_PLUGIN(api, "concat", "2.0.0",
                   "joins 2 to 8 inputs along an axis, as torch.cat(xs, dim=axis) on (B, ...)",
                   LUNET_PARAMS(params))
