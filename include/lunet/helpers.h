/*
** lunet/helpers.h -- the boilerplate of a plugin, so that its file holds its
** math and little else. Optional: everything here is written on top of
** lunet/plugin.h, which stays the ABI.
**
** A plugin file includes this header once, declares its parameters and
** function table, and ends with one line that makes the descriptor and the
** entry point:
**
**     #include <lunet/helpers.h>
**     ...
**     LUNET_LAYER_PLUGIN(api, "scaled_tanh", "0.1.0", "y = a tanh(x)", LUNET_PARAMS(params));
**
** The services are then in the static `host`. What else is here:
**   - lunet_shape_text(): "(2, 3)" for messages;
**   - lunet_expect_rank(): the common "expected (C, H, W)" check;
**   - lunet_init_weights(): the he / xavier / normal initialisations of
**     dense and convolution layers, with LUNET_INIT_CHOICES for their decl;
**   - lunet_hyper_check(): an optimizer's set() value against its decl;
**   - lunet_alloc_floats(), lunet_expect_values(): an optimizer's state of
**     one float per trained value, and step()'s check of that count;
**   - lunet_state_floats(), lunet_state_counter(): the items of an
**     optimizer's state(), for training checkpoints;
**   - lunet_check_samples(): a dataset get()'s sample indices;
**   - LUNET_ON_CUDA(), lunet_cuda_check(): a plugin's CUDA entries.
*/
#ifndef LUNET_HELPERS_H
#define LUNET_HELPERS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lunet/plugin.h>

/* The host's services; set by the entry point LUNET_PLUGIN defines. */
static const lunet_host *host;

/* ---- the descriptor and the entry block -------------------------------- */

/* The last arguments of LUNET_PLUGIN: a declaration array, or none. */
#define LUNET_PARAMS(decls) decls, (int)(sizeof decls / sizeof decls[0])
#define LUNET_NO_PARAMS NULL, 0

/* Defines the descriptor of a plugin of kind KIND (LUNET_LAYER, ...) whose
** function table `api` goes in the descriptor's field FIELD (layer, loss,
** optimizer, dataset), and the entry point lunet_plugin_init. */
#define LUNET_PLUGIN(KIND, FIELD, api, NAME, VERSION, SUMMARY, ...)                         \
  static const lunet_plugin lunet_descriptor_ = {                                            \
    .size = sizeof(lunet_plugin), .abi_major = LUNET_ABI_MAJOR, .abi_minor = LUNET_ABI_MINOR, \
    .kind = KIND, .name = NAME, .version = VERSION, .summary = SUMMARY,                      \
    .FIELD = &api, LUNET_DECLS_(__VA_ARGS__)};                                               \
  const lunet_plugin *lunet_plugin_init(const lunet_host *h) {                               \
    host = h;                                                                                \
    return &lunet_descriptor_;                                                               \
  }
#define LUNET_DECLS_(decls, count) .params = decls, .n_params = count

#define LUNET_LAYER_PLUGIN(api, ...) LUNET_PLUGIN(LUNET_LAYER, layer, api, __VA_ARGS__)
#define LUNET_LOSS_PLUGIN(api, ...) LUNET_PLUGIN(LUNET_LOSS, loss, api, __VA_ARGS__)
#define LUNET_OPTIMIZER_PLUGIN(api, ...) LUNET_PLUGIN(LUNET_OPTIMIZER, optimizer, api, __VA_ARGS__)
#define LUNET_DATASET_PLUGIN(api, ...) LUNET_PLUGIN(LUNET_DATASET, dataset, api, __VA_ARGS__)

/* ---- shapes ------------------------------------------------------------ */

#define LUNET_SHAPE_TEXT 112 /* room for the text of any shape */

/* Writes `s` as "(2, 3)" into buf (LUNET_SHAPE_TEXT bytes) and returns buf,
** for use inside a message: lunet_shape_text(in, (char[LUNET_SHAPE_TEXT]){0}). */
static inline const char *lunet_shape_text(const lunet_shape *s, char *buf) {
  int len = snprintf(buf, LUNET_SHAPE_TEXT, "(");
  for (int i = 0; i < s->ndim && len < LUNET_SHAPE_TEXT; i++)
    len += snprintf(buf + len, (size_t)(LUNET_SHAPE_TEXT - len), i ? ", %d" : "%d", (int)s->dim[i]);
  if (len < LUNET_SHAPE_TEXT) snprintf(buf + len, (size_t)(LUNET_SHAPE_TEXT - len), ")");
  return buf;
}

/* 0 when `in` has `ndim` dimensions, each at least 1; else an error such as
** "conv2d: expected input (C, H, W), got (5)" and -1. */
static inline int lunet_expect_rank(const char *plugin, const lunet_shape *in, int ndim,
                                    const char *layout) {
  int ok = in->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = in->dim[i] >= 1;
  if (ok) return 0;
  char buf[LUNET_SHAPE_TEXT];
  host->error("%s: expected input %s, every size at least 1, got %s", plugin, layout,
              lunet_shape_text(in, buf));
  return -1;
}

/* ---- weight initialisation --------------------------------------------- */

#define LUNET_INIT_CHOICES "he|xavier|normal"

/* Fills w (n values) by `scheme`:
**   he      N(0, 2 / fan_in)                    (ReLU networks)
**   xavier  U(-a, a), a = sqrt(6 / (fan_in + fan_out))
**   normal  N(0, std^2)
** drawing from rng in index order. */
static inline void lunet_init_weights(float *w, int64_t n, const char *scheme, double fan_in,
                                      double fan_out, double std, lunet_rng *rng) {
  if (strcmp(scheme, "xavier") == 0) {
    double a = sqrt(6.0 / (fan_in + fan_out));
    for (int64_t i = 0; i < n; i++) w[i] = (float)(a * (2 * host->rng_uniform(rng) - 1));
    return;
  }
  if (strcmp(scheme, "he") == 0) std = sqrt(2.0 / fan_in);
  for (int64_t i = 0; i < n; i++) w[i] = (float)(std * host->rng_normal(rng));
}

/* ---- optimizers -------------------------------------------------------- */

/* Checks `v` for hyper-parameter `index` of an optimizer with decls[0..n):
** the index exists, a bool is 0 or 1, a number lies in its range. 0, or -1
** after an error naming the plugin. */
static inline int lunet_hyper_check(const char *plugin, const lunet_param_decl *decls, int n,
                                    int index, double v) {
  if (index < 0 || index >= n) {
    host->error("%s: no hyper-parameter number %d, expected 0..%d", plugin, index, n - 1);
    return -1;
  }
  const lunet_param_decl *d = &decls[index];
  if (d->type == LUNET_BOOL && v != 0 && v != 1) {
    host->error("%s: %s = %g, expected 0 or 1 (false or true)", plugin, d->name, v);
    return -1;
  }
  if ((d->type == LUNET_INT || d->type == LUNET_NUMBER) && !(v >= d->min && v <= d->max)) {
    host->error("%s: %s = %g, expected %g to %g", plugin, d->name, v, d->min, d->max);
    return -1;
  }
  return 0;
}

/* n zero-filled floats of CPU memory, at least one so that a model with
** nothing to train still gets a valid buffer; NULL after an error. */
static inline float *lunet_alloc_floats(int64_t n) {
  return host->alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
}

/* The same on `device` (ps->value.device: where the values it steps live),
** and its free; NULL is freed as nothing. */
static inline float *lunet_alloc_floats_on(int device, int64_t n) {
  return host->device[device]->alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
}
static inline void lunet_free_on(int device, void *p) {
  if (p) host->device[device]->free(p);
}

/* 0 when `ps` holds the n trained values that create() saw; else an error
** naming the plugin and -1. */
static inline int lunet_expect_values(const char *plugin, const lunet_params *ps, int64_t n) {
  int64_t got = lunet_numel(&ps->value.shape);
  if (got == n) return 0;
  host->error("%s: step got %lld values, expected the %lld given to create", plugin,
              (long long)got, (long long)n);
  return -1;
}

/* An optimizer's state() item: n floats `x` named `name`. Returns 1. */
static inline int lunet_state_floats(lunet_state_item *item, const char *name, float *x, int64_t n) {
  item->name = name, item->f32 = x, item->i64 = NULL, item->n = n;
  return 1;
}

/* An optimizer's state() item: the counter *c (steps taken). Returns 1. */
static inline int lunet_state_counter(lunet_state_item *item, const char *name, int64_t *c) {
  item->name = name, item->f32 = NULL, item->i64 = c, item->n = 1;
  return 1;
}

/* ---- datasets ---------------------------------------------------------- */

/* Checks the sample indices idx[0..n) given to a dataset's get() against
** its `count` samples. 0, or -1 after an error naming the plugin. */
static inline int lunet_check_samples(const char *plugin, const int64_t *idx, int n,
                                      int64_t count) {
  if (n < 0) {
    host->error("%s: get() of %d samples, expected a count >= 0", plugin, n);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    if (idx[i] < 0 || idx[i] >= count) {
      host->error("%s: sample index %lld (batch position %d) is out of range, expected 0..%lld",
                  plugin, (long long)idx[i], i, (long long)count - 1);
      return -1;
    }
  }
  return 0;
}

/* ---- CUDA entries (docs/cuda.md) --------------------------------------- */

/* In a function table, `[LUNET_CPU] = f LUNET_ON_CUDA(f_cuda)` adds the
** CUDA entry only when the plugin is built with its .cu (LUNET_WITH_CUDA). */
#ifdef LUNET_WITH_CUDA
#define LUNET_ON_CUDA(fn) , [LUNET_CUDA] = fn
#else
#define LUNET_ON_CUDA(fn)
#endif

/* 0 when a launcher of the plugin's .cu returned 0; else an error naming
** the plugin and the CUDA error number, and -1. */
static inline int lunet_cuda_check(const char *plugin, int err) {
  if (!err) return 0;
  host->error("%s: a CUDA kernel failed to launch (cudaError_t %d)", plugin, err);
  return -1;
}

#endif /* LUNET_HELPERS_H */
