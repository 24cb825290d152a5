/*
** clock.h -- wall-clock time from a monotonic clock, for timing.
*/
#ifndef LUNET_CLOCK_H
#define LUNET_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double now_seconds(void);

#endif
