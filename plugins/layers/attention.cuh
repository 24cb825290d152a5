/*
** attention.cuh -- attention.h's loops as kernels, for attention.cu and
** cross_attention.cu (the GEMMs are cuBLAS, via the host; the biases are
** rows.cuh's): the masked causal softmax, its backward through dropout, and
** the product with the dropout mask drawn on the host.
*/
#ifndef LUNET_ATTENTION_CUH
#define LUNET_ATTENTION_CUH

#include "rows.cuh"

/* Row r of S = (sample s, head, query t), rows = B H Tq: + mask[s] (unless
** NULL), keys j > t -> 0 when causal, the rest softmax    (B H Tq, Tk) */
__global__ void attention_softmax_kernel(float *S, const float *mask, int H, int Tq, int Tk, int causal) {
  int64_t r = blockIdx.x;
  int t = (int)(r % Tq), n = causal && t + 1 < Tk ? t + 1 : Tk;
  float *row = S + r * Tk;
  const float *mrow = mask ? mask + r / ((int64_t)H * Tq) * Tk : NULL;
  float m = -INFINITY, sum = 0.0f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    if (mrow) row[j] += mrow[j];
    m = fmaxf(m, row[j]);
  }
  m = lunet_block_reduce(m, 1);
  for (int j = threadIdx.x; j < n; j += blockDim.x) sum += row[j] = expf(row[j] - m);
  sum = lunet_block_reduce(sum, 0);
  for (int j = threadIdx.x; j < Tk; j += blockDim.x) row[j] = j < n ? row[j] / sum : 0.0f;
}

/* dP = dD m / (1 - p) where D was dropped (dropped != NULL: D != 0 kept),
** dS = P (dP - sum_j dP_j P_j) per row    (rows, Tk) */
__global__ void attention_softmax_backward_kernel(const float *P, const float *dropped, float *G, int Tk, float keep) {
  int64_t r = blockIdx.x;
  const float *pr = P + r * Tk;
  float *gr = G + r * Tk, dot = 0.0f;
  for (int j = threadIdx.x; j < Tk; j += blockDim.x) {
    if (dropped) gr[j] = dropped[r * Tk + j] != 0 ? gr[j] * keep : 0.0f;
    dot += gr[j] * pr[j];
  }
  dot = lunet_block_reduce(dot, 0);
  for (int j = threadIdx.x; j < Tk; j += blockDim.x) gr[j] = pr[j] * (gr[j] - dot);
}

/* D = P m, m = 0 or 1 / (1 - p) drawn on the host    (n) -> (n) */
__global__ void attention_drop_kernel(const float *P, const float *m, float *D, int64_t n) {
  LUNET_KERNEL_LOOP(i, n) D[i] = P[i] * m[i];
}

LUNET_LAUNCHER int attention_softmax_launch(float *S, const float *mask, int B, int H, int Tq, int Tk, int causal) {
  if (B > 0) attention_softmax_kernel<<<(unsigned)((int64_t)B * H * Tq), LUNET_THREADS, 0, LUNET_STREAM>>>(
      S, mask, H, Tq, Tk, causal);
  return lunet_launched();
}

LUNET_LAUNCHER int attention_softmax_backward_launch(const float *P, const float *dropped, float *G, int64_t rows,
                                                     int Tk, float keep) {
  if (rows > 0)
    attention_softmax_backward_kernel<<<(unsigned)rows, LUNET_THREADS, 0, LUNET_STREAM>>>(P, dropped, G, Tk, keep);
  return lunet_launched();
}

LUNET_LAUNCHER int attention_drop_launch(const float *P, const float *m, float *D, int64_t n) {
  attention_drop_kernel<<<lunet_blocks(n), LUNET_THREADS, 0, LUNET_STREAM>>>(P, m, D, n);
  return lunet_launched();
}

#endif
