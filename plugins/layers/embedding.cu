/* embedding.cu -- embedding.c's gather and its gradient as kernels. */
#include <lunet/kernels.cuh>

/* y[i, :] = W[id[i], :]; a row of NaN for an id outside [0, vocab) (the
** host checks ids when it loads them; this keeps a bad one visible and the
** read in bounds)    (n) ids -> (n, dim) */
__global__ void embedding_forward_kernel(const int32_t *ids, const float *w, float *y, int64_t n, int dim,
                                         int vocab) {
  LUNET_KERNEL_LOOP(k, n * dim) {
    int32_t id = ids[k / dim];
    y[k] = id >= 0 && id < vocab ? w[(int64_t)id * dim + k % dim] : __int_as_float(0x7fc00000);
  }
}

#define EMB_COLS 32 /* embedding columns per block */
#define EMB_ROWS 8  /* vocabulary rows per block */

/* dW[v, j] = sum of dy[i, j] over the i with id[i] = v, in order of i (the
** .c's order: the same sums)    (n, dim) -> (vocab, dim). Each thread owns
** one (v, j) and scans every id: O(vocab n dim), no atomics. */
__global__ void embedding_backward_kernel(const int32_t *ids, const float *dy, float *dw, int64_t n, int dim,
                                          int vocab) {
  int j = blockIdx.x * EMB_COLS + threadIdx.x;
  for (int64_t v = blockIdx.y * (int64_t)EMB_ROWS + threadIdx.y; v < vocab; v += (int64_t)gridDim.y * EMB_ROWS) {
    if (j >= dim) continue;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
      if (ids[i] == v) s += dy[i * dim + j];
    dw[v * dim + j] = s;
  }
}

LUNET_LAUNCHER int embedding_forward_launch(const int32_t *ids, const float *w, float *y, int64_t n, int dim,
                                            int vocab) {
  embedding_forward_kernel<<<lunet_blocks(n * dim), LUNET_THREADS, 0, LUNET_STREAM>>>(ids, w, y, n, dim, vocab);
  return lunet_launched();
}

LUNET_LAUNCHER int embedding_backward_launch(const int32_t *ids, const float *dy, float *dw, int64_t n, int dim,
                                             int vocab) {
  int64_t rows = (vocab + EMB_ROWS - 1) / EMB_ROWS;
  dim3 grid((unsigned)((dim + EMB_COLS - 1) / EMB_COLS), (unsigned)(rows < 65535 ? rows : 65535));
  embedding_backward_kernel<<<grid, dim3(EMB_COLS, EMB_ROWS), 0, LUNET_STREAM>>>(ids, dy, dw, n, dim, vocab);
  return lunet_launched();
}
