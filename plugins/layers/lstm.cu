/* lstm.cu -- lstm.c's step on the GPU, one thread per (row, unit); the
** GEMMs are cuBLAS through the host, the rest recurrent.cuh's. */
#include "recurrent.cuh"

/* i, f, o = sigma(a), g = tanh(a), a = W_ih x + b_ih + W_hh h_prev + b_hh;
** c = f c_prev + i g;  h = o tanh(c)    (B, 4H) -> gates (B, 4H), c (B, H), h (B, H) */
static __device__ void cell_forward_at(const rec_step &s, int64_t b, int j) {
  int H = s.H;
  float *a = s.gates + b * 4 * H;
  const float *hh = s.hh + b * 4 * H, *bi = s.b_ih, *bh = s.b_hh;
  float i = rec_sigmoid(a[j] + bi[j] + hh[j] + bh[j]);
  float f = rec_sigmoid(a[H + j] + bi[H + j] + hh[H + j] + bh[H + j]);
  float g = tanhf(a[2 * H + j] + bi[2 * H + j] + hh[2 * H + j] + bh[2 * H + j]);
  float o = rec_sigmoid(a[3 * H + j] + bi[3 * H + j] + hh[3 * H + j] + bh[3 * H + j]);
  float c = f * s.c_prev[b * H + j] + i * g;
  s.keep[b * H + j] = c;
  s.h[b * s.ldh + j] = o * tanhf(c);
  a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
}

/* dh = dy + dh_next;  dc = dc_next + dh o (1 - tanh(c)^2);
** do = dh tanh(c), di = dc g, df = dc c_prev, dg = dc i, each times its
** nonlinearity's slope (s (1 - s), 1 - g^2);  dc_prev = dc f
**     (B, H) -> (B, 4H), dc (B, H) */
static __device__ void cell_backward_at(const rec_step &s, int64_t b, int j) {
  int H = s.H;
  const float *a = s.gates + b * 4 * H;
  float *d = s.dg + b * 4 * H;
  float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
  float tc = tanhf(s.keep[b * H + j]), dh = s.dy[b * s.ldh + j] + s.dh[b * H + j];
  float dc = s.dc[b * H + j] + dh * o * (1.0f - tc * tc);
  d[3 * H + j] = dh * tc * o * (1.0f - o);
  d[j] = dc * g * i * (1.0f - i);
  d[H + j] = dc * s.c_prev[b * H + j] * f * (1.0f - f);
  d[2 * H + j] = dc * i * (1.0f - g * g);
  s.dc[b * H + j] = dc * f;
}
