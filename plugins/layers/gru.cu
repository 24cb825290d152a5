/* gru.cu -- gru.c's step on the GPU, one thread per (row, unit); the GEMMs
** are cuBLAS through the host, the rest recurrent.cuh's. */
#include "recurrent.cuh"

/* r, z = sigma(W_i x + b_i + W_h h_prev + b_h);  hn = W_hn h_prev + b_hn;
** n = tanh(W_in x + b_in + r hn);  h = (1 - z) n + z h_prev
**     (B, 3H) -> gates (B, 3H), hn (B, H), h (B, H) */
static __device__ void cell_forward_at(const rec_step &s, int64_t b, int j) {
  int H = s.H;
  float *g = s.gates + b * 3 * H;
  const float *hh = s.hh + b * 3 * H, *bi = s.b_ih, *bh = s.b_hh;
  float r = rec_sigmoid(g[j] + bi[j] + hh[j] + bh[j]);
  float z = rec_sigmoid(g[H + j] + bi[H + j] + hh[H + j] + bh[H + j]);
  float hn = hh[2 * H + j] + bh[2 * H + j];
  float n = tanhf(g[2 * H + j] + bi[2 * H + j] + r * hn);
  s.keep[b * H + j] = hn;
  s.h[b * s.ldh + j] = (1.0f - z) * n + z * s.h_prev[b * s.ld_prev + j];
  g[j] = r, g[H + j] = z, g[2 * H + j] = n;
}

/* dh = dy + dh_next;  dn = dh (1 - z) (1 - n^2);  dz = dh (h_prev - n) z (1 - z);
** dr = dn hn r (1 - r);  the hidden projection's: dr, dz, dn r;  h_prev's
** direct part: dh z    (B, H) -> dg (B, 3H), dgh (B, 3H), dh (B, H) */
static __device__ void cell_backward_at(const rec_step &s, int64_t b, int j) {
  int H = s.H;
  const float *g = s.gates + b * 3 * H;
  float *dg = s.dg + b * 3 * H, *dgh = s.dgh + b * 3 * H;
  float r = g[j], z = g[H + j], n = g[2 * H + j];
  float dh = s.dy[b * s.ldh + j] + s.dh[b * H + j];
  float dn = dh * (1.0f - z) * (1.0f - n * n);
  float dz = dh * (s.h_prev[b * s.ld_prev + j] - n) * z * (1.0f - z);
  float dr = dn * s.keep[b * H + j] * r * (1.0f - r);
  dg[j] = dgh[j] = dr;
  dg[H + j] = dgh[H + j] = dz;
  dg[2 * H + j] = dn;
  dgh[2 * H + j] = dn * r;
  s.dh[b * H + j] = dh * z;
}
