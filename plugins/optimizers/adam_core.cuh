/*
** adam_core.cuh -- adam_core.h's update() as one fused kernel, shared by
** adam.cu and adamw.cu: one pass over every trained value of the model.
*/
#ifndef LUNET_ADAM_CORE_CUH
#define LUNET_ADAM_CORE_CUH

#include <lunet/kernels.cuh>

typedef struct adam_consts {
  float b1, b2, c1, c2, eps, wd, keep, step_size, bc2_sqrt;
} adam_consts;

/* g = g + wd w (L2) or w *= keep (decoupled); m = b1 m + c1 g; v = b2 v + c2 g^2;
** w -= step_size m / (sqrt(v) / bc2_sqrt + eps)    (n) -> (n) */
__global__ void adam_update_kernel(float *w, const float *grad, float *m, float *v, int64_t n, adam_consts k,
                                   int decoupled) {
  LUNET_KERNEL_LOOP(i, n) {
    float wi = w[i], g = decoupled ? grad[i] : grad[i] + k.wd * wi;
    if (decoupled) wi *= k.keep;
    float mi = k.b1 * m[i] + k.c1 * g, vi = k.b2 * v[i] + k.c2 * g * g;
    m[i] = mi, v[i] = vi;
    w[i] = wi - k.step_size * mi / (sqrtf(vi) / k.bc2_sqrt + k.eps);
  }
}

LUNET_LAUNCHER int adam_update_launch(float *w, const float *grad, float *m, float *v, int64_t n, const float *c,
                                      int decoupled) {
  adam_consts k = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]};
  adam_update_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(w, grad, m, v, n, k, decoupled);
  return lunet_launched();
}

#endif
