/*
** tensor.c -- tensor headers; see tensor.h.
*/
#include "base/tensor.h"

#include <string.h>

void tensor_batched(lunet_tensor *t, const lunet_shape *per_sample, int dtype, int batch) {
  t->size = sizeof *t;
  t->dtype = dtype;
  t->device = LUNET_CPU;
  t->shape.ndim = per_sample->ndim + 1;
  t->shape.dim[0] = batch;
  memcpy(t->shape.dim + 1, per_sample->dim, sizeof(int32_t) * (size_t)per_sample->ndim);
}
