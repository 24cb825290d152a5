/*
** lua_sweep.c -- lunet.sweep: many trials of an experiment, in parallel,
** crash-isolated and resumable, each finished trial one row of a CSV file;
** and lunet.uniform / loguniform / choice, the distributions of random search.
**
**   lunet.sweep{ grid = { width = {8, 16} }, seeds = {1, 2}, workers = 2,
**                out = "results/s.csv", run = function(cfg, trial) ... end }
**
** Trials. The configurations are the cartesian product of `grid` (keys in
** sorted order, the last key varying fastest) or `random.n` draws from
** `random.space` (one seeded stream, keys drawn in sorted order), each run
** once per seed. A trial's key is the canonical text of its configuration
** and seed, "lr=0.1,width=8,seed=1" (sweep_canon: the text a value reads
** back as from the file; ',' '=' '%' escaped). Trials with the same key are
** the same trial and run once.
**
** Workers. Each trial runs `run(cfg, trial)` in a process of its own
** (sweep.c), with `threads` BLAS threads (default 1, whatever `workers` is:
** OpenBLAS's sums depend on its thread count, so this is what makes serial
** and parallel sweeps give the same rows). The child sends its report
** through a pipe, one line per item, tab-separated, fields percent-escaped:
**
**   T <seconds>            wall time of run()
**   E <message>            run() raised an error
**   M <name> <typed value> a returned metric (value "n1.5", "btrue", "sabc")
**   L                      a trial:log{...} row starts; F lines are its fields
**   F <name> <typed value>
**   P <plugins>            "dense@1.0.0 relu@1.0.0": the plugins it used
**   Z                      the report is complete
**
** A report without Z (the child was killed, or run() called os.exit) means
** the trial crashed. Returned tables one level deep are flattened with "_"
** (return lunet.train's result, get train_loss, test_error, ...).
**
** Files. The parent writes a trial's trial:log rows to `log_out` (default
** `out` with "_log.csv" for ".csv") first, fsynced, then its row to `out`,
** fsynced: the row in `out` is the commit record. A rerun skips every key
** already in `out`, and first removes from the log file the rows of trials
** `out` does not hold (those of a sweep killed between the two writes), so
** neither file ever holds a trial twice.
**
** Columns of `out`: the grid keys, seed, status, message, seconds, then the
** metrics, then lunet_version, abi and plugins. The metrics are `metrics =
** {...}` when given; otherwise those of the first trial whose run()
** returned (ok or diverged). Until such a trial finishes, rows of failed
** trials wait in memory (a kill then loses them like trials in flight: they
** run again on resume); a metric the header lacks is dropped with a warning.
** An existing file must have the same grid keys (and the same metrics, when
** declared), or the sweep refuses to run.
*/
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvfile.h"
#include "lua_lunet.h"
#include "services.h"
#include "sweep.h"
#include "train.h"

#ifndef LUNET_VERSION
#define LUNET_VERSION "unknown"
#endif

#define MT_DIST "lunet.distribution"
#define MT_SWEEP "lunet.sweep_state"

/* Columns every row has, before the metrics and after them. */
static const char *const fixed_cols[] = {"seed", "status", "message", "seconds"};
static const char *const provenance_cols[] = {"lunet_version", "abi", "plugins"};
#define N_FIXED 4
#define N_PROVENANCE 3

static int is_reserved(const char *name) {
  for (int k = 0; k < N_FIXED; k++)
    if (strcmp(name, fixed_cols[k]) == 0) return 1;
  for (int k = 0; k < N_PROVENANCE; k++)
    if (strcmp(name, provenance_cols[k]) == 0) return 1;
  return 0;
}

static int is_scalar(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  return t == LUA_TNUMBER || t == LUA_TSTRING || t == LUA_TBOOLEAN;
}

/* ---- a growable string (a luaL_Buffer forbids the stack work in between) -- */

typedef struct strbuf {
  char *p;
  size_t len, cap;
  int nomem;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
  if (b->nomem) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->nomem = 1;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Appends s with the bytes in `special` (and '%') written as %XX. */
static void sb_escaped(strbuf *b, const char *s, const char *special) {
  for (; *s; s++) {
    if (*s == '%' || strchr(special, *s)) {
      char e[4];
      snprintf(e, sizeof e, "%%%02X", (unsigned char)*s);
      sb_str(b, e);
    } else {
      sb_add(b, s, 1);
    }
  }
}

/* Pushes the buffer as a Lua string and frees it. */
static void sb_push(lua_State *L, strbuf *b) {
  int nomem = b->nomem;
  if (!nomem) lua_pushlstring(L, b->p ? b->p : "", b->len);
  free(b->p);
  *b = (strbuf){0};
  if (nomem) luaL_error(L, "lunet.sweep: out of memory");
}

/* ---- distributions for random search ------------------------------------ */

static int make_dist(lua_State *L, const char *kind) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  if (!(a < b)) return luaL_error(L, "lunet.%s(a, b): expected a < b, got %f and %f", kind, a, b);
  if (strcmp(kind, "loguniform") == 0 && a <= 0)
    return luaL_error(L, "lunet.loguniform(a, b): expected 0 < a, got %f", a);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushnumber(L, a);
  lua_setfield(L, -2, "a");
  lua_pushnumber(L, b);
  lua_setfield(L, -2, "b");
  luaL_setmetatable(L, MT_DIST);
  return 1;
}

static int l_uniform(lua_State *L) { return make_dist(L, "uniform"); }
static int l_loguniform(lua_State *L) { return make_dist(L, "loguniform"); }

/* lunet.choice{ v1, v2, ... }: one of the values, each as likely. */
static int l_choice(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  if (n == 0) return luaL_error(L, "lunet.choice{...}: give at least one value");
  lua_createtable(L, (int)n, 0);
  for (lua_Integer k = 1; k <= n; k++) {
    lua_rawgeti(L, 1, k);
    if (!is_scalar(L, -1))
      return luaL_error(L, "lunet.choice{...}: value %d is a %s; values are numbers, strings or booleans", (int)k,
                        luaL_typename(L, -1));
    lua_rawseti(L, -2, k);
  }
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "choice");
  lua_setfield(L, -2, "kind");
  lua_insert(L, -2);
  lua_setfield(L, -2, "values");
  luaL_setmetatable(L, MT_DIST);
  return 1;
}

static int is_dist(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, MT_DIST);
  int yes = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return yes;
}

/* Pushes one draw of the distribution at `idx`, or the value itself when it
** is a constant. Every distribution takes exactly one number of the stream,
** so a draw never shifts the others. */
static void draw(lua_State *L, int idx, lunet_rng *rng) {
  if (!is_dist(L, idx)) {
    lua_pushvalue(L, idx);
    return;
  }
  lua_getfield(L, idx, "kind");
  int choice = strcmp(lua_tostring(L, -1), "choice") == 0;
  int logu = strcmp(lua_tostring(L, -1), "loguniform") == 0;
  lua_pop(L, 1);
  double u = rng_uniform(rng); /* in [0, 1) */
  if (choice) {
    lua_getfield(L, idx, "values");
    lua_rawgeti(L, -1, 1 + (lua_Integer)(u * (double)lua_rawlen(L, -1)));
    lua_remove(L, -2);
    return;
  }
  lua_getfield(L, idx, "a");
  lua_getfield(L, idx, "b");
  double a = lua_tonumber(L, -2), b = lua_tonumber(L, -1);
  lua_pop(L, 2);
  lua_pushnumber(L, logu ? exp(log(a) + (log(b) - log(a)) * u) : a + (b - a) * u);
}

/* ---- the sweep's state ---------------------------------------------------- */

/* A userdata: its __gc closes the files and frees what C owns, so a Lua
** error anywhere in lunet.sweep leaks nothing. The Lua values it needs live
** in a table referenced from the registry (`ref`), reachable from any stack
** frame: run, cfgs (the configurations), names (anchoring name[]),
** metrics (declared, or nil), waiting (rows before the header), warned. */
typedef struct sweep {
  lua_State *L;
  int ref;
  const char **name; /* the sorted grid (or space) keys */
  int n_names, n_seeds;
  lua_Integer *seeds;
  csvw *out, *log;
  const char *out_path;
  char log_path[1024];
  char metric[64];   /* shown in progress */
  int stop_on_failure, stopped;
  sweep_progress prog;
  char error[1024];  /* a failure of the parent's side: the sweep ends with it */
} sweep;

static void close_files(sweep *s) {
  if (s->out) csvw_close(s->out);
  if (s->log) csvw_close(s->log);
  s->out = s->log = NULL;
}

static int sweep_gc(lua_State *L) {
  sweep *s = luaL_checkudata(L, 1, MT_SWEEP);
  close_files(s);
  free(s->name);
  free(s->seeds);
  s->name = NULL, s->seeds = NULL;
  if (s->ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, s->ref);
  s->ref = LUA_NOREF;
  return 0;
}

/* Pushes state[key]. */
static int push_state(sweep *s, const char *key) {
  lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ref);
  int t = lua_getfield(s->L, -1, key);
  lua_remove(s->L, -2);
  return t;
}

/* state[key] = the value on top of the stack (popped). */
static void set_state(sweep *s, const char *key) {
  lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ref);
  lua_insert(s->L, -2);
  lua_setfield(s->L, -2, key);
  lua_pop(s->L, 1);
}

static void push_cfg(sweep *s, int trial) {
  push_state(s, "cfgs");
  lua_rawgeti(s->L, -1, trial / s->n_seeds + 1);
  lua_remove(s->L, -2);
}

static lua_Integer seed_of(sweep *s, int trial) { return s->seeds[trial % s->n_seeds]; }

/* The cell text of the value on top of the stack: integers as integers,
** other numbers with the shortest round-trip digits. */
static const char *cell_text(lua_State *L, char buf[32]) {
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

/* Pushes the key of trial i: "name=value,...,seed=s". */
static void push_key(sweep *s, int i) {
  lua_State *L = s->L;
  strbuf b = {0};
  char buf[32];
  push_cfg(s, i);
  for (int j = 0; j < s->n_names; j++) {
    lua_getfield(L, -1, s->name[j]);
    key_add(&b, s->name[j], cell_text(L, buf));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  snprintf(buf, sizeof buf, "%lld", (long long)seed_of(s, i));
  key_add(&b, "seed", buf);
  b.len -= b.len > 0; /* the last ',' */
  sb_push(L, &b);
}

/* Pushes the key of row r of a file; col[] are the columns of the names,
** then of the seed. */
static void push_row_key(sweep *s, const csv_table *t, int r, const int *col) {
  strbuf b = {0};
  for (int j = 0; j < s->n_names; j++) key_add(&b, s->name[j], t->cells[r][col[j]]);
  key_add(&b, "seed", t->cells[r][col[s->n_names]]);
  b.len -= b.len > 0;
  sb_push(s->L, &b);
}

/* ---- the child's side ------------------------------------------------------ */

/* "<tag>\t<name>\t<type><value>\n" for each scalar field of the table at
** idx; a table field, one level deep, adds its fields as "name_field". */
static void put_fields(lua_State *L, strbuf *b, int idx, const char *tag, const char *prefix) {
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    int t = lua_type(L, -1);
    if (lua_type(L, -2) != LUA_TSTRING) continue;
    const char *name = lua_tostring(L, -2);
    if (t == LUA_TTABLE && !*prefix) {
      lua_pushfstring(L, "%s_", name);
      put_fields(L, b, lua_gettop(L) - 1, tag, lua_tostring(L, -1));
      lua_pop(L, 1);
      continue;
    }
    if (!is_scalar(L, -1)) continue;
    char buf[32], type[2] = {t == LUA_TNUMBER ? 'n' : t == LUA_TBOOLEAN ? 'b' : 's', 0};
    sb_str(b, tag);
    sb_str(b, "\t");
    sb_escaped(b, prefix, "\t\n\r");
    sb_escaped(b, name, "\t\n\r");
    sb_str(b, "\t");
    sb_str(b, type);
    sb_escaped(b, cell_text(L, buf), "\t\n\r");
    sb_str(b, "\n");
  }
}

static void copy_fields(lua_State *L, int src, int dst) {
  src = lua_absindex(L, src), dst = lua_absindex(L, dst);
  for (lua_pushnil(L); lua_next(L, src); lua_pop(L, 1)) {
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, dst);
  }
}

/* trial:log{ ... }: keeps a copy of the row in the closure's list. */
static int trial_log(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_newtable(L);
  copy_fields(L, 2, 3);
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

/* In the worker: run(cfg, trial), then the report to fd. Runs on the stack
** of lunet.sweep as it was at the fork. Exit status 0, or 1 when the report
** could not be made. */
static int child_run(void *ud, int i, int fd) {
  sweep *s = ud;
  lua_State *L = s->L;
  luaL_checkstack(L, 40, "lunet.sweep");
  lua_newtable(L); /* the log rows */
  int rows = lua_gettop(L);
  push_state(s, "run");
  lua_newtable(L); /* cfg: a copy, plus the seed */
  push_cfg(s, i);
  copy_fields(L, -1, -2);
  lua_pop(L, 1);
  lua_pushinteger(L, seed_of(s, i));
  lua_setfield(L, -2, "seed");
  lua_createtable(L, 0, 3); /* trial */
  lua_pushvalue(L, rows);
  lua_pushcclosure(L, trial_log, 1);
  lua_setfield(L, -2, "log");
  lua_pushinteger(L, i + 1);
  lua_setfield(L, -2, "index");
  push_key(s, i);
  lua_setfield(L, -2, "key");
  double t0 = now_seconds();
  int st = lua_pcall(L, 2, 1, 0);
  double seconds = now_seconds() - t0;
  int result = lua_gettop(L);
  strbuf b = {0};
  char line[64];
  snprintf(line, sizeof line, "T\t%.6f\n", seconds);
  sb_str(&b, line);
  if (st != LUA_OK) {
    sb_str(&b, "E\t");
    sb_escaped(&b, error_text(L, result), "\t\n\r");
    sb_str(&b, "\n");
  } else if (lua_istable(L, result)) {
    put_fields(L, &b, result, "M", "");
  }
  for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, rows); r++) {
    sb_str(&b, "L\n");
    lua_rawgeti(L, rows, r);
    put_fields(L, &b, lua_gettop(L), "F", "");
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

/* ---- the parent's side: reading a report ---------------------------------- */

static void unescape(char *s) {
  char *w = s;
  for (; *s; s++) {
    if (s[0] == '%' && s[1] && s[2]) {
      char hex[3] = {s[1], s[2], 0};
      *w++ = (char)strtol(hex, NULL, 16);
      s += 2;
    } else {
      *w++ = *s;
    }
  }
  *w = '\0';
}

/* Pushes "n1.5" as 1.5, "btrue" as true, "sabc" as "abc". */
static void push_typed(lua_State *L, const char *v) {
  if (v[0] == 'n' && lua_stringtonumber(L, v + 1)) return;
  if (v[0] == 'b') lua_pushboolean(L, strcmp(v + 1, "true") == 0);
  else lua_pushstring(L, v[0] ? v + 1 : "");
}

/* Pushes { seconds =, error =, plugins =, complete =, metrics = {}, logs = {{}, ...} }. */
static void push_report(lua_State *L, const char *out, size_t len) {
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
      if (f[k]) unescape(f[k]);
    if (strcmp(f[0], "T") == 0 && f[1]) {
      lua_pushnumber(L, strtod(f[1], NULL));
      lua_setfield(L, rep, "seconds");
    } else if ((strcmp(f[0], "E") == 0 || strcmp(f[0], "P") == 0) && f[1]) {
      lua_pushstring(L, f[1]);
      lua_setfield(L, rep, f[0][0] == 'E' ? "error" : "plugins");
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
  lua_remove(L, rep - 1); /* the text */
}

/* Status and message of a finished trial, from its wait status and report. */
static const char *trial_status(lua_State *L, int rep, int wstatus, char *msg, size_t sz) {
  const char *status = "ok";
  if (sweep_describe_exit(wstatus, msg, sz)) return "crashed";
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

/* ---- the parent's side: writing rows ----------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int in_list(const char *const *v, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0) return 1;
  return 0;
}

/* Fixes w's header: the grid names; seed, status, message, seconds for the
** results file (`trial_cols`), else just seed; then the row's other keys,
** sorted, or without a row (row = 0) the declared metrics in their order;
** then, for the results file, the provenance columns. */
static void set_header(sweep *s, csvw *w, int row, int trial_cols) {
  lua_State *L = s->L;
  int n = 0;
  if (row) for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) n++;
  if (!row && push_state(s, "metrics") == LUA_TTABLE) n = (int)lua_rawlen(L, -1);
  const char **cols = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + s->n_names + 8), 0);
  int k = 0;
  for (int j = 0; j < s->n_names; j++) cols[k++] = s->name[j];
  for (int j = 0; j < (trial_cols ? N_FIXED : 1); j++) cols[k++] = fixed_cols[j];
  int mid = k;
  if (row) {
    for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1))
      if (!in_list(cols, mid, lua_tostring(L, -2)) && !(trial_cols && is_reserved(lua_tostring(L, -2))))
        cols[k++] = lua_tostring(L, -2); /* strings stay alive as keys of the row */
    qsort(cols + mid, (size_t)(k - mid), sizeof *cols, cmp_str);
  } else {
    for (int j = 0; j < n; j++) {
      lua_rawgeti(L, -2, j + 1);
      cols[k++] = lua_tostring(L, -1);
      lua_pop(L, 1); /* alive in the metrics table */
    }
  }
  for (int j = 0; trial_cols && j < N_PROVENANCE; j++) cols[k++] = provenance_cols[j];
  char err[1024];
  if (csvw_set_header(w, cols, k, err, sizeof err)) luaL_error(L, "%s", err);
  lua_pop(L, row ? 1 : 2);
}

/* Appends the row table at `row` to w and forces it to disk unless `nosync`.
** Keys the header lacks are dropped, with a warning once per name. */
static void write_row(sweep *s, csvw *w, const char *path, int row, int nosync) {
  lua_State *L = s->L;
  int n = csvw_ncols(w);
  const char **cols = lua_newuserdatauv(L, sizeof(char *) * (size_t)n, 0);
  const char **cells = lua_newuserdatauv(L, sizeof(char *) * (size_t)n, 0);
  char(*bufs)[32] = lua_newuserdatauv(L, 32 * (size_t)n, 0);
  for (int j = 0; j < n; j++) {
    cols[j] = csvw_col(w, j);
    lua_getfield(L, row, cols[j]);
    cells[j] = lua_isnil(L, -1) ? NULL : cell_text(L, bufs[j]);
    lua_pop(L, 1); /* strings stay alive in the row table */
  }
  push_state(s, "warned");
  int warned = lua_gettop(L);
  for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) {
    const char *name = lua_tostring(L, -2); /* keys are strings: they came through a report */
    if (in_list(cols, n, name)) continue;
    int before = lua_getfield(L, warned, name) != LUA_TNIL;
    lua_pop(L, 1);
    if (before) continue;
    fprintf(stderr, "%ssweep: warning: '%s' is not a column of %s, dropped (a file's columns are fixed by "
                    "its first row, or by metrics = {...})\n", s->prog.tty ? "\r\033[K" : "", name, path);
    lua_pushboolean(L, 1);
    lua_setfield(L, warned, name);
  }
  lua_pop(L, 1);
  char err[1024];
  if (csvw_write(w, cols, cells, n, err, sizeof err)) luaL_error(L, "%s", err);
  if (!nosync && csvw_sync(w)) luaL_error(L, "%s: cannot sync to disk: %s", path, strerror(errno));
  lua_pop(L, 3);
}

/* Writes the rows that waited for the header, in the order they came. */
static void write_waiting(sweep *s) {
  lua_State *L = s->L;
  push_state(s, "waiting");
  int waiting = lua_gettop(L);
  for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, waiting); r++) {
    lua_rawgeti(L, waiting, r);
    write_row(s, s->out, s->out_path, lua_gettop(L), 0);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_newtable(L);
  set_state(s, "waiting");
}

/* The trial row at `row` goes to the results file, or waits for a header
** when it failed before any trial returned metrics. */
static void commit_row(sweep *s, int row, int failed) {
  lua_State *L = s->L;
  if (csvw_ncols(s->out) == 0) {
    if (failed && push_state(s, "metrics") == LUA_TNIL) {
      push_state(s, "waiting");
      lua_pushvalue(L, row);
      lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      lua_pop(L, 2);
      return;
    }
    if (failed) lua_pop(L, 1);
    set_header(s, s->out, row, 1);
  }
  write_waiting(s);
  write_row(s, s->out, s->out_path, row, 0);
}

/* Writes the trial:log rows of trial i (the list at `logs`), each with the
** trial's grid values and seed, and syncs them. */
static void write_log_rows(sweep *s, int i, int logs) {
  lua_State *L = s->L;
  lua_Integer n = (lua_Integer)lua_rawlen(L, logs);
  for (lua_Integer r = 1; r <= n; r++) {
    char err[1024];
    if (!s->log && !(s->log = csvw_open(s->log_path, err, sizeof err))) luaL_error(L, "%s", err);
    lua_rawgeti(L, logs, r);
    int lrow = lua_gettop(L);
    push_cfg(s, i);
    copy_fields(L, -1, lrow);
    lua_pop(L, 1);
    lua_pushinteger(L, seed_of(s, i));
    lua_setfield(L, lrow, "seed");
    if (csvw_ncols(s->log) == 0) set_header(s, s->log, lrow, 0);
    write_row(s, s->log, s->log_path, lrow, 1);
    lua_pop(L, 1);
  }
  if (n > 0 && csvw_sync(s->log)) luaL_error(L, "%s: cannot sync to disk: %s", s->log_path, strerror(errno));
}

/* Pushes the results row of trial i. */
static void push_row(sweep *s, int i, int rep, const char *status, const char *msg) {
  lua_State *L = s->L;
  lua_newtable(L);
  int row = lua_gettop(L);
  lua_getfield(L, rep, "metrics");
  copy_fields(L, -1, row);
  lua_pop(L, 1);
  for (int k = 0; k < N_PROVENANCE; k++) { /* a trial's own keys of these names */
    lua_pushnil(L);
    lua_setfield(L, row, provenance_cols[k]);
  }
  push_cfg(s, i);
  copy_fields(L, -1, row);
  lua_pop(L, 1);
  lua_pushinteger(L, seed_of(s, i));
  lua_setfield(L, row, "seed");
  lua_pushstring(L, status);
  lua_setfield(L, row, "status");
  lua_pushstring(L, msg);
  lua_setfield(L, row, "message");
  lua_getfield(L, rep, "seconds");
  lua_setfield(L, row, "seconds");
  lua_pushstring(L, LUNET_VERSION);
  lua_setfield(L, row, "lunet_version");
  lua_pushfstring(L, "%d.%d", LUNET_ABI_MAJOR, LUNET_ABI_MINOR);
  lua_setfield(L, row, "abi");
  lua_getfield(L, rep, "plugins");
  lua_setfield(L, row, "plugins");
}

/* record_trial(s, i, wstatus, seconds, report) -> stop: called under
** lua_pcall, so an error (a full disk) ends the sweep cleanly. */
static int record_trial(lua_State *L) {
  sweep *s = lua_touserdata(L, 1);
  int i = (int)lua_tointeger(L, 2), wstatus = (int)lua_tointeger(L, 3);
  size_t len;
  const char *out = lua_tolstring(L, 5, &len);
  luaL_checkstack(L, 40, "lunet.sweep");
  push_report(L, out, len);
  int rep = lua_gettop(L);
  if (lua_getfield(L, rep, "seconds") == LUA_TNIL) { /* no report: the parent's clock */
    lua_pushvalue(L, 4);
    lua_setfield(L, rep, "seconds");
  }
  lua_pop(L, 1);
  char msg[2048];
  const char *status = trial_status(L, rep, wstatus, msg, sizeof msg);
  if (strcmp(status, "crashed") == 0) { /* what a broken report holds is not trusted */
    lua_newtable(L);
    lua_setfield(L, rep, "metrics");
    lua_newtable(L);
    lua_setfield(L, rep, "logs");
  }
  int failed = strcmp(status, "ok") != 0 && strcmp(status, "diverged") != 0;
  push_key(s, i);
  const char *key = lua_tostring(L, -1);
  lua_getfield(L, rep, "logs");
  write_log_rows(s, i, lua_gettop(L)); /* first: the results row commits the trial */
  lua_pop(L, 1);
  push_row(s, i, rep, status, msg);
  commit_row(s, lua_gettop(L), failed);

  s->prog.done++;
  s->prog.failed += strcmp(status, "ok") != 0;
  s->prog.last[0] = '\0';
  lua_getfield(L, rep, "metrics");
  if (lua_getfield(L, -1, s->metric) == LUA_TNUMBER)
    snprintf(s->prog.last, sizeof s->prog.last, "%s=%.4g", s->metric, lua_tonumber(L, -1));
  lua_pop(L, 2);
  if (strcmp(status, "ok") != 0) sweep_progress_failure(&s->prog, key, status, msg);
  sweep_progress_trial(&s->prog, key, status);
  int stop = strcmp(status, "ok") != 0 && s->stop_on_failure;
  s->stopped |= stop;
  lua_pushboolean(L, stop);
  return 1;
}

/* sweep_pool.done: the work happens in record_trial, under pcall. */
static int parent_done(void *ud, int i, int wstatus, double seconds, const char *out, size_t len) {
  sweep *s = ud;
  lua_State *L = s->L;
  if (s->error[0]) return 1; /* after a failure, nothing more is recorded */
  if (!lua_checkstack(L, 8)) {
    snprintf(s->error, sizeof s->error, "lunet.sweep: out of memory");
    return 1;
  }
  lua_pushcfunction(L, record_trial);
  lua_pushlightuserdata(L, s);
  lua_pushinteger(L, i);
  lua_pushinteger(L, wstatus);
  lua_pushnumber(L, seconds);
  lua_pushlstring(L, out, len);
  if (lua_pcall(L, 5, 1, 0) != LUA_OK) {
    snprintf(s->error, sizeof s->error, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "lunet.sweep: error");
    lua_pop(L, 1);
    return 1;
  }
  int stop = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return stop;
}

static void tick(void *ud) { sweep_progress_tick(&((sweep *)ud)->prog); }

/* ---- the trials ------------------------------------------------------------ */

/* Reads the sorted string keys of the table at idx into s->name (anchored
** in state.names); `what` names the table in errors. */
static void take_names(sweep *s, int idx, const char *what) {
  lua_State *L = s->L;
  lua_newtable(L);
  int names = lua_gettop(L), n = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "lunet.sweep: %s keys must be names, got a %s", what,
                                                   luaL_typename(L, -2));
    const char *name = lua_tostring(L, -2);
    if (is_reserved(name))
      luaL_error(L, "lunet.sweep: %s key '%s' is the name of a column every results row has; "
                    "rename it%s", what, name, strcmp(name, "seed") == 0 ? " (seeds = {...} gives the seeds)" : "");
    lua_pushvalue(L, -2);
    lua_rawseti(L, names, ++n);
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, names);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  s->name = malloc(sizeof(char *) * (size_t)(n + 1));
  if (!s->name) luaL_error(L, "lunet.sweep: out of memory");
  for (int j = 0; j < n; j++) {
    lua_rawgeti(L, names, j + 1);
    s->name[j] = lua_tostring(L, -1);
    lua_pop(L, 1); /* alive in the names table */
  }
  s->n_names = n;
  set_state(s, "names");
}

/* grid = { a = {1, 2}, b = "x" }: the cartesian product, last key fastest.
** The lists are read into a table of their own: the caller's stays as given. */
static void grid_configs(sweep *s, int grid, int cfgs) {
  lua_State *L = s->L;
  take_names(s, grid, "grid");
  lua_newtable(L);
  int lists = lua_gettop(L);
  long total = 1;
  for (int j = 0; j < s->n_names; j++) {
    lua_getfield(L, grid, s->name[j]);
    if (!lua_istable(L, -1)) { /* a single value */
      lua_createtable(L, 1, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
    }
    long len = (long)lua_rawlen(L, -1);
    if (len == 0) luaL_error(L, "lunet.sweep: grid '%s' is an empty list", s->name[j]);
    for (long k = 1; k <= len; k++) {
      lua_rawgeti(L, -1, k);
      if (!is_scalar(L, -1))
        luaL_error(L, "lunet.sweep: grid '%s' value %d is a %s; grid values are numbers, strings or booleans",
                   s->name[j], (int)k, luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    if (total > (1L << 24) / len) luaL_error(L, "lunet.sweep: the grid has more than 2^24 configurations");
    total *= len;
    lua_rawseti(L, lists, j + 1);
  }
  for (long t = 0; t < total; t++) {
    lua_newtable(L);
    long rest = t;
    for (int j = s->n_names - 1; j >= 0; j--) {
      lua_rawgeti(L, lists, j + 1);
      long len = (long)lua_rawlen(L, -1);
      lua_rawgeti(L, -1, rest % len + 1);
      lua_setfield(L, -3, s->name[j]);
      lua_pop(L, 1);
      rest /= len;
    }
    lua_rawseti(L, cfgs, t + 1);
  }
  lua_pop(L, 1);
}

/* random = { n =, seed =, space = { a = lunet.uniform(0, 1), b = 3, ... } } */
static void random_configs(sweep *s, int rnd, int cfgs) {
  lua_State *L = s->L;
  static const char *const known[] = {"n", "seed", "space", NULL};
  luaL_argexpected(L, lua_istable(L, rnd), 1, "random = { n =, seed =, space = {...} }");
  lcheck_options(L, rnd, "lunet.sweep random", known);
  lua_getfield(L, rnd, "n");
  lua_Integer n = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
  if (n < 1 || n > (1 << 24)) luaL_error(L, "lunet.sweep: random.n must be a positive integer");
  lua_getfield(L, rnd, "seed");
  if (!lua_isnil(L, -1) && !lua_isinteger(L, -1)) luaL_error(L, "lunet.sweep: random.seed must be an integer");
  lunet_rng rng;
  rng_seed(&rng, (uint64_t)luaL_optinteger(L, -1, 1));
  if (lua_getfield(L, rnd, "space") != LUA_TTABLE)
    luaL_error(L, "lunet.sweep: random.space must be a table like { lr = lunet.loguniform(1e-4, 1e-1) }");
  int space = lua_gettop(L);
  take_names(s, space, "random.space");
  for (int j = 0; j < s->n_names; j++) {
    lua_getfield(L, space, s->name[j]);
    if (!is_dist(L, -1) && !is_scalar(L, -1))
      luaL_error(L, "lunet.sweep: random.space '%s' is a %s; give lunet.uniform(a, b), lunet.loguniform(a, b), "
                    "lunet.choice{...} or a constant", s->name[j], luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  for (lua_Integer t = 1; t <= n; t++) {
    lua_newtable(L);
    for (int j = 0; j < s->n_names; j++) {
      lua_getfield(L, space, s->name[j]);
      draw(L, lua_gettop(L), &rng);
      lua_setfield(L, -3, s->name[j]);
      lua_pop(L, 1);
    }
    lua_rawseti(L, cfgs, t);
  }
  lua_pop(L, 3);
}

/* ---- resuming ------------------------------------------------------------- */

#define MT_TABLE "lunet.sweep_table"

static int table_gc(lua_State *L) {
  csv_table **box = luaL_checkudata(L, 1, MT_TABLE);
  csv_table_free(*box);
  *box = NULL;
  return 0;
}

/* Reads a whole file; the table is owned by a userdata left on the stack,
** so an error raised while it is in use frees it. */
static csv_table *read_table(lua_State *L, const char *path) {
  csv_table **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, MT_TABLE);
  char err[1024];
  if (!(*box = csv_read(path, err, sizeof err))) luaL_error(L, "%s", err);
  return *box;
}

/* Columns of the names and then of the seed in t (an array left on the
** stack); raises when t is not a file of this sweep: in one, the grid keys
** are exactly the columns before `seed`. */
static int *key_columns(sweep *s, const csv_table *t, const char *path, const char *what) {
  lua_State *L = s->L;
  int *col = lua_newuserdatauv(L, sizeof(int) * (size_t)(s->n_names + 1), 0);
  int seed = csv_table_col(t, "seed"), ok = seed == s->n_names;
  for (int j = 0; j < s->n_names; j++) {
    col[j] = csv_table_col(t, s->name[j]);
    ok &= col[j] >= 0 && col[j] < seed;
  }
  col[s->n_names] = seed;
  if (ok) return col;
  strbuf b = {0};
  for (int c = 0; c < (seed >= 0 ? seed : t->ncols); c++) sb_str(&b, c ? ", " : ""), sb_str(&b, t->header[c]);
  sb_push(L, &b);
  for (int j = 0; j < s->n_names; j++) sb_str(&b, j ? ", " : ""), sb_str(&b, s->name[j]);
  sb_push(L, &b);
  luaL_error(L, "lunet.sweep: %s %s %s (%s), but this sweep's keys are (%s): write to another out, or sweep "
                "the same keys", what, path, seed >= 0 ? "holds a sweep over" : "has no seed column; its columns are",
             lua_tostring(L, -2), lua_tostring(L, -1));
  return NULL;
}

/* Declared metrics must be the metric columns of an existing file. */
static void check_metrics(sweep *s) {
  lua_State *L = s->L;
  if (push_state(s, "metrics") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  int n = (int)lua_rawlen(L, -1), have = 0, ok = 1;
  for (int c = 0; c < csvw_ncols(s->out); c++) {
    const char *col = csvw_col(s->out, c);
    if (in_list(s->name, s->n_names, col) || is_reserved(col)) continue;
    have++;
    int found = 0;
    for (int j = 1; j <= n && !found; j++) {
      lua_rawgeti(L, -1, j);
      found = strcmp(lua_tostring(L, -1), col) == 0;
      lua_pop(L, 1);
    }
    ok &= found;
  }
  if (!ok || have != n)
    luaL_error(L, "lunet.sweep: %s has other metric columns than metrics = {...} declares: write to another "
                  "out, or declare the file's metrics", s->out_path);
  lua_pop(L, 1);
}

/* Marks in the table at `seen` the keys of the trials `out` holds. The file
** was opened (and a partial last line cut) before. */
static void recorded_keys(sweep *s, int seen) {
  lua_State *L = s->L;
  if (csvw_ncols(s->out) == 0) return;
  int top = lua_gettop(L);
  csv_table *t = read_table(L, s->out_path);
  int *col = key_columns(s, t, s->out_path, "the results file");
  check_metrics(s);
  for (int r = 0; r < t->nrows; r++) {
    push_row_key(s, t, r, col);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);
  }
  lua_settop(L, top);
}

/* Replaces `path` by its header and the rows with keep[r] set: a new file
** written beside it, synced, then renamed over it. */
static void rewrite_kept(lua_State *L, const char *path, const csv_table *t, const char *keep) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) luaL_error(L, "lunet.sweep: cannot write %s: %s", tmp, strerror(errno));
  csv_write_row(f, (const char *const *)t->header, t->ncols);
  for (int r = 0; r < t->nrows; r++)
    if (keep[r]) csv_write_row(f, (const char *const *)t->cells[r], t->ncols);
  int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    luaL_error(L, "lunet.sweep: cannot rewrite %s: %s", path, strerror(e));
  }
  char dir[1100];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) fsync(dfd), close(dfd); /* the rename itself on disk */
}

/* Removes from the log file the rows of trials `out` does not hold: those
** of a sweep killed after a trial's log rows, before its row. They run
** again, and would otherwise be logged twice. */
static void drop_unfinished_log_rows(sweep *s, int seen) {
  lua_State *L = s->L;
  struct stat st;
  if (stat(s->log_path, &st) != 0 || st.st_size == 0) return;
  char err[1024];
  csvw *w = csvw_open(s->log_path, err, sizeof err); /* cuts a partial last line */
  if (!w) luaL_error(L, "%s", err);
  int has_header = csvw_ncols(w) > 0;
  csvw_close(w);
  if (!has_header) return;
  int top = lua_gettop(L);
  csv_table *t = read_table(L, s->log_path);
  int *col = key_columns(s, t, s->log_path, "the log file");
  char *keep = lua_newuserdatauv(L, (size_t)t->nrows + 1, 0);
  int dropped = 0;
  for (int r = 0; r < t->nrows; r++) {
    push_row_key(s, t, r, col);
    keep[r] = lua_rawget(L, seen) != LUA_TNIL;
    dropped += !keep[r];
    lua_pop(L, 1);
  }
  if (dropped) {
    rewrite_kept(L, s->log_path, t, keep);
    fprintf(stderr, "sweep: removed %d rows of unfinished trials from %s\n", dropped, s->log_path);
  }
  lua_settop(L, top);
}

/* ---- lunet.sweep ------------------------------------------------------------ */

static int opt_integer(lua_State *L, const char *key, lua_Integer def, lua_Integer min, lua_Integer max) {
  lua_getfield(L, 1, key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return (int)def;
  }
  if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < min || lua_tointeger(L, -1) > max)
    luaL_error(L, "lunet.sweep: '%s' must be an integer in %d..%d", key, (int)min, (int)max);
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return (int)v;
}

static void read_seeds(sweep *s) {
  lua_State *L = s->L;
  if (lua_getfield(L, 1, "seeds") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_createtable(L, 1, 0);
    lua_pushinteger(L, 1);
    lua_rawseti(L, -2, 1);
  }
  if (!lua_istable(L, -1) || lua_rawlen(L, -1) == 0) luaL_error(L, "lunet.sweep: seeds must be a list like {1, 2, 3}");
  s->n_seeds = (int)lua_rawlen(L, -1);
  if (!(s->seeds = malloc(sizeof(lua_Integer) * (size_t)s->n_seeds))) luaL_error(L, "lunet.sweep: out of memory");
  for (int k = 0; k < s->n_seeds; k++) {
    lua_rawgeti(L, -1, k + 1);
    if (!lua_isinteger(L, -1)) luaL_error(L, "lunet.sweep: seeds[%d] is not an integer", k + 1);
    s->seeds[k] = lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* metrics = { "test_error", ... }: the metric columns, in this order. */
static void read_metrics(sweep *s) {
  lua_State *L = s->L;
  if (lua_getfield(L, 1, "metrics") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  if (!lua_istable(L, -1)) luaL_error(L, "lunet.sweep: metrics must be a list of names like {\"test_error\"}");
  int n = (int)lua_rawlen(L, -1);
  for (int j = 1; j <= n; j++) {
    lua_rawgeti(L, -1, j);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "lunet.sweep: metrics[%d] is not a name", j);
    const char *m = lua_tostring(L, -1);
    if (is_reserved(m) || in_list(s->name, s->n_names, m))
      luaL_error(L, "lunet.sweep: metric '%s' is also a grid key or a column every row has", m);
    lua_pop(L, 1);
  }
  set_state(s, "metrics");
}

/* Reads the configurations into state.cfgs; returns their number. */
static int make_configs(sweep *s) {
  lua_State *L = s->L;
  lua_newtable(L);
  int cfgs = lua_gettop(L);
  int has_grid = lua_getfield(L, 1, "grid") != LUA_TNIL, has_random = lua_getfield(L, 1, "random") != LUA_TNIL;
  if (has_grid && has_random) luaL_error(L, "lunet.sweep: give grid or random, not both");
  if (has_grid) {
    luaL_argexpected(L, lua_istable(L, cfgs + 1), 1, "grid = { name = {values...}, ... }");
    grid_configs(s, cfgs + 1, cfgs);
  } else if (has_random) {
    random_configs(s, cfgs + 2, cfgs);
  } else { /* only seeds */
    if (!(s->name = malloc(sizeof(char *)))) luaL_error(L, "lunet.sweep: out of memory");
    lua_newtable(L);
    lua_rawseti(L, cfgs, 1);
  }
  lua_settop(L, cfgs);
  int n = (int)lua_rawlen(L, cfgs);
  set_state(s, "cfgs");
  return n;
}

/* Fills pending[] with the trials to run: those whose key is neither in
** `seen` (true: recorded) nor met before (a duplicate). */
static int pending_trials(sweep *s, int seen, int total, int *pending, int *skipped, int *duplicates) {
  lua_State *L = s->L;
  int np = 0;
  for (int i = 0; i < total; i++) {
    push_key(s, i);
    lua_pushvalue(L, -1);
    int t = lua_rawget(L, seen);
    if (t == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushinteger(L, 2); /* queued */
      lua_rawset(L, seen);
      pending[np++] = i;
      continue;
    }
    lua_pop(L, 1);
    if (t == LUA_TBOOLEAN) { /* recorded: skipped once, later ones are duplicates */
      ++*skipped;
      lua_pushinteger(L, 3);
      lua_rawset(L, seen);
    } else {
      ++*duplicates;
      lua_pop(L, 1);
    }
  }
  return np;
}

static void set_log_path(sweep *s) {
  lua_State *L = s->L;
  size_t n = strlen(s->out_path);
  if (lua_getfield(L, 1, "log_out") != LUA_TNIL) {
    if (!lua_isstring(L, -1)) luaL_error(L, "lunet.sweep: 'log_out' must be the path of a CSV file");
    snprintf(s->log_path, sizeof s->log_path, "%s", lua_tostring(L, -1));
  } else if (n > 4 && strcmp(s->out_path + n - 4, ".csv") == 0) {
    snprintf(s->log_path, sizeof s->log_path, "%.*s_log.csv", (int)(n - 4), s->out_path);
  } else {
    snprintf(s->log_path, sizeof s->log_path, "%s_log.csv", s->out_path);
  }
  lua_pop(L, 1);
  if (strcmp(s->log_path, s->out_path) == 0) luaL_error(L, "lunet.sweep: log_out must differ from out");
}

/* The end of the sweep on the parent's side: rows still waiting for a
** header (every trial failed) get one without metrics. */
static void finish_rows(sweep *s) {
  lua_State *L = s->L;
  push_state(s, "waiting");
  if (lua_rawlen(L, -1) > 0 && csvw_ncols(s->out) == 0) {
    lua_rawgeti(L, -1, 1);
    set_header(s, s->out, lua_gettop(L), 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  write_waiting(s);
}

static int l_sweep(lua_State *L) {
  static const char *const known[] = {"grid", "random", "seeds", "workers", "threads", "out", "log_out", "run",
                                      "on_failure", "metric", "metrics", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lcheck_options(L, 1, "lunet.sweep", known);
  sweep *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->ref = LUA_NOREF;
  luaL_setmetatable(L, MT_SWEEP);
  s->L = L;
  lua_newtable(L);
  s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  set_state(s, "waiting");
  lua_newtable(L);
  set_state(s, "warned");

  if (lua_getfield(L, 1, "run") != LUA_TFUNCTION)
    return luaL_error(L, "lunet.sweep: 'run' must be a function(cfg, trial)");
  set_state(s, "run");
  if (lua_getfield(L, 1, "out") != LUA_TSTRING || !*lua_tostring(L, -1))
    return luaL_error(L, "lunet.sweep: 'out' must be the path of a CSV file");
  s->out_path = lua_tostring(L, -1); /* stays on the stack */
  set_log_path(s);
  int workers = opt_integer(L, "workers", 1, 1, 1024);
  int threads = opt_integer(L, "threads", 1, 1, 1024);
  lua_getfield(L, 1, "on_failure");
  const char *onf = luaL_optstring(L, -1, "continue");
  if (strcmp(onf, "continue") && strcmp(onf, "stop"))
    return luaL_error(L, "lunet.sweep: on_failure must be \"continue\" or \"stop\", got \"%s\"", onf);
  s->stop_on_failure = strcmp(onf, "stop") == 0;
  lua_getfield(L, 1, "metric");
  snprintf(s->metric, sizeof s->metric, "%s", luaL_optstring(L, -1, "test_error"));
  lua_pop(L, 2);
  read_seeds(s);
  int total = make_configs(s) * s->n_seeds;
  read_metrics(s);

  char err[1024];
  if (!(s->out = csvw_open(s->out_path, err, sizeof err))) return luaL_error(L, "%s", err);
  if (csvw_dropped(s->out))
    fprintf(stderr, "sweep: cut a partial last line (%zu bytes) from %s\n", csvw_dropped(s->out), s->out_path);
  lua_newtable(L);
  int seen = lua_gettop(L);
  recorded_keys(s, seen);
  drop_unfinished_log_rows(s, seen);
  int *pending = lua_newuserdatauv(L, sizeof(int) * (size_t)(total + 1), 0), skipped = 0, dups = 0;
  int np = pending_trials(s, seen, total, pending, &skipped, &dups);
  if (csvw_ncols(s->out) == 0) { /* a new file: declared metrics fix its header now */
    int declared = push_state(s, "metrics") == LUA_TTABLE;
    lua_pop(L, 1);
    if (declared) set_header(s, s->out, 0, 1);
  }

  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu > 0 && (long)workers * threads > ncpu)
    fprintf(stderr, "sweep: warning: %d workers x %d threads on %ld cores: the trials will compete for them\n",
            workers, threads, ncpu);
  s->prog.tty = isatty(2);
  s->prog.total = np;
  s->prog.t0 = now_seconds();
  fprintf(stderr, "sweep: %d trials (%d configurations x %d seeds); %d already in %s; running %d with %d worker%s",
          total - dups, total / s->n_seeds, s->n_seeds, skipped, s->out_path, np, workers, workers > 1 ? "s" : "");
  if (dups) fprintf(stderr, " (%d duplicate configurations run once)", dups);
  fputc('\n', stderr);
  sweep_pool pool = {s, child_run, parent_done, s->prog.tty ? tick : NULL, threads};
  int rc = sweep_run(&pool, pending, np, workers);
  if (np) sweep_progress_end(&s->prog);
  if (!s->error[0]) finish_rows(s);
  close_files(s);
  if (s->error[0]) return luaL_error(L, "%s", s->error);
  if (rc) return lerror_services(L);

  lua_createtable(L, 0, 6);
  lua_pushinteger(L, total - dups);
  lua_setfield(L, -2, "total");
  lua_pushinteger(L, skipped);
  lua_setfield(L, -2, "skipped");
  lua_pushinteger(L, dups);
  lua_setfield(L, -2, "duplicates");
  lua_pushinteger(L, s->prog.done);
  lua_setfield(L, -2, "done");
  lua_pushinteger(L, s->prog.failed);
  lua_setfield(L, -2, "failed");
  lua_pushboolean(L, s->stopped);
  lua_setfield(L, -2, "stopped");
  return 1;
}

void lsweep_register(lua_State *L) {
  static const luaL_Reg fns[] = {{"sweep", l_sweep}, {"uniform", l_uniform}, {"loguniform", l_loguniform},
                                 {"choice", l_choice}, {NULL, NULL}};
  luaL_newmetatable(L, MT_DIST);
  lua_pop(L, 1);
  luaL_newmetatable(L, MT_SWEEP);
  lua_pushcfunction(L, sweep_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, MT_TABLE);
  lua_pushcfunction(L, table_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
