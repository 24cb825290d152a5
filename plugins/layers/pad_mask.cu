/* pad_mask.cu -- pad_mask.c's mask on the GPU. */
#include <lunet/kernels.cuh>

/* mask = -1e9 [id == pad]    (n) ids -> (n) */
__global__ void pad_mask_kernel(const int32_t *ids, float *mask, int64_t n, int32_t pad, float score) {
  LUNET_KERNEL_LOOP(i, n) mask[i] = ids[i] == pad ? score : 0.0f;
}

LUNET_LAUNCHER int pad_mask_launch(const int32_t *ids, float *mask, int64_t n, int32_t pad, float score) {
  pad_mask_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(ids, mask, n, pad, score);
  return lunet_launched();
}
