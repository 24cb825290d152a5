/*
** adamw.c -- Adam with decoupled weight decay, as torch.optim.AdamW (amsgrad off).
**
** For every trained value w with gradient g, step t = 1, 2, ... does
**     w = w - lr * weight_decay * w      (decoupled: not through g, m or v)
**     m = beta1 * m + (1 - beta1) * g
**     v = beta2 * v + (1 - beta2) * g^2
**     w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
** Unlike adam.c's L2 term, the decay shrinks every weight by the same factor
** whatever its gradient history (Loshchilov and Hutter, 2019). As in PyTorch
** the decay is scaled by lr, so a learning-rate schedule scales it too, and
** eps is added after the bias correction of sqrt(v). The moments m and v are
** two buffers of one float per trained value; the code is adam_core.h,
** shared with adam.c.
*/
#define ADAM_NAME "adamw"
#define ADAM_DECOUPLED 1
#define ADAM_DECAY_DEFAULT 0.01
#define ADAM_DECAY_DOC "decoupled decay: w -= lr * weight_decay * w before each update"
#include "adam_core.h"

LUNET_OPTIMIZER_PLUGIN(api, ADAM_NAME, "2.0.0",
                       "Adam with bias correction and decoupled weight decay "
                       "(as torch.optim.AdamW)", LUNET_PARAMS(params))
