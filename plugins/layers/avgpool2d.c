/*
** avgpool2d.c -- 2-D average pooling over k x k windows.
**
**   y[b,c,i,j] = 1/k^2 sum_{u,v < k} x[b, c, i s - p + u, j s - p + v]
**
** Input (B, C, H, W), output (B, C, Ho, Wo), Ho = floor((H + 2p - k) / s) + 1.
** Padding counts as zeros and the divisor is always the full k^2 (PyTorch's
** default, count_include_pad = True). Linear, so backward spreads dy/k^2
** back over each window; no scratch is needed. The geometry is window2d.h's.
*/
#include "window2d.h"

enum { P_KERNEL, P_STRIDE, P_PAD };

static const lunet_param_decl params[] = {
  [P_KERNEL] = {"kernel", LUNET_INT, 2, 1, 1024, NULL, NULL, "window size k (k x k)", 0},
  [P_STRIDE] = {"stride", LUNET_INT, 0, 0, 1024, NULL, NULL, "step between windows; 0 means k", 0},
  [P_PAD] = {"padding", LUNET_INT, 0, 0, 1024, NULL, NULL, "zeros added on each side, at most k/2", 0},
};

static void *avgpool_create(const lunet_value *pv, const lunet_shape *in, lunet_shape *out, lunet_build *b) {
  geom g;
  int k = (int)pv[P_KERNEL].num, s = pv[P_STRIDE].num ? (int)pv[P_STRIDE].num : k;
  (void)b;
  if (pool_geometry("avgpool2d", in, k, s, (int)pv[P_PAD].num, &g)) return NULL;
  geom *a = host->alloc(sizeof *a); /* the instance is its geometry, d = 1 */
  if (!a) return NULL;
  *a = g;
  *out = (lunet_shape){3, {g.C, g.Ho, g.Wo}};
  return a;
}

static void avgpool_destroy(void *self) { host->free(self); }

/* y = mean over each window    (B, C, H, W) -> (B, C, Ho, Wo) */
static int avgpool_forward(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  const geom *a = self;
  (void)ctx;
  float scale = 1.0f / (float)(a->k * a->k);
  int planes = in->shape.dim[0] * a->C;
  for (int q = 0; q < planes; q++) {
    const float *x = in->f32 + (size_t)q * a->H * a->W;
    float *y = out->f32 + (size_t)q * a->Ho * a->Wo;
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
                            const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  const geom *a = self;
  (void)out, (void)ctx;
  if (!din) return 0;
  float scale = 1.0f / (float)(a->k * a->k);
  int planes = in->shape.dim[0] * a->C;
  for (int q = 0; q < planes; q++) {
    float *dx = din->f32 + (size_t)q * a->H * a->W;
    const float *dy = dout->f32 + (size_t)q * a->Ho * a->Wo;
    for (int i = 0; i < a->H * a->W; i++) dx[i] = 0;
    for (int i = 0; i < a->Ho; i++)
      for (int j = 0; j < a->Wo; j++) {
        float g = dy[i * a->Wo + j] * scale;
        FOR_WINDOW(a, i, j, dx[at] += g);
      }
  }
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same windows on the GPU (avgpool2d.cu; geom as window2d.h's). */
int avgpool_forward_launch(const void *geom, const float *x, float *y, int64_t planes);
int avgpool_backward_launch(const void *geom, const float *dy, float *dx, int64_t planes);

static int avgpool_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  const geom *a = self;
  (void)ctx;
  return lunet_cuda_check("avgpool2d", avgpool_forward_launch(a, in->f32, out->f32, (int64_t)in->shape.dim[0] * a->C));
}

static int avgpool_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                 const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  const geom *a = self;
  (void)out, (void)ctx;
  if (!din) return 0;
  return lunet_cuda_check("avgpool2d", avgpool_backward_launch(a, dout->f32, din->f32,
                                                               (int64_t)in->shape.dim[0] * a->C));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = avgpool_create,
  .destroy = avgpool_destroy,
  .forward = {[LUNET_CPU] = avgpool_forward LUNET_ON_CUDA(avgpool_forward_cuda)},
  .backward = {[LUNET_CPU] = avgpool_backward LUNET_ON_CUDA(avgpool_backward_cuda)},
  .check_input = {{3, {2, 5, 5}}},
};

LUNET_LAYER_PLUGIN(api, "avgpool2d", "2.0.0", "2-D average pooling over k x k windows (zero padding counted)",
                   LUNET_PARAMS(params))
