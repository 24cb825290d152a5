/* elu.cu -- elu.c's math on the GPU (elementwise.cuh); c[0] is alpha. */
#include "elementwise.cuh"

/* y = x > 0 ? x : alpha (exp(x) - 1) */
__device__ static inline float activation(const float *c, float x) { return x > 0.0f ? x : c[0] * expm1f(x); }

/* dx = x > 0 ? dy : dy alpha exp(x) */
__device__ static inline float derivative(const float *c, float x, float y, float dy) {
  return x > 0.0f ? dy : dy * c[0] * expf(x);
}
