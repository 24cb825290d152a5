/*
** regularize.h -- what the trainer does to gradients between backward and
** the optimizer step, for every optimizer alike: L1/L2 penalties and
** clipping by global norm, over the model's flat parameter buffers.
*/
#ifndef LUNET_REGULARIZE_H
#define LUNET_REGULARIZE_H

#include <lunet/plugin.h>

/* g += l2 w + l1 sign(w), the gradient of l2/2 |w|^2 + l1 |w|_1, for every
** trained tensor except biases (tensors whose name ends in "bias"). */
void add_penalty_grads(lunet_params *ps, double l1, double l2);

/* If the global norm sqrt(sum |g|^2) over all gradients exceeds max_norm,
** scales every gradient by max_norm / norm. Returns the norm before. */
double clip_grad_norm(lunet_params *ps, double max_norm);

#endif
