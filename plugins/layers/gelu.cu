/* gelu.cu -- gelu.c's math on the GPU (elementwise.cuh): the exact erf form. */
#include "elementwise.cuh"

#define GELU_RSQRT2 0.70710678118654752f   /* 1 / sqrt(2) */
#define GELU_RSQRT2PI 0.39894228040143268f /* 1 / sqrt(2 pi) */

/* y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) */
__device__ static inline float activation(const float *c, float x) {
  return 0.5f * x * (1.0f + erff(x * GELU_RSQRT2));
}

/* dx = dy (Phi(x) + x phi(x)) */
__device__ static inline float derivative(const float *c, float x, float y, float dy) {
  float phi = GELU_RSQRT2PI * expf(-0.5f * x * x);
  return dy * (0.5f * (1.0f + erff(x * GELU_RSQRT2)) + x * phi);
}
