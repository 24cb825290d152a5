/*
** workers.h -- the C half of lunet.sweep: a pool of worker processes for
** independent trials, the canonical text that trial keys are made of, and
** the progress display. No Lua here; lua_sweep.c and the
** other lua_*.c files here build on it.
**
** Each trial runs in a child forked from the caller, so it inherits the
** whole state (a Lua interpreter, open datasets) and a crash, abort or
** out-of-memory kill in one trial costs that trial only. A child reports
** through a pipe; the parent collects the bytes while it runs (so a large
** report never blocks it) and hands them over with its wait status.
**
** Limits. With a timeout, a child leads a process group of its own; one
** that runs past `timeout` is killed with its whole group (a trial's
** os.execute("sleep") too) and reported as timed out. `memory` caps the address space a child
** may add to what it had at the fork (RLIMIT_AS): past it, allocations fail
** inside the trial, and a Lua "not enough memory" becomes status oom.
*/
#ifndef LUNET_SWEEP_H
#define LUNET_SWEEP_H

#include <stddef.h>

/* ---- the process pool ---------------------------------------------------- */

typedef struct sweep_pool {
  void *ud;
  /* In the child: runs trial `i`, writing its report to `fd`. The child
  ** then exits with the value returned. */
  int (*run)(void *ud, int i, int fd);
  /* In the parent: trial `i` ended with `wstatus` (as from waitpid) after
  ** `seconds` of wall time, having written out[0..len); `timed_out` when
  ** the pool killed it at its timeout. Must return normally (no longjmp):
  ** 0 to go on, 1 to launch no more trials (those running are still
  ** waited for and reported). */
  int (*done)(void *ud, int i, int wstatus, double seconds, int timed_out, const char *out, size_t len);
  /* In the parent, optional: called about once a second while trials run. */
  void (*tick)(void *ud);
  int threads;  /* BLAS threads in each child (< 1 means 1): the caller's
                ** count is set to it while sweep_run runs, then put back */
  double timeout;  /* seconds of wall time a trial may run; 0: no limit */
  size_t memory;   /* bytes of address space a trial may add; 0: no limit */
} sweep_pool;

/* Runs trials[0..n) with at most `workers` children at a time. Returns 0,
** or -1 with services_error() when a process or pipe could not be made
** (trials already running are still waited for and reported). */
int sweep_run(const sweep_pool *pool, const int *trials, int n, int workers);

/* "crashed" messages for a wait status: "killed by signal 11 (SIGSEGV:
** Segmentation fault)", "the worker exited with status 3". Returns 0 (and
** leaves msg empty) for a normal exit with status 0. */
int sweep_describe_exit(int wstatus, char *msg, size_t sz);

/* Reads a memory size: bytes, or a number with K, M, G or T (powers of
** 1024, either case, as Slurm's --mem). Returns 0 and sets *bytes, or -1. */
int sweep_parse_memory(const char *text, size_t *bytes);

/* ---- trial keys ------------------------------------------------------------ */

/* The canonical text of a value given as text, so that a value written to
** a results file and read back gives the key it had before: integers as
** "%lld" ("+03" -> "3"), other numbers with the shortest round-trip digits
** ("1e-3" -> "0.001"), anything else unchanged. Returns buf or text. */
const char *sweep_canon(const char *text, char buf[32]);

/* ---- progress ---------------------------------------------------------------- */

/* On a terminal (tty) one status line redrawn in place; otherwise one
** plain line per finished trial. Everything goes to stderr. */
typedef struct sweep_progress {
  int tty;
  int total, done, failed;  /* trials of this run (those skipped not counted) */
  double t0;                /* start, from now_seconds() */
  char last[96];            /* "test_error=0.123" of the last trial, or "" */
} sweep_progress;

void sweep_progress_trial(sweep_progress *p, const char *key, const char *status);
void sweep_progress_failure(const sweep_progress *p, const char *key, const char *status, const char *msg);
void sweep_progress_tick(const sweep_progress *p);  /* refreshes the tty line */
void sweep_progress_end(const sweep_progress *p);   /* ends the tty line */

#endif
