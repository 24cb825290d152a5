/*
** dense.c -- the fully connected layer, y = x W^T + b.
**
** The template for a layer plugin: declare parameters, declare the weights
** in create() (the host owns their memory) and write forward/backward as
** GEMMs through the host. Any input shape is flattened to (B, in); the
** output is (B, out). Parameters as PyTorch's nn.Linear: weight (out, in),
** bias (out).
*/
#include <lunet/helpers.h>

enum { P_OUT, P_INIT, P_STD, P_BIAS };

static const lunet_param_decl params[] = {
  [P_OUT] = {"out", LUNET_INT, 8, 1, 1 << 24, NULL, NULL, "number of output units", LUNET_REQUIRED},
  [P_INIT] = {"init", LUNET_STRING, 0, 0, 0, "he", LUNET_INIT_CHOICES,
              "weight init: he N(0,2/in), xavier U(+-sqrt(6/(in+out))), normal N(0,std^2)", 0},
  [P_STD] = {"std", LUNET_NUMBER, 0.01, 0, 1e6, NULL, NULL, "standard deviation for init=normal", 0},
  [P_BIAS] = {"bias", LUNET_BOOL, 1, 0, 1, NULL, NULL, "add a learned bias", 0},
};

typedef struct dense {
  int in, out;
  int has_bias;
  lunet_tensor w, dw; /* (out, in) */
  lunet_tensor b, db; /* (out) */
} dense;

static void dense_destroy(void *self) { host->free(self); }

static void *dense_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                          lunet_build *b) {
  int64_t n_in = lunet_numel(in);
  if (n_in > 1 << 30) {
    host->error("dense: input has %lld features per sample, expected at most %d",
                (long long)n_in, 1 << 30);
    return NULL;
  }
  dense *d = host->alloc(sizeof *d);
  if (!d) return NULL;
  d->in = (int)n_in;
  d->out = (int)p[P_OUT].num;
  d->has_bias = p[P_BIAS].num != 0;
  if (b->param(b, "weight", &d->w, &d->dw, &(lunet_shape){2, {d->out, d->in}}) ||
      (d->has_bias && b->param(b, "bias", &d->b, &d->db, &(lunet_shape){1, {d->out}}))) {
    dense_destroy(d);
    return NULL;
  }
  lunet_init_weights(d->w.f32, (int64_t)d->out * d->in, p[P_INIT].str, d->in, d->out,
                     p[P_STD].num, b->rng);
  *out = (lunet_shape){1, {d->out}};
  return d;
}

/* y = x W^T + b    (B, in) -> (B, out) */
static int dense_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                         const lunet_ctx *ctx) {
  dense *d = self;
  int B = in->shape.dim[0];
  (void)ctx;
  if (d->has_bias)
    for (int i = 0; i < B; i++) memcpy(out->f32 + (size_t)i * d->out, d->b.f32, sizeof(float) * d->out);
  host->gemm(0, 1, B, d->out, d->in, 1.0f, in->f32, d->in, d->w.f32, d->in,
             d->has_bias ? 1.0f : 0.0f, out->f32, d->out);
  return 0;
}

/* dW = dy^T x,  db = sum_i dy_i,  dx = dy W    (B, out) -> (B, in) */
static int dense_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                          const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  dense *d = self;
  int B = in->shape.dim[0];
  (void)out, (void)ctx;
  host->gemm(1, 0, d->out, d->in, B, 1.0f, dout->f32, d->out, in->f32, d->in, 0.0f, d->dw.f32, d->in);
  if (d->has_bias) {
    memset(d->db.f32, 0, sizeof(float) * d->out);
    for (int i = 0; i < B; i++) {
      const float *g = dout->f32 + (size_t)i * d->out;
      for (int j = 0; j < d->out; j++) d->db.f32[j] += g[j];
    }
  }
  if (din)
    host->gemm(0, 0, B, d->in, d->out, 1.0f, dout->f32, d->out, d->w.f32, d->in, 0.0f, din->f32, d->in);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU: the GEMMs through the device's services (cuBLAS),
** the bias by the kernels of dense.cu (rows.cuh). */
int rows_fill_launch(float *y, const float *b, int64_t rows, int n);
int rows_sum_launch(float *db, const float *dy, int64_t rows, int n);

static int dense_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                              const lunet_ctx *ctx) {
  dense *d = self;
  int B = in->shape.dim[0];
  (void)ctx;
  if (d->has_bias && lunet_cuda_check("dense", rows_fill_launch(out->f32, d->b.f32, B, d->out))) return -1;
  host->device[LUNET_CUDA]->gemm(0, 1, B, d->out, d->in, 1.0f, in->f32, d->in, d->w.f32, d->in,
                                 d->has_bias ? 1.0f : 0.0f, out->f32, d->out);
  return 0;
}

static int dense_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                               const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  dense *d = self;
  int B = in->shape.dim[0];
  const lunet_device_services *gpu = host->device[LUNET_CUDA];
  (void)out, (void)ctx;
  gpu->gemm(1, 0, d->out, d->in, B, 1.0f, dout->f32, d->out, in->f32, d->in, 0.0f, d->dw.f32, d->in);
  if (d->has_bias && lunet_cuda_check("dense", rows_sum_launch(d->db.f32, dout->f32, B, d->out))) return -1;
  if (din)
    gpu->gemm(0, 0, B, d->in, d->out, 1.0f, dout->f32, d->out, d->w.f32, d->in, 0.0f, din->f32, d->in);
  return 0;
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = dense_create,
  .destroy = dense_destroy,
  .forward = {[LUNET_CPU] = dense_forward LUNET_ON_CUDA(dense_forward_cuda)},
  .backward = {[LUNET_CPU] = dense_backward LUNET_ON_CUDA(dense_backward_cuda)},
};

LUNET_LAYER_PLUGIN(api, "dense", "2.0.0", "fully connected layer y = x W^T + b", LUNET_PARAMS(params))
