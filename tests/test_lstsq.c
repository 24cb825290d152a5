/*
** test_lstsq.c -- the host's float64 linear algebra and the lstsq
** optimizer against independent references computed here with plain
** Gaussian elimination in double:
**   - host->svd: A = U diag(s) V^T, orthonormal factors, s descending, for
**     wide, square and tall matrices (the row/column-major mapping);
**   - host->dgemm against a naive loop;
**   - host->lstsq: the normal equations on a tall matrix, the minimum-norm
**     A^T (A A^T)^-1 B on a wide one, the truncated pseudo-inverse of a
**     square matrix of condition 1e11 built from known factors;
**   - lstsq's two paths: lambda = 0 goes through host->lstsq (dgelsd) and
**     lambda > 0 through host->svd, each alone, and both match the normal
**     equations, also on an ill-conditioned problem; a given rcond cuts the
**     singular values a truncated pseudo-inverse built here from host->svd
**     cuts;
**   - lstsq with lambda = 0 on random problems that are over-determined
**     (the least-squares solution, from the normal equations), exactly
**     determined (A x = y) and under-determined (the minimum-norm solution
**     A^T (A A^T)^-1 y), with and without a free bias; a rank-deficient
**     problem (a duplicated column must share its weight equally);
**   - ridge against the normal equations (A^T A + lambda D) x = A^T y, with
**     the bias penalised (D = I) or free (D without the bias entry).
*/
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "registry.h"
#include "services.h"

static const lunet_host *H;

static void setup(void) { H = services_host(); }

/* ---- references ---------------------------------------------------------- */

/* Solves M x = r for k right-hand sides, M (d, d), r (d, k), both
** destroyed; x overwrites r. Gaussian elimination, partial pivoting. */
static void gauss_solve(double *M, double *r, int d, int k) {
  for (int c = 0; c < d; c++) {
    int piv = c;
    for (int i = c + 1; i < d; i++)
      if (fabs(M[i * d + c]) > fabs(M[piv * d + c])) piv = i;
    for (int j = 0; j < d; j++) {
      double t = M[c * d + j];
      M[c * d + j] = M[piv * d + j], M[piv * d + j] = t;
    }
    for (int j = 0; j < k; j++) {
      double t = r[c * k + j];
      r[c * k + j] = r[piv * k + j], r[piv * k + j] = t;
    }
    for (int i = c + 1; i < d; i++) {
      double f = M[i * d + c] / M[c * d + c];
      for (int j = c; j < d; j++) M[i * d + j] -= f * M[c * d + j];
      for (int j = 0; j < k; j++) r[i * k + j] -= f * r[c * k + j];
    }
  }
  for (int c = d - 1; c >= 0; c--)
    for (int j = 0; j < k; j++) {
      double s = r[c * k + j];
      for (int i = c + 1; i < d; i++) s -= M[c * d + i] * r[i * k + j];
      r[c * k + j] = s / M[c * d + c];
    }
}

/* The reference solution X (q, T) of the problem A (n, q), Y (n, T):
**   n = q, lambda = 0: A X = Y (without squaring A's condition number);
**   n >= q: (A^T A + lambda D) X = A^T Y, D = diag(pen);
**   n <  q (lambda = 0 only): X = A^T Z with (A A^T) Z = Y. */
static void reference(const double *A, const double *Y, int n, int q, int T, double lambda,
                      const int *pen, double *X) {
  if (n == q && lambda == 0) {
    double *M = malloc(sizeof *M * (size_t)q * q);
    memcpy(M, A, sizeof *M * (size_t)q * q);
    memcpy(X, Y, sizeof *X * (size_t)q * T);
    gauss_solve(M, X, q, T);
    free(M);
    return;
  }
  if (n >= q || lambda > 0) {
    double *M = calloc((size_t)q * q, sizeof *M);
    for (int i = 0; i < q; i++)
      for (int j = 0; j < q; j++) {
        for (int r = 0; r < n; r++) M[i * q + j] += A[r * q + i] * A[r * q + j];
        if (i == j && pen && pen[i]) M[i * q + j] += lambda;
      }
    for (int i = 0; i < q; i++)
      for (int t = 0; t < T; t++) {
        double s = 0;
        for (int r = 0; r < n; r++) s += A[r * q + i] * Y[r * T + t];
        X[i * T + t] = s;
      }
    gauss_solve(M, X, q, T);
    free(M);
    return;
  }
  double *G = calloc((size_t)n * n, sizeof *G), *Z = malloc(sizeof *Z * (size_t)n * T);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int c = 0; c < q; c++) G[i * n + j] += A[i * q + c] * A[j * q + c];
  memcpy(Z, Y, sizeof *Z * (size_t)n * T);
  gauss_solve(G, Z, n, T);
  for (int c = 0; c < q; c++)
    for (int t = 0; t < T; t++) {
      double s = 0;
      for (int r = 0; r < n; r++) s += A[r * q + c] * Z[r * T + t];
      X[c * T + t] = s;
    }
  free(G), free(Z);
}

/* ---- the plugin ---------------------------------------------------------- */

/* A problem and the final layer's parameters as the host lays them out: one
** flat buffer of values, W (T, p) then b (T), and one of gradients (unused). */
typedef struct problem {
  int n, p, T, bias;
  float *phi, *y;         /* (n, p), (n, T) */
  float *value, *grad;    /* (T p + T) each */
  float *w, *b;           /* views into value: (T, p), (T) */
} problem;

static problem make_problem(int n, int p, int T, int bias, uint64_t seed) {
  problem P = {n, p, T, bias, NULL, NULL, NULL, NULL, NULL, NULL};
  lunet_rng rng;
  H->rng_seed(&rng, seed);
  P.phi = malloc(sizeof(float) * n * p), P.y = malloc(sizeof(float) * n * T);
  P.value = calloc((size_t)T * (p + 1), sizeof(float)), P.grad = calloc((size_t)T * (p + 1), sizeof(float));
  P.w = P.value, P.b = P.value + (size_t)T * p;
  for (int i = 0; i < n * p; i++) P.phi[i] = (float)H->rng_normal(&rng);
  for (int i = 0; i < n * T; i++) P.y[i] = (float)(H->rng_normal(&rng) + 0.5); /* a nonzero mean */
  return P;
}

static void free_problem(problem *P) {
  free(P->phi), free(P->y), free(P->value), free(P->grad);
}

/* A float32 host tensor over data. */
static lunet_tensor tensor(float *data, lunet_shape shape) {
  return (lunet_tensor){.size = sizeof(lunet_tensor), .dtype = LUNET_F32, .device = LUNET_CPU,
                        .shape = shape, .data = data};
}

/* Runs lstsq's fit with the given lambda, penalize_bias and rcond on P: the
** lunet_params the host would give it, over P's value and grad buffers. */
static void fit_rcond(problem *P, double lambda, int penalize_bias, double rcond) {
  const plugin_entry *pe = registry_find(LUNET_OPTIMIZER, "lstsq");
  cr_assert_not_null(pe, "%s", services_last_error());
  cr_assert(LUNET_HAS_FIELD(pe->desc->optimizer, lunet_optimizer_api, fit) && pe->desc->optimizer->fit);
  param_given g[3] = {{"lambda", LUNET_NUMBER, lambda, NULL},
                      {"penalize_bias", LUNET_BOOL, penalize_bias, NULL},
                      {"rcond", LUNET_NUMBER, rcond, NULL}};
  param_values pv;
  cr_assert_eq(params_resolve(pe->desc, g, 3, &pv), 0, "%s", services_last_error());
  int T = P->T, p = P->p, N = T * p + (P->bias ? T : 0);
  lunet_tensor wt = tensor(P->w, (lunet_shape){2, {T, p}}), dwt = tensor(P->grad, wt.shape);
  lunet_tensor bt = tensor(P->b, (lunet_shape){1, {T}}), dbt = tensor(P->grad + T * p, bt.shape);
  lunet_param tensors[2] = {{"weight", &wt, &dwt}, {"bias", &bt, &dbt}};
  lunet_params ps = {.size = sizeof ps, .value = tensor(P->value, (lunet_shape){1, {N}}),
                     .grad = tensor(P->grad, (lunet_shape){1, {N}}), .tensors = tensors,
                     .n = P->bias ? 2 : 1};
  void *self = pe->desc->optimizer->create(pv.v, &ps);
  cr_assert_not_null(self, "%s", services_last_error());
  lunet_tensor phi = tensor(P->phi, (lunet_shape){2, {P->n, p}});
  lunet_tensor y = tensor(P->y, (lunet_shape){2, {P->n, T}});
  int rc = pe->desc->optimizer->fit(self, &phi, &y, &ps);
  cr_assert_eq(rc, 0, "fit failed: %s", services_last_error());
  pe->desc->optimizer->destroy(self);
  params_free(&pv);
}

static void fit(problem *P, double lambda, int penalize_bias) { fit_rcond(P, lambda, penalize_bias, 0); }

/* The reference (W, b) for P as X (q, T), rows 0..p-1 the weights, row p
** the bias. With a bias, A = [phi | 1] and pen marks the penalised columns.
** The one case the formulas of reference() do not cover is lambda = 0,
** under-determined, with a free bias: there the bias is whatever makes the
** residual's mean zero and W the minimum-norm solution of the differences
** phi_r - phi_0 -> y_r - y_0 (the same constraints without the mean), then
** b = mean(y) - W mean(phi). */
static void reference_of(const problem *P, double lambda, int penalize_bias, double *X) {
  int q = P->p + P->bias, n = P->n, p = P->p, T = P->T;
  double *A = malloc(sizeof *A * (size_t)n * q), *Y = malloc(sizeof *Y * (size_t)n * T);
  int *pen = malloc(sizeof *pen * (size_t)q);
  if (P->bias && !penalize_bias && lambda == 0 && n < q) {
    for (int r = 1; r < n; r++) {
      for (int j = 0; j < p; j++) A[(r - 1) * p + j] = (double)P->phi[r * p + j] - P->phi[j];
      for (int t = 0; t < T; t++) Y[(r - 1) * T + t] = (double)P->y[r * T + t] - P->y[t];
    }
    reference(A, Y, n - 1, p, T, 0, NULL, X);
    for (int t = 0; t < T; t++) {
      double b = 0;
      for (int r = 0; r < n; r++) {
        b += P->y[r * T + t];
        for (int j = 0; j < p; j++) b -= X[j * T + t] * P->phi[r * p + j];
      }
      X[p * T + t] = b / n;
    }
  } else {
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < p; j++) A[i * q + j] = P->phi[i * p + j];
      if (P->bias) A[i * q + p] = 1.0;
    }
    for (int i = 0; i < n * T; i++) Y[i] = P->y[i];
    for (int j = 0; j < q; j++) pen[j] = j < p || penalize_bias;
    reference(A, Y, n, q, T, lambda, pen, X);
  }
  free(A), free(Y), free(pen);
}

/* The largest |fitted - reference| over W and b, relative to the largest
** |reference value|. */
static double compare(const problem *P, double lambda, int penalize_bias) {
  int q = P->p + P->bias;
  double *X = malloc(sizeof *X * (size_t)q * P->T), diff = 0, scale = 0;
  reference_of(P, lambda, penalize_bias, X);
  for (int t = 0; t < P->T; t++) {
    for (int j = 0; j < q; j++) {
      double got = j < P->p ? P->w[t * P->p + j] : P->b[t], want = X[j * P->T + t];
      diff = fmax(diff, fabs(got - want));
      scale = fmax(scale, fabs(want));
    }
  }
  free(X);
  return diff / scale;
}

/* ---- host->svd and host->dgemm ------------------------------------------- */

static void check_svd(int m, int n) {
  int k = m < n ? m : n;
  lunet_rng rng;
  H->rng_seed(&rng, (uint64_t)(m * 100 + n));
  double *a = malloc(sizeof *a * m * n), *a0 = malloc(sizeof *a * m * n);
  double *s = malloc(sizeof *s * k), *u = malloc(sizeof *u * m * k), *vt = malloc(sizeof *vt * k * n);
  for (int i = 0; i < m * n; i++) a[i] = a0[i] = H->rng_normal(&rng);
  cr_assert_eq(H->svd(m, n, a, s, u, vt), 0, "svd %dx%d: %s", m, n, services_last_error());
  double worst = 0, orth_u = 0, orth_v = 0;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double r = 0;
      for (int c = 0; c < k; c++) r += u[i * k + c] * s[c] * vt[c * n + j];
      worst = fmax(worst, fabs(r - a0[i * n + j]));
    }
  for (int c = 0; c < k; c++)
    for (int d = 0; d < k; d++) {
      double uu = 0, vv = 0;
      for (int i = 0; i < m; i++) uu += u[i * k + c] * u[i * k + d];
      for (int j = 0; j < n; j++) vv += vt[c * n + j] * vt[d * n + j];
      orth_u = fmax(orth_u, fabs(uu - (c == d)));
      orth_v = fmax(orth_v, fabs(vv - (c == d)));
    }
  for (int c = 1; c < k; c++) cr_expect_geq(s[c - 1], s[c], "svd %dx%d: s not descending", m, n);
  cr_expect_geq(s[k - 1], 0.0);
  cr_expect_lt(worst, 1e-12, "svd %dx%d: |U S V^T - A| = %g", m, n, worst);
  cr_expect_lt(orth_u, 1e-12, "svd %dx%d: U^T U differs from I by %g", m, n, orth_u);
  cr_expect_lt(orth_v, 1e-12, "svd %dx%d: V^T V differs from I by %g", m, n, orth_v);
  free(a), free(a0), free(s), free(u), free(vt);
}

Test(lstsq, host_svd_factors_wide_square_and_tall_matrices, .init = setup) {
  cr_assert(LUNET_HAS_FIELD(H, lunet_host, svd) && LUNET_HAS_FIELD(H, lunet_host, dgemm));
  check_svd(5, 9);
  check_svd(7, 7);
  check_svd(11, 4);
  check_svd(1, 6);
  check_svd(6, 1);
}

Test(lstsq, host_svd_refuses_nan, .init = setup) {
  double a[4] = {1, NAN, 3, 4}, s[2], u[4], vt[4];
  cr_expect_neq(H->svd(2, 2, a, s, u, vt), 0);
  cr_expect(strstr(services_last_error(), "svd") && strstr(services_last_error(), "finite"),
            "%s", services_last_error());
}

Test(lstsq, host_dgemm_matches_naive_loop, .init = setup) {
  const int m = 5, n = 7, k = 3;
  double a[15], b[21], c[35], ref[35];
  for (int i = 0; i < 15; i++) a[i] = i * 0.5 - 3;
  for (int i = 0; i < 21; i++) b[i] = 1.0 / (i + 1);
  for (int i = 0; i < 35; i++) c[i] = ref[i] = i;
  H->dgemm(1, 0, m, n, k, 2.0, a, m, b, n, -1.0, c, n); /* a is (k, m): op(a) = a^T */
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) s += a[p * m + i] * b[p * n + j];
      ref[i * n + j] = 2.0 * s - ref[i * n + j];
    }
  for (int i = 0; i < 35; i++) cr_expect(fabs(c[i] - ref[i]) < 1e-12, "c[%d] = %g, expected %g", i, c[i], ref[i]);
}

/* ---- host->lstsq ---------------------------------------------------------- */

/* A (m, n) of N(0, 1) entries and B (max(m, n), nrhs) with B in its first m
** rows, as host->lstsq takes them; copies in a0 (m, n) and b0 (m, nrhs). */
static void random_system(int m, int n, int nrhs, uint64_t seed, double *a, double *b, double *a0,
                          double *b0) {
  lunet_rng rng;
  H->rng_seed(&rng, seed);
  for (int i = 0; i < m * n; i++) a[i] = a0[i] = H->rng_normal(&rng);
  for (int i = 0; i < m * nrhs; i++) b[i] = b0[i] = H->rng_normal(&rng);
}

/* max |x - ref| / max |ref| over count values */
static double rel_diff(const double *x, const double *ref, int count) {
  double diff = 0, scale = 0;
  for (int i = 0; i < count; i++) {
    diff = fmax(diff, fabs(x[i] - ref[i]));
    scale = fmax(scale, fabs(ref[i]));
  }
  return diff / scale;
}

Test(lstsq, host_lstsq_tall_matches_normal_equations_and_svd, .init = setup) {
  enum { m = 40, n = 7, T = 3 };
  cr_assert(LUNET_HAS_FIELD(H, lunet_host, lstsq), "the host table has no lstsq (ABI 1.2)");
  double a[m * n], b[m * T], a0[m * n], b0[m * T], x[n * T], s[n], s_svd[n], u[m * n], vt[n * n];
  int rank = -1;
  random_system(m, n, T, 3, a, b, a0, b0);
  cr_assert_eq(H->lstsq(m, n, T, a, b, -1, s, &rank), 0, "%s", services_last_error());
  reference(a0, b0, m, n, T, 0, NULL, x); /* (A^T A) X = A^T B */
  double rel = rel_diff(b, x, n * T);     /* X is in b's first n rows */
  cr_expect_lt(rel, 1e-10, "relative difference %g from the normal equations", rel);
  cr_expect_eq(rank, n);
  memcpy(a, a0, sizeof a);
  cr_assert_eq(H->svd(m, n, a, s_svd, u, vt), 0);
  cr_expect_lt(rel_diff(s, s_svd, n), 1e-12, "singular values differ from svd's");
}

Test(lstsq, host_lstsq_wide_gives_the_minimum_norm_solution, .init = setup) {
  enum { m = 9, n = 30, T = 2 };
  double a[m * n], b[n * T], a0[m * n], b0[m * T], x[n * T];
  random_system(m, n, T, 4, a, b, a0, b0);
  cr_assert_eq(H->lstsq(m, n, T, a, b, -1, NULL, NULL), 0, "%s", services_last_error());
  reference(a0, b0, m, n, T, 0, NULL, x); /* X = A^T (A A^T)^-1 B */
  double rel = rel_diff(b, x, n * T);
  cr_expect_lt(rel, 1e-10, "relative difference %g from A^T (A A^T)^-1 B", rel);
}

/* A = U diag(s) V^T, s_i = 10^-i, with U, V the orthogonal factors of two
** random matrices: rcond = 10^-7.5 must keep exactly 8 singular values and
** give the truncated pseudo-inverse X = V diag(1/s_i, i < 8) U^T B, which
** is well conditioned (1e7.5) although A is not (1e11). */
Test(lstsq, host_lstsq_truncates_an_ill_conditioned_square_matrix_at_rcond, .init = setup) {
  enum { n = 12, T = 2, kept = 8 };
  double u[n * n], vt[n * n], w[n * n], s[n], a[n * n], a0[n * n], b[n * T], b0[n * T], x[n * T];
  random_system(n, n, T, 5, a, b, a0, b0);
  cr_assert_eq(H->svd(n, n, a, s, u, w), 0);  /* u: a random orthogonal matrix */
  memcpy(a, a0, sizeof a);
  for (int i = 0; i < n * n; i++) a[i] = a0[(i * 7) % (n * n)]; /* another matrix */
  cr_assert_eq(H->svd(n, n, a, s, w, vt), 0); /* vt: another */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      a0[i * n + j] = 0;
      for (int c = 0; c < n; c++) a0[i * n + j] += u[i * n + c] * pow(10, -c) * vt[c * n + j];
    }
  for (int j = 0; j < n; j++) /* x = V diag(1/s, kept) U^T B */
    for (int t = 0; t < T; t++) {
      x[j * T + t] = 0;
      for (int c = 0; c < kept; c++) {
        double utb = 0;
        for (int i = 0; i < n; i++) utb += u[i * n + c] * b0[i * T + t];
        x[j * T + t] += vt[c * n + j] * pow(10, c) * utb;
      }
    }
  int rank = -1;
  memcpy(a, a0, sizeof a), memcpy(b, b0, sizeof b);
  cr_assert_eq(H->lstsq(n, n, T, a, b, pow(10, -7.5), s, &rank), 0, "%s", services_last_error());
  cr_expect_eq(rank, kept, "rank %d, expected %d singular values above 10^-7.5", rank, kept);
  for (int c = 0; c < n; c++)
    cr_expect(fabs(s[c] - pow(10, -c)) < 1e-14, "s[%d] = %g, expected 1e-%d", c, s[c], c);
  double rel = rel_diff(b, x, n * T);
  cr_expect_lt(rel, 1e-6, "relative difference %g from the truncated pseudo-inverse", rel);
  memcpy(a, a0, sizeof a), memcpy(b, b0, sizeof b);
  cr_assert_eq(H->lstsq(n, n, T, a, b, -1, NULL, &rank), 0);
  cr_expect_eq(rank, n, "the default rcond (machine precision) dropped %d of s >= 1e-11", n - rank);
}

Test(lstsq, host_lstsq_refuses_nan_and_empty_shapes, .init = setup) {
  double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, NAN, 5, 6};
  cr_expect_neq(H->lstsq(3, 2, 2, a, b, -1, NULL, NULL), 0);
  const char *msg = services_last_error();
  cr_expect(strstr(msg, "lstsq") && strstr(msg, "(1, 1) of B") && strstr(msg, "3 x 2") &&
            strstr(msg, "finite"), "%s", msg);
  cr_expect_neq(H->lstsq(0, 2, 1, a, b, -1, NULL, NULL), 0);
  cr_expect(strstr(services_last_error(), "0 x 2"), "%s", services_last_error());
}

/* ---- minimum-norm least squares ----------------------------------------- */

/* (n, p, T, bias): over-, exactly and under-determined, with and without a
** bias; the bias is free, so with it the threshold is at p + 1 = n. */
static const int shapes[][4] = {
  {40, 7, 3, 0}, {40, 7, 3, 1}, /* over-determined */
  {12, 12, 2, 0}, {12, 11, 2, 1}, /* exactly determined */
  {9, 30, 2, 0}, {9, 30, 2, 1},   /* under-determined */
};

Test(lstsq, min_norm_matches_float64_reference_on_both_sides_of_the_threshold, .init = setup) {
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const int *s = shapes[i];
    problem P = make_problem(s[0], s[1], s[2], s[3], 11 + i);
    fit(&P, 0, 0);
    double rel = compare(&P, 0, 0);
    cr_expect_lt(rel, 1e-5, "n=%d p=%d T=%d bias=%d: relative difference %g from the float64 reference",
                 s[0], s[1], s[2], s[3], rel);
    if (s[0] <= s[1] + s[3]) { /* at or past the threshold: every row is interpolated */
      double worst = 0;
      for (int r = 0; r < s[0]; r++)
        for (int t = 0; t < s[2]; t++) {
          double pred = s[3] ? P.b[t] : 0;
          for (int j = 0; j < s[1]; j++) pred += (double)P.w[t * s[1] + j] * P.phi[r * s[1] + j];
          worst = fmax(worst, fabs(pred - P.y[r * s[2] + t]));
        }
      cr_expect_lt(worst, 1e-4, "n=%d p=%d bias=%d: a training row is missed by %g", s[0], s[1], s[3], worst);
    }
    free_problem(&P);
  }
}

Test(lstsq, min_norm_with_penalised_bias_matches_reference_when_under_determined, .init = setup) {
  problem P = make_problem(9, 30, 2, 1, 5);
  fit(&P, 0, 1); /* the bias is one more coordinate of the minimum-norm vector */
  double rel = compare(&P, 0, 1);
  cr_expect_lt(rel, 1e-5, "relative difference %g from the float64 reference", rel);
  free_problem(&P);
}

Test(lstsq, duplicated_column_shares_its_weight, .init = setup) {
  /* Rank-deficient: column 3 repeats column 0. Every split of their weight
  ** fits equally well; the minimum-norm one splits it in two halves. */
  problem P = make_problem(30, 4, 1, 0, 9);
  for (int r = 0; r < 30; r++) P.phi[r * 4 + 3] = P.phi[r * 4 + 0];
  fit(&P, 0, 0);
  cr_expect(fabs(P.w[0] - P.w[3]) < 1e-5 * fabs(P.w[0]) + 1e-7, "w0 = %g, w3 = %g", P.w[0], P.w[3]);
  problem R = make_problem(30, 3, 1, 0, 9); /* the same problem without the copy */
  for (int r = 0; r < 30; r++) {
    for (int j = 0; j < 3; j++) R.phi[r * 3 + j] = P.phi[r * 4 + j];
    R.y[r] = P.y[r];
  }
  fit(&R, 0, 0);
  cr_expect(fabs(P.w[0] + P.w[3] - R.w[0]) < 1e-5, "w0 + w3 = %g, expected %g", P.w[0] + P.w[3], R.w[0]);
  cr_expect(fabs(P.w[1] - R.w[1]) < 1e-5 && fabs(P.w[2] - R.w[2]) < 1e-5);
  free_problem(&P), free_problem(&R);
}

/* ---- the two paths: dgelsd for lambda = 0, the SVD for lambda > 0 -------- */

static int svd_calls, lstsq_calls; /* calls through the counting host of fit_counted() */

static int counted_svd(int m, int n, double *a, double *s, double *u, double *vt) {
  svd_calls++;
  return services_host()->svd(m, n, a, s, u, vt);
}

static int counted_lstsq(int m, int n, int nrhs, double *a, double *b, double rcond, double *s,
                         int *rank) {
  lstsq_calls++;
  return services_host()->lstsq(m, n, nrhs, a, b, rcond, s, rank);
}

/* Re-initialises the lstsq plugin with the host table h: it keeps the
** pointer it is given. */
static void use_host(const lunet_host *h) {
  const plugin_entry *pe = registry_find(LUNET_OPTIMIZER, "lstsq");
  cr_assert_not_null(pe, "%s", services_last_error());
  lunet_entry_fn init;
  *(void **)&init = dlsym(pe->handle, LUNET_ENTRY);
  cr_assert(init && init(h));
}

/* Fits P on a host that counts its svd and lstsq calls, and checks the
** path taken: host->lstsq alone for lambda = 0, host->svd alone for
** lambda > 0. */
static void fit_counted(problem *P, double lambda, int penalize_bias, double rcond) {
  lunet_host counted = *H;
  counted.svd = counted_svd, counted.lstsq = counted_lstsq;
  svd_calls = lstsq_calls = 0;
  use_host(&counted);
  fit_rcond(P, lambda, penalize_bias, rcond);
  use_host(H);
  int want_svd = lambda > 0;
  cr_expect(svd_calls == want_svd && lstsq_calls == !want_svd,
            "lambda = %g: %d calls of host->svd and %d of host->lstsq, expected %d and %d", lambda,
            svd_calls, lstsq_calls, want_svd, !want_svd);
}

/* Each path on the problems where they differ most in how they get there:
** centring (free bias), the augmented column (penalised bias), wide and
** tall, and a square A with column 5 = column 0 + 1e-4 noise (condition
** ~1e5). */
Test(lstsq, each_path_alone_matches_the_normal_equations_also_ill_conditioned, .init = setup) {
  static const struct { int n, p, T, bias, pen, near; } cases[] = {
    {40, 7, 3, 1, 0, -1},  /* tall, free bias (centred) */
    {9, 30, 2, 1, 0, -1},  /* wide, free bias */
    {9, 30, 2, 1, 1, -1},  /* wide, penalised bias (augmented) */
    {12, 12, 2, 0, 0, 5},  /* square, column 5 close to column 0 */
  };
  static const double lambdas[] = {0, 1e-3};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (size_t l = 0; l < 2; l++) {
      int n = cases[i].n, p = cases[i].p, near = cases[i].near;
      problem P = make_problem(n, p, cases[i].T, cases[i].bias, 21);
      lunet_rng noise;
      H->rng_seed(&noise, 22);
      for (int r = 0; near >= 0 && r < n; r++)
        P.phi[r * p + near] = P.phi[r * p] + 1e-4f * (float)H->rng_normal(&noise);
      fit_counted(&P, lambdas[l], cases[i].pen, 0);
      double rel = compare(&P, lambdas[l], cases[i].pen);
      cr_expect_lt(rel, 1e-6, "n=%d p=%d bias=%d penalize=%d lambda=%g: relative difference %g from "
                   "the float64 reference", n, p, cases[i].bias, cases[i].pen, lambdas[l], rel);
      free_problem(&P);
    }
}

/* A 9 x 30 Gaussian matrix has s_min / s_max ~ 0.3: rcond = 0.5 drops some
** directions and changes the answer. dgelsd must drop those that the
** truncated pseudo-inverse X = V diag(1/s_i, s_i > 0.5 s_max) U^T Y, built
** here from host->svd, drops. */
Test(lstsq, min_norm_cuts_the_singular_values_below_rcond, .init = setup) {
  enum { n = 9, p = 30, T = 2 };
  problem P = make_problem(n, p, T, 0, 21), R = make_problem(n, p, T, 0, 21);
  fit_counted(&P, 0, 0, 0.5);
  fit(&R, 0, 0);
  double a[n * p], s[n], u[n * n], vt[n * p], x[p * T];
  for (int i = 0; i < n * p; i++) a[i] = P.phi[i];
  cr_assert_eq(H->svd(n, p, a, s, u, vt), 0, "%s", services_last_error());
  int kept = 0;
  while (kept < n && s[kept] > 0.5 * s[0]) kept++;
  cr_assert(kept > 0 && kept < n, "rcond = 0.5 keeps %d of %d singular values: nothing to cut", kept, n);
  for (int j = 0; j < p; j++)
    for (int t = 0; t < T; t++) {
      x[j * T + t] = 0;
      for (int c = 0; c < kept; c++) {
        double uty = 0;
        for (int i = 0; i < n; i++) uty += u[i * n + c] * P.y[i * T + t];
        x[j * T + t] += vt[c * p + j] / s[c] * uty;
      }
    }
  double diff = 0, scale = 0, moved = 0;
  for (int t = 0; t < T; t++)
    for (int j = 0; j < p; j++) {
      diff = fmax(diff, fabs(P.w[t * p + j] - x[j * T + t]));
      scale = fmax(scale, fabs(x[j * T + t]));
      moved = fmax(moved, fabs(P.w[t * p + j] - R.w[t * p + j]));
    }
  cr_expect_lt(diff / scale, 1e-6, "relative difference %g from the truncated pseudo-inverse "
               "(%d of %d singular values kept)", diff / scale, kept, n);
  cr_expect_gt(moved, 1e-3, "rcond = 0.5 gave the same weights as the default");
  free_problem(&P), free_problem(&R);
}

/* ---- ridge --------------------------------------------------------------- */

Test(lstsq, ridge_matches_normal_equations, .init = setup) {
  static const int cases[][4] = {{40, 7, 3, 0}, {40, 7, 3, 1}, {9, 30, 2, 1}, {12, 11, 1, 1}};
  static const double lambdas[] = {1e-3, 0.5, 20};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (size_t l = 0; l < 3; l++)
      for (int pen = 0; pen <= cases[i][3]; pen++) {
        const int *s = cases[i];
        problem P = make_problem(s[0], s[1], s[2], s[3], 100 + i);
        fit(&P, lambdas[l], pen);
        double rel = compare(&P, lambdas[l], pen || !s[3]);
        cr_expect_lt(rel, 1e-5, "n=%d p=%d bias=%d lambda=%g penalize_bias=%d: relative difference %g",
                     s[0], s[1], s[3], lambdas[l], pen, rel);
        free_problem(&P);
      }
}

Test(lstsq, step_refuses_and_names_lunet_train, .init = setup) {
  const plugin_entry *pe = registry_find(LUNET_OPTIMIZER, "lstsq");
  cr_assert_not_null(pe);
  param_values pv;
  cr_assert_eq(params_resolve(pe->desc, NULL, 0, &pv), 0);
  lunet_params none = {.size = sizeof none};
  void *self = pe->desc->optimizer->create(pv.v, &none);
  cr_assert_not_null(self, "%s", services_last_error());
  cr_expect_neq(pe->desc->optimizer->step[LUNET_CPU](self, &none), 0);
  cr_expect(strstr(services_last_error(), "lunet.train") != NULL, "%s", services_last_error());
  pe->desc->optimizer->destroy(self);
  params_free(&pv);
}
