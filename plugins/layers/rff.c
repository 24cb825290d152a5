/*
** rff.c -- random Fourier features (Rahimi & Recht 2007), the fixed first
** layer of Belkin et al. 2019's double-descent experiments.
**
** For an input x (d values; any shape is flattened) and N = features/2
** frequencies v_k ~ N(0, sigma^-2 I_d), drawn once at create from the
** layer's own stream seeded with `seed`:
**
**     y = c [cos(v_1.x), ..., cos(v_N.x), sin(v_1.x), ..., sin(v_N.x)]
**
** with c = 1/sqrt(N) when `normalize` is set (the default), else 1. What
** `features` counts: the number of OUTPUT values, 2N -- the real and
** imaginary parts of Belkin's N complex features exp(i v_k.x). A dense
** layer on top therefore has `features` weights per output, and min-norm
** least squares on n samples interpolates once features >= n.
**
** With normalize, y(x).y(x') = (1/N) sum_k cos(v_k.(x - x')), whose mean is
** the Gaussian kernel exp(-|x - x'|^2 / (2 sigma^2)): as N grows the model
** tends to kernel regression and the coefficient norm to the kernel's
** RKHS norm, which is what makes Belkin's norm curve meaningful. Without it
** the norm shrinks like 1/sqrt(N) for no interesting reason.
**
** Not trained: the frequencies are the buffer "frequencies" (grad NULL),
** owned by the host, saved in checkpoints and never updated; the layer
** back-propagates to its input.
*/
#include <lunet/helpers.h>

enum { P_FEATURES, P_SIGMA, P_SEED, P_NORMALIZE };

static const lunet_param_decl params[] = {
  [P_FEATURES] = {"features", LUNET_INT, 64, 2, 1 << 24, NULL, NULL,
                  "output values, even: features/2 frequencies, each giving a cos and a sin",
                  LUNET_REQUIRED},
  [P_SIGMA] = {"sigma", LUNET_NUMBER, 1, 1e-12, 1e12, NULL, NULL,
               "kernel width: frequencies v ~ N(0, sigma^-2 I)", 0},
  [P_SEED] = {"seed", LUNET_INT, 1, 0, 9007199254740992.0, NULL, NULL,
              "seed of the layer's own stream that draws the frequencies", 0},
  [P_NORMALIZE] = {"normalize", LUNET_BOOL, 1, 0, 1, NULL, NULL,
                   "scale by 1/sqrt(features/2), so that y(x).y(x') -> the Gaussian kernel", 0},
};

typedef struct rff {
  int d, nf;        /* input values, frequencies N */
  float scale;      /* c */
  lunet_tensor v;   /* (N, d) frequencies, a buffer */
  float *g;         /* (max_batch, N) scratch of backward */
  int max_batch;
} rff;

static void rff_destroy(void *self) {
  rff *l = self;
  if (!l) return;
  host->free(l->g);
  host->free(l);
}

static void *rff_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                        lunet_build *b) {
  int features = (int)p[P_FEATURES].num;
  if (features % 2) {
    host->error("rff: features = %d, expected an even number (features/2 frequencies, each "
                "giving a cos and a sin)", features);
    return NULL;
  }
  rff *l = host->alloc(sizeof *l);
  if (!l) return NULL;
  l->d = (int)lunet_numel(in);
  l->nf = features / 2;
  l->scale = p[P_NORMALIZE].num != 0 ? (float)(1.0 / sqrt(l->nf)) : 1.0f;
  if (b->param(b, "frequencies", &l->v, NULL, &(lunet_shape){2, {l->nf, l->d}})) {
    rff_destroy(l);
    return NULL;
  }
  lunet_rng own; /* the frequencies come from the layer's own seed, not b->rng */
  host->rng_seed(&own, (uint64_t)p[P_SEED].num);
  double sd = 1.0 / p[P_SIGMA].num;
  for (int64_t i = 0; i < (int64_t)l->nf * l->d; i++) l->v.f32[i] = (float)(sd * host->rng_normal(&own));
  *out = (lunet_shape){1, {features}};
  return l;
}

static int rff_reserve(void *self, int max_batch, int device) {
  rff *l = self;
  (void)device;
  if (max_batch <= l->max_batch) return 0;
  host->free(l->g);
  l->g = host->alloc(sizeof(float) * (size_t)max_batch * (size_t)l->nf);
  l->max_batch = l->g ? max_batch : 0;
  return l->g ? 0 : -1;
}

/* z = x V^T, y = c [cos z, sin z]    (B, d) -> (B, 2N) */
static int rff_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                       const lunet_ctx *ctx) {
  rff *l = self;
  int B = in->shape.dim[0], N = l->nf;
  (void)ctx;
  /* z goes into the cos half of each output row (leading dimension 2N) */
  host->gemm(0, 1, B, N, l->d, 1.0f, in->f32, l->d, l->v.f32, l->d, 0.0f, out->f32, 2 * N);
  for (int i = 0; i < B; i++) {
    float *row = out->f32 + (size_t)i * 2 * N;
    for (int k = 0; k < N; k++) {
      float z = row[k];
      row[k] = l->scale * cosf(z);
      row[N + k] = l->scale * sinf(z);
    }
  }
  return 0;
}

/* g = -dy_cos * y_sin + dy_sin * y_cos,  dx = g V    (B, 2N) -> (B, d) */
static int rff_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                        const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  rff *l = self;
  int B = in->shape.dim[0], N = l->nf;
  (void)ctx;
  if (!din) return 0; /* nothing trained here */
  if (B > l->max_batch) {
    host->error("rff: backward of a batch of %d rows, expected at most the %d given to reserve()",
                B, l->max_batch);
    return -1;
  }
  for (int i = 0; i < B; i++) {
    const float *y = out->f32 + (size_t)i * 2 * N, *dy = dout->f32 + (size_t)i * 2 * N;
    float *g = l->g + (size_t)i * N;
    for (int k = 0; k < N; k++) g[k] = -dy[k] * y[N + k] + dy[N + k] * y[k];
  }
  host->gemm(0, 0, B, l->d, N, 1.0f, l->g, N, l->v.f32, l->d, 0.0f, din->f32, l->d);
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = rff_create,
  .destroy = rff_destroy,
  .reserve = rff_reserve,
  .forward = {[LUNET_CPU] = rff_forward},
  .backward = {[LUNET_CPU] = rff_backward},
};

LUNET_LAYER_PLUGIN(api, "rff", "2.0.0",
                   "random Fourier features c [cos(Vx), sin(Vx)], V ~ N(0, sigma^-2), fixed",
                   LUNET_PARAMS(params))
