/*
** batch.h -- batches of samples from a dataset, and the order lunet.train
** takes them in.
**
** A batch holds its buffers, allocated once for up to `cap` samples: one
** tensor per model input (float32 or int32 ids) and the float32 targets.
** A loader walks a dataset in batches: a seeded shuffle of the sample order
** at the start of each epoch, all drawn from one stream, so that a custom
** loop in Lua sees exactly the batches lunet.train would. Its batches are
** read as that epoch of training sees them (dataset_get_train: augmented
** data), those of batch_fill as stored.
*/
#ifndef LUNET_BATCH_H
#define LUNET_BATCH_H

#include "nn/dataset.h"

typedef struct batch {
  int64_t *idx;                      /* (cap) indices of the samples held */
  lunet_tensor x[LUNET_MAX_INPUTS];  /* (B, input k...) each */
  lunet_tensor y;                    /* (B, target...) */
  int cap, n_inputs;
  int first;                         /* the first batch of a pass (lunet_ctx.reset) */
} batch;

/* Buffers for up to cap samples of ds. 0, or -1 with services_error()
** (what is allocated so far is freed by batch_free, which is always safe). */
int batch_init(batch *b, const dataset *ds, int cap);
void batch_free(batch *b);

/* Fills the batch with samples order[0..B), B <= cap. */
int batch_fill(batch *b, dataset *ds, const int64_t *order, int B);

typedef struct loader {
  dataset *ds;
  int batch_size;
  int shuffle;       /* reshuffle at each epoch; else in order */
  int64_t *order;    /* (n) sample order of this epoch */
  int64_t pos;       /* next position in order */
  int64_t epoch;     /* the epoch under way, 0, 1, ... (-1 before the first) */
  lunet_rng rng;     /* the shuffling stream */
  batch b;
} loader;

/* A loader over ds in batches of batch_size, shuffled from `seed`. */
int loader_init(loader *l, dataset *ds, int batch_size, uint64_t seed, int shuffle);
void loader_free(loader *l);

/* Starts epoch `epoch` (0, 1, ...): a new shuffle (Fisher-Yates from the
** stream); the dataset is read as that epoch of training sees it. */
void loader_epoch(loader *l, int64_t epoch);

/* The next batch of this epoch, or NULL at its end (*err = 0) or on a
** failed read (*err = -1, services_error() set). */
batch *loader_next(loader *l, int *err);

#endif
