/*
** avgpool2d.c -- 2-D average pooling over k x k windows.
**
**   y[b,c,i,j] = 1/k^2 sum_{u,v < k} x[b, c, i s - p + u, j s - p + v]
**
** Input (B, C, H, W), output (B, C, Ho, Wo), Ho = floor((H + 2p - k) / s) + 1.
** Padding counts as zeros and the divisor is always the full k^2 (PyTorch's
** default, count_include_pad = True). Linear, so backward spreads dy/k^2
** back over each window; no scratch is needed.
*/
#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_KERNEL, P_STRIDE, P_PAD };

static const lunet_param_decl params[] = {
  [P_KERNEL] = {"kernel", LUNET_INT, 2, 1, 1024, NULL, NULL, "window size k (k x k)", 0},
  [P_STRIDE] = {"stride", LUNET_INT, 0, 0, 1024, NULL, NULL, "step between windows; 0 means k", 0},
  [P_PAD] = {"padding", LUNET_INT, 0, 0, 1024, NULL, NULL, "zeros added on each side, at most k/2", 0},
};

typedef struct avgpool {
  int C, H, W, k, s, p, Ho, Wo;
} avgpool;

static void *avgpool_create(const lunet_value *pv, const lunet_shape *in, lunet_shape *out, lunet_rng *rng) {
  (void)rng;
  if (in->ndim != 3) {
    host->error("avgpool2d: expected input (C, H, W), got %d dimension%s", in->ndim, in->ndim == 1 ? "" : "s");
    return NULL;
  }
  int k = (int)pv[P_KERNEL].num, s = pv[P_STRIDE].num ? (int)pv[P_STRIDE].num : k, p = (int)pv[P_PAD].num;
  if (2 * p > k) {
    host->error("avgpool2d: padding %d is more than half the kernel %d", p, k);
    return NULL;
  }
  if (in->dim[1] + 2 * p < k || in->dim[2] + 2 * p < k) {
    host->error("avgpool2d: a %dx%d window does not fit the %dx%d input with padding %d", k, k, in->dim[1],
                in->dim[2], p);
    return NULL;
  }
  avgpool *a = host->alloc(sizeof *a);
  if (!a) return NULL;
  *a = (avgpool){in->dim[0], in->dim[1], in->dim[2], k, s, p, (in->dim[1] + 2 * p - k) / s + 1,
                 (in->dim[2] + 2 * p - k) / s + 1};
  *out = (lunet_shape){3, {a->C, a->Ho, a->Wo}};
  return a;
}

static void avgpool_destroy(void *self) { host->free(self); }

static int avgpool_parameters(void *self, lunet_param *out, int cap) {
  (void)self, (void)out, (void)cap;
  return 0;
}

/* Runs `body` for the index `at` of every input pixel in the window of
** output (i, j), padding skipped. Shared by forward and backward so both
** read the same windows. */
#define FOR_WINDOW(a, i, j, body)                              \
  for (int u = 0; u < (a)->k; u++) {                           \
    int r = (i) * (a)->s - (a)->p + u;                         \
    if (r < 0 || r >= (a)->H) continue;                        \
    for (int v = 0; v < (a)->k; v++) {                         \
      int c = (j) * (a)->s - (a)->p + v;                       \
      if (c < 0 || c >= (a)->W) continue;                      \
      int at = r * (a)->W + c;                                 \
      body;                                                    \
    }                                                          \
  }

/* y = mean over each window    (B, C, H, W) -> (B, C, Ho, Wo) */
static int avgpool_forward(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  avgpool *a = self;
  (void)ctx;
  float scale = 1.0f / (float)(a->k * a->k);
  int planes = in->shape.dim[0] * a->C;
  for (int q = 0; q < planes; q++) {
    const float *x = in->data + (size_t)q * a->H * a->W;
    float *y = out->data + (size_t)q * a->Ho * a->Wo;
    for (int i = 0; i < a->Ho; i++)
      for (int j = 0; j < a->Wo; j++) {
        float sum = 0;
        FOR_WINDOW(a, i, j, sum += x[at]);
        y[i * a->Wo + j] = sum * scale;
      }
  }
  return 0;
}

/* dx = sum over the windows holding x of dy / k^2    (B, C, Ho, Wo) -> (B, C, H, W) */
static int avgpool_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                            const lunet_tensor *dout, lunet_tensor *din) {
  avgpool *a = self;
  (void)out;
  if (!din) return 0;
  float scale = 1.0f / (float)(a->k * a->k);
  int planes = in->shape.dim[0] * a->C;
  for (int q = 0; q < planes; q++) {
    float *dx = din->data + (size_t)q * a->H * a->W;
    const float *dy = dout->data + (size_t)q * a->Ho * a->Wo;
    for (int i = 0; i < a->H * a->W; i++) dx[i] = 0;
    for (int i = 0; i < a->Ho; i++)
      for (int j = 0; j < a->Wo; j++) {
        float g = dy[i * a->Wo + j] * scale;
        FOR_WINDOW(a, i, j, dx[at] += g);
      }
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = avgpool_create,
  .destroy = avgpool_destroy,
  .parameters = avgpool_parameters,
  .forward = {[LUNET_CPU] = avgpool_forward},
  .backward = {[LUNET_CPU] = avgpool_backward},
  .check_input = {3, {2, 5, 5}},
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_LAYER,
  .name = "avgpool2d",
  .version = "1.0.0",
  .summary = "2-D average pooling over k x k windows (zero padding counted)",
  .params = params,
  .n_params = sizeof params / sizeof params[0],
  .layer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
