/*
** eval.h -- running a model over a whole dataset in eval mode: its mean
** loss and error, its outputs; and the check that a dataset fits a model.
*/
#ifndef LUNET_EVAL_H
#define LUNET_EVAL_H

#include "nn/loss.h"

typedef struct metrics {
  double loss;       /* mean loss over the counted units (samples, or tokens not ignored); NaN if none */
  double error;      /* fraction misclassified (of tokens, for token data); NaN for regression */
  double perplexity; /* exp(mean token loss) for token cross-entropy; else NaN */
  int classified;    /* 1: the data has classes, so an error rate (NaN when the loss is) applies */
} metrics;

/* The error rate (`wrong` of the `units` counted predictions, counted_units)
** and the perplexity of mt->loss, the mean loss over those units. */
void metrics_finish(metrics *mt, const loss_fn *l, const dataset *ds, int64_t wrong, int64_t units);

/* Builds the model for ds's inputs if it is not built yet; else checks that
** ds gives what it was built for. The error names both shapes. */
int model_accepts(model *m, const dataset *ds);

/* Mean loss and error of the model on a dataset, in eval mode, with an
** instance of its own of the loss `spec` (plugin and parameters). */
int evaluate(model *m, dataset *ds, const loss_fn *spec, int batch, metrics *out);

/* Calls fn(ud, outputs (B, out...)) batch by batch, in eval mode. */
int predict(model *m, dataset *ds, int batch, int (*fn)(void *ud, const lunet_tensor *y), void *ud);

#endif
