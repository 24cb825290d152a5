/*
** lua_lunet.c -- the argument helpers the binding files share (see
** lua_lunet.h), the spec constructors (lunet.layer / loss / optimizer),
** lunet.clock and lunet.threads.
**
** A spec is a plain Lua table { kind =, name =, params = } validated when it
** is made, so a typo fails at the line that wrote it, not at training time.
*/
#include "lua/lua_lunet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "runtime/services.h"

int lerror_services(lua_State *L) {
  const char *msg = services_last_error();
  return luaL_error(L, "%s", *msg ? msg : "unknown error");
}

/* ---- argument helpers -------------------------------------------------- */

param_given *lparams_given(lua_State *L, int idx, const char *plugin, int *n) {
  *n = 0;
  if (lua_isnoneornil(L, idx)) return NULL;
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) luaL_error(L, "%s: parameters must be a table, got %s", plugin, luaL_typename(L, idx));
  int cap = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) cap++;
  /* left on the stack: Lua's GC frees it once the caller pops it */
  param_given *g = lua_newuserdatauv(L, sizeof *g * (size_t)(cap + 1), 0);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: parameter names must be strings, got a %s key", plugin, luaL_typename(L, -2));
    param_given *p = &g[(*n)++];
    p->name = lua_tostring(L, -2);
    switch (lua_type(L, -1)) {
    case LUA_TNUMBER: p->type = LUNET_NUMBER; p->num = lua_tonumber(L, -1); break;
    case LUA_TBOOLEAN: p->type = LUNET_BOOL; p->num = lua_toboolean(L, -1); break;
    case LUA_TSTRING: p->type = LUNET_STRING; p->str = lua_tostring(L, -1); break;
    default:
      luaL_error(L, "%s: parameter '%s' cannot be a %s", plugin, p->name, luaL_typename(L, -1));
    }
  }
  return g;
}

const plugin_entry *lspec_resolve(lua_State *L, int idx, int kind, param_values *out) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx) || lua_getfield(L, idx, "kind") != LUA_TSTRING ||
      strcmp(lua_tostring(L, -1), kind_name(kind)) != 0)
    luaL_error(L, "expected %s %s spec (made by lunet.%s), got %s", kind == LUNET_OPTIMIZER ? "an" : "a",
               kind_name(kind), kind_name(kind),
               luaL_typename(L, idx));
  lua_getfield(L, idx, "name");
  const char *name = lua_tostring(L, -1);
  const plugin_entry *pe = registry_find(kind, name ? name : "");
  if (!pe) lerror_services(L);
  lua_getfield(L, idx, "params");
  int n;
  param_given *g = lparams_given(L, -1, name, &n);
  if (params_resolve(pe->desc, g, n, out)) {
    params_free(out);
    lerror_services(L);
  }
  lua_settop(L, idx);
  return pe;
}

void lcheck_options(lua_State *L, int idx, const char *fn, const char *const *known) {
  idx = lua_absindex(L, idx);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) continue; /* array part: handled by the caller */
    const char *key = lua_tostring(L, -2);
    int ok = 0;
    for (int i = 0; known[i] && !ok; i++) ok = strcmp(known[i], key) == 0;
    if (ok) continue;
    char list[512] = "";
    size_t len = 0;
    for (int i = 0; known[i] && len < sizeof list - 32; i++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", known[i]);
    luaL_error(L, "%s: unknown option '%s' (known: %s)", fn, key, list);
  }
}

int lopt_count(lua_State *L, int t, const char *key, int def, int min, const char *fn) {
  int type = lua_getfield(L, t, key);
  int whole;
  lua_Integer v = type == LUA_TNIL ? def : lua_tointegerx(L, -1, &whole);
  if (type != LUA_TNIL && (type != LUA_TNUMBER || !whole))
    luaL_error(L, "%s: '%s' must be a whole number >= %d, got %s", fn, key, min, luaL_tolstring(L, -1, NULL));
  lua_pop(L, 1);
  if (v < min) luaL_error(L, "%s: '%s' must be >= %d, got %I", fn, key, min, v);
  if (v > LOPT_COUNT_MAX) luaL_error(L, "%s: '%s' = %I is too large, expected at most %d", fn, key, v, LOPT_COUNT_MAX);
  return (int)v;
}

void lnew_metatable(lua_State *L, const char *name, const char *event, lua_CFunction fn) {
  luaL_newmetatable(L, name);
  if (event) {
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, event);
  }
  lua_pop(L, 1);
}

void lpush_shape(lua_State *L, const lunet_shape *s) {
  lua_createtable(L, s->ndim, 0);
  for (int i = 0; i < s->ndim; i++) {
    lua_pushinteger(L, s->dim[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

void lpush_ids(lua_State *L, const int32_t *ids, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t j = 0; j < n; j++) {
    lua_pushinteger(L, (lua_Integer)ids[j] + 1);
    lua_rawseti(L, -2, j + 1);
  }
}

int32_t *lcheck_ids(lua_State *L, int idx, int64_t vocab, const char *fn, int64_t *n) {
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  *n = (int64_t)lua_rawlen(L, idx);
  int32_t *ids = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(*n ? *n : 1), 0);
  lua_Integer most = vocab > 0 ? vocab : INT32_MAX;
  for (int64_t j = 0; j < *n; j++) {
    lua_rawgeti(L, idx, j + 1);
    int ok;
    lua_Integer id = lua_tointegerx(L, -1, &ok);
    if (!ok || id < 1 || id > most)
      luaL_error(L, "%s: ids[%d] is %s, expected a token id 1..%I", fn, (int)j + 1,
                 luaL_tolstring(L, -1, NULL), most);
    ids[j] = (int32_t)(id - 1);
    lua_pop(L, 1);
  }
  return ids;
}

/* A size at idx, or 0 when it is not an integer 1..INT32_MAX. */
static int32_t shape_size(lua_State *L, int idx) {
  lua_Integer v = lua_isinteger(L, idx) ? lua_tointeger(L, idx) : 0;
  return v >= 1 && v <= INT32_MAX ? (int32_t)v : 0;
}

int lget_shape(lua_State *L, int idx, lunet_shape *s, const char *what) {
  idx = lua_absindex(L, idx);
  if (lua_isinteger(L, idx)) {
    s->ndim = 1;
    s->dim[0] = shape_size(L, idx);
  } else {
    if (!lua_istable(L, idx)) return luaL_error(L, "%s: a shape is a table of sizes like {1, 28, 28}", what);
    s->ndim = (int)lua_rawlen(L, idx);
    if (s->ndim < 1 || s->ndim >= LUNET_MAX_DIMS)
      return luaL_error(L, "%s: a shape has 1 to %d sizes, got %d", what, LUNET_MAX_DIMS - 1, s->ndim);
    for (int i = 0; i < s->ndim; i++) {
      lua_rawgeti(L, idx, i + 1);
      s->dim[i] = shape_size(L, -1);
      lua_pop(L, 1);
    }
  }
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 1) return luaL_error(L, "%s: shape sizes must be integers 1..%d", what, INT32_MAX);
  if (lunet_numel_checked(s) < 0)
    return luaL_error(L, "%s: a shape of more than %I elements", what, (lua_Integer)LUNET_MAX_NUMEL);
  return 0;
}

/* ---- specs ------------------------------------------------------------- */

/* lunet.layer(name, params) and friends: validate now, keep as a table. */
static int make_spec(lua_State *L, int kind) {
  const char *name = luaL_checkstring(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, kind_name(kind));
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "name");
  if (lua_isnil(L, 2)) lua_newtable(L);
  else lua_pushvalue(L, 2);
  lua_setfield(L, -2, "params");
  param_values pv;
  lspec_resolve(L, 3, kind, &pv); /* raises on error */
  params_free(&pv);
  luaL_setmetatable(L, MT_SPEC);
  return 1;
}

int llayer(lua_State *L) { return make_spec(L, LUNET_LAYER); }
static int l_loss(lua_State *L) { return make_spec(L, LUNET_LOSS); }
static int l_optimizer(lua_State *L) { return make_spec(L, LUNET_OPTIMIZER); }

/* "layer relu"; a block or residual without a name: "residual of 2" */
static int spec_tostring(lua_State *L) {
  lua_getfield(L, 1, "kind");
  if (lua_getfield(L, 1, "name") == LUA_TSTRING)
    lua_pushfstring(L, "%s %s", lua_tostring(L, -2), lua_tostring(L, -1));
  else
    lua_pushfstring(L, "%s of %d", lua_tostring(L, -2), (int)lua_rawlen(L, 1));
  return 1;
}

/* lunet.clock(): wall-clock seconds from a monotonic clock, for timing. */
static int l_clock(lua_State *L) {
  lua_pushnumber(L, now_seconds());
  return 1;
}

/* lunet.threads([n]): threads for the BLAS and the plugins' loops; returns the count. */
static int l_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) services_set_threads((int)luaL_checkinteger(L, 1));
  lua_pushinteger(L, services_threads());
  return 1;
}

/* Pushes the module table with the functions above; makes MT_SPEC. */
void lbase_newlib(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"layer", llayer}, {"loss", l_loss}, {"optimizer", l_optimizer}, {"threads", l_threads}, {"clock", l_clock},
    {NULL, NULL}};
  lnew_metatable(L, MT_SPEC, "__tostring", spec_tostring);
  luaL_newlib(L, fns);
}
