/* mean_pool.cu -- mean_pool.c's weighted mean on the GPU: pooling.cuh's
** kernels, with no scores. */
#include "pooling.cuh"
