/*
** test_kernels.c -- the host's tensor services against independent
** references: GEMM and strided batched GEMM in every transpose combination
** against a float64 naive loop, the device table's copies, and the random
** generator's determinism and moments.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services.h"

static const lunet_host *H;

static void setup(void) { H = services_host(); }

/* C = alpha op(A) op(B) + beta C computed in double with plain loops. */
static void naive_gemm(int ta, int tb, int m, int n, int k, double alpha, const float *a, int lda,
                       const float *b, int ldb, double beta, double *c, int ldc) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) {
        double x = ta ? a[p * lda + i] : a[i * lda + p];
        double y = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += x * y;
      }
      c[i * ldc + j] = alpha * s + beta * c[i * ldc + j];
    }
}

static void fill(float *v, int n, lunet_rng *rng) {
  for (int i = 0; i < n; i++) v[i] = (float)(2 * H->rng_uniform(rng) - 1);
}

Test(kernels, gemm_matches_naive_loop_in_every_transpose_combination, .init = setup) {
  lunet_rng rng;
  H->rng_seed(&rng, 7);
  const int m = 13, n = 29, k = 17; /* odd sizes: no kernel happens to fit them */
  float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
  float *c = malloc(sizeof(float) * m * n);
  double *ref = malloc(sizeof(double) * m * n);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      fill(a, m * k, &rng);
      fill(b, k * n, &rng);
      fill(c, m * n, &rng);
      for (int i = 0; i < m * n; i++) ref[i] = c[i];
      int lda = ta ? m : k, ldb = tb ? k : n;
      H->gemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2.0f, c, n);
      naive_gemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2.0, ref, n);
      double worst = 0;
      for (int i = 0; i < m * n; i++) worst = fmax(worst, fabs(c[i] - ref[i]));
      cr_expect_lt(worst, 1e-5, "gemm ta=%d tb=%d differs from the naive loop by %g", ta, tb, worst);
    }
  free(a), free(b), free(c), free(ref);
}

Test(kernels, gemm_honours_leading_dimensions_of_submatrices, .init = setup) {
  /* A 2x2 block inside a 3x4 array: lda = 4 must skip the other columns. */
  float a[12] = {1, 2, 99, 99, 3, 4, 99, 99, 99, 99, 99, 99};
  float b[4] = {1, 0, 0, 1}, c[4] = {0};
  H->gemm(0, 0, 2, 2, 2, 1.0f, a, 4, b, 2, 0.0f, c, 2);
  cr_expect_float_eq(c[0], 1, 0);
  cr_expect_float_eq(c[1], 2, 0);
  cr_expect_float_eq(c[2], 3, 0);
  cr_expect_float_eq(c[3], 4, 0);
}

/* Attention's shape: (heads, T, d) x (heads, T, d)^T -> (heads, T, T), each
** head a matrix at its own stride, with gaps between them left untouched. */
Test(kernels, gemm_batched_matches_naive_loops_per_matrix, .init = setup) {
  lunet_rng rng;
  H->rng_seed(&rng, 9);
  enum { BATCH = 3, M = 5, N = 6, K = 7, GAP = 4 };
  const int64_t sa = M * K + GAP, sb = N * K + GAP, sc = M * N + GAP;
  float a[BATCH * (M * K + GAP)], b[BATCH * (N * K + GAP)], c[BATCH * (M * N + GAP)];
  double ref[M * N];
  for (int tb = 0; tb < 2; tb++) {
    fill(a, BATCH * (int)sa, &rng);
    fill(b, BATCH * (int)sb, &rng);
    fill(c, BATCH * (int)sc, &rng);
    float keep = c[M * N]; /* the first gap */
    float c0[BATCH * (M * N + GAP)];
    memcpy(c0, c, sizeof c);
    int ldb = tb ? K : N;
    H->device[LUNET_CPU]->gemm_batched(0, tb, M, N, K, 0.25f, a, K, sa, b, ldb, sb, 1.5f, c, N, sc, BATCH);
    for (int i = 0; i < BATCH; i++) {
      for (int j = 0; j < M * N; j++) ref[j] = c0[i * sc + j];
      naive_gemm(0, tb, M, N, K, 0.25, a + i * sa, K, b + i * sb, ldb, 1.5, ref, N);
      double worst = 0;
      for (int j = 0; j < M * N; j++) worst = fmax(worst, fabs(c[i * sc + j] - ref[j]));
      cr_expect_lt(worst, 1e-5, "matrix %d (tb=%d) differs from the naive loop by %g", i, tb, worst);
    }
    cr_expect_eq(c[M * N], keep, "the gap between two matrices was written");
  }
  cr_expect_eq((void *)H->gemm_batched, (void *)H->device[LUNET_CPU]->gemm_batched, "the CPU shorthand");
}

Test(kernels, cpu_device_table_allocates_zeroed_aligned_memory_and_copies, .init = setup) {
  const lunet_device_services *d = H->device[LUNET_CPU];
  cr_assert(d && d->size >= sizeof *d && d->device == LUNET_CPU);
  for (int k = 1; k < LUNET_MAX_DEVICES; k++) cr_expect_null(H->device[k], "no device %d in a CPU build", k);
  float *x = d->alloc(sizeof(float) * 100), *y = d->alloc(sizeof(float) * 100);
  cr_assert(x && y);
  cr_expect_eq((uintptr_t)x % 64, 0, "64-byte aligned");
  for (int i = 0; i < 100; i++) cr_expect_eq(x[i], 0.0f, "zero-filled");
  for (int i = 0; i < 100; i++) x[i] = (float)i;
  for (int kind = LUNET_COPY_TO_DEVICE; kind <= LUNET_COPY_ON_DEVICE; kind++) {
    memset(y, 0, sizeof(float) * 100);
    cr_expect_eq(d->copy(y, x, sizeof(float) * 100, kind), 0);
    cr_expect_eq(memcmp(x, y, sizeof(float) * 100), 0, "copy kind %d", kind);
  }
  d->free(x);
  d->free(y);
}

Test(kernels, rng_is_deterministic_per_seed, .init = setup) {
  lunet_rng r1, r2, r3;
  H->rng_seed(&r1, 42);
  H->rng_seed(&r2, 42);
  H->rng_seed(&r3, 43);
  int differs = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t a = H->rng_u64(&r1), b = H->rng_u64(&r2), c = H->rng_u64(&r3);
    cr_assert_eq(a, b, "same seed gave different numbers at draw %d", i);
    differs += a != c;
  }
  cr_expect_gt(differs, 95, "seeds 42 and 43 gave mostly the same stream");
}

Test(kernels, rng_uniform_and_normal_have_the_right_moments, .init = setup) {
  lunet_rng rng;
  H->rng_seed(&rng, 1);
  const int n = 200000;
  double su = 0, su2 = 0, sn = 0, sn2 = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; i++) {
    double u = H->rng_uniform(&rng), z = H->rng_normal(&rng);
    su += u, su2 += u * u, sn += z, sn2 += z * z;
    lo = fmin(lo, u), hi = fmax(hi, u);
  }
  /* tolerances are ~5 standard errors of each estimate */
  cr_expect(fabs(su / n - 0.5) < 5 * sqrt(1.0 / 12 / n), "uniform mean %g", su / n);
  cr_expect(fabs(su2 / n - su * su / n / n - 1.0 / 12) < 0.002, "uniform variance");
  cr_expect(lo >= 0 && hi < 1, "uniform outside [0, 1)");
  cr_expect(fabs(sn / n) < 5 / sqrt(n), "normal mean %g", sn / n);
  cr_expect(fabs(sn2 / n - 1) < 5 * sqrt(2.0 / n), "normal variance %g", sn2 / n);
}

Test(kernels, alloc_is_aligned_and_zeroed, .init = setup) {
  for (size_t bytes = 1; bytes < 5000; bytes = bytes * 3 + 1) {
    unsigned char *p = H->alloc(bytes);
    cr_assert_not_null(p);
    cr_expect_eq((uintptr_t)p % 64, 0, "not 64-byte aligned");
    int nonzero = 0;
    for (size_t i = 0; i < bytes; i++) nonzero |= p[i];
    cr_expect_eq(nonzero, 0, "alloc(%zu) not zero-filled", bytes);
    H->free(p);
  }
}
