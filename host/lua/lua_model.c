/*
** lua_model.c -- models in Lua: lunet.sequential, lunet.residual, the
** model methods, lunet.train and lunet.load.
**
** A model userdata owns its C model; its __gc frees it, so a Lua error in
** the middle of building one leaks nothing.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/checkpoint.h"
#include "lua/lua_lunet.h"
#include "runtime/services.h"
#include "nn/train.h"

lmodel *lcheck_model(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_MODEL); }

static model *built_model(lua_State *L, int idx) {
  model *m = lcheck_model(L, idx)->m;
  if (!m->built)
    luaL_error(L, "model is not built yet: give lunet.sequential an input shape "
                  "(input = {784}) or train it first");
  return m;
}

void lpush_model(lua_State *L, model *m) {
  lmodel *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->m = m;
  luaL_setmetatable(L, MT_MODEL);
}

/* ---- building ---------------------------------------------------------- */

static void fill_nodes(lua_State *L, int idx, node *nodes, int n, const char *fn);

static void fill_node(lua_State *L, int item, node *nd, int pos, const char *fn) {
  int t = lua_getfield(L, item, "kind");
  const char *kind = t == LUA_TSTRING ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  if (strcmp(kind, "layer") == 0) {
    nd->plugin = lspec_resolve(L, item, LUNET_LAYER, &nd->params);
    nd->kind = NODE_LAYER;
  } else if (strcmp(kind, "residual") == 0) {
    int n = (int)lua_rawlen(L, item);
    nd->kind = NODE_RESIDUAL;
    nd->body = calloc((size_t)n + 1, sizeof *nd->body);
    nd->n_body = n;
    fill_nodes(L, item, nd->body, n, "lunet.residual");
  } else {
    luaL_error(L, "%s: item %d is a %s, expected a layer spec (lunet.layer) or lunet.residual{...}",
               fn, pos, luaL_typename(L, item));
  }
}

static void fill_nodes(lua_State *L, int idx, node *nodes, int n, const char *fn) {
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    if (!lua_istable(L, -1))
      luaL_error(L, "%s: item %d is a %s, expected a layer spec (lunet.layer) or lunet.residual{...}",
                 fn, i + 1, luaL_typename(L, -1));
    fill_node(L, lua_gettop(L), &nodes[i], i + 1, fn);
    lua_pop(L, 1);
  }
}

/* lunet.sequential{ spec, ..., input = shape, seed = 1 } */
static int l_sequential(lua_State *L) {
  static const char *const known[] = {"input", "seed", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.sequential", known);
  int n = (int)lua_rawlen(L, 1);
  if (n == 0) return luaL_error(L, "lunet.sequential: give at least one layer");
  lua_getfield(L, 1, "seed");
  lua_Integer seed = luaL_optinteger(L, -1, 1);
  lua_pop(L, 1);
  model *m = model_new(calloc((size_t)n, sizeof(node)), n, (uint64_t)seed);
  lpush_model(L, m); /* owns m from here on */
  fill_nodes(L, 1, m->nodes, n, "lunet.sequential");
  if (lua_getfield(L, 1, "input") != LUA_TNIL) {
    lunet_shape in;
    lget_shape(L, -1, &in, "lunet.sequential input");
    if (model_build(m, &in)) return lerror_services(L);
  }
  lua_pop(L, 1);
  return 1;
}

/* lunet.residual{ spec, ... }: a table the model builder reads. */
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

/* ---- methods ----------------------------------------------------------- */

static int m_gc(lua_State *L) {
  lmodel *u = lcheck_model(L, 1);
  model_free(u->m);
  u->m = NULL;
  return 0;
}

static int m_build(lua_State *L) {
  model *m = lcheck_model(L, 1)->m;
  lunet_shape in;
  lget_shape(L, 2, &in, "model:build");
  if (m->built) return luaL_error(L, "model:build: the model is already built");
  if (model_build(m, &in)) return lerror_services(L);
  lua_settop(L, 1);
  return 1;
}

static int m_param_count(lua_State *L) {
  lua_pushinteger(L, model_param_count(built_model(L, 1)));
  return 1;
}

static int m_summary(lua_State *L) {
  char *s = model_summary(built_model(L, 1));
  lua_pushstring(L, s);
  free(s);
  return 1;
}

static int m_tostring(lua_State *L) {
  model *m = lcheck_model(L, 1)->m;
  if (!m->built) {
    lua_pushfstring(L, "model (%d layers, not built)", m->n);
    return 1;
  }
  return m_summary(L);
}

static void push_metrics(lua_State *L, const metrics *mt) {
  lua_createtable(L, 0, 2);
  lua_pushnumber(L, mt->loss);
  lua_setfield(L, -2, "loss");
  if (!isnan(mt->error)) {
    lua_pushnumber(L, mt->error);
    lua_setfield(L, -2, "error");
  }
}

/* model:evaluate(ds, loss) -> { loss =, error = } */
static int m_evaluate(lua_State *L) {
  model *m = lcheck_model(L, 1)->m;
  dataset *ds = lcheck_dataset(L, 2);
  loss_fn lf = {0};
  lf.pe = lspec_resolve(L, 3, LUNET_LOSS, &lf.params);
  metrics mt;
  int rc = evaluate(m, ds, &lf, 256, &mt);
  params_free(&lf.params);
  if (rc) return lerror_services(L);
  push_metrics(L, &mt);
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
      lua_pushnumber(L, y->data[i * P + j]);
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

static void push_floats(lua_State *L, const float *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* model:parameters() -> { {name =, shape =, values =, trainable =}, ... } */
static int m_parameters(lua_State *L) {
  model *m = built_model(L, 1);
  lua_createtable(L, m->n_params, 0);
  for (int i = 0; i < m->n_params; i++) {
    const lunet_tensor *t = m->params[i].value;
    lua_createtable(L, 0, 4);
    lua_pushstring(L, m->param_names[i]);
    lua_setfield(L, -2, "name");
    lpush_shape(L, &t->shape);
    lua_setfield(L, -2, "shape");
    push_floats(L, t->data, lunet_numel(&t->shape));
    lua_setfield(L, -2, "values");
    lua_pushboolean(L, m->params[i].grad != NULL);
    lua_setfield(L, -2, "trainable");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* model:set_parameter(name, values): values is a flat array, row-major. */
static int m_set_parameter(lua_State *L) {
  model *m = built_model(L, 1);
  const char *name = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  int k = model_find_param(m, name);
  if (k < 0) return luaL_error(L, "model:set_parameter: no parameter named '%s' (see model:parameters())", name);
  lunet_tensor *t = m->params[k].value;
  int64_t n = lunet_numel(&t->shape), got = (int64_t)lua_rawlen(L, 3);
  if (got != n)
    return luaL_error(L, "model:set_parameter: '%s' has %d values, got %d", name, (int)n, (int)got);
  for (int64_t i = 0; i < n; i++) {
    if (lua_rawgeti(L, 3, i + 1) != LUA_TNUMBER)
      return luaL_error(L, "model:set_parameter: value %d of '%s' is not a number", (int)i + 1, name);
    t->data[i] = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return 0;
}

static int m_save(lua_State *L) {
  model *m = built_model(L, 1);
  if (checkpoint_save(m, luaL_checkstring(L, 2))) return lerror_services(L);
  return 0;
}

static int l_load(lua_State *L) {
  model *m = checkpoint_load(luaL_checkstring(L, 1));
  if (!m) return lerror_services(L);
  lpush_model(L, m);
  return 1;
}

/* ---- lunet.train ------------------------------------------------------- */

typedef struct callback {
  lua_State *L;
  int fn;            /* stack index of on_epoch, 0 if none */
  const eval_set *evals;
  int n_evals;
  int failed;        /* a Lua error is on top of the stack */
} callback;

static void push_report(lua_State *L, const epoch_report *r, const eval_set *evals, int n_evals) {
  lua_createtable(L, 0, 4 + n_evals);
  lua_pushinteger(L, r->epoch);
  lua_setfield(L, -2, "epoch");
  lua_pushnumber(L, r->seconds);
  lua_setfield(L, -2, "seconds");
  push_metrics(L, &r->train);
  lua_setfield(L, -2, "train");
  for (int i = 0; r->evaluated && i < n_evals; i++) {
    push_metrics(L, &r->evals[i]);
    lua_setfield(L, -2, evals[i].name);
  }
}

static int call_on_epoch(void *ud, const epoch_report *r) {
  callback *cb = ud;
  lua_State *L = cb->L;
  lua_pushvalue(L, cb->fn);
  lua_pushinteger(L, r->epoch);
  push_report(L, r, cb->evals, cb->n_evals);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    cb->failed = 1;
    return -1;
  }
  int stop = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  return stop;
}

static int opt_int(lua_State *L, int t, const char *key, int def, int min) {
  lua_getfield(L, t, key);
  lua_Integer v = lua_isnil(L, -1) ? def : (lua_isinteger(L, -1) ? lua_tointeger(L, -1) : min - 1);
  lua_pop(L, 1);
  if (v < min || v > 1 << 30) luaL_error(L, "lunet.train: '%s' must be an integer >= %d", key, min);
  return (int)v;
}

static dataset *field_dataset(lua_State *L, int t, const char *key) {
  if (lua_getfield(L, t, key) == LUA_TNIL) luaL_error(L, "lunet.train: '%s' is required", key);
  dataset *ds = lcheck_dataset(L, -1);
  lua_pop(L, 1);
  return ds;
}

/* Reads eval = { name = ds, ... } into a userdata array left on the stack. */
static eval_set *read_evals(lua_State *L, int t, int *n) {
  *n = 0;
  if (lua_getfield(L, t, "eval") == LUA_TNIL) return NULL;
  luaL_checktype(L, -1, LUA_TTABLE);
  int idx = lua_gettop(L), cap = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) cap++;
  eval_set *ev = lua_newuserdatauv(L, sizeof *ev * (size_t)(cap + 1), 0);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "lunet.train: eval names must be strings");
    ev[*n].name = lua_tostring(L, -2);
    ev[(*n)++].ds = lcheck_dataset(L, -1);
  }
  /* names sorted so progress lines and results have a stable order */
  for (int i = 1; i < *n; i++)
    for (int j = i; j > 0 && strcmp(ev[j - 1].name, ev[j].name) > 0; j--) {
      eval_set tmp = ev[j];
      ev[j] = ev[j - 1];
      ev[j - 1] = tmp;
    }
  return ev;
}

static void push_result(lua_State *L, const train_result *r, const eval_set *ev, int n_ev) {
  lua_createtable(L, 0, 6 + n_ev);
  push_metrics(L, &r->train);
  lua_setfield(L, -2, "train");
  for (int i = 0; i < n_ev; i++) {
    push_metrics(L, &r->evals[i]);
    lua_setfield(L, -2, ev[i].name);
  }
  lua_pushinteger(L, r->epochs);
  lua_setfield(L, -2, "epochs");
  lua_pushnumber(L, r->seconds);
  lua_setfield(L, -2, "seconds");
  lua_pushstring(L, r->diverged ? "diverged" : "ok");
  lua_setfield(L, -2, "status");
  lua_pushstring(L, r->diverged ? r->message : "");
  lua_setfield(L, -2, "message");
  lua_pushboolean(L, r->stopped_early);
  lua_setfield(L, -2, "stopped_early");
  if (r->best_epoch) {
    lua_pushinteger(L, r->best_epoch);
    lua_setfield(L, -2, "best_epoch");
  }
}

static double opt_number(lua_State *L, int t, const char *key, double def) {
  lua_getfield(L, t, key);
  if (!lua_isnil(L, -1) && !lua_isnumber(L, -1)) luaL_error(L, "lunet.train: '%s' must be a number", key);
  double v = lua_isnil(L, -1) ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0)) luaL_error(L, "lunet.train: '%s' must be >= 0, got %f", key, v);
  return v;
}

static int eval_index(const train_config *c, const char *name) {
  for (int i = 0; i < c->n_evals; i++)
    if (strcmp(c->evals[i].name, name) == 0) return i;
  return -1;
}

/* schedule = { kind = "step", step =, gamma = } | { kind = "cosine", min_lr = },
** warmup = epochs; the base rate is the optimizer's "lr". */
static void read_schedule(lua_State *L, train_config *c) {
  c->sched.warmup = opt_number(L, 1, "warmup", 0);
  c->sched.epochs = c->epochs;
  int t = lua_getfield(L, 1, "schedule");
  if (t != LUA_TNIL) {
    luaL_argexpected(L, t == LUA_TTABLE, 1, "schedule = { kind = \"step\" | \"cosine\", ... }");
    int idx = lua_gettop(L);
    static const char *const known[] = {"kind", "step", "gamma", "min_lr", NULL};
    lcheck_options(L, idx, "lunet.train schedule", known);
    lua_getfield(L, idx, "kind");
    const char *kind = luaL_optstring(L, -1, "constant");
    if (strcmp(kind, "step") == 0) c->sched.kind = SCHED_STEP;
    else if (strcmp(kind, "cosine") == 0) c->sched.kind = SCHED_COSINE;
    else if (strcmp(kind, "constant") == 0) c->sched.kind = SCHED_CONSTANT;
    else luaL_error(L, "lunet.train: schedule kind must be \"step\", \"cosine\" or \"constant\", got \"%s\"", kind);
    c->sched.step = opt_number(L, idx, "step", 10);
    c->sched.gamma = opt_number(L, idx, "gamma", 0.1);
    c->sched.min_lr = opt_number(L, idx, "min_lr", 0);
    if (c->sched.kind == SCHED_STEP && c->sched.step <= 0) luaL_error(L, "lunet.train: schedule step must be > 0");
    lua_pop(L, 1); /* kind */
  }
  lua_pop(L, 1); /* schedule */
  c->sched_on = t != LUA_TNIL || c->sched.warmup > 0;
}

/* patience = N, monitor = "val", monitor_metric = "loss" | "error", restore_best */
static void read_early_stopping(lua_State *L, train_config *c) {
  c->patience = opt_int(L, 1, "patience", 0, 0);
  lua_getfield(L, 1, "restore_best");
  c->restore_best = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  lua_getfield(L, 1, "monitor_metric");
  const char *metric = luaL_optstring(L, -1, "loss");
  if (strcmp(metric, "loss") && strcmp(metric, "error"))
    luaL_error(L, "lunet.train: monitor_metric must be \"loss\" or \"error\", got \"%s\"", metric);
  c->monitor_error = strcmp(metric, "error") == 0;
  lua_getfield(L, 1, "monitor");
  const char *mon = lua_tostring(L, -1);
  lua_pop(L, 3);
  if (c->patience == 0) return;
  if (c->n_evals == 0) luaL_error(L, "lunet.train: patience needs a validation set in eval = { name = ds }");
  c->monitor = mon ? eval_index(c, mon) : 0;
  if (!mon)
    for (int i = 0; i < c->n_evals; i++)
      if (strcmp(c->evals[i].name, "train") != 0) c->monitor = i;
  if (c->monitor < 0) luaL_error(L, "lunet.train: monitor '%s' is not one of the eval sets", mon);
}

static int l_train(lua_State *L) {
  static const char *const known[] = {
    "model", "data", "loss", "optimizer", "epochs", "batch", "seed", "eval", "eval_every", "on_epoch",
    "verbose", "l1", "l2", "clip_norm", "schedule", "warmup", "patience", "monitor", "monitor_metric",
    "restore_best", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.train", known);
  train_config c = {0};
  if (lua_getfield(L, 1, "model") == LUA_TNIL) return luaL_error(L, "lunet.train: 'model' is required");
  c.m = lcheck_model(L, -1)->m;
  c.data = field_dataset(L, 1, "data");
  c.epochs = opt_int(L, 1, "epochs", 10, 0);
  c.batch = opt_int(L, 1, "batch", 32, 1);
  c.eval_every = opt_int(L, 1, "eval_every", 1, 1);
  lua_getfield(L, 1, "seed");
  c.seed = (uint64_t)luaL_optinteger(L, -1, 1);
  lua_getfield(L, 1, "verbose");
  c.verbose = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  callback cb = {L, 0, NULL, 0, 0};
  if (lua_getfield(L, 1, "on_epoch") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TFUNCTION);
    cb.fn = lua_gettop(L);
    c.on_epoch = call_on_epoch;
    c.ud = &cb;
  }
  c.evals = cb.evals = read_evals(L, 1, &c.n_evals);
  cb.n_evals = c.n_evals;
  c.l1 = opt_number(L, 1, "l1", 0);
  c.l2 = opt_number(L, 1, "l2", 0);
  c.clip_norm = opt_number(L, 1, "clip_norm", 0);
  read_schedule(L, &c);
  read_early_stopping(L, &c);
  /* validate both specs first: once resolved for real, nothing may raise
     until the instances are freed */
  param_values tmp;
  for (const char *k = "loss"; k; k = strcmp(k, "loss") == 0 ? "optimizer" : NULL) {
    if (lua_getfield(L, 1, k) == LUA_TNIL) return luaL_error(L, "lunet.train: '%s' is required", k);
    const plugin_entry *pe = lspec_resolve(L, -1, strcmp(k, "loss") == 0 ? LUNET_LOSS : LUNET_OPTIMIZER, &tmp);
    params_free(&tmp);
    lua_pop(L, 1);
    if (pe->desc->kind != LUNET_OPTIMIZER || !c.sched_on) continue;
    c.lr_index = -1;
    for (int i = 0; i < pe->desc->n_params; i++)
      if (strcmp(pe->desc->params[i].name, "lr") == 0) c.lr_index = i;
    if (c.lr_index < 0 || !pe->desc->optimizer->set)
      return luaL_error(L, "lunet.train: optimizer %s has no settable 'lr' for a schedule", pe->desc->name);
  }
  loss_fn lf = {0};
  lua_getfield(L, 1, "loss");
  lf.pe = lspec_resolve(L, -1, LUNET_LOSS, &lf.params);
  lua_getfield(L, 1, "optimizer");
  c.opt = lspec_resolve(L, -1, LUNET_OPTIMIZER, &c.opt_params);
  if (c.sched_on) c.sched.lr = c.opt_params.v[c.lr_index].num;
  c.loss = &lf;
  train_result r;
  int rc = train_run(&c, &r);
  params_free(&lf.params);
  params_free(&c.opt_params);
  if (rc == 0) push_result(L, &r, c.evals, c.n_evals);
  free(r.evals);
  if (rc && cb.failed) return lua_error(L); /* the callback's own error */
  if (rc) return lerror_services(L);
  return 1;
}

void lmodel_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"build", m_build}, {"param_count", m_param_count}, {"summary", m_summary},
    {"evaluate", m_evaluate}, {"predict", m_predict}, {"parameters", m_parameters},
    {"set_parameter", m_set_parameter}, {"save", m_save}, {NULL, NULL}};
  static const luaL_Reg fns[] = {
    {"sequential", l_sequential}, {"residual", l_residual}, {"train", l_train}, {"load", l_load},
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
}
