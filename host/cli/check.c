/*
** check.c -- `lunet check FILE.so`: conformance of one plugin file to the
** ABI and to its own declarations, and the finite-difference gradient check
** of layers and losses (the test suite runs the same functions).
**
** The gradient check
**
**   A layer f is probed through the scalar L = sum_k r_k f(x, w)_k, r a
**   fixed random projection: its backward with dout = r must return dL/dx
**   and dL/dw. A loss is probed through its own value, and its gradient
**   must be dloss/dpred. For each compared element v,
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
**   Overwriting. The output, the input gradient and every parameter
**   gradient are filled with NaN before forward and backward, so an element
**   a plugin leaves unwritten, or accumulates into, fails the check.
*/
#include "cli/check.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "nn/dataset.h"
#include "runtime/services.h"

#define MAX_KINK_FRACTION 0.1 /* skipped elements allowed, as a fraction */

/* ---- example parameters ------------------------------------------------ */

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

lunet_shape check_layer_input(const lunet_plugin *p) {
  lunet_shape s = {1, {5}};
  const lunet_layer_api *api = p->layer;
  /* check_input may lie beyond the table of an older plugin: size says */
  if (api && LUNET_HAS_FIELD(api, lunet_layer_api, check_input) && api->check_input.ndim > 0)
    s = api->check_input;
  return s;
}

/* ---- small tensors for the checks -------------------------------------- */

static int valid_shape(const lunet_shape *s, int max_ndim) {
  if (s->ndim < 1 || s->ndim > max_ndim) return 0;
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 1) return 0;
  return 1;
}

/* (batch, per_sample...) of zeros; -1 when out of memory. */
static int tensor_alloc(lunet_tensor *t, int batch, const lunet_shape *per_sample) {
  t->shape.ndim = per_sample->ndim + 1;
  t->shape.dim[0] = batch;
  memcpy(t->shape.dim + 1, per_sample->dim, sizeof(int) * (size_t)per_sample->ndim);
  t->device = LUNET_CPU;
  t->data = calloc((size_t)lunet_numel(&t->shape), sizeof(float));
  if (!t->data) services_error("check: out of memory");
  return t->data ? 0 : -1;
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
                   "derivative formulas of backward and that it overwrites every gradient",
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
  lunet_shape in, out;   /* per sample */
  lunet_tensor x, y, dx; /* (B, in...), (B, out...), (B, in...) */
  lunet_tensor r;        /* (B, out...): the projection, also the dout */
  lunet_param *params;
  int n_params;
  lunet_rng rng;
  lunet_ctx ctx;
} layer_fixture;

static void layer_close(layer_fixture *fx) {
  if (fx->self) fx->api->destroy(fx->self);
  params_free(&fx->pv);
  free(fx->x.data);
  free(fx->y.data);
  free(fx->dx.data);
  free(fx->r.data);
  free(fx->params);
  memset(fx, 0, sizeof *fx);
}

/* What parameters() lists must be usable: named uniquely, with data, and
** a gradient of the value's shape. 0, or -1 with the reason. */
static int check_param_list(const layer_fixture *fx) {
  for (int i = 0; i < fx->n_params; i++) {
    const lunet_param *q = &fx->params[i];
    const char *why = NULL;
    if (!q->name || !*q->name) why = "has no name";
    else if (!q->value || !q->value->data) why = "has no value tensor";
    else if (q->value->shape.ndim < 0 || q->value->shape.ndim > LUNET_MAX_DIMS ||
             lunet_numel(&q->value->shape) < 1)
      why = "has an invalid shape";
    else if (q->grad && (!q->grad->data || lunet_numel(&q->grad->shape) != lunet_numel(&q->value->shape)))
      why = "has a gradient tensor that does not match its value";
    for (int j = 0; j < i && !why; j++)
      if (fx->params[j].name && strcmp(fx->params[j].name, q->name) == 0) why = "has the name of another one";
    if (why) {
      services_error("%s: parameter tensor %d ('%s') %s; expected a unique name, a value and "
                     "a gradient (or NULL for a buffer) of the same shape", fx->p->name, i + 1,
                     q->name ? q->name : "", why);
      return -1;
    }
  }
  return 0;
}

static int list_params(layer_fixture *fx) {
  int n = fx->api->parameters(fx->self, NULL, 0);
  if (n < 0 || n > 4096) {
    services_error("%s: parameters(self, NULL, 0) returned %d; expected the number of tensors",
                   fx->p->name, n);
    return -1;
  }
  fx->params = calloc((size_t)n + 1, sizeof *fx->params);
  int again = fx->api->parameters(fx->self, fx->params, n);
  if (again != n) {
    services_error("%s: parameters() counts %d tensors with cap 0 but %d with cap %d; expected "
                   "the same count", fx->p->name, n, again, n);
    return -1;
  }
  fx->n_params = n;
  return check_param_list(fx);
}

/* Builds the layer and its buffers for a batch of GRADCHECK_BATCH rows. On
** failure, -1 with the reason; layer_close() frees either way. */
static int layer_open(layer_fixture *fx, const plugin_entry *pe, const param_given *given, int n,
                      const lunet_shape *in) {
  char shp[128], why[1024];
  memset(fx, 0, sizeof *fx);
  fx->p = pe->desc;
  fx->api = pe->desc->layer;
  if (fx->p->kind != LUNET_LAYER || !fx->api) {
    services_error("%s: not a layer plugin (it is a %s)", fx->p->name, kind_name(fx->p->kind));
    return -1;
  }
  shape_format(in, shp, sizeof shp);
  if (!valid_shape(in, LUNET_MAX_DIMS - 1)) {
    services_error("%s: check input shape %s is invalid; expected 1 to %d dimensions, each at "
                   "least 1", fx->p->name, shp, LUNET_MAX_DIMS - 1);
    return -1;
  }
  if (params_resolve(fx->p, given, n, &fx->pv)) return -1;
  fx->in = *in;
  rng_seed(&fx->rng, GRADCHECK_SEED);
  services_clear_error();
  fx->self = fx->api->create(fx->pv.v, in, &fx->out, &fx->rng);
  if (!fx->self) {
    copy_error(why, sizeof why, "no reason given (a plugin should call host->error())");
    services_error("%s: create() refused input shape %s with the example parameters: %s",
                   fx->p->name, shp, why);
    return -1;
  }
  if (!valid_shape(&fx->out, LUNET_MAX_DIMS - 1)) {
    shape_format(&fx->out, shp, sizeof shp);
    services_error("%s: create() gave output shape %s; expected 1 to %d dimensions, each at "
                   "least 1", fx->p->name, shp, LUNET_MAX_DIMS - 1);
    return -1;
  }
  services_clear_error();
  if (fx->api->reserve && fx->api->reserve(fx->self, GRADCHECK_BATCH)) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: reserve(%d) failed: %s", fx->p->name, GRADCHECK_BATCH, why);
    return -1;
  }
  if (tensor_alloc(&fx->x, GRADCHECK_BATCH, &fx->in) || tensor_alloc(&fx->dx, GRADCHECK_BATCH, &fx->in) ||
      tensor_alloc(&fx->y, GRADCHECK_BATCH, &fx->out) || tensor_alloc(&fx->r, GRADCHECK_BATCH, &fx->out))
    return -1;
  fx->ctx = (lunet_ctx){.size = sizeof(lunet_ctx), .train = 1, .rng = &fx->rng};
  return list_params(fx);
}

/* L = sum_k r_k y_k after a training-mode forward with the rng reset. */
static double layer_objective(void *ud, int *err) {
  layer_fixture *fx = ud;
  rng_seed(&fx->rng, GRADCHECK_SEED);
  if (fx->api->forward[LUNET_CPU](fx->self, &fx->x, &fx->y, &fx->ctx)) {
    *err = 1;
    return NAN;
  }
  double sum = 0.0;
  int64_t n = lunet_numel(&fx->y.shape);
  for (int64_t i = 0; i < n; i++) sum += (double)fx->r.data[i] * (double)fx->y.data[i];
  return sum;
}

static float *copy_floats(const float *x, int64_t n) {
  float *c = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (c) memcpy(c, x, sizeof(float) * (size_t)n);
  return c;
}

/* The analytic gradients (backward with dout = r) after the base forward;
** out[0] for the input, out[1 + i] for parameter i (NULL for a buffer). */
static int layer_analytic(layer_fixture *fx, probe *pr, float **out) {
  char why[1024];
  const char *name = fx->p->name;
  int64_t ny = lunet_numel(&fx->y.shape), nx = lunet_numel(&fx->x.shape);
  fill_nan(fx->y.data, ny);
  services_clear_error();
  pr->f0 = layer_objective(fx, &pr->err);
  if (pr->err) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: forward (training mode) failed: %s", name, why);
    return -1;
  }
  int64_t bad = first_non_finite(fx->y.data, ny);
  if (bad >= 0) {
    services_error("%s: forward left output element %lld non-finite for a finite input; it must "
                   "write every element of out", name, (long long)bad);
    return -1;
  }
  fill_nan(fx->dx.data, nx);
  for (int i = 0; i < fx->n_params; i++)
    if (fx->params[i].grad) fill_nan(fx->params[i].grad->data, lunet_numel(&fx->params[i].grad->shape));
  services_clear_error();
  if (fx->api->backward[LUNET_CPU](fx->self, &fx->x, &fx->y, &fx->r, &fx->dx)) {
    copy_error(why, sizeof why, "no reason given");
    services_error("%s: backward failed: %s", name, why);
    return -1;
  }
  out[0] = copy_floats(fx->dx.data, nx);
  for (int i = 0; i < fx->n_params; i++) {
    const lunet_tensor *g = fx->params[i].grad;
    out[1 + i] = g ? copy_floats(g->data, lunet_numel(&g->shape)) : NULL;
  }
  return 0;
}

static int layer_gradients(layer_fixture *fx, gradcheck_report *rep) {
  lunet_rng data;
  rng_seed(&data, GRADCHECK_SEED + 1);
  fill_normal(fx->x.data, lunet_numel(&fx->x.shape), &data);
  fill_uniform(fx->r.data, lunet_numel(&fx->r.shape), &data, -1.0, 1.0);
  probe pr = {layer_objective, fx, 0.0, 0};
  float **analytic = calloc((size_t)fx->n_params + 1, sizeof *analytic);
  int rc = layer_analytic(fx, &pr, analytic);
  if (rc == 0) {
    compare_tensor(&pr, "input", "", fx->x.data, analytic[0], lunet_numel(&fx->x.shape), rep);
    for (int i = 0; i < fx->n_params && !pr.err; i++) {
      const lunet_param *q = &fx->params[i];
      if (q->grad)
        compare_tensor(&pr, q->name, "", q->value->data, analytic[1 + i], lunet_numel(&q->value->shape), rep);
    }
    if (pr.err) {
      char why[1024];
      copy_error(why, sizeof why, "no reason given");
      services_error("%s: forward failed on a perturbed input: %s", fx->p->name, why);
      rc = -1;
    } else {
      rc = verdict(fx->p->name, rep);
    }
  }
  for (int i = 0; i <= fx->n_params; i++) free(analytic[i]);
  free(analytic);
  return rc;
}

int gradcheck_layer(const plugin_entry *pe, const param_given *given, int n, const lunet_shape *in,
                    gradcheck_report *rep) {
  gradcheck_report local;
  if (!rep) rep = &local;
  memset(rep, 0, sizeof *rep);
  lunet_shape shape = in ? *in : check_layer_input(pe->desc);
  layer_fixture fx;
  int rc = layer_open(&fx, pe, given, n, &shape);
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

/* Creates the loss for P outputs: class-index targets {1} with classes =
** P, or regression targets {P} with classes = 0. 1 when create() refuses
** (the reason in why), 0 when made, -1 out of memory. */
/* The target layouts a loss is tried with: P outputs with class indices
** (classes = P) or with P real targets, and one output (a score) with
** binary class indices (classes = 2) or with targets -1/+1. */
typedef struct loss_layout {
  int outputs, classes;
} loss_layout;

static const loss_layout loss_layouts[] = {
  {GRADCHECK_OUTPUTS, GRADCHECK_OUTPUTS}, {GRADCHECK_OUTPUTS, 0}, {1, 2}, {1, 0}};
enum { N_LOSS_LAYOUTS = sizeof loss_layouts / sizeof loss_layouts[0] };

static int loss_open(loss_fixture *lf, const lunet_plugin *p, const param_values *pv, loss_layout lay,
                     char *why, size_t wsz) {
  const int B = GRADCHECK_BATCH, P = lay.outputs, classes = lay.classes;
  lunet_shape ps = {1, {P}}, ts = {1, {classes ? 1 : P}};
  memset(lf, 0, sizeof *lf);
  lf->p = p;
  lf->targets = classes ? "class" : "regression";
  services_clear_error();
  lf->self = p->loss->create(pv->v, &ps, &ts, classes);
  if (!lf->self) {
    copy_error(why, wsz, "refused without a reason");
    return 1;
  }
  if (tensor_alloc(&lf->pred, B, &ps) || tensor_alloc(&lf->target, B, &ts) || tensor_alloc(&lf->grad, B, &ps))
    return -1;
  lunet_rng rng;
  rng_seed(&rng, GRADCHECK_SEED + 2);
  fill_normal(lf->pred.data, (int64_t)B * P, &rng);
  for (int i = 0; i < B; i++) {
    float *t = lf->target.data + (size_t)i * (classes ? 1 : P);
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
  fill_nan(lf->grad.data, n);
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
  compare_tensor(&pr, "pred", suffix, lf->pred.data, lf->grad.data, n, rep);
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
                   "with real targets (%s); one score with binary classes (%s), with -1/+1 targets (%s)",
                   p->name, GRADCHECK_OUTPUTS, why[0], why[1], why[2], why[3]);
    return -1;
  }
  return verdict(p->name, rep);
}

/* ---- conformance: a printed tally -------------------------------------- */

enum { OK, WARN, FAIL };

typedef struct tally {
  FILE *out;
  int passed, warned, failed;
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

/* ---- conformance: layers ----------------------------------------------- */

/* Eval mode twice, with different rng states: same finite output. */
static void check_eval_forward(tally *t, layer_fixture *fx) {
  int64_t ny = lunet_numel(&fx->y.shape);
  lunet_rng data;
  rng_seed(&data, GRADCHECK_SEED + 3);
  fill_normal(fx->x.data, lunet_numel(&fx->x.shape), &data);
  lunet_ctx ctx = {.size = sizeof(lunet_ctx), .train = 0, .rng = &fx->rng};
  float *first = NULL;
  for (int pass = 0; pass < 2; pass++) {
    rng_seed(&fx->rng, GRADCHECK_SEED + 10 * (uint64_t)pass);
    fill_nan(fx->y.data, ny);
    services_clear_error();
    if (fx->api->forward[LUNET_CPU](fx->self, &fx->x, &fx->y, &ctx)) {
      say(t, FAIL, "forward in eval mode failed: %s", services_last_error());
      free(first);
      return;
    }
    int64_t bad = first_non_finite(fx->y.data, ny);
    if (bad >= 0) {
      say(t, FAIL, "forward in eval mode left output element %lld non-finite for a finite input",
          (long long)bad);
      free(first);
      return;
    }
    if (pass == 0) first = copy_floats(fx->y.data, ny);
  }
  int same = memcmp(first, fx->y.data, sizeof(float) * (size_t)ny) == 0;
  free(first);
  if (same) say(t, OK, "forward in eval mode: finite and deterministic");
  else say(t, FAIL, "forward in eval mode gave different outputs for the same input; eval mode "
           "must not draw random numbers");
}

static void check_layer(tally *t, const plugin_entry *pe) {
  const lunet_plugin *p = pe->desc;
  int n;
  param_given *given = check_example_params(p, &n);
  lunet_shape in = check_layer_input(p);
  layer_fixture fx;
  if (layer_open(&fx, pe, given, n, &in)) {
    say(t, FAIL, "create with the example parameters: %s", services_last_error());
  } else {
    char a[128], b[128];
    int64_t trained = 0;
    for (int i = 0; i < fx.n_params; i++)
      if (fx.params[i].grad) trained += lunet_numel(&fx.params[i].value->shape);
    shape_format(&fx.in, a, sizeof a);
    shape_format(&fx.out, b, sizeof b);
    say(t, OK, "create with the example parameters: input %s -> output %s, %d parameter tensor%s "
        "(%lld trainable values)", a, b, fx.n_params, fx.n_params == 1 ? "" : "s", (long long)trained);
    check_eval_forward(t, &fx);
    gradcheck_report rep;
    char what[512];
    if (gradcheck_layer(pe, given, n, &in, &rep)) {
      say(t, FAIL, "%s", services_last_error()); /* "NAME: gradient check failed: ..." */
    } else {
      gradcheck_describe(&rep, what, sizeof what);
      say(t, OK, "gradient check (training mode, batch %d): %s", GRADCHECK_BATCH, what);
    }
  }
  layer_close(&fx);
  free(given);
}

/* ---- conformance: losses ----------------------------------------------- */

/* errors(), when a loss has its own, counts 0..B rows. */
static void check_loss_errors(tally *t, const lunet_plugin *p, const param_values *pv) {
  if (!p->loss->errors) return;
  for (int k = 0; k < N_LOSS_LAYOUTS; k++) {
    loss_fixture lf;
    char why[512];
    int made = loss_open(&lf, p, pv, loss_layouts[k], why, sizeof why);
    if (made == 0) {
      int64_t e = p->loss->errors(lf.self, &lf.pred, &lf.target);
      if (e < 0 || e > GRADCHECK_BATCH)
        say(t, FAIL, "errors() with %s targets returned %lld for a batch of %d; expected 0..%d",
            lf.targets, (long long)e, GRADCHECK_BATCH, GRADCHECK_BATCH);
      else
        say(t, OK, "errors() with %s targets: %lld of %d rows", lf.targets, (long long)e, GRADCHECK_BATCH);
    }
    loss_close(&lf);
  }
}

static void check_loss(tally *t, const plugin_entry *pe) {
  const lunet_plugin *p = pe->desc;
  int n;
  param_given *given = check_example_params(p, &n);
  gradcheck_report rep;
  char what[512];
  if (gradcheck_loss(pe, given, n, &rep)) {
    say(t, FAIL, "%s", services_last_error()); /* "NAME: gradient check failed: ..." */
  } else {
    gradcheck_describe(&rep, what, sizeof what);
    say(t, OK, "gradient check (batch %d, each target layout it takes): %s", GRADCHECK_BATCH, what);
  }
  param_values pv = {0};
  if (params_resolve(p, given, n, &pv) == 0) check_loss_errors(t, p, &pv);
  params_free(&pv);
  free(given);
}

/* ---- conformance: optimizers ------------------------------------------- */

/* One step on a 4-element weight and a 2-element buffer: each weight must
** move against its gradient, the buffer (grad NULL) must not move. */
static void check_step(tally *t, const lunet_plugin *p, const param_values *pv) {
  float w[4] = {0.5f, -0.25f, 0.125f, -0.75f}, g[4] = {1.0f, -2.0f, 0.5f, -1.0f};
  float buf[2] = {1.0f, 2.0f}, w0[4];
  memcpy(w0, w, sizeof w);
  lunet_tensor wt = {w, {1, {4}}, LUNET_CPU}, gt = {g, {1, {4}}, LUNET_CPU};
  lunet_tensor bt = {buf, {1, {2}}, LUNET_CPU};
  lunet_param tensors[2] = {{"weight", &wt, &gt}, {"buffer", &bt, NULL}};
  services_clear_error();
  void *self = p->optimizer->create(pv->v, tensors, 2);
  if (!self) {
    say(t, FAIL, "create with the example parameters: %s", services_last_error());
    return;
  }
  say(t, OK, "create/destroy with the example parameters");
  services_clear_error();
  if (p->optimizer->step[LUNET_CPU](self, tensors, 2)) {
    say(t, FAIL, "step failed: %s", services_last_error());
  } else {
    int j = 0;
    while (j < 4 && (w[j] - w0[j]) * g[j] < 0) j++;
    if (j < 4)
      say(t, FAIL, "step moved weight[%d] from %g to %g for gradient %g; expected a move against "
          "the gradient (positive lr)", j, w0[j], w[j], g[j]);
    else if (buf[0] != 1.0f || buf[1] != 2.0f)
      say(t, FAIL, "step changed a buffer (grad = NULL); expected it to be skipped");
    else
      say(t, OK, "one step moves every weight against its gradient and leaves buffers alone");
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

/* A closed-form optimizer (ABI 1.1 `fit`) has no gradient step: its step
** must refuse with a message pointing at lunet.train. */
static void check_step_refused(tally *t, const lunet_plugin *p, const param_values *pv) {
  float w[2] = {0.5f, -0.25f}, g[2] = {1.0f, -1.0f};
  lunet_tensor wt = {w, {1, {2}}, LUNET_CPU}, gt = {g, {1, {2}}, LUNET_CPU};
  lunet_param tensors[1] = {{"weight", &wt, &gt}};
  void *self = p->optimizer->create(pv->v, tensors, 1);
  if (!self) {
    say(t, FAIL, "create with the example parameters: %s", services_last_error());
    return;
  }
  services_clear_error();
  if (p->optimizer->step[LUNET_CPU](self, tensors, 1) == 0)
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
  float w[T * P] = {0}, b[T] = {0}, gw[T * P] = {0}, gb[T] = {0};
  lunet_rng rng;
  rng_seed(&rng, GRADCHECK_SEED + 4);
  fill_normal(phi, N * P, &rng);
  fill_normal(w_true, T * P, &rng);
  fill_normal(b_true, T, &rng);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < T; j++) {
      double v = b_true[j];
      for (int k = 0; k < P; k++) v += (double)phi[i * P + k] * w_true[j * P + k];
      y[i * T + j] = (float)v;
    }
  lunet_tensor ft = {phi, {2, {N, P}}, LUNET_CPU}, yt = {y, {2, {N, T}}, LUNET_CPU};
  lunet_tensor wt = {w, {2, {T, P}}, LUNET_CPU}, gwt = {gw, {2, {T, P}}, LUNET_CPU};
  lunet_tensor bt = {b, {1, {T}}, LUNET_CPU}, gbt = {gb, {1, {T}}, LUNET_CPU};
  lunet_param tensors[2] = {{"weight", &wt, &gwt}, {"bias", &bt, &gbt}};
  void *self = p->optimizer->create(pv->v, tensors, 2);
  if (!self) {
    say(t, FAIL, "create for a final dense layer (weight (2, 3), bias (2)): %s", services_last_error());
    return;
  }
  double before = residual(phi, y, w, b, N, P, T);
  services_clear_error();
  if (p->optimizer->fit(self, &ft, &yt, tensors, 2)) {
    say(t, FAIL, "fit on 8 samples, 3 features, 2 targets failed: %s", services_last_error());
  } else {
    double after = residual(phi, y, w, b, N, P, T);
    if (first_non_finite(w, T * P) >= 0 || first_non_finite(b, T) >= 0 || !(after < 0.5 * before))
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

static void check_optimizer(tally *t, const plugin_entry *pe) {
  const lunet_plugin *p = pe->desc;
  int n;
  param_given *given = check_example_params(p, &n);
  for (int i = 0; i < n; i++) /* the step check needs a positive learning rate */
    if (strcmp(given[i].name, "lr") == 0 && given[i].type == LUNET_NUMBER && !(given[i].num > 0))
      given[i].num = fmin(1e-2, p->params[i].max);
  param_values pv = {0};
  if (params_resolve(p, given, n, &pv)) {
    say(t, FAIL, "parameters: %s", services_last_error());
  } else if (has_fit(p->optimizer)) {
    check_step_refused(t, p, &pv);
    check_fit(t, p, &pv);
  } else {
    check_step(t, p, &pv);
  }
  params_free(&pv);
  free(given);
}

/* ---- conformance: datasets --------------------------------------------- */

/* Samples from an opened dataset: finite inputs, valid class targets. */
static void check_samples(tally *t, dataset *ds) {
  int k = ds->info.n < 2 ? (int)ds->info.n : 2;
  int64_t xs = dataset_input_size(ds), ys = dataset_target_size(ds);
  int64_t idx[2] = {0, ds->info.n - 1};
  float *x = calloc((size_t)(k * xs + 1), sizeof *x), *y = calloc((size_t)(k * ys + 1), sizeof *y);
  services_clear_error();
  if (k == 0) {
    say(t, WARN, "the dataset opened with the example parameters is empty");
  } else if (dataset_get(ds, idx, k, x, y)) {
    say(t, FAIL, "get() of samples 0 and %lld failed: %s", (long long)idx[1], services_last_error());
  } else if (first_non_finite(x, k * xs) >= 0 || first_non_finite(y, k * ys) >= 0) {
    say(t, FAIL, "get() returned non-finite values");
  } else {
    int ok = 1;
    for (int i = 0; i < k && ds->info.classes > 0 && ys == 1; i++)
      ok &= y[i] >= 0 && y[i] < (float)ds->info.classes && y[i] == floorf(y[i]);
    if (ok) say(t, OK, "get() returns finite samples%s", ds->info.classes ? " and valid classes" : "");
    else say(t, FAIL, "get() returned a target that is not a class index 0..%d", ds->info.classes - 1);
  }
  free(x);
  free(y);
}

static void check_dataset(tally *t, const plugin_entry *pe) {
  int n;
  param_given *given = check_example_params(pe->desc, &n);
  dataset *ds = dataset_open(pe, given, n);
  free(given);
  if (!ds) { /* data files may legitimately be missing where this runs */
    say(t, WARN, "open with the example parameters failed (data missing? set LUNET_DATA_DIR): %s",
        services_last_error());
    return;
  }
  char a[128], b[128];
  shape_format(&ds->info.input, a, sizeof a);
  shape_format(&ds->info.target, b, sizeof b);
  say(t, OK, "open with the example parameters: %lld samples, input %s, target %s, %d classes",
      (long long)ds->info.n, a, b, ds->info.classes);
  check_samples(t, ds);
  dataset_close(ds);
}

/* ---- the command ------------------------------------------------------- */

int check_plugin(const plugin_entry *pe, FILE *out, int *warnings) {
  tally t = {out, 0, 0, 0};
  check_declarations(&t, pe->desc);
  switch (pe->desc->kind) {
  case LUNET_LAYER: check_layer(&t, pe); break;
  case LUNET_LOSS: check_loss(&t, pe); break;
  case LUNET_OPTIMIZER: check_optimizer(&t, pe); break;
  case LUNET_DATASET: check_dataset(&t, pe); break;
  }
  if (warnings) *warnings = t.warned;
  return t.failed;
}

int check_main(int argc, char **argv) {
  if (argc != 1 || argv[0][0] == '-') {
    fprintf(stderr, "usage: lunet check FILE.so\n"
                    "  conformance check of one plugin file: ABI, declared parameters and, for\n"
                    "  layers and losses, a finite-difference gradient check\n");
    return 2;
  }
  /* dlopen() searches the library path for a bare name: make it a path */
  char path[4096];
  snprintf(path, sizeof path, "%s%s", strchr(argv[0], '/') ? "" : "./", argv[0]);
  printf("lunet check %s\n", path);
  plugin_entry pe;
  if (registry_load_file(path, &pe)) {
    printf("FAIL  load: %s\n", services_last_error());
    printf("%s: FAILED (it cannot be loaded)\n", path);
    return 1;
  }
  const lunet_plugin *p = pe.desc;
  printf("ok    load: %s '%s' %s, plugin ABI %u.%u (this lunet: %d.%d)\n", kind_name(p->kind), p->name,
         p->version, p->abi_major, p->abi_minor, LUNET_ABI_MAJOR, LUNET_ABI_MINOR);
  int warnings = 0, failed = check_plugin(&pe, stdout, &warnings);
  if (failed)
    printf("%s: FAILED, %d check%s failed, %d warning%s\n", path, failed, failed == 1 ? "" : "s",
           warnings, warnings == 1 ? "" : "s");
  else
    printf("%s: passed, %d warning%s\n", path, warnings, warnings == 1 ? "" : "s");
  free(pe.path); /* the handle stays open: the descriptor lives in it */
  return failed ? 1 : 0;
}
