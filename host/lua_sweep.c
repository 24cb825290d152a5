/*
** lua_sweep.c -- lunet.sweep: many trials of an experiment, in parallel,
** crash-isolated and resumable, each finished trial one row of a CSV file.
**
**   lunet.sweep{ grid = { width = {8, 16} }, seeds = {1, 2}, workers = 2,
**                out = "results/s.csv", run = function(cfg, trial) ... end }
**
** Trials are the configurations (the cartesian product of `grid`, keys in
** sorted order, or `random.n` draws from `random.space`) times the seeds.
** A trial's key is the canonical text of its values and seed; a rerun reads
** `out`, skips every key already there and runs the rest, so a killed sweep
** resumes losing only the trials that were in flight.
**
** Each trial runs `run(cfg, trial)` in a worker process (sweep.c). The
** child sends its report through a pipe as lines of tab-separated, percent-
** escaped fields: "M name value" a metric, "L" then "F name value" a row of
** trial:log{...}, "E message" a Lua error, "T seconds", "P plugins". The
** parent turns it into the trial's row (status ok, diverged, error or
** crashed), appends it with one write(2) and fsyncs, then the log rows.
** Columns are fixed by the first row the file gets (or `metrics = {...}`).
*/
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* A growable string for the report (a luaL_Buffer would forbid the stack
** work that walking tables needs). */
typedef struct strbuf {
  char *p;
  size_t len, cap;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_escaped(strbuf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '%' || *s == '\t' || *s == '\n' || *s == '\r') {
      char e[4];
      snprintf(e, sizeof e, "%%%02X", (unsigned char)*s);
      sb_str(b, e);
    } else {
      sb_add(b, s, 1);
    }
  }
}


/* ---- distributions for random search ------------------------------------ */

static int make_dist(lua_State *L, const char *kind) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  if (!(a < b)) return luaL_error(L, "lunet.%s(a, b): expected a < b, got %f and %f", kind, a, b);
  if (strcmp(kind, "loguniform") == 0 && a <= 0) return luaL_error(L, "lunet.loguniform(a, b): expected a > 0");
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

static int l_choice(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_rawlen(L, 1) == 0) return luaL_error(L, "lunet.choice{...}: give at least one value");
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "choice");
  lua_setfield(L, -2, "kind");
  lua_pushvalue(L, 1);
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
** is a constant. */
static void draw(lua_State *L, int idx, lunet_rng *rng) {
  if (!is_dist(L, idx)) {
    lua_pushvalue(L, idx);
    return;
  }
  lua_getfield(L, idx, "kind");
  const char *kind = lua_tostring(L, -1);
  lua_pop(L, 1); /* the string stays alive in the table */
  double u = rng_uniform(rng);
  if (strcmp(kind, "choice") == 0) {
    lua_getfield(L, idx, "values");
    lua_rawgeti(L, -1, 1 + (lua_Integer)(u * (double)lua_rawlen(L, -1)));
    lua_remove(L, -2);
    return;
  }
  lua_getfield(L, idx, "a");
  lua_getfield(L, idx, "b");
  double a = lua_tonumber(L, -2), b = lua_tonumber(L, -1);
  lua_pop(L, 2);
  lua_pushnumber(L, strcmp(kind, "loguniform") == 0 ? exp(log(a) + (log(b) - log(a)) * u) : a + (b - a) * u);
}

/* ---- the sweep's state ---------------------------------------------------- */

typedef struct sweep {
  lua_State *L;
  int run, cfgs, names; /* stack indices: run(), the configurations, their sorted keys */
  int n_names, n_seeds;
  lua_Integer *seeds;
  csvw *out, *log;
  char log_path[1024];
  const char *metric;   /* shown in progress; NULL: test_error */
  int stop_on_failure, tty, total, done, failed;
  double t0;
  int warned;
} sweep;

/* Canonical text of the value on top of the stack. */
static const char *canon(lua_State *L, char buf[32]) {
  if (lua_isinteger(L, -1)) {
    snprintf(buf, 32, "%lld", (long long)lua_tointeger(L, -1));
    return buf;
  }
  if (lua_type(L, -1) == LUA_TNUMBER) return csv_format_number(lua_tonumber(L, -1), buf);
  if (lua_isboolean(L, -1)) return lua_toboolean(L, -1) ? "true" : "false";
  return lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
}

/* The same canonical text for a cell read back from the file. */
static const char *canon_cell(const char *cell, char buf[32]) {
  double v;
  if (*cell && csv_cell_number(cell, &v)) {
    if (v == floor(v) && fabs(v) < 9e15) snprintf(buf, 32, "%lld", (long long)v);
    else csv_format_number(v, buf);
    return buf;
  }
  return cell;
}

static const char *name_at(sweep *s, int j) {
  lua_rawgeti(s->L, s->names, j + 1);
  const char *n = lua_tostring(s->L, -1);
  lua_pop(s->L, 1); /* the string stays alive in the names table */
  return n;
}

/* Pushes the key of trial i: "name=value,...,seed=s". */
static void push_key(sweep *s, int i) {
  lua_State *L = s->L;
  strbuf b = {0};
  char buf[32];
  lua_rawgeti(L, s->cfgs, i / s->n_seeds + 1);
  for (int j = 0; j < s->n_names; j++) {
    const char *n = name_at(s, j);
    lua_getfield(L, -1, n);
    sb_str(&b, n);
    sb_str(&b, "=");
    sb_str(&b, canon(L, buf));
    sb_str(&b, ",");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  snprintf(buf, sizeof buf, "seed=%lld", (long long)s->seeds[i % s->n_seeds]);
  sb_str(&b, buf);
  lua_pushlstring(L, b.p, b.len);
  free(b.p);
}

/* ---- the child's side ------------------------------------------------------ */

/* "<tag>\t<name>\t<type><value>\n" for each scalar field of the table at idx. */
static void put_fields(lua_State *L, strbuf *b, int idx, const char *tag) {
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    int t = lua_type(L, -1);
    if (lua_type(L, -2) != LUA_TSTRING || (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)) continue;
    char buf[32], type[2] = {t == LUA_TNUMBER ? 'n' : t == LUA_TBOOLEAN ? 'b' : 's', 0};
    sb_str(b, tag);
    sb_str(b, "\t");
    sb_escaped(b, lua_tostring(L, -2));
    sb_str(b, "\t");
    sb_str(b, type);
    sb_escaped(b, canon(L, buf));
    sb_str(b, "\n");
  }
}

static void copy_fields(lua_State *L, int src, int dst) {
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

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

/* In the worker: run(cfg, trial), then the report to fd. */
static int child_run(void *ud, int i, int fd) {
  sweep *s = ud;
  lua_State *L = s->L;
  lua_newtable(L); /* the log rows */
  int rows = lua_gettop(L);
  lua_pushvalue(L, s->run);
  lua_newtable(L); /* cfg: a copy, plus the seed */
  lua_rawgeti(L, s->cfgs, i / s->n_seeds + 1);
  copy_fields(L, lua_gettop(L), lua_gettop(L) - 1);
  lua_pop(L, 1);
  lua_pushinteger(L, s->seeds[i % s->n_seeds]);
  lua_setfield(L, -2, "seed");
  lua_createtable(L, 0, 2); /* trial */
  lua_pushvalue(L, rows);
  lua_pushcclosure(L, trial_log, 1);
  lua_setfield(L, -2, "log");
  lua_pushinteger(L, i + 1);
  lua_setfield(L, -2, "index");
  double t0 = now_seconds();
  int st = lua_pcall(L, 2, 1, 0);
  int result = lua_gettop(L);
  strbuf b = {0};
  char line[64];
  snprintf(line, sizeof line, "T\t%.6f\n", now_seconds() - t0);
  sb_str(&b, line);
  if (st != LUA_OK) {
    sb_str(&b, "E\t");
    sb_escaped(&b, lua_tostring(L, result) ? lua_tostring(L, result) : "(error object is not a string)");
    sb_str(&b, "\n");
  } else if (lua_istable(L, result)) {
    put_fields(L, &b, result, "M");
  }
  for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, rows); r++) {
    sb_str(&b, "L\n");
    lua_rawgeti(L, rows, r);
    put_fields(L, &b, lua_gettop(L), "F");
    lua_pop(L, 1);
  }
  char plugins[4096];
  registry_used(plugins, sizeof plugins);
  sb_str(&b, "P\t");
  sb_escaped(&b, plugins);
  sb_str(&b, "\n");
  int rc = write_all(fd, b.p, b.len) ? 1 : 0;
  free(b.p);
  return rc;
}

/* ---- the parent's side ------------------------------------------------------ */

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

/* Pushes { seconds =, error =, plugins =, metrics = {}, logs = {{}, ...} }. */
static void push_report(lua_State *L, const char *out, size_t len) {
  char *text = malloc(len + 1), *save = NULL;
  memcpy(text, out, len);
  text[len] = '\0';
  lua_createtable(L, 0, 5);
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
    } else if (strcmp(f[0], "L") == 0) {
      lua_getfield(L, rep, "logs");
      lua_newtable(L);
      lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      lua_pop(L, 1);
    } else if ((strcmp(f[0], "M") == 0 || strcmp(f[0], "F") == 0) && f[1] && f[2]) {
      lua_getfield(L, rep, f[0][0] == 'M' ? "metrics" : "logs");
      if (f[0][0] == 'F') lua_rawgeti(L, -1, (lua_Integer)lua_rawlen(L, -1));
      push_typed(L, f[2]);
      lua_setfield(L, -2, f[1]);
      lua_pop(L, f[0][0] == 'F' ? 2 : 1);
    }
  }
  free(text);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Appends the row table at `row` to w. Without a header yet, the header is
** `first` then the row's other keys in sorted order. Keys the header lacks
** are dropped with one warning. */
static int write_row(sweep *s, csvw *w, const char *path, int row, const char *const *first, int nfirst) {
  lua_State *L = s->L;
  char err[1024];
  if (csvw_ncols(w) == 0) {
    int n = 0;
    for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) n++;
    const char **cols = malloc(sizeof(char *) * (size_t)(n + nfirst + 1));
    int k = 0, extra = nfirst;
    for (int j = 0; j < nfirst; j++) cols[k++] = first[j];
    for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) {
      const char *key = lua_tostring(L, -2);
      int dup = 0;
      for (int j = 0; j < nfirst; j++) dup |= strcmp(first[j], key) == 0;
      if (!dup) cols[k++] = key;
    }
    qsort(cols + extra, (size_t)(k - extra), sizeof *cols, cmp_str);
    int rc = csvw_set_header(w, cols, k, err, sizeof err);
    free(cols);
    if (rc) return luaL_error(L, "%s", err);
  }
  int n = csvw_ncols(w);
  const char **cols = malloc(sizeof(char *) * (size_t)n), **cells = malloc(sizeof(char *) * (size_t)n);
  char(*bufs)[32] = malloc(32 * (size_t)n);
  for (int j = 0; j < n; j++) {
    cols[j] = csvw_col(w, j);
    lua_getfield(L, row, cols[j]);
    cells[j] = lua_isnil(L, -1) ? NULL : canon(L, bufs[j]);
    lua_pop(L, 1); /* strings stay alive in the row table */
  }
  for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) {
    int known = 0;
    for (int j = 0; j < n && !known; j++) known = strcmp(cols[j], lua_tostring(L, -2)) == 0;
    if (!known && !s->warned) {
      fprintf(stderr, "sweep: warning: '%s' is not a column of %s (columns are fixed by its first row; "
                      "declare them with metrics = {...}); dropped\n", lua_tostring(L, -2), path);
      s->warned = 1;
    }
  }
  int rc = csvw_write(w, cols, cells, n, err, sizeof err);
  if (rc == 0) csvw_sync(w);
  free(cols), free(cells), free(bufs);
  if (rc) return luaL_error(L, "%s", err);
  return 0;
}

static void describe_status(int wstatus, lua_State *L, int rep, const char **status, char *msg, size_t sz) {
  *status = "ok";
  msg[0] = '\0';
  lua_getfield(L, rep, "error");
  lua_getfield(L, rep, "metrics");
  lua_getfield(L, -1, "status");
  if (WIFSIGNALED(wstatus)) {
    *status = "crashed";
    snprintf(msg, sz, "killed by signal %d (%s)", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
  } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) {
    *status = "crashed";
    snprintf(msg, sz, "the worker exited with status %d", WEXITSTATUS(wstatus));
  } else if (lua_isstring(L, -3)) {
    *status = "error";
    snprintf(msg, sz, "%s", lua_tostring(L, -3));
  } else if (lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "diverged") == 0) {
    *status = "diverged";
    lua_getfield(L, -2, "message");
    snprintf(msg, sz, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "training diverged");
    lua_pop(L, 1);
  }
  lua_pop(L, 3);
}

static void format_duration(double t, char *buf, size_t sz) {
  if (t < 60) snprintf(buf, sz, "%.0fs", t);
  else if (t < 3600) snprintf(buf, sz, "%dm%02ds", (int)t / 60, (int)t % 60);
  else snprintf(buf, sz, "%dh%02dm", (int)t / 3600, (int)t % 3600 / 60);
}

static void progress(sweep *s, const char *key, const char *status, int rep) {
  lua_State *L = s->L;
  char el[32], eta[32], last[128] = "";
  double t = now_seconds() - s->t0;
  format_duration(t, el, sizeof el);
  format_duration(t / s->done * (s->total - s->done), eta, sizeof eta);
  const char *metric = s->metric ? s->metric : "test_error";
  lua_getfield(L, rep, "metrics");
  if (lua_getfield(L, -1, metric) == LUA_TNUMBER)
    snprintf(last, sizeof last, "  %s=%.4g", metric, lua_tonumber(L, -1));
  lua_pop(L, 2);
  if (s->tty)
    fprintf(stderr, "\r\033[K[%d/%d] %d failed  %s elapsed  ETA %s%s", s->done, s->total, s->failed, el,
            eta, last);
  else
    fprintf(stderr, "[%d/%d] %s %s%s  (%s elapsed, ETA %s)\n", s->done, s->total, key, status, last, el, eta);
  fflush(stderr);
}

/* In the parent: a trial ended; writes its row and log rows. */
static int parent_done(void *ud, int i, int wstatus, const char *out, size_t len) {
  sweep *s = ud;
  lua_State *L = s->L;
  int top = lua_gettop(L);
  push_report(L, out, len);
  int rep = lua_gettop(L);
  const char *status;
  char msg[2048];
  describe_status(wstatus, L, rep, &status, msg, sizeof msg);
  push_key(s, i);
  const char *key = lua_tostring(L, -1);
  lua_newtable(L); /* the row */
  int row = lua_gettop(L);
  lua_getfield(L, rep, "metrics");
  copy_fields(L, lua_gettop(L), row);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, row, "message"); /* a trial's own status/message keys */
  lua_rawgeti(L, s->cfgs, i / s->n_seeds + 1);
  copy_fields(L, lua_gettop(L), row);
  lua_pop(L, 1);
  lua_pushinteger(L, s->seeds[i % s->n_seeds]);
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

  /* header: grid names, seed, status, message, seconds, metrics, provenance */
  const char *first[64];
  int nfirst = 0;
  for (int j = 0; j < s->n_names && nfirst < 48; j++) first[nfirst++] = name_at(s, j);
  first[nfirst++] = "seed", first[nfirst++] = "status", first[nfirst++] = "message", first[nfirst++] = "seconds";
  write_row(s, s->out, "the results file", row, first, nfirst);

  lua_getfield(L, rep, "logs");
  int logs = lua_gettop(L);
  for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, logs); r++) {
    char err[1024];
    if (!s->log && !(s->log = csvw_open(s->log_path, err, sizeof err))) return luaL_error(L, "%s", err);
    lua_rawgeti(L, logs, r);
    int lrow = lua_gettop(L);
    lua_rawgeti(L, s->cfgs, i / s->n_seeds + 1);
    copy_fields(L, lua_gettop(L), lrow);
    lua_pop(L, 1);
    lua_pushinteger(L, s->seeds[i % s->n_seeds]);
    lua_setfield(L, lrow, "seed");
    write_row(s, s->log, s->log_path, lrow, first, s->n_names + 1);
    lua_pop(L, 1);
  }
  s->done++;
  int failed = strcmp(status, "ok") != 0;
  s->failed += failed;
  if (failed) fprintf(stderr, "%ssweep: trial %s %s: %s\n", s->tty ? "\r\033[K" : "", key, status, msg);
  progress(s, key, status, rep);
  lua_settop(L, top);
  return failed && s->stop_on_failure;
}

/* ---- lunet.sweep ------------------------------------------------------------ */

/* Sorted string keys of the table at idx into the names table. */
static void sorted_keys(sweep *s, int idx, const char *what) {
  lua_State *L = s->L;
  int n = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "lunet.sweep: %s keys must be names", what);
    lua_pushvalue(L, -2);
    lua_rawseti(L, s->names, ++n);
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, s->names);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  s->n_names = n;
}

/* grid = { a = {1, 2}, b = {"x"} }: the cartesian product, last key fastest. */
static void grid_configs(sweep *s, int grid) {
  lua_State *L = s->L;
  sorted_keys(s, grid, "grid");
  long total = 1;
  for (int j = 0; j < s->n_names; j++) {
    lua_getfield(L, grid, name_at(s, j));
    if (!lua_istable(L, -1)) { /* a single value */
      lua_createtable(L, 1, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
      lua_pushvalue(L, -1);
      lua_setfield(L, grid, name_at(s, j));
    }
    long len = (long)lua_rawlen(L, -1);
    if (len == 0) luaL_error(L, "lunet.sweep: grid value '%s' is an empty list", name_at(s, j));
    total *= len;
    lua_pop(L, 1);
  }
  for (long t = 0; t < total; t++) {
    lua_newtable(L);
    long rest = t;
    for (int j = s->n_names - 1; j >= 0; j--) {
      lua_getfield(L, grid, name_at(s, j));
      long len = (long)lua_rawlen(L, -1);
      lua_rawgeti(L, -1, rest % len + 1);
      lua_setfield(L, -3, name_at(s, j));
      lua_pop(L, 1);
      rest /= len;
    }
    lua_rawseti(L, s->cfgs, t + 1);
  }
}

/* random = { n =, seed =, space = { a = lunet.uniform(0, 1), ... } } */
static void random_configs(sweep *s, int rnd) {
  lua_State *L = s->L;
  lua_getfield(L, rnd, "n");
  lua_Integer n = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
  if (n < 1) luaL_error(L, "lunet.sweep: random.n must be a positive integer");
  lua_getfield(L, rnd, "seed");
  lunet_rng rng;
  rng_seed(&rng, (uint64_t)luaL_optinteger(L, -1, 1));
  if (lua_getfield(L, rnd, "space") != LUA_TTABLE) luaL_error(L, "lunet.sweep: random.space must be a table");
  int space = lua_gettop(L);
  sorted_keys(s, space, "random.space");
  for (lua_Integer t = 1; t <= n; t++) {
    lua_newtable(L);
    for (int j = 0; j < s->n_names; j++) {
      lua_getfield(L, space, name_at(s, j));
      draw(L, lua_gettop(L), &rng);
      lua_setfield(L, -3, name_at(s, j));
      lua_pop(L, 1);
    }
    lua_rawseti(L, s->cfgs, t);
  }
  lua_pop(L, 3);
}

/* Marks in the table on top of the stack the keys of the trials `path`
** already holds. */
static void recorded_keys(sweep *s, const char *path) {
  lua_State *L = s->L;
  struct stat st;
  if (stat(path, &st) != 0 || st.st_size == 0) return;
  char err[1024];
  csv_table *t = csv_read(path, err, sizeof err);
  if (!t) luaL_error(L, "%s", err);
  int *col = malloc(sizeof(int) * (size_t)(s->n_names + 1));
  for (int j = 0; j <= s->n_names; j++) {
    const char *n = j < s->n_names ? name_at(s, j) : "seed";
    if ((col[j] = csv_table_col(t, n)) < 0) {
      free(col);
      csv_table_free(t);
      luaL_error(L, "lunet.sweep: %s has no column '%s': it holds another sweep; choose another out", path, n);
    }
  }
  for (int r = 0; r < t->nrows; r++) {
    strbuf b = {0};
    char buf[32];
    for (int j = 0; j <= s->n_names; j++) {
      sb_str(&b, j < s->n_names ? name_at(s, j) : "seed");
      sb_str(&b, "=");
      sb_str(&b, canon_cell(t->cells[r][col[j]], buf));
      if (j < s->n_names) sb_str(&b, ",");
    }
    lua_pushlstring(L, b.p, b.len);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    free(b.p);
  }
  free(col);
  csv_table_free(t);
}

static int l_sweep(lua_State *L) {
  static const char *const known[] = {"grid", "random", "seeds", "workers", "out", "log_out", "run",
                                      "on_failure", "metric", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lcheck_options(L, 1, "lunet.sweep", known);
  sweep s = {0};
  s.L = L;
  if (lua_getfield(L, 1, "run") != LUA_TFUNCTION) return luaL_error(L, "lunet.sweep: 'run' must be a function(cfg, trial)");
  s.run = lua_gettop(L);
  if (lua_getfield(L, 1, "out") != LUA_TSTRING) return luaL_error(L, "lunet.sweep: 'out' must be the path of a CSV file");
  const char *out = lua_tostring(L, -1);
  lua_getfield(L, 1, "workers");
  lua_Integer workers = luaL_optinteger(L, -1, 1);
  if (workers < 1 || workers > 1024) return luaL_error(L, "lunet.sweep: workers must be in 1..1024");
  lua_getfield(L, 1, "on_failure");
  const char *onf = luaL_optstring(L, -1, "continue");
  if (strcmp(onf, "continue") && strcmp(onf, "stop"))
    return luaL_error(L, "lunet.sweep: on_failure must be \"continue\" or \"stop\", got \"%s\"", onf);
  s.stop_on_failure = strcmp(onf, "stop") == 0;
  lua_getfield(L, 1, "metric");
  s.metric = lua_tostring(L, -1);
  lua_getfield(L, 1, "log_out");
  size_t olen = strlen(out);
  if (lua_isstring(L, -1)) snprintf(s.log_path, sizeof s.log_path, "%s", lua_tostring(L, -1));
  else if (olen > 4 && strcmp(out + olen - 4, ".csv") == 0) snprintf(s.log_path, sizeof s.log_path, "%.*s_log.csv", (int)(olen - 4), out);
  else snprintf(s.log_path, sizeof s.log_path, "%s_log.csv", out);

  lua_getfield(L, 1, "seeds");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, 1, 0);
    lua_pushinteger(L, 1);
    lua_rawseti(L, -2, 1);
  }
  luaL_argexpected(L, lua_istable(L, -1) && lua_rawlen(L, -1) > 0, 1, "seeds = { 1, 2, ... }");
  s.n_seeds = (int)lua_rawlen(L, -1);
  s.seeds = lua_newuserdatauv(L, sizeof(lua_Integer) * (size_t)s.n_seeds, 0);
  for (int k = 0; k < s.n_seeds; k++) {
    lua_rawgeti(L, -2, k + 1);
    if (!lua_isinteger(L, -1)) return luaL_error(L, "lunet.sweep: seeds[%d] is not an integer", k + 1);
    s.seeds[k] = lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  lua_newtable(L);
  s.names = lua_gettop(L);
  lua_newtable(L);
  s.cfgs = lua_gettop(L);
  int has_grid = lua_getfield(L, 1, "grid") != LUA_TNIL, has_random = lua_getfield(L, 1, "random") != LUA_TNIL;
  if (has_grid && has_random) return luaL_error(L, "lunet.sweep: give grid or random, not both");
  if (has_grid) grid_configs(&s, lua_gettop(L) - 1);
  else if (has_random) random_configs(&s, lua_gettop(L));
  else {
    lua_newtable(L);
    lua_rawseti(L, s.cfgs, 1);
  }
  lua_pop(L, 2);

  int total = (int)lua_rawlen(L, s.cfgs) * s.n_seeds;
  lua_newtable(L);
  recorded_keys(&s, out);
  int *pending = lua_newuserdatauv(L, sizeof(int) * (size_t)(total + 1), 0), np = 0;
  for (int i = 0; i < total; i++) {
    push_key(&s, i);
    if (lua_rawget(L, -3) == LUA_TNIL) pending[np++] = i;
    lua_pop(L, 1);
  }
  char err[1024];
  if (!(s.out = csvw_open(out, err, sizeof err))) return luaL_error(L, "%s", err);
  s.tty = isatty(2);
  s.total = np;
  s.t0 = now_seconds();
  fprintf(stderr, "sweep: %d trials (%d configurations x %d seeds); %d already in %s; running %d with %d worker%s\n",
          total, total / s.n_seeds, s.n_seeds, total - np, out, np, (int)workers, workers > 1 ? "s" : "");
  sweep_pool pool = {&s, child_run, parent_done};
  int rc = sweep_run(&pool, pending, np, (int)workers);
  if (s.tty && s.done) fputc('\n', stderr);
  csvw_close(s.out);
  if (s.log) csvw_close(s.log);
  if (rc) return lerror_services(L);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, total);
  lua_setfield(L, -2, "total");
  lua_pushinteger(L, total - np);
  lua_setfield(L, -2, "skipped");
  lua_pushinteger(L, s.done);
  lua_setfield(L, -2, "done");
  lua_pushinteger(L, s.failed);
  lua_setfield(L, -2, "failed");
  return 1;
}

void lsweep_register(lua_State *L) {
  static const luaL_Reg fns[] = {{"sweep", l_sweep}, {"uniform", l_uniform}, {"loguniform", l_loguniform},
                                 {"choice", l_choice}, {NULL, NULL}};
  luaL_newmetatable(L, MT_DIST);
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
