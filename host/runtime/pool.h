/*
** pool.h -- the host's thread pool behind host->parallel_for (pool.c).
*/
#ifndef LUNET_POOL_H
#define LUNET_POOL_H

#include <lunet/plugin.h>

/* The number of threads a parallel_for may use, the caller included. */
void pool_set_threads(int n);

/* fn(ctx, lo, hi) over contiguous chunks of [0, n) of at least `grain`
** items, in parallel; returns when every chunk is done. */
void pool_parallel_for(int64_t n, int64_t grain, lunet_range_fn fn, void *ctx);

/* How many parallel_for calls so far ran on more than one thread (for
** tests: that a layer's loops really were split). */
int64_t pool_split_jobs(void);

#endif
