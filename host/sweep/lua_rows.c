/*
** lua_rows.c -- the files of a sweep: the results file `out`, one row a
** trial, and the log file `log_out`, the trials' trial:log{...} rows; and
** resuming from them.
**
** Writing. The parent writes a trial's trial:log rows to `log_out` (default
** `out` with "_log.csv" for ".csv") first, fsynced, then its row to `out`,
** fsynced: the row in `out` is the commit record. A rerun skips every key
** already in `out`, and first removes from the log file the rows of trials
** `out` does not hold (those of a sweep killed between the two writes), so
** neither file ever holds a trial twice.
**
** Columns of `out`: the grid keys, seed, status, message, seconds, then the
** metrics, then lunet_version, abi and plugins. The metrics are `metrics =
** {...}` when given; otherwise those of the first trial whose run()
** returned metrics (ok or diverged). Until such a trial finishes, rows of
** failed trials and of trials without metrics wait in memory (a kill then
** loses them like trials in flight: they run again on resume). A row with a
** metric the header lacks is recorded as an error naming it, unless metrics
** were declared: then the others are dropped with a warning.
** An existing file must have the same grid keys (and the same metrics, when
** declared), or the sweep refuses to run. A log row has the grid keys and
** seed, then its own fields.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/syncdir.h"
#include "sweep/lua_sweep.h"

#ifndef LUNET_VERSION
#define LUNET_VERSION "unknown"
#endif

#define MT_TABLE "lunet.sweep_table"

/* Columns every row has, before the metrics and after them. */
static const char *const fixed_cols[] = {"seed", "status", "message", "seconds"};
static const char *const provenance_cols[] = {"lunet_version", "abi", "plugins"};
#define N_FIXED 4
#define N_PROVENANCE 3

int lsweep_is_reserved(const char *name) {
  for (int k = 0; k < N_FIXED; k++)
    if (strcmp(name, fixed_cols[k]) == 0) return 1;
  for (int k = 0; k < N_PROVENANCE; k++)
    if (strcmp(name, provenance_cols[k]) == 0) return 1;
  return 0;
}

/* ---- writing rows ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Fixes w's header: the grid names; seed, status, message, seconds for the
** results file (`trial_cols`), else just seed; then the row's other keys,
** sorted, or without a row (row = 0) the declared metrics in their order;
** then, for the results file, the provenance columns. */
static void set_header(sweep *s, csvw *w, int row, int trial_cols) {
  lua_State *L = s->L;
  int n = 0;
  if (row) for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) n++;
  if (!row && lsweep_push_state(s, "metrics") == LUA_TTABLE) n = (int)lua_rawlen(L, -1);
  const char **cols = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + s->n_names + 8), 0);
  int k = 0;
  for (int j = 0; j < s->n_names; j++) cols[k++] = s->name[j];
  for (int j = 0; j < (trial_cols ? N_FIXED : 1); j++) cols[k++] = fixed_cols[j];
  int mid = k;
  if (row) {
    for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1))
      if (!lsweep_in_list(cols, mid, lua_tostring(L, -2)) && !(trial_cols && lsweep_is_reserved(lua_tostring(L, -2))))
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

/* Warns once per name of each key of the row at `row` not among cols[0..n). */
static void warn_dropped(sweep *s, int row, const char *const *cols, int n, const char *path) {
  lua_State *L = s->L;
  lsweep_push_state(s, "warned");
  int warned = lua_gettop(L);
  for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) {
    const char *name = lua_tostring(L, -2); /* keys are strings: they came through a report */
    if (lsweep_in_list(cols, n, name)) continue;
    int before = lua_getfield(L, warned, name) != LUA_TNIL;
    lua_pop(L, 1);
    if (before) continue;
    fprintf(stderr, "%ssweep: warning: '%s' is not a column of %s, dropped (a file's columns are fixed by "
                    "its first row, or by metrics = {...})\n", s->prog.tty ? "\r\033[K" : "", name, path);
    lua_pushboolean(L, 1);
    lua_setfield(L, warned, name);
  }
  lua_pop(L, 1);
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
    cells[j] = lua_isnil(L, -1) ? NULL : lsweep_cell_text(L, bufs[j]);
    lua_pop(L, 1); /* strings stay alive in the row table */
  }
  warn_dropped(s, row, cols, n, path);
  char err[1024];
  if (csvw_write(w, cols, cells, n, err, sizeof err)) luaL_error(L, "%s", err);
  if (!nosync && csvw_sync(w)) luaL_error(L, "%s: cannot sync to disk: %s", path, strerror(errno));
  lua_pop(L, 3);
}

/* Writes the rows that waited for the header, in the order they came. */
static void write_waiting(sweep *s) {
  lua_State *L = s->L;
  lsweep_push_state(s, "waiting");
  int waiting = lua_gettop(L);
  for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, waiting); r++) {
    lua_rawgeti(L, waiting, r);
    write_row(s, s->out, s->out_path, lua_gettop(L), 0);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_newtable(L);
  lsweep_set_state(s, "waiting");
}

/* A row with a key the header lacks becomes an error row naming it, so no
** undeclared metric is lost without a failed trial to say so. Returns 1
** when it did. */
static int refuse_misfit(sweep *s, int row, char *msg, size_t sz) {
  lua_State *L = s->L;
  for (lua_pushnil(L); lua_next(L, row); lua_pop(L, 1)) {
    const char *name = lua_tostring(L, -2); /* keys are strings: they came through a report */
    int known = 0;
    for (int j = 0; j < csvw_ncols(s->out) && !known; j++) known = strcmp(csvw_col(s->out, j), name) == 0;
    if (known) continue;
    snprintf(msg, sz, "run returned '%s', which is not a column of %s: its columns were fixed by an earlier "
             "trial's metrics (hint: declare every metric with metrics = {...}, or write to a new out)",
             name, s->out_path);
    lua_pop(L, 2);
    lua_pushstring(L, "error");
    lua_setfield(L, row, "status");
    lua_pushstring(L, msg);
    lua_setfield(L, row, "message");
    return 1;
  }
  return 0;
}

/* The trial row at `row` goes to the results file, or waits for a header
** when it failed, or returned no metrics, before any trial returned some.
** Returns 1 when the row became an error row (refuse_misfit). */
static int commit_row(sweep *s, int row, int waits, char *msg, size_t sz) {
  lua_State *L = s->L;
  if (csvw_ncols(s->out) == 0) {
    if (waits && lsweep_push_state(s, "metrics") == LUA_TNIL) {
      lsweep_push_state(s, "waiting");
      lua_pushvalue(L, row);
      lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      lua_pop(L, 2);
      return 0;
    }
    if (waits) lua_pop(L, 1);
    set_header(s, s->out, row, 1);
  }
  int declared = lsweep_push_state(s, "metrics") != LUA_TNIL; /* its columns were asked for */
  lua_pop(L, 1);
  int refused = !declared && refuse_misfit(s, row, msg, sz);
  write_waiting(s);
  write_row(s, s->out, s->out_path, row, 0);
  return refused;
}

/* Adds to the row table at `row` the configuration and seed of trial i. */
static void add_trial(sweep *s, int i, int row) {
  lua_State *L = s->L;
  lsweep_push_cfg(s, i);
  lsweep_copy_fields(L, -1, row);
  lua_pop(L, 1);
  lua_pushinteger(L, lsweep_seed(s, i));
  lua_setfield(L, row, "seed");
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
    add_trial(s, i, lrow);
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
  lsweep_copy_fields(L, -1, row);
  lua_pop(L, 1);
  for (int k = 0; k < N_PROVENANCE; k++) { /* a trial's own keys of these names */
    lua_pushnil(L);
    lua_setfield(L, row, provenance_cols[k]);
  }
  add_trial(s, i, row);
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

const char *lsweep_record_rows(sweep *s, int i, int rep, const char *status, char *msg, size_t sz) {
  lua_State *L = s->L;
  int failed = strcmp(status, "ok") != 0 && strcmp(status, "diverged") != 0;
  lua_getfield(L, rep, "metrics");
  lua_pushnil(L);
  int none = lua_next(L, -2) == 0; /* no metrics: must not fix the columns */
  lua_pop(L, none ? 1 : 3);
  lua_getfield(L, rep, "logs");
  write_log_rows(s, i, lua_gettop(L)); /* first: the results row commits the trial */
  lua_pop(L, 1);
  push_row(s, i, rep, status, msg);
  if (commit_row(s, lua_gettop(L), failed || none, msg, sz)) status = "error";
  lua_pop(L, 1);
  return status;
}

void lsweep_declared_header(sweep *s) {
  if (csvw_ncols(s->out) != 0) return;
  int declared = lsweep_push_state(s, "metrics") == LUA_TTABLE;
  lua_pop(s->L, 1);
  if (declared) set_header(s, s->out, 0, 1);
}

void lsweep_finish_rows(sweep *s) {
  lua_State *L = s->L;
  lsweep_push_state(s, "waiting");
  if (lua_rawlen(L, -1) > 0 && csvw_ncols(s->out) == 0) { /* a header without metrics */
    lua_rawgeti(L, -1, 1);
    set_header(s, s->out, lua_gettop(L), 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  write_waiting(s);
}

/* ---- resuming ------------------------------------------------------------- */

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
  if (lsweep_push_state(s, "metrics") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  int n = (int)lua_rawlen(L, -1), have = 0, ok = 1;
  for (int c = 0; c < csvw_ncols(s->out); c++) {
    const char *col = csvw_col(s->out, c);
    if (lsweep_in_list(s->name, s->n_names, col) || lsweep_is_reserved(col)) continue;
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
    lsweep_push_row_key(s, t, r, col);
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
  sync_dir_of(path); /* the rename itself on disk */
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
    lsweep_push_row_key(s, t, r, col);
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

/* One sweep at a time on a results file: a second one would run every trial
** again. An flock on "OUT.lock", held until the sweep ends (its trials
** inherit it), and the holder's process id written in the file. */
static void take_lock(sweep *s) {
  lua_State *L = s->L;
  char path[1100], pid[32] = "";
  snprintf(path, sizeof path, "%s.lock", s->out_path);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) luaL_error(L, "lunet.sweep: cannot create the lock file %s: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    close(fd);
    pid[n > 0 ? strcspn(pid, "\n") : 0] = '\0';
    luaL_error(L, "lunet.sweep: %s is in use by another sweep (process %s); wait for it to end, or give "
               "another out", s->out_path, *pid ? pid : "unknown");
  }
  s->lock_fd = fd;
  snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) == 0) (void)!pwrite(fd, pid, strlen(pid), 0); /* for messages only: no error */
}

void lsweep_open_files(sweep *s, int seen) {
  char err[1024];
  if (!(s->out = csvw_open(s->out_path, err, sizeof err))) luaL_error(s->L, "%s", err);
  take_lock(s);
  if (csvw_dropped(s->out))
    fprintf(stderr, "sweep: cut a partial last line (%zu bytes) from %s\n", csvw_dropped(s->out), s->out_path);
  recorded_keys(s, seen);
  drop_unfinished_log_rows(s, seen);
}

void lsweep_rows_register(lua_State *L) { lnew_metatable(L, MT_TABLE, "__gc", table_gc); }
