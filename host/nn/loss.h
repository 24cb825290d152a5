/*
** loss.h -- a loss plugin bound to a model's output and a dataset's
** targets, and the error count of a batch.
*/
#ifndef LUNET_LOSS_H
#define LUNET_LOSS_H

#include "nn/dataset.h"
#include "nn/model.h"

typedef struct loss_fn {
  const plugin_entry *pe;
  param_values params; /* owned by whoever filled it */
  void *self;          /* the instance, between loss_open and loss_close */
  int64_t units;       /* predictions per sample: T for tokens (out (T, V), targets (T)), else 1 */
  int perplexity;      /* token cross-entropy: metrics carry exp(mean token loss) */
} loss_fn;

/* Creates the loss instance; the error names the loss and both shapes. */
int loss_open(loss_fn *l, const model *m, const dataset *ds);
void loss_close(loss_fn *l);

/* The mean loss of a batch, and dloss/dpred into grad unless NULL. */
int loss_value(const loss_fn *l, const lunet_tensor *pred, const lunet_tensor *target, double *loss,
               lunet_tensor *grad);

/* Predictions whose argmax differs from the target class (or the loss's
** own count when it has one): rows, or tokens when l->units > 1. */
int64_t count_errors(const loss_fn *l, const lunet_tensor *pred, const lunet_tensor *target);

/* The rows, or tokens, of a batch that an error rate counts: all of them
** unless the loss ignores some (cross_entropy's `ignore`, padding). The
** mean loss of an epoch or an evaluation weighs each batch's by it, so
** that it is the mean over every counted token, as one big batch's. */
int64_t counted_units(const loss_fn *l, const lunet_tensor *target);

#endif
