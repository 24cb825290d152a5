/* swish.cu -- swish.c's math on the GPU (elementwise.cuh); c[0] is beta. */
#include "elementwise.cuh"

/* y = x sigmoid(beta x) */
__device__ static inline float activation(const float *c, float x) { return x / (1.0f + expf(-c[0] * x)); }

/* dx = dy (s + beta x s (1 - s)), s = sigmoid(beta x) */
__device__ static inline float derivative(const float *c, float x, float y, float dy) {
  float beta = c[0], s = 1.0f / (1.0f + expf(-beta * x));
  return dy * (s + beta * x * s * (1.0f - s));
}
