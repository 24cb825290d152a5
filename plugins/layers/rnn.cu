/* rnn.cu -- rnn.c's step on the GPU, one thread per (row, unit); the GEMMs
** are cuBLAS through the host, the rest recurrent.cuh's. */
#include "recurrent.cuh"

/* h = tanh(a) or max(a, 0), a = W_ih x + b_ih + W_hh h_prev + b_hh    (B, H) */
static __device__ void cell_forward_at(const rec_step &s, int64_t b, int j) {
  int64_t g = b * s.H + j;
  float a = s.gates[g] + s.b_ih[j] + s.hh[g] + s.b_hh[j];
  s.h[b * s.ldh + j] = s.option ? (a > 0.0f ? a : 0.0f) : tanhf(a);
}

/* da = (dy + dh_next) f'(a): 1 - h^2 for tanh, [h > 0] for relu    (B, H) */
static __device__ void cell_backward_at(const rec_step &s, int64_t b, int j) {
  float h = s.h[b * s.ldh + j], d = s.dy[b * s.ldh + j] + s.dh[b * s.H + j];
  s.dg[b * s.H + j] = s.option ? (h > 0.0f ? d : 0.0f) : d * (1.0f - h * h);
}
