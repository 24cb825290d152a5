/*
** model.c -- building, running and back-propagating a tree of layers.
*/
#include "nn/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "nn/dataset.h"
#include "runtime/services.h"

model *model_new(node *nodes, int n, uint64_t seed) {
  model *m = calloc(1, sizeof *m);
  m->nodes = nodes;
  m->n = n;
  m->seed = seed;
  return m;
}

static void node_free(node *nd) {
  if (nd->kind == NODE_LAYER && nd->self) nd->plugin->desc->layer->destroy(nd->self);
  if (nd->kind == NODE_LAYER) params_free(&nd->params);
  node_free_all(nd->body, nd->n_body);
  free(nd->y.data);
  free(nd->dy_own);
}

void node_free_all(node *nodes, int n) {
  for (int i = 0; i < n; i++) node_free(&nodes[i]);
  free(nodes);
}

void model_free(model *m) {
  if (!m) return;
  node_free_all(m->nodes, m->n);
  for (int i = 0; i < m->n_params; i++) free(m->param_names[i]);
  free(m->param_names);
  free(m->params);
  free(m);
}

/* ---- describing -------------------------------------------------------- */

void node_describe(const node *nd, char *buf, size_t sz) {
  if (nd->kind == NODE_RESIDUAL) {
    snprintf(buf, sz, "residual(%d layers)", nd->n_body);
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

/* ---- building ---------------------------------------------------------- */

static int build_seq(model *m, node *nodes, int n, const lunet_shape *in, lunet_rng *rng,
                     const char *prefix, const char *prev_label);

static int build_layer(node *nd, const lunet_shape *in, lunet_rng *rng, const char *label,
                       const char *prev_label) {
  lunet_shape out = {0};
  services_clear_error();
  nd->self = nd->plugin->desc->layer->create(nd->params.v, in, &out, rng);
  if (!nd->self) {
    char why[1024], shp[128];
    snprintf(why, sizeof why, "%s", *services_last_error() ? services_last_error() : "refused its input");
    shape_format(in, shp, sizeof shp);
    services_error("model: layer %s does not fit the output of %s, shape %s: %s", label, prev_label,
                   shp, why);
    return -1;
  }
  if (out.ndim < 1 || out.ndim >= LUNET_MAX_DIMS || lunet_numel(&out) < 1) {
    services_error("model: layer %s produced an invalid output shape", label);
    return -1;
  }
  nd->out = out;
  return 0;
}

static int build_residual(model *m, node *nd, const lunet_shape *in, lunet_rng *rng,
                          const char *label, const char *prev_label) {
  if (nd->n_body == 0) {
    services_error("model: %s is empty; give it at least one layer", label);
    return -1;
  }
  char prefix[64];
  snprintf(prefix, sizeof prefix, "%s.", label);
  if (build_seq(m, nd->body, nd->n_body, in, rng, prefix, prev_label)) return -1;
  const lunet_shape *bo = &nd->body[nd->n_body - 1].out;
  if (lunet_numel(bo) != lunet_numel(in)) {
    char a[128], b[128];
    shape_format(in, a, sizeof a);
    shape_format(bo, b, sizeof b);
    services_error("model: %s maps shape %s to %s; a residual block must keep its input's shape",
                   label, a, b);
    return -1;
  }
  nd->out = *in;
  return 0;
}

static void add_params(model *m, node *nd, const char *label) {
  int k = nd->plugin->desc->layer->parameters(nd->self, NULL, 0);
  if (k <= 0) return;
  m->params = realloc(m->params, sizeof *m->params * (size_t)(m->n_params + k));
  m->param_names = realloc(m->param_names, sizeof *m->param_names * (size_t)(m->n_params + k));
  nd->plugin->desc->layer->parameters(nd->self, m->params + m->n_params, k);
  for (int j = 0; j < k; j++) {
    char name[256];
    snprintf(name, sizeof name, "%s.%s.%s", label, nd->plugin->desc->name, m->params[m->n_params + j].name);
    m->param_names[m->n_params + j] = strdup(name);
  }
  m->n_params += k;
}

static int build_seq(model *m, node *nodes, int n, const lunet_shape *in, lunet_rng *rng,
                     const char *prefix, const char *prev_label) {
  const lunet_shape *cur = in;
  char prev[160], label[160];
  snprintf(prev, sizeof prev, "%s", prev_label);
  for (int i = 0; i < n; i++) {
    node *nd = &nodes[i];
    char desc[128];
    node_describe(nd, desc, sizeof desc);
    snprintf(label, sizeof label, "%s%d (%s)", prefix, i + 1, nd->kind == NODE_RESIDUAL ? "residual" : desc);
    nd->in = *cur;
    if (nd->kind == NODE_LAYER) {
      if (build_layer(nd, cur, rng, label, prev)) return -1;
      char idx[64];
      snprintf(idx, sizeof idx, "%s%d", prefix, i + 1);
      add_params(m, nd, idx);
    } else {
      char idx[64];
      snprintf(idx, sizeof idx, "%s%d", prefix, i + 1);
      if (build_residual(m, nd, cur, rng, idx, prev)) return -1;
    }
    cur = &nd->out;
    snprintf(prev, sizeof prev, "layer %s", label);
  }
  return 0;
}

int model_build(model *m, const lunet_shape *in) {
  if (m->built) return 0;
  if (m->n == 0) {
    services_error("model: it has no layers");
    return -1;
  }
  if (in->ndim < 1 || in->ndim >= LUNET_MAX_DIMS) {
    services_error("model: input shape must have 1 to %d dimensions", LUNET_MAX_DIMS - 1);
    return -1;
  }
  lunet_rng rng;
  rng_seed(&rng, m->seed);
  m->in = *in;
  if (build_seq(m, m->nodes, m->n, in, &rng, "", "the input")) return -1;
  m->out = m->nodes[m->n - 1].out;
  m->built = 1;
  return 0;
}

/* ---- buffers ----------------------------------------------------------- */

static void set_batch(lunet_tensor *t, const lunet_shape *per_sample, int batch) {
  t->shape.ndim = per_sample->ndim + 1;
  t->shape.dim[0] = batch;
  memcpy(t->shape.dim + 1, per_sample->dim, sizeof(int) * (size_t)per_sample->ndim);
  t->device = LUNET_CPU;
}

/* The two gradient buffers of a sequence (see model.h), owned by its
** first two nodes: node i's dy is nodes[i % 2].dy_own, written by node
** i+1's backward (or the loss) and read by node i's own, which writes node
** i-1's dy into the other buffer. The new buffers are allocated before the
** old ones go, so that a failure leaves the old ones in place. */
static int reserve_grads(node *nodes, int n, int batch) {
  int64_t most = 0;
  for (int i = 0; i < n; i++)
    if (lunet_numel(&nodes[i].out) > most) most = lunet_numel(&nodes[i].out);
  float *fresh[2] = {NULL, NULL};
  for (int i = 0; i < n && i < 2; i++)
    if (!(fresh[i] = services_host()->alloc(sizeof(float) * (size_t)batch * (size_t)most))) {
      free(fresh[0]);
      return -1;
    }
  for (int i = 0; i < n && i < 2; i++) {
    free(nodes[i].dy_own);
    nodes[i].dy_own = fresh[i];
  }
  for (int i = 0; i < n; i++) {
    nodes[i].dy.data = nodes[i % 2].dy_own;
    set_batch(&nodes[i].dy, &nodes[i].out, batch);
  }
  return 0;
}

static int reserve_seq(node *nodes, int n, int batch) {
  if (reserve_grads(nodes, n, batch)) return -1;
  for (int i = 0; i < n; i++) {
    node *nd = &nodes[i];
    free(nd->y.data);
    nd->y.data = services_host()->alloc(sizeof(float) * (size_t)batch * (size_t)lunet_numel(&nd->out));
    if (!nd->y.data) return -1;
    set_batch(&nd->y, &nd->out, batch);
    if (nd->kind == NODE_RESIDUAL && reserve_seq(nd->body, nd->n_body, batch)) return -1;
    const lunet_layer_api *api = nd->kind == NODE_LAYER ? nd->plugin->desc->layer : NULL;
    if (api && api->reserve && api->reserve(nd->self, batch)) return -1;
  }
  return 0;
}

int model_reserve(model *m, int batch) {
  if (batch <= m->max_batch) return 0;
  if (reserve_seq(m->nodes, m->n, batch)) return -1;
  m->max_batch = batch;
  return 0;
}

/* ---- forward and backward ---------------------------------------------- */

static int seq_forward(node *nodes, int n, const lunet_tensor *x, const lunet_ctx *ctx);

/* y = layer(x), or for a residual block y = x + body(x)    (B, in...) -> (B, out...) */
static int node_forward(node *nd, const lunet_tensor *x, const lunet_ctx *ctx) {
  int B = x->shape.dim[0];
  set_batch(&nd->y, &nd->out, B);
  if (nd->kind == NODE_LAYER) return nd->plugin->desc->layer->forward[LUNET_CPU](nd->self, x, &nd->y, ctx);
  if (seq_forward(nd->body, nd->n_body, x, ctx)) return -1;
  const float *z = nd->body[nd->n_body - 1].y.data;
  int64_t len = (int64_t)B * lunet_numel(&nd->out);
  for (int64_t i = 0; i < len; i++) nd->y.data[i] = x->data[i] + z[i];
  return 0;
}

static int seq_forward(node *nodes, int n, const lunet_tensor *x, const lunet_ctx *ctx) {
  const lunet_tensor *cur = x;
  for (int i = 0; i < n; i++) {
    if (node_forward(&nodes[i], cur, ctx)) return -1;
    cur = &nodes[i].y;
  }
  return 0;
}

const lunet_tensor *model_forward_range(model *m, const lunet_tensor *x, const lunet_ctx *ctx,
                                        int from, int to) {
  if (from == to) return x;
  if (seq_forward(m->nodes + from, to - from, x, ctx)) return NULL;
  return &m->nodes[to - 1].y;
}

const lunet_tensor *model_forward(model *m, const lunet_tensor *x, const lunet_ctx *ctx) {
  if (seq_forward(m->nodes, m->n, x, ctx)) return NULL;
  return &m->nodes[m->n - 1].y;
}

lunet_tensor *model_output_grad(model *m) {
  node *last = &m->nodes[m->n - 1];
  set_batch(&last->dy, &last->out, last->y.shape.dim[0]);
  return &last->dy;
}

static int seq_backward(node *nodes, int n, const lunet_tensor *x, lunet_tensor *dx);

/* Given dy, parameter gradients and dx (unless NULL). For a residual block
** dx = dy + d body / dx. */
static int node_backward(node *nd, const lunet_tensor *x, lunet_tensor *dx) {
  int B = x->shape.dim[0];
  set_batch(&nd->dy, &nd->out, B);
  if (dx) set_batch(dx, &nd->in, B);
  if (nd->kind == NODE_LAYER)
    return nd->plugin->desc->layer->backward[LUNET_CPU](nd->self, x, &nd->y, &nd->dy, dx);
  node *last = &nd->body[nd->n_body - 1];
  int64_t len = (int64_t)B * lunet_numel(&nd->out);
  memcpy(last->dy.data, nd->dy.data, sizeof(float) * (size_t)len);
  set_batch(&last->dy, &last->out, B);
  if (seq_backward(nd->body, nd->n_body, x, dx)) return -1;
  if (dx)
    for (int64_t i = 0; i < len; i++) dx->data[i] += nd->dy.data[i];
  return 0;
}

static int seq_backward(node *nodes, int n, const lunet_tensor *x, lunet_tensor *dx) {
  for (int i = n - 1; i >= 0; i--) {
    const lunet_tensor *in = i ? &nodes[i - 1].y : x;
    lunet_tensor *din = i ? &nodes[i - 1].dy : dx;
    if (node_backward(&nodes[i], in, din)) return -1;
  }
  return 0;
}

int model_backward(model *m, const lunet_tensor *x, lunet_tensor *dx) {
  return seq_backward(m->nodes, m->n, x, dx);
}

/* ---- inspection -------------------------------------------------------- */

int64_t model_param_count(const model *m) {
  int64_t total = 0;
  for (int i = 0; i < m->n_params; i++)
    if (m->params[i].grad) total += lunet_numel(&m->params[i].value->shape);
  return total;
}

int model_find_param(const model *m, const char *name) {
  for (int i = 0; i < m->n_params; i++)
    if (strcmp(m->param_names[i], name) == 0) return i;
  return -1;
}

static int64_t node_param_count(const node *nd) {
  int64_t total = 0;
  if (nd->kind == NODE_RESIDUAL) {
    for (int i = 0; i < nd->n_body; i++) total += node_param_count(&nd->body[i]);
    return total;
  }
  lunet_param ps[16];
  int k = nd->plugin->desc->layer->parameters(nd->self, ps, 16);
  for (int i = 0; i < k && i < 16; i++)
    if (ps[i].grad) total += lunet_numel(&ps[i].value->shape);
  return total;
}

int64_t model_node_param_count(const model *m, int i) { return node_param_count(&m->nodes[i]); }

static void summary_rows(const node *nodes, int n, const char *prefix, char **buf, size_t *len,
                         size_t *cap) {
  for (int i = 0; i < n; i++) {
    const node *nd = &nodes[i];
    char idx[32], desc[256], shp[128];
    snprintf(idx, sizeof idx, "%s%d", prefix, i + 1);
    node_describe(nd, desc, sizeof desc);
    shape_format(&nd->out, shp, sizeof shp);
    if (*cap - *len < 512) *buf = realloc(*buf, *cap *= 2);
    *len += (size_t)snprintf(*buf + *len, *cap - *len, "%-8s %-36s %-16s %12lld\n", idx, desc, shp,
                             (long long)node_param_count(nd));
    if (nd->kind == NODE_RESIDUAL) {
      char sub[32];
      snprintf(sub, sizeof sub, "%s.", idx);
      summary_rows(nd->body, nd->n_body, sub, buf, len, cap);
    }
  }
}

char *model_summary(const model *m) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap), shp[128];
  shape_format(&m->in, shp, sizeof shp);
  len += (size_t)snprintf(buf, cap, "%-8s %-36s %-16s %12s\n%-8s %-36s %-16s %12s\n", "#", "layer",
                          "output", "params", "", "input", shp, "");
  summary_rows(m->nodes, m->n, "", &buf, &len, &cap);
  if (cap - len < 128) buf = realloc(buf, cap *= 2);
  snprintf(buf + len, cap - len, "total trainable parameters: %lld\n", (long long)model_param_count(m));
  return buf;
}
