/*
** test_recurrent.c -- rnn (tanh and relu), gru and lstm against a float64
** reference written here from PyTorch's documented equations (loops over
** rows, layers, directions and steps, batch-major, nothing shared with the
** plugins): forward outputs for one and two layers, one and two directions
** and every output mode; gradients of L = sum r y from the plugins'
** backward against central differences of the reference; the state a
** stateful layer carries from call to call (and drops on reset, on an old
** ctx, between modes); hand-computed one-unit cases; parameter names and
** shapes as PyTorch's. Then linear, layernorm and softmax per position on
** (T, C) samples against float64 loops, and lunet check's finite
** differences for layernorm and softmax with axis = "last".
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "registry.h"
#include "services.h"

enum { T = 4, C = 3, H = 3, MAXG = 4, MAXD = 4 /* layers x directions */ };
enum { SEQUENCE, LAST, MEAN, MAX };
static const char *const OUTPUTS[] = {"sequence", "last", "mean", "max"};

/* ---- the float64 reference ---------------------------------------------- */

typedef struct ref {
  char cell; /* 'r' rnn, 'g' gru, 'l' lstm */
  int relu, layers, dirs, output;
  double *w[MAXD][4]; /* per layer and direction: w_ih, w_hh, b_ih, b_hh */
} ref;

static int gates_of(char cell) { return cell == 'l' ? 4 : cell == 'g' ? 3 : 1; }
static double sigmoid(double a) { return 1.0 / (1.0 + exp(-a)); }

/* One step of one row: (h, c) <- cell(x, h, c), with PyTorch's equations. */
static void ref_step(const ref *m, double *const *w, int in, const double *x, double *h, double *c) {
  int G = gates_of(m->cell);
  double a[MAXG * H], ah[MAXG * H], hn[H];
  for (int k = 0; k < G * H; k++) { /* a = W_ih x + b_ih, ah = W_hh h + b_hh */
    a[k] = w[2][k], ah[k] = w[3][k];
    for (int j = 0; j < in; j++) a[k] += w[0][k * in + j] * x[j];
    for (int j = 0; j < H; j++) ah[k] += w[1][k * H + j] * h[j];
  }
  for (int k = 0; k < H; k++) {
    if (m->cell == 'r') {
      double s = a[k] + ah[k];
      hn[k] = m->relu ? (s > 0 ? s : 0) : tanh(s);
    } else if (m->cell == 'g') {
      double r = sigmoid(a[k] + ah[k]), z = sigmoid(a[H + k] + ah[H + k]);
      double n = tanh(a[2 * H + k] + r * ah[2 * H + k]);
      hn[k] = (1 - z) * n + z * h[k];
    } else {
      double i = sigmoid(a[k] + ah[k]), f = sigmoid(a[H + k] + ah[H + k]);
      double g = tanh(a[2 * H + k] + ah[2 * H + k]), o = sigmoid(a[3 * H + k] + ah[3 * H + k]);
      c[k] = f * c[k] + i * g;
      hn[k] = o * tanh(c[k]);
    }
  }
  memcpy(h, hn, sizeof hn);
}

/* y = model(x) for x (B, T, C); h0, c0 (per layer and direction, (B, H))
** may be NULL for zeros; the final states go to hT, cT unless NULL. */
static void ref_forward(const ref *m, const double *x, int B, double (*h0)[8 * H],
                        double (*c0)[8 * H], double *y, double (*hT)[8 * H], double (*cT)[8 * H]) {
  int D = m->dirs, Hd = D * H;
  double seq[2][8 * T * 2 * H]; /* a layer's input and output, (B, T, in) */
  int in = C;
  memcpy(seq[0], x, sizeof(double) * B * T * C);
  for (int l = 0; l < m->layers; l++) {
    const double *lx = seq[l % 2];
    double *ly = seq[(l + 1) % 2];
    for (int d = 0; d < D; d++)
      for (int b = 0; b < B; b++) {
        int s = l * D + d;
        double h[H] = {0}, c[H] = {0};
        if (h0) memcpy(h, h0[s] + b * H, sizeof h);
        if (c0) memcpy(c, c0[s] + b * H, sizeof c);
        for (int k = 0; k < T; k++) {
          int t = d ? T - 1 - k : k;
          ref_step(m, m->w[s], in, lx + (b * T + t) * in, h, c);
          memcpy(ly + (b * T + t) * Hd + d * H, h, sizeof h);
        }
        if (hT) memcpy(hT[s] + b * H, h, sizeof h);
        if (cT) memcpy(cT[s] + b * H, c, sizeof c);
      }
    in = Hd;
  }
  const double *top = seq[m->layers % 2];
  for (int b = 0; b < B; b++)
    for (int j = 0; j < Hd; j++) {
      const double *col = top + b * T * Hd + j; /* step t at col[t Hd] */
      if (m->output == SEQUENCE) {
        for (int t = 0; t < T; t++) y[(b * T + t) * Hd + j] = col[t * Hd];
        continue;
      }
      double v = m->output == LAST ? col[(j < H ? T - 1 : 0) * Hd] : col[0];
      for (int t = 1; m->output != LAST && t < T; t++)
        v = m->output == MEAN ? v + col[t * Hd] : fmax(v, col[t * Hd]);
      y[b * Hd + j] = m->output == MEAN ? v / T : v;
    }
}

/* ---- the plugin and the reference side by side -------------------------- */

typedef struct pair {
  common_layer l;
  ref m;
  double *flat; /* the reference's parameters, the plugin's in float64 */
  int B, ny;    /* rows, outputs per row */
} pair;

static const lunet_ctx TRAIN = {.size = sizeof(lunet_ctx), .train = 1, .device = LUNET_CPU, .reset = 1};

/* Builds plugin `cell` with the given output mode and shape, and its
** reference over a float64 copy of the initial parameters. */
static void pair_init(pair *p, const char *cell, int relu, int layers, int dirs, int output,
                      int stateful, int B) {
  param_given g[] = {P_NUM("hidden", H), P_NUM("layers", layers), P_BOOL("bidirectional", dirs == 2),
                     P_STR("output", OUTPUTS[output]), P_BOOL("stateful", stateful),
                     P_STR("nonlinearity", relu ? "relu" : "tanh")};
  lunet_shape in = {2, {T, C}};
  memset(p, 0, sizeof *p);
  cr_assert_eq(common_layer_init(&p->l, cell, &in, g, cell[0] == 'r' ? 6 : 5, 7), 0, "%s",
               services_last_error());
  cr_assert_eq(p->l.ws.n, 4 * layers * dirs, "%s: four tensors per layer and direction", cell);
  p->m = (ref){cell[0], relu, layers, dirs, output, {{0}}};
  p->flat = malloc(sizeof(double) * (size_t)p->l.ws.n_trained);
  for (int64_t i = 0; i < p->l.ws.n_trained; i++) p->flat[i] = p->l.ws.values[i];
  double *at = p->flat;
  for (int i = 0; i < p->l.ws.n; i++) {
    p->m.w[i / 4][i % 4] = at;
    at += lunet_numel(&p->l.ws.w[i].value->shape);
  }
  p->B = B;
  p->ny = (int)lunet_numel(&p->l.out);
  cr_assert_eq(p->l.p->layer->reserve(p->l.self, B, LUNET_CPU), 0, "%s", services_last_error());
}

static void pair_free(pair *p) {
  free(p->flat);
  common_layer_free(&p->l);
}

static void forward(pair *p, float *x, float *y, const lunet_ctx *ctx) {
  lunet_tensor in = common_tensor(x, p->B, &p->l.in), out = common_tensor(y, p->B, &p->l.out);
  cr_assert_eq(p->l.p->layer->forward[LUNET_CPU](p->l.self, &in, &out, ctx), 0, "%s",
               services_last_error());
}

static void to_double(const float *x, double *xd, int n) {
  for (int i = 0; i < n; i++) xd[i] = x[i];
}

/* max |y - want| over n values */
static double max_diff(const float *y, const double *want, int n) {
  double worst = 0;
  for (int i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - want[i]));
  return worst;
}

/* sum r y of the reference at its current parameters */
static double ref_objective(const pair *p, const double *x, double (*h0)[8 * H], double (*c0)[8 * H],
                            const float *r) {
  double y[8 * T * 2 * H], sum = 0;
  ref_forward(&p->m, x, p->B, h0, c0, y, NULL, NULL);
  for (int i = 0; i < p->B * p->ny; i++) sum += r[i] * y[i];
  return sum;
}

/* (f(v + e) - f(v - e)) / 2e of the reference in one float64 value */
static double central(const pair *p, double *v, double *x, double (*h0)[8 * H], double (*c0)[8 * H],
                      const float *r) {
  const double e = 1e-6, keep = *v;
  *v = keep + e;
  double up = ref_objective(p, x, h0, c0, r);
  *v = keep - e;
  double down = ref_objective(p, x, h0, c0, r);
  *v = keep;
  return (up - down) / (2 * e);
}

/* Backward after the forward of x (the last call) with dout = r against
** central differences of the reference started from h0, c0: every input
** and parameter element. Returns the worst error relative to 1 + |d|. */
static double check_gradients(pair *p, float *x, float *y, double (*h0)[8 * H], double (*c0)[8 * H],
                              const lunet_ctx *ctx, const char *what) {
  int nx = p->B * T * C;
  float r[8 * T * 2 * H], dx[8 * T * C];
  double xd[8 * T * C], worst = 0;
  common_fill_normal(r, p->B * p->ny, 5);
  lunet_tensor in = common_tensor(x, p->B, &p->l.in), out = common_tensor(y, p->B, &p->l.out);
  lunet_tensor dout = common_tensor(r, p->B, &p->l.out), din = common_tensor(dx, p->B, &p->l.in);
  cr_assert_eq(p->l.p->layer->backward[LUNET_CPU](p->l.self, &in, &out, &dout, &din, ctx), 0, "%s",
               services_last_error());
  to_double(x, xd, nx);
  for (int i = 0; i < nx; i++) {
    double d = central(p, &xd[i], xd, h0, c0, r), err = fabs(dx[i] - d) / (1 + fabs(d));
    cr_expect_lt(err, 1e-4, "%s: dx[%d] = %g, reference %g", what, i, dx[i], d);
    worst = fmax(worst, err);
  }
  for (int64_t i = 0; i < p->l.ws.n_trained; i++) {
    double d = central(p, &p->flat[i], xd, h0, c0, r), err = fabs(p->l.ws.grads[i] - d) / (1 + fabs(d));
    cr_expect_lt(err, 1e-4, "%s: gradient of trained value %lld = %g, reference %g", what,
                 (long long)i, p->l.ws.grads[i], d);
    worst = fmax(worst, err);
  }
  return worst;
}

/* ---- forward and BPTT for every shape ------------------------------------ */

/* One cell through 1 or 2 layers, 1 or 2 directions, each output mode. */
static void check_cell(const char *cell, int relu) {
  for (int shape = 0; shape < 3; shape++)
    for (int output = 0; output < 4; output++) {
      int layers = shape ? 2 : 1, dirs = shape == 2 ? 2 : 1, B = 2;
      char what[96];
      snprintf(what, sizeof what, "%s%s, %d layer(s), %d direction(s), output %s", cell,
               relu ? " relu" : "", layers, dirs, OUTPUTS[output]);
      pair p;
      pair_init(&p, cell, relu, layers, dirs, output, 0, B);
      cr_assert_eq(p.ny, output == SEQUENCE ? T * H * dirs : H * dirs, "%s: output size", what);
      float x[2 * T * C], y[2 * T * 2 * H];
      double xd[2 * T * C], want[2 * T * 2 * H];
      common_fill_normal(x, B * T * C, 11 + shape);
      to_double(x, xd, B * T * C);
      forward(&p, x, y, &TRAIN);
      ref_forward(&p.m, xd, B, NULL, NULL, want, NULL, NULL);
      double dy = max_diff(y, want, B * p.ny);
      cr_expect_lt(dy, 1e-5, "%s: forward differs from the float64 reference by %g", what, dy);
      double dg = check_gradients(&p, x, y, NULL, NULL, &TRAIN, what);
      cr_log_info("%s: forward %.1e, gradients %.1e", what, dy, dg);
      pair_free(&p);
    }
}

Test(recurrent, rnn_tanh_matches_the_float64_reference) { check_cell("rnn", 0); }
Test(recurrent, rnn_relu_matches_the_float64_reference) { check_cell("rnn", 1); }
Test(recurrent, gru_matches_the_float64_reference) { check_cell("gru", 0); }
Test(recurrent, lstm_matches_the_float64_reference) { check_cell("lstm", 0); }

/* ---- state carried from call to call ------------------------------------- */

/* Call 1 (B1 = 2 rows, reset) starts from zero; call 2 (3 rows) continues
** rows 0 and 1 from call 1's final states, row 2 from zero, and its
** gradients treat that state as a constant; an eval call has its own
** state; a reset, or a ctx from before ABI 2.1, starts from zero again. */
static void check_stateful(const char *cell) {
  pair p;
  pair_init(&p, cell, 0, 2, 2, SEQUENCE, 1, 3);
  int n1 = 2 * T * C, n2 = 3 * T * C, ny = p.ny, hc = cell[0] == 'l';
  float x1[2 * T * C], x2[3 * T * C], y[3 * T * 2 * H];
  double x1d[2 * T * C], x2d[3 * T * C], want[3 * T * 2 * H];
  double h[MAXD][8 * H] = {{0}}, c[MAXD][8 * H] = {{0}};
  common_fill_normal(x1, n1, 21);
  common_fill_normal(x2, n2, 22);
  to_double(x1, x1d, n1);
  to_double(x2, x2d, n2);

  p.B = 2;
  forward(&p, x1, y, &TRAIN);
  ref_forward(&p.m, x1d, 2, NULL, NULL, want, h, c); /* rows 0, 1 of h, c: the carry */
  cr_expect_lt(max_diff(y, want, 2 * ny), 1e-5, "%s: the first call starts from zero", cell);

  lunet_ctx next = TRAIN;
  next.reset = 0;
  p.B = 3;
  forward(&p, x2, y, &next);
  ref_forward(&p.m, x2d, 3, h, hc ? c : NULL, want, NULL, NULL);
  double d = max_diff(y, want, 3 * ny);
  cr_expect_lt(d, 1e-5, "%s: the second call continues from the first's final state (%g)", cell, d);
  double dz[3 * T * 2 * H];
  ref_forward(&p.m, x2d, 3, NULL, NULL, dz, NULL, NULL);
  cr_expect_gt(max_diff(y, dz, 3 * ny), 1e-3, "%s: the carried state changes the output", cell);
  check_gradients(&p, x2, y, h, hc ? c : NULL, &next, cell);

  lunet_ctx eval = next;
  eval.train = 0;
  forward(&p, x2, y, &eval);
  cr_expect_lt(max_diff(y, dz, 3 * ny), 1e-5, "%s: eval mode keeps a state of its own, none yet", cell);
  lunet_ctx old = next; /* ABI 2.0: no reset field, every call starts over */
  old.size = offsetof(lunet_ctx, reset);
  forward(&p, x2, y, &old);
  cr_expect_lt(max_diff(y, dz, 3 * ny), 1e-5, "%s: a ctx without `reset` starts from zero", cell);
  forward(&p, x2, y, &TRAIN);
  cr_expect_lt(max_diff(y, dz, 3 * ny), 1e-5, "%s: reset starts from zero", cell);
  pair_free(&p);
}

Test(recurrent, rnn_carries_its_state_across_calls) { check_stateful("rnn"); }
Test(recurrent, gru_carries_its_state_across_calls) { check_stateful("gru"); }
Test(recurrent, lstm_carries_h_and_c_across_calls) { check_stateful("lstm"); }

/* Without `stateful` every call starts from zero, reset or not. */
Test(recurrent, stateless_layers_ignore_the_last_call) {
  pair p;
  pair_init(&p, "lstm", 0, 1, 1, LAST, 0, 2);
  float x[2 * T * C], y1[2 * H], y2[2 * H];
  common_fill_normal(x, 2 * T * C, 3);
  lunet_ctx next = TRAIN;
  next.reset = 0;
  forward(&p, x, y1, &TRAIN);
  forward(&p, x, y2, &next);
  cr_expect_eq(memcmp(y1, y2, sizeof y1), 0, "the same input, the same output");
  pair_free(&p);
}

/* ---- by hand: one unit, one feature, two steps ------------------------- */

/* A one-unit layer over (x1, x2) with W_ih = 1 in every gate row, the
** given W_hh, zero biases; returns (h1, h2) of the one sample. */
static void one_unit(const char *cell, float w_hh, float x1, float x2, float h[2]) {
  param_given g[] = {P_NUM("hidden", 1)};
  lunet_shape in = {2, {2, 1}};
  common_layer l;
  cr_assert_eq(common_layer_init(&l, cell, &in, g, 1, 1), 0, "%s", services_last_error());
  for (int i = 0; i < 4; i++) {
    lunet_tensor *v = l.ws.w[i].value;
    for (int64_t k = 0; k < lunet_numel(&v->shape); k++) v->f32[k] = i == 0 ? 1.0f : i == 1 ? w_hh : 0.0f;
  }
  cr_assert_eq(l.p->layer->reserve(l.self, 1, LUNET_CPU), 0);
  float x[2] = {x1, x2};
  lunet_tensor xt = common_tensor(x, 1, &in), yt = common_tensor(h, 1, &l.out);
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, &xt, &yt, &TRAIN), 0, "%s", services_last_error());
  common_layer_free(&l);
}

Test(recurrent, one_unit_cases_by_hand) {
  float h[2];
  /* sigma(ln 3) = 3/4, tanh(ln 3) = 4/5, tanh(ln 2) = 3/5 */
  const float ln3 = (float)log(3.0), ln2 = (float)log(2.0);
  /* rnn, W_hh = 1: h1 = tanh(ln 3) = 0.8; h2 = tanh(ln 2 - 0.8 + 0.8) = 0.6 */
  one_unit("rnn", 1.0f, ln3, ln2 - 0.8f, h);
  cr_expect(fabsf(h[0] - 0.8f) < 1e-6f && fabsf(h[1] - 0.6f) < 1e-6f, "rnn: %g %g", h[0], h[1]);
  /* gru, W_hh = 0: r = z = 3/4, n = 4/5; h1 = (1 - 3/4) 4/5 = 0.2,
  ** h2 = 1/4 4/5 + 3/4 0.2 = 0.35 */
  one_unit("gru", 0.0f, ln3, ln3, h);
  cr_expect(fabsf(h[0] - 0.2f) < 1e-6f && fabsf(h[1] - 0.35f) < 1e-6f, "gru: %g %g", h[0], h[1]);
  /* lstm, W_hh = 0: i = f = o = 3/4, g = 4/5; c1 = 3/4 4/5 = 0.6,
  ** h1 = 3/4 tanh(0.6) = 0.402787; c2 = 3/4 0.6 + 0.6 = 1.05,
  ** h2 = 3/4 tanh(1.05) = 0.586355 (tanh from a table, 6 digits) */
  one_unit("lstm", 0.0f, ln3, ln3, h);
  cr_expect(fabsf(h[0] - 0.402787f) < 2e-6f && fabsf(h[1] - 0.586355f) < 2e-6f, "lstm: %g %g", h[0], h[1]);
}

/* ---- names and shapes as PyTorch's -------------------------------------- */

/* torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True).named_parameters():
** for each layer, forward then reverse: weight_ih (4H, in), weight_hh
** (4H, H), bias_ih (4H), bias_hh (4H), in = 3 below and 2H = 10 above
** (GRU: 3H rows, RNN: H). */
Test(recurrent, parameter_names_and_shapes_are_pytorchs) {
  static const char *const names[] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
    "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
    "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_ih_l1_reverse",
    "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
  static const int cols[] = {3, 5, 0, 0, 3, 5, 0, 0, 10, 5, 0, 0, 10, 5, 0, 0}; /* 0: a vector */
  static const char *const cells[] = {"rnn", "gru", "lstm"};
  for (int c = 0; c < 3; c++) {
    param_given g[] = {P_NUM("hidden", 5), P_NUM("layers", 2), P_BOOL("bidirectional", 1)};
    lunet_shape in = {2, {7, 3}};
    common_layer l;
    cr_assert_eq(common_layer_init(&l, cells[c], &in, g, 3, 1), 0, "%s", services_last_error());
    int rows = 5 * gates_of(cells[c][0]);
    cr_assert_eq(l.ws.n, 16, "%s: 16 tensors", cells[c]);
    for (int i = 0; i < 16; i++) {
      const lunet_shape *s = &l.ws.w[i].value->shape;
      cr_expect_str_eq(l.ws.w[i].name, names[i], "%s: tensor %d", cells[c], i);
      cr_expect(s->ndim == (cols[i] ? 2 : 1) && s->dim[0] == rows && (!cols[i] || s->dim[1] == cols[i]),
                "%s: %s has shape (%d, %d), ndim %d", cells[c], names[i], s->dim[0], s->dim[1], s->ndim);
    }
    cr_expect(l.out.ndim == 2 && l.out.dim[0] == 7 && l.out.dim[1] == 10, "%s: (T, 2H) out", cells[c]);
    /* PyTorch's init: every value in [-1/sqrt(H), 1/sqrt(H)], spread over it */
    double k = 1 / sqrt(5.0), lo = 1, hi = -1;
    for (int64_t i = 0; i < l.ws.n_trained; i++) lo = fmin(lo, l.ws.values[i]), hi = fmax(hi, l.ws.values[i]);
    cr_expect(lo >= -k && hi <= k && lo < -0.9 * k && hi > 0.9 * k, "%s: init in [%g, %g]", cells[c], lo, hi);
    common_layer_free(&l);
  }
}

Test(recurrent, misuse_is_an_error_naming_the_layer) {
  param_given g[] = {P_NUM("hidden", 4)};
  common_layer l;
  lunet_shape flat = {1, {6}};
  cr_expect_neq(common_layer_init(&l, "gru", &flat, g, 1, 1), 0);
  cr_expect(strstr(services_last_error(), "gru") && strstr(services_last_error(), "(T, C)"), "%s",
            services_last_error());
  lunet_shape in = {2, {T, C}};
  cr_assert_eq(common_layer_init(&l, "lstm", &in, g, 1, 1), 0, "%s", services_last_error());
  cr_assert_eq(l.p->layer->reserve(l.self, 2, LUNET_CPU), 0);
  float x[3 * T * C] = {0}, y[3 * T * 4];
  lunet_tensor xt = common_tensor(x, 3, &in), yt = common_tensor(y, 3, &l.out);
  cr_expect_neq(l.p->layer->forward[LUNET_CPU](l.self, &xt, &yt, &TRAIN), 0);
  cr_expect(strstr(services_last_error(), "lstm") && strstr(services_last_error(), "reserve"), "%s",
            services_last_error());
  common_layer_free(&l);
}

/* ---- per position: linear, layernorm and softmax on (T, C) ---------------- */

/* Layer `name` built for (T, C) samples, with room for B = 2. */
static common_layer positionwise(const char *name, const param_given *g, int n) {
  common_layer l;
  lunet_shape in = {2, {T, C}};
  cr_assert_eq(common_layer_init(&l, name, &in, g, n, 9), 0, "%s", services_last_error());
  if (l.p->layer->reserve) cr_assert_eq(l.p->layer->reserve(l.self, 2, LUNET_CPU), 0);
  return l;
}

/* y = l(x) for B = 2 samples, in training mode. */
static void run2(common_layer *l, const float *x, float *y) {
  lunet_tensor xt = common_tensor((float *)x, 2, &l->in), yt = common_tensor(y, 2, &l->out);
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, &xt, &yt, &TRAIN), 0, "%s", services_last_error());
}

Test(positionwise, linear_maps_each_position_on_its_own) {
  float x[2 * T * C], y[2 * T * 5];
  common_fill_normal(x, 2 * T * C, 4);
  param_given g[] = {P_NUM("out", 5)};
  common_layer l = positionwise("linear", g, 1);
  run2(&l, x, y);
  cr_assert(l.out.ndim == 2 && l.out.dim[0] == T && l.out.dim[1] == 5, "(T, C) -> (T, out)");
  const float *w = l.ws.w[0].value->f32, *b = l.ws.w[1].value->f32;
  cr_expect_str_eq(l.ws.w[0].name, "weight");
  cr_expect(l.ws.w[0].value->shape.dim[0] == 5 && l.ws.w[0].value->shape.dim[1] == C, "weight (out, in)");
  double k = 1 / sqrt((double)C), worst = 0;
  for (int i = 0; i < 5 * C; i++) cr_expect(fabsf(w[i]) <= k, "nn.Linear's init: |w| <= 1/sqrt(in)");
  for (int r = 0; r < 2 * T; r++) /* y[r, o] = b[o] + sum_c x[r, c] W[o, c] */
    for (int o = 0; o < 5; o++) {
      double s = b[o];
      for (int c = 0; c < C; c++) s += (double)x[r * C + c] * w[o * C + c];
      worst = fmax(worst, fabs(s - y[r * 5 + o]));
    }
  cr_expect_lt(worst, 1e-6, "linear differs from the loop by %g", worst);
  common_layer_free(&l);
}

Test(positionwise, layernorm_last_axis_is_pytorchs_layernorm_of_c) {
  float x[2 * T * C], y[2 * T * C];
  common_fill_normal(x, 2 * T * C, 5);
  param_given g[] = {P_STR("axis", "last")};
  common_layer l = positionwise("layernorm", g, 1);
  cr_assert_eq(l.ws.n, 2);
  cr_expect(l.ws.w[0].value->shape.ndim == 1 && l.ws.w[0].value->shape.dim[0] == C, "weight (C)");
  for (int c = 0; c < C; c++) l.ws.w[0].value->f32[c] = 1.0f + c, l.ws.w[1].value->f32[c] = 0.5f * c;
  run2(&l, x, y);
  double worst = 0;
  for (int r = 0; r < 2 * T; r++) { /* each position over its C features, biased variance */
    double m = 0, v = 0;
    for (int c = 0; c < C; c++) m += x[r * C + c] / (double)C;
    for (int c = 0; c < C; c++) v += (x[r * C + c] - m) * (x[r * C + c] - m) / C;
    for (int c = 0; c < C; c++)
      worst = fmax(worst, fabs((1.0 + c) * (x[r * C + c] - m) / sqrt(v + 1e-5) + 0.5 * c - y[r * C + c]));
  }
  cr_expect_lt(worst, 1e-5, "layernorm(axis = last) differs from the loop by %g", worst);
  common_layer_free(&l);
}

Test(positionwise, softmax_last_axis_sums_to_one_per_position) {
  float x[2 * T * C], y[2 * T * C];
  common_fill_normal(x, 2 * T * C, 6);
  param_given g[] = {P_STR("axis", "last")};
  common_layer l = positionwise("softmax", g, 1);
  run2(&l, x, y);
  double worst = 0;
  for (int r = 0; r < 2 * T; r++) {
    double z = 0;
    for (int c = 0; c < C; c++) z += exp(x[r * C + c]);
    for (int c = 0; c < C; c++) worst = fmax(worst, fabs(exp(x[r * C + c]) / z - y[r * C + c]));
  }
  cr_expect_lt(worst, 1e-6, "softmax(axis = last) differs from the loop by %g", worst);
  common_layer_free(&l);
}

/* Without `axis`, both normalise the whole sample, as before. */
Test(positionwise, axis_sample_is_the_whole_sample) {
  float x[2 * T * C], y[2 * T * C];
  common_fill_normal(x, 2 * T * C, 7);
  common_layer l = positionwise("softmax", NULL, 0);
  run2(&l, x, y);
  for (int b = 0; b < 2; b++) {
    double s = 0;
    for (int i = 0; i < T * C; i++) s += y[b * T * C + i];
    cr_expect(fabs(s - 1) < 1e-5, "sample %d sums to %g", b, s);
  }
  common_layer_free(&l);
  l = positionwise("layernorm", NULL, 0);
  run2(&l, x, y);
  cr_expect(l.ws.w[0].value->shape.ndim == 2 && l.ws.w[0].value->shape.dim[0] == T, "weight (T, C)");
  double m = 0;
  for (int i = 0; i < T * C; i++) m += y[i];
  cr_expect(fabs(m) < 1e-5, "the sample's mean is 0: %g", m);
  common_layer_free(&l);
}

/* lunet check's finite differences on (T, C) samples with axis = "last". */
Test(positionwise, last_axis_passes_the_gradient_check) {
  static const char *const names[] = {"layernorm", "softmax"};
  lunet_shape in = {2, {T, C}};
  for (int i = 0; i < 2; i++) {
    const plugin_entry *pe = registry_find(LUNET_LAYER, names[i]);
    cr_assert(pe, "%s", services_last_error());
    param_given g[] = {P_STR("axis", "last")};
    gradcheck_report rep;
    cr_expect_eq(gradcheck_layer(pe, g, 1, &in, &rep), 0, "%s", services_last_error());
    cr_expect_geq(rep.checked, 3 * T * C, "%s: every input element compared", names[i]);
  }
}
