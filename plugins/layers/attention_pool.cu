/* attention_pool.cu -- attention_pool.c's elementwise steps on the GPU; the
** GEMMs are cuBLAS, via the host, the pooling pooling.cuh's and the bias
** rows.cuh's. */
#include "pooling.cuh"
#include "rows.cuh"

/* u = tanh(z)    (n) -> (n), in place */
__global__ void attention_pool_tanh_kernel(float *u, int64_t n) {
  LUNET_KERNEL_LOOP(i, n) u[i] = tanhf(u[i]);
}

/* dz[r, k] = ds[r] u_w[k] (1 - u[r, k]^2)    (rows), (rows, A) -> (rows, A) */
__global__ void attention_pool_dz_kernel(const float *ds, const float *uw, const float *u, float *dz, int64_t rows,
                                         int A) {
  LUNET_KERNEL_LOOP(i, rows * A) dz[i] = ds[i / A] * uw[i % A] * (1.0f - u[i] * u[i]);
}

LUNET_LAUNCHER int attention_pool_tanh_launch(float *u, int64_t n) {
  attention_pool_tanh_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(u, n);
  return lunet_launched();
}

LUNET_LAUNCHER int attention_pool_dz_launch(const float *ds, const float *uw, const float *u, float *dz, int64_t rows,
                                            int A) {
  attention_pool_dz_kernel<<<lunet_blocks(rows * A), LUNET_THREADS, 0, LUNET_STREAM>>>(ds, uw, u, dz, rows, A);
  return lunet_launched();
}
