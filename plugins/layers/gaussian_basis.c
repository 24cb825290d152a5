/*
** gaussian_basis.c -- fixed Gaussian basis functions (Bishop, PRML section
** 3.1, eq. 3.4):
**
**     phi_j(x) = exp(-(x - mu_j)^2 / (2 s^2)),   j = 1..centers,
**
** with the centres mu_j evenly spaced over [lo, hi], endpoints included
** (mu_j = lo + (j - 1) (hi - lo) / (centers - 1); a single centre sits at
** (lo + hi) / 2), and the common width s.
**
** Vector inputs: each of the d input values is expanded on its own, so a
** (B, d) input gives (B, d * centers) outputs, the block of value i first:
** y[i*centers + j] = phi_j(x_i). A dense layer on top is then an additive
** model sum_i f_i(x_i) -- the number of features grows linearly with d,
** where a grid of radial centres would grow like centers^d. Any input shape
** is flattened. Nothing is trained and nothing is declared to the host (the
** centres follow from the hyper-parameters); the layer back-propagates to
** its input. The bias phi_0 = 1 is the dense layer's own bias.
*/
#include <lunet/helpers.h>

enum { P_CENTERS, P_LO, P_HI, P_S };

static const lunet_param_decl params[] = {
  [P_CENTERS] = {"centers", LUNET_INT, 9, 1, 1 << 20, NULL, NULL,
                 "number of basis functions per input value", LUNET_REQUIRED},
  [P_LO] = {"lo", LUNET_NUMBER, 0, -1e12, 1e12, NULL, NULL, "first centre", 0},
  [P_HI] = {"hi", LUNET_NUMBER, 1, -1e12, 1e12, NULL, NULL, "last centre (>= lo)", 0},
  [P_S] = {"s", LUNET_NUMBER, 0.1, 1e-12, 1e12, NULL, NULL,
           "width s of exp(-(x - mu)^2 / (2 s^2))", 0},
};

typedef struct gbasis {
  int d, c;     /* input values, centres */
  double *mu;   /* (c) centres */
  double inv2s2; /* 1 / (2 s^2) */
} gbasis;

static void gb_destroy(void *self) {
  gbasis *l = self;
  if (!l) return;
  host->free(l->mu);
  host->free(l);
}

static void *gb_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                       lunet_build *b) {
  (void)b;
  double lo = p[P_LO].num, hi = p[P_HI].num, s = p[P_S].num;
  int c = (int)p[P_CENTERS].num;
  if (!(hi >= lo)) {
    host->error("gaussian_basis: hi = %g is below lo = %g, expected lo <= hi", hi, lo);
    return NULL;
  }
  int64_t d = lunet_numel(in);
  if (d * c > (1 << 30)) {
    host->error("gaussian_basis: %lld inputs x %d centers is too many outputs, expected at most "
                "2^30", (long long)d, c);
    return NULL;
  }
  gbasis *l = host->alloc(sizeof *l);
  if (!l || !(l->mu = host->alloc(sizeof(double) * (size_t)c))) {
    gb_destroy(l);
    return NULL;
  }
  l->d = (int)d;
  l->c = c;
  l->inv2s2 = 1.0 / (2.0 * s * s);
  for (int j = 0; j < c; j++) l->mu[j] = c > 1 ? lo + j * (hi - lo) / (c - 1) : (lo + hi) / 2;
  *out = (lunet_shape){1, {l->d * c}};
  return l;
}

/* y[i*c + j] = exp(-(x_i - mu_j)^2 / (2 s^2))    (B, d) -> (B, d c) */
static int gb_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                      const lunet_ctx *ctx) {
  gbasis *l = self;
  int64_t n = (int64_t)in->shape.dim[0] * l->d;
  (void)ctx;
  for (int64_t i = 0; i < n; i++) {
    float *y = out->f32 + i * l->c;
    for (int j = 0; j < l->c; j++) {
      double t = in->f32[i] - l->mu[j];
      y[j] = (float)exp(-t * t * l->inv2s2);
    }
  }
  return 0;
}

/* dx_i = sum_j dy_ij y_ij (mu_j - x_i) / s^2    (B, d c) -> (B, d) */
static int gb_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                       const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  gbasis *l = self;
  int64_t n = (int64_t)in->shape.dim[0] * l->d;
  (void)ctx;
  if (!din) return 0;
  for (int64_t i = 0; i < n; i++) {
    const float *y = out->f32 + i * l->c, *dy = dout->f32 + i * l->c;
    double g = 0;
    for (int j = 0; j < l->c; j++) g += dy[j] * y[j] * (l->mu[j] - in->f32[i]);
    din->f32[i] = (float)(g * 2.0 * l->inv2s2);
  }
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = gb_create,
  .destroy = gb_destroy,
  .forward = {[LUNET_CPU] = gb_forward},
  .backward = {[LUNET_CPU] = gb_backward},
  .check_input = {{1, {3}}},
};

LUNET_LAYER_PLUGIN(api, "gaussian_basis", "2.0.0",
                   "fixed Gaussian basis exp(-(x - mu_j)^2 / (2 s^2)), centres evenly spaced (PRML 3.1)",
                   LUNET_PARAMS(params))
