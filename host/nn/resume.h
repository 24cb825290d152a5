/*
** resume.h -- training checkpoints: the state of lunet.train at an epoch
** boundary, saved so that running the same script again goes on from it
** with the numbers a run that was never interrupted would have produced.
**
** A training checkpoint holds the model (weights and buffers), the
** optimizer's state (its state() items, ABI 2.2), both random streams (the
** loader's shuffling stream and sample order, the stochastic layers'
** stream), the epochs done, the early-stopping state (best value, patience
** counter, best weights and metrics) and the result so far. The learning-
** rate schedule is a function of the epoch and needs nothing more; the
** datasets draw their own randomness when they are opened, from their seed.
** A fingerprint of the run (model spec, loss, optimizer and hyper-
** parameters, datasets and their sizes, seed, epochs and every other
** option that changes the numbers) heads the file: a checkpoint of another
** run is refused with the first line that differs. The format is in
** resume.c; the envelope (atomic writing, size and CRC) is ckfile.h's.
*/
#ifndef LUNET_RESUME_H
#define LUNET_RESUME_H

#include "base/strbuf.h"
#include "nn/step.h"
#include "nn/train.h"

/* The state of lunet.train's loop: what train.c runs and resume.c saves. */
typedef struct train_loop {
  const train_config *c;
  loader data;
  stepper step;
  float *best;          /* snapshot of the parameters at the best epoch */
  metrics *best_evals;  /* the evaluations of that epoch */
  double best_value;    /* of the monitored metric */
  int since;            /* evaluations since the best */
  int done;             /* epochs completed */
  int finished;         /* training ended: *r is the final result */
  strbuf fingerprint;   /* of the run, made by resume_load (owned) */
} train_loop;

/* 0 when c->checkpoint may be used: an optimizer with state() (ABI 2.2), a
** model on the CPU; else -1 with an error naming what is missing. */
int resume_check(const train_config *c);

/* Writes the checkpoint c->checkpoint from L and r, atomically; after
** resume_load. */
int resume_save(const train_loop *L, const train_result *r);

/* Makes the run's fingerprint, then reads c->checkpoint, if the file
** exists, into L (and the model, the optimizer, the streams) and r. 1 when
** it resumed, 0 when there is no file (a fresh start), -1 with
** services_error() when it is another run's, damaged or unreadable. */
int resume_load(train_loop *L, train_result *r);

#endif
