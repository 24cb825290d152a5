/*
** positional.c -- positional encodings: y[t] = x[t] + PE[t], (T, E) -> (T, E).
**
** kind = "sinusoidal" is the fixed encoding of "Attention is all you need":
**     PE[t, 2i] = sin(t / 10000^(2i/E)),  PE[t, 2i+1] = cos(t / 10000^(2i/E)),
** computed once in float64 at create for the T positions of the input (no
** parameter; an odd E ends on a sine). kind = "learned" is a trained table
** `weight` (max_len, E), initialised N(0, 1) as torch.nn.Embedding, whose
** first T rows are added (GPT-2's wpe). Either way T must be at most max_len.
*/
#include <lunet/helpers.h>

enum { P_KIND, P_MAX_LEN };

static const lunet_param_decl params[] = {
  [P_KIND] = {"kind", LUNET_STRING, 0, 0, 0, "sinusoidal", "sinusoidal|learned",
              "fixed sines and cosines, or a learned table (max_len, E)", 0},
  [P_MAX_LEN] = {"max_len", LUNET_INT, 512, 1, 1 << 20, NULL, NULL,
                 "longest sequence the layer accepts (rows of the learned table)", 0},
};

typedef struct positional {
  int T, E, learned;
  float *table;       /* sinusoidal: PE (T, E), owned here */
  lunet_tensor w, dw; /* learned: weight (max_len, E) */
} positional;

static void positional_destroy(void *self) {
  positional *p = self;
  if (!p) return;
  host->free(p->table);
  host->free(p);
}

/* PE[t, 2i] = sin(t w_i), PE[t, 2i+1] = cos(t w_i), w_i = 10000^(-2i/E)    -> (T, E) */
static void sinusoids(float *pe, int T, int E) {
  for (int t = 0; t < T; t++)
    for (int j = 0; j < E; j++) {
      double a = t * pow(10000.0, -(double)(j - j % 2) / E);
      pe[(int64_t)t * E + j] = (float)(j % 2 ? cos(a) : sin(a));
    }
}

static void *positional_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                               lunet_build *b) {
  char buf[LUNET_SHAPE_TEXT];
  int max_len = (int)p[P_MAX_LEN].num;
  if (in->ndim != 2 || in->dim[0] < 1 || in->dim[1] < 1) {
    host->error("positional: expected input (T, E) with T, E >= 1, got %s",
                lunet_shape_text(in, buf));
    return NULL;
  }
  if (in->dim[0] > max_len) {
    host->error("positional: sequence length T = %d exceeds max_len = %d; raise max_len",
                in->dim[0], max_len);
    return NULL;
  }
  positional *l = host->alloc(sizeof *l);
  if (!l) return NULL;
  l->T = in->dim[0], l->E = in->dim[1];
  l->learned = strcmp(p[P_KIND].str, "learned") == 0;
  if (l->learned) {
    if (b->param(b, "weight", &l->w, &l->dw, &(lunet_shape){2, {max_len, l->E}})) {
      positional_destroy(l);
      return NULL;
    }
    for (int64_t i = 0; i < (int64_t)max_len * l->E; i++)
      l->w.f32[i] = (float)host->rng_normal(b->rng);
  } else {
    if (!(l->table = lunet_alloc_floats((int64_t)l->T * l->E))) {
      positional_destroy(l);
      return NULL;
    }
    sinusoids(l->table, l->T, l->E);
  }
  *out = *in;
  return l;
}

/* y[b, t] = x[b, t] + PE[t]    (B, T, E) -> (B, T, E) */
static int positional_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                              const lunet_ctx *ctx) {
  positional *l = self;
  int64_t n = (int64_t)l->T * l->E;
  const float *pe = l->learned ? l->w.f32 : l->table;
  (void)ctx;
  for (int64_t s = 0; s < in->shape.dim[0]; s++)
    for (int64_t i = 0; i < n; i++) out->f32[s * n + i] = in->f32[s * n + i] + pe[i];
  return 0;
}

/* dx = dy;  dW[t] = sum over the batch of dy[b, t] for t < T, 0 beyond */
static int positional_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                               const lunet_tensor *dout, lunet_tensor *din,
                               const lunet_ctx *ctx) {
  positional *l = self;
  int64_t n = (int64_t)l->T * l->E, B = in->shape.dim[0];
  (void)out, (void)ctx;
  if (l->learned) {
    memset(l->dw.f32, 0, sizeof(float) * (size_t)lunet_numel(&l->dw.shape));
    for (int64_t s = 0; s < B; s++)
      for (int64_t i = 0; i < n; i++) l->dw.f32[i] += dout->f32[s * n + i];
  }
  if (din) memcpy(din->f32, dout->f32, sizeof(float) * (size_t)(B * n));
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same on the GPU (positional.cu): the sinusoids are computed there,
** the gradient's copy goes through the device's services. */
int positional_forward_launch(const float *x, const float *pe, float *y, int64_t B, int T, int E);
int positional_weight_grad_launch(const float *dy, float *dw, int64_t B, int T, int E, int max_len);

static int positional_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                   const lunet_ctx *ctx) {
  positional *l = self;
  (void)ctx;
  return lunet_cuda_check("positional", positional_forward_launch(in->f32, l->learned ? l->w.f32 : NULL, out->f32,
                                                                  in->shape.dim[0], l->T, l->E));
}

static int positional_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                    const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  positional *l = self;
  int64_t B = in->shape.dim[0];
  (void)out, (void)ctx;
  if (l->learned && lunet_cuda_check("positional", positional_weight_grad_launch(dout->f32, l->dw.f32, B, l->T, l->E,
                                                                                 l->w.shape.dim[0])))
    return -1;
  if (!din) return 0;
  return host->device[LUNET_CUDA]->copy(din->f32, dout->f32, sizeof(float) * (size_t)(B * l->T * l->E),
                                        LUNET_COPY_ON_DEVICE);
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = positional_create,
  .destroy = positional_destroy,
  .forward = {[LUNET_CPU] = positional_forward LUNET_ON_CUDA(positional_forward_cuda)},
  .backward = {[LUNET_CPU] = positional_backward LUNET_ON_CUDA(positional_backward_cuda)},
  .check_input = {{2, {3, 4}}},
};

LUNET_LAYER_PLUGIN(api, "positional", "2.1.0",
                   "adds a sinusoidal or learned positional encoding, (T, E) -> (T, E)",
                   LUNET_PARAMS(params))
