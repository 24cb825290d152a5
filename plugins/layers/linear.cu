/* linear.cu -- the bias kernels of linear.c on the GPU (its GEMMs are cuBLAS, via the host). */
#include "rows.cuh"
