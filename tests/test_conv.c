/*
** test_conv.c -- forward passes of conv2d, maxpool2d, avgpool2d and batchnorm against
** hand-computed cases and float64 naive loops; output sizes against
** floor((n + 2p - d(k-1) - 1) / s) + 1; conv2d's backward against float64
** loops over the same geometries. (Every layer's gradients are also checked
** by finite differences in test_gradcheck.c, on one geometry.) Each layer
** is built alone (common_layer): its parameters are l.ws.w[i], in the
** order it declares them.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "services.h"

typedef common_layer layer;

/* Builds plugin `name` with parameters g[0..n) for per-sample shape `in`. */
static layer make(const char *name, const lunet_shape *in, const param_given *g, int n) {
  layer l;
  cr_assert_eq(common_layer_init(&l, name, in, g, n, 3), 0, "%s", services_last_error());
  return l;
}

static void drop(layer *l) { common_layer_free(l); }

static const lunet_ctx train_ctx = {.size = sizeof(lunet_ctx), .train = 1, .device = LUNET_CPU};
static const lunet_ctx eval_ctx = {.size = sizeof(lunet_ctx), .train = 0, .device = LUNET_CPU};

/* y = layer(x) for a batch of B samples, in eval mode; y is malloc'ed. */
static float *run(layer *l, const float *x, int B) {
  if (l->p->layer->reserve) cr_assert_eq(l->p->layer->reserve(l->self, B, LUNET_CPU), 0, "%s", services_last_error());
  float *y = calloc((size_t)B * (size_t)lunet_numel(&l->out), sizeof(float));
  lunet_tensor in = common_tensor((float *)x, B, &l->in), out = common_tensor(y, B, &l->out);
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, &in, &out, &eval_ctx), 0, "%s", services_last_error());
  return y;
}

/* The weight from w, every bias entry `bias` (when the layer has a bias). */
static void set_weights(layer *l, const float *w, float bias) {
  lunet_tensor *wt = l->ws.w[0].value;
  memcpy(wt->f32, w, sizeof(float) * (size_t)lunet_numel(&wt->shape));
  if (l->ws.n > 1)
    for (int64_t i = 0; i < lunet_numel(&l->ws.w[1].value->shape); i++) l->ws.w[1].value->f32[i] = bias;
}

#define P(name, v) P_NUM(name, v)

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

/* Forward x in training mode, then an eval forward of `other` (which must not
** disturb what backward uses), then backward of the training forward (its
** in, out and ctx) with dout = r: writes dx, and returns the weight and bias
** gradients' data. */
static void train_step(layer *l, const float *x, const float *other, const float *r, float *dx, int B,
                       float **dw, float **db) {
  cr_assert_eq(l->p->layer->reserve(l->self, B, LUNET_CPU), 0, "%s", services_last_error());
  int ny = B * (int)lunet_numel(&l->out);
  float *y = calloc((size_t)ny, sizeof(float)), *y2 = calloc((size_t)ny, sizeof(float));
  lunet_tensor in = common_tensor((float *)x, B, &l->in), in2 = common_tensor((float *)other, B, &l->in);
  lunet_tensor out = common_tensor(y, B, &l->out), out2 = common_tensor(y2, B, &l->out);
  lunet_tensor dout = common_tensor((float *)r, B, &l->out), din = common_tensor(dx, B, &l->in);
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, &in, &out, &train_ctx), 0, "%s", services_last_error());
  cr_assert_eq(l->p->layer->forward[LUNET_CPU](l->self, &in2, &out2, &eval_ctx), 0, "%s", services_last_error());
  cr_assert_eq(l->p->layer->backward[LUNET_CPU](l->self, &in, &out, &dout, &din, &train_ctx), 0, "%s",
               services_last_error());
  cr_assert(l->ws.n == 2 && l->ws.w[0].grad && l->ws.w[1].grad, "conv2d declares a trained weight and bias");
  *dw = l->ws.w[0].grad->f32, *db = l->ws.w[1].grad->f32;
  free(y), free(y2);
}

Test(conv, backward_matches_float64_loops_for_many_geometries) {
  const int cases[][8] = {/* C, H, W, K, k, s, p, d */
                          {1, 5, 5, 2, 3, 1, 0, 1}, {3, 7, 6, 4, 3, 2, 1, 1}, {2, 9, 8, 3, 2, 3, 2, 1},
                          {2, 8, 8, 2, 3, 1, 2, 2}, {4, 6, 7, 5, 1, 1, 0, 1}, {2, 6, 6, 3, 3, 1, 1, 1}};
  lunet_rng rng;
  rng_seed(&rng, 12);
  for (unsigned t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    int C = cases[t][0], H = cases[t][1], W = cases[t][2], K = cases[t][3], k = cases[t][4];
    int s = cases[t][5], p = cases[t][6], d = cases[t][7], B = 2;
    lunet_shape in = {3, {C, H, W}};
    param_given g[] = {P("out_channels", K), P("kernel", k), P("stride", s), P("padding", p), P("dilation", d)};
    layer l = make("conv2d", &in, g, 5);
    int Ho = l.out.dim[1], Wo = l.out.dim[2], nw = K * C * k * k, nx = B * C * H * W, ny = B * K * Ho * Wo;
    float *w = malloc(sizeof(float) * nw), *x = malloc(sizeof(float) * nx), *x2 = malloc(sizeof(float) * nx);
    float *r = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx), *dw, *db;
    double *dx_ref = calloc((size_t)nx, sizeof(double)), *dw_ref = calloc((size_t)nw, sizeof(double));
    for (int i = 0; i < nw; i++) w[i] = (float)(2 * rng_uniform(&rng) - 1);
    for (int i = 0; i < nx; i++) x[i] = (float)(2 * rng_uniform(&rng) - 1), x2[i] = (float)rng_uniform(&rng);
    for (int i = 0; i < ny; i++) r[i] = (float)(2 * rng_uniform(&rng) - 1);
    set_weights(&l, w, 0.25f);
    train_step(&l, x, x2, r, dx, B, &dw, &db);
    /* every (output pixel, tap) pair that reads the image adds to dx and dW */
    double db_worst = 0;
    for (int o = 0; o < K; o++) {
      double sum = 0;
      for (int b = 0; b < B; b++)
        for (int q = 0; q < Ho * Wo; q++) sum += r[(b * K + o) * Ho * Wo + q];
      db_worst = fmax(db_worst, fabs(sum - db[o]));
    }
    for (int b = 0; b < B; b++)
      for (int o = 0; o < K; o++)
        for (int i = 0; i < Ho; i++)
          for (int j = 0; j < Wo; j++)
            for (int c = 0; c < C; c++)
              for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++) {
                  int h = i * s - p + u * d, q = j * s - p + v * d;
                  if (h < 0 || h >= H || q < 0 || q >= W) continue;
                  double g = r[((b * K + o) * Ho + i) * Wo + j];
                  int wi = ((o * C + c) * k + u) * k + v, xi = ((b * C + c) * H + h) * W + q;
                  dx_ref[xi] += g * w[wi];
                  dw_ref[wi] += g * x[xi];
                }
    double dx_worst = 0, dw_worst = 0;
    for (int i = 0; i < nx; i++) dx_worst = fmax(dx_worst, fabs(dx_ref[i] - dx[i]));
    for (int i = 0; i < nw; i++) dw_worst = fmax(dw_worst, fabs(dw_ref[i] - dw[i]));
    cr_expect_lt(dx_worst, 1e-5, "case %u: dx differs from the float64 loop by %g", t, dx_worst);
    cr_expect_lt(dw_worst, 1e-4, "case %u: dW differs from the float64 loop by %g", t, dw_worst);
    cr_expect_lt(db_worst, 1e-4, "case %u: db differs from the float64 sum by %g", t, db_worst);
    free(w), free(x), free(x2), free(r), free(dx), free(dx_ref), free(dw_ref);
    drop(&l);
  }
}

Test(conv, output_that_would_be_empty_is_refused_with_the_numbers) {
  param_given g[] = {P("out_channels", 2), P("kernel", 5)};
  lunet_shape in = {3, {1, 3, 3}}, flat = {1, {9}};
  layer l;
  cr_expect_neq(common_layer_init(&l, "conv2d", &in, g, 2, 1), 0);
  cr_expect(strstr(services_last_error(), "conv2d"), "%s", services_last_error());
  cr_expect_neq(common_layer_init(&l, "conv2d", &flat, g, 2, 1), 0);
  cr_expect(strstr(services_last_error(), "(C, H, W)"), "%s", services_last_error());
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

/* Every maxpool2d path (2x2 stride 2, unpadded windows, padded windows)
** against a naive loop: the maximum of each window, and backward sending dy
** to the first maximum of the window in row-major order. Plane values come
** from a small set so that ties are common. */
Test(pool, max_matches_a_naive_loop_in_every_path) {
  const int geo[][5] = {/* H, W, k, s, p */ {6, 8, 2, 2, 0}, {7, 7, 2, 2, 0}, {7, 8, 3, 2, 0}, {6, 6, 2, 1, 0}, {5, 6, 3, 2, 1}};
  lunet_rng rng;
  rng_seed(&rng, 14);
  for (unsigned t = 0; t < sizeof geo / sizeof geo[0]; t++) {
    int H = geo[t][0], W = geo[t][1], k = geo[t][2], s = geo[t][3], p = geo[t][4], C = 2, B = 2;
    lunet_shape in = {3, {C, H, W}};
    param_given g[] = {P("kernel", k), P("stride", s), P("padding", p)};
    layer m = make("maxpool2d", &in, g, 3);
    int Ho = m.out.dim[1], Wo = m.out.dim[2], nx = B * C * H * W, ny = B * C * Ho * Wo;
    float *x = malloc(sizeof(float) * nx), *dy = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx);
    float *dx_ref = calloc((size_t)nx, sizeof(float));
    for (int i = 0; i < nx; i++) x[i] = (float)(int)(5 * rng_uniform(&rng));
    for (int i = 0; i < ny; i++) dy[i] = (float)(i + 1);
    float *y = run(&m, x, B);
    for (int q = 0; q < B * C; q++)
      for (int i = 0; i < Ho; i++)
        for (int j = 0; j < Wo; j++) {
          int where = -1;
          for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
              int h = i * s - p + u, w = j * s - p + v;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              if (where < 0 || x[q * H * W + h * W + w] > x[where]) where = q * H * W + h * W + w;
            }
          int o = (q * Ho + i) * Wo + j;
          cr_expect_float_eq(y[o], x[where], 0, "case %u: output %d is %g, want %g", t, o, y[o], x[where]);
          dx_ref[where] += dy[o];
        }
    lunet_tensor tx = common_tensor(x, B, &m.in), ty = common_tensor(y, B, &m.out);
    lunet_tensor tdy = common_tensor(dy, B, &m.out), tdx = common_tensor(dx, B, &m.in);
    cr_assert_eq(m.p->layer->backward[LUNET_CPU](m.self, &tx, &ty, &tdy, &tdx, &eval_ctx), 0, "%s",
                 services_last_error());
    for (int i = 0; i < nx; i++) cr_expect_float_eq(dx[i], dx_ref[i], 0, "case %u: dx[%d] = %g, want %g", t, i, dx[i], dx_ref[i]);
    free(x), free(y), free(dy), free(dx), free(dx_ref);
    drop(&m);
  }
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
                        P_BOOL("bias", 0)};
    layer conv = make("conv2d", &xin, gc, 6);
    lunet_shape yin = conv.out;
    param_given gt[] = {P("out_channels", C), P("kernel", k), P("stride", s), P("padding", p), P("dilation", d),
                        P("output_padding", op), P_BOOL("bias", 0)};
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

/* batchnorm in training mode: per channel, the output has mean beta and
** variance gamma^2 var / (var + eps) over the batch, and the running
** averages move as PyTorch's; eval mode then normalizes with them. Checked
** against float64 statistics for rows of 15 (not a multiple of the kernel's
** 8 lanes), 16 and 1 values. */
Test(conv, batchnorm_matches_float64_statistics) {
  const int shapes[][3] = {{3, 5, 3}, {2, 4, 4}, {4, 1, 1}};
  lunet_rng rng;
  rng_seed(&rng, 13);
  for (unsigned t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
    int C = shapes[t][0], S = shapes[t][1] * shapes[t][2], B = 5, n = B * C * S;
    lunet_shape in = {3, {C, shapes[t][1], shapes[t][2]}};
    layer l = make("batchnorm", &in, NULL, 0);
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) x[i] = (float)(3 + 2 * rng_normal(&rng));
    cr_assert_eq(l.ws.n, 4, "batchnorm declares weight, bias, running_mean, running_var");
    float *gamma = l.ws.w[0].value->f32, *beta = l.ws.w[1].value->f32;
    const float *run_mean = l.ws.w[2].value->f32, *run_var = l.ws.w[3].value->f32;
    for (int c = 0; c < C; c++) gamma[c] = 0.5f + (float)c, beta[c] = (float)c - 1;
    if (l.p->layer->reserve) cr_assert_eq(l.p->layer->reserve(l.self, B, LUNET_CPU), 0, "%s", services_last_error());
    lunet_tensor tx = common_tensor(x, B, &in), ty = common_tensor(y, B, &in);
    cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, &tx, &ty, &train_ctx), 0, "%s", services_last_error());
    for (int c = 0; c < C; c++) {
      double mean = 0, var = 0, ymean = 0, yvar = 0, m = B * S;
      for (int b = 0; b < B; b++)
        for (int k = 0; k < S; k++) mean += x[(b * C + c) * S + k], ymean += y[(b * C + c) * S + k];
      mean /= m, ymean /= m;
      for (int b = 0; b < B; b++)
        for (int k = 0; k < S; k++) {
          double dx = x[(b * C + c) * S + k] - mean, dy = y[(b * C + c) * S + k] - ymean;
          var += dx * dx, yvar += dy * dy;
        }
      var /= m, yvar /= m;
      double g = 0.5 + c, want_var = g * g * var / (var + 1e-5);
      cr_expect_lt(fabs(ymean - (c - 1)), 1e-5, "shape %u channel %d: output mean %g, want %d", t, c, ymean, c - 1);
      cr_expect_lt(fabs(yvar - want_var), 1e-4 * want_var, "shape %u channel %d: output variance %g, want %g", t, c,
                   yvar, want_var);
      cr_expect_lt(fabs(run_mean[c] - 0.1 * mean), 1e-5, "running mean %g, want %g", run_mean[c], 0.1 * mean);
      cr_expect_lt(fabs(run_var[c] - (0.9 + 0.1 * var * m / (m - 1))), 1e-5, "running var %g", run_var[c]);
    }
    /* eval: (x - running_mean) / sqrt(running_var + eps) gamma + beta */
    cr_assert_eq(l.p->layer->forward[LUNET_CPU](l.self, &tx, &ty, &eval_ctx), 0, "%s", services_last_error());
    for (int i = 0; i < n; i++) {
      int c = (i / S) % C;
      double rm = run_mean[c], rs = 1 / sqrt((double)run_var[c] + 1e-5);
      float want = (float)((x[i] - rm) * rs * (0.5 + c) + (c - 1));
      cr_expect_float_eq(y[i], want, 1e-5, "shape %u: eval output %d is %g, want %g", t, i, y[i], want);
    }
    free(x), free(y);
    drop(&l);
  }
}
