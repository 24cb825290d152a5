/*
** lua_landscape.c -- loss landscapes from Lua (nn/landscape.c, after Li et
** al. 2018):
**
**   lunet.landscape{ model =, data =, loss =, directions = 2, span = 1,
**                    steps = 21, seed = 1, filter_norm = true, batch = 256 }
**       the loss and error at theta + a d1 + b d2 over [-span, span]^2
**       (directions = 1: along d1 only), d1 and d2 random and
**       filter-normalised;
**   lunet.interpolate{ from =, to =, data =, loss =, steps = 21,
**                      range = { 0, 1 }, batch = 256 }
**       the loss and error at (1 - a) theta_from + a theta_to.
**
** Both return { points = { {a =, b =, loss =, error =}, ... }, a = {...},
** loss =, error = }: for a plane also b = {...}, and loss and error as
** matrices (rows: b, columns: a, as lunet.heatmap takes them); for a line
** loss and error as arrays over a. `points` is what a CSV (a, b, loss,
** error) wants, row by row. lunet.landscape also returns the directions
** it took, directions[k] = { [parameter name] = {values} } (trained
** parameters only), so that a point can be checked by hand.
*/
#include <math.h>
#include <stdlib.h>

#include "lua/lua_lunet.h"
#include "nn/landscape.h"
#include "runtime/services.h"

/* t[key] as a finite number (def when absent); raises naming fn. */
static double opt_finite(lua_State *L, int t, const char *key, double def, const char *fn) {
  int type = lua_getfield(L, t, key);
  if (type != LUA_TNIL && type != LUA_TNUMBER)
    luaL_error(L, "%s: '%s' must be a number, got %s", fn, key, luaL_typename(L, -1));
  double v = type == LUA_TNIL ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!isfinite(v)) luaL_error(L, "%s: '%s' must be a finite number, got %f", fn, key, v);
  return v;
}

/* t[key], a dataset or model userdata, pushed; its index. */
static int required_field(lua_State *L, int t, const char *key, const char *fn, const char *what) {
  if (lua_getfield(L, t, key) == LUA_TNIL) luaL_error(L, "%s: '%s' is required (%s)", fn, key, what);
  return lua_gettop(L);
}

/* The loss at options field `loss`, resolved into lf (its parameters to be
** freed by the caller). */
static void read_loss(lua_State *L, int t, const char *fn, loss_fn *lf) {
  int idx = required_field(L, t, "loss", fn, "a loss spec, lunet.loss(\"cross_entropy\")");
  lf->pe = lspec_resolve(L, idx, LUNET_LOSS, &lf->params);
}

static void set_number(lua_State *L, const char *key, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, key);
}

/* The points as rows { a =, b =, loss =, error = } (error only when there is one). */
static void push_points(lua_State *L, const landscape_point *p, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_createtable(L, 0, 4);
    set_number(L, "a", p[i].a);
    set_number(L, "b", p[i].b);
    set_number(L, "loss", p[i].loss);
    if (!isnan(p[i].error)) set_number(L, "error", p[i].error);
    lua_rawseti(L, -2, i + 1);
  }
}

/* Field `what` (0 loss, 1 error) of points [0, n), as an array. */
static void push_values(lua_State *L, const landscape_point *p, int n, int what) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushnumber(L, what ? p[i].error : p[i].loss);
    lua_rawseti(L, -2, i + 1);
  }
}

/* The result table of `rows` x `cols` points (b outer, a inner). */
static void push_result(lua_State *L, const landscape_point *p, int rows, int cols) {
  lua_createtable(L, 0, 6);
  push_points(L, p, rows * cols);
  lua_setfield(L, -2, "points");
  lua_createtable(L, cols, 0);
  for (int i = 0; i < cols; i++) {
    lua_pushnumber(L, p[i].a);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "a");
  if (rows > 1) {
    lua_createtable(L, rows, 0);
    for (int j = 0; j < rows; j++) {
      lua_pushnumber(L, p[j * cols].b);
      lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "b");
  }
  for (int what = 0; what < 2; what++) {
    if (what == 1 && isnan(p[0].error)) break;
    if (rows == 1) {
      push_values(L, p, cols, what);
    } else {
      lua_createtable(L, rows, 0);
      for (int j = 0; j < rows; j++) {
        push_values(L, p + j * cols, cols, what);
        lua_rawseti(L, -2, j + 1);
      }
    }
    lua_setfield(L, -2, what ? "error" : "loss");
  }
}

/* Direction d (laid out as m's trained values) as { [name] = {values} }. */
static void push_direction(lua_State *L, const weights *ws, const float *d) {
  lua_createtable(L, 0, ws->n);
  for (int i = 0; i < ws->n; i++) {
    const weight *w = &ws->w[i];
    if (!w->grad) continue;
    lpush_floats(L, d + (w->value->f32 - ws->values), lunet_numel(&w->value->shape));
    lua_setfield(L, -2, w->name);
  }
}

/* Raises unless rows x cols points, each a pass over the data, are at most
** 2^20: a mistyped steps would otherwise run for days. */
static void check_points(lua_State *L, const char *fn, int rows, int cols) {
  if ((int64_t)rows * cols > 1 << 20)
    luaL_error(L, "%s: %d x %d points is too many; expected at most 2^20", fn, rows, cols);
}

/* lunet.landscape{ model =, data =, loss =, ... } -> the result (see the top). */
static int l_landscape(lua_State *L) {
  static const char *const known[] = {"model", "data", "loss", "directions", "span", "steps",
                                      "seed", "filter_norm", "batch", NULL};
  static const char fn[] = "lunet.landscape";
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, fn, known);
  model *m = lcheck_model(L, required_field(L, 1, "model", fn, "the trained network"))->m;
  dataset *ds = lcheck_dataset_as(L, required_field(L, 1, "data", fn, "a dataset to evaluate on"), fn);
  int ndir = lopt_count(L, 1, "directions", 2, 1, fn);
  if (ndir > 2) return luaL_error(L, "%s: 'directions' must be 1 or 2, got %d", fn, ndir);
  landscape_grid g = {opt_finite(L, 1, "span", 1.0, fn), lopt_count(L, 1, "steps", 21, 2, fn),
                      lopt_count(L, 1, "batch", 256, 1, fn)};
  if (!(g.span > 0)) return luaL_error(L, "%s: 'span' must be > 0, got %f", fn, g.span);
  uint64_t seed = (uint64_t)lopt_count(L, 1, "seed", 1, 0, fn);
  int filter_norm = lua_getfield(L, 1, "filter_norm") == LUA_TNIL || lua_toboolean(L, -1);
  int rows = ndir > 1 ? g.steps : 1;
  check_points(L, fn, rows, g.steps);
  if (landscape_accepts(m, ds)) return lerror_services(L);
  size_t n = (size_t)m->ws.n_trained + 1;
  float *d[2] = {lua_newuserdatauv(L, sizeof(float) * n, 0), lua_newuserdatauv(L, sizeof(float) * n, 0)};
  lunet_rng rng;
  rng_seed(&rng, seed);
  for (int k = 0; k < ndir; k++) landscape_direction(&m->ws, &rng, filter_norm, d[k]);
  landscape_point *p = lua_newuserdatauv(L, sizeof *p * (size_t)rows * (size_t)g.steps, 0);
  loss_fn lf = {0};
  read_loss(L, 1, fn, &lf);
  int rc = landscape_plane(m, ds, &lf, d[0], ndir > 1 ? d[1] : NULL, &g, p);
  params_free(&lf.params);
  if (rc) return lerror_services(L);
  push_result(L, p, rows, g.steps);
  lua_createtable(L, ndir, 0);
  for (int k = 0; k < ndir; k++) {
    push_direction(L, &m->ws, d[k]);
    lua_rawseti(L, -2, k + 1);
  }
  lua_setfield(L, -2, "directions");
  return 1;
}

/* range = { lo, hi } (default { 0, 1 }) into r. */
static void read_range(lua_State *L, const char *fn, double r[2]) {
  r[0] = 0, r[1] = 1;
  int type = lua_getfield(L, 1, "range");
  if (type == LUA_TNIL) return;
  if (type != LUA_TTABLE || lua_rawlen(L, -1) != 2)
    luaL_error(L, "%s: 'range' must be { lo, hi }, got %s", fn, luaL_typename(L, -1));
  for (int k = 0; k < 2; k++) {
    lua_rawgeti(L, -1, k + 1);
    int ok;
    r[k] = lua_tonumberx(L, -1, &ok);
    if (!ok || !isfinite(r[k])) luaL_error(L, "%s: range[%d] must be a finite number", fn, k + 1);
    lua_pop(L, 1);
  }
  if (!(r[0] < r[1])) luaL_error(L, "%s: range = { %f, %f }, expected lo < hi", fn, r[0], r[1]);
}

/* lunet.interpolate{ from =, to =, data =, loss =, ... } -> the result (see the top). */
static int l_interpolate(lua_State *L) {
  static const char *const known[] = {"from", "to", "data", "loss", "steps", "range", "batch", NULL};
  static const char fn[] = "lunet.interpolate";
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, fn, known);
  model *from = lcheck_model(L, required_field(L, 1, "from", fn, "the model at a = 0"))->m;
  model *to = lcheck_model(L, required_field(L, 1, "to", fn, "the model at a = 1"))->m;
  if (from == to) return luaL_error(L, "%s: 'from' and 'to' are the same model; expected two solutions", fn);
  dataset *ds = lcheck_dataset_as(L, required_field(L, 1, "data", fn, "a dataset to evaluate on"), fn);
  int steps = lopt_count(L, 1, "steps", 21, 2, fn), batch = lopt_count(L, 1, "batch", 256, 1, fn);
  check_points(L, fn, 1, steps);
  double range[2];
  read_range(L, fn, range);
  landscape_point *p = lua_newuserdatauv(L, sizeof *p * (size_t)steps, 0);
  loss_fn lf = {0};
  read_loss(L, 1, fn, &lf);
  int rc = landscape_line(from, to, ds, &lf, range[0], range[1], steps, batch, p);
  params_free(&lf.params);
  if (rc) return lerror_services(L);
  push_result(L, p, 1, steps);
  return 1;
}

void llandscape_register(lua_State *L) {
  static const luaL_Reg fns[] = {{"landscape", l_landscape}, {"interpolate", l_interpolate}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
