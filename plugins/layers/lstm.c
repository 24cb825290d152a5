/*
** lstm.c -- the long short-term memory layer, as torch.nn.LSTM(batch_first=True).
**
** Gates stacked (i, f, g, o) in weight_ih_l{k} (4H, in), weight_hh_l{k}
** (4H, H) and the biases (4H); the cell state c of every step is kept for
** backward and carried with h by a stateful layer. No peepholes: the
** course's cell (Graves 2012) adds W_ci c, W_cf c and W_co c to the gates,
** PyTorch's does not. Layers, directions, outputs, state and BPTT are
** recurrent.h's; the row functions take restrict pointers so that their
** loops vectorize.
*/
#define CELL_NAME "lstm"
#define CELL_GATES 4 /* i, f, g, o */
#define CELL_KEEP 1  /* c */
#define CELL_HAS_C 1
#define CELL_SPLIT 0
#define CELL_DIRECT 0
#include "recurrent.h"

/* i, f, o = sigma(a), g = tanh(a), a = W_ih x + b_ih + W_hh h_prev + b_hh;
** c = f c_prev + i g;  h = o tanh(c)    (4H) -> gates (4H), c (H), h (H) */
static void forward_row(int H, float *restrict gi, float *restrict gf, float *restrict gg,
                        float *restrict go, const float *restrict hh, const float *restrict bi,
                        const float *restrict bh, const float *restrict c_prev,
                        float *restrict c, float *restrict h) {
  for (int j = 0; j < H; j++) {
    float i = fast_sigmoid(gi[j] + bi[j] + hh[j] + bh[j]);
    float f = fast_sigmoid(gf[j] + bi[H + j] + hh[H + j] + bh[H + j]);
    float g = fast_tanh(gg[j] + bi[2 * H + j] + hh[2 * H + j] + bh[2 * H + j]);
    float o = fast_sigmoid(go[j] + bi[3 * H + j] + hh[3 * H + j] + bh[3 * H + j]);
    c[j] = f * c_prev[j] + i * g;
    h[j] = o * fast_tanh(c[j]);
    gi[j] = i, gf[j] = f, gg[j] = g, go[j] = o;
  }
}

/* dh = dy + dh_next;  dc = dc_next + dh o (1 - tanh(c)^2);
** do = dh tanh(c), di = dc g, df = dc c_prev, dg = dc i, each times its
** nonlinearity's slope (s (1 - s), 1 - g^2);  dc_prev = dc f
**     (H) -> (4H), dc (H) */
static void backward_row(int H, const float *restrict gates, const float *restrict c_prev,
                         const float *restrict c, const float *restrict dy,
                         const float *restrict dh, float *restrict dc, float *restrict di,
                         float *restrict df, float *restrict dg, float *restrict d_o) {
  for (int j = 0; j < H; j++) {
    float i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j];
    float tc = fast_tanh(c[j]), dhj = dy[j] + dh[j];
    float dcj = dc[j] + dhj * o * (1.0f - tc * tc);
    d_o[j] = dhj * tc * o * (1.0f - o);
    di[j] = dcj * g * i * (1.0f - i);
    df[j] = dcj * c_prev[j] * f * (1.0f - f);
    dg[j] = dcj * i * (1.0f - g * g);
    dc[j] = dcj * f;
  }
}

static void cell_forward(const rec_step *s, int64_t b) {
  int H = s->H;
  float *g = s->gates + b * 4 * H;
  forward_row(H, g, g + H, g + 2 * H, g + 3 * H, s->hh + b * 4 * H, s->b_ih, s->b_hh,
              s->c_prev + b * H, s->keep + b * H, s->h + b * s->ldh);
}

static void cell_backward(const rec_step *s, int64_t b) {
  int H = s->H;
  float *dg = s->dg + b * 4 * H;
  backward_row(H, s->gates + b * 4 * H, s->c_prev + b * H, s->keep + b * H, s->dy + b * s->ldh,
               s->dh + b * H, s->dc + b * H, dg, dg + H, dg + 2 * H, dg + 3 * H);
}

RECURRENT_PLUGIN("2.1.0", "LSTM over (T, C) sequences, gates (i, f, g, o), as torch.nn.LSTM")
