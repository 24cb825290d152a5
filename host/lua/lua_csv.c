/*
** lua_csv.c -- results files in Lua: lunet.csv(path) returns an appending
** logger whose rows are flushed as they are written; lunet.read_csv(path)
** returns the rows of a file as tables.
**
** Lua tables have no key order, so a new file's columns are the first row's
** keys in sorted order, unless lunet.csv(path, { columns = {...} }) names
** them. An existing file keeps its header.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csvfile.h"
#include "base/number.h"
#include "lua/lua_lunet.h"

typedef struct lcsv {
  csvw *w;
  char path[1024];
} lcsv;

static lcsv *check_log(lua_State *L) {
  lcsv *u = luaL_checkudata(L, 1, MT_CSV);
  if (!u->w) luaL_error(L, "csv log '%s' is closed", u->path);
  return u;
}

/* The cell text of the value on top of the stack, in buf or Lua's string. */
static const char *cell_text(lua_State *L, const char *col, char buf[32]) {
  switch (lua_type(L, -1)) {
  case LUA_TNUMBER:
    if (lua_isinteger(L, -1)) {
      snprintf(buf, 32, "%lld", (long long)lua_tointeger(L, -1));
      return buf;
    }
    return csv_format_number(lua_tonumber(L, -1), buf);
  case LUA_TBOOLEAN: return lua_toboolean(L, -1) ? "true" : "false";
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len) /* C strings end at a NUL: the cell would be cut there */
      luaL_error(L, "csv: column '%s' holds a NUL byte at position %d of its %d; cells cannot hold NUL bytes",
                 col, (int)strlen(s) + 1, (int)len);
    return s;
  }
  default:
    luaL_error(L, "csv: column '%s' has a %s value; cells are numbers, strings or booleans", col,
               luaL_typename(L, -1));
    return NULL;
  }
}

static int sort_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* log:write{ col = value, ... } */
static int c_write(lua_State *L) {
  lcsv *u = check_log(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  int n = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
    size_t len;
    if (lua_type(L, -2) != LUA_TSTRING) return luaL_error(L, "csv: column names must be strings");
    if (strlen(lua_tolstring(L, -2, &len)) != len) return luaL_error(L, "csv: a column name holds a NUL byte");
    n++;
  }
  const char **cols = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  const char **cells = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  char(*bufs)[32] = lua_newuserdatauv(L, 32 * (size_t)(n + 1), 0);
  int i = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) cols[i++] = lua_tostring(L, -2);
  qsort(cols, (size_t)n, sizeof *cols, sort_strings);
  for (i = 0; i < n; i++) {
    lua_getfield(L, 2, cols[i]);
    cells[i] = cell_text(L, cols[i], bufs[i]);
    lua_pop(L, 1); /* strings stay alive: they are values of table 2 */
  }
  char err[1024];
  if (csvw_ncols(u->w) == 0 && csvw_set_header(u->w, cols, n, err, sizeof err))
    return luaL_error(L, "%s", err);
  if (csvw_write(u->w, cols, cells, n, err, sizeof err)) return luaL_error(L, "%s", err);
  return 0;
}

static int c_close(lua_State *L) {
  lcsv *u = luaL_checkudata(L, 1, MT_CSV);
  if (u->w) csvw_close(u->w);
  u->w = NULL;
  return 0;
}

static int c_columns(lua_State *L) {
  lcsv *u = check_log(L);
  int n = csvw_ncols(u->w);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, csvw_col(u->w, i));
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* lunet.csv(path [, { columns = {...} }]) */
static int l_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[1024];
  lua_settop(L, 2);
  lcsv *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->w = NULL;
  snprintf(u->path, sizeof u->path, "%s", path);
  luaL_setmetatable(L, MT_CSV);
  u->w = csvw_open(path, err, sizeof err);
  if (!u->w) return luaL_error(L, "%s", err);
  if (lua_istable(L, 2) && lua_getfield(L, 2, "columns") == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, -1);
    const char **cols = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, -2 - i, i + 1);
      cols[i] = luaL_checkstring(L, -1);
    }
    if (csvw_set_header(u->w, cols, n, err, sizeof err)) return luaL_error(L, "%s", err);
  }
  lua_settop(L, 3);
  return 1;
}

/* lunet.read_csv(path) -> { {col = value, ...}, ... }: numbers as numbers,
** empty cells absent; and a note when an unfinished last line was left out. */
static int l_read_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[1024];
  csv_table *t = csv_read(path, err, sizeof err);
  if (!t) return luaL_error(L, "%s", err);
  lua_createtable(L, t->nrows, 0);
  for (int r = 0; r < t->nrows; r++) {
    lua_createtable(L, 0, t->ncols);
    for (int c = 0; c < t->ncols; c++) {
      const char *cell = t->cells[r][c];
      double v;
      if (!*cell) continue;
      if (lua_stringtonumber(L, cell) == 0) {
        if (csv_cell_number(cell, &v)) lua_pushnumber(L, v);
        else lua_pushstring(L, cell);
      }
      lua_setfield(L, -2, t->header[c]);
    }
    lua_rawseti(L, -2, r + 1);
  }
  int partial = t->partial_tail;
  csv_table_free(t);
  if (!partial) return 1;
  lua_pushfstring(L, "%s: the last line has no newline at its end (an interrupted write?); it was left out", path);
  return 2;
}

void lcsv_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"write", c_write}, {"close", c_close}, {"columns", c_columns}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"csv", l_csv}, {"read_csv", l_read_csv}, {NULL, NULL}};
  luaL_newmetatable(L, MT_CSV);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, c_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, c_close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
