/*
** lua_sweep.c -- lunet.sweep: many trials of an experiment, in parallel,
** crash-isolated and resumable, each finished trial one row of a CSV file.
**
**   lunet.sweep{ grid = { width = {8, 16} }, seeds = {1, 2}, workers = 2,
**                out = "results/s.csv", run = function(cfg, trial) ... end }
**
** Trials. Each configuration (lua_configs.c: grid or random search) runs
** once per seed; a trial is known by its key (lua_keys.c), and trials
** with the same key run once.
**
** Workers. Each trial runs `run(cfg, trial)` in a process of its own
** (workers.c), with `threads` BLAS threads (default 1, whatever `workers` is:
** OpenBLAS's sums depend on its thread count, so this is what makes serial
** and parallel sweeps give the same rows). The child sends a report
** (lua_report.c); the parent writes the trial's rows (lua_rows.c) as
** each one finishes. `timeout` and `memory` limit each trial (workers.c).
**
** Launchers. Local workers by default; launcher = "slurm" runs the trials
** as the tasks of one Slurm job array instead (lua_slurm.c), with the same
** reports and rows.
**
** This file holds lunet.sweep itself: its options, the state shared by the
** sweep files (lua_sweep.h), and the parent's side of the process pool.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep/lua_sweep.h"
#include "base/clock.h"

#define MT_SWEEP "lunet.sweep_state"

/* ---- the sweep's state ---------------------------------------------------- */

static void close_files(sweep *s) {
  if (s->out) csvw_close(s->out);
  if (s->log) csvw_close(s->log);
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the lock */
  s->out = s->log = NULL;
  s->lock_fd = -1;
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

int lsweep_push_state(sweep *s, const char *key) {
  lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ref);
  int t = lua_getfield(s->L, -1, key);
  lua_remove(s->L, -2);
  return t;
}

void lsweep_set_state(sweep *s, const char *key) {
  lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ref);
  lua_insert(s->L, -2);
  lua_setfield(s->L, -2, key);
  lua_pop(s->L, 1);
}

void lsweep_push_cfg(sweep *s, int trial) {
  lsweep_push_state(s, "cfgs");
  lua_rawgeti(s->L, -1, trial / s->n_seeds + 1);
  lua_remove(s->L, -2);
}

lua_Integer lsweep_seed(const sweep *s, int trial) { return s->seeds[trial % s->n_seeds]; }

/* ---- helpers the sweep files share ------------------------------------------ */

int lsweep_is_scalar(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  return t == LUA_TNUMBER || t == LUA_TSTRING || t == LUA_TBOOLEAN;
}

int lsweep_in_list(const char *const *v, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0) return 1;
  return 0;
}

void lsweep_copy_fields(lua_State *L, int src, int dst) {
  src = lua_absindex(L, src), dst = lua_absindex(L, dst);
  for (lua_pushnil(L); lua_next(L, src); lua_pop(L, 1)) {
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, dst);
  }
}

/* ---- the parent's side of the pool ---------------------------------------------- */

/* Counts the trial in the progress display; returns whether to stop. */
static int trial_progress(sweep *s, int rep, const char *key, const char *status, const char *msg) {
  lua_State *L = s->L;
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
  return stop;
}

/* record_trial(s, i, wstatus, seconds, report, timeout) -> stop: called
** under lua_pcall, so an error (a full disk) ends the sweep cleanly. */
static int record_trial(lua_State *L) {
  sweep *s = lua_touserdata(L, 1);
  int i = (int)lua_tointeger(L, 2), wstatus = (int)lua_tointeger(L, 3);
  size_t len;
  const char *out = lua_tolstring(L, 5, &len);
  luaL_checkstack(L, 40, "lunet.sweep");
  char msg[2048];
  const char *status =
    lsweep_push_report(L, out, len, wstatus, lua_tonumber(L, 4), lua_tonumber(L, 6), msg, sizeof msg);
  int rep = lua_gettop(L);
  lsweep_push_key(s, i);
  const char *key = lua_tostring(L, -1);
  status = lsweep_record_rows(s, i, rep, status, msg, sizeof msg);
  lua_pushboolean(L, trial_progress(s, rep, key, status, msg));
  return 1;
}

int lsweep_record(sweep *s, int i, int wstatus, double seconds, double timeout, const char *out, size_t len) {
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
  lua_pushnumber(L, timeout);
  if (lua_pcall(L, 6, 1, 0) != LUA_OK) {
    snprintf(s->error, sizeof s->error, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "lunet.sweep: error");
    lua_pop(L, 1);
    return 1;
  }
  int stop = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return stop;
}

/* child_pool.done: the work happens in record_trial, under pcall. */
static int parent_done(void *ud, int i, int wstatus, double seconds, int timed_out, const char *out, size_t len) {
  sweep *s = ud;
  return lsweep_record(s, i, wstatus, seconds, timed_out ? s->timeout : 0, out, len);
}

static void tick(void *ud) { sweep_progress_tick(&((sweep *)ud)->prog); }

/* ---- options ------------------------------------------------------------------ */

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

int lsweep_opt_choice(lua_State *L, const char *key, const char *def, const char *other) {
  lua_getfield(L, 1, key);
  const char *v = luaL_optstring(L, -1, def);
  if (strcmp(v, def) && strcmp(v, other))
    luaL_error(L, "lunet.sweep: %s must be \"%s\" or \"%s\", got \"%s\"", key, def, other, v);
  int is_other = strcmp(v, other) == 0;
  lua_pop(L, 1);
  return is_other;
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
    if (lsweep_is_reserved(m) || lsweep_in_list(s->name, s->n_names, m))
      luaL_error(L, "lunet.sweep: metric '%s' is also a grid key or a column every row has", m);
    lua_pop(L, 1);
  }
  lsweep_set_state(s, "metrics");
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

/* timeout = SECONDS and memory = BYTES or "2G": each trial's limits. */
static void read_limits(sweep *s) {
  lua_State *L = s->L;
  if (lua_getfield(L, 1, "timeout") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0 && lua_tonumber(L, -1) < 1e9))
      luaL_error(L, "lunet.sweep: 'timeout' must be a number of seconds > 0, got %s", luaL_tolstring(L, -1, NULL));
    s->timeout = lua_tonumber(L, -1);
  }
  if (lua_getfield(L, 1, "memory") != LUA_TNIL) {
    int t = lua_type(L, -1);
    const char *text = t == LUA_TNUMBER || t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!text || sweep_parse_memory(text, &s->memory) || s->memory < (1 << 20))
      luaL_error(L, "lunet.sweep: 'memory' must be a size of at least 1M: bytes, or a string like \"512M\" or "
                    "\"2G\"; got %s", luaL_tolstring(L, -1, NULL));
    snprintf(s->memory_text, sizeof s->memory_text, "%s", text);
  }
  lua_pop(L, 2);
}

/* Reads every option but grid, random and metrics, checking them in this
** order (out's string stays on the stack, anchoring s->out_path). */
static void read_options(sweep *s, int *workers, int *threads) {
  lua_State *L = s->L;
  if (lua_getfield(L, 1, "run") != LUA_TFUNCTION) luaL_error(L, "lunet.sweep: 'run' must be a function(cfg, trial)");
  lsweep_set_state(s, "run");
  if (lua_getfield(L, 1, "out") != LUA_TSTRING || !*lua_tostring(L, -1))
    luaL_error(L, "lunet.sweep: 'out' must be the path of a CSV file");
  s->out_path = lua_tostring(L, -1); /* stays on the stack */
  set_log_path(s);
  *workers = opt_integer(L, "workers", 1, 1, 1024);
  *threads = opt_integer(L, "threads", 1, 1, 1024);
  s->stop_on_failure = lsweep_opt_choice(L, "on_failure", "continue", "stop");
  lua_getfield(L, 1, "metric");
  snprintf(s->metric, sizeof s->metric, "%s", luaL_optstring(L, -1, "test_error"));
  lua_pop(L, 1);
  read_seeds(s);
  read_limits(s);
  lsweep_slurm_options(s);
}

/* ---- lunet.sweep ------------------------------------------------------------ */

/* Pushes a new, empty sweep state (its userdata). */
static sweep *new_sweep(lua_State *L) {
  sweep *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->ref = LUA_NOREF;
  s->lock_fd = -1;
  luaL_setmetatable(L, MT_SWEEP);
  s->L = L;
  lua_newtable(L);
  s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  lsweep_set_state(s, "waiting");
  lua_newtable(L);
  lsweep_set_state(s, "warned");
  return s;
}

/* Fills pending[] with the trials to run: those whose key is neither in
** `seen` (true: recorded) nor met before (a duplicate). */
static int pending_trials(sweep *s, int seen, int total, int *pending, int *skipped, int *duplicates) {
  lua_State *L = s->L;
  int np = 0;
  for (int i = 0; i < total; i++) {
    lsweep_push_key(s, i);
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

/* Starts the progress display with the sweep's plan. */
static void announce(sweep *s, int total, int np, int skipped, int dups, int workers, int threads) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (!s->slurm && ncpu > 0 && (long)workers * threads > ncpu)
    fprintf(stderr, "sweep: warning: %d workers x %d threads on %ld cores: the trials will compete for them\n",
            workers, threads, ncpu);
  s->prog.tty = isatty(2);
  s->prog.total = np;
  s->prog.t0 = now_seconds();
  fprintf(stderr, "sweep: %d trials (%d configurations x %d seeds); %d already in %s; running %d ", total - dups,
          total / s->n_seeds, s->n_seeds, skipped, s->out_path, np);
  if (s->slurm) fprintf(stderr, "as a Slurm job array");
  else fprintf(stderr, "with %d worker%s", workers, workers > 1 ? "s" : "");
  if (dups) fprintf(stderr, " (%d duplicate configurations run once)", dups);
  fputc('\n', stderr);
}

static void push_result(lua_State *L, const sweep *s, int total, int skipped, int dups) {
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
  if (!s->slurm) return;
  lua_pushinteger(L, s->lost);
  lua_setfield(L, -2, "lost");
  if (s->job) lua_pushinteger(L, s->job), lua_setfield(L, -2, "job");
}

/* Runs pending[0..np) in local workers; child_pool_run's result. */
static int run_local(sweep *s, const int *pending, int np, int workers, int threads) {
  child_pool pool = {s, lsweep_child_run, parent_done, s->prog.tty ? tick : NULL, threads, s->timeout, s->memory};
  int rc = child_pool_run(&pool, pending, np, workers);
  if (np) sweep_progress_end(&s->prog);
  return rc;
}

static int l_sweep(lua_State *L) {
  static const char *const known[] = {"grid", "random", "seeds", "workers", "threads", "out", "log_out", "run",
                                      "on_failure", "metric", "metrics", "timeout", "memory", "launcher", "slurm",
                                      "detach", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lcheck_options(L, 1, "lunet.sweep", known);
  sweep *s = new_sweep(L);
  int workers, threads;
  read_options(s, &workers, &threads);
  int total = lsweep_make_configs(s) * s->n_seeds;
  read_metrics(s);
  if (lsweep_in_task() && lsweep_task(s, total, workers, threads) < 0) { /* another sweep's task */
    push_result(L, s, 0, 0, 0);
    return 1;
  }

  lua_newtable(L);
  int seen = lua_gettop(L);
  lsweep_open_files(s, seen);
  lsweep_declared_header(s); /* a new file: declared metrics fix its header now */
  if (s->slurm) lsweep_slurm_collect(s, seen, total);
  int *pending = lua_newuserdatauv(L, sizeof(int) * (size_t)(total + 1), 0), skipped = 0, dups = 0;
  int np = pending_trials(s, seen, total, pending, &skipped, &dups);

  announce(s, total, np, skipped, dups, workers, threads);
  int rc = 0;
  if (s->slurm) lsweep_slurm_run(s, seen, total, pending, np);
  else rc = run_local(s, pending, np, workers, threads);
  if (!s->error[0]) lsweep_finish_rows(s);
  if (!s->error[0] && s->slurm) lsweep_slurm_finish(s, seen, total);
  close_files(s);
  if (s->error[0]) return luaL_error(L, "%s", s->error);
  if (rc) return lerror_services(L);
  push_result(L, s, total, skipped, dups);
  return 1;
}

void lsweep_register(lua_State *L) {
  lnew_metatable(L, MT_SWEEP, "__gc", sweep_gc);
  lsweep_rows_register(L);
  lua_pushcfunction(L, l_sweep);
  lua_setfield(L, -2, "sweep");
  lsweep_configs_register(L);
}
