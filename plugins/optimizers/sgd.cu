/* sgd.cu -- sgd.c's update() as one fused kernel over every trained value. */
#include <lunet/kernels.cuh>

typedef struct sgd_consts {
  float lr, mu, keep, wd, l1;
} sgd_consts;

/* g = grad + wd w + l1 sign(w); buf = started ? mu buf + keep g : g;
** w -= lr (nesterov ? g + mu buf : buf), or lr g without momentum    (n) -> (n) */
__global__ void sgd_update_kernel(float *w, const float *grad, float *buf, int64_t n, sgd_consts k, int nesterov,
                                  int started) {
  LUNET_KERNEL_LOOP(i, n) {
    float wi = w[i], g = grad[i] + k.wd * wi + k.l1 * (float)((wi > 0) - (wi < 0));
    if (k.mu != 0.0f) {
      float b = started ? k.mu * buf[i] + k.keep * g : g;
      buf[i] = b;
      g = nesterov ? g + k.mu * b : b;
    }
    w[i] = wi - k.lr * g;
  }
}

LUNET_LAUNCHER int sgd_update_launch(float *w, const float *grad, float *buf, int64_t n, const float *c, int nesterov,
                                     int started) {
  sgd_consts k = {c[0], c[1], c[2], c[3], c[4]};
  sgd_update_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(w, grad, buf, n, k, nesterov, started);
  return lunet_launched();
}
