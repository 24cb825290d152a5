/*
** lua_report.c -- the report a trial's worker sends its parent: written
** in the child after run(cfg, trial), read back in the parent.
**
** The child sends its report through a pipe, one line per item,
** tab-separated, fields percent-escaped:
**
**   T <seconds>            wall time of run()
**   E <message>            run() raised an error
**   O <message>            run() ran out of memory (status oom)
**   M <name> <typed value> a returned metric (value "n1.5", "btrue", "sabc")
**   L                      a trial:log{...} row starts; F lines are its fields
**   F <name> <typed value>
**   P <plugins>            "dense@1.0.0 relu@1.0.0": the plugins it used
**   Z                      the report is complete
**
** A report without Z (the child was killed, or run() called os.exit) means
** the trial crashed, or timed out when the pool killed it at its timeout. Returned tables one level deep are flattened with "_"
** (return lunet.train's result, get train_loss, test_error, ...).
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sweep/lua_sweep.h"
#include "base/clock.h"

/* ---- the child's side ------------------------------------------------------ */

/* "<tag>\t<name>\t<type><value>\n" for each scalar field of the table at
** idx; a table field, one level deep, adds its fields as "name_field".
** A field that cannot be a cell (a function, a table two deep, an array
** item) is not dropped: its description goes to bad and 1 is returned. */
static int put_fields(lua_State *L, strbuf *b, int idx, const char *tag, const char *prefix, char *bad,
                      size_t badsz) {
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    int t = lua_type(L, -1);
    if (lua_type(L, -2) != LUA_TSTRING) {
      snprintf(bad, badsz, "an unnamed item (key %s) in %s", luaL_typename(L, -2), *prefix ? prefix : "the table");
      lua_pop(L, 2);
      return 1;
    }
    const char *name = lua_tostring(L, -2);
    if (t == LUA_TTABLE && !*prefix) {
      lua_pushfstring(L, "%s_", name);
      int rc = put_fields(L, b, lua_gettop(L) - 1, tag, lua_tostring(L, -1), bad, badsz);
      lua_pop(L, 1);
      if (rc) {
        lua_pop(L, 2);
        return 1;
      }
      continue;
    }
    if (!lsweep_is_scalar(L, -1)) {
      snprintf(bad, badsz, "'%s%s', a %s%s", prefix, name, luaL_typename(L, -1),
               t == LUA_TTABLE ? " two levels deep" : "");
      lua_pop(L, 2);
      return 1;
    }
    char buf[32], type[2] = {t == LUA_TNUMBER ? 'n' : t == LUA_TBOOLEAN ? 'b' : 's', 0};
    sb_str(b, tag);
    sb_str(b, "\t");
    sb_escaped(b, prefix, "\t\n\r");
    sb_escaped(b, name, "\t\n\r");
    sb_str(b, "\t");
    sb_str(b, type);
    sb_escaped(b, lsweep_cell_text(L, buf), "\t\n\r");
    sb_str(b, "\n");
  }
  return 0;
}

/* The E line for a result or log row that cannot be recorded. */
static void put_refusal(strbuf *b, const char *what, const char *bad) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s holds %s; metrics are numbers, strings or booleans, by name, in a table "
           "(tables inside it one level deep)", what, bad);
  sb_str(b, "E\t");
  sb_escaped(b, msg, "\t\n\r");
  sb_str(b, "\n");
}

/* trial:log{ ... }: keeps a copy of the row in the closure's list. */
static int trial_log(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_newtable(L);
  lsweep_copy_fields(L, 2, 3);
  lua_rawseti(L, lua_upvalueindex(1), (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)) + 1);
  return 0;
}

static int call_tostring(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}

/* The text of the error object at idx, even when it is not a string. */
static const char *error_text(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) return lua_tostring(L, idx);
  lua_pushcfunction(L, call_tostring);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) return lua_tostring(L, -1);
  return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

/* Whether the error of a failed run() was a failed allocation: Lua's own
** (LUA_ERRMEM, "not enough memory") or one a C function reported. */
static int is_memory_error(int st, const char *text) {
  return st == LUA_ERRMEM || strstr(text, "not enough memory") || strstr(text, "out of memory");
}

/* The E line of a failed run(), or its O line when memory ran out. The
** garbage of the trial is collected first, so the report has room. */
static void put_error(sweep *s, strbuf *b, int st, int err) {
  lua_State *L = s->L;
  lua_gc(L, LUA_GCCOLLECT);
  const char *text = error_text(L, err);
  int oom = is_memory_error(st, text);
  sb_str(b, oom ? "O\t" : "E\t");
  sb_escaped(b, text, "\t\n\r");
  if (oom && s->memory) {
    char limit[96];
    snprintf(limit, sizeof limit, " (the trial's limit is memory = %s)", s->memory_text);
    sb_escaped(b, limit, "\t\n\r");
  }
  sb_str(b, "\n");
}

/* Pushes run and its arguments: cfg (a copy, plus the seed) and the trial
** object, whose log rows go to the list at `rows`. */
static void push_call(sweep *s, int i, int rows) {
  lua_State *L = s->L;
  lsweep_push_state(s, "run");
  lua_newtable(L); /* cfg */
  lsweep_push_cfg(s, i);
  lsweep_copy_fields(L, -1, -2);
  lua_pop(L, 1);
  lua_pushinteger(L, lsweep_seed(s, i));
  lua_setfield(L, -2, "seed");
  lua_createtable(L, 0, 3); /* trial */
  lua_pushvalue(L, rows);
  lua_pushcclosure(L, trial_log, 1);
  lua_setfield(L, -2, "log");
  lua_pushinteger(L, i + 1);
  lua_setfield(L, -2, "index");
  lsweep_push_key(s, i);
  lua_setfield(L, -2, "key");
}

/* In the worker: run(cfg, trial), then the report to fd. Runs on the stack
** of lunet.sweep as it was at the fork. Exit status 0, or 1 when the report
** could not be made. */
int lsweep_child_run(void *ud, int i, int fd) {
  sweep *s = ud;
  lua_State *L = s->L;
  if (s->lock_fd >= 0) close(s->lock_fd); /* the lock dies with the parent, not with its last trial */
  s->lock_fd = -1;
  luaL_checkstack(L, 40, "lunet.sweep");
  lua_newtable(L); /* the log rows */
  int rows = lua_gettop(L);
  push_call(s, i, rows);
  double t0 = now_seconds();
  int st = lua_pcall(L, 2, 1, 0);
  double seconds = now_seconds() - t0;
  int result = lua_gettop(L);
  strbuf b = {0};
  char line[64];
  snprintf(line, sizeof line, "T\t%.6f\n", seconds);
  sb_str(&b, line);
  if (st != LUA_OK) {
    put_error(s, &b, st, result);
  } else if (lua_istable(L, result)) {
    char bad[256];
    strbuf m = {0};
    if (put_fields(L, &m, result, "M", "", bad, sizeof bad)) put_refusal(&b, "the table run returned", bad);
    else sb_add(&b, m.p, m.len);
    free(m.p);
  } else if (!lua_isnil(L, result)) {
    char msg[128];
    snprintf(msg, sizeof msg, "run returned a %s; it must return a table of metrics, or nothing",
             luaL_typename(L, result));
    sb_str(&b, "E\t");
    sb_escaped(&b, msg, "\t\n\r");
    sb_str(&b, "\n");
  }
  for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, rows); r++) {
    char bad[256];
    strbuf f = {0};
    lua_rawgeti(L, rows, r);
    if (put_fields(L, &f, lua_gettop(L), "F", "", bad, sizeof bad)) put_refusal(&b, "a trial:log row", bad);
    else {
      sb_str(&b, "L\n");
      sb_add(&b, f.p, f.len);
    }
    free(f.p);
    lua_pop(L, 1);
  }
  char plugins[4096];
  registry_used(plugins, sizeof plugins);
  sb_str(&b, "P\t");
  sb_escaped(&b, plugins, "\t\n\r");
  sb_str(&b, "\nZ\n");
  int rc = b.nomem || write_all(fd, b.p, b.len) ? 1 : 0;
  free(b.p);
  return rc;
}

/* ---- the parent's side ---------------------------------------------------------- */

/* Pushes "n1.5" as 1.5, "btrue" as true, "sabc" as "abc". */
static void push_typed(lua_State *L, const char *v) {
  if (v[0] == 'n' && lua_stringtonumber(L, v + 1)) return;
  if (v[0] == 'b') lua_pushboolean(L, strcmp(v + 1, "true") == 0);
  else lua_pushstring(L, v[0] ? v + 1 : "");
}

/* Adds the line f[0] f[1] f[2] (f[1], f[2] NULL when missing) to the
** report table at rep. */
static void read_line(lua_State *L, int rep, char *const f[3]) {
  if (strcmp(f[0], "T") == 0 && f[1]) {
    lua_pushnumber(L, strtod(f[1], NULL));
    lua_setfield(L, rep, "seconds");
  } else if ((strcmp(f[0], "E") == 0 || strcmp(f[0], "O") == 0 || strcmp(f[0], "P") == 0) && f[1]) {
    lua_pushstring(L, f[1]);
    lua_setfield(L, rep, f[0][0] == 'P' ? "plugins" : f[0][0] == 'O' ? "oom" : "error");
  } else if (strcmp(f[0], "Z") == 0) {
    lua_pushboolean(L, 1);
    lua_setfield(L, rep, "complete");
  } else if (strcmp(f[0], "L") == 0) {
    lua_getfield(L, rep, "logs");
    lua_newtable(L);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
  } else if ((strcmp(f[0], "M") == 0 || strcmp(f[0], "F") == 0) && f[1] && f[2]) {
    int log = f[0][0] == 'F';
    lua_getfield(L, rep, log ? "logs" : "metrics");
    if (log) lua_rawgeti(L, -1, (lua_Integer)lua_rawlen(L, -1));
    if (lua_istable(L, -1)) {
      push_typed(L, f[2]);
      lua_setfield(L, -2, f[1]);
    }
    lua_pop(L, log ? 2 : 1);
  }
}

/* Pushes { seconds =, error =, plugins =, complete =, metrics = {}, logs = {{}, ...} }. */
static void parse_report(lua_State *L, const char *out, size_t len) {
  char *text = lua_newuserdatauv(L, len + 1, 0), *save = NULL;
  memcpy(text, out, len);
  text[len] = '\0';
  lua_createtable(L, 0, 6);
  int rep = lua_gettop(L);
  lua_newtable(L);
  lua_setfield(L, rep, "metrics");
  lua_newtable(L);
  lua_setfield(L, rep, "logs");
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *f[3] = {line, NULL, NULL};
    for (int k = 1; k < 3 && f[k - 1]; k++)
      if ((f[k] = strchr(f[k - 1], '\t'))) *f[k]++ = '\0';
    for (int k = 1; k < 3; k++)
      if (f[k]) percent_decode(f[k]);
    read_line(L, rep, f);
  }
  lua_remove(L, rep - 1); /* the text */
}

/* Status and message of a finished trial, from its wait status and report. */
static const char *trial_status(lua_State *L, int rep, int wstatus, double timeout, char *msg, size_t sz) {
  const char *status = "ok";
  /* The pool's kill at the timeout ended it. A trial that ended on its own
  ** first, its end not yet read when the parent, late, sent the kill to its
  ** zombie, keeps its own status. */
  if (timeout > 0 && WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) {
    snprintf(msg, sz, "ran past its timeout of %g s, and was killed", timeout);
    return "timeout";
  }
  if (child_describe_exit(wstatus, msg, sz)) return "crashed";
  if (lua_getfield(L, rep, "oom") == LUA_TSTRING) {
    snprintf(msg, sz, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return "oom";
  }
  lua_pop(L, 1);
  lua_getfield(L, rep, "complete");
  lua_getfield(L, rep, "error");
  lua_getfield(L, rep, "metrics");
  lua_getfield(L, -1, "status");
  if (!lua_toboolean(L, -4)) {
    status = "crashed";
    snprintf(msg, sz, "the worker exited before finishing its report (did run call os.exit?)");
  } else if (lua_isstring(L, -3)) {
    status = "error";
    snprintf(msg, sz, "%s", lua_tostring(L, -3));
  } else if (lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "diverged") == 0) {
    status = "diverged";
    lua_getfield(L, -2, "message");
    snprintf(msg, sz, "%s", lua_isstring(L, -1) && *lua_tostring(L, -1) ? lua_tostring(L, -1) : "training diverged");
    lua_pop(L, 1);
  }
  lua_pop(L, 4);
  return status;
}

const char *lsweep_push_report(lua_State *L, const char *out, size_t len, int wstatus, double seconds,
                               double timeout, char *msg, size_t sz) {
  parse_report(L, out, len);
  int rep = lua_gettop(L);
  if (lua_getfield(L, rep, "seconds") == LUA_TNIL) { /* no report: the parent's clock */
    lua_pushnumber(L, seconds);
    lua_setfield(L, rep, "seconds");
  }
  lua_pop(L, 1);
  const char *status = trial_status(L, rep, wstatus, timeout, msg, sz);
  if (strcmp(status, "crashed") == 0 || strcmp(status, "timeout") == 0) { /* a broken report is not trusted */
    lua_newtable(L);
    lua_setfield(L, rep, "metrics");
    lua_newtable(L);
    lua_setfield(L, rep, "logs");
  }
  return status;
}
