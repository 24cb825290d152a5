/*
** step.h -- one training step on a batch, in the pieces a custom loop
** needs: forward and loss (with its gradient), backward (with the
** trainer's penalties and clipping), and the optimizer's update.
**
** lunet.train runs these three in a row for every batch; lunet.trainer
** exposes them to Lua. A stepper owns the optimizer instance and the
** random stream of stochastic layers (dropout), seeded as lunet.train
** seeds it, so the same seed gives the same numbers either way. Nothing is
** allocated after stepper_open().
*/
#ifndef LUNET_STEP_H
#define LUNET_STEP_H

#include "nn/batch.h"
#include "nn/loss.h"

/* The stream of stochastic layers is seeded with the run's seed xor this. */
#define STEP_LAYER_SEED 0x5eed1a7e5ULL

typedef struct stepper {
  model *m;
  loss_fn *loss;               /* opened on the model and the data */
  const plugin_entry *opt;
  void *opt_self;
  lunet_rng layer_rng;
  lunet_ctx ctx;               /* training mode, layer_rng */
  double l1, l2, clip_norm;    /* what backward adds to the gradients */
  double grad_norm;            /* global gradient norm before clipping (when clipping) */
} stepper;

/* Creates the optimizer with `opt_params` over the model's parameters. The
** model must be built and reserved; the loss open. */
int stepper_open(stepper *s, model *m, loss_fn *loss, const plugin_entry *opt,
                 const param_values *opt_params, uint64_t seed);
void stepper_close(stepper *s);

/* Training-mode forward of b, the batch's mean loss into *loss and its
** gradient into the model's output gradient; the output into *y. */
int stepper_forward(stepper *s, const batch *b, double *loss, const lunet_tensor **y);

/* Back-propagates the last forward into the parameter gradients, then adds
** the L1/L2 penalties and clips to clip_norm. */
int stepper_backward(stepper *s);

/* The optimizer's step over the model's parameters. */
int stepper_update(stepper *s);

/* Sets hyper-parameter `index` of the optimizer (a schedule's lr). */
int stepper_set(stepper *s, int index, double value);

#endif
