/*
** fastmath.h -- e^x, sigmoid, tanh, a row softmax and row sums that
** vectorize.
**
** libm's expf is a call the compiler cannot vectorize: in a loop over
** elements it runs one lane at a time. These are plain arithmetic with a
** clamp, so the loops of the layers that use them (the recurrent gates,
** gelu's backward, attention's and the pools' softmax, the normalizations'
** statistics) vectorize to the widest unit the CPU has. Accuracy is stated
** at each function; the tests hold the layers to float64 references.
*/
#ifndef LUNET_FASTMATH_H
#define LUNET_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* e^x, Cephes' expf: x = n ln 2 + r with |r| <= ln 2 / 2, e^r = 1 + r +
** r^2 p(r) with p of degree 5, times 2^n made in the exponent bits.
** Relative error below 1e-7 (measured over [-87, 88]). Below -87 it is 0
** (a masked score, -1e9, weighs nothing, as with expf), above 88 e^88; NaN
** stays NaN. */
static inline float fast_exp(float x0) {
  float x = x0 < -87.0f ? -87.0f : x0 > 88.0f ? 88.0f : x0;
  float m = x * 1.44269504f + 12582912.0f; /* + 1.5 2^23: round(x / ln 2) in the low bits */
  float n = m - 12582912.0f;
  float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
               4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r * r + r + 1.0f;
  uint32_t k, e;
  float scale;
  memcpy(&k, &m, sizeof k);
  e = (k - 0x4B400000u + 127u) << 23; /* the biased exponent of 2^n */
  memcpy(&scale, &e, sizeof scale);
  return x0 < -87.0f ? 0.0f : p * scale;
}

/* sigma(x) = 1 / (1 + e^-x) */
static inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

/* tanh(x) = 2 sigma(2x) - 1 (absolute error below 2e-7) */
static inline float fast_tanh(float x) { return 2.0f / (1.0f + fast_exp(-2.0f * x)) - 1.0f; }

/* ---- row sums ------------------------------------------------------------
** A row of n floats is summed in LANES double partial sums, then across
** them: the order of the additions is fixed by this code, not by the
** compiler, so the loops vectorize and the results are the same on every
** CPU (batchnorm per (sample, channel) row, layernorm per row). Double, not
** float, lanes: on a row of 65,536 values around 1000, float lanes put the
** mean 4e-4 off, double lanes 3e-5 (the float rounding of the mean itself). */
#define LANES 8

/* sum_k p[k]    (n) -> scalar */
static inline double row_sum(const float *restrict p, int64_t n) {
  double acc[LANES] = {0};
  int64_t k = 0;
  for (; k + LANES <= n; k += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += p[k + l];
  double s = 0.0;
  for (; k < n; k++) s += p[k];
  for (int l = 0; l < LANES; l++) s += acc[l];
  return s;
}

/* sum_k (p[k] - m)^2    (n) -> scalar */
static inline double row_sq_dev(const float *restrict p, int64_t n, float m) {
  double acc[LANES] = {0};
  int64_t k = 0;
  for (; k + LANES <= n; k += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += (p[k + l] - m) * (p[k + l] - m);
  double s = 0.0;
  for (; k < n; k++) s += (double)(p[k] - m) * (p[k] - m);
  for (int l = 0; l < LANES; l++) s += acc[l];
  return s;
}

/* sum_k dy[k] (x[k] - m)    (n), (n) -> scalar */
static inline double row_dot_dev(const float *restrict dy, const float *restrict x, int64_t n, float m) {
  double acc[LANES] = {0};
  int64_t k = 0;
  for (; k + LANES <= n; k += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += dy[k + l] * (x[k + l] - m);
  double s = 0.0;
  for (; k < n; k++) s += (double)dy[k] * (x[k] - m);
  for (int l = 0; l < LANES; l++) s += acc[l];
  return s;
}

/* a = softmax(a), in place: a_j = e^(a_j - m) / sum_k e^(a_k - m), m the
** largest a_j    (n) -> (n). The max runs in LANES lanes, the exps in one
** loop, the sum in row_sum's: all three vectorize, in an order fixed here. */
static inline void fast_softmax(float *a, int n) {
  float lane[LANES], m = a[0];
  int j = 0;
  for (int l = 0; l < LANES; l++) lane[l] = a[0];
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) lane[l] = a[j + l] > lane[l] ? a[j + l] : lane[l];
  for (; j < n; j++) m = a[j] > m ? a[j] : m;
  for (int l = 0; l < LANES; l++) m = lane[l] > m ? lane[l] : m;
  for (j = 0; j < n; j++) a[j] = fast_exp(a[j] - m);
  float inv = (float)(1.0 / row_sum(a, n));
  for (j = 0; j < n; j++) a[j] *= inv;
}

#endif
