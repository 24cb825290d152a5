/*
** lua_configs.c -- the configurations a sweep runs, and
** lunet.uniform / loguniform / choice, the distributions of random search.
**
**   grid   = { width = {8, 16}, act = "relu" }
**   random = { n = 20, seed = 1, space = { lr = lunet.loguniform(1e-4, 1e-1),
**                                          width = lunet.choice{8, 16} } }
**
** A grid's configurations are the cartesian product of its lists (keys in
** sorted order, the last key varying fastest; a single value is a list of
** one). Random search makes `n` draws from `space`, in one stream seeded
** with `seed`, the keys drawn in sorted order; a constant in the space is
** in every configuration. Each configuration then runs once per seed.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/lua_sweep.h"
#include "runtime/services.h"

#define MT_DIST "lunet.distribution"

/* ---- distributions -------------------------------------------------------- */

static int make_dist(lua_State *L, const char *kind) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  if (!(a < b)) return luaL_error(L, "lunet.%s(a, b): expected a < b, got %f and %f", kind, a, b);
  if (strcmp(kind, "loguniform") == 0 && a <= 0)
    return luaL_error(L, "lunet.loguniform(a, b): expected 0 < a, got %f", a);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushnumber(L, a);
  lua_setfield(L, -2, "a");
  lua_pushnumber(L, b);
  lua_setfield(L, -2, "b");
  luaL_setmetatable(L, MT_DIST);
  return 1;
}

static int l_uniform(lua_State *L) { return make_dist(L, "uniform"); }
static int l_loguniform(lua_State *L) { return make_dist(L, "loguniform"); }

/* lunet.choice{ v1, v2, ... }: one of the values, each as likely. */
static int l_choice(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  if (n == 0) return luaL_error(L, "lunet.choice{...}: give at least one value");
  lua_createtable(L, (int)n, 0);
  for (lua_Integer k = 1; k <= n; k++) {
    lua_rawgeti(L, 1, k);
    if (!lsweep_is_scalar(L, -1))
      return luaL_error(L, "lunet.choice{...}: value %d is a %s; values are numbers, strings or booleans", (int)k,
                        luaL_typename(L, -1));
    lua_rawseti(L, -2, k);
  }
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "choice");
  lua_setfield(L, -2, "kind");
  lua_insert(L, -2);
  lua_setfield(L, -2, "values");
  luaL_setmetatable(L, MT_DIST);
  return 1;
}

static int is_dist(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, MT_DIST);
  int yes = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return yes;
}

/* Pushes one draw of the distribution at `idx`, or the value itself when it
** is a constant. Every distribution takes exactly one number of the stream,
** so a draw never shifts the others. */
static void draw(lua_State *L, int idx, lunet_rng *rng) {
  if (!is_dist(L, idx)) {
    lua_pushvalue(L, idx);
    return;
  }
  lua_getfield(L, idx, "kind");
  int choice = strcmp(lua_tostring(L, -1), "choice") == 0;
  int logu = strcmp(lua_tostring(L, -1), "loguniform") == 0;
  lua_pop(L, 1);
  double u = rng_uniform(rng); /* in [0, 1) */
  if (choice) {
    lua_getfield(L, idx, "values");
    lua_rawgeti(L, -1, 1 + (lua_Integer)(u * (double)lua_rawlen(L, -1)));
    lua_remove(L, -2);
    return;
  }
  lua_getfield(L, idx, "a");
  lua_getfield(L, idx, "b");
  double a = lua_tonumber(L, -2), b = lua_tonumber(L, -1);
  lua_pop(L, 2);
  lua_pushnumber(L, logu ? exp(log(a) + (log(b) - log(a)) * u) : a + (b - a) * u);
}

/* ---- configurations ----------------------------------------------------------- */

/* Reads the sorted string keys of the table at idx into s->name (anchored
** in state.names); `what` names the table in errors. */
static void take_names(sweep *s, int idx, const char *what) {
  lua_State *L = s->L;
  lua_newtable(L);
  int names = lua_gettop(L), n = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "lunet.sweep: %s keys must be names, got a %s", what,
                                                   luaL_typename(L, -2));
    const char *name = lua_tostring(L, -2);
    if (lsweep_is_reserved(name))
      luaL_error(L, "lunet.sweep: %s key '%s' is the name of a column every results row has; "
                    "rename it%s", what, name, strcmp(name, "seed") == 0 ? " (seeds = {...} gives the seeds)" : "");
    lua_pushvalue(L, -2);
    lua_rawseti(L, names, ++n);
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, names);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  s->name = malloc(sizeof(char *) * (size_t)(n + 1));
  if (!s->name) luaL_error(L, "lunet.sweep: out of memory");
  for (int j = 0; j < n; j++) {
    lua_rawgeti(L, names, j + 1);
    s->name[j] = lua_tostring(L, -1);
    lua_pop(L, 1); /* alive in the names table */
  }
  s->n_names = n;
  lsweep_set_state(s, "names");
}

/* grid = { a = {1, 2}, b = "x" }: the cartesian product, last key fastest.
** The lists are read into a table of their own: the caller's stays as given. */
static void grid_configs(sweep *s, int grid, int cfgs) {
  lua_State *L = s->L;
  take_names(s, grid, "grid");
  lua_newtable(L);
  int lists = lua_gettop(L);
  long total = 1;
  for (int j = 0; j < s->n_names; j++) {
    lua_getfield(L, grid, s->name[j]);
    if (!lua_istable(L, -1)) { /* a single value */
      lua_createtable(L, 1, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
    }
    long len = (long)lua_rawlen(L, -1);
    if (len == 0) luaL_error(L, "lunet.sweep: grid '%s' is an empty list", s->name[j]);
    for (long k = 1; k <= len; k++) {
      lua_rawgeti(L, -1, k);
      if (!lsweep_is_scalar(L, -1))
        luaL_error(L, "lunet.sweep: grid '%s' value %d is a %s; grid values are numbers, strings or booleans",
                   s->name[j], (int)k, luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    if (total > (1L << 24) / len) luaL_error(L, "lunet.sweep: the grid has more than 2^24 configurations");
    total *= len;
    lua_rawseti(L, lists, j + 1);
  }
  for (long t = 0; t < total; t++) {
    lua_newtable(L);
    long rest = t;
    for (int j = s->n_names - 1; j >= 0; j--) {
      lua_rawgeti(L, lists, j + 1);
      long len = (long)lua_rawlen(L, -1);
      lua_rawgeti(L, -1, rest % len + 1);
      lua_setfield(L, -3, s->name[j]);
      lua_pop(L, 1);
      rest /= len;
    }
    lua_rawseti(L, cfgs, t + 1);
  }
  lua_pop(L, 1);
}

/* random = { n =, seed =, space = { a = lunet.uniform(0, 1), b = 3, ... } } */
static void random_configs(sweep *s, int rnd, int cfgs) {
  lua_State *L = s->L;
  static const char *const known[] = {"n", "seed", "space", NULL};
  luaL_argexpected(L, lua_istable(L, rnd), 1, "random = { n =, seed =, space = {...} }");
  lcheck_options(L, rnd, "lunet.sweep random", known);
  lua_getfield(L, rnd, "n");
  lua_Integer n = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
  if (n < 1 || n > (1 << 24)) luaL_error(L, "lunet.sweep: random.n must be a positive integer");
  lua_getfield(L, rnd, "seed");
  if (!lua_isnil(L, -1) && !lua_isinteger(L, -1)) luaL_error(L, "lunet.sweep: random.seed must be an integer");
  lunet_rng rng;
  rng_seed(&rng, (uint64_t)luaL_optinteger(L, -1, 1));
  if (lua_getfield(L, rnd, "space") != LUA_TTABLE)
    luaL_error(L, "lunet.sweep: random.space must be a table like { lr = lunet.loguniform(1e-4, 1e-1) }");
  int space = lua_gettop(L);
  take_names(s, space, "random.space");
  for (int j = 0; j < s->n_names; j++) {
    lua_getfield(L, space, s->name[j]);
    if (!is_dist(L, -1) && !lsweep_is_scalar(L, -1))
      luaL_error(L, "lunet.sweep: random.space '%s' is a %s; give lunet.uniform(a, b), lunet.loguniform(a, b), "
                    "lunet.choice{...} or a constant", s->name[j], luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  for (lua_Integer t = 1; t <= n; t++) {
    lua_newtable(L);
    for (int j = 0; j < s->n_names; j++) {
      lua_getfield(L, space, s->name[j]);
      draw(L, lua_gettop(L), &rng);
      lua_setfield(L, -3, s->name[j]);
      lua_pop(L, 1);
    }
    lua_rawseti(L, cfgs, t);
  }
  lua_pop(L, 3);
}

int lsweep_make_configs(sweep *s) {
  lua_State *L = s->L;
  lua_newtable(L);
  int cfgs = lua_gettop(L);
  int has_grid = lua_getfield(L, 1, "grid") != LUA_TNIL, has_random = lua_getfield(L, 1, "random") != LUA_TNIL;
  if (has_grid && has_random) luaL_error(L, "lunet.sweep: give grid or random, not both");
  if (has_grid) {
    luaL_argexpected(L, lua_istable(L, cfgs + 1), 1, "grid = { name = {values...}, ... }");
    grid_configs(s, cfgs + 1, cfgs);
  } else if (has_random) {
    random_configs(s, cfgs + 2, cfgs);
  } else { /* only seeds */
    if (!(s->name = malloc(sizeof(char *)))) luaL_error(L, "lunet.sweep: out of memory");
    lua_newtable(L);
    lua_rawseti(L, cfgs, 1);
  }
  lua_settop(L, cfgs);
  int n = (int)lua_rawlen(L, cfgs);
  lsweep_set_state(s, "cfgs");
  return n;
}

void lsweep_configs_register(lua_State *L) {
  static const luaL_Reg fns[] = {{"uniform", l_uniform}, {"loguniform", l_loguniform}, {"choice", l_choice},
                                 {NULL, NULL}};
  lnew_metatable(L, MT_DIST, NULL, NULL);
  luaL_setfuncs(L, fns, 0);
}
