/* sigmoid.cu -- sigmoid.c's math on the GPU (elementwise.cuh). */
#include "elementwise.cuh"

/* y = 1 / (1 + exp(-x)) */
__device__ static inline float activation(const float *c, float x) { return 1.0f / (1.0f + expf(-x)); }

/* dx = dy y (1 - y) */
__device__ static inline float derivative(const float *c, float x, float y, float dy) {
  return dy * y * (1.0f - y);
}
