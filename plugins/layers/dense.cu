/* dense.cu -- the bias kernels of dense.c on the GPU (its GEMMs are cuBLAS, via the host). */
#include "rows.cuh"
