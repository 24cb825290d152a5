/*
** services.c -- what the host offers plugins: aligned zeroed memory, GEMM on
** OpenBLAS, a seeded xoshiro256** generator, error reporting, data-file
** lookup, and float64 SVD and GEMM for closed-form fits. Plugins reach these
** only through the lunet_host table, so they link against neither the host
** nor BLAS/LAPACK.
*/
#include "services.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS extension, declared here to avoid depending on its private header. */
void openblas_set_num_threads(int n);

static char last_error[2048];

const char *services_last_error(void) { return last_error; }
void services_clear_error(void) { last_error[0] = '\0'; }

void services_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
}

static void *host_alloc(size_t bytes) {
  size_t rounded = (bytes + 63) & ~(size_t)63;
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (!p) {
    services_error("out of memory allocating %zu bytes", bytes);
    return NULL;
  }
  memset(p, 0, rounded ? rounded : 64);
  return p;
}

static void host_free(void *p) { free(p); }

static void host_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ---- float64 linear algebra (ABI 1.1) ---------------------------------- */

static void host_dgemm(int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda,
                       const double *b, int ldb, double beta, double *c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* LAPACK's Fortran entry (OpenBLAS ships no LAPACKE header on Debian). */
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *iwork, int *info);

/* A = U diag(s) V^T, thin, for a row-major (m, n) A; k = min(m, n).
** LAPACK is column-major: our buffer is the column-major (n, m) matrix A^T.
** Factoring A^T = U' S V'^T gives A = V' S U'^T, so LAPACK's "U" output
** (n, k) column-major is our vt (k, n) row-major, and its "VT" output
** (k, m) column-major is our u (m, k) row-major: no copy, no transpose. */
static int host_svd(int m, int n, double *a, double *s, double *u, double *vt) {
  if (m < 1 || n < 1) {
    services_error("svd: matrix is %d x %d, expected both sizes >= 1", m, n);
    return -1;
  }
  for (size_t i = 0; i < (size_t)m * (size_t)n; i++) {
    if (!isfinite(a[i])) { /* LAPACK may loop or return garbage on these */
      services_error("svd: element (%zu, %zu) of the %d x %d matrix is %g, expected finite values",
                     i / (size_t)n, i % (size_t)n, m, n, a[i]);
      return -1;
    }
  }
  int k = m < n ? m : n, lwork = -1, info = 0;
  double query;
  int *iwork = malloc(sizeof(int) * 8 * (size_t)k);
  if (!iwork) {
    services_error("svd: out of memory for a %d x %d matrix", m, n);
    return -1;
  }
  dgesdd_("S", &n, &m, a, &n, s, vt, &n, u, &k, &query, &lwork, iwork, &info);
  lwork = info == 0 && query < 2147483647.0 ? (int)query + 1 : -1;
  double *work = lwork > 0 ? malloc(sizeof(double) * (size_t)lwork) : NULL;
  if (!work) {
    free(iwork);
    services_error("svd: no workspace for a %d x %d matrix (LAPACK asked %.0f doubles)", m, n, query);
    return -1;
  }
  dgesdd_("S", &n, &m, a, &n, s, vt, &n, u, &k, work, &lwork, iwork, &info);
  free(work);
  free(iwork);
  if (info < 0) services_error("svd: dgesdd rejected argument %d of a %d x %d matrix", -info, m, n);
  if (info > 0) services_error("svd: dgesdd did not converge on a %d x %d matrix (NaN or Inf in it?)", m, n);
  return info ? -1 : 0;
}

/* ---- xoshiro256** (Blackman & Vigna), seeded through splitmix64 -------- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void rng_seed(lunet_rng *rng, uint64_t seed) {
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(lunet_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* 53 random bits scaled to [0, 1). */
double rng_uniform(lunet_rng *rng) { return (double)(rng_u64(rng) >> 11) * 0x1.0p-53; }

/* Box-Muller; the second variate is dropped so the stream has no hidden state. */
double rng_normal(lunet_rng *rng) {
  double u1 = 1.0 - rng_uniform(rng), u2 = rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- data files -------------------------------------------------------- */

static int try_path(char *out, size_t outsz, const char *a, const char *b, const char *c) {
  if (b && *b)
    snprintf(out, outsz, "%s/%s/%s", a, b, c);
  else
    snprintf(out, outsz, "%s/%s", a, c);
  return access(out, R_OK) == 0;
}

static int host_find_data(const char *dir, const char *file, char *out, size_t outsz) {
  const char *env = getenv("LUNET_DATA_DIR");
  char tried[1024] = "";
  if (env && *env) {
    if (try_path(out, outsz, env, dir, file) || try_path(out, outsz, env, NULL, file)) return 0;
    snprintf(tried, sizeof tried, "%s/%s/%s, %s/%s, ", env, dir, file, env, file);
  }
  if (try_path(out, outsz, "/usr/share/datasets", dir, file)) return 0;
  services_error("data file '%s' not found; looked in %s/usr/share/datasets/%s/%s "
                 "(set LUNET_DATA_DIR to another folder)", file, tried, dir, file);
  return -1;
}

static const lunet_host host_table = {
  .size = sizeof(lunet_host),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .alloc = host_alloc,
  .free = host_free,
  .error = services_error,
  .gemm = host_gemm,
  .rng_seed = rng_seed,
  .rng_u64 = rng_u64,
  .rng_uniform = rng_uniform,
  .rng_normal = rng_normal,
  .find_data = host_find_data,
  .svd = host_svd,
  .dgemm = host_dgemm,
};

const lunet_host *services_host(void) { return &host_table; }

/* ---- threads ----------------------------------------------------------- */

static int n_threads = 1;

void services_set_threads(int n) {
  n_threads = n < 1 ? 1 : n;
  openblas_set_num_threads(n_threads);
}

int services_threads(void) { return n_threads; }

void services_init_threads(void) {
  const char *env = getenv("LUNET_THREADS");
  long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  services_set_threads(n > 0 ? (int)n : 1);
}
