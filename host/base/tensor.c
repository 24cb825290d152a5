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

int64_t argmax_f32(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t j = 1; j < n; j++)
    if (v[j] > v[best]) best = j;
  return best;
}
