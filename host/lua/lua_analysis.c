/*
** lua_analysis.c -- analysis helpers for experiment scripts:
**
**   lunet.bias_variance{ predictions =, truth =, targets = }
**       the bias-variance decomposition of Bishop's PRML section 3.2;
**   lunet.plot{ csv =, x =, y =, z =, group =, style =, where =, logx =,
**               logy =, logz =, err =, key =, title =, out = }
**       `lunet plot` run in-process, so a script draws its own figure;
**   lunet.heatmap{ matrix =, out =, title =, xlabel =, ylabel =, xtics =,
**                  ytics =, palette = }
**       a matrix (rows of numbers, or { shape = {R, C}, values = }) drawn as
**       a heatmap (report/heatmap.c): attention weights, encodings, ...
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_lunet.h"
#include "report/heatmap.h"
#include "report/plot.h"

/* ---- lunet.bias_variance ------------------------------------------------ */

/* A flat array of doubles that grows; kept in a userdata on the Lua stack
** so that an error raised while reading frees it. */
typedef struct vec {
  double *v;
  int64_t n, cap;
} vec;

static int vec_gc(lua_State *L) {
  vec *a = lua_touserdata(L, 1);
  free(a->v);
  a->v = NULL;
  return 0;
}

static vec *vec_new(lua_State *L) {
  vec *a = lua_newuserdatauv(L, sizeof *a, 0);
  memset(a, 0, sizeof *a);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, vec_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  return a;
}

static void vec_push(lua_State *L, vec *a, double x) {
  if (a->n == a->cap) {
    int64_t cap = a->cap ? 2 * a->cap : 1024;
    double *v = realloc(a->v, sizeof(double) * (size_t)cap);
    if (!v) luaL_error(L, "lunet.bias_variance: out of memory");
    a->v = v, a->cap = cap;
  }
  a->v[a->n++] = x;
}

/* Appends the numbers of the array at the top of the stack, whose items are
** numbers or arrays of numbers (one per output, as model:predict gives). */
static void read_flat(lua_State *L, vec *a, const char *what) {
  if (!lua_istable(L, -1))
    luaL_error(L, "lunet.bias_variance: %s is a %s, expected an array of numbers (or of arrays "
                  "of numbers, as model:predict returns)", what, luaL_typename(L, -1));
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    int t = lua_rawgeti(L, -1, i);
    if (t == LUA_TNUMBER) {
      vec_push(L, a, lua_tonumber(L, -1));
    } else if (t == LUA_TTABLE) {
      lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
      for (lua_Integer j = 1; j <= m; j++) {
        if (lua_rawgeti(L, -1, j) != LUA_TNUMBER)
          luaL_error(L, "lunet.bias_variance: %s[%d][%d] is a %s, expected a number", what, (int)i,
                     (int)j, luaL_typename(L, -1));
        vec_push(L, a, lua_tonumber(L, -1));
        lua_pop(L, 1);
      }
    } else {
      luaL_error(L, "lunet.bias_variance: %s[%d] is a %s, expected a number or an array of numbers",
                 what, (int)i, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
}

/* Reads field `key` of the options table (index 1) as a flat array. */
static vec *field_flat(lua_State *L, const char *key, int required) {
  if (lua_getfield(L, 1, key) == LUA_TNIL) {
    if (required) luaL_error(L, "lunet.bias_variance: '%s' is required", key);
    lua_pop(L, 1);
    return NULL;
  }
  vec *a = vec_new(L);
  lua_insert(L, -2);
  read_flat(L, a, key);
  lua_pop(L, 1); /* the field; the vec stays on the stack */
  return a;
}

static void set_number(lua_State *L, const char *key, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, key);
}

/* With y_l(x_i) the prediction of the model fitted on data set l = 1..L at
** test point i = 1..N, ybar_i its mean over l and h_i the truth (PRML
** eq. 3.41-3.47, the integrals over x as means over the test points):
**   bias2      = 1/N sum_i (ybar_i - h_i)^2
**   variance   = 1/N sum_i 1/L sum_l (y_l(x_i) - ybar_i)^2
**   error      = 1/N sum_i 1/L sum_l (y_l(x_i) - h_i)^2   (= bias2 + variance)
** and, given noisy test targets t_i:
**   test_error = 1/N sum_i 1/L sum_l (y_l(x_i) - t_i)^2   (~ error + noise)
**   noise      = 1/N sum_i (t_i - h_i)^2 */
static int l_bias_variance(lua_State *L) {
  static const char *const known[] = {"predictions", "truth", "targets", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.bias_variance", known);
  vec *h = field_flat(L, "truth", 1), *t = field_flat(L, "targets", 0);
  int64_t N = h->n;
  if (N == 0) return luaL_error(L, "lunet.bias_variance: truth is empty, expected one value per test point");
  if (t && t->n != N)
    return luaL_error(L, "lunet.bias_variance: targets has %d values, expected %d like truth", (int)t->n, (int)N);
  if (lua_getfield(L, 1, "predictions") != LUA_TTABLE)
    return luaL_error(L, "lunet.bias_variance: predictions must be an array of L prediction arrays "
                         "(one per data set), got %s", luaL_typename(L, -1));
  int pidx = lua_gettop(L);
  lua_Integer nsets = (lua_Integer)lua_rawlen(L, pidx);
  if (nsets < 1) return luaL_error(L, "lunet.bias_variance: predictions is empty, expected one array per data set");
  vec *y = vec_new(L); /* (L, N) */
  for (lua_Integer l = 1; l <= nsets; l++) {
    char what[64];
    snprintf(what, sizeof what, "predictions[%d]", (int)l);
    lua_rawgeti(L, pidx, l);
    int64_t before = y->n;
    read_flat(L, y, what);
    lua_pop(L, 1);
    if (y->n - before != N)
      return luaL_error(L, "lunet.bias_variance: %s has %d values, expected %d like truth", what,
                        (int)(y->n - before), (int)N);
  }
  double bias2 = 0, var = 0, err = 0, test = 0, noise = 0;
  lua_createtable(L, 0, 6);
  lua_createtable(L, (int)N, 0); /* mean */
  for (int64_t i = 0; i < N; i++) {
    double ybar = 0;
    for (lua_Integer l = 0; l < nsets; l++) ybar += y->v[l * N + i];
    ybar /= (double)nsets;
    for (lua_Integer l = 0; l < nsets; l++) {
      double yl = y->v[l * N + i];
      var += (yl - ybar) * (yl - ybar);
      err += (yl - h->v[i]) * (yl - h->v[i]);
      if (t) test += (yl - t->v[i]) * (yl - t->v[i]);
    }
    bias2 += (ybar - h->v[i]) * (ybar - h->v[i]);
    if (t) noise += (t->v[i] - h->v[i]) * (t->v[i] - h->v[i]);
    lua_pushnumber(L, ybar);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "mean");
  double per_point = 1.0 / (double)N, per_fit = 1.0 / ((double)N * (double)nsets);
  set_number(L, "bias2", bias2 * per_point);
  set_number(L, "variance", var * per_fit);
  set_number(L, "error", err * per_fit);
  if (t) {
    set_number(L, "test_error", test * per_fit);
    set_number(L, "noise", noise * per_point);
  }
  return 1;
}

/* ---- lunet.plot --------------------------------------------------------- */

/* y = "a" or { "a", "b" } -> "a,b" (pushed on the stack). */
static const char *y_columns(lua_State *L) {
  int t = lua_getfield(L, 1, "y");
  if (t == LUA_TSTRING) return lua_tostring(L, -1);
  if (t != LUA_TTABLE || lua_rawlen(L, -1) == 0)
    luaL_error(L, "lunet.plot: y must be a column name or an array of them, got %s", luaL_typename(L, -1));
  luaL_Buffer b;
  int idx = lua_gettop(L);
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, idx); i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
      luaL_error(L, "lunet.plot: y[%d] is a %s, expected a column name", (int)i, luaL_typename(L, -1));
    if (i > 1) luaL_addchar(&b, ',');
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

/* Option KEY of FN's options table (index 1): a string, or NULL if absent
** and not required. */
static const char *opt_string(lua_State *L, const char *fn, const char *key, int required) {
  int t = lua_getfield(L, 1, key);
  if (t == LUA_TNIL && !required) return NULL;
  if (t != LUA_TSTRING) luaL_error(L, "%s: '%s' must be a string, got %s", fn, key, luaL_typename(L, -1));
  return lua_tostring(L, -1);
}

/* where = "col=value" or { "col=value", ... } -> "--where" pairs appended
** to argv (at most max of them; the strings stay on the stack). */
static int where_args(lua_State *L, const char **argv, int argc, int max) {
  int t = lua_getfield(L, 1, "where");
  if (t == LUA_TNIL) return argc;
  if (t == LUA_TSTRING) {
    argv[argc++] = "--where";
    argv[argc++] = lua_tostring(L, -1);
    return argc;
  }
  if (t != LUA_TTABLE)
    luaL_error(L, "lunet.plot: where must be \"col=value\" or an array of them, got %s", luaL_typename(L, -1));
  int idx = lua_gettop(L), n = (int)lua_rawlen(L, idx);
  if (2 * n > max) luaL_error(L, "lunet.plot: where has %d conditions, expected at most %d", n, max / 2);
  luaL_checkstack(L, n, "lunet.plot: where"); /* each string stays on the stack */
  for (int i = 1; i <= n; i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
      luaL_error(L, "lunet.plot: where[%d] is a %s, expected \"col=value\"", i, luaL_typename(L, -1));
    argv[argc++] = "--where";
    argv[argc++] = lua_tostring(L, -1);
  }
  return argc;
}

/* lunet.plot{ csv =, x =, y =, ... } -> the figure's path. The strings
** stay on the Lua stack while plot_main reads them. */
static int l_plot(lua_State *L) {
  static const char *const known[] = {"csv", "x", "y", "z", "group", "style", "where", "logx", "logy",
                                      "logz", "err", "key", "title", "out", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.plot", known);
  luaL_checkstack(L, 32, "lunet.plot"); /* the strings argv points to, beyond LUA_MINSTACK */
  const char *argv[96];
  int argc = 0;
  argv[argc++] = "plot";
  argv[argc++] = opt_string(L, "lunet.plot", "csv", 1);
  argv[argc++] = "--x";
  argv[argc++] = opt_string(L, "lunet.plot", "x", 1);
  argv[argc++] = "--y";
  argv[argc++] = y_columns(L);
  static const char *const valued[][2] = {{"z", "--z"}, {"group", "--group"}, {"style", "--style"},
                                          {"err", "--err"}, {"key", "--key"}, {"title", "--title"}, {"out", "-o"}};
  for (int i = 0; i < 7; i++) {
    const char *v = opt_string(L, "lunet.plot", valued[i][0], 0);
    if (v) argv[argc++] = valued[i][1], argv[argc++] = v;
  }
  static const char *const flags[] = {"logx", "logy", "logz"};
  for (int i = 0; i < 3; i++)
    if (lua_getfield(L, 1, flags[i]) && lua_toboolean(L, -1)) argv[argc++] = lua_pushfstring(L, "--%s", flags[i]);
  argc = where_args(L, argv, argc, 64);
  argv[argc] = NULL;
  fflush(stdout);
  int rc = plot_main(argc, (char **)argv);
  if (rc != 0)
    return luaL_error(L, "lunet.plot: no figure from %s (lunet plot exited with %d; its reason is "
                         "printed above)", argv[1], rc);
  const char *out = opt_string(L, "lunet.plot", "out", 0), *csv = argv[1];
  size_t n = strlen(csv);
  if (out) lua_pushstring(L, out);
  else if (n > 4 && strcmp(csv + n - 4, ".csv") == 0) lua_pushfstring(L, "%s.png", lua_pushlstring(L, csv, n - 4));
  else lua_pushfstring(L, "%s.png", csv); /* plot's own default name */
  return 1;
}

/* ---- lunet.heatmap ------------------------------------------------------ */

/* The number at the top of the stack (popped), named WHAT[i][j] if not one. */
static double matrix_number(lua_State *L, const char *what, lua_Integer i, lua_Integer j) {
  if (lua_type(L, -1) != LUA_TNUMBER)
    luaL_error(L, "lunet.heatmap: %s[%d][%d] is a %s, expected a number", what, (int)i, (int)j, luaL_typename(L, -1));
  double v = lua_tonumber(L, -1);
  if (!isfinite(v)) luaL_error(L, "lunet.heatmap: %s[%d][%d] is %f, expected a finite number", what, (int)i, (int)j, v);
  lua_pop(L, 1);
  return v;
}

/* { shape = {R, C}, values = {R * C numbers, row-major} } at IDX -> h. */
static void read_shaped(lua_State *L, int idx, heatmap *h) {
  lua_Integer dim[2] = {0, 0};
  if (lua_getfield(L, idx, "shape") != LUA_TTABLE || lua_rawlen(L, -1) != 2)
    luaL_error(L, "lunet.heatmap: matrix.shape must be {rows, columns}");
  for (int k = 0; k < 2; k++) {
    lua_rawgeti(L, -1, k + 1);
    dim[k] = lua_tointeger(L, -1);
    if (dim[k] < 1) luaL_error(L, "lunet.heatmap: matrix.shape[%d] must be a positive integer", k + 1);
    lua_pop(L, 1);
  }
  if (lua_getfield(L, idx, "values") != LUA_TTABLE || (lua_Integer)lua_rawlen(L, -1) != dim[0] * dim[1])
    luaL_error(L, "lunet.heatmap: matrix.values must hold shape[1] x shape[2] = %d numbers, got %s of %d",
               (int)(dim[0] * dim[1]), luaL_typename(L, -1), lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0);
  int vals = lua_gettop(L);
  double *z = lua_newuserdatauv(L, sizeof(double) * (size_t)(dim[0] * dim[1]), 0);
  for (lua_Integer k = 0; k < dim[0] * dim[1]; k++) {
    lua_rawgeti(L, vals, k + 1);
    z[k] = matrix_number(L, "matrix.values", k / dim[1] + 1, k % dim[1] + 1);
  }
  h->z = z, h->rows = (int)dim[0], h->cols = (int)dim[1];
}

/* matrix = { {row 1}, {row 2}, ... } (rows of equal length) at IDX -> h. */
static void read_rows(lua_State *L, int idx, heatmap *h) {
  lua_Integer rows = (lua_Integer)lua_rawlen(L, idx), cols = 0;
  if (rows < 1 || lua_rawgeti(L, idx, 1) != LUA_TTABLE || (cols = (lua_Integer)lua_rawlen(L, -1)) < 1)
    luaL_error(L, "lunet.heatmap: matrix is empty; expected rows of numbers, { {..}, {..} }");
  lua_pop(L, 1);
  double *z = lua_newuserdatauv(L, sizeof(double) * (size_t)(rows * cols), 0);
  for (lua_Integer i = 1; i <= rows; i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TTABLE)
      luaL_error(L, "lunet.heatmap: matrix[%d] is a %s, expected a row (an array of numbers)", (int)i, luaL_typename(L, -1));
    if ((lua_Integer)lua_rawlen(L, -1) != cols)
      luaL_error(L, "lunet.heatmap: matrix[%d] has %d numbers, expected %d like matrix[1] (ragged rows)", (int)i,
                 (int)lua_rawlen(L, -1), (int)cols);
    for (lua_Integer j = 1; j <= cols; j++) {
      lua_rawgeti(L, -1, j);
      z[(i - 1) * cols + j - 1] = matrix_number(L, "matrix", i, j);
    }
    lua_pop(L, 1);
  }
  h->z = z, h->rows = (int)rows, h->cols = (int)cols;
}

/* xtics/ytics: nil, or N labels (strings or numbers) -> an array of them
** kept alive on the stack. */
static const char *const *read_tics(lua_State *L, const char *key, int n) {
  if (lua_getfield(L, 1, key) == LUA_TNIL) return NULL;
  int idx = lua_gettop(L);
  if (!lua_istable(L, idx) || (int)lua_rawlen(L, idx) != n)
    luaL_error(L, "lunet.heatmap: %s must be an array of %d labels (one per %s), got %s of %d", key, n,
               key[0] == 'x' ? "column" : "row", luaL_typename(L, idx), lua_istable(L, idx) ? (int)lua_rawlen(L, idx) : 0);
  const char **labels = lua_newuserdatauv(L, sizeof *labels * (size_t)n, 0);
  lua_createtable(L, n, 0); /* holds the labels' strings (a number's text too) */
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    if (!lua_isstring(L, -1))
      luaL_error(L, "lunet.heatmap: %s[%d] is a %s, expected a label", key, i + 1, luaL_typename(L, -1));
    labels[i] = lua_tostring(L, -1);
    lua_rawseti(L, -2, i + 1);
  }
  return labels;
}

/* lunet.heatmap{ matrix =, out =, ... } -> out, the figure's path. */
static int l_heatmap(lua_State *L) {
  static const char *const known[] = {"matrix", "out", "title", "xlabel", "ylabel", "xtics", "ytics", "palette", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.heatmap", known);
  heatmap h = {0};
  const char *out = opt_string(L, "lunet.heatmap", "out", 1);
  h.title = opt_string(L, "lunet.heatmap", "title", 0);
  h.xlabel = opt_string(L, "lunet.heatmap", "xlabel", 0);
  h.ylabel = opt_string(L, "lunet.heatmap", "ylabel", 0);
  h.palette = opt_string(L, "lunet.heatmap", "palette", 0);
  if (lua_getfield(L, 1, "matrix") != LUA_TTABLE)
    return luaL_error(L, "lunet.heatmap: matrix must be rows of numbers { {..}, {..} } or { shape =, values = }, got %s",
                      luaL_typename(L, -1));
  int idx = lua_gettop(L);
  if (lua_getfield(L, idx, "shape") != LUA_TNIL) read_shaped(L, idx, &h);
  else read_rows(L, idx, &h);
  h.xtics = read_tics(L, "xtics", h.cols);
  h.ytics = read_tics(L, "ytics", h.rows);
  char err[256];
  if (heatmap_check(&h, out, err, sizeof err) != 0) return luaL_error(L, "lunet.heatmap: %s", err);
  fflush(stdout);
  if (heatmap_draw(&h, out, "lunet.heatmap") != 0)
    return luaL_error(L, "lunet.heatmap: no figure %s (the reason is printed above)", out);
  lua_pushstring(L, out);
  return 1;
}

void lanalysis_register(lua_State *L) {
  static const luaL_Reg fns[] = {{"bias_variance", l_bias_variance}, {"plot", l_plot}, {"heatmap", l_heatmap},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
