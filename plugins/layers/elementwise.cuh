/*
** elementwise.cuh -- the CUDA side of elementwise.h: one kernel for y =
** f(x) and one for dx = dy f'(x), over every element of (B, n), inlining the
** layer's two functions of one element. A layer's .cu includes this and
** defines them as __device__ functions, the same math as its .c:
**
**     #include "elementwise.cuh"
**     __device__ static inline float activation(const float *c, float x) { ... }
**     __device__ static inline float derivative(const float *c, float x, float y, float dy) { ... }
*/
#ifndef LUNET_ELEMENTWISE_CUH
#define LUNET_ELEMENTWISE_CUH

#include <lunet/kernels.cuh>

__device__ static inline float activation(const float *c, float x);
__device__ static inline float derivative(const float *c, float x, float y, float dy);

/* The layer's parameters by value (elementwise.h: ELEMENTWISE_MAX_PARAMS). */
typedef struct elementwise_params {
  float c[4];
} elementwise_params;

/* y = f(x)    (B, n) -> (B, n), n_all = B n */
__global__ void elementwise_forward_kernel(elementwise_params p, const float *x, float *y, int64_t n_all) {
  LUNET_KERNEL_LOOP(i, n_all) y[i] = activation(p.c, x[i]);
}

/* dx = dy f'(x)    (B, n) -> (B, n) */
__global__ void elementwise_backward_kernel(elementwise_params p, const float *x, const float *y,
                                            const float *dy, float *dx, int64_t n_all) {
  LUNET_KERNEL_LOOP(i, n_all) dx[i] = derivative(p.c, x[i], y[i], dy[i]);
}

static elementwise_params elementwise_params_of(const float *c) {
  elementwise_params p;
  for (int j = 0; j < 4; j++) p.c[j] = c[j];
  return p;
}

LUNET_LAUNCHER int elementwise_forward_launch(const float *c, const float *x, float *y, int64_t n_all) {
  elementwise_forward_kernel<<<lunet_blocks(n_all), LUNET_THREADS, 0, LUNET_STREAM>>>(
      elementwise_params_of(c), x, y, n_all);
  return lunet_launched();
}

LUNET_LAUNCHER int elementwise_backward_launch(const float *c, const float *x, const float *y, const float *dy,
                                               float *dx, int64_t n_all) {
  elementwise_backward_kernel<<<lunet_blocks(n_all), LUNET_THREADS, 0, LUNET_STREAM>>>(
      elementwise_params_of(c), x, y, dy, dx, n_all);
  return lunet_launched();
}

#endif
