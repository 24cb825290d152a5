/*
** dropout.c -- inverted dropout, y = x mask / (1 - p), elementwise.
**
** As torch.nn.functional.dropout(x, p, training): in training mode each
** element is kept with probability 1 - p (mask 1) or zeroed (mask 0), and
** the kept ones are scaled by 1 / (1 - p) so that the expected output is x;
** eval mode (ctx->train == 0) is the identity and draws nothing. The mask
** is drawn from ctx->rng through host->rng_uniform (element kept when
** u >= p), so a run with the same seed drops the same elements; PyTorch's
** own generator draws other masks. The scaled mask mask / (1 - p) of the
** last training forward is kept for backward, in scratch sized by
** reserve(max_batch). Kernels see every tensor as (B, n). After an eval
** forward backward is the identity's, dx = dy, and reads no mask.
*/
#include <lunet/helpers.h>

enum { P_P };

static const lunet_param_decl params[] = {
  [P_P] = {"p", LUNET_NUMBER, 0.5, 0, 1, NULL, NULL,
           "probability of zeroing an element in training mode, 0 <= p < 1", 0},
};

typedef struct dropout {
  int64_t n;     /* elements per sample */
  double p;      /* drop probability */
  float *mask;   /* 0 or 1 / (1 - p) per element of the last training forward */
  int max_batch; /* rows the mask holds */
  float *dmask;  /* on the GPU: the mask's copy there (NULL until reserved for it) */
} dropout;

static void *dropout_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                            lunet_build *b) {
  dropout *d;
  (void)b;
  if (!(p[P_P].num >= 0 && p[P_P].num < 1)) {
    host->error("dropout: p = %g, expected 0 <= p < 1 (p = 1 would drop every element)",
                p[P_P].num);
    return NULL;
  }
  d = host->alloc(sizeof *d);
  if (!d) return NULL;
  d->n = lunet_numel(in);
  d->p = p[P_P].num;
  *out = *in;
  return d;
}

static void dropout_destroy(void *self) {
  dropout *d = self;
  if (!d) return;
  host->free(d->mask);
  if (d->dmask) host->device[LUNET_CUDA]->free(d->dmask);
  host->free(d);
}

static int dropout_reserve(void *self, int max_batch, int device) {
  dropout *d = self;
  if (max_batch > d->max_batch) {
    host->free(d->mask);
    if (d->dmask) host->device[LUNET_CUDA]->free(d->dmask);
    d->dmask = NULL;
    d->max_batch = 0;
    d->mask = host->alloc(sizeof(float) * (size_t)max_batch * (size_t)d->n);
    if (!d->mask) return 1;
    d->max_batch = max_batch;
  }
  /* the mask is drawn on the host (the same stream as on the CPU), then copied */
  size_t bytes = sizeof(float) * (size_t)d->max_batch * (size_t)d->n;
  if (device != LUNET_CPU && !d->dmask && !(d->dmask = host->device[device]->alloc(bytes))) return 1;
  return 0;
}

/* mask = [u >= p] / (1 - p), drawn in order    -> (B, n) */
static int draw_mask(dropout *d, int B, lunet_rng *rng) {
  int64_t n = B * d->n;
  float scale = (float)(1.0 / (1.0 - d->p));
  if (B > d->max_batch) {
    host->error("dropout: batch of %d rows, expected at most %d as given to reserve()", B,
                d->max_batch);
    return 1;
  }
  if (!rng) {
    host->error("dropout: training mode without a random stream (ctx->rng is NULL), expected one");
    return 1;
  }
  for (int64_t i = 0; i < n; i++) d->mask[i] = host->rng_uniform(rng) >= d->p ? scale : 0.0f;
  return 0;
}

/* y = x mask    (B, n) -> (B, n) */
static int forward_train(dropout *d, const float *x, float *y, int B, lunet_rng *rng) {
  if (draw_mask(d, B, rng)) return 1;
  for (int64_t i = 0; i < B * d->n; i++) y[i] = x[i] * d->mask[i];
  return 0;
}

/* y = x mask / (1 - p) in training mode, y = x in eval mode    (B, n) -> (B, n) */
static int dropout_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                           const lunet_ctx *ctx) {
  dropout *d = self;
  int B = in->shape.dim[0];
  if (ctx->train) return forward_train(d, in->f32, out->f32, B, ctx->rng);
  if (out->f32 != in->f32) memcpy(out->f32, in->f32, sizeof(float) * (size_t)(B * d->n));
  return 0;
}

/* training: dx = dy mask / (1 - p);  eval: dx = dy    (B, n) -> (B, n) */
static int dropout_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                            const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  dropout *d = self;
  int B = in->shape.dim[0];
  int64_t n = B * d->n;
  (void)out;
  if (!din) return 0;
  if (!ctx->train) {
    if (din->f32 != dout->f32) memcpy(din->f32, dout->f32, sizeof(float) * (size_t)n);
    return 0;
  }
  if (B > d->max_batch) {
    host->error("dropout: backward of %d rows, expected at most %d as given to reserve()", B,
                d->max_batch);
    return 1;
  }
  const float *restrict dy = dout->f32, *restrict mask = d->mask;
  float *restrict dx = din->f32;
  for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU: the mask drawn on the host from the same stream
** (the numbers of a CPU run), copied over, and applied by dropout.cu. */
int dropout_apply_launch(const float *x, const float *mask, float *y, int64_t n);

static int dropout_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                const lunet_ctx *ctx) {
  dropout *d = self;
  int B = in->shape.dim[0];
  size_t bytes = sizeof(float) * (size_t)(B * d->n);
  const lunet_device_services *gpu = host->device[LUNET_CUDA];
  if (!ctx->train) return out->f32 == in->f32 ? 0 : gpu->copy(out->f32, in->f32, bytes, LUNET_COPY_ON_DEVICE);
  if (!d->dmask) {
    host->error("dropout: forward on the GPU before reserve() for it");
    return 1;
  }
  if (draw_mask(d, B, ctx->rng) || gpu->copy(d->dmask, d->mask, bytes, LUNET_COPY_TO_DEVICE)) return 1;
  return lunet_cuda_check("dropout", dropout_apply_launch(in->f32, d->dmask, out->f32, B * d->n));
}

static int dropout_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                 const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  dropout *d = self;
  int64_t n = in->shape.dim[0] * d->n;
  (void)out;
  if (!din) return 0;
  if (!ctx->train)
    return din->f32 == dout->f32 ? 0 : host->device[LUNET_CUDA]->copy(din->f32, dout->f32, sizeof(float) * (size_t)n,
                                                                      LUNET_COPY_ON_DEVICE);
  return lunet_cuda_check("dropout", dropout_apply_launch(dout->f32, d->dmask, din->f32, n));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = dropout_create,
  .destroy = dropout_destroy,
  .reserve = dropout_reserve,
  .forward = {[LUNET_CPU] = dropout_forward LUNET_ON_CUDA(dropout_forward_cuda)},
  .backward = {[LUNET_CPU] = dropout_backward LUNET_ON_CUDA(dropout_backward_cuda)},
  .check_input = {{1, {6}}},
};

LUNET_LAYER_PLUGIN(api, "dropout", "2.0.0",
                   "inverted dropout y = x mask / (1 - p) in training, identity in eval",
                   LUNET_PARAMS(params))
