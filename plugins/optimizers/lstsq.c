/*
** lstsq.c -- closed-form least squares for the final linear layer: ridge
** regression, and for lambda = 0 the minimum-norm least-squares solution.
**
** lunet.train hands fit() the features Phi (n, p) that the fixed layers
** produce for the whole training set and the targets Y (n, T); fit writes
** the final dense layer's weight W (T, p) and bias b (T) minimising
**
**     sum_i |y_i - W phi_i - b|^2  +  lambda (|W|^2 [+ |b|^2 if penalize_bias])
**
** i.e. Bishop's E(w) = 1/2 sum_n (t_n - w^T phi_n)^2 + lambda/2 w^T w (PRML
** eq. 3.27): lambda weighs the SUM of squared errors, not their mean, so
** its scale does not change with n. An unpenalised bias is handled exactly
** by centring: W fits the centred features to the centred targets, then
** b = mean(y) - W mean(phi). A penalised bias is a column of ones.
**
** Both cases are X = V diag(f(s)) U^T Y for the thin SVD A = U S V^T
** (float64) of the centred or augmented feature matrix A (n, q):
**
**     f(s) = s / (s^2 + lambda)                                   lambda > 0
**     f(s) = 1/s if s > rcond s_max, 0 otherwise                  lambda = 0
**
** Two paths compute it through the host:
**   - lambda = 0: host->lstsq, LAPACK's dgelsd as in numpy's lstsq.
**     It reduces a markedly tall (wide) A by QR (LQ) to a square
**     matrix, bidiagonalizes that and applies the divide-and-conquer SVD
**     to Y directly: U and V are never formed (n = 2000 rows, 500..8000
**     features: 1.4-3x faster), with the same cut, passed explicitly;
**   - lambda > 0: host->svd (dgesdd, U and V formed), then the filter and
**     two dgemms: dgelsd only applies the truncated 1/s, not the ridge
**     filter.
**
** Numerics at the interpolation threshold (q = n). There the smallest
** singular values of a random feature matrix approach 0 and the condition
** number s_max/s_min explodes; that is the cause of the peak of |W| and of
** the test error, and the solver must neither hide nor amplify it:
**   - A^T A is never formed (the normal equations would square the
**     condition number and lose every digit at the threshold); the SVD is
**     backward stable, so the result is the exact solution for a matrix
**     within ~1e-16 |A| of A, in float64 even though features are float32;
**   - for lambda = 0 the pseudo-inverse drops singular values below
**     rcond s_max, by default max(n, q) 2^-52 (LAPACK gelsd's and numpy's
**     rule in float64): only directions that are zero up to the rounding of
**     the SVD itself are left out instead of being divided by rounding
**     noise. That makes the answer THE minimum-norm least-squares solution
**     of the given matrix on both sides of the threshold (n > q: the
**     least-squares fit; n < q: the interpolant of least |W|) and exactly
**     at it. Measured on Fashion-MNIST RFF features, n = q = 1000:
**     s_min/s_max ~ 1e-6, far above the cut, so the peak is computed, not
**     smoothed away (a float32-style cut, max(n, q) 2^-23, would drop ~30
**     directions there and flatten the peak by two orders of magnitude);
**   - for lambda > 0 the filter s/(s^2+lambda) <= 1/(2 sqrt(lambda)) is
**     bounded, so no cut-off is needed and ridge is stable at any size.
** The weights are stored as float32 at the end, so the model reproduces the
** fit up to about 2^-24 |W| |phi|: at the RFF threshold (cond ~ 1e6) the
** training MSE is ~1e-10. A nearly collinear basis with lambda = 0, such as
** 24 Gaussians of width 0.1 on 25 points (cond ~ 1e10), has an exact
** interpolant that float32 weights cannot hold; the reported training loss
** shows it, and lambda > 0 (as in Bishop) or rcond ~ 1e-7 is the remedy.
*/
#include <lunet/helpers.h>

enum { P_LAMBDA, P_PENALIZE_BIAS, P_RCOND, N_PARAMS };

static const lunet_param_decl params[] = {
  [P_LAMBDA] = {"lambda", LUNET_NUMBER, 0, 0, 1e300, NULL, NULL,
                "ridge penalty on |W|^2 against the SUM of squared errors; 0: minimum-norm "
                "least squares", 0},
  [P_PENALIZE_BIAS] = {"penalize_bias", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                       "include the bias in the penalty (and in the minimum norm)", 0},
  [P_RCOND] = {"rcond", LUNET_NUMBER, 0, 0, 1, NULL, NULL,
               "lambda = 0: singular values below rcond * largest count as 0; 0: max(n, p) * 2^-52",
               0},
};

typedef struct lstsq {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
} lstsq;

/* The scratch of one fit, allocated at its start, freed at its end. */
typedef struct work {
  int n, p, q, k, T; /* samples, features, columns of A, min(n, q), outputs */
  double *a;         /* (n, q) centred or augmented features; destroyed by the solve */
  double *y;         /* (max(n, q), T) rows 0..n-1: targets, centred when the bias
                        is free; the lstsq path leaves X in rows 0..q-1 */
  double *s;         /* (k) singular values, descending    (SVD path only) */
  double *u, *vt;    /* (n, k), (k, q)                     (SVD path only) */
  double *z;         /* (k, T) filtered U^T Y              (SVD path only) */
  double *x;         /* (q, T) the solution, one column per output (SVD path only) */
  double *mean_a;    /* (p) feature means (free bias only) */
  double *mean_y;    /* (T) target means (free bias only) */
} work;

static void *ls_create(const lunet_value *p, const lunet_params *ps) {
  (void)ps;
  lstsq *o = host->alloc(sizeof *o);
  if (!o) return NULL;
  for (int i = 0; i < N_PARAMS; i++) o->h[i] = p[i].num;
  return o;
}

static void ls_destroy(void *self) { host->free(self); }

static int ls_step(void *self, lunet_params *ps) {
  (void)self, (void)ps;
  host->error("lstsq: a closed-form optimizer has no gradient step; train with lunet.train, "
              "which calls its fit on the features of the final dense layer");
  return -1;
}

static int ls_set(void *self, int index, double v) {
  lstsq *o = self;
  if (lunet_hyper_check("lstsq", params, N_PARAMS, index, v)) return -1;
  o->h[index] = v;
  return 0;
}

/* ---- one fit ------------------------------------------------------------ */

static void work_free(work *w) {
  double *all[] = {w->a, w->y, w->s, w->u, w->vt, w->z, w->x, w->mean_a, w->mean_y};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) host->free(all[i]);
}

static double *doubles(size_t count) { return host->alloc(sizeof(double) * (count ? count : 1)); }

static int work_alloc(work *w, int free_bias, int svd) {
  size_t n = (size_t)w->n, q = (size_t)w->q, k = (size_t)w->k, T = (size_t)w->T;
  w->a = doubles(n * q), w->y = doubles((n > q ? n : q) * T);
  if (svd) {
    w->s = doubles(k), w->u = doubles(n * k), w->vt = doubles(k * q);
    w->z = doubles(k * T), w->x = doubles(q * T);
  }
  if (free_bias) w->mean_a = doubles((size_t)w->p), w->mean_y = doubles(T);
  return w->a && w->y && (!svd || (w->s && w->u && w->vt && w->z && w->x)) &&
         (!free_bias || (w->mean_a && w->mean_y));
}

/* mean_j = sum_i m_ij / n, then m_ij -= mean_j    (n, c) -> (n, c) */
static void centre(double *m, int n, int c, int ld, double *mean) {
  for (int j = 0; j < c; j++) mean[j] = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < c; j++) mean[j] += m[(size_t)i * ld + j];
  for (int j = 0; j < c; j++) mean[j] /= n;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < c; j++) m[(size_t)i * ld + j] -= mean[j];
}

/* A = [Phi | 1] (penalised bias), Phi - mean (free bias) or Phi; Y likewise. */
static void load(work *w, const float *phi, const float *y, int has_bias, int free_bias) {
  for (int i = 0; i < w->n; i++) {
    double *row = w->a + (size_t)i * w->q;
    for (int j = 0; j < w->p; j++) row[j] = phi[(size_t)i * w->p + j];
    if (w->q > w->p) row[w->p] = 1.0;
  }
  for (size_t i = 0; i < (size_t)w->n * w->T; i++) w->y[i] = y[i];
  if (has_bias && free_bias) {
    centre(w->a, w->n, w->p, w->q, w->mean_a);
    centre(w->y, w->n, w->T, w->T, w->mean_y);
  }
}

/* f(s): the ridge filter, or the truncated inverse of the pseudo-inverse. */
static double filter(double s, double lambda, double cut) {
  if (lambda > 0) return s / (s * s + lambda);
  return s > cut ? 1.0 / s : 0.0;
}

/* rcond as documented: the given one, or max(n, q) 2^-52 (gelsd's rule). */
static double relative_cut(const work *w, double rcond) {
  return rcond > 0 ? rcond : (w->n > w->q ? w->n : w->q) * 0x1p-52;
}

/* X = V diag(f(s)) U^T Y    (n, q), (n, T) -> (q, T) in x */
static const double *solve_svd(work *w, double lambda, double rcond) {
  if (host->svd(w->n, w->q, w->a, w->s, w->u, w->vt)) return NULL;
  double cut = relative_cut(w, rcond) * w->s[0];
  host->dgemm(1, 0, w->k, w->T, w->n, 1.0, w->u, w->k, w->y, w->T, 0.0, w->z, w->T);
  for (int i = 0; i < w->k; i++) {
    double f = filter(w->s[i], lambda, cut);
    for (int t = 0; t < w->T; t++) w->z[(size_t)i * w->T + t] *= f;
  }
  host->dgemm(1, 0, w->q, w->T, w->k, 1.0, w->vt, w->q, w->z, w->T, 0.0, w->x, w->T);
  return w->x;
}

/* X = A^+ Y by dgelsd, same cut    (n, q), (n, T) -> (q, T) in y's first rows */
static const double *solve_min_norm(work *w, double rcond) {
  if (host->lstsq(w->n, w->q, w->T, w->a, w->y, relative_cut(w, rcond), NULL, NULL)) return NULL;
  return w->y;
}

/* W = X[:p]^T, b = X[p] (penalised) or mean(y) - W mean(phi) (free). */
static void store(const work *w, const double *x, float *weight, float *bias, int free_bias) {
  for (int t = 0; t < w->T; t++) {
    double b = 0;
    for (int j = 0; j < w->p; j++) {
      double v = x[(size_t)j * w->T + t];
      weight[(size_t)t * w->p + j] = (float)v;
      if (free_bias) b += v * w->mean_a[j];
    }
    if (!bias) continue;
    bias[t] = (float)(free_bias ? w->mean_y[t] - b : x[(size_t)w->p * w->T + t]);
  }
}

/* The final layer's tensors must fit the features and targets. */
static int check_shapes(const lunet_tensor *phi, const lunet_tensor *y, const lunet_params *ps) {
  const lunet_param *t = ps->tensors;
  int n = phi->shape.dim[0], p = (int)lunet_row_size(phi), T = (int)lunet_row_size(y), nt = ps->n;
  const lunet_tensor *wt = nt >= 1 ? t[0].value : NULL;
  if (!wt || wt->shape.ndim != 2 || wt->shape.dim[0] != T || wt->shape.dim[1] != p) {
    host->error("lstsq: the final layer's first tensor %s is not a (%d, %d) weight for %d "
                "features and %d targets; expected a dense layer's weight",
                nt >= 1 && t[0].name ? t[0].name : "(none)", T, p, p, T);
    return -1;
  }
  if (nt >= 2 && lunet_numel(&t[1].value->shape) != T) {
    host->error("lstsq: the final layer's bias has %lld values, expected %d (one per target)",
                (long long)lunet_numel(&t[1].value->shape), T);
    return -1;
  }
  if (nt > 2 || y->shape.dim[0] != n || n < 1) {
    host->error("lstsq: %d tensors, %d feature rows and %d target rows; expected a weight, an "
                "optional bias and as many targets as feature rows (>= 1)", nt, n, y->shape.dim[0]);
    return -1;
  }
  return 0;
}

static int ls_fit(void *self, const lunet_tensor *phi, const lunet_tensor *y, lunet_params *ps) {
  lstsq *o = self;
  if (check_shapes(phi, y, ps)) return -1;
  const lunet_param *t = ps->tensors;
  int has_bias = ps->n == 2, free_bias = has_bias && o->h[P_PENALIZE_BIAS] == 0;
  work w = {0};
  w.n = phi->shape.dim[0], w.p = (int)lunet_row_size(phi), w.T = (int)lunet_row_size(y);
  w.q = w.p + (has_bias && !free_bias);
  w.k = w.n < w.q ? w.n : w.q;
  int svd = o->h[P_LAMBDA] > 0;
  const double *x = NULL;
  if (work_alloc(&w, free_bias, svd)) {
    load(&w, phi->f32, y->f32, has_bias, free_bias);
    x = svd ? solve_svd(&w, o->h[P_LAMBDA], o->h[P_RCOND]) : solve_min_norm(&w, o->h[P_RCOND]);
    if (x) store(&w, x, t[0].value->f32, has_bias ? t[1].value->f32 : NULL, free_bias);
  }
  work_free(&w);
  return x ? 0 : -1;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = ls_create,
  .destroy = ls_destroy,
  .step = {[LUNET_CPU] = ls_step},
  .set = ls_set,
  .fit = ls_fit,
};

LUNET_OPTIMIZER_PLUGIN(api, "lstsq", "2.0.0",
                       "closed-form fit of the final dense layer: ridge, or min-norm least squares",
                       LUNET_PARAMS(params))
