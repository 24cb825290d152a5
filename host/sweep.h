/*
** sweep.h -- a pool of worker processes for independent trials.
**
** Each trial runs in a child forked from the caller, so it inherits the
** whole state (a Lua interpreter, open datasets) and a crash, abort or
** out-of-memory kill in one trial costs that trial only. A child reports
** through a pipe; the parent collects the bytes while it runs (so a large
** report never blocks it) and hands them over with its wait status.
*/
#ifndef LUNET_SWEEP_H
#define LUNET_SWEEP_H

#include <stddef.h>

typedef struct sweep_pool {
  void *ud;
  /* In the child: runs trial `i`, writing its report to `fd`. The child
  ** then exits with the value returned. */
  int (*run)(void *ud, int i, int fd);
  /* In the parent: trial `i` ended with `wstatus` (as from waitpid) after
  ** writing out[0..len). Return 0 to go on, 1 to launch no more trials. */
  int (*done)(void *ud, int i, int wstatus, const char *out, size_t len);
} sweep_pool;

/* Runs trials[0..n) with at most `workers` at a time; with more than one
** worker each child's BLAS runs on one thread. Returns 0, or -1 with
** services_error() when a process or pipe could not be made. */
int sweep_run(const sweep_pool *pool, const int *trials, int n, int workers);

#endif
