/*
** schedule.c -- learning-rate schedules; see schedule.h.
*/
#include "nn/schedule.h"

#include <math.h>

double schedule_lr(const schedule *s, double t) {
  double lr = s->lr;
  if (s->kind == SCHED_STEP && s->step > 0) lr *= pow(s->gamma, floor(t / s->step + 1e-9));
  if (s->kind == SCHED_COSINE && s->epochs > 0)
    lr = s->min_lr + (s->lr - s->min_lr) * (1 + cos(M_PI * fmin(t, s->epochs) / s->epochs)) / 2;
  if (s->kind == SCHED_INVERSE_TIME && s->step > 0) lr /= 1 + s->decay * t / s->step;
  if (s->warmup > 0 && t < s->warmup) lr *= t / s->warmup;
  return lr;
}
