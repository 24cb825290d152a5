/*
** gemm_shapes.c -- the machine's sgemm rate on exactly the GEMMs of one
** training step of an MLP, the ceiling a training loop can reach.
**
**   gemm_shapes BATCH IN H1 [H2 ...] OUT
**   gemm_shapes --gemm M N K        (one M x K by K x N product)
**
** For each dense layer (in -> out) a step runs three GEMMs: the forward
** y = x W^T (B, in) x (in, out), the weight gradient dW = dy^T x
** (out, B) x (B, in), and, except for the first layer, the input gradient
** dx = dy W (B, out) x (out, in). Prints "RESULT gflops=<median rate>
** flops_per_step=<n>" over repeated timed runs.
*/
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *filled(size_t n) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
  for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  return p;
}

/* The rate of one sgemm shape, median of repeated timed runs. */
static int one_gemm(int m, int n, int k) {
  float *a = filled((size_t)m * k), *b = filled((size_t)k * n), *c = filled((size_t)m * n);
  enum { REPS = 21 };
  double rate[REPS], flops = 2.0 * m * n * k;
  int inner = (int)(2e9 / flops) + 1;
  for (int r = 0; r < REPS; r++) {
    double t0 = now();
    for (int s = 0; s < inner; s++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    rate[r] = flops * inner / (now() - t0) / 1e9;
  }
  qsort(rate, REPS, sizeof rate[0], cmp);
  printf("RESULT gflops=%.3f\n", rate[REPS / 2]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--gemm") == 0) return one_gemm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  if (argc < 4) {
    fprintf(stderr, "usage: gemm_shapes BATCH IN H1 [H2 ...] OUT\n");
    return 2;
  }
  int B = atoi(argv[1]), nl = argc - 3;
  int *w = malloc(sizeof(int) * (size_t)(nl + 1));
  for (int i = 0; i <= nl; i++) w[i] = atoi(argv[i + 2]);
  float **W = malloc(sizeof(float *) * (size_t)nl), **X = malloc(sizeof(float *) * (size_t)(nl + 1));
  float **D = malloc(sizeof(float *) * (size_t)(nl + 1));
  double flops = 0;
  for (int l = 0; l <= nl; l++) {
    X[l] = filled((size_t)B * (size_t)w[l]);
    D[l] = filled((size_t)B * (size_t)w[l]);
    if (l < nl) {
      W[l] = filled((size_t)w[l] * (size_t)w[l + 1]);
      flops += 2.0 * B * w[l] * w[l + 1] * (l == 0 ? 2 : 3);
    }
  }
  float *dW = filled((size_t)w[0] * (size_t)w[1] * 4 + (size_t)w[1] * 1024);
  enum { REPS = 21, STEPS = 50 };
  double rate[REPS];
  for (int r = 0; r < REPS; r++) {
    double t0 = now();
    for (int s = 0; s < STEPS; s++)
      for (int l = 0; l < nl; l++) {
        int in = w[l], out = w[l + 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, X[l], in, W[l], in, 0, X[l + 1], out);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1, D[l + 1], out, X[l], in, 0, dW, in);
        if (l > 0)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1, D[l + 1], out, W[l], in, 0, D[l], in);
      }
    rate[r] = flops * STEPS / (now() - t0) / 1e9;
  }
  qsort(rate, REPS, sizeof rate[0], cmp);
  printf("RESULT gflops=%.3f flops_per_step=%.0f\n", rate[REPS / 2], flops);
  return 0;
}
