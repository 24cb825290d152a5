/* adam.cu -- the fused Adam step on the GPU (adam_core.cuh). */
#include "adam_core.cuh"
