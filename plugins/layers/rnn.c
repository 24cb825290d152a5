/*
** rnn.c -- the simple (Elman) recurrent layer, as torch.nn.RNN(batch_first=True):
** h = f(W_ih x + b_ih + W_hh h_prev + b_hh), f = tanh or relu.
**
** weight_ih_l{k} (H, in), weight_hh_l{k} (H, H), biases (H). The cell
** keeps nothing of its own: f' comes from h, which recurrent.h keeps with
** the layers, directions, outputs, state and BPTT.
*/
#define CELL_NAME "rnn"
#define CELL_GATES 1
#define CELL_KEEP 0
#define CELL_HAS_C 0
#define CELL_SPLIT 0
#define CELL_DIRECT 0
#define CELL_PARAM \
  {"nonlinearity", LUNET_STRING, 0, 0, 0, "tanh", "tanh|relu", "f of h = f(W_ih x + W_hh h + b)", 0}
#define CELL_OPTION(p) (strcmp((p)[P_CELL].str, "relu") == 0) /* 1: relu */
#include "recurrent.h"

/* h = tanh(a) or max(a, 0), a = W_ih x + b_ih + W_hh h_prev + b_hh    (H) -> (H) */
static void forward_row(int H, int relu, const float *restrict gx, const float *restrict hh,
                        const float *restrict bi, const float *restrict bh, float *restrict h) {
  if (relu)
    for (int j = 0; j < H; j++) {
      float a = gx[j] + bi[j] + hh[j] + bh[j];
      h[j] = a > 0.0f ? a : 0.0f;
    }
  else
    for (int j = 0; j < H; j++) h[j] = fast_tanh(gx[j] + bi[j] + hh[j] + bh[j]);
}

/* da = (dy + dh_next) f'(a): 1 - h^2 for tanh, [h > 0] for relu    (H) -> (H) */
static void backward_row(int H, int relu, const float *restrict h, const float *restrict dy,
                         const float *restrict dh, float *restrict da) {
  if (relu)
    for (int j = 0; j < H; j++) da[j] = h[j] > 0.0f ? dy[j] + dh[j] : 0.0f;
  else
    for (int j = 0; j < H; j++) da[j] = (dy[j] + dh[j]) * (1.0f - h[j] * h[j]);
}

static void cell_forward(const rec_step *s, int64_t b) {
  forward_row(s->H, s->option, s->gates + b * s->H, s->hh + b * s->H, s->b_ih, s->b_hh,
              s->h + b * s->ldh);
}

static void cell_backward(const rec_step *s, int64_t b) {
  backward_row(s->H, s->option, s->h + b * s->ldh, s->dy + b * s->ldh, s->dh + b * s->H,
               s->dg + b * s->H);
}

RECURRENT_PLUGIN("2.1.0",
                 "Elman RNN over (T, C) sequences, h = tanh|relu(W_ih x + W_hh h + b), as torch.nn.RNN")
