/*
** gru.c -- the gated recurrent unit layer, as torch.nn.GRU(batch_first=True).
**
** Gates stacked (r, z, n) in weight_ih_l{k} (3H, in), weight_hh_l{k} (3H,
** H) and the biases (3H). PyTorch's formulation: h = (1 - z) n + z h_prev,
** so its z is the course's 1 - z (Cho 2014 writes the two ways), and the
** reset gate multiplies W_hn h_prev + b_hn, which each step keeps for
** backward. Layers, directions, outputs, state and BPTT are recurrent.h's.
*/
#define CELL_NAME "gru"
#define CELL_GATES 3 /* r, z, n */
#define CELL_KEEP 1  /* W_hn h_prev + b_hn */
#define CELL_HAS_C 0
#define CELL_SPLIT 1  /* r gates the hidden projection of n */
#define CELL_DIRECT 1 /* z h_prev */
#include "recurrent.h"

/* r, z = sigma(W_i x + b_i + W_h h_prev + b_h);  hn = W_hn h_prev + b_hn;
** n = tanh(W_in x + b_in + r hn);  h = (1 - z) n + z h_prev
**     (3H) -> gates (3H), hn (H), h (H) */
static void forward_row(int H, float *restrict gr, float *restrict gz, float *restrict gn,
                        const float *restrict hh, const float *restrict bi,
                        const float *restrict bh, const float *restrict h_prev,
                        float *restrict hn, float *restrict h) {
  for (int j = 0; j < H; j++) {
    float r = fast_sigmoid(gr[j] + bi[j] + hh[j] + bh[j]);
    float z = fast_sigmoid(gz[j] + bi[H + j] + hh[H + j] + bh[H + j]);
    hn[j] = hh[2 * H + j] + bh[2 * H + j];
    float n = fast_tanh(gn[j] + bi[2 * H + j] + r * hn[j]);
    h[j] = (1.0f - z) * n + z * h_prev[j];
    gr[j] = r, gz[j] = z, gn[j] = n;
  }
}

/* dh = dy + dh_next;  dn = dh (1 - z) (1 - n^2);  dz = dh (h_prev - n) z (1 - z);
** dr = dn hn r (1 - r);  the hidden projection's: dr, dz, dn r;  h_prev's
** direct part: dh z    (H) -> dg (3H), dgh (3H), dh (H) */
static void backward_row(int H, const float *restrict gates, const float *restrict hn,
                         const float *restrict h_prev, const float *restrict dy,
                         float *restrict dh, float *restrict dr, float *restrict dz,
                         float *restrict dn, float *restrict dhr, float *restrict dhz,
                         float *restrict dhn) {
  for (int j = 0; j < H; j++) {
    float r = gates[j], z = gates[H + j], n = gates[2 * H + j], dhj = dy[j] + dh[j];
    float dnj = dhj * (1.0f - z) * (1.0f - n * n);
    float dzj = dhj * (h_prev[j] - n) * z * (1.0f - z);
    float drj = dnj * hn[j] * r * (1.0f - r);
    dr[j] = dhr[j] = drj;
    dz[j] = dhz[j] = dzj;
    dn[j] = dnj;
    dhn[j] = dnj * r;
    dh[j] = dhj * z;
  }
}

static void cell_forward(const rec_step *s, int64_t b) {
  int H = s->H;
  float *g = s->gates + b * 3 * H;
  forward_row(H, g, g + H, g + 2 * H, s->hh + b * 3 * H, s->b_ih, s->b_hh,
              s->h_prev + b * s->ld_prev, s->keep + b * H, s->h + b * s->ldh);
}

static void cell_backward(const rec_step *s, int64_t b) {
  int H = s->H;
  float *dg = s->dg + b * 3 * H, *dgh = s->dgh + b * 3 * H;
  backward_row(H, s->gates + b * 3 * H, s->keep + b * H, s->h_prev + b * s->ld_prev,
               s->dy + b * s->ldh, s->dh + b * H, dg, dg + H, dg + 2 * H, dgh, dgh + H,
               dgh + 2 * H);
}

RECURRENT_PLUGIN("2.1.0", "GRU over (T, C) sequences, gates (r, z, n), as torch.nn.GRU")
