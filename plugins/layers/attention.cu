/* attention.cu -- self-attention on the GPU: attention.h's kernels (attention.cuh). */
#include "attention.cuh"
