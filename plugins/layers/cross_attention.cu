/* cross_attention.cu -- cross-attention on the GPU: attention.h's kernels (attention.cuh). */
#include "attention.cuh"
