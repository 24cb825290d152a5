/*
** model.c -- building, running and back-propagating a graph of layers;
** see model.h for the memory plan and what backward skips.
*/
#include "nn/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/tensor.h"
#include "base/text.h"
#include "runtime/devices.h"
#include "runtime/services.h"

model *model_new(uint64_t seed, int n_inputs) {
  model *m = calloc(1, sizeof *m);
  if (!m) {
    services_error("out of memory for a model");
    return NULL;
  }
  m->seed = seed;
  m->n_inputs = n_inputs;
  m->output = -1;
  return m;
}

/* The services of the device the model's buffers live on. */
static const lunet_device_services *dev(const model *m) { return services_host()->device[m->device]; }

/* Frees the batch buffers (activations, gradient slots, a GPU model's
** input and output copies); model_reserve makes them again. */
static void free_buffers(model *m) {
  for (int i = 0; i < m->n; i++) dev(m)->free(m->nodes[i].y.data), m->nodes[i].y.data = NULL;
  for (int i = 0; m->slots && i < m->n_slots + LUNET_MAX_INPUTS; i++) dev(m)->free(m->slots[i]);
  free(m->slots);
  m->slots = NULL;
  for (int k = 0; k < LUNET_MAX_INPUTS; k++) dev(m)->free(m->xdev[k].data), m->xdev[k].data = NULL;
  services_host()->free(m->yhost.data), services_host()->free(m->dyhost.data);
  m->yhost.data = m->dyhost.data = NULL;
  m->max_batch = 0;
}

static void node_free(node *nd) {
  if (nd->self) nd->plugin->desc->layer->destroy(nd->self);
  params_free(&nd->params);
  free(nd->label);
}

void model_free(model *m) {
  if (!m) return;
  free_buffers(m);
  for (int i = 0; i < m->n; i++) node_free(&m->nodes[i]);
  free(m->nodes);
  weights_free(&m->ws);
  for (int k = 0; k < LUNET_MAX_INPUTS; k++) free(m->input_names[k]);
  free(m);
}

int model_add(model *m, int kind, const char *label, const plugin_entry *pe, param_values *params,
              const int *in, int n_in) {
  if (m->built) {
    services_error("model: it is built; add nodes before its first use");
    return -1;
  }
  if (n_in < 1 || n_in > LUNET_MAX_INPUTS) {
    services_error("model: node %s takes %d inputs, expected 1 to %d", label, n_in, LUNET_MAX_INPUTS);
    return -1;
  }
  for (int j = 0; j < n_in; j++)
    if (in[j] >= m->n || in[j] < MODEL_INPUT(m->n_inputs - 1)) {
      services_error("model: node %s takes input %d, which is neither an earlier node nor a model input",
                     label, in[j]);
      return -1;
    }
  if (m->n == m->cap) {
    int cap = m->cap ? 2 * m->cap : 16;
    node *nodes = realloc(m->nodes, sizeof *nodes * (size_t)cap);
    if (!nodes) {
      services_error("out of memory adding node %s", label);
      return -1;
    }
    m->nodes = nodes, m->cap = cap;
  }
  node *nd = &m->nodes[m->n];
  memset(nd, 0, sizeof *nd);
  if (!(nd->label = strdup(label))) {
    services_error("out of memory adding node %s", label);
    return -1;
  }
  nd->kind = kind;
  nd->plugin = pe;
  nd->params = *params;
  memset(params, 0, sizeof *params);
  nd->n_in = n_in;
  memcpy(nd->in, in, sizeof(int) * (size_t)n_in);
  nd->slot = -1;
  m->output = m->n;
  return m->n++;
}

void model_set_output(model *m, int node) { m->output = node; }

int model_add_residual(model *m, const char *label, int in, int body_out) {
  const plugin_entry *add = registry_find(LUNET_LAYER, "add");
  param_values none = {0};
  if (!add || params_resolve(add->desc, NULL, 0, &none)) return -1;
  int ends[2] = {in, body_out};
  int id = model_add(m, NODE_RESIDUAL, label, add, &none, ends, 2);
  params_free(&none);
  return id;
}

/* ---- describing -------------------------------------------------------- */

void node_describe(const node *nd, char *buf, size_t sz) {
  if (nd->kind == NODE_RESIDUAL) {
    snprintf(buf, sz, "residual");
    return;
  }
  const lunet_plugin *p = nd->plugin->desc;
  size_t len = (size_t)snprintf(buf, sz, "%s", p->name);
  int shown = 0;
  for (int i = 0; i < p->n_params && len < sz; i++) {
    const lunet_param_decl *d = &p->params[i];
    int is_default = d->type == LUNET_STRING ? strcmp(nd->params.v[i].str, d->def_str ? d->def_str : "") == 0
                                             : nd->params.v[i].num == d->def && !(d->flags & LUNET_REQUIRED);
    if (is_default) continue;
    char val[256];
    params_format(p, &nd->params, i, val, sizeof val);
    len += (size_t)snprintf(buf + len, sz - len, "%s%s=%s", shown++ ? ", " : "(", d->name, val);
  }
  if (shown && len < sz) snprintf(buf + len, sz - len, ")");
}

void node_name(const model *m, int i, char *buf, size_t sz) {
  char desc[160];
  node_describe(&m->nodes[i], desc, sizeof desc);
  if (m->graph) snprintf(buf, sz, "node '%s' (%s)", m->nodes[i].label, desc);
  else snprintf(buf, sz, "layer %s (%s)", m->nodes[i].label, desc);
}

/* "the input", "model input 'src'", or the producing node's name. */
static void source_name(const model *m, int src, char *buf, size_t sz) {
  if (src >= 0) node_name(m, src, buf, sz);
  else if (m->graph) snprintf(buf, sz, "model input '%s'", m->input_names[MODEL_INPUT(src)]);
  else snprintf(buf, sz, "the input");
}

/* ---- building ---------------------------------------------------------- */

static const lunet_shape *source_shape(const model *m, int src) {
  return src >= 0 ? &m->nodes[src].out : &m->in[MODEL_INPUT(src)];
}

static int source_dtype(const model *m, int src) {
  return src >= 0 ? LUNET_F32 : m->in_dtype[MODEL_INPUT(src)];
}

/* The node takes as many inputs as its plugin declares, of the dtypes it
** declares (token ids for input 0 of a LUNET_TAKES_IDS layer, else float). */
static int check_inputs(const model *m, int i) {
  const node *nd = &m->nodes[i];
  const lunet_layer_api *api = nd->plugin->desc->layer;
  char me[256], src[256];
  node_name(m, i, me, sizeof me);
  int want = api->n_inputs == 0 ? 1 : api->n_inputs;
  int unmasked = want > 1 && (api->flags & LUNET_MASK_LAST) && nd->n_in == want - 1;
  if (want > 0 ? nd->n_in != want && !unmasked : nd->n_in < 2) {
    if (want > 0 && (api->flags & LUNET_MASK_LAST))
      services_error("model: %s takes %d or %d inputs (the last, a mask, may be left out), got %d", me,
                     want - 1, want, nd->n_in);
    else if (want > 0) services_error("model: %s takes %d input%s, got %d", me, want, want == 1 ? "" : "s", nd->n_in);
    else services_error("model: %s takes 2 to %d inputs, got %d", me, LUNET_MAX_INPUTS, nd->n_in);
    return -1;
  }
  for (int j = 0; j < nd->n_in; j++) {
    int ids = j == 0 && (api->flags & LUNET_TAKES_IDS), dt = source_dtype(m, nd->in[j]);
    if (ids == (dt == LUNET_I32)) continue;
    source_name(m, nd->in[j], src, sizeof src);
    if (ids) services_error("model: %s takes token ids, but %s gives float values; feed it a token "
                            "dataset (ids) directly", me, src);
    else services_error("model: %s takes float values, but %s holds token ids; start with a layer "
                        "that takes ids, such as embedding", me, src);
    return -1;
  }
  return 0;
}

/* The error of a layer that refused its inputs: both nodes, both shapes. */
static void misfit(const model *m, int i) {
  char why[1024], me[256], src[256], shp[128];
  snprintf(why, sizeof why, "%s", *services_last_error() ? services_last_error() : "refused its input");
  const node *nd = &m->nodes[i];
  node_name(m, i, me, sizeof me);
  source_name(m, nd->in[0], src, sizeof src);
  shape_format(source_shape(m, nd->in[0]), shp, sizeof shp);
  if (nd->n_in == 1) {
    services_error("model: %s does not fit the output of %s, shape %s: %s", me, src, shp, why);
    return;
  }
  char list[512];
  size_t len = 0;
  for (int j = 0; j < nd->n_in && len < sizeof list; j++) {
    source_name(m, nd->in[j], src, sizeof src);
    shape_format(source_shape(m, nd->in[j]), shp, sizeof shp);
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s %s", j ? ", " : "", src, shp);
  }
  services_error("model: %s does not fit its inputs (%s): %s", me, list, why);
}

/* A residual block's body must give back its input's shape. */
static int check_residual(const model *m, int i) {
  const node *nd = &m->nodes[i];
  const lunet_shape *a = source_shape(m, nd->in[0]), *b = source_shape(m, nd->in[1]);
  if (lunet_numel(a) == lunet_numel(b)) return 0;
  char sa[128], sb[128];
  shape_format(a, sa, sizeof sa);
  shape_format(b, sb, sizeof sb);
  services_error("model: residual block %s maps shape %s to %s; a residual block must keep its "
                 "input's shape", nd->label, sa, sb);
  return -1;
}

static int build_node(model *m, int i, lunet_rng *rng) {
  node *nd = &m->nodes[i];
  if (check_inputs(m, i) || (nd->kind == NODE_RESIDUAL && check_residual(m, i))) return -1;
  lunet_shape in[LUNET_MAX_INPUTS];
  for (int j = 0; j < nd->n_in; j++) in[j] = *source_shape(m, nd->in[j]);
  char prefix[256];
  snprintf(prefix, sizeof prefix, "%s.%s.", nd->label, nd->plugin->desc->name);
  weights_builder wb = {&m->ws, i, prefix};
  lunet_build b = {.size = sizeof b, .device = m->device, .rng = rng, .n_inputs = nd->n_in,
                   .param = weights_register, .host_data = &wb};
  lunet_shape out = {0};
  services_clear_error();
  nd->self = nd->plugin->desc->layer->create(nd->params.v, in, &out, &b);
  if (!nd->self) {
    misfit(m, i);
    return -1;
  }
  if (out.ndim < 1 || out.ndim >= LUNET_MAX_DIMS || lunet_numel_checked(&out) < 1) {
    char me[256];
    node_name(m, i, me, sizeof me);
    services_error("model: %s produced an invalid output shape", me);
    return -1;
  }
  nd->out = out;
  nd->trains = weights_count(&m->ws, i) > 0;
  return 0;
}

/* Which nodes the output depends on, and each node's last consumer. A
** graph node that leads nowhere is an error: its output would be computed
** for nothing and never trained. */
static int plan_edges(model *m) {
  for (int i = 0; i < m->n; i++) m->nodes[i].last_consumer = -1, m->nodes[i].reaches_output = 0;
  m->nodes[m->output].reaches_output = 1;
  for (int i = m->n - 1; i >= 0; i--) {
    node *nd = &m->nodes[i];
    for (int j = 0; j < nd->n_in; j++) {
      if (nd->in[j] < 0) continue;
      node *p = &m->nodes[nd->in[j]];
      if (p->last_consumer < i) p->last_consumer = i;
      if (nd->reaches_output) p->reaches_output = 1;
    }
  }
  for (int i = 0; i < m->n; i++) {
    if (m->nodes[i].reaches_output) continue;
    char me[256];
    node_name(m, i, me, sizeof me);
    services_error("model: %s does not lead to the output; remove it or use it", me);
    return -1;
  }
  return 0;
}

/* Token ids when a layer takes input k as its ids (embedding), else float:
** what `input = {T}` means for a model that starts with an embedding. */
static int input_dtype(const model *m, int k) {
  for (int i = 0; i < m->n; i++)
    if (m->nodes[i].in[0] == MODEL_INPUT(k) && (m->nodes[i].plugin->desc->layer->flags & LUNET_TAKES_IDS))
      return LUNET_I32;
  return LUNET_F32;
}

int model_build(model *m, const lunet_shape *in, const int *dtype) {
  if (m->built) return 0;
  if (m->n == 0) {
    services_error("model: it has no layers");
    return -1;
  }
  for (int k = 0; k < m->n_inputs; k++) {
    if (in[k].ndim < 1 || in[k].ndim >= LUNET_MAX_DIMS) {
      services_error("model: input shape must have 1 to %d dimensions", LUNET_MAX_DIMS - 1);
      return -1;
    }
    m->in[k] = in[k];
    m->in_dtype[k] = dtype ? dtype[k] : input_dtype(m, k);
  }
  lunet_rng rng;
  rng_seed(&rng, m->seed);
  for (int i = 0; i < m->n; i++)
    if (build_node(m, i, &rng)) return -1;
  if (plan_edges(m) || weights_gather(&m->ws)) return -1;
  m->out = m->nodes[m->output].out;
  m->built = 1;
  int device = m->device;
  m->device = LUNET_CPU; /* the weights are on the host: move them */
  return model_to(m, device);
}

/* ---- devices ----------------------------------------------------------- */

/* Every layer has forward and backward entries for `device`; else an error
** naming the first that lacks one. */
static int check_entries(const model *m, int device) {
  for (int i = 0; i < m->n; i++) {
    const lunet_layer_api *api = m->nodes[i].plugin->desc->layer;
    if (api->forward[device] && api->backward[device]) continue;
    char me[256];
    node_name(m, i, me, sizeof me);
    services_error("model: %s has no %s entry (layer plugin '%s' runs on the CPU only); move the model "
                   "with model:to(\"cpu\") or use another layer", me, device_name(device),
                   m->nodes[i].plugin->desc->name);
    return -1;
  }
  return 0;
}

int model_to(model *m, int device) {
  if (!m->built || device == m->device) {
    m->device = device;
    return 0;
  }
  if (check_entries(m, device) || weights_place(&m->ws, device)) return -1;
  free_buffers(m); /* made again on the new device by the next model_reserve */
  m->device = device;
  return 0;
}

int model_sync_host(model *m) { return weights_leave(&m->ws); }

/* ---- buffers ----------------------------------------------------------- */

/* A float32 activation or gradient of batch `batch` on `device`. */
static void set_batch(lunet_tensor *t, const lunet_shape *per_sample, int batch, int device) {
  tensor_batched(t, per_sample, LUNET_F32, batch);
  t->device = device;
}

/* Whether input j of node i is written straight into its producer's dy:
** only by the producer's last consumer, and by its first input from it. */
static int writes_first(const model *m, int i, int j) {
  const node *nd = &m->nodes[i];
  int src = nd->in[j];
  for (int k = 0; k < j; k++)
    if (nd->in[k] == src) return 0;
  if (src >= 0) return m->nodes[src].last_consumer == i;
  for (int c = i + 1; c < m->n; c++) /* a model input: no later node takes it */
    for (int k = 0; k < m->nodes[c].n_in; k++)
      if (m->nodes[c].in[k] == src) return 0;
  return 1;
}

/* Assigns gradient slots (see model.h) walking backward in time: node i's
** dy is taken when its last consumer runs, given back after i has run.
** Returns the slots needed; sets the accumulate flags and the number of
** scratch slots needed at once in *scratch. */
static int plan_slots(model *m, int *free_list, int *scratch) {
  int n_free = 0, n_slots = 0;
  *scratch = 0;
#define TAKE() (n_free ? free_list[--n_free] : n_slots++)
  m->nodes[m->output].slot = TAKE();
  for (int i = m->n - 1; i >= 0; i--) {
    node *nd = &m->nodes[i];
    int acc = 0;
    for (int j = 0; j < nd->n_in; j++) {
      nd->accumulate[j] = !writes_first(m, i, j);
      acc += nd->accumulate[j];
      int src = nd->in[j];
      if (src >= 0 && m->nodes[src].slot < 0) m->nodes[src].slot = TAKE();
    }
    if (acc > *scratch) *scratch = acc;
    free_list[n_free++] = nd->slot;
  }
#undef TAKE
  return n_slots;
}

static int reserve_slots(model *m, int batch) {
  int *free_list = malloc(sizeof(int) * (size_t)m->n);
  if (!free_list) {
    services_error("out of memory planning the model's gradient slots");
    return -1;
  }
  for (int i = 0; i < m->n; i++) m->nodes[i].slot = -1;
  int scratch, n_slots = plan_slots(m, free_list, &scratch);
  free(free_list);
  int64_t most = 0;
  for (int i = 0; i < m->n; i++)
    if (lunet_numel(&m->nodes[i].out) > most) most = lunet_numel(&m->nodes[i].out);
  for (int k = 0; k < m->n_inputs; k++)
    if (lunet_numel(&m->in[k]) > most) most = lunet_numel(&m->in[k]);
  int total = n_slots + scratch;
  float **slots = calloc((size_t)n_slots + LUNET_MAX_INPUTS, sizeof *slots);
  if (!slots) {
    services_error("out of memory for the model's gradient slots");
    return -1;
  }
  for (int s = 0; s < total; s++)
    if (!(slots[s] = dev(m)->alloc(sizeof(float) * (size_t)batch * (size_t)most))) {
      for (int t = 0; t < s; t++) dev(m)->free(slots[t]);
      free(slots);
      services_error("out of memory for %d gradient buffers of %d x %lld floats", total, batch,
                     (long long)most);
      return -1;
    }
  for (int s = 0; m->slots && s < m->n_slots + LUNET_MAX_INPUTS; s++) dev(m)->free(m->slots[s]);
  free(m->slots);
  m->slots = slots, m->n_slots = n_slots, m->slot_floats = most;
  for (int i = 0; i < m->n; i++) {
    m->nodes[i].dy.data = m->slots[m->nodes[i].slot];
    set_batch(&m->nodes[i].dy, &m->nodes[i].out, batch, m->device);
  }
  return 0;
}

/* A GPU model's input copies (device) and output and gradient copies
** (host), for batches of `batch`. */
static int reserve_copies(model *m, int batch) {
  if (m->device == LUNET_CPU) return 0;
  for (int k = 0; k < m->n_inputs; k++) { /* float32 and int32 ids: 4 bytes */
    dev(m)->free(m->xdev[k].data);
    if (!(m->xdev[k].data = dev(m)->alloc(4 * (size_t)batch * (size_t)lunet_numel(&m->in[k])))) return -1;
  }
  size_t bytes = sizeof(float) * (size_t)batch * (size_t)lunet_numel(&m->out);
  services_host()->free(m->yhost.data), services_host()->free(m->dyhost.data);
  m->dyhost.data = NULL;
  if (!(m->yhost.data = services_host()->alloc(bytes)) || !(m->dyhost.data = services_host()->alloc(bytes)))
    return -1;
  return 0;
}

int model_reserve(model *m, int batch) {
  if (batch <= m->max_batch) return 0;
  /* new buffers first, so that a failure leaves the old ones in place */
  float **ys = calloc((size_t)m->n + 1, sizeof *ys);
  int ok = ys != NULL;
  for (int i = 0; ok && i < m->n; i++)
    ok = (ys[i] = dev(m)->alloc(sizeof(float) * (size_t)batch * (size_t)lunet_numel(&m->nodes[i].out))) != NULL;
  if (!ok || reserve_slots(m, batch)) {
    for (int i = 0; ys && i < m->n; i++) dev(m)->free(ys[i]);
    free(ys);
    if (!ok) services_error("out of memory for the activations of a batch of %d", batch);
    return -1;
  }
  for (int i = 0; i < m->n; i++) {
    node *nd = &m->nodes[i];
    dev(m)->free(nd->y.data);
    nd->y.data = ys[i];
    set_batch(&nd->y, &nd->out, batch, m->device);
    const lunet_layer_api *api = nd->plugin->desc->layer;
    if (api->reserve && api->reserve(nd->self, batch, m->device)) {
      free(ys);
      return -1;
    }
  }
  free(ys);
  if (reserve_copies(m, batch)) return -1;
  m->max_batch = batch;
  return 0;
}

/* ---- forward and backward ---------------------------------------------- */

/* Points node i's input views at their sources, batch B. */
static void wire_inputs(model *m, int i, const lunet_tensor *x, int B) {
  node *nd = &m->nodes[i];
  for (int j = 0; j < nd->n_in; j++) {
    int src = nd->in[j];
    if (src < 0) {
      nd->xin[j] = m->device == LUNET_CPU ? x[MODEL_INPUT(src)] : m->xdev[MODEL_INPUT(src)];
      continue;
    }
    nd->xin[j] = m->nodes[src].y;
    nd->xin[j].shape.dim[0] = B;
  }
}

static int run_node(model *m, int i, const lunet_ctx *ctx, int B) {
  node *nd = &m->nodes[i];
  m->ctx = *ctx; /* backward sees the same */
  m->ctx.device = m->device;
  set_batch(&nd->y, &nd->out, B, m->device);
  return nd->plugin->desc->layer->forward[m->device](nd->self, nd->xin, &nd->y, &m->ctx);
}

/* A GPU model: its weights there, and the host inputs x copied to xdev. */
static int enter_device(model *m, const lunet_tensor *x) {
  if (weights_enter(&m->ws)) return -1;
  for (int k = 0; k < m->n_inputs; k++) {
    lunet_tensor *d = &m->xdev[k];
    void *data = d->data;
    *d = x[k];
    d->data = data, d->device = m->device;
    if (dev(m)->copy(data, x[k].data, 4 * (size_t)lunet_numel(&x[k].shape), LUNET_COPY_TO_DEVICE)) return -1;
  }
  return 0;
}

int model_forward_until(model *m, const lunet_tensor *x, const lunet_ctx *ctx, int to) {
  int B = x[0].shape.dim[0];
  if (m->device != LUNET_CPU && to != m->n) {
    services_error("model: a partial forward (closed-form fits) runs on the CPU; call model:to(\"cpu\") first");
    return -1;
  }
  if (m->device != LUNET_CPU && enter_device(m, x)) return -1;
  for (int i = 0; i < to; i++) {
    wire_inputs(m, i, x, B);
    if (run_node(m, i, ctx, B)) return -1;
  }
  return 0;
}

/* The output of a GPU model, copied to the host (the step's one wait). */
static const lunet_tensor *output_to_host(model *m) {
  const lunet_tensor *y = &m->nodes[m->output].y;
  void *data = m->yhost.data;
  m->yhost = *y;
  m->yhost.data = data, m->yhost.device = LUNET_CPU;
  if (dev(m)->copy(data, y->data, sizeof(float) * (size_t)lunet_numel(&y->shape), LUNET_COPY_FROM_DEVICE))
    return NULL;
  return &m->yhost;
}

const lunet_tensor *model_forward(model *m, const lunet_tensor *x, const lunet_ctx *ctx) {
  if (model_forward_until(m, x, ctx, m->n)) return NULL;
  return m->device == LUNET_CPU ? &m->nodes[m->output].y : output_to_host(m);
}

const lunet_tensor *model_forward_node(model *m, int i, const lunet_tensor *in, const lunet_ctx *ctx) {
  node *nd = &m->nodes[i];
  if (m->device != LUNET_CPU) {
    services_error("model: running one node alone (closed-form fits) works on the CPU; call model:to(\"cpu\") first");
    return NULL;
  }
  memcpy(nd->xin, in, sizeof *in * (size_t)nd->n_in);
  if (run_node(m, i, ctx, in[0].shape.dim[0])) return NULL;
  return &nd->y;
}

lunet_tensor *model_output_grad(model *m) {
  node *out = &m->nodes[m->output];
  set_batch(&out->dy, &out->out, out->y.shape.dim[0], m->device);
  if (m->device == LUNET_CPU) return &out->dy;
  set_batch(&m->dyhost, &out->out, out->y.shape.dim[0], LUNET_CPU);
  return &m->dyhost;
}

/* Whether the gradient of node i's input j is computed. `want` of a node:
** it trains, or a node upstream of it does, or everything is wanted. */
static int input_wanted(const model *m, const lunet_tensor *dx, const int *want, int src) {
  if (src >= 0) return want[src];
  int k = MODEL_INPUT(src);
  return dx && dx[k].data && m->in_dtype[k] == LUNET_F32;
}

/* Node i's backward, given its complete dy: din views into the producers'
** slots (or dx), through scratch where another consumer wrote first. */
static int back_node(model *m, int i, lunet_tensor *dx, const int *want) {
  node *nd = &m->nodes[i];
  int any = 0, scratch = 0;
  lunet_tensor *dst[LUNET_MAX_INPUTS] = {0};
  for (int j = 0; j < nd->n_in; j++) {
    int src = nd->in[j];
    nd->din[j] = nd->xin[j];
    nd->din[j].data = NULL;
    if (!input_wanted(m, dx, want, src)) continue;
    dst[j] = src >= 0 ? &m->nodes[src].dy : &dx[MODEL_INPUT(src)];
    nd->din[j].dtype = LUNET_F32;
    nd->din[j].data = nd->accumulate[j] ? m->slots[m->n_slots + scratch++] : dst[j]->data;
    any = 1;
  }
  if (nd->plugin->desc->layer->backward[m->device](nd->self, nd->xin, &nd->y, &nd->dy, any ? nd->din : NULL,
                                                    &m->ctx))
    return -1;
  for (int j = 0; j < nd->n_in; j++)
    if (dst[j] && nd->accumulate[j] &&
        device_accumulate(m->device, dst[j]->f32, nd->din[j].f32, lunet_numel(&nd->xin[j].shape)))
      return -1;
  return 0;
}

/* A GPU model: the loss gradient written to dyhost goes to the device. */
static int output_grad_to_device(model *m) {
  const lunet_tensor *dy = &m->nodes[m->output].dy;
  return dev(m)->copy(dy->data, m->dyhost.data, sizeof(float) * (size_t)lunet_numel(&dy->shape),
                      LUNET_COPY_TO_DEVICE);
}

int model_backward(model *m, lunet_tensor *dx, dy_hook hook, void *ud) {
  if (m->device != LUNET_CPU && (dx || hook)) {
    services_error("model: input gradients and gradient probes run on the CPU; call model:to(\"cpu\") first");
    return -1;
  }
  int want_stack[256], *want = m->n <= 256 ? want_stack : malloc(sizeof(int) * (size_t)m->n);
  if (!want) {
    services_error("out of memory for the backward plan of %d nodes", m->n);
    return -1;
  }
  for (int i = 0; i < m->n; i++) {
    const node *nd = &m->nodes[i];
    want[i] = hook != NULL || nd->trains;
    for (int j = 0; j < nd->n_in && !want[i]; j++) want[i] = input_wanted(m, dx, want, nd->in[j]);
  }
  int rc = m->device == LUNET_CPU ? 0 : output_grad_to_device(m);
  for (int i = m->n - 1; i >= 0 && rc == 0; i--) {
    node *nd = &m->nodes[i];
    if (!want[i]) continue;
    set_batch(&nd->dy, &nd->out, nd->y.shape.dim[0], m->device);
    if (hook && hook(ud, i, &nd->dy)) rc = -1;
    if (rc == 0) rc = back_node(m, i, dx, want);
  }
  if (want != want_stack) free(want);
  return rc;
}

/* ---- inspection -------------------------------------------------------- */

int64_t model_param_count(const model *m) { return weights_count(&m->ws, -1); }

char *model_summary(const model *m) {
  strbuf sb = {0};
  char shp[128], line[512], desc[256];
  snprintf(line, sizeof line, "%-8s %-36s %-16s %12s\n", "#", "layer", "output", "params");
  sb_str(&sb, line);
  for (int k = 0; k < m->n_inputs; k++) {
    shape_format(&m->in[k], shp, sizeof shp);
    snprintf(line, sizeof line, "%-8s %-36s %-16s %12s\n", "", m->graph ? m->input_names[k] : "input", shp, "");
    sb_str(&sb, line);
  }
  for (int i = 0; i < m->n; i++) {
    const node *nd = &m->nodes[i];
    node_describe(nd, desc, sizeof desc);
    shape_format(&nd->out, shp, sizeof shp);
    snprintf(line, sizeof line, "%-8s %-36s %-16s %12lld\n", nd->label, desc, shp,
             (long long)weights_count(&m->ws, i));
    sb_str(&sb, line);
  }
  snprintf(line, sizeof line, "total trainable parameters: %lld\n", (long long)model_param_count(m));
  sb_str(&sb, line);
  if (!sb.nomem) return sb.p;
  free(sb.p);
  services_error("out of memory for a model summary");
  return NULL;
}
