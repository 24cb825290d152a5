/*
** test_gradcheck.c -- every layer and loss plugin the registry finds passes
** the finite-difference gradient check, and a plugin with a wrong gradient
** fails it.
**
** The first test iterates over the registry, so a new layer or loss plugin
** is checked without a new test; it asserts a minimum count so that it
** cannot pass by finding nothing.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "check.h"
#include "params.h"
#include "common.h"
#include "registry.h"
#include "services.h"

#define MIN_LAYERS 5 /* dense, relu, sigmoid, tanh, flatten */
#define MIN_LOSSES 2 /* mse, cross_entropy */

static void built_plugins_only(void) { unsetenv("LUNET_PLUGIN_PATH"); }

TestSuite(gradcheck, .init = built_plugins_only);

static int gradcheck_plugin(const plugin_entry *pe, gradcheck_report *rep) {
  int n;
  param_given *given = check_example_params(pe->desc, &n);
  int rc = pe->desc->kind == LUNET_LAYER ? gradcheck_layer(pe, given, n, NULL, rep)
                                         : gradcheck_loss(pe, given, n, rep);
  free(given);
  return rc;
}

Test(gradcheck, every_layer_and_loss_plugin_passes) {
  registry_init();
  int layers = 0, losses = 0;
  for (int i = 0; i < registry_count(); i++) {
    const plugin_entry *pe = registry_at(i);
    int kind = pe->desc->kind;
    if (pe->shadowed || (kind != LUNET_LAYER && kind != LUNET_LOSS)) continue;
    gradcheck_report rep;
    char what[512];
    services_clear_error();
    int rc = gradcheck_plugin(pe, &rep);
    gradcheck_describe(&rep, what, sizeof what);
    cr_expect_eq(rc, 0, "%s '%s' (%s) failed: %s", kind_name(kind), pe->desc->name, pe->path,
                 services_last_error());
    int ids_only = kind == LUNET_LAYER && (pe->desc->layer->flags & LUNET_TAKES_IDS) && rep.tensors == 0;
    cr_expect(rep.checked > 0 || ids_only, "%s '%s' compared no elements", kind_name(kind), pe->desc->name);
    cr_log_info("%s %s: %s", kind_name(kind), pe->desc->name, what);
    if (kind == LUNET_LAYER) layers++;
    else losses++;
  }
  cr_assert_geq(layers, MIN_LAYERS, "only %d layer plugins were checked, expected at least %d: "
                "are the built plugins where LUNET_BUILD_PLUGIN_DIR says?", layers, MIN_LAYERS);
  cr_assert_geq(losses, MIN_LOSSES, "only %d loss plugins were checked, expected at least %d",
                losses, MIN_LOSSES);
}

/* bad_grad is relu with a backward twice too large: the check must fail
** it, by a wide margin, naming the plugin and the worst element. */
Test(gradcheck, wrong_gradient_fails) {
  plugin_entry pe;
  const char *path = common_path(common_test_plugin_dir(), "bad_grad.so");
  cr_assert_eq(registry_load_file(path, &pe), 0, "%s", services_last_error());
  gradcheck_report rep;
  cr_assert_neq(gradcheck_plugin(&pe, &rep), 0, "a gradient twice too large passed the check");
  const char *msg = services_last_error();
  cr_expect(strstr(msg, "bad_grad") && strstr(msg, "gradient check failed"), "message: %s", msg);
  cr_expect_gt(rep.failed, 0);
  cr_expect_gt(rep.worst_ratio, 10.0, "a 2x error should exceed its tolerance many times over");
  cr_expect(strncmp(rep.worst, "input[", 6) == 0, "worst element: %s", rep.worst);
  free(pe.path); /* the handle stays open, as the registry's do */
}

/* Larger inputs and other parameters than the example ones still pass. */
Test(gradcheck, dense_with_other_shapes_and_parameters) {
  registry_init();
  const plugin_entry *pe = registry_find(LUNET_LAYER, "dense");
  cr_assert(pe, "%s", services_last_error());
  const param_given given[] = {P_NUM("out", 7), P_STR("init", "xavier"), P_BOOL("bias", 0)};
  lunet_shape in = {3, {2, 3, 4}};
  gradcheck_report rep;
  cr_expect_eq(gradcheck_layer(pe, given, 3, &in, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.tensors, 2, "input and weight (no bias)");
  cr_expect_eq(rep.checked, 3 * 24 + 168, "every input element and up to 200 weights");
}

Test(gradcheck, misuse_is_an_error_not_a_crash) {
  registry_init();
  const plugin_entry *dense = registry_find(LUNET_LAYER, "dense");
  const plugin_entry *mse = registry_find(LUNET_LOSS, "mse");
  cr_assert(dense && mse, "%s", services_last_error());
  gradcheck_report rep;
  cr_expect_neq(gradcheck_loss(dense, NULL, 0, &rep), 0);
  cr_expect(strstr(services_last_error(), "not a loss"), "%s", services_last_error());
  cr_expect_neq(gradcheck_layer(mse, NULL, 0, NULL, &rep), 0);
  cr_expect(strstr(services_last_error(), "not a layer"), "%s", services_last_error());
  cr_expect_neq(gradcheck_layer(dense, NULL, 0, NULL, &rep), 0, "dense requires `out`");
  cr_expect(strstr(services_last_error(), "out"), "%s", services_last_error());
  lunet_shape bad = {1, {0}};
  const param_given out[] = {P_NUM("out", 2)};
  cr_expect_neq(gradcheck_layer(dense, out, 1, &bad, &rep), 0);
  cr_expect(strstr(services_last_error(), "(0)"), "%s", services_last_error());
}

/* ---- a whole model: the gradient buffers the nodes share ---------------- */

enum { NB = 4, NX = 5, NY = 3 };

/* residual(dense) -> dense -> tanh -> residual(dense, tanh, residual(dense,
** sigmoid)) -> tanh -> dense: a block first, bodies of one, two and three
** nodes, nested blocks, and outputs of several sizes, so that each node's
** dy lives in a buffer that another node reuses. */
static const layer_spec NESTED[] = {
  {"(", {{0}}, 0},
  {"dense", {P_NUM("out", NX)}, 1},
  {")", {{0}}, 0},
  {"dense", {P_NUM("out", 6)}, 1},
  {"tanh", {{0}}, 0},
  {"(", {{0}}, 0},
  {"dense", {P_NUM("out", 6)}, 1},
  {"tanh", {{0}}, 0},
  {"(", {{0}}, 0},
  {"dense", {P_NUM("out", 6)}, 1},
  {"sigmoid", {{0}}, 0},
  {")", {{0}}, 0},
  {")", {{0}}, 0},
  {"tanh", {{0}}, 0},
  {"dense", {P_NUM("out", 3)}, 1},
};

/* L = sum y r, in float64 from the float32 forward (in training mode, as
** backward requires; these layers behave the same in both). */
static double weighted_output(model *m, float *const *x, const float *r) {
  lunet_ctx train = {sizeof train, 1, NULL, LUNET_CPU, 1};
  lunet_tensor xt[LUNET_MAX_INPUTS];
  for (int k = 0; k < m->n_inputs; k++) xt[k] = common_tensor(x[k], NB, &m->in[k]);
  const lunet_tensor *y = model_forward(m, xt, &train);
  cr_assert(y, "%s", services_last_error());
  double l = 0;
  for (int i = 0; i < NB * NY; i++) l += (double)y->f32[i] * r[i];
  return l;
}

/* Central difference of L in one float; returns dL/dv. */
static double numeric(model *m, float *v, float *const *x, const float *r) {
  const float h = 1e-2f, keep = *v;
  *v = keep + h;
  double up = weighted_output(m, x, r);
  *v = keep - h;
  double down = weighted_output(m, x, r);
  *v = keep;
  return (up - down) / (2.0 * h);
}

static void expect_close(double analytic, double fd, const char *what, int i) {
  double tol = 2e-3 + 2e-2 * fabs(fd);
  cr_expect(fabs(analytic - fd) <= tol, "%s[%d]: backward %g, finite difference %g", what, i, analytic, fd);
}

/* Backward with dL/dy = r against finite differences of L, for every
** input element of every model input and every trained value. Returns the
** number of trained tensors. */
static int check_model_gradients(model *m, float *const *x) {
  float r[NB * NY], *dx[LUNET_MAX_INPUTS];
  lunet_tensor dxt[LUNET_MAX_INPUTS];
  common_fill_normal(r, NB * NY, 2);
  cr_assert_eq(model_reserve(m, NB), 0, "%s", services_last_error());
  weighted_output(m, x, r);
  memcpy(model_output_grad(m)->f32, r, sizeof r);
  for (int k = 0; k < m->n_inputs; k++) {
    dx[k] = malloc(sizeof(float) * NB * (size_t)lunet_numel(&m->in[k]));
    dxt[k] = common_tensor(dx[k], NB, &m->in[k]);
  }
  cr_assert_eq(model_backward(m, dxt, NULL, NULL), 0, "%s", services_last_error());
  /* copies: the probes below overwrite the gradients */
  float *grads = malloc(sizeof(float) * (size_t)(m->ws.n_trained + 1));
  memcpy(grads, m->ws.grads, sizeof(float) * (size_t)m->ws.n_trained);
  for (int k = 0; k < m->n_inputs; k++) {
    for (int i = 0; i < NB * lunet_numel(&m->in[k]); i++) expect_close(dx[k][i], numeric(m, &x[k][i], x, r), "dx", i);
    free(dx[k]);
  }
  for (int64_t i = 0; i < m->ws.n_trained; i++)
    expect_close(grads[i], numeric(m, &m->ws.values[i], x, r), "trained value", (int)i);
  free(grads);
  return m->ws.view.n;
}

Test(gradcheck, model_backward_through_nested_residual_blocks) {
  const lunet_shape in = {1, {NX}};
  model *m = common_model(NESTED, sizeof NESTED / sizeof NESTED[0], 3, &in);
  cr_assert(m, "%s", services_last_error());
  float x[NB * NX], *xs[1] = {x};
  common_fill_normal(x, NB * NX, 1);
  cr_expect_eq(check_model_gradients(m, xs), 10, "five dense layers, weights and biases");
  model_free(m);
}

/* Appends node `label` = plugin(inputs) to m, with one numeric parameter
** (name NULL: none). */
static int add(model *m, const char *label, const char *plugin, const char *param, double v,
               const int *in, int n_in) {
  const plugin_entry *pe = registry_find(LUNET_LAYER, plugin);
  cr_assert(pe, "%s", services_last_error());
  param_given g[1] = {P_NUM(param, v)};
  param_values pv = {0};
  cr_assert_eq(params_resolve(pe->desc, g, param ? 1 : 0, &pv), 0, "%s", services_last_error());
  int id = model_add(m, NODE_LAYER, label, pe, &pv, in, n_in);
  params_free(&pv);
  cr_assert_geq(id, 0, "%s", services_last_error());
  return id;
}

/* Two model inputs a (NX) and b (4); h1 feeds two adds, h2 an add and a
** concatenation, s an add: so gradients meet in several places, through
** both two-input plugins, and reach both inputs. */
Test(gradcheck, graph_with_two_inputs_and_shared_nodes) {
  registry_init();
  model *m = model_new(5, 2);
  int a = MODEL_INPUT(0), b = MODEL_INPUT(1);
  int h1 = add(m, "h1", "dense", "out", 6, &a, 1);
  int h2 = add(m, "h2", "dense", "out", 6, &b, 1);
  int s = add(m, "s", "add", NULL, 0, (int[]){h1, h2}, 2);
  int d = add(m, "d", "add", NULL, 0, (int[]){s, h1}, 2);
  int c = add(m, "c", "concat", "axis", 1, (int[]){d, h2}, 2);
  int t = add(m, "t", "tanh", NULL, 0, &c, 1);
  add(m, "o", "dense", "out", NY, &t, 1);
  lunet_shape in[2] = {{1, {NX}}, {1, {4}}};
  cr_assert_eq(model_build(m, in, NULL), 0, "%s", services_last_error());
  cr_expect_eq(m->out.dim[0], NY);
  cr_expect_eq(m->nodes[c].out.dim[0], 12, "concat of 6 and 6");
  float xa[NB * NX], xb[NB * 4], *xs[2] = {xa, xb};
  common_fill_normal(xa, NB * NX, 6);
  common_fill_normal(xb, NB * 4, 7);
  cr_expect_eq(check_model_gradients(m, xs), 6, "three dense layers, weights and biases");
  cr_expect_eq(weights_find(&m->ws, "h2.dense.weight"), 2, "named by node: h1's two, then h2's weight");
  model_free(m);
}

/* A model starting with flatten: nothing upstream of the first dense layer
** trains, so neither its input gradient nor flatten's backward is run (the
** gradient slot of flatten's output keeps the NaNs put there). */
Test(gradcheck, no_input_gradient_where_nothing_needs_it) {
  static const layer_spec FLAT[] = {{"flatten", {{0}}, 0}, {"dense", {P_NUM("out", NY)}, 1}};
  const lunet_shape in = {2, {2, 3}};
  model *m = common_model(FLAT, 2, 1, &in);
  cr_assert(m, "%s", services_last_error());
  cr_assert_eq(model_reserve(m, NB), 0, "%s", services_last_error());
  float x[NB * 6];
  common_fill_normal(x, NB * 6, 1);
  lunet_tensor xt = common_tensor(x, NB, &in);
  lunet_ctx train = {sizeof train, 1, NULL, LUNET_CPU, 1};
  cr_assert(model_forward(m, &xt, &train), "%s", services_last_error());
  lunet_tensor *dy = model_output_grad(m);
  for (int i = 0; i < NB * NY; i++) dy->f32[i] = 1.0f;
  float *flat_dy = m->nodes[0].dy.f32;
  for (int i = 0; i < NB * 6; i++) flat_dy[i] = NAN;
  cr_assert_eq(model_backward(m, NULL, NULL, NULL), 0, "%s", services_last_error());
  for (int i = 0; i < NB * 6; i++) cr_expect(isnan(flat_dy[i]), "element %d of flatten's dy was written", i);
  cr_expect_neq(m->ws.grads[0], 0.0f, "the dense weights still get their gradient");
  model_free(m);
}
