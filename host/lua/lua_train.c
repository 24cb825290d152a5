/*
** lua_train.c -- training from Lua: lunet.train (the whole loop in C),
** lunet.trainer (the same steps, one batch at a time, for loops written in
** Lua: several losses, a GAN, a probe), and model:gradients.
**
** A trainer owns its stepper and loader (nn/step.h, nn/batch.h): the same
** seed gives the batches and the dropout masks lunet.train would draw, and
** after trainer creation nothing is allocated per batch (the batch a loop
** sees is one userdata, refilled each time).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_lunet.h"
#include "nn/step.h"
#include "nn/train.h"
#include "runtime/services.h"


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
  lpush_metrics(L, &r->train);
  lua_setfield(L, -2, "train");
  for (int i = 0; r->evaluated && i < n_evals; i++) {
    lpush_metrics(L, &r->evals[i]);
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

static dataset *field_dataset(lua_State *L, int t, const char *key) {
  if (lua_getfield(L, t, key) == LUA_TNIL) luaL_error(L, "lunet.train: '%s' is required", key);
  char what[64];
  snprintf(what, sizeof what, "lunet.train: '%s'", key);
  dataset *ds = lcheck_dataset_as(L, -1, what);
  lua_pop(L, 1);
  return ds;
}

/* Reads eval = { name = ds, ... } into a userdata array left on the stack. */
static eval_set *read_evals(lua_State *L, int t, int *n) {
  *n = 0;
  if (lua_getfield(L, t, "eval") == LUA_TNIL) return NULL;
  if (!lua_istable(L, -1))
    luaL_error(L, "lunet.train: eval must be a table { name = dataset, ... }, got %s", luaL_typename(L, -1));
  int idx = lua_gettop(L), cap = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) cap++;
  eval_set *ev = lua_newuserdatauv(L, sizeof *ev * (size_t)(cap + 1), 0);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "lunet.train: eval names must be strings");
    ev[*n].name = lua_tostring(L, -2);
    char what[128];
    snprintf(what, sizeof what, "lunet.train: eval.%s", ev[*n].name);
    ev[(*n)++].ds = lcheck_dataset_as(L, -1, what);
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
  lpush_metrics(L, &r->train);
  lua_setfield(L, -2, "train");
  for (int i = 0; i < n_ev; i++) {
    lpush_metrics(L, &r->evals[i]);
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

static double opt_number(lua_State *L, int t, const char *key, double def, const char *fn) {
  lua_getfield(L, t, key);
  if (!lua_isnil(L, -1) && !lua_isnumber(L, -1)) luaL_error(L, "%s: '%s' must be a number", fn, key);
  double v = lua_isnil(L, -1) ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0)) luaL_error(L, "%s: '%s' must be >= 0, got %f", fn, key, v);
  return v;
}

static int eval_index(const train_config *c, const char *name) {
  for (int i = 0; i < c->n_evals; i++)
    if (strcmp(c->evals[i].name, name) == 0) return i;
  return -1;
}

/* schedule = { kind = "step", step =, gamma = } | { kind = "cosine", min_lr = }
** | { kind = "inverse_time", decay =, step = },
** warmup = epochs; the base rate is the optimizer's "lr". */
static void read_schedule(lua_State *L, train_config *c) {
  c->sched.warmup = opt_number(L, 1, "warmup", 0, "lunet.train");
  c->sched.epochs = c->epochs;
  int t = lua_getfield(L, 1, "schedule");
  if (t != LUA_TNIL) {
    if (t != LUA_TTABLE)
      luaL_error(L, "lunet.train: schedule must be a table { kind = \"step\" | \"cosine\" | \"inverse_time\", "
                 "... }, got %s", luaL_typename(L, -1));
    int idx = lua_gettop(L);
    static const char *const known[] = {"kind", "step", "gamma", "min_lr", "decay", NULL};
    lcheck_options(L, idx, "lunet.train schedule", known);
    lua_getfield(L, idx, "kind");
    const char *kind = luaL_optstring(L, -1, "constant");
    if (strcmp(kind, "step") == 0) c->sched.kind = SCHED_STEP;
    else if (strcmp(kind, "cosine") == 0) c->sched.kind = SCHED_COSINE;
    else if (strcmp(kind, "constant") == 0) c->sched.kind = SCHED_CONSTANT;
    else if (strcmp(kind, "inverse_time") == 0) c->sched.kind = SCHED_INVERSE_TIME;
    else luaL_error(L, "lunet.train: schedule kind must be \"step\", \"cosine\", \"inverse_time\" or \"constant\", got \"%s\"", kind);
    c->sched.step = opt_number(L, idx, "step", 10, "lunet.train");
    c->sched.gamma = opt_number(L, idx, "gamma", 0.1, "lunet.train");
    c->sched.min_lr = opt_number(L, idx, "min_lr", 0, "lunet.train");
    c->sched.decay = opt_number(L, idx, "decay", 1, "lunet.train");
    if ((c->sched.kind == SCHED_STEP || c->sched.kind == SCHED_INVERSE_TIME) && c->sched.step <= 0) luaL_error(L, "lunet.train: schedule step must be > 0");
    lua_pop(L, 1); /* kind */
  }
  lua_pop(L, 1); /* schedule */
  c->sched_on = t != LUA_TNIL || c->sched.warmup > 0;
}

/* patience = N, monitor = "val", monitor_metric = "loss" | "error", restore_best */
static void read_early_stopping(lua_State *L, train_config *c) {
  c->patience = lopt_count(L, 1, "patience", 0, 0, "lunet.train");
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
    "restore_best", "shuffle", "eval_batch", "checkpoint", "checkpoint_every", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.train", known);
  train_config c = {0};
  if (lua_getfield(L, 1, "model") == LUA_TNIL) return luaL_error(L, "lunet.train: 'model' is required");
  c.m = lcheck_model(L, -1)->m;
  c.data = field_dataset(L, 1, "data");
  c.epochs = lopt_count(L, 1, "epochs", 10, 1, "lunet.train");
  c.batch = lopt_count(L, 1, "batch", 32, 1, "lunet.train");
  c.eval_every = lopt_count(L, 1, "eval_every", 1, 1, "lunet.train");
  c.eval_batch = lopt_count(L, 1, "eval_batch", c.batch < 256 ? 256 : c.batch, 1, "lunet.train");
  lua_getfield(L, 1, "seed");
  c.seed = (uint64_t)luaL_optinteger(L, -1, 1);
  lua_getfield(L, 1, "verbose");
  c.verbose = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  lua_getfield(L, 1, "shuffle");
  c.shuffle = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  int ck = lua_getfield(L, 1, "checkpoint");
  if (ck != LUA_TNIL && ck != LUA_TSTRING)
    return luaL_error(L, "lunet.train: checkpoint must be a file path (a string), got a %s", luaL_typename(L, -1));
  c.checkpoint = lua_tostring(L, -1);
  if (c.checkpoint && !*c.checkpoint)
    return luaL_error(L, "lunet.train: checkpoint is empty; give the file to write, such as \"run.ckpt\"");
  c.checkpoint_every = lopt_count(L, 1, "checkpoint_every", 1, 1, "lunet.train");
  if (!c.checkpoint && lua_getfield(L, 1, "checkpoint_every") != LUA_TNIL)
    return luaL_error(L, "lunet.train: checkpoint_every is set but checkpoint is not, so nothing would be "
                         "saved; add checkpoint = \"run.ckpt\" (the file), or remove checkpoint_every");
  callback cb = {L, 0, NULL, 0, 0};
  if (lua_getfield(L, 1, "on_epoch") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TFUNCTION);
    cb.fn = lua_gettop(L);
    c.on_epoch = call_on_epoch;
    c.ud = &cb;
  }
  c.evals = cb.evals = read_evals(L, 1, &c.n_evals);
  cb.n_evals = c.n_evals;
  c.l1 = opt_number(L, 1, "l1", 0, "lunet.train");
  c.l2 = opt_number(L, 1, "l2", 0, "lunet.train");
  c.clip_norm = opt_number(L, 1, "clip_norm", 0, "lunet.train");
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


/* ---- model:gradients ----------------------------------------------------- */

typedef struct grad_report {
  lua_State *L;
  model *m;
  int outputs; /* stack index of the outputs table */
} grad_report;

static double norm_of(const float *v, int64_t n) {
  double sq = 0;
  for (int64_t i = 0; i < n; i++) sq += (double)v[i] * v[i];
  return sqrt(sq);
}

/* { name =, shape =, values =, norm = } of a tensor, pushed. */
static void push_gradient(lua_State *L, const char *name, const lunet_tensor *t) {
  int64_t n = lunet_numel(&t->shape);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "name");
  lpush_shape(L, &t->shape);
  lua_setfield(L, -2, "shape");
  lpush_floats(L, t->f32, n);
  lua_setfield(L, -2, "values");
  lua_pushnumber(L, norm_of(t->f32, n));
  lua_setfield(L, -2, "norm");
}

/* Called by model_backward with each node's complete output gradient. */
static int record_output(void *ud, int i, const lunet_tensor *dy) {
  grad_report *g = ud;
  char name[256];
  node_name(g->m, i, name, sizeof name);
  push_gradient(g->L, name, dy);
  lua_rawseti(g->L, g->outputs, i + 1); /* by node, whatever order backward takes */
  return 0;
}

/* model:gradients(ds, loss [, { batch = B, train = true, seed = 1 }]) ->
**   { loss =, parameters = { {name, shape, values, norm}, ... },
**     outputs = { {name, shape, values, norm}, ... } }
** the gradient of the mean loss over samples 1..B of ds (B: 256, or all
** of a smaller ds). */
int lmodel_gradients(lua_State *L) {
  static const char *const known[] = {"batch", "train", "seed", NULL};
  model *m = lcheck_model(L, 1)->m;
  dataset *ds = lcheck_dataset(L, 2);
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lcheck_options(L, 4, "model:gradients", known);
  }
  lua_Integer B = ds->info.n < 256 ? ds->info.n : 256, seed = 1;
  int train = 1;
  if (lua_istable(L, 4)) {
    lua_getfield(L, 4, "batch");
    B = luaL_optinteger(L, -1, B);
    lua_getfield(L, 4, "train");
    train = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
    lua_getfield(L, 4, "seed");
    seed = luaL_optinteger(L, -1, 1);
    lua_pop(L, 3);
  }
  if (B < 1 || B > ds->info.n || B > 1 << 30)
    return luaL_error(L, "model:gradients: batch = %d, expected 1..%d (the samples of the dataset)", (int)B,
                      (int)ds->info.n);
  loss_fn lf = {0};
  lf.pe = lspec_resolve(L, 3, LUNET_LOSS, &lf.params);
  batch b = {0};
  lunet_rng rng;
  rng_seed(&rng, (uint64_t)seed ^ STEP_LAYER_SEED);
  lunet_ctx ctx = {sizeof ctx, train, &rng, LUNET_CPU, 1};
  int64_t *order = malloc(sizeof(int64_t) * (size_t)B);
  const lunet_tensor *y = NULL;
  double loss = NAN;
  int rc = !order || model_accepts(m, ds) || loss_open(&lf, m, ds) || model_reserve(m, (int)B) ||
           batch_init(&b, ds, (int)B);
  for (lua_Integer i = 0; rc == 0 && i < B; i++) order[i] = i;
  if (rc == 0)
    rc = batch_fill(&b, ds, order, (int)B) || !(y = model_forward(m, b.x, &ctx)) ||
         loss_value(&lf, y, &b.y, &loss, model_output_grad(m));
  lua_createtable(L, 0, 3);
  lua_newtable(L);
  grad_report g = {L, m, lua_gettop(L)};
  if (rc == 0) rc = model_backward(m, NULL, record_output, &g);
  lua_setfield(L, -2, "outputs");
  free(order);
  batch_free(&b);
  loss_close(&lf);
  params_free(&lf.params);
  if (rc) return lerror_services(L);
  lua_pushnumber(L, loss);
  lua_setfield(L, -2, "loss");
  lua_createtable(L, m->ws.view.n, 0);
  for (int i = 0; i < m->ws.view.n; i++) {
    push_gradient(L, m->ws.trained[i].name, m->ws.trained[i].grad);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "parameters");
  return 1;
}

/* ---- lunet.trainer ------------------------------------------------------- */

/* The trainer userdata; uservalues 1..4: model, data, loss spec, batch. */
typedef struct ltrainer {
  int open;          /* loss, stepper and loader are live */
  loss_fn loss;
  stepper step;
  loader data;
  batch *current;    /* the last batch the iterator gave */
  double last_loss;
} ltrainer;

#define MT_TRAINER "lunet.trainer"
#define MT_BATCH "lunet.batch"

typedef struct lbatch { batch *b; } lbatch;

static ltrainer *check_trainer(lua_State *L, int idx) {
  ltrainer *t = luaL_checkudata(L, idx, MT_TRAINER);
  if (!t->open) luaL_error(L, "trainer: it was closed");
  return t;
}

static int t_gc(lua_State *L) {
  ltrainer *t = luaL_checkudata(L, 1, MT_TRAINER);
  if (!t->open) return 0;
  stepper_close(&t->step);
  loader_free(&t->data);
  loss_close(&t->loss);
  params_free(&t->loss.params);
  t->open = 0;
  return 0;
}

/* lunet.trainer{ model =, data =, loss =, optimizer =, batch = 32, seed = 1,
**                l1 =, l2 =, clip_norm = } */
static int l_trainer(lua_State *L) {
  static const char *const known[] = {"model", "data", "loss", "optimizer", "batch", "seed", "l1", "l2",
                                      "clip_norm", "shuffle", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.trainer", known);
  if (lua_getfield(L, 1, "model") == LUA_TNIL) return luaL_error(L, "lunet.trainer: 'model' is required");
  model *m = lcheck_model(L, -1)->m;
  if (lua_getfield(L, 1, "data") == LUA_TNIL) return luaL_error(L, "lunet.trainer: 'data' is required");
  dataset *ds = lcheck_dataset_as(L, -1, "lunet.trainer: 'data'");
  int bsz = lopt_count(L, 1, "batch", 32, 1, "lunet.trainer");
  lua_getfield(L, 1, "seed");
  uint64_t seed = (uint64_t)luaL_optinteger(L, -1, 1);
  double l1 = opt_number(L, 1, "l1", 0, "lunet.trainer"), l2 = opt_number(L, 1, "l2", 0, "lunet.trainer");
  double clip = opt_number(L, 1, "clip_norm", 0, "lunet.trainer");
  lua_getfield(L, 1, "shuffle");
  int shuffle = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  for (const char *k = "loss"; k; k = strcmp(k, "loss") == 0 ? "optimizer" : NULL)
    if (lua_getfield(L, 1, k) == LUA_TNIL) return luaL_error(L, "lunet.trainer: '%s' is required", k);
  param_values tmp;
  const plugin_entry *opt = lspec_resolve(L, -1, LUNET_OPTIMIZER, &tmp); /* validates before allocating */
  params_free(&tmp);
  if (opt->desc->optimizer->fit)
    return luaL_error(L, "lunet.trainer: optimizer %s fits in closed form; use lunet.train", opt->desc->name);
  ltrainer *t = lua_newuserdatauv(L, sizeof *t, 4);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, MT_TRAINER);
  int self = lua_gettop(L);
  lua_getfield(L, 1, "model");
  lua_setiuservalue(L, self, 1);
  lua_getfield(L, 1, "data");
  lua_setiuservalue(L, self, 2);
  lbatch *lb = lua_newuserdatauv(L, sizeof *lb, 0);
  lb->b = NULL;
  luaL_setmetatable(L, MT_BATCH);
  lua_setiuservalue(L, self, 4);
  lua_getfield(L, 1, "loss");
  t->loss.pe = lspec_resolve(L, -1, LUNET_LOSS, &t->loss.params);
  lua_pop(L, 1);
  t->open = 1; /* from here on __gc frees what is made */
  lua_getfield(L, 1, "optimizer");
  param_values opt_params;
  lspec_resolve(L, -1, LUNET_OPTIMIZER, &opt_params);
  lua_pop(L, 1);
  int rc = model_accepts(m, ds) || loss_open(&t->loss, m, ds) || model_reserve(m, bsz) ||
           loader_init(&t->data, ds, bsz, seed, shuffle) ||
           stepper_open(&t->step, m, &t->loss, opt, &opt_params, seed);
  params_free(&opt_params);
  if (rc) return lerror_services(L);
  t->step.l1 = l1, t->step.l2 = l2, t->step.clip_norm = clip;
  lua_settop(L, self);
  return 1;
}

/* The batch userdata the trainer hands out (always the same one). */
static void push_batch(lua_State *L, int trainer, batch *b) {
  lua_getiuservalue(L, trainer, 4);
  ((lbatch *)lua_touserdata(L, -1))->b = b;
}

static int batches_next(lua_State *L) {
  ltrainer *t = check_trainer(L, lua_upvalueindex(1));
  int err;
  batch *b = loader_next(&t->data, &err);
  if (err) return lerror_services(L);
  if (!b) return 0;
  t->current = b;
  push_batch(L, lua_upvalueindex(1), b);
  return 1;
}

/* for b in tr:batches() do ... end: one epoch, shuffled as lunet.train does */
static int t_batches(lua_State *L) {
  ltrainer *t = check_trainer(L, 1);
  loader_epoch(&t->data, t->data.epoch + 1);
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, batches_next, 1);
  return 1;
}

static batch *check_batch(lua_State *L, int idx) {
  lbatch *lb = luaL_checkudata(L, idx, MT_BATCH);
  if (!lb->b) luaL_error(L, "trainer: not a batch from trainer:batches()");
  return lb->b;
}

/* tr:forward(b) -> mean loss, misclassified rows (nil for regression):
** training-mode forward and the loss's gradient */
static int t_forward(lua_State *L) {
  ltrainer *t = check_trainer(L, 1);
  batch *b = check_batch(L, 2);
  const lunet_tensor *y;
  if (stepper_forward(&t->step, b, &t->last_loss, &y)) return lerror_services(L);
  lua_pushnumber(L, t->last_loss);
  lua_getiuservalue(L, 1, 2);
  dataset *ds = lcheck_dataset(L, -1);
  lua_pop(L, 1);
  if (ds->info.classes) lua_pushinteger(L, count_errors(&t->loss, y, &b->y));
  else lua_pushnil(L);
  return 2;
}

/* tr:backward() -> global gradient norm when clipping, else nil */
static int t_backward(lua_State *L) {
  ltrainer *t = check_trainer(L, 1);
  if (stepper_backward(&t->step)) return lerror_services(L);
  if (t->step.clip_norm > 0) lua_pushnumber(L, t->step.grad_norm);
  else lua_pushnil(L);
  return 1;
}

static int t_update(lua_State *L) {
  ltrainer *t = check_trainer(L, 1);
  if (stepper_update(&t->step)) return lerror_services(L);
  return 0;
}

/* tr:step(b) -> loss, errors: forward, backward and update */
static int t_step(lua_State *L) {
  int n = t_forward(L);
  ltrainer *t = check_trainer(L, 1);
  if (stepper_backward(&t->step) || stepper_update(&t->step)) return lerror_services(L);
  return n;
}

/* tr:set(name, value): an optimizer hyper-parameter, e.g. "lr" */
static int t_set(lua_State *L) {
  ltrainer *t = check_trainer(L, 1);
  const char *name = luaL_checkstring(L, 2);
  double v = luaL_checknumber(L, 3);
  const lunet_plugin *p = t->step.opt->desc;
  for (int i = 0; i < p->n_params; i++)
    if (strcmp(p->params[i].name, name) == 0) {
      if (stepper_set(&t->step, i, v)) return lerror_services(L);
      return 0;
    }
  return luaL_error(L, "trainer:set: optimizer %s has no hyper-parameter '%s'", p->name, name);
}

static int b_size(lua_State *L) {
  lua_pushinteger(L, check_batch(L, 1)->y.shape.dim[0]);
  return 1;
}

void ltrain_register(lua_State *L) {
  static const luaL_Reg trainer[] = {{"batches", t_batches}, {"forward", t_forward}, {"backward", t_backward},
                                     {"update", t_update}, {"step", t_step}, {"set", t_set}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"train", l_train}, {"trainer", l_trainer}, {NULL, NULL}};
  lnew_metatable(L, MT_TRAINER, "__gc", t_gc);
  luaL_getmetatable(L, MT_TRAINER);
  luaL_newlib(L, trainer);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, t_gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  lnew_metatable(L, MT_BATCH, NULL, NULL);
  luaL_getmetatable(L, MT_BATCH);
  lua_newtable(L);
  lua_pushcfunction(L, b_size);
  lua_setfield(L, -2, "size");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
