/*
** sinusoid.c -- the toy regression data of Bishop's PRML (section 1.1):
** t = sin(2 pi x) + e, e ~ N(0, noise^2).
**
** x is drawn from U(0, 1), or with x = "grid" evenly spaced, x_i = i/(n-1)
** (x_0 = 0 when n = 1), which suits a test curve. The data is generated at
** open() from its own stream seeded with `seed`: per sample, the uniform x
** (uniform only) then the normal e, so the same seed and n give the same
** samples, and changing `noise` keeps the same x and the same unit draws.
** Input {1} holds x, target {1} holds t; classes = 0 (regression).
*/
#include <lunet/helpers.h>

enum { P_N, P_NOISE, P_SEED, P_X };

static const lunet_param_decl params[] = {
  [P_N] = {"n", LUNET_INT, 25, 1, 1e9, NULL, NULL, "number of samples", 0},
  [P_NOISE] = {"noise", LUNET_NUMBER, 0.3, 0, 1e6, NULL, NULL,
               "standard deviation of the Gaussian noise added to sin(2 pi x)", 0},
  [P_SEED] = {"seed", LUNET_INT, 1, 0, 9007199254740992.0, NULL, NULL,
              "seed of the stream that draws x and the noise", 0},
  [P_X] = {"x", LUNET_STRING, 0, 0, 0, "uniform", "uniform|grid",
           "uniform: x ~ U(0,1); grid: x_i = i/(n-1), evenly spaced over [0, 1]", 0},
};

typedef struct sinusoid {
  int64_t n;
  float *x, *t; /* (n) each */
} sinusoid;

static void sin_close(void *self) {
  sinusoid *d = self;
  if (!d) return;
  host->free(d->x);
  host->free(d->t);
  host->free(d);
}

static void generate(sinusoid *d, double noise, int grid, uint64_t seed) {
  const double two_pi = 6.283185307179586476925287;
  lunet_rng rng;
  host->rng_seed(&rng, seed);
  for (int64_t i = 0; i < d->n; i++) {
    double x = grid ? (d->n > 1 ? (double)i / (double)(d->n - 1) : 0.0) : host->rng_uniform(&rng);
    double e = host->rng_normal(&rng); /* drawn even when noise = 0: same stream */
    d->x[i] = (float)x;
    d->t[i] = (float)(sin(two_pi * x) + noise * e);
  }
}

static void *sin_open(const lunet_value *p, lunet_dataset_info *info) {
  int64_t n = (int64_t)p[P_N].num;
  double noise = p[P_NOISE].num;
  if (n < 1) {
    host->error("sinusoid: n = %lld, expected at least 1 sample", (long long)n);
    return NULL;
  }
  if (!(noise >= 0)) {
    host->error("sinusoid: noise = %g, expected a standard deviation >= 0", noise);
    return NULL;
  }
  sinusoid *d = host->alloc(sizeof *d);
  if (!d) return NULL;
  d->n = n;
  d->x = host->alloc(sizeof(float) * (size_t)n);
  d->t = host->alloc(sizeof(float) * (size_t)n);
  if (!d->x || !d->t) {
    sin_close(d);
    return NULL;
  }
  generate(d, noise, strcmp(p[P_X].str, "grid") == 0, (uint64_t)p[P_SEED].num);
  info->n = n;
  info->n_inputs = 1;
  info->input[0] = (lunet_shape){1, {1}};
  info->input_dtype[0] = LUNET_F32;
  info->target = (lunet_shape){1, {1}};
  info->classes = 0;
  return d;
}

/* Copies samples idx[0..n) into x and y; every index is checked first. */
static int sin_get(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  const sinusoid *d = self;
  if (lunet_check_samples("sinusoid", idx, n, d->n)) return -1;
  for (int i = 0; i < n; i++) {
    x[0].f32[i] = d->x[idx[i]];
    y->f32[i] = d->t[idx[i]];
  }
  return 0;
}

static const lunet_dataset_api api = {
  .size = sizeof(lunet_dataset_api),
  .open = sin_open,
  .close = sin_close,
  .get = sin_get,
};

LUNET_DATASET_PLUGIN(api, "sinusoid", "2.0.0",
                     "Bishop's toy regression data t = sin(2 pi x) + N(0, noise^2), x in [0, 1]",
                     LUNET_PARAMS(params))
