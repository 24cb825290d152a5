/*
** test_pool.c -- the host's thread pool (host->parallel_for): every item
** is visited exactly once, in chunks of at least `grain`, on as many
** threads as asked; it survives thousands of jobs, changes of the thread
** count and fork(); and the layers that use it (conv2d, batchnorm, relu,
** maxpool2d) give bitwise the same step at 1 and at 3 threads, with every
** one of their passes split.
*/
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "pool.h"
#include "services.h"

enum { MAX_CHUNKS = 64 };

/* What one job saw: visits per item, and each chunk's length and thread. */
typedef struct job {
  int *visits;
  atomic_int chunks;
  int64_t length[MAX_CHUNKS];
  pthread_t thread[MAX_CHUNKS];
} job;

static void visit(void *ctx, int64_t lo, int64_t hi) {
  job *j = ctx;
  int c = atomic_fetch_add(&j->chunks, 1);
  if (c < MAX_CHUNKS) j->length[c] = hi - lo, j->thread[c] = pthread_self();
  for (int64_t i = lo; i < hi; i++) j->visits[i]++;
}

static int distinct_threads(const job *j) {
  int n = 0, chunks = j->chunks < MAX_CHUNKS ? j->chunks : MAX_CHUNKS;
  for (int a = 0; a < chunks; a++) {
    int seen = 0;
    for (int b = 0; b < a; b++) seen |= pthread_equal(j->thread[a], j->thread[b]);
    n += !seen;
  }
  return n;
}

/* Runs one job and checks it; returns the number of chunks. */
static int check_job(int threads, int64_t n, int64_t grain) {
  job j = {calloc((size_t)(n ? n : 1), sizeof(int)), 0, {0}, {0}};
  pool_parallel_for(n, grain, visit, &j);
  for (int64_t i = 0; i < n; i++)
    cr_assert_eq(j.visits[i], 1, "threads %d, n %ld, grain %ld: item %ld visited %d times", threads,
                 (long)n, (long)grain, (long)i, j.visits[i]);
  int chunks = j.chunks;
  cr_assert_leq(chunks, threads, "threads %d, n %ld: %d chunks", threads, (long)n, chunks);
  cr_assert_eq(distinct_threads(&j), chunks, "threads %d, n %ld: two chunks on one thread", threads,
               (long)n);
  if (chunks > 1)
    for (int c = 0; c < chunks; c++)
      cr_assert_geq(j.length[c], grain, "threads %d, n %ld: a chunk of %ld items < grain %ld", threads,
                    (long)n, (long)j.length[c], (long)grain);
  int64_t most = grain > 0 ? n / grain : n;
  int expected = most < threads ? (int)most : threads;
  cr_assert_eq(chunks, n == 0 ? 0 : expected < 1 ? 1 : expected,
               "threads %d, n %ld, grain %ld: %d chunks, expected the most that hold a grain each",
               threads, (long)n, (long)grain, chunks);
  free(j.visits);
  return chunks;
}

Test(pool, visits_every_item_once_in_chunks_of_at_least_grain) {
  const int threads[] = {1, 2, 3, 8};
  const int64_t sizes[] = {0, 1, 2, 5, 64, 1000, 100003}, grains[] = {0, 1, 3, 1000, 1 << 20};
  for (unsigned t = 0; t < 4; t++) {
    pool_set_threads(threads[t]);
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
      for (unsigned g = 0; g < sizeof grains / sizeof grains[0]; g++)
        check_job(threads[t], sizes[s], grains[g]);
  }
  pool_set_threads(1);
}

Test(pool, survives_many_jobs_and_changes_of_the_thread_count) {
  for (int i = 0; i < 4000; i++) {
    if (i % 250 == 0) pool_set_threads(1 + (i / 250) % 4);
    check_job(1 + (i / 250) % 4, 1 + i % 97, 1);
  }
  pool_set_threads(1);
}

Test(pool, a_forked_child_starts_threads_of_its_own) {
  pool_set_threads(3);
  cr_assert_eq(check_job(3, 3000, 1), 3, "the parent ran on 3 threads");
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork failed");
  if (pid == 0) { /* the parent's workers do not exist here */
    job j = {calloc(3000, sizeof(int)), 0, {0}, {0}};
    pool_parallel_for(3000, 1, visit, &j);
    int ok = j.chunks == 3 && distinct_threads(&j) == 3;
    for (int i = 0; i < 3000; i++) ok &= j.visits[i] == 1;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child's job did not cover its items on 3 threads");
  cr_expect_eq(check_job(3, 3000, 1), 3, "the parent's pool still works after the fork");
  pool_set_threads(1);
}

/* ---- layers: the same numbers at any thread count ---------------------- */

/* Sizes at which every pass of these layers is split at 3 threads (each
** has at least two grains of ~32k floats): 9 passes forward (conv2d im2col
** and output permutation twice, batchnorm twice, relu, maxpool2d twice) and
** 9 backward (their adjoints; conv2d reuses its columns). */
enum { B = 64, C = 3, H = 16, W = 16, NX = B * C * H * W, SPLIT_PASSES = 18 };

typedef struct step {
  float *out, *dx, *values; /* the output, dL/dx, then every parameter and its gradient */
  size_t n_out, n_values;
  int64_t split; /* passes that ran on more than one thread */
} step;

/* One training forward and backward of a small CNN at `threads` pool
** threads (the BLAS stays at 1). */
static step cnn_step(int threads, const float *x, const float *dy) {
  const layer_spec spec[] = {
    {"conv2d", {P_NUM("out_channels", 16), P_NUM("kernel", 3), P_NUM("padding", 1)}, 3},
    {"batchnorm", {{0}}, 0},
    {"relu", {{0}}, 0},
    {"maxpool2d", {P_NUM("kernel", 2)}, 1},
    {"conv2d", {P_NUM("out_channels", 32), P_NUM("kernel", 3), P_NUM("padding", 1)}, 3},
    {"batchnorm", {{0}}, 0},
    {"maxpool2d", {P_NUM("kernel", 3), P_NUM("stride", 1), P_NUM("padding", 1)}, 3},
    {"flatten", {{0}}, 0},
    {"dense", {P_NUM("out", 10)}, 1},
  };
  const lunet_shape in = {3, {C, H, W}};
  pool_set_threads(threads);
  model *m = common_model(spec, 9, 17, &in);
  cr_assert(m, "%s", services_last_error());
  cr_assert_eq(model_reserve(m, B), 0, "%s", services_last_error());
  lunet_rng rng;
  rng_seed(&rng, 1);
  lunet_ctx train = {.size = sizeof train, .train = 1, .rng = &rng, .device = LUNET_CPU};
  lunet_tensor xt = common_tensor((float *)x, B, &in);
  int64_t split_before = pool_split_jobs();
  const lunet_tensor *y = model_forward(m, &xt, &train);
  cr_assert(y, "%s", services_last_error());
  step s = {0};
  s.n_out = (size_t)lunet_numel(&y->shape);
  s.out = malloc(sizeof(float) * s.n_out);
  memcpy(s.out, y->f32, sizeof(float) * s.n_out);
  memcpy(model_output_grad(m)->f32, dy, sizeof(float) * s.n_out);
  s.dx = malloc(sizeof(float) * NX);
  lunet_tensor dxt = common_tensor(s.dx, B, &in);
  cr_assert_eq(model_backward(m, &dxt, NULL, NULL), 0, "%s", services_last_error());
  s.split = pool_split_jobs() - split_before;
  const weights *ws = &m->ws;
  for (int i = 0; i < ws->n; i++) s.n_values += 2 * (size_t)lunet_numel(&ws->w[i].value->shape);
  s.values = malloc(sizeof(float) * s.n_values);
  float *v = s.values;
  for (int i = 0; i < ws->n; i++) { /* buffers (no gradient) get zeros in its place */
    size_t n = (size_t)lunet_numel(&ws->w[i].value->shape);
    memcpy(v, ws->w[i].value->f32, sizeof(float) * n), v += n;
    if (ws->w[i].grad) memcpy(v, ws->w[i].grad->f32, sizeof(float) * n);
    else memset(v, 0, sizeof(float) * n);
    v += n;
  }
  model_free(m);
  pool_set_threads(1);
  return s;
}

Test(pool, a_cnn_step_is_bitwise_the_same_at_1_and_3_threads) {
  float *x = malloc(sizeof(float) * NX), dy[B * 10];
  common_fill_normal(x, NX, 4);
  common_fill_normal(dy, B * 10, 5);
  step one = cnn_step(1, x, dy), three = cnn_step(3, x, dy);
  cr_assert_eq(one.n_out, (size_t)B * 10);
  cr_expect_eq(one.split, 0, "at 1 thread nothing is split");
  cr_expect_geq(three.split, SPLIT_PASSES, "at 3 threads only %ld of the %d passes were split",
                (long)three.split, SPLIT_PASSES);
  cr_expect_eq(memcmp(one.out, three.out, sizeof(float) * one.n_out), 0, "outputs differ");
  cr_expect_eq(memcmp(one.dx, three.dx, sizeof(float) * NX), 0, "dL/dx differs");
  cr_assert_eq(one.n_values, three.n_values);
  cr_expect_eq(memcmp(one.values, three.values, sizeof(float) * one.n_values), 0,
               "parameters, running statistics or gradients differ");
  free(x), free(one.out), free(one.dx), free(one.values), free(three.out), free(three.dx),
    free(three.values);
}
