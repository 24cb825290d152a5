/*
** lua_data.c -- datasets in Lua: lunet.dataset (a plugin) and lunet.data
** (arrays from the script, copied into memory once).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_lunet.h"
#include "base/text.h"
#include "runtime/services.h"

dataset *lcheck_dataset_as(lua_State *L, int idx, const char *what) {
  ldataset *u = luaL_testudata(L, idx, MT_DATASET);
  if (!u)
    luaL_error(L, "%s%sexpected a dataset (from lunet.dataset or lunet.data), got %s", what ? what : "",
               what ? ": " : "", luaL_typename(L, idx));
  if (!u->ds) luaL_error(L, "dataset: it was freed (its __gc ran); use a live dataset");
  return u->ds;
}

dataset *lcheck_dataset(lua_State *L, int idx) { return lcheck_dataset_as(L, idx, NULL); }

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
/* The largest class index: every integer up to it is exact as a float32. */
#define MAX_CLASSES (1 << 24)

static int infer_classes(lua_State *L, const float *y, int64_t n, int y_arrays) {
  lua_getfield(L, 1, "task");
  const char *task = luaL_optstring(L, -1, "auto");
  if (strcmp(task, "auto") && strcmp(task, "regression") && strcmp(task, "classification"))
    luaL_error(L, "lunet.data: task must be \"classification\" or \"regression\", got \"%s\"", task);
  lua_getfield(L, 1, "classes");
  lua_Integer given = luaL_optinteger(L, -1, 0);
  lua_pop(L, 2);
  if (given < 0 || given > MAX_CLASSES)
    luaL_error(L, "lunet.data: classes = %I, expected 1..%d", given, MAX_CLASSES);
  int classes = (int)given;
  if (strcmp(task, "regression") == 0 || y_arrays) {
    if (classes || strcmp(task, "classification") == 0)
      luaL_error(L, "lunet.data: classification needs y as class indices 1..K, not arrays");
    return 0;
  }
  int max = 0, zero = 0;
  for (int64_t i = 0; i < n; i++) {
    zero |= y[i] == 0;
    if (y[i] < 1 || y[i] != floorf(y[i])) {
      if (classes || strcmp(task, "classification") == 0)
        luaL_error(L, "lunet.data: y[%d] = %f is not a class index (1..K)", (int)i + 1, (lua_Number)y[i]);
      if (y[i] < 0 || y[i] != floorf(y[i])) return 0;
      continue;
    }
    if (y[i] > MAX_CLASSES)
      luaL_error(L, "lunet.data: y[%d] = %I is past the largest class index lunet.data takes (%d)",
                 (int)i + 1, (lua_Integer)y[i], MAX_CLASSES);
    if (y[i] > max) max = (int)y[i];
  }
  if (zero && strcmp(task, "auto") == 0) /* whole numbers from 0: classes counted from 0? */
    luaL_error(L, "lunet.data: y holds whole numbers from 0; hint: class indices count from 1 "
               "(add 1 to every y), or pass task = \"regression\" if y is a quantity");
  if (zero) return 0;
  if (classes && max > classes) luaL_error(L, "lunet.data: y holds class %d but classes = %d", max, classes);
  return classes ? classes : max < 2 ? 2 : max;
}

/* Token ids 1..V as Lua counts them into int32 ids 0..V-1, in place
** (float and int32 are both 4 bytes). */
static void to_ids(lua_State *L, float *x, int64_t len, lua_Integer vocab) {
  for (int64_t i = 0; i < len; i++) {
    float v = x[i];
    if (!(v >= 1 && v <= (float)vocab && v == floorf(v))) {
      char val[32];
      snprintf(val, sizeof val, "%g", v);
      luaL_error(L, "lunet.data: x holds %s, expected a token id 1..%d (tokens = %d)", val, (int)vocab, (int)vocab);
    }
    ((int32_t *)x)[i] = (int32_t)v - 1;
  }
}

/* Reads one input: rows of the Lua array at `idx` (n rows) into a copy in
** host memory (*out), of per-sample shape *shape (from `shape_idx` when it
** is a table, else flat). */
static void read_input(lua_State *L, int idx, int shape_idx, int64_t n, const char *what,
                       lunet_shape *shape, void **out) {
  if (!lua_istable(L, idx)) luaL_error(L, "lunet.data: %s must be an array of rows", what);
  if ((int64_t)lua_rawlen(L, idx) != n)
    luaL_error(L, "lunet.data: %s has %d rows but %s has %d", what, (int)lua_rawlen(L, idx),
               lua_isnil(L, 2) ? "the first input" : "y", (int)n);
  int64_t w = first_width(L, idx, what);
  if (shape_idx && !lua_isnil(L, shape_idx)) {
    lget_shape(L, shape_idx, shape, "lunet.data shape");
    if (lunet_numel(shape) != w)
      luaL_error(L, "lunet.data: shape holds %d values but each %s has %d", (int)lunet_numel(shape), what, (int)w);
  } else {
    *shape = (lunet_shape){1, {(int32_t)w}};
  }
  float *x = read_rows(L, idx, n, w, what);
  if (!(*out = malloc(sizeof(float) * (size_t)(n * w)))) luaL_error(L, "lunet.data: out of memory for %s", what);
  memcpy(*out, x, sizeof(float) * (size_t)(n * w));
  lua_pop(L, 1); /* the rows userdata */
}

/* The inputs: x (with shape, tokens), or inputs = { x1, x2, ... } (with
** shapes = { ... }). On an error the copies made so far are freed. */
static void read_inputs(lua_State *L, int64_t n, lunet_dataset_info *info, void **x) {
  int many = lua_getfield(L, 1, "inputs") != LUA_TNIL;
  lua_getfield(L, 1, "x");
  if (many == !lua_isnil(L, -1)) luaL_error(L, "lunet.data: give x = {{...}, ...} or inputs = { x1, x2, ... }, one of them");
  lua_getfield(L, 1, many ? "shapes" : "shape");
  int top = lua_gettop(L);
  info->n_inputs = many ? (int)lua_rawlen(L, top - 2) : 1;
  if (info->n_inputs < 1 || info->n_inputs > LUNET_MAX_INPUTS)
    luaL_error(L, "lunet.data: inputs holds %d arrays, expected 1 to %d", info->n_inputs, LUNET_MAX_INPUTS);
  for (int k = 0; k < info->n_inputs; k++) {
    char what[32];
    snprintf(what, sizeof what, many ? "inputs[%d]" : "x", k + 1);
    if (many) lua_rawgeti(L, top - 2, k + 1);
    else lua_pushvalue(L, top - 1);
    if (many && lua_istable(L, top)) lua_rawgeti(L, top, k + 1);
    else lua_pushvalue(L, top);
    read_input(L, top + 1, lua_istable(L, top + 2) ? top + 2 : 0, n, what, &info->input[k], &x[k]);
    lua_pop(L, 2);
  }
  lua_pop(L, 3);
}

/* Frees the input copies if a later step raises. */
static int free_inputs(lua_State *L) {
  void **x = lua_touserdata(L, 1);
  for (int k = 0; k < LUNET_MAX_INPUTS; k++) free(x[k]), x[k] = NULL;
  return 0;
}

/* The number of samples: the rows of y (at 2), or without y those of x or
** inputs[1], for data that only serves model:predict. */
static int64_t rows_of(lua_State *L) {
  if (lua_istable(L, 2)) return (int64_t)lua_rawlen(L, 2);
  if (!lua_isnil(L, 2)) luaL_error(L, "lunet.data: y is a %s, expected an array of targets", luaL_typename(L, 2));
  int t = lua_getfield(L, 1, "x");
  if (t == LUA_TNIL && lua_getfield(L, 1, "inputs") == LUA_TTABLE) lua_rawgeti(L, -1, 1);
  int64_t n = lua_istable(L, -1) ? (int64_t)lua_rawlen(L, -1) : 0;
  lua_settop(L, 2);
  return n;
}

static int l_data(lua_State *L) {
  static const char *const known[] = {"x", "y", "shape", "classes", "task", "tokens", "inputs", "shapes", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.data", known);
  lua_settop(L, 1);
  lua_getfield(L, 1, "y");
  int64_t n = rows_of(L);
  if (n == 0) return luaL_error(L, "lunet.data: %s is empty", lua_isnil(L, 2) ? "x" : "y");
  lunet_dataset_info info = {.size = sizeof info, .n = n};
  /* the input copies live in a userdata whose __close frees them on error */
  void **x = lua_newuserdatauv(L, sizeof(void *) * LUNET_MAX_INPUTS, 0);
  memset(x, 0, sizeof(void *) * LUNET_MAX_INPUTS);
  lua_newtable(L);
  lua_pushcfunction(L, free_inputs);
  lua_setfield(L, -2, "__close");
  lua_setmetatable(L, -2);
  lua_toclose(L, 3);
  read_inputs(L, n, &info, x);
  lua_Integer vocab = 0;
  lua_getfield(L, 1, "tokens");
  if (!lua_isnil(L, -1)) {
    vocab = luaL_checkinteger(L, -1);
    if (vocab < 1 || vocab > INT32_MAX) return luaL_error(L, "lunet.data: tokens = %d, expected a vocabulary size >= 1", (int)vocab);
    for (int k = 0; k < info.n_inputs; k++) {
      to_ids(L, x[k], n * lunet_numel(&info.input[k]), vocab);
      info.input_dtype[k] = LUNET_I32;
    }
  }
  lua_pop(L, 1);
  if (lua_isnil(L, 2)) { /* inputs only: for model:predict */
    info.target = (lunet_shape){1, {1}};
    dataset *ds = dataset_from_memory(x, NULL, &info);
    memset(x, 0, sizeof(void *) * LUNET_MAX_INPUTS);
    if (!ds) return lerror_services(L);
    push_dataset(L, ds);
    return 1;
  }
  int64_t yw = first_width(L, 2, "y");
  info.target = (lunet_shape){1, {(int32_t)yw}};
  float *y = read_rows(L, 2, n, yw, "y");
  lua_rawgeti(L, 2, 1);
  int y_arrays = lua_istable(L, -1);
  lua_pop(L, 1);
  if (vocab && y_arrays) { /* next tokens: T ids per sample, classes = the vocabulary */
    for (int64_t i = 0; i < n * yw; i++)
      if (!(y[i] >= 1 && y[i] <= (float)vocab && y[i] == floorf(y[i])))
        return luaL_error(L, "lunet.data: y[%d] holds %f, expected token ids 1..%d (tokens = %d)",
                          (int)(i / yw) + 1, (lua_Number)y[i], (int)vocab, (int)vocab);
    info.classes = (int)vocab;
    info.vocab = vocab;
    for (int64_t i = 0; i < n * yw; i++) y[i] -= 1;
  } else {
    info.classes = infer_classes(L, y, n, y_arrays);
    for (int64_t i = 0; info.classes && i < n; i++) y[i] -= 1; /* 1-based in Lua, 0-based in C */
  }
  float *yc = malloc(sizeof(float) * (size_t)(n * yw));
  if (!yc) return luaL_error(L, "lunet.data: out of memory for y");
  memcpy(yc, y, sizeof(float) * (size_t)(n * yw));
  dataset *ds = dataset_from_memory(x, yc, &info);
  memset(x, 0, sizeof(void *) * LUNET_MAX_INPUTS); /* owned by ds (or freed) now */
  if (!ds) return lerror_services(L);
  push_dataset(L, ds);
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

/* ds:input_shape([k]): the shape of input k (1 by default) */
static int d_input_shape(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  lua_Integer k = luaL_optinteger(L, 2, 1);
  if (k < 1 || k > ds->info.n_inputs)
    return luaL_error(L, "dataset:input_shape: input %d, expected 1..%d", (int)k, ds->info.n_inputs);
  lpush_shape(L, &ds->info.input[k - 1]);
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

/* Token ids 0.. held as floats (targets), as a Lua array of ids from 1. */
static void push_target_ids(lua_State *L, const float *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t j = 0; j < n; j++) {
    lua_pushinteger(L, (lua_Integer)v[j] + 1);
    lua_rawseti(L, -2, j + 1);
  }
}

/* Pushes row 0 of t: numbers, or token ids counted from 1. */
static void push_row(lua_State *L, const lunet_tensor *t, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t j = 0; j < n; j++) {
    if (t->dtype == LUNET_I32) lua_pushinteger(L, (lua_Integer)t->i32[j] + 1);
    else lua_pushnumber(L, t->f32[j]);
    lua_rawseti(L, -2, j + 1);
  }
}

/* ds:sample(i [, epoch]) -> x (flat array; ids from 1), y (class index
** from 1, or an array; nil for data without targets); a dataset of several
** inputs returns x1, x2, ..., y; with `epoch` (1, 2, ...), the sample as
** that epoch of lunet.train sees it (augmented data) */
static int d_sample(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2), epoch = luaL_optinteger(L, 3, 0);
  if (i < 1 || i > ds->info.n) return luaL_error(L, "dataset:sample: index %d out of range 1..%d", (int)i, (int)ds->info.n);
  if (!lua_isnoneornil(L, 3) && epoch < 1)
    return luaL_error(L, "dataset:sample: epoch %d, expected 1, 2, ... (or none)", (int)epoch);
  int64_t ys = dataset_target_size(ds), idx = i - 1, total = ys;
  for (int k = 0; k < ds->info.n_inputs; k++) total += dataset_input_size(ds, k);
  float *buf = lua_newuserdatauv(L, 4 * (size_t)total, 0);
  lunet_tensor x[LUNET_MAX_INPUTS], y;
  float *at = buf;
  for (int k = 0; k < ds->info.n_inputs; k++) {
    x[k].data = at;
    at += dataset_input_size(ds, k);
  }
  y.data = at;
  if (epoch ? dataset_get_train(ds, &idx, 1, x, &y, epoch - 1) : dataset_get(ds, &idx, 1, x, &y))
    return lerror_services(L);
  for (int k = 0; k < ds->info.n_inputs; k++) push_row(L, &x[k], dataset_input_size(ds, k));
  if (!dataset_has_targets(ds))
    lua_pushnil(L);
  else if (ds->info.classes && ys == 1)
    lua_pushinteger(L, (lua_Integer)y.f32[0] + 1);
  else if (ds->info.vocab > 0 && ds->info.classes) /* next tokens: ids from 1 */
    push_target_ids(L, y.f32, ys);
  else
    push_array(L, y.f32, ys);
  return ds->info.n_inputs + 1;
}

/* ds:vocab_size(): how many token ids text data has */
static int d_vocab_size(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  if (ds->info.vocab <= 0)
    return luaL_error(L, "dataset:vocab_size: dataset %s holds no tokens; expected text data "
                      "(lunet.dataset(\"text\", ...), lunet.data{ tokens = V })", ds->name);
  lua_pushinteger(L, ds->info.vocab);
  return 1;
}

/* ds:encode(s) -> {ids from 1}, through the plugin's encode */
static int d_encode(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  int64_t cap = (int64_t)len + 1, n;
  for (;;) { /* no tokenizer makes more ids than bytes, but the ABI allows it */
    int32_t *ids = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)cap, 0);
    if ((n = dataset_encode(ds, s, len, ids, cap)) < 0) return lerror_services(L);
    if (n <= cap) break;
    lua_pop(L, 1);
    cap = n;
  }
  lpush_ids(L, lua_touserdata(L, -1), n);
  return 1;
}

/* ds:decode({ids from 1}) -> string, through the plugin's decode */
static int d_decode(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  int64_t n;
  const int32_t *ids = lcheck_ids(L, 2, ds->info.vocab, "dataset:decode", &n);
  int64_t cap = 4 * n + 16, len;
  for (;;) {
    char *text = lua_newuserdatauv(L, (size_t)cap, 0);
    if ((len = dataset_decode(ds, ids, n, text, cap)) < 0) return lerror_services(L);
    if (len < cap) break;
    lua_pop(L, 1);
    cap = len + 1;
  }
  lua_pushlstring(L, lua_touserdata(L, -1), (size_t)len);
  return 1;
}

static int d_tostring(lua_State *L) {
  dataset *ds = lcheck_dataset(L, 1);
  char shp[128];
  shape_format(&ds->info.input[0], shp, sizeof shp);
  lua_pushfstring(L, "dataset %s: %d samples of %s, %d classes", ds->name, (int)ds->info.n, shp, ds->info.classes);
  return 1;
}

void ldata_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"size", d_size}, {"input_shape", d_input_shape}, {"target_shape", d_target_shape},
    {"classes", d_classes}, {"sample", d_sample}, {"vocab_size", d_vocab_size},
    {"encode", d_encode}, {"decode", d_decode}, {NULL, NULL}};
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
