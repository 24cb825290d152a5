/*
** schedule.h -- learning-rate schedules, evaluated at every step from the
** fractional epoch t (0 at the start, `epochs` at the end of training).
**
**   constant  lr(t) = lr
**   step      lr(t) = lr * gamma^floor(t / step)
**   cosine    lr(t) = min_lr + (lr - min_lr) (1 + cos(pi t / epochs)) / 2
**   inverse_time  lr(t) = lr / (1 + decay * t / step)   (Keras' InverseTimeDecay,
**             staircase off, with `step` in epochs in place of decay_steps)
**
** and, for any of them, a linear warm-up over the first `warmup` epochs:
** lr(t) * min(1, t / warmup).
*/
#ifndef LUNET_SCHEDULE_H
#define LUNET_SCHEDULE_H

enum { SCHED_CONSTANT = 0, SCHED_STEP, SCHED_COSINE, SCHED_INVERSE_TIME };

typedef struct schedule {
  int kind;
  double lr;      /* base learning rate: the optimizer's own */
  double step;    /* SCHED_STEP: epochs between decays; SCHED_INVERSE_TIME: its time unit */
  double gamma;   /* SCHED_STEP: decay factor */
  double min_lr;  /* SCHED_COSINE: the floor */
  double decay;   /* SCHED_INVERSE_TIME: the decay rate */
  double warmup;  /* epochs of linear warm-up, 0 for none */
  double epochs;  /* length of training */
} schedule;

double schedule_lr(const schedule *s, double t);

#endif
