/*
** regularize.h -- what the trainer does to gradients between backward and
** the optimizer step, for every optimizer alike: L1/L2 penalties and
** clipping by global norm.
*/
#ifndef LUNET_REGULARIZE_H
#define LUNET_REGULARIZE_H

#include <lunet/plugin.h>

/* g += l2 w + l1 sign(w), the gradient of l2/2 |w|^2 + l1 |w|_1, for every
** trainable tensor except biases (tensors named "bias"). */
void add_penalty_grads(lunet_param *ps, int n, double l1, double l2);

/* If the global norm sqrt(sum |g|^2) over all gradients exceeds max_norm,
** scales every gradient by max_norm / norm. Returns the norm before. */
double clip_grad_norm(lunet_param *ps, int n, double max_norm);

#endif
