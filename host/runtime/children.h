/*
** children.h -- functions run in child processes with a deadline: the
** process pool behind lunet.sweep's trials, `lunet check`'s probes and the
** trial load of a plugin from LUNET_PLUGIN_PATH.
**
** Each job runs in a child forked from the caller, so it inherits the
** whole state (a Lua interpreter, open datasets, loaded plugins) and a
** crash, abort, exit() or out-of-memory kill in one job costs that job
** only. A child reports through a pipe; the parent collects the bytes while
** it runs (so a large report never blocks it) and hands them over with its
** wait status.
**
** Limits. With a timeout, a child leads a process group of its own; one
** that runs past `timeout` is killed with its whole group (a trial's
** os.execute("sleep") too) and reported as timed out. `memory` caps the
** address space a child may add to what it had at the fork (RLIMIT_AS):
** past it, allocations fail inside the job.
*/
#ifndef LUNET_CHILDREN_H
#define LUNET_CHILDREN_H

#include <stddef.h>

typedef struct child_pool {
  void *ud;
  /* In the child: runs job `i`, writing its report to `fd`. The child
  ** then exits with the value returned. */
  int (*run)(void *ud, int i, int fd);
  /* In the parent: job `i` ended with `wstatus` (as from waitpid) after
  ** `seconds` of wall time, having written out[0..len); `timed_out` when
  ** the pool killed it at its timeout. Must return normally (no longjmp):
  ** 0 to go on, 1 to launch no more jobs (those running are still
  ** waited for and reported). */
  int (*done)(void *ud, int i, int wstatus, double seconds, int timed_out, const char *out, size_t len);
  /* In the parent, optional: called about once a second while jobs run. */
  void (*tick)(void *ud);
  int threads;  /* BLAS threads in each child (< 1 means 1): the caller's
                ** count is set to it while child_pool_run runs, then put back */
  double timeout;  /* seconds of wall time a job may run; 0: no limit */
  size_t memory;   /* bytes of address space a job may add; 0: no limit */
} child_pool;

/* Runs jobs[0..n) with at most `workers` children at a time. Returns 0,
** or -1 with services_error() when a process or pipe could not be made
** (jobs already running are still waited for and reported). */
int child_pool_run(const child_pool *pool, const int *jobs, int n, int workers);

/* One job, run(ud, fd), in a child with the caller's thread count and at
** most `timeout` seconds (0: no limit). */
typedef struct child_result {
  int wstatus;      /* as from waitpid */
  int timed_out;    /* killed at the timeout */
  char out[256];    /* the first bytes it reported */
  size_t len;       /* how many of them */
} child_result;

/* 0 with *r filled, or -1 with services_error() (no process or pipe). */
int child_run(int (*run)(void *ud, int fd), void *ud, double timeout, child_result *r);

/* What ended a job that did not report all it should have: "timed out
** after 10 s", then child_describe_exit()'s message, or "exited with
** status 0 before it was done". */
void child_describe_end(const child_result *r, double timeout, char *msg, size_t sz);

/* "crashed" messages for a wait status: "killed by signal 11 (SIGSEGV:
** Segmentation fault)", "the worker exited with status 3". Returns 0 (and
** leaves msg empty) for a normal exit with status 0. */
int child_describe_exit(int wstatus, char *msg, size_t sz);

#endif
