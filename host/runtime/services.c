/*
** services.c -- what the host offers plugins: the CPU's device services
** (aligned zeroed memory, copies, GEMM and strided batched GEMM on
** OpenBLAS), a seeded xoshiro256** generator, error reporting, data-file
** lookup, float64 SVD, GEMM and minimum-norm least squares for closed-form
** fits, and parallel_for, which is the thread pool of pool.c. Plugins reach
** these only through the lunet_host table, so they link against neither the
** host nor BLAS/LAPACK.
*/
#include "runtime/pool.h"
#include "runtime/services.h"

#include <cblas.h>
#include <dlfcn.h>
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

/* One sgemm per matrix: OpenBLAS threads each (the products of attention
** heads are large enough); the order of the batch is the order of calls. */
static void host_gemm_batched(int ta, int tb, int m, int n, int k, float alpha, const float *a,
                              int lda, int64_t sa, const float *b, int ldb, int64_t sb, float beta,
                              float *c, int ldc, int64_t sc, int batch) {
  for (int i = 0; i < batch; i++)
    host_gemm(ta, tb, m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb, beta, c + i * sc, ldc);
}

/* Host memory is the CPU's memory: every direction is a memcpy. */
static int host_copy(void *dst, const void *src, size_t bytes, int kind) {
  (void)kind;
  if (bytes) memmove(dst, src, bytes);
  return 0;
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

/* LAPACK's Fortran entry for minimum-norm least squares (no LAPACKE here). */
void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda, double *b,
             const int *ldb, double *s, const double *rcond, int *rank, double *work,
             const int *lwork, int *iwork, int *info);

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols: the (rows,
** cols) row-major src becomes the same matrix column-major in dst (leading
** dimension ldd), or back. Tiles of 8 columns (a cache line of a src row)
** by 64 rows write each dst column in runs of 64 (on a 2000 x 8000 matrix
** 0.10-0.11 s, square 32 x 32 tiles 0.10-0.16 s). */
static void transpose(int rows, int cols, const double *src, size_t lds, double *dst, size_t ldd) {
  for (int j0 = 0; j0 < cols; j0 += 8)
    for (int i0 = 0; i0 < rows; i0 += 64)
      for (int j = j0; j < cols && j < j0 + 8; j++)
        for (int i = i0; i < rows && i < i0 + 64; i++)
          dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j];
}

/* The first non-finite element of the row-major (rows, cols) x, as an error
** naming `what`; 0 when all are finite (LAPACK may loop or return garbage). */
static int check_finite(const char *what, const double *x, int rows, int cols, int m, int n) {
  for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
    if (!isfinite(x[i])) {
      services_error("lstsq: element (%zu, %zu) of %s (A is %d x %d) is %g, expected finite values",
                     i / (size_t)cols, i % (size_t)cols, what, m, n, x[i]);
      return -1;
    }
  return 0;
}

/* dgelsd on the column-major copies ca (m, n) and cb (ldb, nrhs) of A and
** B, ldb = max(m, n); then X, rows 0..n-1 of cb, goes back to b row-major. */
static int gelsd(int m, int n, int nrhs, const double *a, double *b, double rcond, double *ca,
                 double *cb, double *s, int *rank) {
  int ldb = m > n ? m : n, lwork = -1, liwork = 1, info = 0, r = 0;
  double query = 0;
  dgelsd_(&m, &n, &nrhs, ca, &m, cb, &ldb, s, &rcond, &r, &query, &lwork, &liwork, &info);
  lwork = info == 0 && query < 2147483647.0 ? (int)query + 1 : -1; /* query: sizes of both */
  double *work = lwork > 0 ? malloc(sizeof(double) * (size_t)lwork) : NULL;
  int *iwork = malloc(sizeof(int) * (size_t)(liwork > 1 ? liwork : 1));
  if (!work || !iwork) {
    free(work), free(iwork);
    services_error("lstsq: no workspace for A %d x %d and %d right-hand sides (LAPACK asked "
                   "%.0f doubles)", m, n, nrhs, query);
    return -1;
  }
  transpose(m, n, a, (size_t)n, ca, (size_t)m);        /* (m, n) row-major -> column-major */
  transpose(m, nrhs, b, (size_t)nrhs, cb, (size_t)ldb); /* (m, nrhs) likewise, ldb rows */
  dgelsd_(&m, &n, &nrhs, ca, &m, cb, &ldb, s, &rcond, &r, work, &lwork, iwork, &info);
  free(work), free(iwork);
  if (info < 0)
    services_error("lstsq: dgelsd rejected argument %d for A %d x %d and %d right-hand sides",
                   -info, m, n, nrhs);
  if (info > 0)
    services_error("lstsq: dgelsd's SVD did not converge on A %d x %d (%d bidiagonal elements "
                   "left; NaN or Inf in it?)", m, n, info);
  if (info) return -1;
  transpose(nrhs, n, cb, (size_t)ldb, b, (size_t)nrhs); /* X: (n, nrhs) column-major -> row-major */
  if (rank) *rank = r;
  return 0;
}

/* Minimum-norm X = A^+ B, row-major outside, LAPACK's column-major inside.
** The copies cost O(m n) against dgelsd's O(m n min(m, n)); dgelsd
** overwrites them, not `a` (which the ABI calls scratch all the same, so
** that an in-place transpose stays possible). */
static int host_lstsq(int m, int n, int nrhs, double *a, double *b, double rcond, double *s,
                      int *rank) {
  if (m < 1 || n < 1 || nrhs < 1) {
    services_error("lstsq: A is %d x %d with %d right-hand sides, expected all three >= 1", m, n,
                   nrhs);
    return -1;
  }
  if (check_finite("A", a, m, n, m, n) || check_finite("B", b, m, nrhs, m, n)) return -1;
  size_t k = (size_t)(m < n ? m : n), ldb = (size_t)(m > n ? m : n);
  double *ca = malloc(sizeof(double) * (size_t)m * (size_t)n);
  double *cb = malloc(sizeof(double) * ldb * (size_t)nrhs);
  double *sv = s ? s : malloc(sizeof(double) * k);
  int rc = -1;
  if (ca && cb && sv)
    rc = gelsd(m, n, nrhs, a, b, rcond, ca, cb, sv, rank);
  else
    services_error("lstsq: out of memory for A %d x %d and %d right-hand sides", m, n, nrhs);
  if (sv != s) free(sv);
  free(ca), free(cb);
  return rc;
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

static const lunet_device_services cpu_services = {
  .size = sizeof(lunet_device_services),
  .device = LUNET_CPU,
  .alloc = host_alloc,
  .free = host_free,
  .copy = host_copy,
  .gemm = host_gemm,
  .gemm_batched = host_gemm_batched,
};

/* Not const: a device found at run time is added (services_set_device). */
static lunet_host host_table = {
  .size = sizeof(lunet_host),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .device = {[LUNET_CPU] = &cpu_services},
  .alloc = host_alloc,
  .free = host_free,
  .gemm = host_gemm,
  .gemm_batched = host_gemm_batched,
  .error = services_error,
  .rng_seed = rng_seed,
  .rng_u64 = rng_u64,
  .rng_uniform = rng_uniform,
  .rng_normal = rng_normal,
  .find_data = host_find_data,
  .svd = host_svd,
  .dgemm = host_dgemm,
  .lstsq = host_lstsq,
  .parallel_for = pool_parallel_for,
};

const lunet_host *services_host(void) { return &host_table; }

void services_set_device(int device, const lunet_device_services *s) { host_table.device[device] = s; }

/* ---- threads ----------------------------------------------------------- */

static int n_threads = 1;

void services_set_threads(int n) {
  n_threads = n < 1 ? 1 : n;
  openblas_set_num_threads(n_threads);
  pool_set_threads(n_threads);
}

int services_threads(void) { return n_threads; }

/* OpenBLAS's idle workers spin on sched_yield for 2^28 cycles (about 0.1
** s) after each GEMM before they sleep. Between two GEMMs the pool runs
** the elementwise loops on the same cores, and the spinning took a third of
** their time (perf, CNN epoch at 2 threads on 2 cores: 29% of samples in
** sched_yield; epoch on 4k images, median of 4: 3.27 s -> 2.79 s).
** OPENBLAS_THREAD_TIMEOUT=n makes them sleep after 2^n cycles. n = 20
** (~0.4 ms) ends the spinning early in a pass of the pool (milliseconds)
** but keeps them awake between the many small BLAS calls of a LAPACK
** routine or of a small MLP's step; it measured at least as fast as n = 16
** (medians of 5, from 16 to 20: CNN epoch on 3k images 2.11 -> 2.02 s, MLP
** epoch 0.88 -> 0.84 s, RFF fit of 500 features 0.125 -> 0.122 s).
** OpenBLAS reads it when it loads, before main, and starts its workers
** then. So set it, have OpenBLAS read
** the environment again and stop its workers; services_set_threads()
** restarts them (OpenBLAS >= 0.3.4 does so in openblas_set_num_threads)
** with the short timeout. The two functions are exported by OpenBLAS but
** not declared in cblas.h: look them up, and leave any other BLAS, and
** OpenBLAS's OpenMP build (openblas_get_parallel() == 2, no such workers),
** alone. A user's own OPENBLAS_THREAD_TIMEOUT is kept. */
static void blas_workers_sleep_soon(void) {
  if (getenv("OPENBLAS_THREAD_TIMEOUT")) return;
  void *self = dlopen(NULL, RTLD_LAZY);
  if (!self) return;
  void (*read_env)(void), (*stop_workers)(void);
  int (*parallel)(void);
  *(void **)&read_env = dlsym(self, "openblas_read_env"); /* POSIX's idiom, as registry.c */
  *(void **)&stop_workers = dlsym(self, "blas_thread_shutdown_");
  *(void **)&parallel = dlsym(self, "openblas_get_parallel");
  if (read_env && stop_workers && parallel && parallel() == 1 &&
      setenv("OPENBLAS_THREAD_TIMEOUT", "20", 0) == 0) {
    read_env();
    stop_workers();
  }
  dlclose(self);
}

void services_init_threads(void) {
  blas_workers_sleep_soon();
  const char *env = getenv("LUNET_THREADS");
  long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  services_set_threads(n > 0 ? (int)n : 1);
}
