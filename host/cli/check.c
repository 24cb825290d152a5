/*
** check.c -- `lunet check FILE.so [NAME=VALUE ...]`: conformance of one
** plugin file to the ABI and to its own declarations, and the
** finite-difference gradient check of layers and losses (the test suite
** runs the same functions).
**
** The gradient check
**
**   A layer f is probed through the scalar L = sum_k r_k f(x, w)_k, r a
**   fixed random projection: its backward with dout = r must return dL/dx
**   for every float input x and dL/dw for every trained parameter w. A loss
**   is probed through its own value, and its gradient must be dloss/dpred.
**   For each compared element v,
**       numeric = (L(v+) - L(v-)) / (v+ - v-),   v+- = float32(v +- h),
**   with h = 1e-3 * max(1, |v|); dividing by the step actually taken after
**   rounding to float32 removes that rounding from the quotient.
**
**   Step and tolerances. Plugins compute in float32 (unit round-off
**   u = 6e-8). L is accumulated in double, but every output already carries
**   a relative error of about u, so L(v+-h) is known to about
**   u sqrt(#outputs) max|r y|, and the quotient to that over 2h: about 1e-4
**   for the batches used here. The truncation error of the central
**   difference, h^2 |L'''| / 6, is below 1e-6 for smooth activations. A
**   smaller h raises the first part, a larger one the second. Hence
**       atol = 1e-3 * scale, scale = max(1, largest |numeric| of the tensor)
**   (the numeric values, not the analytic ones, set the scale, so a wrong
**   backward cannot loosen its own test), and rtol = 1e-2: a wrong gradient
**   is rarely wrong by under 1% (a lost factor, a sign, a wrong formula).
**   Measured on the stock plugins: the worst element uses at most 12% of
**   its tolerance (batchnorm; 13% for dense with 5000 inputs). A relu whose
**   gradient is 2x uses 48 times its tolerance, a sigmoid with derivative y
**   instead of y (1 - y) 64 times, an mse without its factor 2 32 times,
**   and a bias gradient 5% too large 4.4 times.
**
**   Kinks. relu, max-pooling and the like are not differentiable
**   everywhere; at an element within h of a kink the central difference
**   lies between the two one-sided slopes, and no backward can match it.
**   Such an element shows itself by its one-sided slopes (L(v+) - L(v)) and
**   (L(v) - L(v-)) per step disagreeing beyond the tolerance; it is skipped
**   rather than failed when the analytic value lies between them (a valid
**   one-sided derivative). Whether a point is a kink is decided from the
**   forward alone, so a wrong backward is still caught at every smooth
**   point, and a forward kinked at more than a tenth of the points fails.
**
**   Determinism. Layers run in training mode, so dropout and batch
**   statistics are what is checked; the context's rng is reset to the same
**   seed before every forward, so a stochastic layer draws the same mask each
**   time and is a deterministic function of its inputs.
**
**   Overwriting. The output, the input gradients and every parameter
**   gradient are filled with NaN before forward and backward, so an element
**   a plugin leaves unwritten, or accumulates into, fails the check.
**
**   Parameters. A layer is built as a model builds it: its parameters are
**   declared through weights_register() and then gathered into flat
**   buffers (weights_gather), which frees the memory create() saw. Values
**   are perturbed, and gradients read, through the layer's tensors, where
**   the host put them; a layer that kept a pointer from create() reads
**   freed memory and writes its gradients where nobody looks, and fails.
**
**   Inputs. A layer of several inputs gets check_input's shapes (see
**   check_layer_inputs); a layer that takes token ids gets valid random ids
**   in [0, id_limit) as input 0, which has no gradient to compare.
**
**   Datasets. Samples are written in full, ids lie in [0, vocab), every
**   target of class data is a class index (one per position for token
**   data), two opens with the same parameters give the same samples bit for
**   bit, and text data's decode and encode give back the text of sample 0.
**
** Isolation
**
**   Each probe that runs the plugin's code runs in a child process of its
**   own (runtime/children.h), with a time limit under `lunet check`: a
**   probe that crashes, aborts, exits or hangs is one failed check that
**   names the step, the file and the signal or the timeout. The probes after
**   it are not run (a hanging plugin would cost each of them the timeout).
**   A layer is built anew in each probe's process.
*/
#include "cli/check.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/text.h"
#include "nn/weights.h"
#include "runtime/children.h"
#include "runtime/services.h"

#define MAX_KINK_FRACTION 0.1 /* skipped elements allowed, as a fraction */

/* ---- example parameters and inputs ------------------------------------- */

param_given *check_example_params(const lunet_plugin *p, int *n) {
  param_given *g = calloc((size_t)p->n_params + 1, sizeof *g);
  for (int i = 0; i < p->n_params; i++) {
    const lunet_param_decl *d = &p->params[i];
    g[i].name = d->name;
    g[i].type = d->type == LUNET_INT ? LUNET_NUMBER : d->type;
    g[i].num = d->def;
    g[i].str = d->type == LUNET_STRING ? (d->def_str ? d->def_str : "") : NULL;
  }
  *n = p->n_params;
  return g;
}

/* The example parameters followed by over[0..n_over): params_resolve()
** reads them in order, so a later value replaces an earlier one, and it
** refuses a name the plugin lacks by that name. Caller frees. */
static param_given *check_params(const lunet_plugin *p, const param_given *over, int n_over,
                                 int *n) {
  param_given *g = check_example_params(p, n);
  param_given *all = realloc(g, sizeof *g * (size_t)(*n + n_over + 1));
  if (!all) {
    free(g);
    *n = 0;
    return NULL;
  }
  if (n_over > 0) memcpy(all + *n, over, sizeof *over * (size_t)n_over);
  *n += n_over;
  return all;
}

int check_layer_inputs(const lunet_plugin *p, lunet_shape in[LUNET_MAX_INPUTS]) {
  const lunet_layer_api *api = p->layer;
  if (p->kind != LUNET_LAYER || !api) {
    services_error("%s: not a layer plugin (it is a %s)", p->name, kind_name(p->kind));
    return -1;
  }
  int listed = 0; /* the leading check_input entries that are set */
  /* check_input may lie beyond the table of an older plugin: size says */
  if (LUNET_HAS_FIELD(api, lunet_layer_api, check_input))
    while (listed < LUNET_MAX_INPUTS && api->check_input[listed].ndim > 0) listed++;
  int count = api->n_inputs > 1 ? api->n_inputs : 1;
  if (api->n_inputs == -1) {
    if (listed < 2) listed = 0; /* too few for a layer of several inputs: two {5} */
    count = listed ? listed : 2;
  }
  for (int k = 0; k < count; k++) in[k] = k < listed ? api->check_input[k] : (lunet_shape){1, {5}};
  return count;
}

/* ---- small tensors for the checks -------------------------------------- */

static int valid_shape(const lunet_shape *s, int max_ndim) {
  if (s->ndim < 1 || s->ndim > max_ndim) return 0;
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 1) return 0;
  return 1;
}

/* "(2, 3)" for one shape, "(2, 3), (6)" for several. */
static void shapes_format(const lunet_shape *s, int n, char *buf, size_t sz) {
  size_t len = 0;
  buf[0] = '\0';
  for (int k = 0; k < n && len < sz; k++) {
    char one[128];
    shape_format(&s[k], one, sizeof one);
    len += (size_t)snprintf(buf + len, sz - len, "%s%s", k ? ", " : "", one);
  }
}

/* (batch, per_sample...) of zeros of `dtype` (4-byte elements: float32 or
** int32); -1 when out of memory. */
static int tensor_alloc(lunet_tensor *t, int batch, const lunet_shape *per_sample, int dtype) {
  *t = (lunet_tensor){.size = sizeof *t, .dtype = dtype, .device = LUNET_CPU};
  t->shape.ndim = per_sample->ndim + 1;
  t->shape.dim[0] = batch;
  memcpy(t->shape.dim + 1, per_sample->dim, sizeof(int32_t) * (size_t)per_sample->ndim);
  t->data = calloc((size_t)lunet_numel(&t->shape), 4);
  if (!t->data) services_error("check: out of memory");
  return t->data ? 0 : -1;
}

/* A float32 tensor header over host memory the caller owns. */
static lunet_tensor f32_tensor(float *data, lunet_shape shape) {
  return (lunet_tensor){.size = sizeof(lunet_tensor), .dtype = LUNET_F32, .device = LUNET_CPU,
                        .shape = shape, .f32 = data};
}

static void fill_normal(float *x, int64_t n, lunet_rng *rng) {
  for (int64_t i = 0; i < n; i++) x[i] = (float)rng_normal(rng);
}

static void fill_uniform(float *x, int64_t n, lunet_rng *rng, double lo, double hi) {
  for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_uniform(rng));
}

static void fill_nan(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = NAN;
}

/* Index of the first non-finite element, or -1. */
static int64_t first_non_finite(const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}

static float *copy_floats(const float *x, int64_t n) {
  float *c = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (c) memcpy(c, x, sizeof(float) * (size_t)n);
  return c;
}

static void copy_error(char *buf, size_t sz, const char *fallback) {
  snprintf(buf, sz, "%s", *services_last_error() ? services_last_error() : fallback);
}

/* ---- finite differences ------------------------------------------------ */

/* The scalar being differentiated, at the current values. Sets *err (and
** leaves the plugin's error message) when the plugin fails. */
typedef double (*objective_fn)(void *ud, int *err);

typedef struct probe {
  objective_fn f;
  void *ud;
  double f0; /* the objective at the unperturbed values */
  int err;   /* the objective failed at least once */
} probe;

typedef struct difference {
  double central;     /* (L(v+) - L(v-)) / (v+ - v-) */
  double plus, minus; /* one-sided: (L(v+) - L(v)) / (v+ - v), (L(v) - L(v-)) / (v - v-) */
} difference;

/* Perturbs *v both ways (restoring it exactly) and differentiates. */
static difference differentiate(probe *pr, float *v) {
  float orig = *v;
  double h = GRADCHECK_STEP * fmax(1.0, fabs((double)orig));
  float up = (float)((double)orig + h), down = (float)((double)orig - h);
  *v = up;
  double fu = pr->f(pr->ud, &pr->err);
  *v = down;
  double fd = pr->f(pr->ud, &pr->err);
  *v = orig;
  difference d;
  d.central = (fu - fd) / ((double)up - (double)down);
  d.plus = (fu - pr->f0) / ((double)up - (double)orig);
  d.minus = (pr->f0 - fd) / ((double)orig - (double)down);
  return d;
}

static double tolerance(double a, double n, double scale) {
  return GRADCHECK_ATOL * scale + GRADCHECK_RTOL * fmax(fabs(a), fabs(n));
}

/* Is v at a kink of the forward (its one-sided slopes disagree) with the
** analytic value one of the slopes or between them? See the top comment. */
static int at_kink(double a, const difference *d, double scale) {
  double lo = fmin(d->plus, d->minus), hi = fmax(d->plus, d->minus);
  if (!isfinite(a) || !isfinite(lo) || !isfinite(hi)) return 0;
  if (hi - lo <= tolerance(lo, hi, scale)) return 0; /* smooth here */
  double t = tolerance(a, a, scale);
  return a >= lo - t && a <= hi + t;
}

/* Scores one element into the report. */
static void judge(gradcheck_report *rep, const char *label, const char *suffix, int64_t idx,
                  double a, const difference *d, double scale) {
  double n = d->central, tol = tolerance(a, n, scale);
  double err = isfinite(a) && isfinite(n) ? fabs(a - n) : INFINITY;
  if (err > tol && at_kink(a, d, scale)) {
    rep->skipped++;
    return;
  }
  rep->checked++;
  double ratio = err / tol, big = fmax(fabs(a), fabs(n));
  if (err > rep->max_abs) rep->max_abs = err;
  if (big > GRADCHECK_ATOL * scale && err / big > rep->max_rel) rep->max_rel = err / big;
  if (ratio > 1) rep->failed++;
  if (ratio > rep->worst_ratio || !rep->worst[0]) {
    snprintf(rep->worst, sizeof rep->worst, "%s[%lld]%s", label, (long long)idx, suffix);
    rep->worst_analytic = a;
    rep->worst_numeric = n;
    rep->worst_ratio = ratio;
  }
}

/* Which elements to compare: all of a small tensor, else
** GRADCHECK_MAX_ELEMS spread evenly from the first to the last. */
static int64_t sample_index(int64_t k, int64_t count, int64_t numel) {
  if (count == numel) return k;
  return (int64_t)((double)k * (double)(numel - 1) / (double)(count - 1));
}

/* Compares analytic[] (the plugin's gradient of `values`) with finite
** differences, element by element; elements are named label[i]suffix.
** Stops early if the objective fails. */
static void compare_tensor(probe *pr, const char *label, const char *suffix, float *values,
                           const float *analytic, int64_t numel, gradcheck_report *rep) {
  int64_t count = numel < GRADCHECK_MAX_ELEMS ? numel : GRADCHECK_MAX_ELEMS;
  difference *d = malloc(sizeof *d * (size_t)(count ? count : 1));
  double scale = 1.0;
  for (int64_t k = 0; k < count && !pr->err; k++) {
    d[k] = differentiate(pr, &values[sample_index(k, count, numel)]);
    if (fabs(d[k].central) > scale) scale = fabs(d[k].central); /* NaN never is */
  }
  if (!pr->err) {
    rep->tensors++;
    for (int64_t k = 0; k < count; k++) {
      int64_t i = sample_index(k, count, numel);
      judge(rep, label, suffix, i, analytic[i], &d[k], scale);
    }
  }
  free(d);
}

void gradcheck_describe(const gradcheck_report *rep, char *buf, size_t sz) {
  size_t len = (size_t)snprintf(buf, sz, "%d elements in %d tensor%s, max abs error %.2g, max "
                                "rel error %.2g", rep->checked, rep->tensors,
                                rep->tensors == 1 ? "" : "s", rep->max_abs, rep->max_rel);
  if (rep->skipped && len < sz)
    len += (size_t)snprintf(buf + len, sz - len, ", %d skipped at kinks", rep->skipped);
  if (rep->worst[0] && len < sz)
    snprintf(buf + len, sz - len, "; worst %s: analytic %.6g, numeric %.6g (%.2g of its tolerance)",
             rep->worst, rep->worst_analytic, rep->worst_numeric, rep->worst_ratio);
}

/* The outcome of a finished comparison: 0, or -1 with the reason. */
static int verdict(const char *plugin, const gradcheck_report *rep) {
  char what[512];
  gradcheck_describe(rep, what, sizeof what);
  if (rep->checked == 0) {
    services_error("%s: gradient check compared no elements (%s)", plugin, what);
    return -1;
  }
  if (rep->skipped > MAX_KINK_FRACTION * (rep->checked + rep->skipped)) {
    services_error("%s: gradient check: the forward is not smooth at %d of %d points (%s); "
                   "expected a function differentiable almost everywhere", plugin, rep->skipped,
                   rep->checked + rep->skipped, what);
    return -1;
  }
  if (rep->failed) {
    services_error("%s: gradient check failed: %d of %d elements differ from finite differences "
                   "by more than %g*scale + %g*max(|analytic|, |numeric|); %s. Hint: check the "
                   "derivative formulas of backward, that it overwrites every gradient, and that "
                   "it reaches parameters through their tensors' data at every call, never "
                   "through a pointer kept from create()",
                   plugin, rep->failed, rep->checked, GRADCHECK_ATOL, GRADCHECK_RTOL, what);
    return -1;
  }
  return 0;
}

/* ---- a layer instance with its check buffers --------------------------- */

typedef struct layer_fixture {
  const lunet_plugin *p;
  const lunet_layer_api *api;
  param_values pv;
  void *self;
  int n_in;                              /* inputs */
  int ids;                               /* input 0 holds token ids ... */
  int64_t id_limit;                      /* ... in [0, id_limit) */
  lunet_shape in[LUNET_MAX_INPUTS], out; /* per sample */
  lunet_tensor x[LUNET_MAX_INPUTS];      /* (B, in k...) */
  lunet_tensor dx[LUNET_MAX_INPUTS];     /* the same, float; no data for ids */
  lunet_tensor y;                        /* (B, out...) */
  lunet_tensor r;                        /* (B, out...): the projection, also the dout */
  weights ws;                            /* the layer's parameters, in flat buffers */
  lunet_rng rng;
  lunet_ctx ctx;
} layer_fixture;

static void layer_close(layer_fixture *fx) {
  weights_free(&fx->ws); /* it keeps its own pointers: safe after a failed create */
  if (fx->self) fx->api->destroy(fx->self);
  params_free(&fx->pv);
  for (int k = 0; k < LUNET_MAX_INPUTS; k++) {
    free(fx->x[k].data);
    free(fx->dx[k].data);
  }
  free(fx->y.data);
  free(fx->r.data);
  memset(fx, 0, sizeof *fx);
}

/* Optimizers and checkpoints find a parameter by its name: no two of a
** layer may share one. 0, or -1 with the reason. */
static int check_param_names(const layer_fixture *fx) {
  for (int i = 1; i < fx->ws.n; i++)
    for (int j = 0; j < i; j++) {
      if (strcmp(fx->ws.w[i].name, fx->ws.w[j].name) != 0) continue;
      services_error("%s: create() declared parameters %d and %d both as '%s'; expected a unique "
                     "name for each", fx->p->name, j + 1, i + 1, fx->ws.w[i].name);
      return -1;
    }
  return 0;
}

/* The din argument of backward: NULL for a layer of token ids alone, whose
** one input has no gradient; else dx, whose ids entry (if any) has no data. */
static lunet_tensor *input_grads(layer_fixture *fx) {
  return fx->ids && fx->n_in == 1 ? NULL : fx->dx;
}

/* Builds the layer for inputs in[0..n_in), gathers its parameters and
** makes its buffers for a batch of GRADCHECK_BATCH rows. On failure, -1
** with the reason; layer_close() frees either way. */
static int layer_open(layer_fixture *fx, const plugin_entry *pe, const param_given *given, int n,
                      const lunet_shape *in, int n_in) {
  char shp[512], why[1024];
  memset(fx, 0, sizeof *fx);
  fx->p = pe->desc;
  fx->api = pe->desc->layer;
  fx->n_in = n_in;
  fx->ids = (fx->api->flags & LUNET_TAKES_IDS) != 0;
  shapes_format(in, n_in, shp, sizeof shp);
  for (int k = 0; k < n_in; k++) {
    if (valid_shape(&in[k], LUNET_MAX_DIMS - 1)) continue;
    services_error("%s: check input shape %s is invalid; expected 1 to %d dimensions, each at "
                   "least 1", fx->p->name, shp, LUNET_MAX_DIMS - 1);
    return -1;
  }
  if (params_resolve(fx->p, given, n, &fx->pv)) return -1;
  memcpy(fx->in, in, sizeof *in * (size_t)n_in);
  rng_seed(&fx->rng, GRADCHECK_SEED);
  weights_builder wb = {&fx->ws, 0, ""};
  lunet_build b = {.size = sizeof b, .device = LUNET_CPU, .rng = &fx->rng, .n_inputs = n_in,
                   .param = weights_register, .host_data = &wb};
  services_clear_error();
  fx->self = fx->api->create(fx->pv.v, fx->in, &fx->out, &b);
  if (!fx->self) {
    copy_error(why, sizeof why, "no reason given (a plugin should call host->error())");
    services_error("%s: create() refused input shape%s %s: %s", fx->p->name, n_in == 1 ? "" : "s",
                   shp, why);
    return -1;
  }
  if (!valid_shape(&fx->out, LUNET_MAX_DIMS - 1)) {
    shape_format(&fx->out, shp, sizeof shp);
    services_error("%s: create() gave output shape %s; expected 1 to %d dimensions, each at "
                   "least 1", fx->p->name, shp, LUNET_MAX_DIMS - 1);
    return -1;
  }
  if (fx->ids && (b.id_limit < 1 || b.id_limit > (int64_t)INT32_MAX + 1)) {
    services_error("%s: create() left build->id_limit = %lld, but the layer takes token ids "
                   "(LUNET_TAKES_IDS); expected the number of valid ids, 1 to 2^31",
                   fx->p->name, (long long)b.id_limit);
    return -1;
  }
  fx->id_limit = b.id_limit;
  if (check_param_names(fx) || weights_gather(&fx->ws)) return -1;
  services_clear_error();
  if (fx->api->reserve && fx->api->reserve(fx->self, GRADCHECK_BATCH, LUNET_CPU)) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: reserve(%d) failed: %s", fx->p->name, GRADCHECK_BATCH, why);
    return -1;
  }
  for (int k = 0; k < n_in; k++) {
    int ids = k == 0 && fx->ids;
    if (tensor_alloc(&fx->x[k], GRADCHECK_BATCH, &in[k], ids ? LUNET_I32 : LUNET_F32) ||
        (!ids && tensor_alloc(&fx->dx[k], GRADCHECK_BATCH, &in[k], LUNET_F32)))
      return -1;
  }
  if (tensor_alloc(&fx->y, GRADCHECK_BATCH, &fx->out, LUNET_F32) ||
      tensor_alloc(&fx->r, GRADCHECK_BATCH, &fx->out, LUNET_F32))
    return -1;
  fx->ctx = (lunet_ctx){.size = sizeof(lunet_ctx), .train = 1, .rng = &fx->rng, .device = LUNET_CPU, .reset = 1};
  return 0;
}

/* Random inputs: N(0, 1) floats, and token ids uniform in [0, id_limit). */
static void fill_inputs(layer_fixture *fx, lunet_rng *data) {
  for (int k = 0; k < fx->n_in; k++) {
    lunet_tensor *x = &fx->x[k];
    int64_t n = lunet_numel(&x->shape);
    if (x->dtype == LUNET_I32)
      for (int64_t i = 0; i < n; i++) x->i32[i] = (int32_t)(rng_u64(data) % (uint64_t)fx->id_limit);
    else
      fill_normal(x->f32, n, data);
  }
}

/* L = sum_k r_k y_k after a training-mode forward with the rng reset. */
static double layer_objective(void *ud, int *err) {
  layer_fixture *fx = ud;
  rng_seed(&fx->rng, GRADCHECK_SEED);
  if (fx->api->forward[LUNET_CPU](fx->self, fx->x, &fx->y, &fx->ctx)) {
    *err = 1;
    return NAN;
  }
  double sum = 0.0;
  int64_t n = lunet_numel(&fx->y.shape);
  for (int64_t i = 0; i < n; i++) sum += (double)fx->r.f32[i] * (double)fx->y.f32[i];
  return sum;
}

/* The analytic gradients (backward with dout = r) after the base forward:
** out[k] for input k (NULL for token ids), out[n_in + i] for parameter i
** (NULL for a buffer). */
static int layer_analytic(layer_fixture *fx, probe *pr, float **out) {
  char why[1024];
  const char *name = fx->p->name;
  int64_t ny = lunet_numel(&fx->y.shape);
  fill_nan(fx->y.f32, ny);
  services_clear_error();
  pr->f0 = layer_objective(fx, &pr->err);
  if (pr->err) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: forward (training mode) failed: %s", name, why);
    return -1;
  }
  int64_t bad = first_non_finite(fx->y.f32, ny);
  if (bad >= 0) {
    services_error("%s: forward left output element %lld non-finite for a finite input; it must "
                   "write every element of out", name, (long long)bad);
    return -1;
  }
  for (int k = 0; k < fx->n_in; k++)
    if (fx->dx[k].data) fill_nan(fx->dx[k].f32, lunet_numel(&fx->dx[k].shape));
  for (int i = 0; i < fx->ws.n; i++)
    if (fx->ws.w[i].grad) fill_nan(fx->ws.w[i].grad->f32, lunet_numel(&fx->ws.w[i].grad->shape));
  services_clear_error();
  if (fx->api->backward[LUNET_CPU](fx->self, fx->x, &fx->y, &fx->r, input_grads(fx), &fx->ctx)) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: backward failed: %s", name, why);
    return -1;
  }
  for (int k = 0; k < fx->n_in; k++)
    out[k] = fx->dx[k].data ? copy_floats(fx->dx[k].f32, lunet_numel(&fx->dx[k].shape)) : NULL;
  for (int i = 0; i < fx->ws.n; i++) {
    const lunet_tensor *g = fx->ws.w[i].grad;
    out[fx->n_in + i] = g ? copy_floats(g->f32, lunet_numel(&g->shape)) : NULL;
  }
  return 0;
}

static int layer_gradients(layer_fixture *fx, gradcheck_report *rep) {
  lunet_rng data;
  rng_seed(&data, GRADCHECK_SEED + 1);
  fill_inputs(fx, &data);
  fill_uniform(fx->r.f32, lunet_numel(&fx->r.shape), &data, -1.0, 1.0);
  probe pr = {layer_objective, fx, 0.0, 0};
  int n_out = fx->n_in + fx->ws.n;
  float **analytic = calloc((size_t)n_out + 1, sizeof *analytic);
  int rc = layer_analytic(fx, &pr, analytic);
  if (rc == 0) {
    for (int k = 0; k < fx->n_in && !pr.err; k++) {
      char label[16];
      if (!analytic[k]) continue; /* token ids */
      if (fx->n_in == 1) snprintf(label, sizeof label, "input");
      else snprintf(label, sizeof label, "input%d", k);
      compare_tensor(&pr, label, "", fx->x[k].f32, analytic[k], lunet_numel(&fx->x[k].shape), rep);
    }
    for (int i = 0; i < fx->ws.n && !pr.err; i++) {
      const weight *w = &fx->ws.w[i];
      if (w->grad)
        compare_tensor(&pr, w->name, "", w->value->f32, analytic[fx->n_in + i],
                       lunet_numel(&w->value->shape), rep);
    }
    if (pr.err) {
      char why[1024];
      copy_error(why, sizeof why, "no reason given");
      services_error("%s: forward failed on a perturbed input: %s", fx->p->name, why);
      rc = -1;
    } else if (fx->ids && fx->n_in == 1 && fx->ws.n_trained == 0) {
      rc = 0; /* token ids in, nothing trained (pad_mask): nothing to differentiate */
    } else {
      rc = verdict(fx->p->name, rep);
    }
  }
  for (int i = 0; i < n_out; i++) free(analytic[i]);
  free(analytic);
  return rc;
}

int gradcheck_layer(const plugin_entry *pe, const param_given *given, int n, const lunet_shape *in,
                    gradcheck_report *rep) {
  gradcheck_report local;
  if (!rep) rep = &local;
  memset(rep, 0, sizeof *rep);
  lunet_shape shapes[LUNET_MAX_INPUTS];
  int n_in = check_layer_inputs(pe->desc, shapes);
  if (n_in < 0) return -1;
  for (int k = 0; in && k < n_in; k++) shapes[k] = *in;
  layer_fixture fx;
  int rc = layer_open(&fx, pe, given, n, shapes, n_in);
  if (rc == 0) rc = layer_gradients(&fx, rep);
  layer_close(&fx);
  return rc;
}

/* ---- losses ------------------------------------------------------------ */

typedef struct loss_fixture {
  const lunet_plugin *p;
  void *self;
  lunet_tensor pred, target, grad; /* (B, P), (B, T), (B, P) */
  const char *targets;             /* "class" or "regression", for messages */
} loss_fixture;

static double loss_objective(void *ud, int *err) {
  loss_fixture *lf = ud;
  double loss = NAN;
  if (lf->p->loss->forward[LUNET_CPU](lf->self, &lf->pred, &lf->target, &loss, NULL)) *err = 1;
  return loss;
}

/* The target layouts a loss is tried with: P outputs with class indices
** (classes = P) or with P real targets, one output (a score) with binary
** class indices (classes = 2) or with targets -1/+1, and token data: (T, P)
** outputs per sample with T class indices (a language model's). */
typedef struct loss_layout {
  int outputs, classes;
  int tokens; /* T positions per sample, 0: one prediction per sample */
} loss_layout;

static const loss_layout loss_layouts[] = {
  {GRADCHECK_OUTPUTS, GRADCHECK_OUTPUTS, 0}, {GRADCHECK_OUTPUTS, 0, 0}, {1, 2, 0}, {1, 0, 0},
  {GRADCHECK_OUTPUTS, GRADCHECK_OUTPUTS, 3}};
enum { N_LOSS_LAYOUTS = sizeof loss_layouts / sizeof loss_layouts[0] };

/* Creates the loss for a layout and fills predictions and targets. 1 when
** create() refuses (the reason in why), 0 when made, -1 out of memory. */
static int loss_open(loss_fixture *lf, const lunet_plugin *p, const param_values *pv, loss_layout lay,
                     char *why, size_t wsz) {
  const int T = lay.tokens ? lay.tokens : 1, B = GRADCHECK_BATCH * T, P = lay.outputs, classes = lay.classes;
  lunet_shape ps = {1, {P}}, ts = {1, {classes ? 1 : P}};
  if (lay.tokens) ps = (lunet_shape){2, {T, P}}, ts = (lunet_shape){1, {T}};
  memset(lf, 0, sizeof *lf);
  lf->p = p;
  lf->targets = lay.tokens ? "token" : classes ? "class" : "regression";
  services_clear_error();
  lf->self = p->loss->create(pv->v, &ps, &ts, classes, LUNET_CPU);
  if (!lf->self) {
    copy_error(why, wsz, "refused without a reason");
    return 1;
  }
  if (tensor_alloc(&lf->pred, GRADCHECK_BATCH, &ps, LUNET_F32) ||
      tensor_alloc(&lf->target, GRADCHECK_BATCH, &ts, LUNET_F32) ||
      tensor_alloc(&lf->grad, GRADCHECK_BATCH, &ps, LUNET_F32))
    return -1; /* B rows below: the batch's samples, or its tokens */
  lunet_rng rng;
  rng_seed(&rng, GRADCHECK_SEED + 2);
  fill_normal(lf->pred.f32, (int64_t)B * P, &rng);
  for (int i = 0; i < B; i++) {
    float *t = lf->target.f32 + (size_t)i * (classes ? 1 : P);
    if (classes) {
      t[0] = (float)(rng_u64(&rng) % (uint64_t)classes);
      continue;
    }
    if (P == 1) { /* a score against a sign: margin losses want exactly -1 or +1 */
      t[0] = rng_uniform(&rng) < 0.5 ? -1.0f : 1.0f;
      continue;
    }
    /* regression targets in (0, 1) summing to 1: valid for losses that
    ** want probabilities, and plain numbers for the others */
    double sum = 0;
    for (int j = 0; j < P; j++) sum += t[j] = (float)(0.05 + rng_uniform(&rng));
    for (int j = 0; j < P; j++) t[j] = (float)(t[j] / sum);
  }
  return 0;
}

static void loss_close(loss_fixture *lf) {
  if (lf->self) lf->p->loss->destroy(lf->self);
  free(lf->pred.data);
  free(lf->target.data);
  free(lf->grad.data);
  memset(lf, 0, sizeof *lf);
}

/* The loss's gradient against finite differences of its value: 0 when it
** matches, -1 when it does not, 1 when forward refuses these targets. */
static int loss_compare(loss_fixture *lf, gradcheck_report *rep) {
  char why[1024], suffix[64];
  const char *name = lf->p->name;
  int64_t n = lunet_numel(&lf->pred.shape);
  double loss = NAN;
  fill_nan(lf->grad.f32, n);
  services_clear_error();
  if (lf->p->loss->forward[LUNET_CPU](lf->self, &lf->pred, &lf->target, &loss, &lf->grad)) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: forward with %s targets failed: %s", name, lf->targets, why);
    return 1; /* the values of these targets are refused: try another layout */
  }
  probe pr = {loss_objective, lf, 0.0, 0};
  pr.f0 = loss_objective(lf, &pr.err);
  if (!isfinite(loss) || pr.err || fabs(pr.f0 - loss) > 1e-6 * fmax(1.0, fabs(loss))) {
    services_error("%s: with %s targets the loss is %g with a gradient and %g without; expected "
                   "the same finite value", name, lf->targets, loss, pr.f0);
    return -1;
  }
  snprintf(suffix, sizeof suffix, " (%s targets)", lf->targets);
  compare_tensor(&pr, "pred", suffix, lf->pred.f32, lf->grad.f32, n, rep);
  if (pr.err) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: forward failed on a perturbed prediction: %s", name, why);
    return -1;
  }
  return 0;
}

int gradcheck_loss(const plugin_entry *pe, const param_given *given, int n, gradcheck_report *rep) {
  gradcheck_report local;
  if (!rep) rep = &local;
  memset(rep, 0, sizeof *rep);
  const lunet_plugin *p = pe->desc;
  if (p->kind != LUNET_LOSS || !p->loss) {
    services_error("%s: not a loss plugin (it is a %s)", p->name, kind_name(p->kind));
    return -1;
  }
  param_values pv = {0};
  if (params_resolve(p, given, n, &pv)) {
    params_free(&pv);
    return -1;
  }
  char why[N_LOSS_LAYOUTS][512];
  int refused = 0, rc = 0;
  for (int k = 0; k < N_LOSS_LAYOUTS && rc == 0; k++) {
    loss_fixture lf;
    int made = loss_open(&lf, p, &pv, loss_layouts[k], why[k], sizeof why[k]);
    if (made == 0 && (rc = loss_compare(&lf, rep)) == 1) {
      snprintf(why[k], sizeof why[k], "%s", services_last_error());
      made = 1, rc = 0;
    }
    if (made == 1) refused++;
    if (made < 0) rc = -1;
    loss_close(&lf);
  }
  params_free(&pv);
  if (rc) return -1;
  if (refused == N_LOSS_LAYOUTS) {
    services_error("%s: create() accepted no target layout: %d outputs with class indices (%s), "
                   "with real targets (%s); one score with binary classes (%s), with -1/+1 targets "
                   "(%s); tokens (%s)", p->name, GRADCHECK_OUTPUTS, why[0], why[1], why[2], why[3], why[4]);
    return -1;
  }
  return verdict(p->name, rep);
}

/* ---- conformance: a printed tally -------------------------------------- */

enum { OK, WARN, FAIL };

typedef struct tally {
  FILE *out;
  int passed, warned, failed;
  const char *with; /* "the example parameters" or "the given parameters" */
  const char *file; /* the plugin's */
  double timeout;   /* seconds each probe may run; 0: no limit */
  int dead;         /* a probe's process died: the others are not run */
} tally;

static void say(tally *t, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(tally *t, int status, const char *fmt, ...) {
  static const char *const tags[] = {"ok  ", "warn", "FAIL"};
  if (status == OK) t->passed++;
  if (status == WARN) t->warned++;
  if (status == FAIL) t->failed++;
  if (!t->out) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(t->out, "%s  ", tags[status]);
  vfprintf(t->out, fmt, ap);
  fputc('\n', t->out);
  va_end(ap);
}

/* What is wrong with a declaration's default, or NULL. */
static const char *default_problem(const lunet_param_decl *d, char *buf, size_t sz) {
  switch (d->type) {
  case LUNET_INT:
  case LUNET_NUMBER:
    if (!isfinite(d->def) || d->def < d->min || d->def > d->max)
      snprintf(buf, sz, "default %g lies outside its range [%g, %g]", d->def, d->min, d->max);
    else if (d->type == LUNET_INT && d->def != floor(d->def))
      snprintf(buf, sz, "default %g of an int is not a whole number", d->def);
    else
      return NULL;
    return buf;
  case LUNET_BOOL:
    if (d->def == 0 || d->def == 1) return NULL;
    snprintf(buf, sz, "default %g of a bool is neither 0 (false) nor 1 (true)", d->def);
    return buf;
  default:
    if (!d->choices || in_choices(d->choices, d->def_str ? d->def_str : "")) return NULL;
    snprintf(buf, sz, "default \"%s\" is not one of its choices %s", d->def_str ? d->def_str : "",
             d->choices);
    return buf;
  }
}

static void check_declarations(tally *t, const lunet_plugin *p) {
  int bad = 0;
  char buf[256];
  for (int i = 0; i < p->n_params; i++) {
    const lunet_param_decl *d = &p->params[i];
    const char *why = default_problem(d, buf, sizeof buf);
    for (int j = 0; j < i && !why; j++)
      if (strcmp(p->params[j].name, d->name) == 0) why = "is declared twice";
    if (why) {
      say(t, FAIL, "parameter '%s': %s", d->name, why);
      bad++;
    }
    if (!d->doc || !*d->doc) say(t, WARN, "parameter '%s' has no doc line for `lunet describe`", d->name);
  }
  int n;
  param_given *given = check_example_params(p, &n);
  param_values pv = {0};
  if (!bad && params_resolve(p, given, n, &pv)) {
    say(t, FAIL, "parameters: the declared defaults are refused: %s", services_last_error());
    bad++;
  }
  params_free(&pv);
  free(given);
  if (!bad)
    say(t, OK, "parameters: %d declared; every default fits its type, range and choices", p->n_params);
}


/* ---- probes, each in a child process ----------------------------------- */

/* What the probes check: a plugin and the parameters to build it with. */
typedef struct subject {
  const plugin_entry *pe;
  const param_given *given;
  int n;
} subject;

/* A probe says its lines into the tally. */
typedef void (*probe_fn)(tally *t, const subject *s);

typedef struct probe_call {
  const tally *t;
  probe_fn fn;
  const subject *s;
} probe_call;

/* In the child: the probe, then its counts through the pipe. */
static int probe_child(void *ud, int fd) {
  const probe_call *c = ud;
  tally t = *c->t;
  t.passed = t.warned = t.failed = 0;
  c->fn(&t, c->s);
  int counts[3] = {t.passed, t.warned, t.failed};
  return write(fd, counts, sizeof counts) == (ssize_t)sizeof counts ? 0 : 1;
}

/* Runs a probe in a child process with t->timeout seconds. A plugin that
** crashes, aborts, exits or hangs there fails this step, named with the
** file, and the probes after it are not run (a hang would cost each one
** the timeout). Returns the checks it failed. */
static int isolated(tally *t, const char *step, probe_fn fn, const subject *s) {
  probe_call c = {t, fn, s};
  child_result r;
  int counts[3];
  char how[256];
  if (t->dead) return 0;
  if (child_run(probe_child, &c, t->timeout, &r)) {
    say(t, FAIL, "%s: %s", step, services_last_error());
    return 1;
  }
  if (r.len == sizeof counts && r.wstatus == 0) {
    memcpy(counts, r.out, sizeof counts);
    t->passed += counts[0], t->warned += counts[1], t->failed += counts[2];
    return counts[2];
  }
  child_describe_end(&r, t->timeout, how, sizeof how);
  say(t, FAIL, "%s (%s): %s; the probes after it are not run", step, t->file, how);
  t->dead = 1;
  return 1;
}

/* ---- conformance: layers ----------------------------------------------- */

/* Eval mode twice, with different rng states: same finite output. */
static void check_eval_forward(tally *t, layer_fixture *fx) {
  int64_t ny = lunet_numel(&fx->y.shape);
  lunet_rng data;
  rng_seed(&data, GRADCHECK_SEED + 3);
  fill_inputs(fx, &data);
  lunet_ctx ctx = {.size = sizeof(lunet_ctx), .train = 0, .rng = &fx->rng, .device = LUNET_CPU, .reset = 1};
  float *first = NULL;
  for (int pass = 0; pass < 2; pass++) {
    rng_seed(&fx->rng, GRADCHECK_SEED + 10 * (uint64_t)pass);
    fill_nan(fx->y.f32, ny);
    services_clear_error();
    if (fx->api->forward[LUNET_CPU](fx->self, fx->x, &fx->y, &ctx)) {
      say(t, FAIL, "forward in eval mode failed: %s", services_last_error());
      free(first);
      return;
    }
    int64_t bad = first_non_finite(fx->y.f32, ny);
    if (bad >= 0) {
      say(t, FAIL, "forward in eval mode left output element %lld non-finite for a finite input",
          (long long)bad);
      free(first);
      return;
    }
    if (pass == 0) first = copy_floats(fx->y.f32, ny);
  }
  int same = memcmp(first, fx->y.f32, sizeof(float) * (size_t)ny) == 0;
  free(first);
  if (same) say(t, OK, "forward in eval mode: finite and deterministic");
  else say(t, FAIL, "forward in eval mode gave different outputs for the same input; eval mode "
           "must not draw random numbers");
}

/* A model hands its first layer din = NULL (no input gradient wanted):
** backward must then leave the inputs' gradients alone and give the same
** parameter gradients as with din. */
static void check_without_din(tally *t, layer_fixture *fx) {
  lunet_tensor *din = input_grads(fx);
  if (!din) return; /* token ids alone: the gradient check passed it NULL already */
  lunet_rng data;
  rng_seed(&data, GRADCHECK_SEED + 5);
  fill_inputs(fx, &data);
  fill_uniform(fx->r.f32, lunet_numel(&fx->r.shape), &data, -1.0, 1.0);
  int err = 0;
  services_clear_error();
  layer_objective(fx, &err); /* the training-mode forward backward follows */
  if (err || fx->api->backward[LUNET_CPU](fx->self, fx->x, &fx->y, &fx->r, din, &fx->ctx)) {
    say(t, FAIL, "forward and backward in training mode failed: %s", services_last_error());
    return;
  }
  float *with = copy_floats(fx->ws.grads, fx->ws.n_trained);
  fill_nan(fx->ws.grads, fx->ws.n_trained);
  services_clear_error();
  if (!with)
    say(t, FAIL, "check: out of memory");
  else if (fx->api->backward[LUNET_CPU](fx->self, fx->x, &fx->y, &fx->r, NULL, &fx->ctx))
    say(t, FAIL, "backward with din = NULL (no input gradient wanted, as for a model's first "
        "layer) failed: %s", services_last_error());
  else if (memcmp(with, fx->ws.grads, sizeof(float) * (size_t)fx->ws.n_trained) != 0)
    say(t, FAIL, "backward with din = NULL gave other parameter gradients than with din; expected "
        "only the input gradient to be skipped");
  else
    say(t, OK, "backward with din = NULL (a model's first layer): no input gradient, the same "
        "parameter gradients");
  free(with);
}

/* Builds the layer as check_layer_inputs() says and runs check(); a layer
** create() refuses fails. */
static void with_layer(tally *t, const subject *s, void (*check)(tally *, layer_fixture *)) {
  lunet_shape in[LUNET_MAX_INPUTS];
  int n_in = check_layer_inputs(s->pe->desc, in);
  layer_fixture fx = {0};
  if (n_in < 0 || layer_open(&fx, s->pe, s->given, s->n, in, n_in))
    say(t, FAIL, "create with %s: %s", t->with, services_last_error());
  else
    check(t, &fx);
  layer_close(&fx);
}

static void say_created(tally *t, layer_fixture *fx) {
  char a[512], b[128], ids[64] = "";
  shapes_format(fx->in, fx->n_in, a, sizeof a);
  shape_format(&fx->out, b, sizeof b);
  if (fx->ids)
    snprintf(ids, sizeof ids, fx->n_in == 1 ? " of token ids in [0, %lld)" : " (input 0: token ids "
             "in [0, %lld))", (long long)fx->id_limit);
  say(t, OK, "create with %s: input%s %s%s -> output %s, %d parameter tensor%s (%lld trainable "
      "values)%s", t->with, fx->n_in == 1 ? "" : "s", a, ids, b, fx->ws.n, fx->ws.n == 1 ? "" : "s",
      (long long)weights_count(&fx->ws, -1), fx->ws.n ? ", gathered into flat buffers" : "");
}

static void probe_create(tally *t, const subject *s) { with_layer(t, s, say_created); }
static void probe_eval_forward(tally *t, const subject *s) { with_layer(t, s, check_eval_forward); }
static void probe_without_din(tally *t, const subject *s) { with_layer(t, s, check_without_din); }

static void probe_layer_gradients(tally *t, const subject *s) {
  gradcheck_report rep;
  char what[512];
  if (gradcheck_layer(s->pe, s->given, s->n, NULL, &rep)) {
    say(t, FAIL, "%s", services_last_error()); /* "NAME: gradient check failed: ..." */
  } else {
    gradcheck_describe(&rep, what, sizeof what);
    say(t, OK, "gradient check (training mode, batch %d): %s", GRADCHECK_BATCH, what);
  }
}

/* Each probe on a layer of its own, built anew. */
static void check_layer(tally *t, const subject *s) {
  if (isolated(t, "create", probe_create, s)) return;
  isolated(t, "forward in eval mode", probe_eval_forward, s);
  isolated(t, "forward and backward with din = NULL", probe_without_din, s);
  isolated(t, "gradient check", probe_layer_gradients, s);
}

/* ---- conformance: losses ----------------------------------------------- */

/* errors(), when a loss has its own, counts 0..B rows. */
static void check_loss_errors(tally *t, const lunet_plugin *p, const param_values *pv) {
  for (int k = 0; k < N_LOSS_LAYOUTS; k++) {
    loss_fixture lf;
    char why[512];
    int made = loss_open(&lf, p, pv, loss_layouts[k], why, sizeof why);
    if (made == 0) {
      int64_t e = p->loss->errors(lf.self, &lf.pred, &lf.target);
      int rows = GRADCHECK_BATCH * (loss_layouts[k].tokens ? loss_layouts[k].tokens : 1);
      if (e < 0 || e > rows)
        say(t, FAIL, "errors() with %s targets returned %lld for %d rows; expected 0..%d",
            lf.targets, (long long)e, rows, rows);
      else
        say(t, OK, "errors() with %s targets: %lld of %d rows", lf.targets, (long long)e, rows);
    }
    loss_close(&lf);
  }
}

static void probe_loss_gradients(tally *t, const subject *s) {
  gradcheck_report rep;
  char what[512];
  if (gradcheck_loss(s->pe, s->given, s->n, &rep)) {
    say(t, FAIL, "%s", services_last_error()); /* "NAME: gradient check failed: ..." */
  } else {
    gradcheck_describe(&rep, what, sizeof what);
    say(t, OK, "gradient check (batch %d, each target layout it takes): %s", GRADCHECK_BATCH, what);
  }
}

static void probe_loss_errors(tally *t, const subject *s) {
  param_values pv = {0};
  if (params_resolve(s->pe->desc, s->given, s->n, &pv) == 0) check_loss_errors(t, s->pe->desc, &pv);
  params_free(&pv);
}

static void check_loss(tally *t, const subject *s) {
  isolated(t, "gradient check", probe_loss_gradients, s);
  if (s->pe->desc->loss->errors) isolated(t, "errors()", probe_loss_errors, s);
}

/* ---- conformance: optimizers ------------------------------------------- */

enum { MAX_VIEWED = 2 };

/* What an optimizer steps: flat values and gradients, and the tensors in
** them. Filled in place (it points into itself). */
typedef struct flat_view {
  lunet_params ps;
  lunet_param list[MAX_VIEWED];
  lunet_tensor value[MAX_VIEWED], grad[MAX_VIEWED];
} flat_view;

/* Views values[] and grads[] as the n tensors names[i] of shapes[i], laid
** one after the other. */
static void flat_view_init(flat_view *v, float *values, float *grads, const char *const *names,
                           const lunet_shape *shapes, int n) {
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    v->value[i] = f32_tensor(values + off, shapes[i]);
    v->grad[i] = f32_tensor(grads + off, shapes[i]);
    v->list[i] = (lunet_param){names[i], &v->value[i], &v->grad[i]};
    off += lunet_numel(&shapes[i]);
  }
  lunet_shape all = {1, {(int32_t)off}};
  v->ps = (lunet_params){.size = sizeof v->ps, .value = f32_tensor(values, all),
                         .grad = f32_tensor(grads, all), .tensors = v->list, .n = n};
}

/* One step on a weight (2, 2) and a bias (2): each value must move
** against its gradient. */
static void check_step(tally *t, const lunet_plugin *p, const param_values *pv) {
  float w[6] = {0.5f, -0.25f, 0.125f, -0.75f, 0.375f, -0.5f};
  float g[6] = {1.0f, -2.0f, 0.5f, -1.0f, 0.25f, -0.5f}, w0[6];
  memcpy(w0, w, sizeof w);
  flat_view v;
  flat_view_init(&v, w, g, (const char *const[]){"weight", "bias"},
                 (const lunet_shape[]){{2, {2, 2}}, {1, {2}}}, 2);
  services_clear_error();
  void *self = p->optimizer->create(pv->v, &v.ps);
  if (!self) {
    say(t, FAIL, "create with %s: %s", t->with, services_last_error());
    return;
  }
  say(t, OK, "create/destroy with %s, for a weight (2, 2) and a bias (2) in flat buffers", t->with);
  services_clear_error();
  if (p->optimizer->step[LUNET_CPU](self, &v.ps)) {
    say(t, FAIL, "step failed: %s", services_last_error());
  } else {
    int j = 0;
    while (j < 6 && (w[j] - w0[j]) * g[j] < 0) j++;
    if (j < 6)
      say(t, FAIL, "step moved value %d (%s) from %g to %g for gradient %g; expected a move "
          "against the gradient (positive lr)", j, j < 4 ? "weight" : "bias", w0[j], w[j], g[j]);
    else
      say(t, OK, "one step moves every value against its gradient");
  }
  if (p->optimizer->set && p->n_params > 0 && p->params[0].type != LUNET_STRING) {
    services_clear_error();
    if (p->optimizer->set(self, 0, pv->v[0].num))
      say(t, FAIL, "set(0, %g) refused hyper-parameter '%s' its own value: %s", pv->v[0].num,
          p->params[0].name, services_last_error());
    else
      say(t, OK, "set() accepts hyper-parameter '%s' = %g", p->params[0].name, pv->v[0].num);
  }
  p->optimizer->destroy(self);
}

/* A penalty moves a weight whatever its gradient: weight decay, L1. */
static int is_penalty(const lunet_param_decl *d) {
  return (d->type == LUNET_NUMBER || d->type == LUNET_INT) &&
         (strcmp(d->name, "weight_decay") == 0 || strcmp(d->name, "l1") == 0);
}

/* With its penalties at 0, one step leaves a value whose gradient is 0
** exactly where it is (no 0/0 in an adaptive rate, no stray decay). */
static void check_still(tally *t, const lunet_plugin *p, const param_values *pv) {
  char off[96] = "";
  size_t len = 0;
  lunet_value *h = malloc(sizeof *h * (size_t)(p->n_params + 1));
  if (!h) return;
  memcpy(h, pv->v, sizeof *h * (size_t)p->n_params);
  for (int i = 0; i < p->n_params; i++) {
    if (!is_penalty(&p->params[i])) continue;
    if (p->params[i].min > 0) { /* it cannot be turned off: nothing to assert */
      free(h);
      return;
    }
    h[i].num = 0;
    if (len < sizeof off)
      len += (size_t)snprintf(off + len, sizeof off - len, "%s%s", len ? " and " : " (",
                              p->params[i].name);
  }
  if (len && len < sizeof off) snprintf(off + len, sizeof off - len, " at 0)");
  float w[3] = {0.5f, -0.25f, 0.75f}, g[3] = {1.0f, 0.0f, -1.0f};
  flat_view v;
  flat_view_init(&v, w, g, (const char *const[]){"weight"}, (const lunet_shape[]){{1, {3}}}, 1);
  services_clear_error();
  void *self = p->optimizer->create(h, &v.ps);
  if (!self) {
    say(t, FAIL, "create%s: %s", off, services_last_error());
  } else {
    services_clear_error();
    if (p->optimizer->step[LUNET_CPU](self, &v.ps))
      say(t, FAIL, "step%s failed: %s", off, services_last_error());
    else if (w[1] != -0.25f)
      say(t, FAIL, "step%s moved weight[1] from -0.25 to %g though its gradient is 0; expected it "
          "to stay (look for 0/0, such as 0 / (sqrt(v) + eps) with eps = 0)", off, w[1]);
    else
      say(t, OK, "a zero gradient leaves its value unchanged%s", off);
    p->optimizer->destroy(self);
  }
  free(h);
}

/* A closed-form optimizer (one with `fit`) has no gradient step: its step
** must refuse with a message pointing at lunet.train. */
static void check_step_refused(tally *t, const lunet_plugin *p, const param_values *pv) {
  float w[2] = {0.5f, -0.25f}, g[2] = {1.0f, -1.0f};
  flat_view v;
  flat_view_init(&v, w, g, (const char *const[]){"weight"}, (const lunet_shape[]){{1, {2}}}, 1);
  services_clear_error();
  void *self = p->optimizer->create(pv->v, &v.ps);
  if (!self) {
    say(t, FAIL, "create with %s: %s", t->with, services_last_error());
    return;
  }
  services_clear_error();
  if (p->optimizer->step[LUNET_CPU](self, &v.ps) == 0)
    say(t, FAIL, "step succeeded, but a closed-form optimizer (it has fit) must refuse it with a "
        "message pointing at lunet.train");
  else if (!*services_last_error())
    say(t, FAIL, "step refused without a message; expected one pointing at lunet.train");
  else
    say(t, OK, "step refuses, as a closed-form optimizer must: %s", services_last_error());
  p->optimizer->destroy(self);
}

/* Sum of squared residuals |y - phi W^T - b|^2 over n rows. */
static double residual(const float *phi, const float *y, const float *w, const float *b, int n,
                       int p, int T) {
  double sum = 0.0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < T; j++) {
      double r = y[i * T + j] - b[j];
      for (int k = 0; k < p; k++) r -= (double)phi[i * p + k] * w[j * p + k];
      sum += r * r;
    }
  return sum;
}

/* fit() on n = 8 samples of p = 3 features and T = 2 exactly linear
** targets, into a zeroed weight (T, p) and bias (T): the fitted layer must
** explain most of the targets (residual under half of the zero fit's). */
static void check_fit(tally *t, const lunet_plugin *p, const param_values *pv) {
  enum { N = 8, P = 3, T = 2 };
  float phi[N * P], y[N * T], w_true[T * P], b_true[T];
  float values[T * P + T] = {0}, grads[T * P + T] = {0};
  float *w = values, *b = values + T * P;
  lunet_rng rng;
  rng_seed(&rng, GRADCHECK_SEED + 4);
  fill_normal(phi, N * P, &rng);
  fill_normal(w_true, T * P, &rng);
  fill_normal(b_true, T, &rng);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < T; j++) {
      double s = b_true[j];
      for (int k = 0; k < P; k++) s += (double)phi[i * P + k] * w_true[j * P + k];
      y[i * T + j] = (float)s;
    }
  lunet_tensor ft = f32_tensor(phi, (lunet_shape){2, {N, P}});
  lunet_tensor yt = f32_tensor(y, (lunet_shape){2, {N, T}});
  flat_view v;
  flat_view_init(&v, values, grads, (const char *const[]){"weight", "bias"},
                 (const lunet_shape[]){{2, {T, P}}, {1, {T}}}, 2);
  services_clear_error();
  void *self = p->optimizer->create(pv->v, &v.ps);
  if (!self) {
    say(t, FAIL, "create for a final dense layer (weight (2, 3), bias (2)): %s", services_last_error());
    return;
  }
  double before = residual(phi, y, w, b, N, P, T);
  services_clear_error();
  if (p->optimizer->fit(self, &ft, &yt, &v.ps)) {
    say(t, FAIL, "fit on 8 samples, 3 features, 2 targets failed: %s", services_last_error());
  } else {
    double after = residual(phi, y, w, b, N, P, T);
    if (first_non_finite(values, T * P + T) >= 0 || !(after < 0.5 * before))
      say(t, FAIL, "fit on exactly linear targets left a squared residual of %g (zero weights: %g); "
          "expected finite weights that explain most of the targets", after, before);
    else
      say(t, OK, "fit on exactly linear targets: squared residual %.2g (zero weights: %.2g)", after,
          before);
  }
  p->optimizer->destroy(self);
}

static int has_fit(const lunet_optimizer_api *api) {
  return LUNET_HAS_FIELD(api, lunet_optimizer_api, fit) && api->fit != NULL;
}

/* The step check needs a positive learning rate. */
static void positive_lr(const lunet_plugin *p, param_values *pv) {
  for (int i = 0; i < p->n_params; i++)
    if (strcmp(p->params[i].name, "lr") == 0 && p->params[i].type == LUNET_NUMBER &&
        !(pv->v[i].num > 0))
      pv->v[i].num = fmin(1e-2, p->params[i].max);
}

static void check_optimizer(tally *t, const subject *s) {
  const lunet_plugin *p = s->pe->desc;
  param_values pv = {0};
  if (params_resolve(p, s->given, s->n, &pv)) {
    say(t, FAIL, "parameters: %s", services_last_error());
  } else if (has_fit(p->optimizer)) {
    positive_lr(p, &pv);
    check_step_refused(t, p, &pv);
    check_fit(t, p, &pv);
  } else {
    positive_lr(p, &pv);
    check_step(t, p, &pv);
    check_still(t, p, &pv);
  }
  params_free(&pv);
}

/* ---- conformance: datasets --------------------------------------------- */

typedef struct data_fixture {
  param_values pv;
  void *self;
  lunet_dataset_info info;
} data_fixture;

/* Opens the dataset: 0; 1 when the parameters are refused, -1 when open()
** fails, with the reason. data_close() frees either way. */
static int data_open(data_fixture *d, const lunet_plugin *p, const param_given *given, int n) {
  memset(d, 0, sizeof *d);
  d->info.size = sizeof d->info;
  if (params_resolve(p, given, n, &d->pv)) return 1;
  services_clear_error();
  d->self = p->dataset->open(d->pv.v, &d->info);
  if (!d->self && !*services_last_error())
    services_error("%s: open() failed without a reason (a plugin should call host->error())", p->name);
  return d->self ? 0 : -1;
}

static void data_close(data_fixture *d, const lunet_plugin *p) {
  if (d->self) p->dataset->close(d->self);
  params_free(&d->pv);
}

/* What is wrong with the description open() wrote, or NULL. An n_inputs of
** 0 is taken as 1, as the ABI says. A shape leaves room for the batch. */
static const char *info_problem(lunet_dataset_info *info, char *buf, size_t sz) {
  char shp[128];
  if (info->n_inputs == 0) info->n_inputs = 1;
  if (info->n < 0) {
    snprintf(buf, sz, "n = %lld samples, expected at least 0", (long long)info->n);
  } else if (info->n_inputs < 1 || info->n_inputs > LUNET_MAX_INPUTS) {
    snprintf(buf, sz, "n_inputs = %d, expected 1 to %d", info->n_inputs, LUNET_MAX_INPUTS);
  } else if (info->classes < 0) {
    snprintf(buf, sz, "classes = %d, expected 0 (regression) or the number of classes", info->classes);
  } else if (!valid_shape(&info->target, LUNET_MAX_DIMS - 1)) {
    shape_format(&info->target, shp, sizeof shp);
    snprintf(buf, sz, "target shape %s, expected 1 to %d dimensions, each at least 1", shp,
             LUNET_MAX_DIMS - 1);
  } else {
    for (int k = 0; k < info->n_inputs; k++) {
      shape_format(&info->input[k], shp, sizeof shp);
      if (!valid_shape(&info->input[k], LUNET_MAX_DIMS - 1))
        snprintf(buf, sz, "input %d has shape %s, expected 1 to %d dimensions, each at least 1", k,
                 shp, LUNET_MAX_DIMS - 1);
      else if (info->input_dtype[k] != LUNET_F32 && info->input_dtype[k] != LUNET_I32)
        snprintf(buf, sz, "input %d has dtype %d, expected float32 (%d) or int32 token ids (%d)", k,
                 info->input_dtype[k], LUNET_F32, LUNET_I32);
      else
        continue;
      return buf;
    }
    return NULL;
  }
  return buf;
}

/* "(1, 28, 28)"; "(5) int32, (5) int32" for several inputs or token ids. */
static void inputs_format(const lunet_dataset_info *info, char *buf, size_t sz) {
  size_t len = 0;
  for (int k = 0; k < info->n_inputs && len < sz; k++) {
    char one[128];
    shape_format(&info->input[k], one, sizeof one);
    len += (size_t)snprintf(buf + len, sz - len, "%s%s%s", k ? ", " : "", one,
                            info->input_dtype[k] == LUNET_I32 ? " int32" : "");
  }
}

/* The first of ids[0..n) outside [0, vocab), or -1. */
static int64_t first_bad_id(const int32_t *ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= vocab) return i;
  return -1;
}

/* A batch as get() fills it: x[0..n_inputs) and y. */
typedef struct samples {
  lunet_tensor x[LUNET_MAX_INPUTS], y;
  int n_inputs;
} samples;

/* Room for `rows` samples, holding what no get() may leave: NaN, id -1. */
static int samples_alloc(samples *s, const lunet_dataset_info *info, int rows) {
  memset(s, 0, sizeof *s);
  s->n_inputs = info->n_inputs;
  for (int k = 0; k < info->n_inputs; k++) {
    lunet_tensor *x = &s->x[k];
    if (tensor_alloc(x, rows, &info->input[k], info->input_dtype[k])) return -1;
    int64_t n = lunet_numel(&x->shape);
    if (x->dtype == LUNET_I32)
      for (int64_t i = 0; i < n; i++) x->i32[i] = -1;
    else
      fill_nan(x->f32, n);
  }
  if (tensor_alloc(&s->y, rows, &info->target, LUNET_F32)) return -1;
  fill_nan(s->y.f32, lunet_numel(&s->y.shape));
  return 0;
}

static void samples_free(samples *s) {
  for (int k = 0; k < LUNET_MAX_INPUTS; k++) free(s->x[k].data);
  free(s->y.data);
}

static int samples_get(const lunet_plugin *p, data_fixture *d, const int64_t *idx, int rows,
                       samples *s) {
  services_clear_error();
  return p->dataset->get(d->self, idx, rows, s->x, &s->y);
}

/* What is wrong with the values get() wrote, or NULL. Ids lie below the
** vocabulary when the data has one; with classes, every target element is a
** class index (one per sample, or one per position of token data). */
static const char *samples_problem(const samples *s, const lunet_dataset_info *info, char *buf,
                                   size_t sz) {
  int classes = info->classes;
  int64_t vocab = info->vocab > 0 ? info->vocab : INT32_MAX;
  for (int k = 0; k < s->n_inputs; k++) {
    const lunet_tensor *x = &s->x[k];
    int64_t n = lunet_numel(&x->shape);
    for (int64_t i = 0; i < n; i++) {
      if (x->dtype == LUNET_I32 ? x->i32[i] >= 0 && x->i32[i] < vocab : isfinite(x->f32[i])) continue;
      if (x->dtype == LUNET_I32)
        snprintf(buf, sz, "input %d element %lld is id %d; expected every element written, ids "
                 "from 0 to vocab - 1 = %lld", k, (long long)i, (int)x->i32[i], (long long)vocab - 1);
      else
        snprintf(buf, sz, "input %d element %lld is %g; expected every element written, finite", k,
                 (long long)i, x->f32[i]);
      return buf;
    }
  }
  int64_t ny = lunet_numel(&s->y.shape), bad = first_non_finite(s->y.f32, ny);
  if (bad >= 0) {
    snprintf(buf, sz, "target element %lld is %g; expected every element written, finite",
             (long long)bad, s->y.f32[bad]);
    return buf;
  }
  for (int64_t i = 0; i < ny && classes > 0; i++) {
    float c = s->y.f32[i];
    if (c >= 0 && c < (float)classes && c == floorf(c)) continue;
    snprintf(buf, sz, "target element %lld is %g, not a class index 0..%d", (long long)i, c,
             classes - 1);
    return buf;
  }
  return NULL;
}

/* Where two batches of the same samples idx[] differ, as "input 0 of
** sample 24", or NULL when they are bit-identical. */
static const char *samples_differ(const samples *a, const samples *b, const int64_t *idx,
                                  char *buf, size_t sz) {
  for (int k = 0; k <= a->n_inputs; k++) {
    const lunet_tensor *u = k < a->n_inputs ? &a->x[k] : &a->y;
    const lunet_tensor *v = k < a->n_inputs ? &b->x[k] : &b->y;
    int64_t n = lunet_numel(&u->shape), row = lunet_row_size(u);
    for (int64_t i = 0; i < n; i++) {
      if (memcmp((const char *)u->data + 4 * i, (const char *)v->data + 4 * i, 4) == 0) continue;
      if (k < a->n_inputs) snprintf(buf, sz, "input %d of sample %lld", k, (long long)idx[i / row]);
      else snprintf(buf, sz, "the target of sample %lld", (long long)idx[i / row]);
      return buf;
    }
  }
  return NULL;
}

/* Do two opens describe the same data? */
static int same_info(const lunet_dataset_info *a, const lunet_dataset_info *b) {
  if (a->n != b->n || a->n_inputs != b->n_inputs || a->classes != b->classes ||
      !lunet_same_shape(&a->target, &b->target))
    return 0;
  for (int k = 0; k < a->n_inputs; k++)
    if (!lunet_same_shape(&a->input[k], &b->input[k]) || a->input_dtype[k] != b->input_dtype[k]) return 0;
  return 1;
}

/* A second open with the same parameters must give bit-identical samples:
** the same seed gives the same data, so that a run can be repeated. */
static void check_same_samples(tally *t, const lunet_plugin *p, const param_given *given, int n,
                               const data_fixture *first, const int64_t *idx, const samples *s0) {
  static const char hint[] = "expected the same seed to give the same samples, bit for bit (draw "
                             "every random number from a stream seeded by the parameters)";
  data_fixture d;
  samples s = {0};
  char why[256];
  int rows = s0->y.shape.dim[0];
  if (data_open(&d, p, given, n)) {
    say(t, FAIL, "a second open with the same parameters failed: %s", services_last_error());
  } else if (info_problem(&d.info, why, sizeof why) || !same_info(&d.info, &first->info)) {
    say(t, FAIL, "a second open with the same parameters described other data (size, shapes, "
        "dtypes or classes); %s", hint);
  } else if (samples_alloc(&s, &d.info, rows) || samples_get(p, &d, idx, rows, &s)) {
    say(t, FAIL, "get() from a second open with the same parameters failed: %s", services_last_error());
  } else if (samples_differ(s0, &s, idx, why, sizeof why)) {
    say(t, FAIL, "two opens with the same parameters gave different samples (%s differs); %s", why,
        hint);
  } else {
    say(t, OK, "same parameters, same samples: a second open gives them bit for bit");
  }
  samples_free(&s);
  data_close(&d, p);
}

/* The text of ids[0..n) from decode() into *text (malloc'ed): its length,
** or -1 after an error. The first call has room for 16 bytes, the second
** for what the first asked for, as the contract says. */
static int64_t decode_all(const lunet_plugin *p, data_fixture *d, const int32_t *ids, int64_t n,
                          char **text) {
  int64_t cap = 16, len = -1;
  for (int pass = 0; pass < 2; pass++) {
    if (!(*text = malloc((size_t)cap))) break;
    services_clear_error();
    len = p->dataset->decode(d->self, ids, n, *text, cap);
    if (len >= 0 && len < cap && (*text)[len] != '\0') {
      services_error("decode returned length %lld without a NUL after the text", (long long)len);
      return -1;
    }
    if (len < cap) break;
    free(*text);
    *text = NULL;
    cap = len + 1;
  }
  if (len < 0 || !*text) {
    if (!*services_last_error()) services_error("decode failed without a reason, or asked for room twice");
    return -1;
  }
  return len;
}

/* The ids of text[0..len) from encode() into *ids (malloc'ed): how many, or
** -1 after an error. The first call has room for 1 id, the second for all. */
static int64_t encode_all(const lunet_plugin *p, data_fixture *d, const char *text, int64_t len,
                          int32_t **ids) {
  int64_t cap = 1, got = -1;
  for (int pass = 0; pass < 2; pass++) {
    if (!(*ids = malloc(sizeof **ids * (size_t)cap))) break;
    services_clear_error();
    got = p->dataset->encode(d->self, text, (size_t)len, *ids, cap);
    if (got <= cap) break;
    free(*ids);
    *ids = NULL;
    cap = got;
  }
  if (got < 0 || !*ids) {
    if (!*services_last_error()) services_error("encode failed without a reason, or asked for room twice");
    return -1;
  }
  return got;
}

/* What is wrong with decode and encode on the ids x[0..n), or NULL with a
** summary in buf: their text s must encode to ids in [0, vocab) that decode
** back to s. */
static const char *tokenizer_problem(const lunet_plugin *p, data_fixture *d, const int32_t *x,
                                     int64_t n, char *buf, size_t sz) {
  char *text = NULL, *again = NULL;
  int32_t *ids = NULL;
  int64_t vocab = d->info.vocab, len, len2 = -1, got = -1, bad = -1;
  int failed = 1;
  if ((len = decode_all(p, d, x, n, &text)) < 0)
    snprintf(buf, sz, "decode of sample 0's %lld ids failed: %s", (long long)n, services_last_error());
  else if ((got = encode_all(p, d, text, len, &ids)) < 0)
    snprintf(buf, sz, "encode of sample 0's text failed: %s", services_last_error());
  else if ((bad = first_bad_id(ids, got, vocab)) >= 0)
    snprintf(buf, sz, "encode gave id %d, expected ids 0..%lld", (int)ids[bad], (long long)vocab - 1);
  else if ((len2 = decode_all(p, d, ids, got, &again)) != len || memcmp(again, text, (size_t)len))
    snprintf(buf, sz, "s = decode(sample 0's ids) has %lld bytes, decode(encode(s)) %lld%s; expected "
             "the same text", (long long)len, (long long)len2, len2 == len ? " that differ" : "");
  else
    failed = 0;
  if (!failed)
    snprintf(buf, sz, "encode and decode: sample 0's %lld ids decode to %lld bytes, which encode to "
             "%lld ids in 0..%lld that decode back to them", (long long)n, (long long)len,
             (long long)got, (long long)vocab - 1);
  free(text);
  free(again);
  free(ids);
  return failed ? buf : NULL;
}

/* Text data (encode and decode, ABI 2.1) declares a vocab, and its
** tokenizer gives back the text of sample 0. */
static void check_tokenizer(tally *t, const lunet_plugin *p, data_fixture *d, const lunet_tensor *x) {
  const lunet_dataset_api *api = p->dataset;
  char why[512];
  if (!LUNET_HAS_FIELD(api, lunet_dataset_api, decode) || !api->encode || !api->decode) return;
  if (d->info.vocab <= 0 || x->dtype != LUNET_I32)
    say(t, FAIL, "encode and decode are set, but open() gave no vocab (info.vocab = %lld) or no "
        "int32 ids; expected token data", (long long)d->info.vocab);
  else if (tokenizer_problem(p, d, x->i32, lunet_row_size(x), why, sizeof why))
    say(t, FAIL, "%s", why);
  else
    say(t, OK, "%s", why);
}

/* Samples 0 and n-1: written, finite, ids from 0, valid class targets,
** and the same from a second open. */
static void check_samples(tally *t, const lunet_plugin *p, const param_given *given, int n,
                          data_fixture *d) {
  int rows = d->info.n < 2 ? (int)d->info.n : 2;
  int64_t idx[2] = {0, d->info.n - 1};
  samples s = {0};
  char why[256];
  if (rows == 0)
    say(t, WARN, "the dataset opened with %s is empty", t->with);
  else if (samples_alloc(&s, &d->info, rows))
    say(t, FAIL, "%s", services_last_error());
  else if (samples_get(p, d, idx, rows, &s))
    say(t, FAIL, "get() of samples 0 and %lld failed: %s", (long long)idx[1], services_last_error());
  else if (samples_problem(&s, &d->info, why, sizeof why))
    say(t, FAIL, "get() of samples 0 and %lld: %s", (long long)idx[1], why);
  else {
    say(t, OK, "get() writes every element: finite values%s%s",
        d->info.input_dtype[0] == LUNET_I32 ? ", token ids from 0" : "",
        d->info.classes ? ", valid classes" : "");
    check_same_samples(t, p, given, n, d, idx, &s);
    check_tokenizer(t, p, d, &s.x[0]);
  }
  samples_free(&s);
}

static void check_dataset(tally *t, const subject *s) {
  const lunet_plugin *p = s->pe->desc;
  data_fixture d;
  char why[256], in[512], tg[128];
  int rc = data_open(&d, p, s->given, s->n);
  if (rc > 0) {
    say(t, FAIL, "parameters: %s", services_last_error());
  } else if (rc < 0) { /* data files may legitimately be missing where this runs */
    say(t, WARN, "open with %s failed (data missing? set LUNET_DATA_DIR): %s", t->with,
        services_last_error());
  } else if (info_problem(&d.info, why, sizeof why)) {
    say(t, FAIL, "open() described its data inconsistently: %s", why);
  } else {
    inputs_format(&d.info, in, sizeof in);
    shape_format(&d.info.target, tg, sizeof tg);
    say(t, OK, "open with %s: %lld sample%s, input%s %s, target %s, %d classes", t->with,
        (long long)d.info.n, d.info.n == 1 ? "" : "s", d.info.n_inputs == 1 ? "" : "s", in, tg,
        d.info.classes);
    check_samples(t, p, s->given, s->n, &d);
  }
  data_close(&d, p);
}

/* ---- the command ------------------------------------------------------- */

/* The declarations here; each probe that runs the plugin's code in a child
** process with `timeout` seconds (0: no limit). */
static int check_all(const plugin_entry *pe, const param_given *over, int n_over, double timeout, FILE *out,
                     int *warnings) {
  tally t = {out, 0, 0, 0, n_over ? "the given parameters" : "the example parameters", pe->path, timeout, 0};
  int n;
  param_given *given = check_params(pe->desc, over, n_over, &n);
  subject s = {pe, given, n};
  check_declarations(&t, pe->desc);
  switch (pe->desc->kind) {
  case LUNET_LAYER: check_layer(&t, &s); break;
  case LUNET_LOSS: check_loss(&t, &s); break;
  case LUNET_OPTIMIZER:
    isolated(&t, has_fit(pe->desc->optimizer) ? "step and fit" : "step", check_optimizer, &s);
    break;
  case LUNET_DATASET: isolated(&t, "open and get", check_dataset, &s); break;
  }
  free(given);
  if (warnings) *warnings = t.warned;
  return t.failed;
}

int check_plugin_params(const plugin_entry *pe, const param_given *over, int n_over, FILE *out,
                        int *warnings) {
  return check_all(pe, over, n_over, 0, out, warnings);
}

int check_plugin(const plugin_entry *pe, FILE *out, int *warnings) {
  return check_all(pe, NULL, 0, 0, out, warnings);
}

static void check_usage(void) {
  fprintf(stderr,
          "usage: lunet check FILE.so [NAME=VALUE ...] [--timeout S]\n"
          "  conformance check of one plugin file: ABI, declared parameters and, for\n"
          "  layers and losses, a finite-difference gradient check\n"
          "  NAME=VALUE   build the plugin with this parameter value instead of its\n"
          "               example one: a number, true or false, or text (out=3 init=xavier)\n"
          "  --timeout S  seconds the load, and each probe, may run in its child process\n"
          "               (default: LUNET_PLUGIN_TIMEOUT, or %g)\n", REGISTRY_LOAD_TIMEOUT);
}

/* NAME=VALUE as the plugin's declaration of NAME reads it: text for a
** string parameter; else true or false, a number, or text (which
** params_resolve() then refuses, naming the parameter). Splits `arg` at the
** '='; -1 when there is none. */
static int parse_override(const lunet_plugin *p, char *arg, param_given *g) {
  char *eq = strchr(arg, '=');
  if (!eq || eq == arg) return -1;
  *eq = '\0';
  const char *v = eq + 1;
  int text = 0;
  for (int i = 0; i < p->n_params; i++)
    if (strcmp(p->params[i].name, arg) == 0) text = p->params[i].type == LUNET_STRING;
  char *end;
  double num = strtod(v, &end);
  *g = (param_given){.name = arg, .type = LUNET_STRING, .str = v};
  if (text) return 0;
  if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
    *g = (param_given){.name = arg, .type = LUNET_BOOL, .num = v[0] == 't'};
  else if (*v && !isspace((unsigned char)*v) && *end == '\0')
    *g = (param_given){.name = arg, .type = LUNET_NUMBER, .num = num};
  return 0;
}

/* Reads argv[0..argc) into over[] and has the plugin's declarations judge
** them: 0, or 2 (a usage error) after saying why on stderr. */
static int read_overrides(const lunet_plugin *p, int argc, char **argv, param_given *over) {
  if (argc == 0) return 0; /* the example values: check_declarations() judges them */
  for (int i = 0; i < argc; i++) {
    if (parse_override(p, argv[i], &over[i]) == 0) continue;
    fprintf(stderr, "lunet check: expected NAME=VALUE after the file, got '%s'\n", argv[i]);
    check_usage();
    return 2;
  }
  int n;
  param_given *given = check_params(p, over, argc, &n);
  param_values pv = {0};
  int bad = params_resolve(p, given, n, &pv) != 0;
  if (bad) fprintf(stderr, "lunet check: %s (see `lunet describe %s`)\n", services_last_error(), p->name);
  params_free(&pv);
  free(given);
  return bad ? 2 : 0;
}

/* Takes --timeout S out of argv[0..*argc): 0, or 2 after saying why. */
static int read_timeout(int *argc, char **argv, double *timeout) {
  *timeout = registry_load_timeout();
  int i = 0;
  while (i < *argc && strcmp(argv[i], "--timeout") != 0) i++;
  if (i == *argc) return 0;
  const char *v = i + 1 < *argc ? argv[i + 1] : "";
  char *end;
  *timeout = strtod(v, &end);
  if (end == v || *end || !(*timeout > 0 && *timeout <= 1e6)) {
    fprintf(stderr, "lunet check: --timeout expects seconds, a number in (0, 1e6]; got '%s'\n", v);
    return 2;
  }
  memmove(argv + i, argv + i + 2, sizeof *argv * (size_t)(*argc - i - 2));
  *argc -= 2;
  return 0;
}

int check_main(int argc, char **argv) {
  double timeout;
  if (read_timeout(&argc, argv, &timeout)) return 2;
  if (argc < 1 || argv[0][0] == '-') {
    check_usage();
    return 2;
  }
  /* one line at a time, before each probe's child process writes its own */
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* dlopen() searches the library path for a bare name: make it a path */
  char path[4096], why[256], *paths[1] = {path};
  snprintf(path, sizeof path, "%s%s", strchr(argv[0], '/') ? "" : "./", argv[0]);
  printf("lunet check %s", path);
  for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
  printf("\n");
  plugin_entry pe;
  if (registry_trial_load(paths, 1, timeout, why, sizeof why) < 1) {
    printf("FAIL  load (dlopen and initialisation, in a child process): %s: %s\n", path, why);
    printf("%s: FAILED (it cannot be loaded)\n", path);
    return 1;
  }
  if (registry_load_file(path, &pe)) {
    printf("FAIL  load: %s\n", services_last_error());
    printf("%s: FAILED (it cannot be loaded)\n", path);
    return 1;
  }
  const lunet_plugin *p = pe.desc;
  printf("ok    load: %s '%s' %s, plugin ABI %u.%u (this lunet: %d.%d)\n", kind_name(p->kind), p->name,
         p->version, p->abi_major, p->abi_minor, LUNET_ABI_MAJOR, LUNET_ABI_MINOR);
  param_given *over = calloc((size_t)argc, sizeof *over);
  int rc = over ? read_overrides(p, argc - 1, argv + 1, over) : 1;
  if (rc == 0) {
    int warnings = 0, failed = check_all(&pe, over, argc - 1, timeout, stdout, &warnings);
    if (failed)
      printf("%s: FAILED, %d check%s failed, %d warning%s\n", path, failed, failed == 1 ? "" : "s",
             warnings, warnings == 1 ? "" : "s");
    else
      printf("%s: passed, %d warning%s\n", path, warnings, warnings == 1 ? "" : "s");
    rc = failed ? 1 : 0;
  }
  free(over);
  free(pe.path); /* the handle stays open: the descriptor lives in it */
  return rc;
}
