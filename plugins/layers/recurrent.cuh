/*
** recurrent.cuh -- recurrent.h's moves on the GPU, shared by rnn.cu,
** gru.cu and lstm.cu: time-major and back, the initial and carried states,
** the output's reductions over time and their gradients, and the frame of
** a cell's step: one thread per (row b, unit j), the cell file's
** cell_forward_at() and cell_backward_at() (declared here, defined after
** the include, as recurrent.h's cell_forward and cell_backward). Every
** element is written by one thread: no atomics, the same bits every run.
*/
#ifndef LUNET_RECURRENT_CUH
#define LUNET_RECURRENT_CUH

#include <lunet/kernels.cuh>

#include "recurrent_step.h"
#include "rows.cuh" /* the bias gradients, copies of strided rows */

enum { REC_OUT_LAST = 1, REC_OUT_MEAN = 2 }; /* recurrent.h's OUT_*; else max */

/* The step of one (row b, unit j): recurrent.h's cell_forward and
** cell_backward for one j. */
static __device__ void cell_forward_at(const rec_step &s, int64_t b, int j);
static __device__ void cell_backward_at(const rec_step &s, int64_t b, int j);

/* sigma(x) = 1 / (1 + e^-x) */
static __device__ inline float rec_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void rec_cell_forward_kernel(rec_step s, int B) {
  LUNET_KERNEL_LOOP(i, (int64_t)B * s.H) cell_forward_at(s, i / s.H, (int)(i % s.H));
}

__global__ void rec_cell_backward_kernel(rec_step s, int B) {
  LUNET_KERNEL_LOOP(i, (int64_t)B * s.H) cell_backward_at(s, i / s.H, (int)(i % s.H));
}

/* dst[j, i, :] = src[i, j, :]    (n0, n1, n) -> (n1, n0, n) */
__global__ void rec_transpose_kernel(const float *src, float *dst, int n0, int n1, int n) {
  LUNET_KERNEL_LOOP(k, (int64_t)n0 * n1 * n) {
    int64_t c = k % n, row = k / n, i = row / n1, j = row % n1;
    dst[(j * n0 + i) * n + c] = src[k];
  }
}

/* h0[i] = i < kept ? carry[i] : 0    -> (all) */
__global__ void rec_start_kernel(float *h0, const float *carry, int64_t kept, int64_t all) {
  LUNET_KERNEL_LOOP(i, all) h0[i] = i < kept ? carry[i] : 0.0f;
}

/* out[b, j]: y at the step direction j / H ended on (last), the mean over
** t, or the max, in recurrent.h's order    (T, B, Hd) -> (B, Hd) */
__global__ void rec_reduce_kernel(const float *y, float *out, int B, int T, int H, int dirs,
                                  int mode) {
  int Hd = H * dirs;
  LUNET_KERNEL_LOOP(k, (int64_t)B * Hd) {
    int64_t b = k / Hd, j = k % Hd;
    if (mode == REC_OUT_LAST) {
      int64_t t = j < H ? T - 1 : 0;
      out[k] = y[(t * B + b) * Hd + j];
      continue;
    }
    float o = y[b * Hd + j];
    for (int64_t t = 1; t < T; t++) {
      float v = y[(t * B + b) * Hd + j];
      o = mode == REC_OUT_MEAN ? o + v : v > o ? v : o;
    }
    out[k] = mode == REC_OUT_MEAN ? o / (float)T : o;
  }
}

/* dy[t, b, j] for one (b, j) from g = dout[b, j]: last, g at the step
** direction j / H ended on; mean, g / T at each; max, g at the first step
** holding the maximum; 0 elsewhere    (B, Hd) -> (T, B, Hd) */
__global__ void rec_seed_kernel(const float *dout, const float *y, float *dy, int B, int T, int H,
                                int dirs, int mode) {
  int Hd = H * dirs;
  LUNET_KERNEL_LOOP(k, (int64_t)B * Hd) {
    int64_t b = k / Hd, j = k % Hd, at = 0;
    float g = dout[k];
    if (mode == REC_OUT_LAST) at = j < H ? T - 1 : 0;
    else if (mode != REC_OUT_MEAN)
      for (int64_t t = 1; t < T; t++)
        if (y[(t * B + b) * Hd + j] > y[(at * B + b) * Hd + j]) at = t;
    for (int64_t t = 0; t < T; t++)
      dy[(t * B + b) * Hd + j] = mode == REC_OUT_MEAN ? g / (float)T : t == at ? g : 0.0f;
  }
}

LUNET_LAUNCHER int rec_cell_forward_launch(const rec_step *s, int B) {
  rec_cell_forward_kernel<<<lunet_blocks((int64_t)B * s->H), LUNET_THREADS, 0, LUNET_STREAM>>>(*s, B);
  return lunet_launched();
}

LUNET_LAUNCHER int rec_cell_backward_launch(const rec_step *s, int B) {
  rec_cell_backward_kernel<<<lunet_blocks((int64_t)B * s->H), LUNET_THREADS, 0, LUNET_STREAM>>>(*s, B);
  return lunet_launched();
}

LUNET_LAUNCHER int rec_transpose_launch(const float *src, float *dst, int n0, int n1, int n) {
  rec_transpose_kernel<<<lunet_blocks((int64_t)n0 * n1 * n), LUNET_THREADS, 0, LUNET_STREAM>>>(
      src, dst, n0, n1, n);
  return lunet_launched();
}

LUNET_LAUNCHER int rec_start_launch(float *h0, const float *carry, int64_t kept, int64_t all) {
  rec_start_kernel<<<lunet_blocks(all), LUNET_THREADS, 0, LUNET_STREAM>>>(h0, carry, kept, all);
  return lunet_launched();
}

LUNET_LAUNCHER int rec_reduce_launch(const float *y, float *out, int B, int T, int H, int dirs,
                                     int mode) {
  rec_reduce_kernel<<<lunet_blocks((int64_t)B * H * dirs), LUNET_THREADS, 0, LUNET_STREAM>>>(
      y, out, B, T, H, dirs, mode);
  return lunet_launched();
}

LUNET_LAUNCHER int rec_seed_launch(const float *dout, const float *y, float *dy, int B, int T, int H,
                                   int dirs, int mode) {
  rec_seed_kernel<<<lunet_blocks((int64_t)B * H * dirs), LUNET_THREADS, 0, LUNET_STREAM>>>(
      dout, y, dy, B, T, H, dirs, mode);
  return lunet_launched();
}

LUNET_LAUNCHER int rec_zero_launch(float *p, int64_t n) {
  return (int)cudaMemsetAsync(p, 0, sizeof(float) * (size_t)n, LUNET_STREAM);
}

#endif
