/*
** workers.h -- the C half of lunet.sweep: memory sizes, the canonical text
** that trial keys are made of, and the progress display. No Lua here;
** lua_sweep.c and the other lua_*.c files here build on it. Each trial runs
** in a worker process of runtime/children.h's pool (a crash, abort or
** out-of-memory kill costs that trial only), with its timeout and memory
** limit.
*/
#ifndef LUNET_SWEEP_H
#define LUNET_SWEEP_H

#include <stddef.h>

#include "runtime/children.h"

/* ---- limits ---------------------------------------------------------------- */

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
