/*
** test_attention.c -- the layers of transformers against float64 references
** written here, apart from the plugins: gelu against x Phi(x) from libm's erf
** (and PyTorch's printed values); positional's sinusoidal table against the
** formula of "Attention is all you need" and its learned table; attention
** (heads 1 and 2, with and without the causal mask) against loops over
** samples, heads and positions. Then the course's properties of attention:
** without a positional encoding, permuting the positions permutes the
** outputs; under the causal mask output t ignores inputs after t; 4E^2 + 4E
** parameters with PyTorch's names; dropout only in training; and the finite-
** difference check of lunet check with the causal mask and dropout on.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "registry.h"
#include "services.h"

enum { B = 2, T = 5, E = 6 };

static const lunet_ctx TRAIN = {.size = sizeof(lunet_ctx), .train = 1, .device = LUNET_CPU, .reset = 1};
static const lunet_ctx EVAL = {.size = sizeof(lunet_ctx), .train = 0, .device = LUNET_CPU, .reset = 1};

static void built_plugins_only(void) { unsetenv("LUNET_PLUGIN_PATH"); }

TestSuite(attention, .init = built_plugins_only);

/* Builds `name` for per-sample input (t, e) and reserves a batch of B. */
static void layer(common_layer *l, const char *name, int t, int e, const param_given *g, int n) {
  lunet_shape in = {2, {t, e}};
  cr_assert_eq(common_layer_init(l, name, &in, g, n, 7), 0, "%s", services_last_error());
  if (l->p->layer->reserve)
    cr_assert_eq(l->p->layer->reserve(l->self, B, LUNET_CPU), 0, "%s", services_last_error());
}

static void run(common_layer *l, const float *x, float *y, const lunet_ctx *ctx) {
  lunet_tensor xt = common_tensor((float *)x, B, &l->in), yt = common_tensor(y, B, &l->out);
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, &xt, &yt, ctx), 0, "%s",
               services_last_error());
}

/* ---- gelu ------------------------------------------------------------------ */

Test(attention, gelu_is_x_times_the_normal_cdf) {
  enum { N = 41 };
  float x[B * N], y[B * N];
  for (int i = 0; i < B * N; i++) x[i] = -8.0f + 0.2f * (float)i;
  common_layer l;
  lunet_shape in = {1, {N}};
  cr_assert_eq(common_layer_init(&l, "gelu", &in, NULL, 0, 1), 0, "%s", services_last_error());
  lunet_tensor xt = common_tensor(x, B, &in), yt = common_tensor(y, B, &in);
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, &xt, &yt, &TRAIN), 0);
  for (int i = 0; i < B * N; i++) {
    double want = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
    cr_expect(fabs(y[i] - want) <= 1e-6 + 1e-6 * fabs(want), "gelu(%g) = %g, expected %g", x[i], y[i], want);
  }
  /* torch.nn.GELU()(torch.tensor([1., -1., 0.5], dtype=torch.float64)) */
  float t[3] = {1.0f, -1.0f, 0.5f}, ty[3];
  const double torch[3] = {0.8413447460685429, -0.15865525393145707, 0.34573123063700656};
  lunet_shape one = {1, {3}};
  lunet_tensor tt = common_tensor(t, 1, &one), tyt = common_tensor(ty, 1, &one);
  common_layer_free(&l);
  cr_assert_eq(common_layer_init(&l, "gelu", &one, NULL, 0, 1), 0);
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, &tt, &tyt, &EVAL), 0);
  for (int i = 0; i < 3; i++) cr_expect(fabs(ty[i] - torch[i]) < 1e-6, "gelu(%g) = %g, torch %g", t[i], ty[i], torch[i]);
  common_layer_free(&l);
}

/* gelu's erf is an approximation (gelu.c): erf(x / sqrt 2) = 2 y / x - 1, read
** back from the layer on a grid of 2 x 200,000 points of [-8, 8] (|x| >= 0.25,
** where the division adds at most a few 1e-8), is within 1e-6 of float64's
** erf; and near 0, y is within 1e-7 of x Phi(x). */
Test(attention, gelu_erf_is_within_1e_6_of_double_erf) {
  enum { N = 200000 };
  float *x = malloc(sizeof(float) * B * N), *y = malloc(sizeof(float) * B * N);
  for (int i = 0; i < B * N; i++) x[i] = -8.0f + 16.0f * (float)i / (B * N - 1);
  common_layer l;
  lunet_shape in = {1, {N}};
  cr_assert_eq(common_layer_init(&l, "gelu", &in, NULL, 0, 1), 0, "%s", services_last_error());
  lunet_tensor xt = common_tensor(x, B, &in), yt = common_tensor(y, B, &in);
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, &xt, &yt, &EVAL), 0);
  double worst = 0, at = 0, near0 = 0;
  for (int i = 0; i < B * N; i++) {
    double u = x[i] / sqrt(2.0), e;
    if (fabs(x[i]) >= 0.25) e = fabs(2.0 * y[i] / x[i] - 1.0 - erf(u));
    else near0 = fmax(near0, fabs(y[i] - 0.5 * x[i] * (1.0 + erf(u))));
    if (fabs(x[i]) >= 0.25 && e > worst) worst = e, at = x[i];
  }
  cr_log_info("gelu's erf: largest error %.3g (at x / sqrt 2 = %.4f); near 0, %.3g", worst, at / sqrt(2.0), near0);
  cr_expect_lt(worst, 1e-6, "erf(%g) is off by %g", at / sqrt(2.0), worst);
  cr_expect_lt(near0, 1e-7, "gelu near 0 is off by %g", near0);
  common_layer_free(&l);
  free(x), free(y);
}

/* ---- positional ------------------------------------------------------------ */

Test(attention, sinusoidal_encoding_is_the_papers_table) {
  float x[B * T * E], y[B * T * E];
  common_fill_normal(x, B * T * E, 3);
  common_layer l;
  layer(&l, "positional", T, E, (param_given[]){P_NUM("max_len", T)}, 1);
  cr_expect_eq(l.ws.n, 0, "a sinusoidal encoding has no parameters");
  run(&l, x, y, &TRAIN);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int i = 0; i < E / 2; i++) { /* PE[t, 2i] = sin(t / 10000^(2i/E)), PE[t, 2i+1] = cos(...) */
        double angle = t * exp(-log(10000.0) * 2 * i / E);
        int at = (b * T + t) * E + 2 * i;
        cr_expect(fabs(y[at] - x[at] - sin(angle)) < 1e-6, "PE[%d, %d]", t, 2 * i);
        cr_expect(fabs(y[at + 1] - x[at + 1] - cos(angle)) < 1e-6, "PE[%d, %d]", t, 2 * i + 1);
      }
  cr_expect(fabs(y[E] - x[E] - sin(1.0)) < 1e-6 && fabs(y[E + 1] - x[E + 1] - cos(1.0)) < 1e-6,
            "position 1, pair 0: sin 1 and cos 1");
  common_layer_free(&l);
}

Test(attention, learned_encoding_adds_the_first_T_rows) {
  float x[B * T * E], y[B * T * E];
  common_fill_normal(x, B * T * E, 4);
  common_layer l;
  layer(&l, "positional", T, E, (param_given[]){P_STR("kind", "learned"), P_NUM("max_len", 9)}, 2);
  cr_assert_eq(l.ws.n, 1);
  const lunet_tensor *w = l.ws.w[0].value;
  cr_expect_str_eq(l.ws.w[0].name, "weight");
  cr_expect(w->shape.ndim == 2 && w->shape.dim[0] == 9 && w->shape.dim[1] == E, "weight (max_len, E)");
  double sum2 = 0;
  for (int i = 0; i < 9 * E; i++) sum2 += (double)w->f32[i] * w->f32[i];
  cr_expect(sum2 / (9 * E) > 0.4 && sum2 / (9 * E) < 2.0, "N(0, 1) init: mean square %g", sum2 / (9 * E));
  run(&l, x, y, &TRAIN);
  for (int i = 0; i < B * T * E; i++)
    cr_expect(fabs(y[i] - x[i] - w->f32[i % (T * E)]) < 1e-6, "element %d", i);
  common_layer_free(&l);
}

Test(attention, longer_than_max_len_is_an_error) {
  common_layer l;
  lunet_shape in = {2, {T, E}};
  const param_given g[] = {P_NUM("max_len", T - 1)};
  cr_expect_neq(common_layer_init(&l, "positional", &in, g, 1, 1), 0);
  cr_expect(strstr(services_last_error(), "exceeds max_len"), "%s", services_last_error());
  const param_given h[] = {P_NUM("heads", 4)};
  cr_expect_neq(common_layer_init(&l, "attention", &in, h, 1, 1), 0);
  cr_expect(strstr(services_last_error(), "not divisible by heads = 4"), "%s", services_last_error());
}

/* ---- attention against float64 loops ------------------------------------- */

/* y = x W^T + b for one row: (in) -> (out) */
static void ref_affine(const double *x, const float *w, const float *b, double *y, int in, int out) {
  for (int o = 0; o < out; o++) {
    y[o] = b[o];
    for (int i = 0; i < in; i++) y[o] += w[o * in + i] * x[i];
  }
}

/* MultiheadAttention(x, m, m, key_padding_mask = mask) of one sample, from
** the layer's parameters (mask NULL: none); p gets the weights (H, Tq, Tk).
** (Tq, E), (Tk, E), (Tk) -> (Tq, E) */
static void ref_attention(const common_layer *l, int H, int causal, const double *x, int Tq,
                          const double *m, int Tk, const double *mask, double *y, double *p) {
  const float *wi = l->ws.w[0].value->f32, *bi = l->ws.w[1].value->f32;
  const float *wo = l->ws.w[2].value->f32, *bo = l->ws.w[3].value->f32;
  int d = E / H;
  double q[T][E], kv[T][3 * E], o[T][E];
  for (int t = 0; t < Tq; t++) ref_affine(x + t * E, wi, bi, q[t], E, E);
  for (int u = 0; u < Tk; u++) ref_affine(m + u * E, wi, bi, kv[u], E, 3 * E); /* K, V: columns E.. */
  for (int h = 0; h < H; h++)
    for (int t = 0; t < Tq; t++) {
      double s[T], mx = -INFINITY, z = 0;
      for (int u = 0; u < Tk; u++) {
        s[u] = 0;
        for (int k = 0; k < d; k++) s[u] += q[t][h * d + k] * kv[u][E + h * d + k];
        s[u] = causal && u > t ? -INFINITY : s[u] / sqrt(d) + (mask ? mask[u] : 0);
        mx = fmax(mx, s[u]);
      }
      for (int u = 0; u < Tk; u++) z += s[u] = exp(s[u] - mx);
      for (int u = 0; u < Tk; u++) p[(h * Tq + t) * Tk + u] = s[u] / z;
      for (int k = 0; k < d; k++) {
        o[t][h * d + k] = 0;
        for (int u = 0; u < Tk; u++) o[t][h * d + k] += s[u] / z * kv[u][2 * E + h * d + k];
      }
    }
  for (int t = 0; t < Tq; t++) ref_affine(o[t], wo, bo, y + t * E, E, E);
}

static void attention_layer(common_layer *l, int heads, int causal, double dropout) {
  const param_given g[] = {P_NUM("heads", heads), P_BOOL("causal", causal), P_NUM("dropout", dropout)};
  layer(l, "attention", T, E, g, 3);
}

static void expect_reference(int heads, int causal) {
  float x[B * T * E], y[B * T * E];
  double xd[T * E], want[T * E], p[3 * T * T];
  common_fill_normal(x, B * T * E, 5);
  common_layer l;
  attention_layer(&l, heads, causal, 0);
  run(&l, x, y, &TRAIN);
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < T * E; i++) xd[i] = x[b * T * E + i];
    ref_attention(&l, heads, causal, xd, T, xd, T, NULL, want, p);
    for (int i = 0; i < T * E; i++)
      cr_expect(fabs(y[b * T * E + i] - want[i]) < 1e-5, "heads %d causal %d: y[%d][%d] = %g, expected %g",
                heads, causal, b, i, y[b * T * E + i], want[i]);
    if (b > 0) continue;
    const lunet_tensor *shown = l.ws.w[4].value; /* sample 0's weights */
    for (int i = 0; i < heads * T * T; i++)
      cr_expect(fabs(shown->f32[i] - p[i]) < 1e-6, "attention_weights[%d] = %g, expected %g", i,
                shown->f32[i], p[i]);
  }
  common_layer_free(&l);
}

Test(attention, one_head_matches_the_reference) { expect_reference(1, 0); }
Test(attention, two_heads_match_the_reference) { expect_reference(2, 0); }
Test(attention, causal_one_head_matches_the_reference) { expect_reference(1, 1); }
Test(attention, causal_two_heads_match_the_reference) { expect_reference(2, 1); }

Test(attention, parameters_are_pytorchs_4E2_plus_4E) {
  const char *names[] = {"in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias",
                         "attention_weights"};
  const int shapes[5][3] = {{2, 3 * E, E}, {1, 3 * E}, {2, E, E}, {1, E}, {3, 2, T}};
  common_layer l;
  for (int heads = 1; heads <= 3; heads++) {
    attention_layer(&l, heads, 0, 0);
    cr_expect_eq(l.ws.n_trained, 4 * E * E + 4 * E, "heads %d: %lld trained values", heads,
                 (long long)l.ws.n_trained);
    if (heads == 2)
      for (int i = 0; i < 5; i++) {
        const lunet_shape *s = &l.ws.w[i].value->shape;
        cr_expect_str_eq(l.ws.w[i].name, names[i]);
        cr_expect(s->ndim == shapes[i][0] && s->dim[0] == shapes[i][1] &&
                  (s->ndim == 1 || s->dim[1] == shapes[i][2]), "%s: shape", names[i]);
        cr_expect_eq(l.ws.w[i].grad == NULL, i == 4, "%s: trained iff not the weights buffer", names[i]);
      }
    common_layer_free(&l);
  }
}

/* ---- the course's properties ------------------------------------------------ */

Test(attention, permuting_positions_permutes_outputs) {
  const int perm[T] = {3, 0, 4, 2, 1};
  float x[B * T * E], xp[B * T * E], y[B * T * E], yp[B * T * E];
  common_fill_normal(x, B * T * E, 6);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) memcpy(xp + (b * T + t) * E, x + (b * T + perm[t]) * E, sizeof(float) * E);
  common_layer l;
  attention_layer(&l, 2, 0, 0);
  run(&l, x, y, &EVAL);
  run(&l, xp, yp, &EVAL);
  double worst = 0, moved = 0;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int k = 0; k < E; k++) {
        worst = fmax(worst, fabs(yp[(b * T + t) * E + k] - y[(b * T + perm[t]) * E + k]));
        moved = fmax(moved, fabs(yp[(b * T + t) * E + k] - y[(b * T + t) * E + k]));
      }
  cr_expect_lt(worst, 1e-5, "y(P x) = P y(x): off by %g", worst);
  cr_expect_gt(moved, 1e-2, "the permutation moved the outputs (%g)", moved);
  common_layer_free(&l);
}

Test(attention, causal_output_ignores_later_inputs) {
  float x[B * T * E], x2[B * T * E], y[B * T * E], y2[B * T * E];
  common_fill_normal(x, B * T * E, 8);
  common_layer causal, full;
  attention_layer(&causal, 2, 1, 0);
  attention_layer(&full, 2, 0, 0);
  for (int t = 0; t < T - 1; t++) { /* change the inputs after t */
    memcpy(x2, x, sizeof x);
    for (int b = 0; b < B; b++)
      for (int i = (t + 1) * E; i < T * E; i++) x2[b * T * E + i] += 1.0f;
    run(&causal, x, y, &EVAL);
    run(&causal, x2, y2, &EVAL);
    for (int b = 0; b < B; b++)
      for (int i = 0; i < (t + 1) * E; i++)
        cr_expect_eq(y[b * T * E + i], y2[b * T * E + i], "causal: output %d moved when inputs after %d changed",
                     i / E, t);
    run(&full, x, y, &EVAL);
    run(&full, x2, y2, &EVAL);
    cr_expect_neq(memcmp(y, y2, sizeof(float) * (t + 1) * E), 0, "without the mask, output %d sees the future", t);
  }
  common_layer_free(&causal);
  common_layer_free(&full);
}

Test(attention, dropout_only_in_training) {
  float x[B * T * E], y0[B * T * E], y[B * T * E];
  common_fill_normal(x, B * T * E, 9);
  common_layer plain, drop;
  attention_layer(&plain, 2, 0, 0);
  attention_layer(&drop, 2, 0, 0.5); /* same seed: the same initial parameters */
  lunet_rng rng;
  rng_seed(&rng, 1);
  lunet_ctx train = TRAIN;
  train.rng = &rng;
  run(&plain, x, y0, &EVAL);
  run(&drop, x, y, &EVAL);
  cr_expect_eq(memcmp(y0, y, sizeof y), 0, "eval mode: dropout is the identity");
  run(&drop, x, y, &train);
  cr_expect_neq(memcmp(y0, y, sizeof y), 0, "training mode drops weights");
  common_layer_free(&plain);
  common_layer_free(&drop);
}

/* lunet check's finite differences, with the mask and dropout switched on. */
Test(attention, causal_with_dropout_passes_the_gradient_check) {
  registry_init();
  const plugin_entry *pe = registry_find(LUNET_LAYER, "attention");
  cr_assert(pe, "%s", services_last_error());
  const param_given g[] = {P_NUM("heads", 3), P_BOOL("causal", 1), P_NUM("dropout", 0.3)};
  gradcheck_report rep; /* inputs (4, 6) and a mask (4) of N(0, 1) values */
  cr_expect_eq(gradcheck_layer(pe, g, 3, NULL, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.tensors, 6, "input, mask and four parameter tensors");
}

/* ---- cross-attention ------------------------------------------------------- */

enum { TK = 3 };

static void cross_layer(common_layer *l, int heads) {
  lunet_shape in[2] = {{2, {T, E}}, {2, {TK, E}}};
  const param_given g[] = {P_NUM("heads", heads)};
  cr_assert_eq(common_layer_init(l, "cross_attention", in, g, 1, 7), 0, "%s", services_last_error());
  cr_assert_eq(l->p->layer->reserve(l->self, B, LUNET_CPU), 0, "%s", services_last_error());
}

static void run_cross(common_layer *l, float *x, float *m, float *y) {
  lunet_shape sm = {2, {TK, E}};
  lunet_tensor in[2] = {common_tensor(x, B, &l->in), common_tensor(m, B, &sm)};
  lunet_tensor yt = common_tensor(y, B, &l->out);
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, in, &yt, &EVAL), 0, "%s", services_last_error());
}

static void expect_cross_reference(int heads) {
  float x[B * T * E], m[B * TK * E], y[B * T * E];
  double xd[T * E], md[TK * E], want[T * E], p[3 * T * TK];
  common_fill_normal(x, B * T * E, 10);
  common_fill_normal(m, B * TK * E, 11);
  common_layer l;
  cross_layer(&l, heads);
  cr_expect(l.out.ndim == 2 && l.out.dim[0] == T && l.out.dim[1] == E, "(Tq, E), (Tk, E) -> (Tq, E)");
  cr_expect_eq(l.ws.n_trained, 4 * E * E + 4 * E);
  const lunet_shape *ws = &l.ws.w[4].value->shape;
  cr_expect(ws->ndim == 3 && ws->dim[0] == heads && ws->dim[1] == T && ws->dim[2] == TK,
            "attention_weights (heads, Tq, Tk)");
  run_cross(&l, x, m, y);
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < T * E; i++) xd[i] = x[b * T * E + i];
    for (int i = 0; i < TK * E; i++) md[i] = m[b * TK * E + i];
    ref_attention(&l, heads, 0, xd, T, md, TK, NULL, want, p);
    for (int i = 0; i < T * E; i++)
      cr_expect(fabs(y[b * T * E + i] - want[i]) < 1e-5, "heads %d: y[%d][%d] = %g, expected %g", heads, b,
                i, y[b * T * E + i], want[i]);
    for (int i = 0; b == 0 && i < heads * T * TK; i++)
      cr_expect(fabs(l.ws.w[4].value->f32[i] - p[i]) < 1e-6, "attention_weights[%d]", i);
  }
  common_layer_free(&l);
}

Test(attention, cross_one_head_matches_the_reference) { expect_cross_reference(1); }
Test(attention, cross_three_heads_match_the_reference) { expect_cross_reference(3); }

/* Keys and values moved: the output moves; the queries' gradient alone
** (the second input's not wanted) is the one of the full backward. */
Test(attention, cross_gradient_of_one_input_only) {
  float x[B * T * E], m[B * TK * E], y[B * T * E], dy[B * T * E], dx[B * T * E], dx1[B * T * E],
      dm[B * TK * E];
  common_fill_normal(x, B * T * E, 12);
  common_fill_normal(m, B * TK * E, 13);
  common_fill_normal(dy, B * T * E, 14);
  common_layer l;
  cross_layer(&l, 2);
  lunet_shape sm = {2, {TK, E}};
  lunet_tensor in[2] = {common_tensor(x, B, &l.in), common_tensor(m, B, &sm)};
  lunet_tensor yt = common_tensor(y, B, &l.out), dyt = common_tensor(dy, B, &l.out);
  lunet_tensor both[2] = {common_tensor(dx, B, &l.in), common_tensor(dm, B, &sm)};
  lunet_tensor first[2] = {common_tensor(dx1, B, &l.in), common_tensor(NULL, B, &sm)};
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, in, &yt, &TRAIN), 0);
  cr_assert_eq(l.p->layer->backward[LUNET_CPU](l.self, in, &yt, &dyt, both, &TRAIN), 0);
  cr_assert_eq(l.p->layer->backward[LUNET_CPU](l.self, in, &yt, &dyt, first, &TRAIN), 0);
  cr_expect_eq(memcmp(dx, dx1, sizeof dx), 0, "dx without dm");
  float y2[B * T * E];
  m[0] += 1.0f;
  run_cross(&l, x, m, y2);
  cr_expect_neq(memcmp(y, y2, sizeof y), 0, "the keys and values count");
  common_layer_free(&l);
}

/* ---- key-padding masks -------------------------------------------------------- */

/* Two padded samples (pad id 0): pads inside and at the end of sample 1. */
static const int32_t IDS[B * T] = {4, 7, 1, 0, 0, 3, 0, 5, 2, 0};

static void mask_of_ids(float *mask) {
  for (int i = 0; i < B * T; i++) mask[i] = IDS[i] == 0 ? -1e9f : 0.0f;
}

Test(attention, pad_mask_marks_the_pad_ids) {
  common_layer l;
  lunet_shape in = {1, {T}};
  cr_assert_eq(common_layer_init(&l, "pad_mask", &in, (param_given[]){P_NUM("pad", 1)}, 1, 1), 0, "%s",
               services_last_error());
  float mask[B * T], want[B * T];
  lunet_tensor ids = {.size = sizeof(lunet_tensor), .dtype = LUNET_I32, .device = LUNET_CPU,
                      .shape = {2, {B, T}}, .i32 = (int32_t *)IDS};
  lunet_tensor y = common_tensor(mask, B, &l.out);
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, &ids, &y, &EVAL), 0, "%s", services_last_error());
  mask_of_ids(want);
  cr_expect_eq(memcmp(mask, want, sizeof mask), 0, "-1e9 exactly where id == pad");
  common_layer_free(&l);
}

/* attention(x, mask) for the masked layer l of per-sample inputs (T, E), (T) */
static void run_masked(common_layer *l, const float *x, const float *mask, float *y) {
  lunet_shape sm = {1, {T}};
  lunet_tensor in[2] = {common_tensor((float *)x, B, &l->in), common_tensor((float *)mask, B, &sm)};
  lunet_tensor yt = common_tensor(y, B, &l->out);
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, in, &yt, &EVAL), 0, "%s", services_last_error());
}

static void masked_layer(common_layer *l, int heads, int causal) {
  const lunet_shape in[2] = {{2, {T, E}}, {1, {T}}};
  const param_given g[] = {P_NUM("heads", heads), P_BOOL("causal", causal)};
  cr_assert_eq(common_layer_init_inputs(l, "attention", in, 2, g, 2, 7), 0, "%s", services_last_error());
  cr_assert_eq(l->p->layer->reserve(l->self, B, LUNET_CPU), 0, "%s", services_last_error());
}

static void expect_masked_reference(int heads, int causal) {
  float x[B * T * E], mask[B * T], y[B * T * E];
  double xd[T * E], md[T], want[T * E], p[3 * T * T];
  common_fill_normal(x, B * T * E, 15);
  mask_of_ids(mask);
  common_layer l;
  masked_layer(&l, heads, causal);
  run_masked(&l, x, mask, y);
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < T * E; i++) xd[i] = x[b * T * E + i];
    for (int t = 0; t < T; t++) md[t] = mask[b * T + t];
    ref_attention(&l, heads, causal, xd, T, xd, T, md, want, p);
    for (int i = 0; i < T * E; i++)
      cr_expect(fabs(y[b * T * E + i] - want[i]) < 1e-5, "heads %d causal %d masked: y[%d][%d] = %g, expected %g",
                heads, causal, b, i, y[b * T * E + i], want[i]);
  }
  const float *shown = l.ws.w[4].value->f32; /* sample 0: keys 3 and 4 are pads */
  for (int i = 0; i < heads * T; i++)
    cr_expect(shown[i * T + 3] == 0 && shown[i * T + 4] == 0, "row %d gives the pads weight", i);
  common_layer_free(&l);
}

Test(attention, masked_one_head_matches_the_reference) { expect_masked_reference(1, 0); }
Test(attention, masked_causal_two_heads_match_the_reference) { expect_masked_reference(2, 1); }

/* What a pad holds does not reach the other positions; a mask of zeros is no mask. */
Test(attention, pads_are_invisible_and_a_zero_mask_changes_nothing) {
  float x[B * T * E], x2[B * T * E], mask[B * T], zero[B * T] = {0}, y[B * T * E], y2[B * T * E];
  common_fill_normal(x, B * T * E, 16);
  mask_of_ids(mask);
  memcpy(x2, x, sizeof x);
  for (int i = 0; i < B * T; i++)
    for (int k = 0; IDS[i] == 0 && k < E; k++) x2[i * E + k] += 3.0f;
  common_layer l, plain;
  masked_layer(&l, 2, 0);
  run_masked(&l, x, mask, y);
  run_masked(&l, x2, mask, y2);
  for (int i = 0; i < B * T; i++)
    for (int k = 0; IDS[i] != 0 && k < E; k++)
      cr_expect(fabs(y[i * E + k] - y2[i * E + k]) < 1e-6, "position %d moved with the pads", i);
  attention_layer(&plain, 2, 0, 0); /* same seed: the same parameters */
  run(&plain, x, y, &EVAL);
  run_masked(&l, x, zero, y2);
  for (int i = 0; i < B * T * E; i++) cr_expect(fabs(y[i] - y2[i]) < 1e-6, "zero mask: y[%d]", i);
  common_layer_free(&l);
  common_layer_free(&plain);
}

Test(attention, masked_cross_attention_matches_the_reference_and_its_gradients) {
  float x[B * T * E], m[B * TK * E], mask[B * TK] = {0, -1e9f, 0, 0, 0, -1e9f}, y[B * T * E];
  double xd[T * E], md[TK * E], maskd[TK], want[T * E], p[2 * T * TK];
  common_fill_normal(x, B * T * E, 17);
  common_fill_normal(m, B * TK * E, 18);
  const lunet_shape shapes[3] = {{2, {T, E}}, {2, {TK, E}}, {1, {TK}}};
  const param_given g[] = {P_NUM("heads", 2)};
  common_layer l;
  cr_assert_eq(common_layer_init_inputs(&l, "cross_attention", shapes, 3, g, 1, 7), 0, "%s",
               services_last_error());
  cr_assert_eq(l.p->layer->reserve(l.self, B, LUNET_CPU), 0);
  lunet_tensor in[3] = {common_tensor(x, B, &shapes[0]), common_tensor(m, B, &shapes[1]),
                        common_tensor(mask, B, &shapes[2])};
  lunet_tensor yt = common_tensor(y, B, &l.out);
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, in, &yt, &EVAL), 0, "%s", services_last_error());
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < T * E; i++) xd[i] = x[b * T * E + i];
    for (int i = 0; i < TK * E; i++) md[i] = m[b * TK * E + i];
    for (int u = 0; u < TK; u++) maskd[u] = mask[b * TK + u];
    ref_attention(&l, 2, 0, xd, T, md, TK, maskd, want, p);
    for (int i = 0; i < T * E; i++)
      cr_expect(fabs(y[b * T * E + i] - want[i]) < 1e-5, "y[%d][%d] = %g, expected %g", b, i,
                y[b * T * E + i], want[i]);
  }
  common_layer_free(&l);
  registry_init();
  gradcheck_report rep; /* lunet check's finite differences, the mask N(0, 1) */
  cr_expect_eq(gradcheck_layer(registry_find(LUNET_LAYER, "cross_attention"), g, 1, NULL, &rep), 0, "%s",
               services_last_error());
  cr_expect_eq(rep.tensors, 7, "queries, keys/values, mask and four parameter tensors");
}

/* ---- pooling and additive attention ------------------------------------------ */

/* The layer `name` built for inputs shapes[0..n_in), reserved for B samples,
** run in eval mode on data[0..n_in) into y. */
static void run_inputs(common_layer *l, const char *name, const lunet_shape *shapes, int n_in,
                       const param_given *g, int n, float **data, float *y) {
  cr_assert_eq(common_layer_init_inputs(l, name, shapes, n_in, g, n, 7), 0, "%s", services_last_error());
  if (l->p->layer->reserve) cr_assert_eq(l->p->layer->reserve(l->self, B, LUNET_CPU), 0);
  lunet_tensor in[3];
  for (int k = 0; k < n_in; k++) in[k] = common_tensor(data[k], B, &shapes[k]);
  lunet_tensor yt = common_tensor(y, B, &l->out);
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, in, &yt, &EVAL), 0, "%s", services_last_error());
}

/* lunet check's finite differences with the check's inputs (the mask included). */
static void expect_gradients(const char *name, const param_given *g, int n, int tensors) {
  registry_init();
  gradcheck_report rep;
  cr_expect_eq(gradcheck_layer(registry_find(LUNET_LAYER, name), g, n, NULL, &rep), 0, "%s",
               services_last_error());
  cr_expect_eq(rep.tensors, tensors, "%s: inputs, mask and parameters compared", name);
}

/* The mean over the positions that are not pads, counted, not weighted. */
Test(attention, mean_pool_is_the_mean_over_the_non_pads) {
  float x[B * T * E], mask[B * T], y[B * E], y1[B * E];
  common_fill_normal(x, B * T * E, 19);
  mask_of_ids(mask);
  const lunet_shape shapes[2] = {{2, {T, E}}, {1, {T}}};
  common_layer l, plain;
  run_inputs(&l, "mean_pool", shapes, 2, NULL, 0, (float *[]){x, mask}, y);
  run_inputs(&plain, "mean_pool", shapes, 1, NULL, 0, (float *[]){x}, y1);
  cr_expect(l.out.ndim == 1 && l.out.dim[0] == E, "(T, E) -> (E)");
  for (int b = 0; b < B; b++)
    for (int k = 0; k < E; k++) {
      double sum = 0, all = 0;
      int n = 0;
      for (int t = 0; t < T; t++) {
        all += x[(b * T + t) * E + k];
        if (IDS[b * T + t] != 0) sum += x[(b * T + t) * E + k], n++;
      }
      cr_expect(fabs(y[b * E + k] - sum / n) < 1e-6, "masked mean[%d][%d] = %g, expected %g", b, k,
                y[b * E + k], sum / n);
      cr_expect(fabs(y1[b * E + k] - all / T) < 1e-6, "mean[%d][%d]", b, k);
    }
  common_layer_free(&l);
  common_layer_free(&plain);
  expect_gradients("mean_pool", NULL, 0, 2);
}

/* s = sum_t a_t h_t, a = softmax(tanh(W h_t + b) . u_w + mask), in float64 */
static void ref_attention_pool(const common_layer *l, int A, const double *h, const double *mask,
                               double *s, double *a) {
  const float *w = l->ws.w[0].value->f32, *bias = l->ws.w[1].value->f32, *u = l->ws.w[2].value->f32;
  double mx = -INFINITY, z = 0;
  for (int t = 0; t < T; t++) {
    a[t] = mask[t];
    for (int k = 0; k < A; k++) {
      double z_k = bias[k];
      for (int e = 0; e < E; e++) z_k += w[k * E + e] * h[t * E + e];
      a[t] += tanh(z_k) * u[k];
    }
    mx = fmax(mx, a[t]);
  }
  for (int t = 0; t < T; t++) z += a[t] = exp(a[t] - mx);
  for (int e = 0; e < E; e++) s[e] = 0;
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++) s[e] += a[t] / z * h[t * E + e];
  for (int t = 0; t < T; t++) a[t] /= z;
}

Test(attention, attention_pool_matches_the_reference) {
  enum { A = 4 };
  float x[B * T * E], mask[B * T], y[B * E];
  double h[T * E], md[T], want[E], a[T];
  common_fill_normal(x, B * T * E, 20);
  mask_of_ids(mask);
  const lunet_shape shapes[2] = {{2, {T, E}}, {1, {T}}};
  const param_given g[] = {P_NUM("hidden", A)};
  common_layer l;
  cr_assert_eq(common_layer_init_inputs(&l, "attention_pool", shapes, 2, g, 1, 7), 0, "%s", services_last_error());
  const char *names[] = {"weight", "bias", "context", "attention_weights"};
  for (int i = 0; i < 4; i++) cr_expect_str_eq(l.ws.w[i].name, names[i]);
  cr_expect_eq(l.ws.n_trained, A * E + 2 * A, "W (A, E), b (A), u_w (A)");
  cr_assert_eq(l.p->layer->reserve(l.self, B, LUNET_CPU), 0);
  for (int k = 0; k < A; k++) l.ws.w[1].value->f32[k] = 0.1f * (float)(k + 1); /* a bias that counts */
  lunet_tensor in[2] = {common_tensor(x, B, &shapes[0]), common_tensor(mask, B, &shapes[1])};
  lunet_tensor yt = common_tensor(y, B, &l.out);
  cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, in, &yt, &EVAL), 0, "%s", services_last_error());
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < T * E; i++) h[i] = x[b * T * E + i];
    for (int t = 0; t < T; t++) md[t] = mask[b * T + t];
    ref_attention_pool(&l, A, h, md, want, a);
    for (int e = 0; e < E; e++)
      cr_expect(fabs(y[b * E + e] - want[e]) < 1e-5, "s[%d][%d] = %g, expected %g", b, e, y[b * E + e], want[e]);
    for (int t = 0; b == 0 && t < T; t++)
      cr_expect(fabs(l.ws.w[3].value->f32[t] - a[t]) < 1e-6, "attention_weights[%d] = %g, expected %g", t,
                l.ws.w[3].value->f32[t], a[t]);
  }
  cr_expect(l.ws.w[3].value->f32[3] == 0 && l.ws.w[3].value->f32[4] == 0, "the pads get no weight");
  common_layer_free(&l);
  expect_gradients("attention_pool", NULL, 0, 5);
}

Test(attention, additive_attention_matches_the_reference) {
  enum { A = 3, EK = 4 };
  float q[B * T * E], k[B * TK * EK], mask[B * TK] = {0, -1e9f, 0, 0, 0, -1e9f}, y[B * T * EK];
  common_fill_normal(q, B * T * E, 21);
  common_fill_normal(k, B * TK * EK, 22);
  const lunet_shape shapes[3] = {{2, {T, E}}, {2, {TK, EK}}, {1, {TK}}};
  const param_given g[] = {P_NUM("hidden", A)};
  common_layer l;
  run_inputs(&l, "additive_attention", shapes, 3, g, 1, (float *[]){q, k, mask}, y);
  cr_expect(l.out.ndim == 2 && l.out.dim[0] == T && l.out.dim[1] == EK, "(Tq, Eq), (Tk, Ek) -> (Tq, Ek)");
  const char *names[] = {"query_weight", "key_weight", "v", "attention_weights"};
  for (int i = 0; i < 4; i++) cr_expect_str_eq(l.ws.w[i].name, names[i]);
  const float *wq = l.ws.w[0].value->f32, *wk = l.ws.w[1].value->f32, *v = l.ws.w[2].value->f32;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      double e[TK], mx = -INFINITY, z = 0;
      for (int s = 0; s < TK; s++) { /* e_ts = v^T tanh(W_q q_t + W_k k_s) + mask_s */
        e[s] = mask[b * TK + s];
        for (int j = 0; j < A; j++) {
          double pre = 0;
          for (int i = 0; i < E; i++) pre += wq[j * E + i] * q[(b * T + t) * E + i];
          for (int i = 0; i < EK; i++) pre += wk[j * EK + i] * k[(b * TK + s) * EK + i];
          e[s] += v[j] * tanh(pre);
        }
        mx = fmax(mx, e[s]);
      }
      for (int s = 0; s < TK; s++) z += e[s] = exp(e[s] - mx);
      for (int i = 0; i < EK; i++) {
        double c = 0;
        for (int s = 0; s < TK; s++) c += e[s] / z * k[(b * TK + s) * EK + i];
        cr_expect(fabs(y[(b * T + t) * EK + i] - c) < 1e-5, "c[%d][%d][%d] = %g, expected %g", b, t, i,
                  y[(b * T + t) * EK + i], c);
      }
      for (int s = 0; b == 0 && s < TK; s++)
        cr_expect(fabs(l.ws.w[3].value->f32[t * TK + s] - e[s] / z) < 1e-6, "attention_weights[%d][%d]", t, s);
    }
  common_layer_free(&l);
  expect_gradients("additive_attention", g, 1, 6);
}

/* ---- the 1/sqrt(d_k) scaling --------------------------------------------------- */

/* Mean entropy (nats) of the rows of the weights p (rows, n). */
static double mean_entropy(const double *p, int rows, int n) {
  double h = 0;
  for (int i = 0; i < rows * n; i++) h -= p[i] > 0 ? p[i] * log(p[i]) : 0;
  return h / rows;
}

/* The course's argument: for random q, k of d_k N(0, 1) components, q . k
** has variance d_k, so unscaled scores grow with d_k and the softmax
** saturates (one weight near 1, entropy near 0, vanishing gradients); divided
** by sqrt(d_k) they keep variance 1 and the weights stay spread at every
** d_k. The scaled weights are the layer's (W_q = W_k = I, one head); the
** unscaled ones softmax the same scores without the division. */
Test(attention, scaling_by_sqrt_dk_keeps_the_softmax_from_saturating) {
  enum { TQ = 8, TS = 16 };
  const int dims[2] = {16, 256};
  double scaled[2], unscaled[2], top[2];
  for (int i = 0; i < 2; i++) {
    int d = dims[i];
    float *x = malloc(sizeof(float) * B * TQ * d), *m = malloc(sizeof(float) * B * TS * d);
    float *y = malloc(sizeof(float) * B * TQ * d);
    double p[TQ * TS];
    common_fill_normal(x, (int64_t)B * TQ * d, 23);
    common_fill_normal(m, (int64_t)B * TS * d, 24);
    const lunet_shape shapes[2] = {{2, {TQ, d}}, {2, {TS, d}}};
    common_layer l;
    cr_assert_eq(common_layer_init_inputs(&l, "cross_attention", shapes, 2, (param_given[]){P_NUM("heads", 1)}, 1, 7), 0);
    float *wi = l.ws.w[0].value->f32; /* W_q = W_k = I */
    memset(wi, 0, sizeof(float) * 2 * d * d);
    for (int j = 0; j < d; j++) wi[j * d + j] = wi[(d + j) * d + j] = 1.0f;
    cr_assert_eq(l.p->layer->reserve(l.self, B, LUNET_CPU), 0);
    lunet_tensor in[2] = {common_tensor(x, B, &shapes[0]), common_tensor(m, B, &shapes[1])};
    lunet_tensor yt = common_tensor(y, B, &l.out);
    cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, in, &yt, &EVAL), 0);
    for (int j = 0; j < TQ * TS; j++) p[j] = l.ws.w[4].value->f32[j]; /* sample 0 */
    scaled[i] = mean_entropy(p, TQ, TS);
    top[i] = 0;
    for (int t = 0; t < TQ; t++) { /* unscaled: softmax(q . k) */
      double s[TS], mx = -INFINITY, z = 0;
      for (int u = 0; u < TS; u++) {
        s[u] = 0;
        for (int k = 0; k < d; k++) s[u] += (double)x[t * d + k] * m[u * d + k];
        mx = fmax(mx, s[u]);
      }
      for (int u = 0; u < TS; u++) z += s[u] = exp(s[u] - mx);
      for (int u = 0; u < TS; u++) p[t * TS + u] = s[u] / z;
      top[i] += 1.0 / z / TQ; /* the largest weight is exp(0) / z */
    }
    unscaled[i] = mean_entropy(p, TQ, TS);
    common_layer_free(&l);
    free(x), free(m), free(y);
  }
  cr_log_info("entropy (uniform %.3f): scaled %.3f at d_k 16, %.3f at 256; unscaled %.3f, %.3f (largest "
              "weight %.3f, %.3f)", log(TS), scaled[0], scaled[1], unscaled[0], unscaled[1], top[0], top[1]);
  cr_expect(fabs(scaled[1] - scaled[0]) < 0.25 * scaled[0] && scaled[1] > 0.5 * log(TS),
            "scaled: entropy %.3f at d_k 16, %.3f at d_k 256 (uniform: %.3f), expected about the same",
            scaled[0], scaled[1], log(TS));
  cr_expect(unscaled[1] < 0.5 * unscaled[0] && unscaled[1] < 0.5 * scaled[1] && top[1] > 0.8,
            "unscaled: entropy %.3f at d_k 16, %.3f at d_k 256, largest weight %.3f on average, "
            "expected a saturated softmax at d_k 256", unscaled[0], unscaled[1], top[1]);
}
