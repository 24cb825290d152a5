/*
** tensor.h -- tensor headers: the batched view (B, per-sample shape...) of
** a buffer, as models, datasets and loops hand them to plugins.
*/
#ifndef LUNET_TENSOR_H
#define LUNET_TENSOR_H

#include <lunet/plugin.h>

/* Sets t's size, dtype, device (the CPU) and shape (batch, per_sample...);
** leaves its data alone. */
void tensor_batched(lunet_tensor *t, const lunet_shape *per_sample, int dtype, int batch);

#endif
