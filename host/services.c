/*
** services.c -- what the host offers plugins: aligned zeroed memory, GEMM on
** OpenBLAS, a seeded xoshiro256** generator, error reporting and data-file
** lookup. Plugins reach these only through the lunet_host table, so they
** link against neither the host nor BLAS.
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
