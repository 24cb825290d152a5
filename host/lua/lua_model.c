/*
** lua_model.c -- models in Lua: lunet.sequential, lunet.residual and
** lunet.graph, the model methods, lunet.load.
**
** All three build the same thing, a graph of nodes (nn/model.h):
** sequential{a, b, residual{c, d}} is the chain a -> b, then c -> d fed by
** b, then add(b, d). Nodes are labelled as the parameters are named:
** "1", "2", "3.1", "3.2", "3" for the block; a graph node by its name.
**
** A model userdata owns its C model; its __gc frees it, so a Lua error in
** the middle of building one leaks nothing.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_lunet.h"
#include "base/csvfile.h"
#include "nn/checkpoint.h"
#include "nn/eval.h"
#include "nn/generate.h"
#include "runtime/devices.h"
#include "runtime/services.h"

lmodel *lcheck_model(lua_State *L, int idx) {
  lmodel *u = luaL_checkudata(L, idx, MT_MODEL);
  if (!u->m) luaL_error(L, "model: it was freed (its __gc ran); use a live model");
  if (model_sync_host(u->m)) lerror_services(L); /* a GPU model's weights, readable here */
  return u;
}

model *lbuilt_model(lua_State *L, int idx) {
  model *m = lcheck_model(L, idx)->m;
  if (!m->built)
    luaL_error(L, "model is not built yet: give it an input shape (input = {784}) or train it first");
  return m;
}

void lpush_model(lua_State *L, model *m) {
  lmodel *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->m = m;
  luaL_setmetatable(L, MT_MODEL);
}

/* A new model, pushed (owned by its userdata from here on). */
static model *push_new_model(lua_State *L, uint64_t seed, int n_inputs) {
  model *m = model_new(seed, n_inputs);
  if (!m) lerror_services(L);
  lpush_model(L, m);
  return m;
}

/* ---- sequential and residual ------------------------------------------- */

/* Appends the layer spec at `item` fed by `in`; its node index. */
static int add_layer(lua_State *L, model *m, int item, const char *label, const int *in, int n_in) {
  param_values pv;
  const plugin_entry *pe = lspec_resolve(L, item, LUNET_LAYER, &pv);
  int id = model_add(m, NODE_LAYER, label, pe, &pv, in, n_in);
  params_free(&pv);
  if (id < 0) lerror_services(L);
  return id;
}

static int add_chain(lua_State *L, model *m, int idx, const char *prefix, int in, const char *fn);

/* Appends item `pos` of a chain (a layer spec or a residual block) fed by
** `in`; the node that ends it. */
static int add_item(lua_State *L, model *m, int item, const char *prefix, int pos, int in, const char *fn) {
  char label[160];
  snprintf(label, sizeof label, "%s%d", prefix, pos);
  int t = lua_istable(L, item) ? lua_getfield(L, item, "kind") : LUA_TNIL;
  const char *kind = t == LUA_TSTRING ? lua_tostring(L, -1) : "";
  int residual = strcmp(kind, "residual") == 0, layer = strcmp(kind, "layer") == 0;
  int block = strcmp(kind, "block") == 0;
  if (t != LUA_TNIL) lua_pop(L, 1);
  if (!residual && !layer && !block)
    luaL_error(L, "%s: item %d is a %s, expected a layer spec (lunet.layer), lunet.residual{...} or "
               "lunet.transformer_block{...}", fn, pos, luaL_typename(L, item));
  if (layer) return add_layer(L, m, item, label, &in, 1);
  if (block) { /* a chain of its own, labelled inside the item's label */
    char inner[176];
    snprintf(inner, sizeof inner, "%s.", label);
    return add_chain(L, m, item, inner, in, "lunet.transformer_block");
  }
  if (lua_rawlen(L, item) == 0) luaL_error(L, "model: residual block %s is empty; give it at least one layer", label);
  char body[176];
  snprintf(body, sizeof body, "%s.", label);
  int out = add_chain(L, m, item, body, in, "lunet.residual");
  int id = model_add_residual(m, label, in, out);
  if (id < 0) lerror_services(L);
  return id;
}

/* Appends the items of the array at `idx` as a chain fed by `in`. */
static int add_chain(lua_State *L, model *m, int idx, const char *prefix, int in, const char *fn) {
  int n = (int)lua_rawlen(L, idx);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    in = add_item(L, m, lua_gettop(L), prefix, i, in, fn);
    lua_pop(L, 1);
  }
  return in;
}

/* input = {784} (one shape) or { {784}, {10} } (one per model input):
** builds the model at once. */
static void build_from_option(lua_State *L, int opts, model *m, const char *fn) {
  if (lua_getfield(L, opts, "input") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  int t = lua_gettop(L);
  lunet_shape in[LUNET_MAX_INPUTS];
  lua_rawgeti(L, t, 1);
  int nested = lua_istable(L, -1);
  lua_pop(L, 1);
  int n = nested ? (int)lua_rawlen(L, t) : 1;
  if (n != m->n_inputs) luaL_error(L, "%s: input gives %d shapes for %d model inputs", fn, n, m->n_inputs);
  for (int k = 0; k < n; k++) {
    if (nested) lua_rawgeti(L, t, k + 1);
    else lua_pushvalue(L, t);
    lget_shape(L, -1, &in[k], fn);
    lua_pop(L, 1);
  }
  if (model_build(m, in, NULL)) lerror_services(L);
  lua_pop(L, 1);
}

/* device = "cuda" | "cpu" | "cuda:N": where the model runs (before it is built). */
static void device_from_option(lua_State *L, int opts, model *m) {
  if (lua_getfield(L, opts, "device") != LUA_TNIL) {
    int d = device_open(luaL_checkstring(L, -1), NULL);
    if (d < 0 || model_to(m, d)) lerror_services(L);
  }
  lua_pop(L, 1);
}

/* lunet.sequential{ spec, ..., input = shape, seed = 1, device = "cpu" } */
static int l_sequential(lua_State *L) {
  static const char *const known[] = {"input", "seed", "device", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.sequential", known);
  if (lua_rawlen(L, 1) == 0) return luaL_error(L, "lunet.sequential: give at least one layer");
  lua_getfield(L, 1, "seed");
  lua_Integer seed = luaL_optinteger(L, -1, 1);
  lua_pop(L, 1);
  model *m = push_new_model(L, (uint64_t)seed, 1);
  add_chain(L, m, 1, "", MODEL_INPUT(0), "lunet.sequential");
  device_from_option(L, 1, m);
  build_from_option(L, 1, m, "lunet.sequential input");
  return 1;
}

/* lunet.residual{ spec, ... }: a table the model builders read. */
static int l_residual(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_rawlen(L, 1);
  lua_createtable(L, n, 1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    lua_rawseti(L, -2, i);
  }
  lua_pushliteral(L, "residual");
  lua_setfield(L, -2, "kind");
  luaL_setmetatable(L, MT_SPEC);
  return 1;
}

/* ---- transformer block --------------------------------------------------- */

/* Appends lunet.layer(name, params) to the array at `list`; the params
** table is on top of the stack and is popped. */
static void append_layer(lua_State *L, int list, const char *name) {
  int params = lua_gettop(L);
  lua_pushcfunction(L, llayer);
  lua_pushstring(L, name);
  lua_pushvalue(L, params);
  lua_call(L, 2, 1);
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
  lua_settop(L, params - 1);
}

/* Appends a residual block (its layers appended by `fill`) to `list`. */
static void append_residual(lua_State *L, int list, void (*fill)(lua_State *L, int body, int opts), int opts) {
  lua_newtable(L);
  int body = lua_gettop(L);
  fill(L, body, opts);
  lua_pushliteral(L, "residual");
  lua_setfield(L, body, "kind");
  luaL_setmetatable(L, MT_SPEC);
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

static void append_norm(lua_State *L, int list) {
  lua_newtable(L);
  lua_pushliteral(L, "last");
  lua_setfield(L, -2, "axis");
  append_layer(L, list, "layernorm");
}

static lua_Integer opt_integer(lua_State *L, int opts, const char *key, lua_Integer def) {
  lua_getfield(L, opts, key);
  lua_Integer v = luaL_optinteger(L, -1, def);
  lua_pop(L, 1);
  return v;
}

/* attention(heads, causal, dropout), after a layernorm when norm_first */
static void fill_attention(lua_State *L, int body, int opts) {
  lua_getfield(L, opts, "norm_first");
  int norm_first = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (norm_first) append_norm(L, body);
  lua_newtable(L);
  lua_pushinteger(L, opt_integer(L, opts, "heads", 1));
  lua_setfield(L, -2, "heads");
  lua_getfield(L, opts, "causal");
  lua_pushboolean(L, lua_toboolean(L, -1));
  lua_setfield(L, -3, "causal");
  lua_pop(L, 1);
  lua_getfield(L, opts, "dropout");
  lua_pushnumber(L, luaL_optnumber(L, -1, 0));
  lua_setfield(L, -3, "dropout");
  lua_pop(L, 1);
  append_layer(L, body, "attention");
}

/* linear(ff), gelu, linear(dim), after a layernorm when norm_first */
static void fill_feed_forward(lua_State *L, int body, int opts) {
  lua_getfield(L, opts, "norm_first");
  int norm_first = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_Integer dim = opt_integer(L, opts, "dim", 0);
  if (norm_first) append_norm(L, body);
  lua_newtable(L);
  lua_pushinteger(L, opt_integer(L, opts, "ff", 4 * dim));
  lua_setfield(L, -2, "out");
  append_layer(L, body, "linear");
  lua_newtable(L);
  append_layer(L, body, "gelu");
  lua_newtable(L);
  lua_pushinteger(L, dim);
  lua_setfield(L, -2, "out");
  append_layer(L, body, "linear");
}

/* lunet.transformer_block{ dim, heads, ff = 4 dim, dropout = 0, causal = false,
** norm_first = true }: residual(layernorm, attention) then residual(layernorm,
** linear(ff), gelu, linear(dim)), per position; with norm_first = false the
** layernorms follow the residual sums instead (the original post-norm block). */
static int l_transformer_block(lua_State *L) {
  static const char *const known[] = {"dim", "heads", "ff", "dropout", "causal", "norm_first", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.transformer_block", known);
  if (opt_integer(L, 1, "dim", 0) < 1 || opt_integer(L, 1, "heads", 0) < 1)
    return luaL_error(L, "lunet.transformer_block: give dim (the width E of each position) and heads, both >= 1");
  lua_getfield(L, 1, "norm_first");
  int norm_first = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_newtable(L);
  int block = lua_gettop(L);
  append_residual(L, block, fill_attention, 1);
  if (!norm_first) append_norm(L, block);
  append_residual(L, block, fill_feed_forward, 1);
  if (!norm_first) append_norm(L, block);
  lua_pushliteral(L, "block");
  lua_setfield(L, block, "kind");
  luaL_setmetatable(L, MT_SPEC);
  return 1;
}

/* ---- graph ------------------------------------------------------------- */

/* Index of the source called `name`: a node so far or a model input. */
static int find_source(lua_State *L, const model *m, const char *name, const char *node_name) {
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->nodes[i].label, name) == 0) return i;
  for (int k = 0; k < m->n_inputs; k++)
    if (strcmp(m->input_names[k], name) == 0) return MODEL_INPUT(k);
  return luaL_error(L, "lunet.graph: node '%s' takes '%s', which is neither a model input nor an "
                       "earlier node", node_name, name);
}

/* The names of `inputs` (default { "x" }) into the model, which owns them. */
static int read_input_names(lua_State *L, char **names) {
  if (lua_getfield(L, 1, "inputs") == LUA_TNIL) {
    lua_pop(L, 1);
    if (!(names[0] = strdup("x"))) luaL_error(L, "lunet.graph: out of memory");
    return 1;
  }
  luaL_argexpected(L, lua_istable(L, -1), 1, "inputs = { \"name\", ... }");
  int n = (int)lua_rawlen(L, -1);
  if (n < 1 || n > LUNET_MAX_INPUTS) luaL_error(L, "lunet.graph: inputs names %d inputs, expected 1 to %d", n, LUNET_MAX_INPUTS);
  for (int k = 0; k < n; k++) {
    lua_rawgeti(L, -1, k + 1);
    if (!lua_isstring(L, -1)) luaL_error(L, "lunet.graph: inputs[%d] is a %s, expected a name", k + 1, luaL_typename(L, -1));
    if (!(names[k] = strdup(lua_tostring(L, -1)))) luaL_error(L, "lunet.graph: out of memory");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return n;
}

/* nodes[i] = { "name", spec, from } with from a name or { names... } */
static void add_graph_node(lua_State *L, model *m, int item, int pos) {
  if (!lua_istable(L, item)) luaL_error(L, "lunet.graph: nodes[%d] is a %s, expected { \"name\", spec, from }", pos, luaL_typename(L, item));
  lua_rawgeti(L, item, 1);
  lua_rawgeti(L, item, 2);
  lua_rawgeti(L, item, 3);
  int top = lua_gettop(L);
  const char *name = lua_tostring(L, top - 2);
  if (lua_type(L, top - 2) != LUA_TSTRING || !*name || strchr(name, '.'))
    luaL_error(L, "lunet.graph: nodes[%d] needs a name without dots first, as { \"h\", spec, \"x\" }", pos);
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->nodes[i].label, name) == 0) luaL_error(L, "lunet.graph: two nodes are named '%s'", name);
  for (int k = 0; k < m->n_inputs; k++)
    if (strcmp(m->input_names[k], name) == 0) luaL_error(L, "lunet.graph: node '%s' has the name of a model input", name);
  int in[LUNET_MAX_INPUTS], n_in = 0;
  if (lua_type(L, top) == LUA_TSTRING) {
    in[n_in++] = find_source(L, m, lua_tostring(L, top), name);
  } else if (lua_istable(L, top)) {
    n_in = (int)lua_rawlen(L, top);
    if (n_in < 1 || n_in > LUNET_MAX_INPUTS) luaL_error(L, "lunet.graph: node '%s' takes %d inputs, expected 1 to %d", name, n_in, LUNET_MAX_INPUTS);
    for (int j = 0; j < n_in; j++) {
      lua_rawgeti(L, top, j + 1);
      if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "lunet.graph: node '%s': inputs must be names", name);
      in[j] = find_source(L, m, lua_tostring(L, -1), name);
      lua_pop(L, 1);
    }
  } else {
    luaL_error(L, "lunet.graph: node '%s' needs its input(s) third: a name or { names... }", name);
  }
  add_layer(L, m, top - 1, name, in, n_in);
  lua_settop(L, top - 3);
}

/* lunet.graph{ inputs = { "x", ... }, nodes = { {name, spec, from}, ... },
**              output = name, input = shape(s), seed = 1, device = "cpu" } */
static int l_graph(lua_State *L) {
  static const char *const known[] = {"inputs", "nodes", "output", "input", "seed", "device", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.graph", known);
  lua_getfield(L, 1, "seed");
  lua_Integer seed = luaL_optinteger(L, -1, 1);
  lua_pop(L, 1);
  model *m = push_new_model(L, (uint64_t)seed, 0);
  m->graph = 1;
  m->n_inputs = read_input_names(L, m->input_names);
  int model_idx = lua_gettop(L);
  if (lua_getfield(L, 1, "nodes") != LUA_TTABLE || lua_rawlen(L, -1) == 0)
    return luaL_error(L, "lunet.graph: give nodes = { { \"name\", lunet.layer(...), \"input\" }, ... }");
  int nodes = lua_gettop(L), n = (int)lua_rawlen(L, nodes);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, nodes, i);
    add_graph_node(L, m, lua_gettop(L), i);
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "output") != LUA_TNIL) {
    int out = find_source(L, m, luaL_checkstring(L, -1), "output");
    if (out < 0) return luaL_error(L, "lunet.graph: output must be a node, not a model input");
    model_set_output(m, out);
  }
  lua_settop(L, model_idx);
  device_from_option(L, 1, m);
  build_from_option(L, 1, m, "lunet.graph input");
  return 1;
}

/* ---- methods ----------------------------------------------------------- */

static int m_gc(lua_State *L) {
  lmodel *u = luaL_checkudata(L, 1, MT_MODEL);
  model_free(u->m);
  u->m = NULL;
  return 0;
}

/* model:build(shape) or model:build{ shape, shape } */
static int m_build(lua_State *L) {
  model *m = lcheck_model(L, 1)->m;
  if (m->built) return luaL_error(L, "model:build: the model is already built");
  lua_settop(L, 2);
  lua_newtable(L);
  lua_pushvalue(L, 2);
  lua_setfield(L, 3, "input");
  build_from_option(L, 3, m, "model:build");
  lua_settop(L, 1);
  return 1;
}

static int m_param_count(lua_State *L) {
  lua_pushinteger(L, model_param_count(lbuilt_model(L, 1)));
  return 1;
}

static int m_summary(lua_State *L) {
  char *s = model_summary(lbuilt_model(L, 1));
  if (!s) return lerror_services(L);
  lua_pushstring(L, s);
  free(s);
  return 1;
}

static int m_tostring(lua_State *L) {
  model *m = lcheck_model(L, 1)->m;
  if (!m->built) {
    lua_pushfstring(L, "model (%d nodes, not built)", m->n);
    return 1;
  }
  return m_summary(L);
}

void lpush_metrics(lua_State *L, const metrics *mt) {
  lua_createtable(L, 0, 2);
  lua_pushnumber(L, mt->loss);
  lua_setfield(L, -2, "loss");
  if (!isnan(mt->error) || mt->classified) {
    lua_pushnumber(L, mt->error);
    lua_setfield(L, -2, "error");
  }
  if (!isnan(mt->perplexity)) {
    lua_pushnumber(L, mt->perplexity);
    lua_setfield(L, -2, "perplexity");
  }
}

/* model:evaluate(ds, loss [, { batch = 256 }]) -> { loss =, error =, perplexity = } */
static int m_evaluate(lua_State *L) {
  static const char *const known[] = {"batch", NULL};
  model *m = lcheck_model(L, 1)->m;
  dataset *ds = lcheck_dataset(L, 2);
  lua_Integer batch = 256;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lcheck_options(L, 4, "model:evaluate", known);
    batch = lopt_count(L, 4, "batch", 256, 1, "model:evaluate");
  }
  loss_fn lf = {0};
  lf.pe = lspec_resolve(L, 3, LUNET_LOSS, &lf.params);
  metrics mt;
  int rc = evaluate(m, ds, &lf, (int)batch, &mt);
  params_free(&lf.params);
  if (rc) return lerror_services(L);
  lpush_metrics(L, &mt);
  return 1;
}

/* Appends each row of y to the table on top of the stack. */
static int append_rows(void *ud, const lunet_tensor *y) {
  lua_State *L = ud;
  int64_t P = lunet_row_size(y);
  lua_Integer base = (lua_Integer)lua_rawlen(L, -1);
  for (int i = 0; i < y->shape.dim[0]; i++) {
    lua_createtable(L, (int)P, 0);
    for (int64_t j = 0; j < P; j++) {
      lua_pushnumber(L, y->f32[i * P + j]);
      lua_rawseti(L, -2, j + 1);
    }
    lua_rawseti(L, -2, base + i + 1);
  }
  return 0;
}

/* model:predict(ds) -> { {outputs of sample 1}, ... } */
static int m_predict(lua_State *L) {
  model *m = lcheck_model(L, 1)->m;
  dataset *ds = lcheck_dataset(L, 2);
  lua_newtable(L);
  if (predict(m, ds, 256, append_rows, L)) return lerror_services(L);
  return 1;
}

void lpush_floats(lua_State *L, const float *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* model:parameters() -> { {name =, shape =, values =, trainable =}, ... } */
static int m_parameters(lua_State *L) {
  model *m = lbuilt_model(L, 1);
  lua_createtable(L, m->ws.n, 0);
  for (int i = 0; i < m->ws.n; i++) {
    const weight *w = &m->ws.w[i];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, w->name);
    lua_setfield(L, -2, "name");
    lpush_shape(L, &w->value->shape);
    lua_setfield(L, -2, "shape");
    lpush_floats(L, w->value->f32, lunet_numel(&w->value->shape));
    lua_setfield(L, -2, "values");
    lua_pushboolean(L, w->grad != NULL);
    lua_setfield(L, -2, "trainable");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* model:set_parameter(name, values): values is a flat array, row-major. */
static int m_set_parameter(lua_State *L) {
  model *m = lbuilt_model(L, 1);
  const char *name = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  int k = weights_find(&m->ws, name);
  if (k < 0) return luaL_error(L, "model:set_parameter: no parameter named '%s' (see model:parameters())", name);
  lunet_tensor *t = m->ws.w[k].value;
  int64_t n = lunet_numel(&t->shape), got = (int64_t)lua_rawlen(L, 3);
  if (got != n)
    return luaL_error(L, "model:set_parameter: '%s' has %d values, got %d", name, (int)n, (int)got);
  for (int64_t i = 0; i < n; i++) {
    if (lua_rawgeti(L, 3, i + 1) != LUA_TNUMBER)
      return luaL_error(L, "model:set_parameter: value %d of '%s' is not a number", (int)i + 1, name);
    t->f32[i] = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return 0;
}

/* model:generate{ prompt = {ids from 1}, steps = N, temperature = 1, top_k = 0, seed = 1 }
** -> the prompt followed by N sampled ids (from 1) */
static int m_generate(lua_State *L) {
  static const char *const known[] = {"prompt", "steps", "temperature", "top_k", "seed", NULL};
  model *m = lbuilt_model(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lcheck_options(L, 2, "model:generate", known);
  generate_opts o = {0};
  lua_getfield(L, 2, "steps");
  lua_Integer steps = luaL_optinteger(L, -1, 1);
  lua_getfield(L, 2, "temperature");
  o.temperature = luaL_optnumber(L, -1, 1.0);
  lua_getfield(L, 2, "top_k");
  lua_Integer top_k = luaL_optinteger(L, -1, 0);
  lua_getfield(L, 2, "seed");
  o.seed = (uint64_t)luaL_optinteger(L, -1, 1);
  if (steps < 0 || steps > 1 << 24 || top_k < 0 || !(o.temperature >= 0))
    return luaL_error(L, "model:generate: expected steps >= 0, temperature >= 0, top_k >= 0");
  o.steps = (int)steps, o.top_k = top_k > 1 << 30 ? 1 << 30 : (int)top_k;
  if (lua_getfield(L, 2, "prompt") != LUA_TTABLE) return luaL_error(L, "model:generate: give prompt = { ids... }");
  int n = (int)lua_rawlen(L, -1);
  int32_t *ids = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(n + o.steps + 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, -2, i + 1);
    if (!lua_isinteger(L, -1)) return luaL_error(L, "model:generate: prompt[%d] is not an integer id", i + 1);
    ids[i] = (int32_t)(lua_tointeger(L, -1) - 1);
    lua_pop(L, 1);
  }
  if (model_generate(m, ids, n, &o, ids)) return lerror_services(L);
  lua_createtable(L, n + o.steps, 0);
  for (int i = 0; i < n + o.steps; i++) {
    lua_pushinteger(L, (lua_Integer)ids[i] + 1);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* model:save(path): missing folders above path are made, as lunet.csv does */
static int m_save(lua_State *L) {
  model *m = lbuilt_model(L, 1);
  const char *path = luaL_checkstring(L, 2);
  char err[512];
  if (make_parent_dirs(path, err, sizeof err)) return luaL_error(L, "model:save: %s", err);
  if (checkpoint_save(m, path)) return lerror_services(L);
  return 0;
}

/* model:to("cuda" | "cpu" | "cuda:N") -> model: runs there from now on. */
static int m_to(lua_State *L) {
  model *m = lcheck_model(L, 1)->m;
  int d = device_open(luaL_checkstring(L, 2), NULL);
  if (d < 0 || model_to(m, d)) return lerror_services(L);
  lua_settop(L, 1);
  return 1;
}

/* model:device() -> "cpu" or "cuda" */
static int m_device(lua_State *L) {
  lua_pushstring(L, device_name(lcheck_model(L, 1)->m->device));
  return 1;
}

/* lunet.devices() -> { "cpu", "cuda:0", ... }: what this build and machine have. */
static int l_devices(lua_State *L) {
  int n = device_gpu_count();
  lua_createtable(L, n + 1, 0);
  lua_pushliteral(L, "cpu");
  lua_rawseti(L, -2, 1);
  for (int i = 0; i < n; i++) {
    lua_pushfstring(L, "cuda:%d", i);
    lua_rawseti(L, -2, i + 2);
  }
  return 1;
}

static int l_load(lua_State *L) {
  model *m = checkpoint_load(luaL_checkstring(L, 1));
  if (!m) return lerror_services(L);
  lpush_model(L, m);
  return 1;
}

void lmodel_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"build", m_build}, {"param_count", m_param_count}, {"summary", m_summary},
    {"evaluate", m_evaluate}, {"predict", m_predict}, {"parameters", m_parameters},
    {"set_parameter", m_set_parameter}, {"save", m_save}, {"gradients", lmodel_gradients},
    {"generate", m_generate}, {"to", m_to}, {"device", m_device},
    {NULL, NULL}};
  static const luaL_Reg fns[] = {
    {"sequential", l_sequential}, {"residual", l_residual}, {"graph", l_graph}, {"load", l_load},
    {"transformer_block", l_transformer_block}, {"devices", l_devices},
    {NULL, NULL}};
  luaL_newmetatable(L, MT_MODEL);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, m_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, m_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
  lua_pushboolean(L, device_cuda_built()); /* lunet.cuda_built: this build has the CUDA backend */
  lua_setfield(L, -2, "cuda_built");
}
