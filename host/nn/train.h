/*
** train.h -- the training loop and evaluation, in C.
**
** One call of train_run() owns everything the loop needs: the loss and
** optimizer instances and the batch buffers are made once before the first
** step, so the steady state allocates nothing. A step is step.h's; an
** optimizer with a closed-form fit (lstsq) goes through fit.c instead. With
** a checkpoint, the loop's state is saved at epoch boundaries and a run
** whose file exists goes on from it (resume.h).
*/
#ifndef LUNET_TRAIN_H
#define LUNET_TRAIN_H

#include "nn/eval.h"
#include "nn/schedule.h"

typedef struct eval_set {
  const char *name;
  dataset *ds;
} eval_set;

typedef struct epoch_report {
  int epoch;
  double seconds;       /* wall time of this epoch's training steps */
  metrics train;        /* running means over the epoch (or the "train" eval set) */
  const metrics *evals; /* one per eval set; valid only when evaluated */
  int evaluated;        /* evals were computed this epoch */
} epoch_report;

typedef struct train_config {
  model *m;
  dataset *data;
  loss_fn *loss;
  const plugin_entry *opt;
  param_values opt_params;
  int epochs, batch, eval_every, verbose;
  int shuffle;        /* reshuffle the samples each epoch (else in order: truncated BPTT) */
  int eval_batch;     /* rows per evaluation batch (a stateful model's streams) */
  uint64_t seed;
  const eval_set *evals;
  int n_evals;
  double l1, l2;      /* penalties added to the gradients (biases excluded) */
  double clip_norm;   /* clip gradients to this global norm; 0: off */
  schedule sched;     /* learning rate per step, when sched_on */
  int sched_on;
  int lr_index;       /* the optimizer's "lr" parameter, set by the schedule */
  int patience;       /* early stopping: evaluations without improvement; 0: off */
  int monitor;        /* the eval set early stopping watches */
  int monitor_error;  /* watch its error rate instead of its loss */
  int restore_best;   /* on stopping, put back the best weights */
  const char *checkpoint; /* training checkpoint (resume.h), NULL: none */
  int checkpoint_every;   /* epochs between its saves */
  /* Called after each epoch (and after its checkpoint is written): 0 goes
  ** on, 1 stops, -1 is an error (set). */
  int (*on_epoch)(void *ud, const epoch_report *r);
  void *ud;
} train_config;

typedef struct train_result {
  int epochs;           /* epochs completed */
  double seconds;       /* training wall time, evaluation excluded */
  int diverged;         /* a NaN/Inf loss stopped training */
  int stopped_early;    /* early stopping ended training */
  int best_epoch;       /* epoch of the best monitored value (early stopping) */
  char message[256];    /* why it diverged */
  metrics train;        /* of the last epoch */
  metrics *evals;       /* n_evals, last evaluation; caller frees */
} train_result;

int train_run(const train_config *c, train_result *r);

/* lunet.train with a closed-form optimizer (fit.c): features, one fit,
** evaluation; reported as a single epoch. */
int train_fit(const train_config *c, train_result *r);

/* Evaluates every eval set of c into evals; the one named "train" also
** into *train. */
int train_evals(const train_config *c, metrics *evals, metrics *train);

/* One progress line on stderr. */
void train_progress(const train_config *c, const epoch_report *r);

#endif
