/*
** lua_api.h -- the Lua side of lunet: `require "lunet"` and `lunet run`.
*/
#ifndef LUNET_LUA_API_H
#define LUNET_LUA_API_H

#include <lua.h>

/* Opens the lunet module (what `require "lunet"` returns). */
int luaopen_lunet(lua_State *L);

/* `lunet run SCRIPT [ARGS...]`: argv[0] is the script. Returns the exit
** status: 0, or 1 after printing "SCRIPT:LINE: message" and a traceback. */
int lua_run_script(int argc, char **argv, const char *progname);

#endif
