/*
** gpu_parity.c -- every CUDA entry of every plugin against its CPU
** reference, on random shapes: what bench/gpu_check.sh runs first on a
** machine with a GPU (docs/cuda.md).
**
**     gpu_parity [--rounds R] [--seed S]
**
** For each layer with CUDA entries: one instance, built for a random
** batch and a random stretch of its `lunet check` input shape, runs forward
** and backward (in training mode, and every second round in evaluation
** mode) on the CPU, then on the GPU with the same parameters,
** inputs and output gradient; the output, every input gradient and every
** parameter gradient must agree, and so must the buffers a run updates
** (batchnorm's running statistics; the GPU run starts from the values the
** CPU run started from). Before each run y, dx and the parameter gradients
** are NaN, so an entry that leaves an element unwritten, or adds to it
** instead of overwriting it (the ABI's backward overwrites), fails: on the
** CPU half too ("UNWRITTEN"), which a machine without a GPU runs. For each optimizer with a CUDA step: two
** instances, one per device, take three steps on the same values and
** gradients; the values must agree. Each runs with its example parameters
** and with the variants below (the kernels' other branches); a stateful
** variant runs a first forward before, so that the checked one continues
** from the state it carried. Agreement: max |gpu - cpu| <=
** PARITY_RTOL * max |cpu| over each tensor (fp32; summation orders differ).
**
** Prints one line per check. Exit status: 0 all agreed; 1 a mismatch or a
** failure; 77 no GPU (after the CPU half of every check ran, which is what
** a machine without one can test).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tensor.h"
#include "base/text.h"
#include "cli/check.h"
#include "runtime/devices.h"
#include "runtime/services.h"

#define PARITY_RTOL 1e-4
#define MAX_PARAMS 64

/* ---- memory on either device ------------------------------------------- */

static void *alloc_on(int dev, size_t bytes) { return device_services(dev)->alloc(bytes); }
static void free_on(int dev, void *p) { if (p) device_services(dev)->free(p); }

/* A host array's copy on the GPU; NULL after an error. */
static void *to_gpu(const void *host, size_t bytes) {
  void *d = alloc_on(LUNET_CUDA, bytes);
  if (d && device_services(LUNET_CUDA)->copy(d, host, bytes, LUNET_COPY_TO_DEVICE)) {
    free_on(LUNET_CUDA, d);
    return NULL;
  }
  return d;
}

/* A GPU array's copy into host memory; 0 or -1. */
static int from_gpu(void *host, const void *dev, size_t bytes) {
  return device_services(LUNET_CUDA)->copy(host, dev, bytes, LUNET_COPY_FROM_DEVICE);
}

static void fill_normal(float *x, int64_t n, lunet_rng *rng) {
  for (int64_t i = 0; i < n; i++) x[i] = (float)rng_normal(rng);
}

/* max |b - a| / max |a|: the error of b against the reference a. */
static double rel_error(const float *a, const float *b, int64_t n) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < n; i++) {
    if (fabs((double)b[i] - a[i]) > diff || isnan(b[i])) diff = isnan(b[i]) ? INFINITY : fabs((double)b[i] - a[i]);
    if (fabs(a[i]) > scale) scale = fabs(a[i]);
  }
  return scale > 0 ? diff / scale : diff;
}

/* Fills n floats at p on `dev` with NaN. Before each run y, dx and the
** parameter gradients are poisoned so: the ABI's backward overwrites them,
** and an element an entry leaves unwritten, or adds to, stays NaN (zeroed
** memory would hide both on either device). 0 or -1. */
static int poison(int dev, void *p, int64_t n) {
  float *h = dev == LUNET_CPU ? p : alloc_on(LUNET_CPU, sizeof(float) * (size_t)n);
  if (!h) return -1;
  for (int64_t i = 0; i < n; i++) h[i] = NAN;
  if (dev == LUNET_CPU) return 0;
  int rc = device_services(dev)->copy(p, h, sizeof(float) * (size_t)n, LUNET_COPY_TO_DEVICE);
  free_on(LUNET_CPU, h);
  return rc;
}

/* Whether any of n floats is NaN. */
static int has_nan(const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (isnan(x[i])) return 1;
  return 0;
}

/* ---- a layer's parameters, registered in create() ---------------------- */

typedef struct plist {
  int n;
  lunet_tensor *value[MAX_PARAMS], *grad[MAX_PARAMS];
  char name[MAX_PARAMS][48];
  int64_t numel[MAX_PARAMS];
  float *host_v[MAX_PARAMS], *host_g[MAX_PARAMS]; /* the CPU run's memory */
  float *dev_v[MAX_PARAMS], *dev_g[MAX_PARAMS];   /* the GPU run's copies */
  float *start_v[MAX_PARAMS];                     /* the values both runs start from */
} plist;

static int register_param(const lunet_build *b, const char *name, lunet_tensor *value, lunet_tensor *grad,
                          const lunet_shape *shape) {
  plist *pl = b->host_data;
  if (pl->n == MAX_PARAMS) {
    services_error("gpu_parity: more than %d parameters", MAX_PARAMS);
    return -1;
  }
  int i = pl->n++;
  pl->numel[i] = lunet_numel(shape);
  snprintf(pl->name[i], sizeof pl->name[i], "%s", name);
  size_t bytes = sizeof(float) * (size_t)(pl->numel[i] ? pl->numel[i] : 1);
  pl->host_v[i] = alloc_on(LUNET_CPU, bytes);
  pl->host_g[i] = alloc_on(LUNET_CPU, bytes);
  pl->value[i] = value, pl->grad[i] = grad;
  *value = (lunet_tensor){.size = sizeof *value, .dtype = LUNET_F32, .device = LUNET_CPU, .shape = *shape,
                          .data = pl->host_v[i]};
  if (grad) *grad = *value, grad->data = pl->host_g[i];
  return pl->host_v[i] && pl->host_g[i] ? 0 : -1;
}

/* ---- one layer on one device ------------------------------------------- */

/* What one run reads and writes: k inputs, their gradients, the output and
** its gradient, with the batch B. */
typedef struct run_io {
  int k, B, ids;
  lunet_tensor x[LUNET_MAX_INPUTS], dx[LUNET_MAX_INPUTS], y, dy;
} run_io;

static int64_t numel(const lunet_tensor *t) { return lunet_numel(&t->shape); }

/* forward then backward of `self` on `dev` over io's tensors (already there).
** With `carry` (a stateful layer), a first forward from zero state comes
** before, and the checked forward continues from the state it left: y is
** poisoned again between the two. */
static int run_layer(const lunet_layer_api *api, void *self, run_io *io, int dev, int train, int carry) {
  lunet_rng rng;
  rng_seed(&rng, 7);
  lunet_ctx ctx = {.size = sizeof ctx, .train = train, .rng = &rng, .device = dev, .reset = 1};
  services_clear_error();
  if (api->reserve && api->reserve(self, io->B, dev)) return -1;
  if (carry && (api->forward[dev](self, io->x, &io->y, &ctx) || poison(dev, io->y.data, numel(&io->y)))) return -1;
  ctx.reset = !carry;
  if (api->forward[dev](self, io->x, &io->y, &ctx)) return -1;
  return api->backward[dev](self, io->x, &io->y, &io->dy, io->dx, &ctx);
}

/* Poisons (NaN) what a run on `dev` must write: y, the wanted dx and the
** parameter gradients. 0 or -1. */
static int poison_outputs(run_io *io, plist *pl, int dev) {
  int rc = poison(dev, io->y.data, numel(&io->y));
  for (int j = 0; rc == 0 && j < io->k; j++)
    if (io->dx[j].data) rc = poison(dev, io->dx[j].data, numel(&io->x[j]));
  for (int i = 0; rc == 0 && i < pl->n; i++)
    if (pl->grad[i]) rc = poison(dev, pl->grad[i]->data, pl->numel[i]);
  return rc;
}

/* The first of the CPU run's y, dx and parameter gradients that holds a NaN
** (an element its entry did not write), or NULL. */
static const char *cpu_unwritten(const run_io *io, const plist *pl) {
  if (has_nan(io->y.f32, numel(&io->y))) return "y";
  for (int j = 0; j < io->k; j++)
    if (io->dx[j].data && has_nan(io->dx[j].f32, numel(&io->x[j]))) return "dx";
  for (int i = 0; i < pl->n; i++)
    if (pl->grad[i] && has_nan(pl->host_g[i], pl->numel[i])) return pl->name[i];
  return NULL;
}

/* Moves io's tensors and the parameters to the GPU (copies of the CPU
** run's inputs and output gradient, and of the parameter values the CPU
** run started from: a training forward updates buffers such as running
** means); keeps the CPU results in `cpu`. */
static int io_to_gpu(run_io *io, run_io *cpu, plist *pl) {
  *cpu = *io;
  for (int j = 0; j < io->k; j++) {
    size_t bytes = 4 * (size_t)numel(&io->x[j]);
    if (!(io->x[j].data = to_gpu(cpu->x[j].data, bytes))) return -1;
    io->x[j].device = LUNET_CUDA;
    if (cpu->dx[j].data && !(io->dx[j].data = alloc_on(LUNET_CUDA, bytes))) return -1;
    io->dx[j].device = LUNET_CUDA;
  }
  if (!(io->y.data = alloc_on(LUNET_CUDA, 4 * (size_t)numel(&io->y))) ||
      !(io->dy.data = to_gpu(cpu->dy.data, 4 * (size_t)numel(&io->dy))))
    return -1;
  io->y.device = io->dy.device = LUNET_CUDA;
  for (int i = 0; i < pl->n; i++) {
    size_t bytes = sizeof(float) * (size_t)pl->numel[i];
    if (!(pl->dev_v[i] = to_gpu(pl->start_v[i], bytes))) return -1;
    pl->value[i]->data = pl->dev_v[i], pl->value[i]->device = LUNET_CUDA;
    if (!pl->grad[i]) continue;
    if (!(pl->dev_g[i] = alloc_on(LUNET_CUDA, bytes))) return -1;
    pl->grad[i]->data = pl->dev_g[i], pl->grad[i]->device = LUNET_CUDA;
  }
  return 0;
}

/* Compares the GPU run (io, parameters on the GPU) with the CPU's; prints
** the errors; the worst into *worst. 0, or -1 when a copy failed. */
static int compare(run_io *io, run_io *cpu, plist *pl, double *worst, char *line, size_t sz) {
  size_t len = strlen(line);
  int64_t most = numel(&io->y);
  for (int j = 0; j < io->k; j++) most = numel(&io->x[j]) > most ? numel(&io->x[j]) : most;
  for (int i = 0; i < pl->n; i++) most = pl->numel[i] > most ? pl->numel[i] : most;
  float *back = alloc_on(LUNET_CPU, sizeof(float) * (size_t)most);
  if (!back) return -1;
#define CHECK(label, host_ref, dev_ptr, n)                                                   \
  do {                                                                                       \
    if (from_gpu(back, dev_ptr, sizeof(float) * (size_t)(n))) goto fail;                     \
    double e = rel_error(host_ref, back, n);                                                 \
    if (!(e <= *worst)) *worst = e;                                                          \
    len += (size_t)snprintf(line + len, len < sz ? sz - len : 0, " %s %.1e", label, e);      \
  } while (0)
  CHECK("y", cpu->y.f32, io->y.data, numel(&io->y));
  for (int j = 0; j < io->k; j++)
    if (cpu->dx[j].data) CHECK("dx", cpu->dx[j].f32, io->dx[j].data, numel(&io->x[j]));
  for (int i = 0; i < pl->n; i++) {
    char label[64];
    snprintf(label, sizeof label, "d%s", pl->name[i]);
    if (pl->grad[i]) CHECK(label, pl->host_g[i], pl->grad[i]->data, pl->numel[i]);
    else CHECK(pl->name[i], pl->host_v[i], pl->value[i]->data, pl->numel[i]); /* a buffer the run updates */
  }
#undef CHECK
  free_on(LUNET_CPU, back);
  return 0;
fail:
  free_on(LUNET_CPU, back);
  return -1;
}

/* Per-sample input shapes: the layer's check shapes, each size stretched
** by one random factor per axis (the same for every input, so that inputs
** that must match still do); `stretch` 0 keeps them. */
static int input_shapes(const lunet_plugin *p, lunet_shape *in, lunet_rng *rng, int stretch) {
  int k = check_layer_inputs(p, in);
  for (int a = 0; stretch && k > 0 && a < in[0].ndim; a++) {
    int f = 1 + (int)(rng_u64(rng) % 3);
    for (int j = 0; j < k; j++) in[j].dim[a] *= f;
  }
  return k;
}

/* Allocates and fills the CPU run's tensors for per-sample shapes in[0..k)
** and output shape `out`. */
static int io_alloc_cpu(run_io *io, const lunet_shape *in, const lunet_shape *out, int64_t id_limit,
                        lunet_rng *rng) {
  for (int j = 0; j < io->k; j++) {
    int ids = j == 0 && io->ids;
    tensor_batched(&io->x[j], &in[j], ids ? LUNET_I32 : LUNET_F32, io->B);
    io->dx[j] = io->x[j];
    size_t bytes = 4 * (size_t)numel(&io->x[j]);
    if (!(io->x[j].data = alloc_on(LUNET_CPU, bytes))) return -1;
    if (ids)
      for (int64_t i = 0; i < numel(&io->x[j]); i++) io->x[j].i32[i] = (int32_t)(rng_u64(rng) % (uint64_t)id_limit);
    else fill_normal(io->x[j].f32, numel(&io->x[j]), rng);
    io->dx[j].dtype = LUNET_F32;
    io->dx[j].data = ids ? NULL : alloc_on(LUNET_CPU, bytes);
    if (!ids && !io->dx[j].data) return -1;
  }
  tensor_batched(&io->y, out, LUNET_F32, io->B);
  io->dy = io->y;
  if (!(io->y.data = alloc_on(LUNET_CPU, 4 * (size_t)numel(&io->y))) ||
      !(io->dy.data = alloc_on(LUNET_CPU, 4 * (size_t)numel(&io->y))))
    return -1;
  fill_normal(io->dy.f32, numel(&io->dy), rng);
  return 0;
}

static void io_free(run_io *io, int dev) {
  for (int j = 0; j < io->k; j++) free_on(dev, io->x[j].data), free_on(dev, io->dx[j].data);
  free_on(dev, io->y.data), free_on(dev, io->dy.data);
}

/* Frees the parameters' memory (not their headers, which the layer owns). */
static void plist_free(plist *pl) {
  for (int i = 0; i < pl->n; i++) {
    free_on(LUNET_CUDA, pl->dev_v[i]), free_on(LUNET_CUDA, pl->dev_g[i]);
    free_on(LUNET_CPU, pl->host_v[i]), free_on(LUNET_CPU, pl->host_g[i]), free_on(LUNET_CPU, pl->start_v[i]);
  }
}

/* Settings checked besides the example parameters: the other branches of
** the kernels. Each changes one or two parameters of one plugin. */
static const struct variant {
  const char *plugin;
  param_given set[3]; /* up to 2, ended by a NULL name */
} variants[] = {
  {"dense", {{"bias", LUNET_BOOL, 0, NULL}}},
  {"layernorm", {{"axis", LUNET_STRING, 0, "last"}}},
  {"layernorm", {{"affine", LUNET_BOOL, 0, NULL}}},
  {"softmax", {{"axis", LUNET_STRING, 0, "last"}}},
  {"positional", {{"kind", LUNET_STRING, 0, "learned"}}},
  {"conv2d", {{"padding", LUNET_NUMBER, 1, NULL}}},
  {"conv2d", {{"stride", LUNET_NUMBER, 2, NULL}}},
  {"conv2d", {{"dilation", LUNET_NUMBER, 2, NULL}}},
  {"conv2d", {{"bias", LUNET_BOOL, 0, NULL}}},
  {"batchnorm", {{"affine", LUNET_BOOL, 0, NULL}}},
  {"attention", {{"causal", LUNET_BOOL, 1, NULL}}},
  {"attention", {{"dropout", LUNET_NUMBER, 0.2, NULL}}},
  {"cross_attention", {{"dropout", LUNET_NUMBER, 0.2, NULL}}},
  {"avgpool2d", {{"padding", LUNET_NUMBER, 1, NULL}}},
  {"maxpool2d", {{"padding", LUNET_NUMBER, 1, NULL}}},
  {"maxpool2d", {{"stride", LUNET_NUMBER, 1, NULL}}},
  {"leaky_relu", {{"slope", LUNET_NUMBER, 0.2, NULL}}},
  {"dropout", {{"p", LUNET_NUMBER, 0.1, NULL}}},
  {"rnn", {{"bidirectional", LUNET_BOOL, 1, NULL}}},
  {"rnn", {{"layers", LUNET_NUMBER, 2, NULL}}},
  {"rnn", {{"output", LUNET_STRING, 0, "last"}}},
  {"rnn", {{"output", LUNET_STRING, 0, "mean"}}},
  {"rnn", {{"output", LUNET_STRING, 0, "max"}}},
  {"rnn", {{"stateful", LUNET_BOOL, 1, NULL}}},
  {"gru", {{"bidirectional", LUNET_BOOL, 1, NULL}}},
  {"gru", {{"layers", LUNET_NUMBER, 2, NULL}}},
  {"gru", {{"output", LUNET_STRING, 0, "last"}}},
  {"gru", {{"output", LUNET_STRING, 0, "mean"}}},
  {"gru", {{"output", LUNET_STRING, 0, "max"}}},
  {"gru", {{"stateful", LUNET_BOOL, 1, NULL}}},
  {"lstm", {{"bidirectional", LUNET_BOOL, 1, NULL}}},
  {"lstm", {{"layers", LUNET_NUMBER, 2, NULL}}},
  {"lstm", {{"output", LUNET_STRING, 0, "last"}}},
  {"lstm", {{"output", LUNET_STRING, 0, "mean"}}},
  {"lstm", {{"output", LUNET_STRING, 0, "max"}}},
  {"lstm", {{"stateful", LUNET_BOOL, 1, NULL}}},
  {"rnn", {{"nonlinearity", LUNET_STRING, 0, "relu"}}},
  {"rnn", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"layers", LUNET_NUMBER, 2, NULL}}},
  {"rnn", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"output", LUNET_STRING, 0, "last"}}},
  {"rnn", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"output", LUNET_STRING, 0, "max"}}},
  {"gru", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"layers", LUNET_NUMBER, 2, NULL}}},
  {"gru", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"output", LUNET_STRING, 0, "last"}}},
  {"gru", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"output", LUNET_STRING, 0, "max"}}},
  {"lstm", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"layers", LUNET_NUMBER, 2, NULL}}},
  {"lstm", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"output", LUNET_STRING, 0, "last"}}},
  {"lstm", {{"bidirectional", LUNET_BOOL, 1, NULL}, {"output", LUNET_STRING, 0, "max"}}},
  {"conv_transpose2d", {{"stride", LUNET_NUMBER, 2, NULL}}},
  {"conv_transpose2d", {{"stride", LUNET_NUMBER, 2, NULL}, {"output_padding", LUNET_NUMBER, 1, NULL}}},
  {"conv_transpose2d", {{"padding", LUNET_NUMBER, 1, NULL}}},
  {"conv_transpose2d", {{"dilation", LUNET_NUMBER, 2, NULL}, {"output_padding", LUNET_NUMBER, 1, NULL}}},
  {"conv_transpose2d", {{"bias", LUNET_BOOL, 0, NULL}}},
  {"attention_pool", {{"hidden", LUNET_NUMBER, 3, NULL}}},
  {"sgd", {{"momentum", LUNET_NUMBER, 0.9, NULL}}},
  {"sgd", {{"weight_decay", LUNET_NUMBER, 0.01, NULL}}},
  {"adam", {{"weight_decay", LUNET_NUMBER, 0.01, NULL}}},
  {"rmsprop", {{"centered", LUNET_BOOL, 1, NULL}}},
  {"rmsprop", {{"momentum", LUNET_NUMBER, 0.5, NULL}}},
  {"adagrad", {{"weight_decay", LUNET_NUMBER, 0.01, NULL}}},
};

/* The plugin's example parameters (those `lunet check` builds it with),
** with each of `set` (ended by a NULL name) replacing one of them unless
** set is NULL, resolved; 0 or -1. */
static int example_params(const lunet_plugin *p, const param_given *set, param_values *pv) {
  int np;
  param_given *given = check_example_params(p, &np);
  for (int k = 0; given && set && set[k].name; k++)
    for (int i = 0; i < np; i++)
      if (strcmp(given[i].name, set[k].name) == 0) given[i] = set[k];
  int rc = given ? params_resolve(p, given, np, pv) : -1;
  free(given);
  return rc;
}

/* "" or " (name=value)" for a check's line. */
static const char *variant_text(const param_given *set, char *buf, size_t sz) {
  size_t at = 0;
  buf[0] = '\0';
  for (int k = 0; set && set[k].name && at < sz; k++)
    at += set[k].type == LUNET_STRING ? (size_t)snprintf(buf + at, sz - at, " %s=%s", set[k].name, set[k].str)
                                      : (size_t)snprintf(buf + at, sz - at, " %s=%g", set[k].name, set[k].num);
  return buf;
}

/* One round of layer `pe`: 0 agreed (or CPU half ran without a GPU), 1
** mismatch, -1 failure. */
static int parity_layer(const plugin_entry *pe, const param_given *set, int train, lunet_rng *rng, int gpu) {
  const lunet_plugin *p = pe->desc;
  const lunet_layer_api *api = p->layer;
  param_values pv = {0};
  if (example_params(p, set, &pv)) return -1;
  lunet_shape in[LUNET_MAX_INPUTS], out = {0};
  plist pl = {0};
  lunet_rng init;
  rng_seed(&init, rng_u64(rng));
  lunet_build b = {.size = sizeof b, .device = LUNET_CPU, .rng = &init, .param = register_param,
                   .host_data = &pl};
  void *self = NULL;
  for (int stretch = 1; stretch >= 0 && !self; stretch--) { /* a stretched shape may not fit: then the plain one */
    plist_free(&pl);
    memset(&pl, 0, sizeof pl);
    b.n_inputs = input_shapes(p, in, rng, stretch);
    services_clear_error();
    self = api->create(pv.v, in, &out, &b);
  }
  run_io io = {.k = b.n_inputs, .B = 1 + (int)(rng_u64(rng) % 16), .ids = (api->flags & LUNET_TAKES_IDS) != 0};
  int rc = -1, gpu_copies = 0;
  run_io cpu = {0};
  char line[1024], shp[128], var[96];
  shape_format(&in[0], shp, sizeof shp);
  snprintf(line, sizeof line, "layer %-16s %s B %2d in %-14s%s", p->name, train ? "train" : "eval ", io.B, shp,
           variant_text(set, var, sizeof var));
  int ready = self != NULL, carry = 0;
  for (int k = 0; set && set[k].name; k++) carry |= strcmp(set[k].name, "stateful") == 0 && set[k].num != 0;
  for (int i = 0; ready && i < pl.n; i++) {
    size_t bytes = sizeof(float) * (size_t)pl.numel[i];
    fill_normal(pl.host_v[i], pl.numel[i], rng), pl.value[i]->data = pl.host_v[i];
    for (int64_t j = 0; !pl.grad[i] && j < pl.numel[i]; j++) /* buffers: a running variance is > 0 */
      pl.host_v[i][j] = 0.5f + fabsf(pl.host_v[i][j]);
    if ((ready = (pl.start_v[i] = alloc_on(LUNET_CPU, bytes)) != NULL)) memcpy(pl.start_v[i], pl.host_v[i], bytes);
  }
  const char *unwritten = NULL;
  if (ready && io_alloc_cpu(&io, in, &out, b.id_limit > 0 ? b.id_limit : 1, rng) == 0 &&
      poison_outputs(&io, &pl, LUNET_CPU) == 0 && run_layer(api, self, &io, LUNET_CPU, train, carry) == 0) {
    rc = (unwritten = cpu_unwritten(&io, &pl)) ? -1 : 0;
    if (gpu && !unwritten) {
      double worst = 0;
      gpu_copies = 1;
      rc = io_to_gpu(&io, &cpu, &pl) || poison_outputs(&io, &pl, LUNET_CUDA) ||
                   run_layer(api, self, &io, LUNET_CUDA, train, carry) || compare(&io, &cpu, &pl, &worst, line, sizeof line)
               ? -1
               : worst <= PARITY_RTOL ? 0 : 1;
    }
  }
  if (unwritten) printf("%s UNWRITTEN: the CPU entry left NaN in %s\n", line, unwritten);
  else if (rc < 0) printf("%s FAILED: %s\n", line, services_last_error());
  else printf("%s %s\n", line, !gpu ? "cpu half ok" : rc ? "MISMATCH" : "ok");
  if (gpu_copies) io_free(&io, LUNET_CUDA), io_free(&cpu, LUNET_CPU);
  else io_free(&io, LUNET_CPU);
  if (self) api->destroy(self);
  plist_free(&pl);
  params_free(&pv);
  return rc;
}

/* ---- optimizers -------------------------------------------------------- */

/* `steps` steps of a fresh instance over N values on `dev`, from values v0
** with gradients g[s] (host); the values after them into `result`. */
static int optimizer_run(const plugin_entry *pe, const param_values *pv, int dev, const float *v0, float **g,
                         int steps, int64_t N, float *result) {
  const lunet_optimizer_api *api = pe->desc->optimizer;
  size_t bytes = sizeof(float) * (size_t)N;
  lunet_params ps = {.size = sizeof ps, .n = 1};
  lunet_param tensor = {"weight", &ps.value, &ps.grad};
  ps.tensors = &tensor;
  ps.value = (lunet_tensor){.size = sizeof(lunet_tensor), .dtype = LUNET_F32, .device = dev,
                            .shape = {1, {(int32_t)N}}};
  ps.grad = ps.value;
  ps.value.data = alloc_on(dev, bytes), ps.grad.data = alloc_on(dev, bytes);
  int rc = -1;
  void *self = NULL;
  const lunet_device_services *d = device_services(dev);
  if (ps.value.data && ps.grad.data && d->copy(ps.value.data, v0, bytes, LUNET_COPY_TO_DEVICE) == 0 &&
      (self = api->create(pv->v, &ps))) {
    rc = 0;
    for (int s = 0; rc == 0 && s < steps; s++)
      rc = d->copy(ps.grad.data, g[s], bytes, LUNET_COPY_TO_DEVICE) || api->step[dev](self, &ps) ? -1 : 0;
    if (rc == 0) rc = d->copy(result, ps.value.data, bytes, LUNET_COPY_FROM_DEVICE);
  }
  if (self) api->destroy(self);
  free_on(dev, ps.value.data), free_on(dev, ps.grad.data);
  return rc;
}

#define OPT_STEPS 3

static int parity_optimizer(const plugin_entry *pe, const param_given *set, lunet_rng *rng, int gpu) {
  const lunet_plugin *p = pe->desc;
  param_values pv = {0};
  if (example_params(p, set, &pv)) return -1;
  int64_t N = 1 + (int64_t)(rng_u64(rng) % 100000);
  size_t bytes = sizeof(float) * (size_t)N;
  float *v0 = alloc_on(LUNET_CPU, bytes), *a = alloc_on(LUNET_CPU, bytes), *b = alloc_on(LUNET_CPU, bytes);
  float *g[OPT_STEPS] = {0};
  int rc = -1, ok = v0 && a && b;
  for (int s = 0; ok && s < OPT_STEPS; s++) ok = (g[s] = alloc_on(LUNET_CPU, bytes)) != NULL;
  double e = 0;
  if (ok) {
    fill_normal(v0, N, rng);
    for (int s = 0; s < OPT_STEPS; s++) fill_normal(g[s], N, rng);
    services_clear_error();
    rc = optimizer_run(pe, &pv, LUNET_CPU, v0, g, OPT_STEPS, N, a);
    if (rc == 0 && gpu) {
      rc = optimizer_run(pe, &pv, LUNET_CUDA, v0, g, OPT_STEPS, N, b);
      e = rc ? 0 : rel_error(a, b, N);
      if (rc == 0 && !(e <= PARITY_RTOL)) rc = 1;
    }
  }
  char line[256], var[96];
  snprintf(line, sizeof line, "optimizer %-12s N %6lld, %d steps%s:", p->name, (long long)N, OPT_STEPS,
           variant_text(set, var, sizeof var));
  if (rc < 0) printf("%s FAILED: %s\n", line, services_last_error());
  else if (!gpu) printf("%s cpu half ok\n", line);
  else printf("%s values %.1e %s\n", line, e, rc ? "MISMATCH" : "ok");
  for (int s = 0; s < OPT_STEPS; s++) free_on(LUNET_CPU, g[s]);
  free_on(LUNET_CPU, v0), free_on(LUNET_CPU, a), free_on(LUNET_CPU, b);
  params_free(&pv);
  return rc;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv) {
  int rounds = 3;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--rounds") == 0) rounds = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "usage: gpu_parity [--rounds R] [--seed S]\n");
      return 2;
    }
  }
  services_init_threads();
  registry_init();
  char why[512] = "";
  int gpu = device_open("cuda", NULL) == LUNET_CUDA;
  if (!gpu) snprintf(why, sizeof why, "%s", services_last_error());
  lunet_rng rng;
  rng_seed(&rng, seed);
  int checks = 0, bad = 0, failed = 0;
  for (int i = 0; i < registry_count(); i++) {
    const plugin_entry *pe = registry_at(i);
    const lunet_plugin *p = pe->desc;
    if (pe->shadowed) continue; /* the same plugin found again on the plugin path */
    int layer = p->kind == LUNET_LAYER && p->layer->forward[LUNET_CUDA] && p->layer->backward[LUNET_CUDA];
    int opt = p->kind == LUNET_OPTIMIZER && p->optimizer->step[LUNET_CUDA];
    for (int v = -1; (layer || opt) && v < (int)(sizeof variants / sizeof variants[0]); v++) {
      if (v >= 0 && strcmp(variants[v].plugin, p->name) != 0) continue;
      const param_given *set = v < 0 ? NULL : variants[v].set;
      for (int r = 0; r < rounds; r++) {
        int rc = layer ? parity_layer(pe, set, r % 2 == 0, &rng, gpu) : parity_optimizer(pe, set, &rng, gpu);
        checks++, bad += rc > 0, failed += rc < 0;
      }
    }
  }
  if (gpu)
    printf("%d checks: %d agreed within %.0e, %d mismatched, %d failed\n", checks, checks - bad - failed,
           PARITY_RTOL, bad, failed);
  else
    printf("%d checks: the CPU half of %d ran, %d failed; no GPU, so no comparison: %s\n", checks,
           checks - failed, failed, why);
  if (bad || failed) return 1;
  return gpu ? (checks ? 0 : 1) : 77;
}
