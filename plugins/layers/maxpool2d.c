/*
** maxpool2d.c -- 2-D max pooling over k x k windows.
**
**   y[b,c,i,j] = max_{u,v < k} x[b, c, i s - p + u, j s - p + v]
**
** Input (B, C, H, W), output (B, C, Ho, Wo), Ho = floor((H + 2p - k) / s) + 1.
** Padding is -infinity (it never wins, as in PyTorch); a window that lies
** wholly in the padding is refused at create. Forward remembers, for each
** output, which input element won (ties: the first in row-major order);
** backward routes the gradient there. The argmax indices live in scratch
** sized by reserve(max_batch). The geometry is window2d.h's. Every forward,
** training or eval, records the winners, so backward after an eval forward
** routes dy by that forward's argmax (the function is the same in both modes).
*/
#include <float.h>

#include "window2d.h"

enum { P_KERNEL, P_STRIDE, P_PAD };

static const lunet_param_decl params[] = {
  [P_KERNEL] = {"kernel", LUNET_INT, 2, 1, 1024, NULL, NULL, "window size k (k x k)", 0},
  [P_STRIDE] = {"stride", LUNET_INT, 0, 0, 1024, NULL, NULL, "step between windows; 0 means k", 0},
  [P_PAD] = {"padding", LUNET_INT, 0, 0, 1024, NULL, NULL, "implicit -inf border on each side, at most k/2", 0},
};

typedef struct maxpool {
  geom g;      /* d = 1 */
  int *argmax; /* (max_batch, C, Ho, Wo): flat index into the input image */
  int cap;     /* rows argmax holds */
  int device;  /* where argmax lives */
} maxpool;

static void *maxpool_create(const lunet_value *pv, const lunet_shape *in, lunet_shape *out, lunet_build *b) {
  geom g;
  int k = (int)pv[P_KERNEL].num, s = pv[P_STRIDE].num ? (int)pv[P_STRIDE].num : k;
  (void)b;
  if (pool_geometry("maxpool2d", in, k, s, (int)pv[P_PAD].num, &g)) return NULL;
  maxpool *m = host->alloc(sizeof *m);
  if (!m) return NULL;
  *m = (maxpool){g, NULL, 0, LUNET_CPU};
  *out = (lunet_shape){3, {g.C, g.Ho, g.Wo}};
  return m;
}

static void maxpool_destroy(void *self) {
  maxpool *m = self;
  lunet_free_on(m->device, m->argmax);
  host->free(m);
}

static int maxpool_reserve(void *self, int max_batch, int device) {
  maxpool *m = self;
  lunet_free_on(m->device, m->argmax);
  m->device = device;
  m->argmax = host->device[device]->alloc(sizeof(int) * (size_t)max_batch * (size_t)(m->g.C * m->g.Ho * m->g.Wo));
  m->cap = m->argmax ? max_batch : 0;
  return m->argmax ? 0 : -1;
}

/* The common case, windows wholly inside the image (no padding): no bounds
** checks in the inner loops. Same winners as pool_plane: the first maximum. */
static void pool_plane_inside(const geom *m, const float *x, float *y, int *arg) {
  for (int i = 0; i < m->Ho; i++)
    for (int j = 0; j < m->Wo; j++) {
      int where = i * m->s * m->W + j * m->s;
      float best = x[where];
      for (int u = 0; u < m->k; u++) {
        const float *row = x + (i * m->s + u) * m->W + j * m->s;
        for (int v = 0; v < m->k; v++)
          if (row[v] > best) best = row[v], where = (i * m->s + u) * m->W + j * m->s + v;
      }
      y[i * m->Wo + j] = best;
      arg[i * m->Wo + j] = where;
    }
}

/* 2x2 windows at stride 2, the usual downsampling: window (i, j) reads
** r0[2j], r0[2j + 1], r1[2j], r1[2j + 1] of image rows r0 = 2i, r1 = 2i + 1.
** Same scan order and strict > as the general paths. */
static void pool_plane_2x2(const geom *m, const float *x, float *restrict y, int *restrict arg) {
  for (int i = 0; i < m->Ho; i++, y += m->Wo, arg += m->Wo) {
    int top = 2 * i * m->W;
    const float *r0 = x + top, *r1 = r0 + m->W;
    for (int j = 0; j < m->Wo; j++) {
      float best = r0[2 * j];
      int where = top + 2 * j;
      if (r0[2 * j + 1] > best) best = r0[2 * j + 1], where = top + 2 * j + 1;
      if (r1[2 * j] > best) best = r1[2 * j], where = top + m->W + 2 * j;
      if (r1[2 * j + 1] > best) best = r1[2 * j + 1], where = top + m->W + 2 * j + 1;
      y[j] = best;
      arg[j] = where;
    }
  }
}

/* One image plane (H, W) -> (Ho, Wo), recording the winners. */
static void pool_plane(const geom *m, const float *x, float *y, int *arg) {
  if (m->p == 0 && m->k == 2 && m->s == 2) {
    pool_plane_2x2(m, x, y, arg);
    return;
  }
  if (m->p == 0) {
    pool_plane_inside(m, x, y, arg);
    return;
  }
  for (int i = 0; i < m->Ho; i++)
    for (int j = 0; j < m->Wo; j++) {
      float best = -FLT_MAX;
      int where = -1;
      FOR_WINDOW(m, i, j, if (where < 0 || x[at] > best) best = x[at], where = at);
      y[i * m->Wo + j] = best;
      arg[i * m->Wo + j] = where;
    }
}

/* One call's tensors; the kernels run on image planes [lo, hi) of B C. */
typedef struct planes {
  const maxpool *m;
  const float *src; /* forward: x; backward: dy */
  float *dst;       /* forward: y; backward: dx */
} planes;

/* y = max over each window    (B, C, H, W) -> (B, C, Ho, Wo) */
static void forward_planes(void *ctx, int64_t lo, int64_t hi) {
  const planes *t = ctx;
  const geom *g = &t->m->g;
  for (int64_t q = lo; q < hi; q++)
    pool_plane(g, t->src + q * g->H * g->W, t->dst + q * g->Ho * g->Wo, t->m->argmax + q * g->Ho * g->Wo);
}

/* dx[argmax] += dy, zero elsewhere    (B, C, Ho, Wo) -> (B, C, H, W) */
static void backward_planes(void *ctx, int64_t lo, int64_t hi) {
  const planes *t = ctx;
  const geom *g = &t->m->g;
  int n_out = g->Ho * g->Wo, n_in = g->H * g->W;
  for (int64_t q = lo; q < hi; q++) {
    float *dx = t->dst + q * n_in;
    const float *dy = t->src + q * n_out;
    const int *arg = t->m->argmax + q * n_out;
    memset(dx, 0, sizeof(float) * (size_t)n_in);
    for (int o = 0; o < n_out; o++) dx[arg[o]] += dy[o];
  }
}

/* Planes per thread at least: ~32k input values. */
static int64_t grain(const maxpool *m) { return 1 + (1 << 15) / ((int64_t)m->g.H * m->g.W); }

static int maxpool_forward(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  maxpool *m = self;
  planes t = {m, in->f32, out->f32};
  (void)ctx;
  if (in->shape.dim[0] > m->cap) {
    host->error("maxpool2d: batch of %d rows but reserve() sized %d", in->shape.dim[0], m->cap);
    return -1;
  }
  host->parallel_for((int64_t)in->shape.dim[0] * m->g.C, grain(m), forward_planes, &t);
  return 0;
}

static int maxpool_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                            const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  maxpool *m = self;
  (void)out, (void)ctx;
  if (!din) return 0;
  planes t = {m, dout->f32, din->f32};
  host->parallel_for((int64_t)in->shape.dim[0] * m->g.C, grain(m), backward_planes, &t);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same windows on the GPU (maxpool2d.cu; geom as window2d.h's). */
int maxpool_forward_launch(const void *geom, const float *x, float *y, int *argmax, int64_t planes);
int maxpool_backward_launch(const void *geom, const float *dy, const int *argmax, float *dx, int64_t planes);

static int maxpool_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out, const lunet_ctx *ctx) {
  maxpool *m = self;
  (void)ctx;
  if (in->shape.dim[0] > m->cap) {
    host->error("maxpool2d: batch of %d rows but reserve() sized %d", in->shape.dim[0], m->cap);
    return -1;
  }
  return lunet_cuda_check("maxpool2d", maxpool_forward_launch(&m->g, in->f32, out->f32, m->argmax,
                                                              (int64_t)in->shape.dim[0] * m->g.C));
}

static int maxpool_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                 const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  maxpool *m = self;
  (void)out, (void)ctx;
  if (!din) return 0;
  return lunet_cuda_check("maxpool2d", maxpool_backward_launch(&m->g, dout->f32, m->argmax, din->f32,
                                                               (int64_t)in->shape.dim[0] * m->g.C));
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = maxpool_create,
  .destroy = maxpool_destroy,
  .reserve = maxpool_reserve,
  .forward = {[LUNET_CPU] = maxpool_forward LUNET_ON_CUDA(maxpool_forward_cuda)},
  .backward = {[LUNET_CPU] = maxpool_backward LUNET_ON_CUDA(maxpool_backward_cuda)},
  .check_input = {{3, {2, 6, 6}}},
};

LUNET_LAYER_PLUGIN(api, "maxpool2d", "2.0.0", "2-D max pooling over k x k windows (stride, -inf padding)",
                   LUNET_PARAMS(params))
