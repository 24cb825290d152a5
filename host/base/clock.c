/*
** clock.c -- now_seconds(); see clock.h.
*/
#include "base/clock.h"

#include <time.h>

double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
