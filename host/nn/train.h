/*
** train.h -- the training loop and evaluation, in C.
**
** One call of train_run() owns everything the loop needs: the loss and
** optimizer instances and the batch buffers are made once before the first
** step, so the steady state allocates nothing.
*/
#ifndef LUNET_TRAIN_H
#define LUNET_TRAIN_H

#include "nn/dataset.h"
#include "nn/model.h"
#include "nn/schedule.h"

typedef struct metrics {
  double loss;   /* mean loss per sample */
  double error;  /* fraction misclassified; NaN for regression */
} metrics;

/* A loss plugin bound to a model's output and a dataset's targets. */
typedef struct loss_fn {
  const plugin_entry *pe;
  param_values params; /* owned */
  void *self;
} loss_fn;

/* Creates the loss instance; the error names the loss and both shapes. */
int loss_open(loss_fn *l, const model *m, const dataset *ds);
void loss_close(loss_fn *l);

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
  /* Called after each epoch: 0 goes on, 1 stops, -1 is an error (set). */
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

/* Mean loss and error of the model on a dataset, in eval mode, with an
** instance of its own of the loss `spec` (plugin and parameters). */
int evaluate(model *m, dataset *ds, loss_fn *spec, int batch, metrics *out);

/* Calls fn(ud, outputs (B, out...), B) batch by batch, in eval mode. */
int predict(model *m, dataset *ds, int batch, int (*fn)(void *ud, const lunet_tensor *y), void *ud);

/* Rows of pred whose argmax differs from the target class. */
int64_t count_errors(const loss_fn *l, const lunet_tensor *pred, const lunet_tensor *target);

#endif
