/* leaky_relu.cu -- leaky_relu.c's math on the GPU (elementwise.cuh); c[0] is slope. */
#include "elementwise.cuh"

/* y = x > 0 ? x : slope x */
__device__ static inline float activation(const float *c, float x) { return x > 0.0f ? x : c[0] * x; }

/* dx = x > 0 ? dy : slope dy */
__device__ static inline float derivative(const float *c, float x, float y, float dy) {
  return x > 0.0f ? dy : c[0] * dy;
}
