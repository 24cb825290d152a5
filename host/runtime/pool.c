/*
** pool.c -- the host's thread pool: host->parallel_for (services.c hands
** it to plugins), which spreads the elementwise loops of plugins over the
** same number of threads as the BLAS, lunet.threads(). Its users today:
** conv2d (im2col), batchnorm, relu and maxpool2d, all through
** host->parallel_for.
**
** Why a pool of our own: OpenBLAS threads only its own GEMMs. Between two
** GEMMs a CNN step runs long memory-bound loops, and with one thread those
** leave every other core idle (its OpenBLAS worker spinning).
**
** Work split. parallel_for(n, grain, fn, ctx) cuts [0, n) into T contiguous
** chunks of near-equal size, T = min(threads, n / grain); the caller runs
** chunk 0 and worker i chunk i. Items are independent by contract, so the
** result of a parallel_for does not depend on T: its loops give bitwise the
** same numbers at any thread count (OpenBLAS's GEMMs need not).
**
** Lifetime. Workers are started on the first parallel_for that needs them
** (after a change of the thread count: never in the steady state) and
** sleep on a condition variable between jobs. pool_set_threads() stops
** them when the count changes. A forked child (a sweep's worker) inherits
** none of the threads, so the atfork handler forgets them there; the child
** starts its own if it ever asks for more than one thread.
**
** One job at a time, from the thread that owns the model: fn must not call
** parallel_for itself.
*/
#include <pthread.h>
#include <stdlib.h>

#include "runtime/pool.h"

#define MAX_THREADS 256

typedef struct pool {
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  int want;                /* threads asked for, the caller included */
  int started;             /* workers running (want - 1 once started) */
  pthread_t workers[MAX_THREADS];
  unsigned long job;       /* bumped for each job and for shutdown */
  unsigned long born;      /* job when the newest workers were created */
  int quit;                /* workers exit at the next job */
  int busy;                /* workers still on the current job */
  int64_t split_jobs;      /* jobs that ran on more than one thread */
  /* the current job */
  lunet_range_fn fn;
  void *ctx;
  int64_t n;
  int parts;
} pool;

static pool P = {.mu = PTHREAD_MUTEX_INITIALIZER, .start = PTHREAD_COND_INITIALIZER,
                 .done = PTHREAD_COND_INITIALIZER, .want = 1};

/* chunk k of `parts` over [0, n): [n k / parts, n (k + 1) / parts) */
static void run_part(lunet_range_fn fn, void *ctx, int64_t n, int parts, int k) {
  int64_t lo = n * k / parts, hi = n * (k + 1) / parts;
  if (hi > lo) fn(ctx, lo, hi);
}

static void *worker_main(void *arg) {
  int k = (int)(intptr_t)arg; /* this worker's chunk, 1.. */
  pthread_mutex_lock(&P.mu);
  unsigned long seen = P.born; /* not P.job: a job may be posted before we run */
  for (;;) {
    while (P.job == seen) pthread_cond_wait(&P.start, &P.mu);
    seen = P.job;
    if (P.quit) break;
    lunet_range_fn fn = P.fn;
    void *ctx = P.ctx;
    int64_t n = P.n;
    int parts = P.parts;
    if (k >= parts) continue; /* not needed for this one: only parts - 1 workers count */
    pthread_mutex_unlock(&P.mu);
    run_part(fn, ctx, n, parts, k);
    pthread_mutex_lock(&P.mu);
    if (--P.busy == 0) pthread_cond_signal(&P.done);
  }
  pthread_mutex_unlock(&P.mu);
  return NULL;
}

static void stop_workers(void) {
  if (!P.started) return;
  pthread_mutex_lock(&P.mu);
  P.quit = 1;
  P.job++;
  pthread_cond_broadcast(&P.start);
  pthread_mutex_unlock(&P.mu);
  for (int i = 0; i < P.started; i++) pthread_join(P.workers[i], NULL);
  P.started = 0;
  P.quit = 0;
}

/* In a forked child the workers do not exist: forget them. */
static void forget_workers(void) {
  pthread_mutex_init(&P.mu, NULL);
  pthread_cond_init(&P.start, NULL);
  pthread_cond_init(&P.done, NULL);
  P.started = 0;
  P.busy = 0;
  P.quit = 0;
}

static void watch_forks(void) { pthread_atfork(NULL, NULL, forget_workers); }

/* Starts want - 1 workers; on failure runs with those that started. */
static void start_workers(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, watch_forks);
  P.born = P.job;
  while (P.started < P.want - 1 &&
         pthread_create(&P.workers[P.started], NULL, worker_main, (void *)(intptr_t)(P.started + 1)) == 0)
    P.started++;
}

void pool_set_threads(int n) {
  n = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
  if (n == P.want) return;
  stop_workers();
  P.want = n;
}

void pool_parallel_for(int64_t n, int64_t grain, lunet_range_fn fn, void *ctx) {
  int64_t most = grain > 0 ? n / grain : n;
  int parts = most < P.want ? (int)most : P.want;
  if (parts <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  if (P.started < P.want - 1) start_workers();
  if (parts > P.started + 1) parts = P.started + 1;
  pthread_mutex_lock(&P.mu);
  P.fn = fn, P.ctx = ctx, P.n = n, P.parts = parts;
  P.busy = parts - 1; /* workers 1..parts-1 */
  P.split_jobs++;
  P.job++;
  pthread_cond_broadcast(&P.start);
  pthread_mutex_unlock(&P.mu);
  run_part(fn, ctx, n, parts, 0);
  pthread_mutex_lock(&P.mu);
  while (P.busy > 0) pthread_cond_wait(&P.done, &P.mu);
  pthread_mutex_unlock(&P.mu);
}

int64_t pool_split_jobs(void) { return P.split_jobs; }
