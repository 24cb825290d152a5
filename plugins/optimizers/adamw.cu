/* adamw.cu -- the fused AdamW step on the GPU (adam_core.cuh). */
#include "adam_core.cuh"
