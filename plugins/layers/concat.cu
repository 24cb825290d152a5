/* concat.cu -- concat.c's copies on the GPU: each input to its columns of
** the output's rows, and back (rows.cuh's strided row copy). */
#include "rows.cuh"
