/* rmsprop.cu -- rmsprop.c's update() as one fused kernel over every trained value. */
#include <lunet/kernels.cuh>

typedef struct rmsprop_consts {
  float lr, mu, eps, a, c, wd;
} rmsprop_consts;

/* v = a v + c g^2;  centered: m = a m + c g, var = max(v - m^2, 0) (NaN stays);
** avg = sqrt(var) + eps;  momentum: buf = mu buf + g / avg, w -= lr buf;
** else w -= lr g / avg    (n) -> (n) */
__global__ void rmsprop_update_kernel(float *w, const float *grad, float *v, float *m, float *buf, int64_t n,
                                      rmsprop_consts k, int centered) {
  LUNET_KERNEL_LOOP(i, n) {
    float wi = w[i], g = grad[i] + k.wd * wi, vi = k.a * v[i] + k.c * g * g, var = vi;
    v[i] = vi;
    if (centered) {
      float mi = k.a * m[i] + k.c * g;
      m[i] = mi;
      var -= mi * mi;
      var = var < 0.0f ? 0.0f : var;
    }
    float avg = sqrtf(var) + k.eps;
    if (k.mu > 0.0f) {
      float b = k.mu * buf[i] + g / avg;
      buf[i] = b;
      w[i] = wi - k.lr * b;
    } else {
      w[i] = wi - k.lr * g / avg;
    }
  }
}

LUNET_LAUNCHER int rmsprop_update_launch(float *w, const float *grad, float *v, float *m, float *buf, int64_t n,
                                         const float *c, int centered) {
  rmsprop_consts k = {c[0], c[1], c[2], c[3], c[4], c[5]};
  rmsprop_update_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(w, grad, v, m, buf, n, k, centered);
  return lunet_launched();
}
