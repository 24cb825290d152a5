/*
** adam.c -- Adam with bias correction, as torch.optim.Adam (amsgrad off).
**
** For every trained value w with gradient g, step t = 1, 2, ... does
**     g = g + weight_decay * w           (L2 in the gradient, not AdamW)
**     m = beta1 * m + (1 - beta1) * g
**     v = beta2 * v + (1 - beta2) * g^2
**     w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
** As in PyTorch, eps is added after the bias correction of sqrt(v). The
** host hands every trained value in one flat buffer, so the moments are two
** buffers of the same size and a step is one pass over all of them. The
** code is adam_core.h, shared with adamw.c.
*/
#define ADAM_NAME "adam"
#define ADAM_DECOUPLED 0
#define ADAM_DECAY_DEFAULT 0
#define ADAM_DECAY_DOC "L2 penalty: adds weight_decay * w to the gradient"
#include "adam_core.h"

LUNET_OPTIMIZER_PLUGIN(api, ADAM_NAME, "2.0.0",
                       "Adam with bias correction and L2 weight decay (as torch.optim.Adam)",
                       LUNET_PARAMS(params))
