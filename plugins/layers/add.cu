/* add.cu -- add.c's sum as one kernel over every element. */
#include <lunet/kernels.cuh>
#include <lunet/plugin.h>

typedef struct add_inputs {
  const float *x[LUNET_MAX_INPUTS];
} add_inputs;

/* y = x_0 + x_1 + ... + x_{k-1}, left to right    k x (B, n) -> (B, n) */
__global__ void add_forward_kernel(add_inputs in, int k, float *y, int64_t n_all) {
  LUNET_KERNEL_LOOP(i, n_all) {
    float s = in.x[0][i] + in.x[1][i];
    for (int j = 2; j < k; j++) s += in.x[j][i];
    y[i] = s;
  }
}

LUNET_LAUNCHER int add_forward_launch(const float *const *x, int k, float *y, int64_t n_all) {
  add_inputs in = {};
  for (int j = 0; j < k && j < LUNET_MAX_INPUTS; j++) in.x[j] = x[j];
  add_forward_kernel<<<lunet_blocks(n_all), LUNET_THREADS, 0, LUNET_STREAM>>>(in, k, y, n_all);
  return lunet_launched();
}
