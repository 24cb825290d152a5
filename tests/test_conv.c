/*
** test_conv.c -- forward passes of conv2d, maxpool2d and avgpool2d against
** hand-computed cases and float64 naive loops; output sizes against
** floor((n + 2p - d(k-1) - 1) / s) + 1. (Gradients are covered by the
** generic gradient check in test_gradcheck.c.)
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "params.h"
#include "registry.h"
#include "services.h"

typedef struct layer {
  const lunet_plugin *p;
  param_values pv;
  void *self;
  lunet_shape in, out;
} layer;

/* Builds plugin `name` with integer parameters for per-sample shape `in`. */
static layer make(const char *name, const lunet_shape *in, const param_given *g, int n) {
  registry_init();
  const plugin_entry *e = registry_find(LUNET_LAYER, name);
  cr_assert_not_null(e, "%s", services_last_error());
  layer l = {e->desc, {0}, NULL, *in, {0}};
  cr_assert_eq(params_resolve(l.p, g, n, &l.pv), 0, "%s", services_last_error());
  lunet_rng rng;
  rng_seed(&rng, 3);
  l.self = l.p->layer->create(l.pv.v, in, &l.out, &rng);
  cr_assert_not_null(l.self, "%s", services_last_error());
  return l;
}

static void drop(layer *l) {
  l->p->layer->destroy(l->self);
  params_free(&l->pv);
}

/* y = layer(x) for a batch of B samples; y is malloc'ed. */
static float *run(layer *l, const float *x, int B) {
  if (l->p->layer->reserve) cr_assert_eq(l->p->layer->reserve(l->self, B), 0);
  lunet_tensor in = {(float *)x, {4, {B, l->in.dim[0], l->in.dim[1], l->in.dim[2]}}, LUNET_CPU};
  float *y = calloc((size_t)B * (size_t)lunet_numel(&l->out), sizeof(float));
  lunet_tensor out = {y, {4, {B, l->out.dim[0], l->out.dim[1], l->out.dim[2]}}, LUNET_CPU};
  lunet_ctx ctx = {sizeof ctx, 0, NULL};
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, &in, &out, &ctx), 0, "%s", services_last_error());
  return y;
}

static void set_weights(layer *l, const float *w, float bias) {
  lunet_param ps[2];
  int n = l->p->layer->parameters(l->self, ps, 2);
  for (int64_t i = 0; i < lunet_numel(&ps[0].value->shape); i++) ps[0].value->data[i] = w[i];
  if (n > 1)
    for (int64_t i = 0; i < lunet_numel(&ps[1].value->shape); i++) ps[1].value->data[i] = bias;
}

#define P(name, v) {name, LUNET_NUMBER, v, NULL}

Test(conv, three_by_three_image_two_by_two_filter_by_hand) {
  /* x = 1 2 3 / 4 5 6 / 7 8 9, w = 1 0 / 0 -1, bias 0.5: each output is
  ** x[i][j] - x[i+1][j+1] + 0.5 = -4 + 0.5 everywhere. */
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 0, 0, -1};
  lunet_shape in = {3, {1, 3, 3}};
  param_given g1[] = {P("out_channels", 1), P("kernel", 2), P("stride", 1)};
  layer l = make("conv2d", &in, g1, 3);
  cr_assert(l.out.dim[1] == 2 && l.out.dim[2] == 2, "stride 1: 3x3 with 2x2 gives 2x2");
  set_weights(&l, w, 0.5f);
  float *y = run(&l, x, 1);
  for (int i = 0; i < 4; i++) cr_expect_float_eq(y[i], -3.5f, 1e-6, "y[%d] = %g", i, y[i]);
  free(y);
  drop(&l);
  /* stride 2: one window, at the top left; padding 1 and stride 2 gives 2x2:
  ** windows at (-1,-1), (-1,1), (1,-1), (1,1) */
  param_given g2[] = {P("out_channels", 1), P("kernel", 2), P("stride", 2), P("padding", 1)};
  l = make("conv2d", &in, g2, 4);
  cr_assert(l.out.dim[1] == 2 && l.out.dim[2] == 2);
  set_weights(&l, w, 0);
  y = run(&l, x, 1);
  /* window (-1,-1): 0 - x[0][0] = -1; (-1,1): 0 - x[0][2] = -3; (1,-1): 0 - x[2][0] = -7; (1,1): 5 - 9 */
  float want[4] = {-1, -3, -7, -4};
  for (int i = 0; i < 4; i++) cr_expect_float_eq(y[i], want[i], 1e-6, "y[%d] = %g, want %g", i, y[i], want[i]);
  free(y);
  drop(&l);
}

/* float64 direct convolution: 7 nested loops over (b, o, i, j, c, u, v). */
static double naive(const float *x, const float *w, int C, int H, int W, int K, int k, int s, int p, int d,
                    int b, int o, int i, int j) {
  double sum = 0;
  for (int c = 0; c < C; c++)
    for (int u = 0; u < k; u++)
      for (int v = 0; v < k; v++) {
        int r = i * s - p + u * d, q = j * s - p + v * d;
        if (r < 0 || r >= H || q < 0 || q >= W) continue;
        sum += (double)w[((o * C + c) * k + u) * k + v] * x[((b * C + c) * H + r) * W + q];
      }
  (void)K;
  return sum;
}

Test(conv, matches_a_naive_float64_loop_for_many_geometries) {
  const int cases[][7] = {/* C, H, W, K, k, s, p, (d below) */
                          {1, 5, 5, 2, 3, 1, 0}, {3, 7, 6, 4, 3, 2, 1}, {2, 9, 8, 3, 2, 3, 2},
                          {2, 8, 8, 2, 3, 1, 2}, {4, 6, 7, 5, 1, 1, 0}};
  const int dil[] = {1, 1, 1, 2, 1};
  lunet_rng rng;
  rng_seed(&rng, 11);
  for (unsigned t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    int C = cases[t][0], H = cases[t][1], W = cases[t][2], K = cases[t][3], k = cases[t][4];
    int s = cases[t][5], p = cases[t][6], d = dil[t], B = 2;
    lunet_shape in = {3, {C, H, W}};
    param_given g[] = {P("out_channels", K), P("kernel", k), P("stride", s), P("padding", p), P("dilation", d)};
    layer l = make("conv2d", &in, g, 5);
    int Ho = (H + 2 * p - d * (k - 1) - 1) / s + 1, Wo = (W + 2 * p - d * (k - 1) - 1) / s + 1;
    cr_assert(l.out.dim[0] == K && l.out.dim[1] == Ho && l.out.dim[2] == Wo,
              "case %u: output (%d, %d, %d), formula (%d, %d, %d)", t, l.out.dim[0], l.out.dim[1], l.out.dim[2], K, Ho, Wo);
    int nw = K * C * k * k, nx = B * C * H * W;
    float *w = malloc(sizeof(float) * nw), *x = malloc(sizeof(float) * nx);
    for (int i = 0; i < nw; i++) w[i] = (float)(2 * rng_uniform(&rng) - 1);
    for (int i = 0; i < nx; i++) x[i] = (float)(2 * rng_uniform(&rng) - 1);
    set_weights(&l, w, 0.25f);
    float *y = run(&l, x, B);
    double worst = 0;
    for (int b = 0; b < B; b++)
      for (int o = 0; o < K; o++)
        for (int i = 0; i < Ho; i++)
          for (int j = 0; j < Wo; j++) {
            double ref = naive(x, w, C, H, W, K, k, s, p, d, b, o, i, j) + 0.25;
            worst = fmax(worst, fabs(ref - y[((b * K + o) * Ho + i) * Wo + j]));
          }
    cr_expect_lt(worst, 1e-5, "case %u differs from the naive loop by %g", t, worst);
    free(w), free(x), free(y);
    drop(&l);
  }
}

Test(conv, output_that_would_be_empty_is_refused_with_the_numbers) {
  registry_init();
  const plugin_entry *e = registry_find(LUNET_LAYER, "conv2d");
  param_given g[] = {P("out_channels", 2), P("kernel", 5)};
  param_values pv;
  cr_assert_eq(params_resolve(e->desc, g, 2, &pv), 0);
  lunet_shape in = {3, {1, 3, 3}}, out;
  lunet_rng rng;
  rng_seed(&rng, 1);
  services_clear_error();
  cr_expect_null(e->desc->layer->create(pv.v, &in, &out, &rng));
  cr_expect(strstr(services_last_error(), "conv2d"), "%s", services_last_error());
  lunet_shape flat = {1, {9}};
  cr_expect_null(e->desc->layer->create(pv.v, &flat, &out, &rng));
  cr_expect(strstr(services_last_error(), "(C, H, W)"), "%s", services_last_error());
  params_free(&pv);
}

Test(pool, max_and_average_by_hand) {
  /* one 4x4 plane; 2x2 windows, stride 2 */
  float x[16] = {1, 5, 2, 0, 3, 4, 8, 6, 0, -1, 7, 7, -2, -3, 9, 1};
  lunet_shape in = {3, {1, 4, 4}};
  param_given g[] = {P("kernel", 2)};
  layer m = make("maxpool2d", &in, g, 1), a = make("avgpool2d", &in, g, 1);
  cr_assert(m.out.dim[1] == 2 && m.out.dim[2] == 2 && a.out.dim[1] == 2);
  float *ym = run(&m, x, 1), *ya = run(&a, x, 1);
  float want_max[4] = {5, 8, 0, 9}, want_avg[4] = {13 / 4.0f, 16 / 4.0f, -6 / 4.0f, 24 / 4.0f};
  for (int i = 0; i < 4; i++) {
    cr_expect_float_eq(ym[i], want_max[i], 0, "max[%d] = %g", i, ym[i]);
    cr_expect_float_eq(ya[i], want_avg[i], 1e-6, "avg[%d] = %g", i, ya[i]);
  }
  free(ym), free(ya);
  drop(&m), drop(&a);
  /* padding 1, stride 1, 3x3 windows on the same plane: avg divides by 9
  ** (padding counted), max ignores the padding */
  param_given g3[] = {P("kernel", 3), P("stride", 1), P("padding", 1)};
  m = make("maxpool2d", &in, g3, 3), a = make("avgpool2d", &in, g3, 3);
  cr_assert(m.out.dim[1] == 4 && a.out.dim[2] == 4);
  ym = run(&m, x, 1), ya = run(&a, x, 1);
  cr_expect_float_eq(ym[0], 5, 0);                      /* max of 1 5 / 3 4 */
  cr_expect_float_eq(ya[0], (1 + 5 + 3 + 4) / 9.0f, 1e-6); /* 4 pixels over 9 */
  cr_expect_float_eq(ym[15], 9, 0);                     /* max of 7 7 / 9 1 */
  free(ym), free(ya);
  drop(&m), drop(&a);
}

/* The transposed convolution is the transpose of the convolution's matrix:
** with the same weights, <conv(x), y> = <x, convT(y)> for every x and y. */
Test(conv, transposed_convolution_is_the_adjoint_of_convolution) {
  const int geo[][5] = {/* k, s, p, d, output_padding */ {3, 1, 1, 1, 0}, {3, 2, 1, 1, 0}, {4, 2, 1, 1, 1}, {2, 2, 0, 1, 1}, {3, 1, 2, 2, 0}};
  const int C = 2, K = 3, H = 7, W = 7;
  lunet_rng rng;
  rng_seed(&rng, 5);
  for (unsigned t = 0; t < sizeof geo / sizeof geo[0]; t++) {
    int k = geo[t][0], s = geo[t][1], p = geo[t][2], d = geo[t][3], op = geo[t][4];
    lunet_shape xin = {3, {C, H, W}};
    param_given gc[] = {P("out_channels", K), P("kernel", k), P("stride", s), P("padding", p), P("dilation", d),
                        {"bias", LUNET_BOOL, 0, NULL}};
    layer conv = make("conv2d", &xin, gc, 6);
    lunet_shape yin = conv.out;
    param_given gt[] = {P("out_channels", C), P("kernel", k), P("stride", s), P("padding", p), P("dilation", d),
                        P("output_padding", op), {"bias", LUNET_BOOL, 0, NULL}};
    layer convt = make("conv_transpose2d", &yin, gt, 7);
    int Ho = yin.dim[1];
    cr_assert(convt.out.dim[0] == C && convt.out.dim[1] == (Ho - 1) * s - 2 * p + d * (k - 1) + op + 1,
              "case %u: transposed output size", t);
    cr_assert(convt.out.dim[1] == H && convt.out.dim[2] == W, "case %u: convT does not map back to %dx%d", t, H, W);
    int nw = K * C * k * k, nx = C * H * W, ny = (int)lunet_numel(&yin);
    float *w = malloc(sizeof(float) * nw), *x = malloc(sizeof(float) * nx), *y = malloc(sizeof(float) * ny);
    for (int i = 0; i < nw; i++) w[i] = (float)(2 * rng_uniform(&rng) - 1);
    for (int i = 0; i < nx; i++) x[i] = (float)(2 * rng_uniform(&rng) - 1);
    for (int i = 0; i < ny; i++) y[i] = (float)(2 * rng_uniform(&rng) - 1);
    set_weights(&conv, w, 0); /* (K, C, k, k) for conv2d ... */
    set_weights(&convt, w, 0); /* ... is (Cin = K, Cout = C, k, k) for its transpose */
    float *cx = run(&conv, x, 1), *ty = run(&convt, y, 1);
    double a = 0, b = 0, scale = 0;
    for (int i = 0; i < ny; i++) a += (double)cx[i] * y[i], scale += fabs((double)cx[i] * y[i]);
    for (int i = 0; i < nx; i++) b += (double)x[i] * ty[i];
    cr_expect_lt(fabs(a - b), 1e-5 * scale, "case %u: <conv x, y> = %.9g but <x, convT y> = %.9g", t, a, b);
    free(w), free(x), free(y), free(cx), free(ty);
    drop(&conv), drop(&convt);
  }
}
