/*
** lua_keys.c -- a trial's key, and the text it is made of.
**
** A trial's key is the canonical text of its configuration and seed,
** "lr=0.1,width=8,seed=1": the names in sorted order, each value as
** sweep_canon gives it (the text the value reads back as from a results
** file), with ',' '=' '%' escaped. Trials with the same key are the same
** trial and run once; a rerun skips every key its results file holds.
**
** Keys and the lines of a trial's report are built in a strbuf
** (base/strbuf.h), a growable string that, unlike a luaL_Buffer, allows
** stack work between additions; sb_push hands one to Lua.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"
#include "sweep/lua_sweep.h"

/* ---- a growable string, to Lua ---------------------------------------------------- */

void sb_push(lua_State *L, strbuf *b) {
  int nomem = b->nomem;
  if (!nomem) lua_pushlstring(L, b->p ? b->p : "", b->len);
  free(b->p);
  *b = (strbuf){0};
  if (nomem) luaL_error(L, "lunet.sweep: out of memory");
}

/* ---- cells and keys ----------------------------------------------------------- */

const char *lsweep_cell_text(lua_State *L, char buf[32]) {
  if (lua_isinteger(L, -1)) {
    snprintf(buf, 32, "%lld", (long long)lua_tointeger(L, -1));
    return buf;
  }
  if (lua_type(L, -1) == LUA_TNUMBER) return csv_format_number(lua_tonumber(L, -1), buf);
  if (lua_isboolean(L, -1)) return lua_toboolean(L, -1) ? "true" : "false";
  return lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
}

/* Adds "name=value," with the value's canonical key text. */
static void key_add(strbuf *b, const char *name, const char *text) {
  char buf[32];
  sb_escaped(b, name, ",=");
  sb_str(b, "=");
  sb_escaped(b, sweep_canon(text, buf), ",=");
  sb_str(b, ",");
}

void lsweep_push_key(sweep *s, int i) {
  lua_State *L = s->L;
  strbuf b = {0};
  char buf[32];
  lsweep_push_cfg(s, i);
  for (int j = 0; j < s->n_names; j++) {
    lua_getfield(L, -1, s->name[j]);
    key_add(&b, s->name[j], lsweep_cell_text(L, buf));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  snprintf(buf, sizeof buf, "%lld", (long long)lsweep_seed(s, i));
  key_add(&b, "seed", buf);
  b.len -= b.len > 0; /* the last ',' */
  sb_push(L, &b);
}

void lsweep_push_row_key(sweep *s, const csv_table *t, int r, const int *col) {
  strbuf b = {0};
  for (int j = 0; j < s->n_names; j++) key_add(&b, s->name[j], t->cells[r][col[j]]);
  key_add(&b, "seed", t->cells[r][col[s->n_names]]);
  b.len -= b.len > 0;
  sb_push(s->L, &b);
}
