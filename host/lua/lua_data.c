/*
** lua_data.c -- datasets in Lua: lunet.dataset (a plugin) and lunet.data
** (arrays from the script, copied into memory once).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_lunet.h"
#include "base/text.h"
#include "runtime/services.h"

dataset *lcheck_dataset(lua_State *L, int idx) {
  ldataset *u = luaL_testudata(L, idx, MT_DATASET);
  if (!u)
    luaL_error(L, "expected a dataset (from lunet.dataset or lunet.data), got %s", luaL_typename(L, idx));
  return u->ds;
}

static void push_dataset(lua_State *L, dataset *ds) {
  ldataset *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->ds = ds;
  luaL_setmetatable(L, MT_DATASET);
}

/* lunet.dataset(name, params) */
static int l_dataset(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const plugin_entry *pe = registry_find(LUNET_DATASET, name);
  if (!pe) return lerror_services(L);
  int n;
  param_given *g = lparams_given(L, 2, name, &n);
  dataset *ds = dataset_open(pe, g, n);
  if (!ds) return lerror_services(L);
  push_dataset(L, ds);
  return 1;
}

/* ---- lunet.data{ x =, y =, shape =, classes =, task = } ---------------- */

/* Reads a number or a flat array of numbers at the top of the stack into
** dst[0..width); returns how many it holds. */
static int64_t read_row(lua_State *L, float *dst, int64_t width, const char *what, int64_t row) {
  if (lua_type(L, -1) == LUA_TNUMBER) {
    if (dst && width >= 1) dst[0] = (float)lua_tonumber(L, -1);
    return 1;
  }
  if (!lua_istable(L, -1)) luaL_error(L, "lunet.data: %s[%d] is a %s, expected a number or an array", what,
                                      (int)row, luaL_typename(L, -1));
  int64_t n = (int64_t)lua_rawlen(L, -1);
  for (int64_t j = 0; dst && j < n && j < width; j++) {
    if (lua_rawgeti(L, -1, j + 1) != LUA_TNUMBER)
      luaL_error(L, "lunet.data: %s[%d][%d] is not a number", what, (int)row, (int)j + 1);
    dst[j] = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return n;
}

/* Fills a (n, width) array from the Lua array at `idx`, checking widths.
** The array is a userdata left on the stack, so an error frees it. */
static float *read_rows(lua_State *L, int idx, int64_t n, int64_t width, const char *what) {
  float *out = lua_newuserdatauv(L, sizeof(float) * (size_t)(n * width), 0);
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    int64_t got = read_row(L, out + i * width, width, what, i + 1);
    lua_pop(L, 1);
    if (got != width)
      luaL_error(L, "lunet.data: %s[%d] has %d values, expected %d like %s[1]", what, (int)i + 1, (int)got,
                 (int)width, what);
  }
  return out;
}

static int64_t first_width(lua_State *L, int idx, const char *what) {
  lua_rawgeti(L, idx, 1);
  int64_t w = read_row(L, NULL, 0, what, 1);
  lua_pop(L, 1);
  if (w < 1) luaL_error(L, "lunet.data: %s[1] is empty", what);
  return w;
}

/* Classification when `classes` is given, or when every y is a plain
** integer >= 1 (class indices as Lua counts them; arrays mean regression)
** and task is not "regression". */
static int infer_classes(lua_State *L, const float *y, int64_t n, int y_arrays) {
  lua_getfield(L, 1, "task");
  const char *task = luaL_optstring(L, -1, "auto");
  if (strcmp(task, "auto") && strcmp(task, "regression") && strcmp(task, "classification"))
    luaL_error(L, "lunet.data: task must be \"classification\" or \"regression\", got \"%s\"", task);
  lua_getfield(L, 1, "classes");
  int classes = (int)luaL_optinteger(L, -1, 0);
  lua_pop(L, 2);
  if (strcmp(task, "regression") == 0 || y_arrays) {
    if (classes || strcmp(task, "classification") == 0)
      luaL_error(L, "lunet.data: classification needs y as class indices 1..K, not arrays");
    return 0;
  }
  int max = 0;
  for (int64_t i = 0; i < n; i++) {
    if (y[i] < 1 || y[i] != floorf(y[i])) {
      if (classes || strcmp(task, "classification") == 0)
        luaL_error(L, "lunet.data: y[%d] = %g is not a class index (1..K)", (int)i + 1, y[i]);
      return 0;
    }
    if (y[i] > max) max = (int)y[i];
  }
  if (classes && max > classes) luaL_error(L, "lunet.data: y holds class %d but classes = %d", max, classes);
  return classes ? classes : max < 2 ? 2 : max;
}

static int l_data(lua_State *L) {
  static const char *const known[] = {"x", "y", "shape", "classes", "task", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.data", known);
  lua_getfield(L, 1, "x");
  lua_getfield(L, 1, "y");
  luaL_argexpected(L, lua_istable(L, 2), 1, "a table with x = {{...}, ...}");
  luaL_argexpected(L, lua_istable(L, 3), 1, "a table with y = {...}");
  int64_t n = (int64_t)lua_rawlen(L, 2);
  if (n == 0) return luaL_error(L, "lunet.data: x is empty");
  if ((int64_t)lua_rawlen(L, 3) != n)
    return luaL_error(L, "lunet.data: x has %d rows but y has %d", (int)n, (int)lua_rawlen(L, 3));
  lunet_dataset_info info = {.size = sizeof info, .n = n};
  int64_t xw = first_width(L, 2, "x"), yw = first_width(L, 3, "y");
  if (lua_getfield(L, 1, "shape") != LUA_TNIL) {
    lget_shape(L, -1, &info.input, "lunet.data shape");
    if (lunet_numel(&info.input) != xw)
      return luaL_error(L, "lunet.data: shape holds %d values but each x has %d", (int)lunet_numel(&info.input),
                        (int)xw);
  } else {
    info.input = (lunet_shape){1, {(int)xw}};
  }
  lua_pop(L, 1);
  info.target = (lunet_shape){1, {(int)yw}};
  float *x = read_rows(L, 2, n, xw, "x");
  float *y = read_rows(L, 3, n, yw, "y");
  lua_rawgeti(L, 3, 1);
  int y_arrays = lua_istable(L, -1);
  lua_pop(L, 1);
  info.classes = infer_classes(L, y, n, y_arrays);
  for (int64_t i = 0; info.classes && i < n; i++) y[i] -= 1; /* 1-based in Lua, 0-based in C */
  float *xc = services_host()->alloc(sizeof(float) * (size_t)(n * xw));
  float *yc = services_host()->alloc(sizeof(float) * (size_t)(n * yw));
  if (!xc || !yc) {
    free(xc);
    free(yc);
    return lerror_services(L);
  }
  memcpy(xc, x, sizeof(float) * (size_t)(n * xw));
  memcpy(yc, y, sizeof(float) * (size_t)(n * yw));
  push_dataset(L, dataset_from_memory(xc, yc, &info));
  return 1;
}

/* ---- methods ----------------------------------------------------------- */

static int d_gc(lua_State *L) {
  ldataset *u = luaL_checkudata(L, 1, MT_DATASET);
  dataset_close(u->ds);
  u->ds = NULL;
  return 0;
}

static int d_size(lua_State *L) {
  lua_pushinteger(L, lcheck_dataset(L, 1)->info.n);
  return 1;
}

static int d_input_shape(lua_State *L) {
  lpush_shape(L, &lcheck_dataset(L, 1)->info.input);
  return 1;
}

static int d_target_shape(lua_State *L) {
  lpush_shape(L, &lcheck_dataset(L, 1)->info.target);
  return 1;
}

static int d_classes(lua_State *L) {
  lua_pushinteger(L, lcheck_dataset(L, 1)->info.classes);
  return 1;
}

static void push_array(lua_State *L, const float *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t j = 0; j < n; j++) {
    lua_pushnumber(L, v[j]);
    lua_rawseti(L, -2, j + 1);
  }
}

/* ds:sample(i) -> x (flat array), y (class index from 1, or an array) */
static int d_sample(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  if (i < 1 || i > ds->info.n) return luaL_error(L, "dataset:sample: index %d out of range 1..%d", (int)i, (int)ds->info.n);
  int64_t xs = dataset_input_size(ds), ys = dataset_target_size(ds), idx = i - 1;
  float *buf = lua_newuserdatauv(L, sizeof(float) * (size_t)(xs + ys), 0);
  if (dataset_get(ds, &idx, 1, buf, buf + xs)) return lerror_services(L);
  push_array(L, buf, xs);
  if (ds->info.classes && ys == 1)
    lua_pushinteger(L, (lua_Integer)buf[xs] + 1);
  else
    push_array(L, buf + xs, ys);
  return 2;
}

static int d_tostring(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  char shp[128];
  shape_format(&ds->info.input, shp, sizeof shp);
  lua_pushfstring(L, "dataset %s: %d samples of %s, %d classes", ds->name, (int)ds->info.n, shp, ds->info.classes);
  return 1;
}

void ldata_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"size", d_size}, {"input_shape", d_input_shape}, {"target_shape", d_target_shape},
    {"classes", d_classes}, {"sample", d_sample}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"dataset", l_dataset}, {"data", l_data}, {NULL, NULL}};
  luaL_newmetatable(L, MT_DATASET);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, d_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, d_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, d_size);
  lua_setfield(L, -2, "__len");
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
