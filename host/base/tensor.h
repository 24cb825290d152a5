/*
** tensor.h -- tensor headers: the batched view (B, per-sample shape...) of
** a buffer, as models, datasets and loops hand them to plugins; and the
** argmax of a row, which error counts and sampling read.
*/
#ifndef LUNET_TENSOR_H
#define LUNET_TENSOR_H

#include <lunet/plugin.h>

/* Sets t's size, dtype, device (the CPU) and shape (batch, per_sample...);
** leaves its data alone. */
void tensor_batched(lunet_tensor *t, const lunet_shape *per_sample, int dtype, int batch);

/* The index of the largest of v[0..n), the first among equals (NaNs never win). */
int64_t argmax_f32(const float *v, int64_t n);

#endif
