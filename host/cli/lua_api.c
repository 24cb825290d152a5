/*
** lua_api.c -- the `lunet` Lua module, assembled from the bindings (lua/)
** and lunet.sweep (sweep/), and the script runner behind `lunet run`.
*/
#include "cli/lua_api.h"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_lunet.h"
#include "runtime/registry.h"
#include "sweep/lua_sweep.h"

#ifndef LUNET_VERSION
#define LUNET_VERSION "unknown"
#endif

int luaopen_lunet(lua_State *L) {
  registry_init();
  lbase_newlib(L);
  lua_pushstring(L, LUNET_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushfstring(L, "%d.%d", LUNET_ABI_MAJOR, LUNET_ABI_MINOR);
  lua_setfield(L, -2, "abi_version");
  lmodel_register(L);
  ltrain_register(L);
  ldata_register(L);
  lcsv_register(L);
  loptions_register(L);
  lsweep_register(L);
  lanalysis_register(L);
  lbpe_register(L);
  ltext_register(L);
  llandscape_register(L);
  return 1;
}

/* ---- lunet run --------------------------------------------------------- */

static int traceback(lua_State *L) {
  if (lis_help_done(L, 1)) return 1; /* not an error: passed through */
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* arg[0] = script, arg[1..] = its arguments, arg[-1] = the program. */
static void set_arg(lua_State *L, int argc, char **argv, const char *progname) {
  lua_createtable(L, argc, 2);
  lua_pushstring(L, progname);
  lua_rawseti(L, -2, -2);
  lua_pushstring(L, "run");
  lua_rawseti(L, -2, -1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  lua_setglobal(L, "arg");
}

/* Lets a script `require` modules that sit beside it. */
static void add_script_dir(lua_State *L, const char *script) {
  const char *slash = strrchr(script, '/');
  lua_getglobal(L, "package");
  if (slash)
    lua_pushlstring(L, script, (size_t)(slash - script));
  else
    lua_pushliteral(L, ".");
  lua_getfield(L, -2, "path");
  lua_pushfstring(L, "%s/?.lua;%s", lua_tostring(L, -2), lua_tostring(L, -1));
  lua_setfield(L, -4, "path");
  lua_pop(L, 3);
}

int lua_run_script(int argc, char **argv, const char *progname) {
  if (argc < 1) {
    fprintf(stderr, "usage: lunet run SCRIPT.lua [ARGS...]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* keep print() in step with stderr progress */
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_lunet);
  lua_setfield(L, -2, "lunet");
  lua_pop(L, 1);
  set_arg(L, argc, argv, progname);
  add_script_dir(L, argv[0]);
  lua_pushcfunction(L, traceback);
  int status = luaL_loadfile(L, argv[0]);
  if (status == LUA_OK) {
    lua_getglobal(L, "arg");
    for (int i = 1; i < argc; i++) lua_rawgeti(L, -i, i); /* also as `...` */
    lua_remove(L, -argc);
    status = lua_pcall(L, argc - 1, 0, 1);
  }
  if (status != LUA_OK && lis_help_done(L, -1)) status = LUA_OK; /* --help printed */
  if (status != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
  lua_close(L);
  fflush(stdout);
  return status == LUA_OK ? 0 : 1;
}
