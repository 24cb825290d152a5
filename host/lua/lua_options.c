/*
** lua_options.c -- lunet.options{...}: command-line options for scripts.
**
**   local opt = lunet.options{ quick = false, out = "results/x.csv", n = 1000 }
**
** reads `--name value` pairs (and bare `--name` for booleans) from the
** global `arg`, converting each to the type of its default. An unknown option
** or a value of the wrong type is an error listing what the script accepts;
** `--help` prints the options with their defaults and ends the script: it
** raises lhelp_done's error value, which `lunet run` takes as a clean exit.
*/
#include <stdio.h>
#include <string.h>

#include "lua/lua_lunet.h"

static const char help_done = 0; /* its address is the error value */

int lis_help_done(lua_State *L, int idx) {
  return lua_touserdata(L, idx) == (void *)&help_done;
}

/* Prints each option with its default to stdout, then ends the script. */
static int print_help(lua_State *L, int defaults) {
  lua_getglobal(L, "arg");
  lua_rawgeti(L, -1, 0);
  printf("usage: lunet run %s [options]\n", lua_isstring(L, -1) ? lua_tostring(L, -1) : "SCRIPT");
  lua_pop(L, 2);
  for (lua_pushnil(L); lua_next(L, defaults); lua_pop(L, 1)) {
    const char *name = lua_tostring(L, -2); /* keys are strings: checked by l_options */
    if (lua_isboolean(L, -1)) {
      printf("  --%s\n", name);
      continue;
    }
    const char *kind = lua_type(L, -1) == LUA_TNUMBER ? "N" : "TEXT";
    printf("  --%s %s (default %s)\n", name, kind, luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
  }
  fflush(stdout);
  lua_pushlightuserdata(L, (void *)&help_done);
  return lua_error(L);
}

static int l_options(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L); /* 2: the result, defaults first */
  for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) return luaL_error(L, "lunet.options: option names must be strings");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 2);
  }
  if (lua_getglobal(L, "arg") != LUA_TTABLE) return 1; /* 3 */
  int n = (int)lua_rawlen(L, 3);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    const char *a = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (!a || strncmp(a, "--", 2) != 0)
      return luaL_error(L, "option %d: expected --name, got '%s' (try --help)", i, a ? a : "?");
    if (strcmp(a, "--help") == 0) return print_help(L, 1);
    int t = lua_getfield(L, 1, a + 2);
    lua_pop(L, 1);
    if (t == LUA_TNIL) return luaL_error(L, "unknown option '%s' (try --help)", a);
    if (t == LUA_TBOOLEAN) {
      lua_pushboolean(L, 1);
    } else {
      if (i == n) return luaL_error(L, "option '%s' needs a value", a);
      lua_rawgeti(L, 3, ++i);
      if (t == LUA_TNUMBER && !lua_stringtonumber(L, lua_tostring(L, -1)))
        return luaL_error(L, "option '%s' expects a number, got '%s'", a, lua_tostring(L, -1));
      if (t == LUA_TNUMBER) lua_remove(L, -2);
    }
    lua_setfield(L, 2, a + 2);
  }
  lua_settop(L, 2);
  return 1;
}

void loptions_register(lua_State *L) {
  lua_pushcfunction(L, l_options);
  lua_setfield(L, -2, "options");
}
