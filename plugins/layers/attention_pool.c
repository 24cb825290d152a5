/*
** attention_pool.c -- attention pooling (Yang et al. 2016, "Hierarchical
** attention networks for document classification"), (T, E) -> (E): a
** learned context vector u_w scores each position, and the output is the
** average of the positions under those scores:
**     u_t = tanh(W h_t + b)            (T, E) -> (T, A)
**     a_t = softmax_t(u_t . u_w + mask_t)
**     s   = sum_t a_t h_t              (E)
** Parameters: weight W (A, E), bias b (A), context u_w (A), with A =
** `hidden` (0: E); W xavier-uniform, b 0, u_w N(0, 1/A) (Yang et al. draw
** it at random too). The optional second input is a key-padding mask (T)
** (see pad_mask). The buffer `attention_weights` (T) holds a of sample 0 of
** the last forward, for heatmaps, as attention's. The weighted average is
** pooling.h's, shared with mean_pool and additive_attention.
*/
#include "pooling.h"

enum { P_HIDDEN };

static const lunet_param_decl params[] = {
  [P_HIDDEN] = {"hidden", LUNET_INT, 0, 0, 1 << 24, NULL, NULL,
                "size A of the scoring layer u_t = tanh(W h_t + b); 0: E", 0},
};

typedef struct attention_pool {
  int T, E, A, masked;
  lunet_tensor w, dw, b, db, u, du; /* weight (A, E), bias (A), context (A) */
  lunet_tensor shown;               /* attention_weights (T), a buffer */
  int max_batch;                    /* samples the scratch holds */
  int device;                       /* where the scratch lives: reserve()'s */
  float *h, *dz;                    /* (B, T, A): u_t, and backward's dL/d(W h_t + b) */
  float *a;                         /* (B, T): the weights */
  float *ds;                        /* (B, T): dL/dscore when dL/dmask is not wanted (the CPU uses T) */
} attention_pool;

static void attention_pool_free_scratch(attention_pool *p) {
  lunet_free_on(p->device, p->h);
  lunet_free_on(p->device, p->dz);
  lunet_free_on(p->device, p->a);
  lunet_free_on(p->device, p->ds);
  p->h = p->dz = p->a = p->ds = NULL;
  p->max_batch = 0;
}

static void attention_pool_destroy(void *self) {
  attention_pool *p = self;
  if (!p) return;
  attention_pool_free_scratch(p);
  host->free(p);
}

static void *attention_pool_create(const lunet_value *v, const lunet_shape *in, lunet_shape *out,
                                   lunet_build *b) {
  char buf[LUNET_SHAPE_TEXT];
  if (lunet_expect_rank("attention_pool", &in[0], 2, "(T, E)")) return NULL;
  if (b->n_inputs == 2 && (in[1].ndim != 1 || in[1].dim[0] != in[0].dim[0])) {
    host->error("attention_pool: the mask is %s, expected (%d): one value per position",
                lunet_shape_text(&in[1], buf), in[0].dim[0]);
    return NULL;
  }
  attention_pool *p = host->alloc(sizeof *p);
  if (!p) return NULL;
  int E = in[0].dim[1], A = v[P_HIDDEN].num > 0 ? (int)v[P_HIDDEN].num : E;
  *p = (attention_pool){.T = in[0].dim[0], .E = E, .A = A, .masked = b->n_inputs == 2};
  if (b->param(b, "weight", &p->w, &p->dw, &(lunet_shape){2, {A, E}}) ||
      b->param(b, "bias", &p->b, &p->db, &(lunet_shape){1, {A}}) ||
      b->param(b, "context", &p->u, &p->du, &(lunet_shape){1, {A}}) ||
      b->param(b, "attention_weights", &p->shown, NULL, &(lunet_shape){1, {p->T}})) {
    attention_pool_destroy(p);
    return NULL;
  }
  lunet_init_weights(p->w.f32, (int64_t)A * E, "xavier", E, A, 0, b->rng);
  lunet_init_weights(p->u.f32, A, "normal", 0, 0, 1.0 / sqrt(A), b->rng);
  *out = (lunet_shape){1, {E}};
  return p;
}

static int attention_pool_reserve(void *self, int max_batch, int device) {
  attention_pool *p = self;
  if (max_batch <= p->max_batch && device == p->device) return 0;
  attention_pool_free_scratch(p);
  p->device = device;
  p->h = lunet_alloc_floats_on(device, (int64_t)max_batch * p->T * p->A);
  p->dz = lunet_alloc_floats_on(device, (int64_t)max_batch * p->T * p->A);
  p->a = lunet_alloc_floats_on(device, (int64_t)max_batch * p->T);
  p->ds = lunet_alloc_floats_on(device, (int64_t)max_batch * p->T);
  if (!p->h || !p->dz || !p->a || !p->ds) {
    attention_pool_free_scratch(p);
    return 1;
  }
  p->max_batch = max_batch;
  return 0;
}

static int attention_pool_fits(const attention_pool *p, int B) {
  if (B <= p->max_batch) return 1;
  host->error("attention_pool: batch of %d samples, expected at most %d as given to reserve()", B,
              p->max_batch);
  return 0;
}

/* s = sum_t a_t h_t, a = softmax(tanh(W h_t + b) . u_w + mask)    (B, T, E), (B, T) -> (B, E) */
static int attention_pool_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                                  const lunet_ctx *ctx) {
  attention_pool *p = self;
  int B = in[0].shape.dim[0], T = p->T, E = p->E, A = p->A;
  int64_t rows = (int64_t)B * T;
  (void)ctx;
  if (!attention_pool_fits(p, B)) return 1;
  for (int64_t r = 0; r < rows; r++) memcpy(p->h + r * A, p->b.f32, sizeof(float) * (size_t)A);
  host->gemm(0, 1, (int)rows, A, E, 1.0f, in[0].f32, E, p->w.f32, E, 1.0f, p->h, A);
  for (int64_t i = 0; i < rows * A; i++) p->h[i] = tanhf(p->h[i]);
  host->gemm(0, 0, (int)rows, 1, A, 1.0f, p->h, A, p->u.f32, 1, 0.0f, p->a, 1); /* scores */
  for (int s = 0; s < B; s++) {
    float *a = p->a + (int64_t)s * T;
    pool_softmax(a, p->masked ? in[1].f32 + (int64_t)s * T : NULL, a, T);
    pool_sum(a, in[0].f32 + (int64_t)s * T * E, out->f32 + (int64_t)s * E, T, E);
  }
  memcpy(p->shown.f32, p->a, sizeof(float) * (size_t)T);
  return 0;
}

/* Given ds_t = dL/dscore_t: du_w = sum_t ds_t u_t, dz_t = ds_t u_w (1 - u_t^2),
** dW = dz^T h, db = sum_t dz_t, dh_t = a_t dy + dz_t W    (B, E) -> (B, T, E), (B, T) */
static int attention_pool_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                   const lunet_tensor *dout, lunet_tensor *din,
                                   const lunet_ctx *ctx) {
  attention_pool *p = self;
  int B = in[0].shape.dim[0], T = p->T, E = p->E, A = p->A;
  int64_t rows = (int64_t)B * T;
  float *dx = din ? din[0].f32 : NULL, *dmask = din && p->masked ? din[1].f32 : NULL;
  (void)ctx;
  if (!attention_pool_fits(p, B)) return 1;
  if (dx) memset(dx, 0, sizeof(float) * (size_t)(rows * E));
  memset(p->du.f32, 0, sizeof(float) * (size_t)A);
  for (int s = 0; s < B; s++) {
    float *ds = dmask ? dmask + (int64_t)s * T : p->ds;
    pool_backward(p->a + (int64_t)s * T, in[0].f32 + (int64_t)s * T * E, out->f32 + (int64_t)s * E,
                  dout->f32 + (int64_t)s * E, ds, dx ? dx + (int64_t)s * T * E : NULL, T, E);
    for (int t = 0; t < T; t++) {
      const float *u = p->h + ((int64_t)s * T + t) * A;
      float *dz = p->dz + ((int64_t)s * T + t) * A;
      for (int k = 0; k < A; k++) {
        p->du.f32[k] += ds[t] * u[k];
        dz[k] = ds[t] * p->u.f32[k] * (1.0f - u[k] * u[k]);
      }
    }
  }
  host->gemm(1, 0, A, E, (int)rows, 1.0f, p->dz, A, in[0].f32, E, 0.0f, p->dw.f32, E);
  memset(p->db.f32, 0, sizeof(float) * (size_t)A);
  for (int64_t r = 0; r < rows; r++)
    for (int k = 0; k < A; k++) p->db.f32[k] += p->dz[r * A + k];
  if (dx) host->gemm(0, 0, (int)rows, E, A, 1.0f, p->dz, A, p->w.f32, E, 1.0f, dx, E);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU: the GEMMs through the device's services, the rest
** attention_pool.cu's kernels (pooling.cuh, rows.cuh). */
int rows_fill_launch(float *y, const float *b, int64_t rows, int n);
int rows_sum_launch(float *db, const float *dy, int64_t rows, int n);
int pool_softmax_launch(const float *score, const float *mask, float *a, int B, int T);
int pool_sum_launch(const float *a, const float *x, float *y, int B, int T, int E);
int pool_backward_launch(const float *a, const float *x, const float *y, const float *dy, float *ds,
                         float *dx, int B, int T, int E);
int attention_pool_tanh_launch(float *u, int64_t n);
int attention_pool_dz_launch(const float *ds, const float *uw, const float *u, float *dz, int64_t rows,
                             int A);

static int attention_pool_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                       const lunet_ctx *ctx) {
  attention_pool *p = self;
  int B = in[0].shape.dim[0], T = p->T, E = p->E, A = p->A;
  int64_t rows = (int64_t)B * T;
  const lunet_device_services *gpu = host->device[LUNET_CUDA];
  (void)ctx;
  if (!attention_pool_fits(p, B) || lunet_cuda_check("attention_pool", rows_fill_launch(p->h, p->b.f32, rows, A)))
    return -1;
  gpu->gemm(0, 1, (int)rows, A, E, 1.0f, in[0].f32, E, p->w.f32, E, 1.0f, p->h, A);
  if (lunet_cuda_check("attention_pool", attention_pool_tanh_launch(p->h, rows * A))) return -1;
  gpu->gemm(0, 0, (int)rows, 1, A, 1.0f, p->h, A, p->u.f32, 1, 0.0f, p->a, 1); /* scores */
  if (lunet_cuda_check("attention_pool", pool_softmax_launch(p->a, p->masked ? in[1].f32 : NULL, p->a, B, T)) ||
      lunet_cuda_check("attention_pool", pool_sum_launch(p->a, in[0].f32, out->f32, B, T, E)))
    return -1;
  return gpu->copy(p->shown.f32, p->a, sizeof(float) * (size_t)T, LUNET_COPY_ON_DEVICE);
}

static int attention_pool_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                        const lunet_tensor *dout, lunet_tensor *din,
                                        const lunet_ctx *ctx) {
  attention_pool *p = self;
  int B = in[0].shape.dim[0], T = p->T, E = p->E, A = p->A;
  int64_t rows = (int64_t)B * T;
  float *dx = din ? din[0].f32 : NULL, *dmask = din && p->masked ? din[1].f32 : NULL;
  float *ds = dmask ? dmask : p->ds;
  const lunet_device_services *gpu = host->device[LUNET_CUDA];
  (void)ctx;
  if (!attention_pool_fits(p, B) ||
      lunet_cuda_check("attention_pool", pool_backward_launch(p->a, in[0].f32, out->f32, dout->f32, ds, dx, B,
                                                              T, E)) ||
      lunet_cuda_check("attention_pool", attention_pool_dz_launch(ds, p->u.f32, p->h, p->dz, rows, A)))
    return -1;
  gpu->gemm(1, 0, A, 1, (int)rows, 1.0f, p->h, A, ds, 1, 0.0f, p->du.f32, 1); /* du_w = u^T ds */
  gpu->gemm(1, 0, A, E, (int)rows, 1.0f, p->dz, A, in[0].f32, E, 0.0f, p->dw.f32, E);
  if (lunet_cuda_check("attention_pool", rows_sum_launch(p->db.f32, p->dz, rows, A))) return -1;
  if (dx) gpu->gemm(0, 0, (int)rows, E, A, 1.0f, p->dz, A, p->w.f32, E, 1.0f, dx, E);
  return 0;
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = 2,
  .flags = LUNET_MASK_LAST,
  .create = attention_pool_create,
  .destroy = attention_pool_destroy,
  .reserve = attention_pool_reserve,
  .forward = {[LUNET_CPU] = attention_pool_forward LUNET_ON_CUDA(attention_pool_forward_cuda)},
  .backward = {[LUNET_CPU] = attention_pool_backward LUNET_ON_CUDA(attention_pool_backward_cuda)},
  .check_input = {{2, {4, 6}}, {1, {4}}},
};

LUNET_LAYER_PLUGIN(api, "attention_pool", "2.2.0",
                   "attention pooling (Yang et al. 2016), (T, E) -> (E): a = softmax(tanh(W h_t + "
                   "b) . u_w), s = sum_t a_t h_t",
                   LUNET_PARAMS(params))
