/*
** lua_slurm.c -- launcher = "slurm": a sweep's trials as one Slurm job
** array, with the same statuses and exactly-once rows as local workers.
**
**   lunet.sweep{ ..., out = "results/s.csv", launcher = "slurm",
**                slurm = { partition = "cpu", time = "00:30:00", mem = "4G",
**                          cpus_per_task = 1, max_parallel = 50,
**                          extra = { "--account=ml" } } }
**
** The submitter (the script as the user runs it) opens `out`, takes its
** lock and finds the trials `out` lacks, as a local sweep does. It writes
** a manifest of them (one line a trial: index and key) and a job script
** into the spool folder OUT.spool/, and submits one array through sbatch.
** Task t reruns the same script with LUNET_SWEEP_MANIFEST naming the
** manifest; there lunet.sweep runs only the manifest's lines l with
** l % ntasks == t (one trial a task, or slurm.trials_per_task), `workers`
** at a time, each forked as locally (crash isolation, timeout, memory),
** writes each finished trial to a file of its own in the spool
** (spool.c: written, synced, renamed), and ends the script.
**
** Only the submitter writes `out`. It collects the spool while it waits:
** each record is recorded as a local trial's report would be (columns,
** waiting rows, log rows first), then deleted. A key already in `out` is
** never added again, so a record seen twice (a kill between the row and
** the delete; a trial run by two tasks) gives one row. Trials of a task
** that left no record (scancel, preemption, a failed node) are missing
** from `out` and run on the next rerun; a rerun first collects the spool,
** and waits for the array of an earlier run if it still runs.
*/
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "runtime/services.h"
#include "sweep/command.h"
#include "sweep/lua_sweep.h"
#include "sweep/spool.h"

#define ENV_MANIFEST "LUNET_SWEEP_MANIFEST"
#define MAX_ARRAY 1000 /* Slurm's default MaxArraySize is 1001: ids 0..1000 */

/* ---- options ----------------------------------------------------------------- */

static void check_slurm_field(lua_State *L, const char *key, int t) {
  static const char *const text[] = {"partition", "time", "mem", NULL};
  static const char *const count[] = {"cpus_per_task", "max_parallel", "trials_per_task", NULL};
  if (strcmp(key, "extra") == 0) {
    if (t != LUA_TTABLE) luaL_error(L, "lunet.sweep: slurm.extra must be a list of sbatch arguments like {\"--qos=low\"}");
    for (lua_Integer k = 1; k <= (lua_Integer)lua_rawlen(L, -1); k++)
      if (lua_rawgeti(L, -1, k) != LUA_TSTRING) luaL_error(L, "lunet.sweep: slurm.extra[%d] is not a string", (int)k);
      else lua_pop(L, 1);
    return;
  }
  for (int k = 0; text[k]; k++)
    if (strcmp(key, text[k]) == 0) {
      if (t != LUA_TSTRING && t != LUA_TNUMBER) luaL_error(L, "lunet.sweep: slurm.%s must be a string", key);
      return;
    }
  for (int k = 0; count[k]; k++)
    if (strcmp(key, count[k]) == 0) {
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 1000000)
        luaL_error(L, "lunet.sweep: slurm.%s must be an integer >= 1", key);
      return;
    }
  luaL_error(L, "lunet.sweep: unknown slurm option '%s' (known: partition, time, cpus_per_task, mem, max_parallel, "
                "trials_per_task, extra; other sbatch arguments go in extra = {...})", key);
}

/* s->spool: the absolute path of OUT.spool, which tasks (started in the
** same folder) compute the same way. */
static void set_spool_path(sweep *s) {
  char cwd[1024] = "";
  if (s->out_path[0] != '/' && !getcwd(cwd, sizeof cwd))
    luaL_error(s->L, "lunet.sweep: cannot read the current folder: %s", strerror(errno));
  int n = snprintf(s->spool, sizeof s->spool, "%s%s%s.spool", cwd, *cwd ? "/" : "", s->out_path);
  if (n >= (int)sizeof s->spool) luaL_error(s->L, "lunet.sweep: the path of out is too long");
}

void lsweep_slurm_options(sweep *s) {
  lua_State *L = s->L;
  s->slurm = lsweep_opt_choice(L, "launcher", "local", "slurm");
  lua_getfield(L, 1, "detach");
  s->detach = lua_toboolean(L, -1);
  int t = lua_getfield(L, 1, "slurm");
  lua_pop(L, 2);
  if (!s->slurm && (t != LUA_TNIL || s->detach))
    luaL_error(L, "lunet.sweep: 'slurm' and 'detach' need launcher = \"slurm\"");
  if (!s->slurm) return;
  lua_getfield(L, 1, "slurm");
  if (t == LUA_TNIL) lua_newtable(L), lua_replace(L, -2);
  if (!lua_istable(L, -1)) luaL_error(L, "lunet.sweep: slurm must be a table like { partition = \"cpu\" }");
  for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "lunet.sweep: slurm options are named, like partition =");
    check_slurm_field(L, lua_tostring(L, -2), lua_type(L, -1));
  }
  lsweep_set_state(s, "slurm");
  set_spool_path(s);
}

/* ---- small helpers -------------------------------------------------------------- */

/* Pushes { key = index } for every trial, made once. */
static void push_index(sweep *s, int total) {
  lua_State *L = s->L;
  if (lsweep_push_state(s, "index") == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, total);
  for (int i = 0; i < total; i++) {
    lsweep_push_key(s, i);
    lua_pushinteger(L, i);
    lua_rawset(L, -3);
  }
  lua_pushvalue(L, -1);
  lsweep_set_state(s, "index");
}

/* 'text' in single quotes for sh, a ' inside as '\''. */
static void sh_quote(strbuf *b, const char *text) {
  sb_str(b, "'");
  for (const char *p = text; *p; p++) sb_str(b, *p == '\'' ? "'\\''" : (char[2]){*p, 0});
  sb_str(b, "'");
}

static void spool_file(const sweep *s, char *path, size_t sz, const char *name) {
  snprintf(path, sz, "%s/%s", s->spool, name);
}

/* Pushes the buffer and frees it, raising on out of memory: sb_push. */
static const char *push_text(lua_State *L, strbuf *b) {
  sb_push(L, b);
  return lua_tostring(L, -1);
}

/* ---- in a task of the array ------------------------------------------------------ */

int lsweep_in_task(void) { return getenv(ENV_MANIFEST) != NULL; }

typedef struct task {
  sweep *s;
  int keys;      /* stack index of { [trial] = key } */
  char job[64];  /* "<job>_<task>" */
  int failed;    /* a record could not be written */
} task;

/* child_pool.done in a task: the trial goes to the spool. Must not raise:
** the key is looked up (no allocation), not made. */
static int task_done(void *ud, int i, int wstatus, double seconds, int timed_out, const char *out, size_t len) {
  task *t = ud;
  lua_State *L = t->s->L;
  char err[1024];
  lua_rawgeti(L, t->keys, i);
  spool_record r = {lua_tostring(L, -1), i, wstatus, seconds, timed_out ? t->s->timeout : 0, t->job, out, len};
  if (spool_put(t->s->spool, &r, err, sizeof err)) {
    fprintf(stderr, "sweep: %s\n", err);
    t->failed = 1;
  }
  lua_pop(L, 1);
  return 0;
}

/* child_pool.run in a task: the trial, as a local worker runs it. */
static int task_run(void *ud, int i, int fd) { return lsweep_child_run(((task *)ud)->s, i, fd); }

/* The text of the file at `path`, NUL-terminated, its length in *len, in a
** userdata pushed on the stack (so that an error raised while it is in use
** leaks nothing); NULL, with nil pushed, when it cannot be read. The file
** is never changed once renamed into place (manifests, records). */
static char *push_file_text(lua_State *L, const char *path, size_t *len) {
  struct stat st, opened;
  if (stat(path, &st) != 0) {
    lua_pushnil(L);
    return NULL;
  }
  *len = (size_t)st.st_size;
  char *text = lua_newuserdatauv(L, *len + 1, 0); /* may raise: nothing is open yet */
  FILE *f = fopen(path, "rb");
  /* the file opened must be the one measured (a rename between the two
  ** would put another there), and hold all of it */
  int bad = !f || fstat(fileno(f), &opened) != 0 || opened.st_ino != st.st_ino ||
            opened.st_size != st.st_size || fread(text, 1, *len, f) != *len;
  if (f) fclose(f);
  text[*len] = '\0';
  return bad ? NULL : text;
}

/* Cuts the line at *p (its newline, if any, becomes a NUL) and moves *p
** past it; returns the line. */
static char *next_line(char **p) {
  char *line = *p, *nl = strchr(line, '\n');
  if (nl) *nl = '\0', *p = nl + 1;
  else *p = line + strlen(line);
  return line;
}

/* Reads this task's trials from the manifest into an array, and their keys
** into a table { [trial] = key }, both left on the stack; returns their
** number. Line l (from 0) belongs to task l % ntasks; a line is as long
** as its key. */
static int task_trials(sweep *s, const char *manifest, int id, int total, int **trials) {
  lua_State *L = s->L;
  size_t len;
  char *p = push_file_text(L, manifest, &len);
  int text = lua_gettop(L), ntasks = 0, n = 0;
  if (!p) luaL_error(L, "lunet.sweep: cannot read the manifest %s: %s", manifest, strerror(errno));
  if (sscanf(next_line(&p), "lunet-manifest 1 %d", &ntasks) != 1 || ntasks < 1)
    luaL_error(L, "lunet.sweep: %s is not a manifest of a lunet sweep", manifest);
  *trials = lua_newuserdatauv(L, sizeof(int) * (size_t)(total + 1), 0);
  lua_newtable(L);
  push_index(s, total);
  for (int l = 0; *p; l++) {
    char *tab = strchr(next_line(&p), '\t');
    if (l % ntasks != id || !tab) continue;
    percent_decode(tab + 1);
    if (lua_getfield(L, -1, tab + 1) != LUA_TNUMBER || n >= total)
      luaL_error(L, "lunet.sweep: the trial %s of %s is not a trial of this script any more: it changed after "
                    "the array was submitted (rerun it to submit again)", tab + 1, manifest);
    (*trials)[n++] = (int)lua_tointeger(L, -1);
    lua_pushstring(L, tab + 1);
    lua_rawseti(L, -4, lua_tointeger(L, -2));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_remove(L, text);
  return n;
}

int lsweep_task(sweep *s, int total, int workers, int threads) {
  lua_State *L = s->L;
  const char *manifest = getenv(ENV_MANIFEST), *id = getenv("SLURM_ARRAY_TASK_ID");
  size_t n = strlen(s->spool);
  if (!s->slurm || strncmp(manifest, s->spool, n) != 0 || manifest[n] != '/') {
    fprintf(stderr, "sweep: in a task of the array for %s: this sweep (out = %s) is skipped\n", manifest,
            s->out_path);
    return -1;
  }
  if (!id) luaL_error(L, "lunet.sweep: %s is set, but SLURM_ARRAY_TASK_ID is not: not a task of a job array",
                      ENV_MANIFEST);
  int *trials;
  int nt = task_trials(s, manifest, atoi(id), total, &trials);
  luaL_checkstack(L, 8, "lunet.sweep"); /* for task_done, which must not raise */
  task t = {s, lua_gettop(L), "", 0};
  snprintf(t.job, sizeof t.job, "%s_%s", getenv("SLURM_ARRAY_JOB_ID") ? getenv("SLURM_ARRAY_JOB_ID") : "0", id);
  child_pool pool = {&t, task_run, task_done, NULL, threads, s->timeout, s->memory};
  int rc = child_pool_run(&pool, trials, nt, workers);
  if (rc) fprintf(stderr, "sweep: %s\n", services_last_error());
  fflush(NULL);
  exit(rc || t.failed ? 1 : 0); /* the task's work ends here, as after os.exit */
}

/* ---- collecting the spool ---------------------------------------------------------- */

/* Where the row of a trial is, from its mark in `seen` (see pending_trials
** in lua_sweep.c): true for a row read from `out` or written since, 3 for
** one read from `out` and skipped, 2 for a trial queued, WAITING for one
** recorded from the spool whose row waits in memory for the file's header
** (lua_rows.c): its record stays in the spool until the row is written. */
enum { ROW_NONE, ROW_IN_OUT, ROW_WAITING };
#define WAITING 4

/* Pops a key; returns where its row is. */
static int row_of(lua_State *L, int seen) {
  int t = lua_rawget(L, seen);
  lua_Integer mark = t == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;
  lua_pop(L, 1);
  return t == LUA_TBOOLEAN || mark == 3 ? ROW_IN_OUT : mark == WAITING ? ROW_WAITING : ROW_NONE;
}

/* A file in the spool that this sweep cannot use becomes NAME.bad, so it
** is reported once and kept for a look. */
static void set_aside(const char *path, const char *why) {
  char bad[2100];
  snprintf(bad, sizeof bad, "%s.bad", path);
  fprintf(stderr, "sweep: warning: %s; set aside as %s\n", why, bad);
  if (rename(path, bad) != 0) fprintf(stderr, "sweep: warning: cannot rename %s: %s\n", path, strerror(errno));
}

/* Records trial i from its record r; returns where its row went. */
static int record(sweep *s, int seen, int i, const spool_record *r) {
  lua_State *L = s->L;
  if (lsweep_record(s, i, r->wstatus, r->seconds, r->timeout, r->report, r->report_len)) s->stopped = 1;
  int waits = csvw_ncols(s->out) == 0;
  lua_pushstring(L, r->key);
  if (waits) lua_pushinteger(L, WAITING);
  else lua_pushboolean(L, 1);
  lua_rawset(L, seen);
  return waits ? ROW_WAITING : ROW_IN_OUT;
}

/* Reads the record at path into r, its text in a userdata left on the
** stack (so an error raised while it is in use leaks nothing). Returns 0,
** or -1 with err set. */
static int read_record(lua_State *L, const char *path, spool_record *r, char *err, size_t sz) {
  size_t len;
  char *text = push_file_text(L, path, &len);
  if (text && spool_parse(text, len, r) == 0) return 0;
  if (text) snprintf(err, sz, "%s is not a trial record of a lunet sweep", path);
  else snprintf(err, sz, "cannot read %s: %s", path, strerror(errno));
  return -1;
}

/* Records one spool file unless its trial has a row already, then deletes
** it once the row is in `out`; `final`: the waiting rows are written now,
** delete, record nothing. Returns whether it recorded the file. */
static int collect_file(sweep *s, int seen, int index, const char *path, int final) {
  lua_State *L = s->L;
  spool_record r;
  char err[1024];
  int top = lua_gettop(L);
  if (read_record(L, path, &r, err, sizeof err)) { /* r's text is on the stack until the end */
    lua_settop(L, top);
    set_aside(path, err);
    return 0;
  }
  int i = lua_getfield(L, index, r.key) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : -1;
  lua_pop(L, 1);
  lua_pushstring(L, r.key);
  int row = row_of(L, seen), recorded = i >= 0 && row == ROW_NONE && !final;
  if (recorded) row = record(s, seen, i, &r);
  if (i < 0) {
    snprintf(err, sizeof err, "%s holds trial %s, which this sweep does not have", path, r.key);
    set_aside(path, err);
  } else if (!s->error[0] && (row == ROW_IN_OUT || (final && row == ROW_WAITING)) && unlink(path) != 0) {
    fprintf(stderr, "sweep: warning: cannot remove %s: %s\n", path, strerror(errno)); /* after the row: the commit */
  }
  lua_settop(L, top);
  return recorded;
}

static int has_suffix(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);
  return n > k && strcmp(name + n - k, suffix) == 0;
}

/* Collects every record in the spool (collect_file); returns how many
** were recorded. */
static int collect(sweep *s, int seen, int total, int final) {
  lua_State *L = s->L;
  DIR *d = opendir(s->spool);
  if (!d) return 0;
  push_index(s, total);
  int index = lua_gettop(L), got = 0;
  char path[2048];
  for (struct dirent *e; !s->error[0] && (e = readdir(d));) {
    if (!has_suffix(e->d_name, ".trial")) continue;
    snprintf(path, sizeof path, "%s/%s", s->spool, e->d_name);
    got += collect_file(s, seen, index, path, final);
  }
  closedir(d);
  lua_pop(L, 1);
  return got;
}

void lsweep_slurm_finish(sweep *s, int seen, int total) { collect(s, seen, total, 1); }

/* The number of records in the spool. */
static int count_records(const sweep *s) {
  DIR *d = opendir(s->spool);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += has_suffix(e->d_name, ".trial");
  if (d) closedir(d);
  return n;
}

int lsweep_slurm_collect(sweep *s, int seen, int total) {
  s->prog.tty = isatty(2);
  s->prog.total = count_records(s);
  s->prog.t0 = now_seconds();
  int got = collect(s, seen, total, 0);
  if (s->error[0]) luaL_error(s->L, "%s", s->error);
  if (got) {
    sweep_progress_end(&s->prog);
    fprintf(stderr, "sweep: collected %d finished trials from %s\n", got, s->spool);
  }
  s->prog = (sweep_progress){0};
  return got;
}

/* ---- talking to Slurm --------------------------------------------------------------- */

/* Runs a Slurm command; raises naming it, its stderr and `hint` when it
** fails, unless `quiet` (then returns its status, output in out). */
static int slurm_command(lua_State *L, char *const argv[], strbuf *out, const char *hint, int quiet) {
  strbuf err = {0};
  int rc = sweep_command(argv, out, &err);
  if (rc == 0 || quiet) {
    if (quiet && rc) sb_str(out, err.p ? err.p : ""); /* the caller sees why */
    free(err.p);
    return rc;
  }
  strbuf line = {0};
  sweep_command_line(argv, &line);
  const char *cmd = push_text(L, &line);
  free(out->p);
  *out = (strbuf){0};
  const char *why = push_text(L, &err);
  return luaL_error(L, "lunet.sweep: `%s` failed (%s %d): %s\nhint: %s", cmd, rc == 127 ? "not run," : "exit status",
                    rc, *why ? why : "(no message)", hint);
}

/* The job's tasks still queued or running (0: the array is over), or -1
** when squeue failed (err holds its message). */
static int tasks_left(lua_State *L, long job, int *running, strbuf *err) {
  char id[32];
  snprintf(id, sizeof id, "--jobs=%ld", job);
  char *argv[] = {"squeue", "--noheader", "--array", id, "--format=%T", NULL}; /* a line a task */
  strbuf out = {0};
  int rc = slurm_command(L, argv, &out, "", 1), n = 0;
  *running = 0;
  if (rc != 0 && out.p && strstr(out.p, "Invalid job id")) rc = 0, out.p[0] = '\0'; /* purged: over */
  if (rc != 0) {
    *err = out;
    return -1;
  }
  for (char *p = out.p; p && *p; p++)
    if (p == out.p || p[-1] == '\n') {
      n++;
      *running += strncmp(p, "RUNNING", 7) == 0;
    }
  free(out.p);
  return n;
}

static void cancel(lua_State *L, long job) {
  char id[32];
  snprintf(id, sizeof id, "%ld", job);
  char *argv[] = {"scancel", id, NULL};
  strbuf out = {0};
  if (slurm_command(L, argv, &out, "", 1)) fprintf(stderr, "sweep: scancel %ld failed: %s\n", job, out.p ? out.p : "");
  free(out.p);
}

/* Adds "--name=value" for slurm.<field>, when set, to the list at `args`. */
static void add_option(lua_State *L, int slurm, int args, const char *field, const char *name) {
  if (lua_getfield(L, slurm, field) != LUA_TNIL) {
    lua_pushfstring(L, "--%s=%s", name, lua_tostring(L, -1));
    lua_rawseti(L, args, (lua_Integer)lua_rawlen(L, args) + 1);
  }
  lua_pop(L, 1);
}

/* Pushes the argument list of sbatch, as Lua strings in a table. */
static void push_sbatch_args(sweep *s, int ntasks, const char *script) {
  lua_State *L = s->L;
  lsweep_push_state(s, "slurm");
  int slurm = lua_gettop(L);
  lua_newtable(L);
  int args = lua_gettop(L);
  char cwd[1024];
  if (!getcwd(cwd, sizeof cwd)) luaL_error(L, "lunet.sweep: cannot read the current folder: %s", strerror(errno));
  lua_getfield(L, slurm, "max_parallel");
  lua_pushfstring(L, "--array=0-%d%s%s", ntasks - 1, lua_isnil(L, -1) ? "" : "%", lua_isnil(L, -1) ? "" : lua_tostring(L, -1));
  lua_remove(L, -2);
  const char *base = strrchr(s->out_path, '/');
  lua_pushfstring(L, "--job-name=lunet:%s", base ? base + 1 : s->out_path);
  lua_pushfstring(L, "--chdir=%s", cwd);
  lua_pushfstring(L, "--output=%s/slurm-%%A_%%a.out", s->spool);
  lua_pushstring(L, "--parsable");
  lua_pushstring(L, "sbatch");
  for (int k = 1; k <= 6; k++) lua_rawseti(L, args, k); /* sbatch, --parsable, ... from the top */
  add_option(L, slurm, args, "partition", "partition");
  add_option(L, slurm, args, "time", "time");
  add_option(L, slurm, args, "cpus_per_task", "cpus-per-task");
  add_option(L, slurm, args, "mem", "mem");
  if (lua_getfield(L, slurm, "extra") == LUA_TTABLE)
    for (lua_Integer k = 1; k <= (lua_Integer)lua_rawlen(L, -1); k++) {
      lua_rawgeti(L, -1, k);
      lua_rawseti(L, args, (lua_Integer)lua_rawlen(L, args) + 1);
    }
  lua_pop(L, 1);
  lua_pushstring(L, script);
  lua_rawseti(L, args, (lua_Integer)lua_rawlen(L, args) + 1);
  lua_remove(L, slurm);
}

/* ---- submitting -------------------------------------------------------------------- */

/* Writes the manifest: a header, then "index<TAB>key" for each trial. */
static void write_manifest(sweep *s, const char *path, const int *pending, int np, int ntasks) {
  lua_State *L = s->L;
  strbuf b = {0};
  char line[64], err[1024];
  snprintf(line, sizeof line, "lunet-manifest 1 %d\n", ntasks);
  sb_str(&b, line);
  for (int k = 0; k < np; k++) {
    snprintf(line, sizeof line, "%d\t", pending[k]);
    sb_str(&b, line);
    lsweep_push_key(s, pending[k]);
    sb_escaped(&b, lua_tostring(L, -1), "\t\n\r");
    lua_pop(L, 1);
    sb_str(&b, "\n");
  }
  const char *text = push_text(L, &b);
  if (spool_write_file(path, text, lua_rawlen(L, -1), err, sizeof err)) luaL_error(L, "lunet.sweep: %s", err);
  lua_pop(L, 1);
}

/* Writes the job script: the same `lunet run SCRIPT ARGS` with the
** manifest in the environment. The script and its arguments are `arg`. */
static void write_job_script(sweep *s, const char *path, const char *manifest) {
  lua_State *L = s->L;
  char exe[1024], err[1024];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) luaL_error(L, "lunet.sweep: cannot find the lunet program (/proc/self/exe): %s", strerror(errno));
  exe[n] = '\0';
  if (lua_getglobal(L, "arg") != LUA_TTABLE || lua_rawgeti(L, -1, 0) != LUA_TSTRING)
    luaL_error(L, "lunet.sweep: launcher = \"slurm\" reruns the script in each task: run it with `lunet run SCRIPT`");
  lua_pop(L, 1);
  strbuf b = {0};
  sb_str(&b, "#!/bin/sh\n# A task of a lunet sweep's job array: reruns the script, which runs the\n"
             "# manifest's trials for this task and writes them to the spool folder.\nexport " ENV_MANIFEST "=");
  sh_quote(&b, manifest);
  sb_str(&b, "\nexec ");
  sh_quote(&b, exe);
  sb_str(&b, " run");
  for (lua_Integer k = 0; k <= (lua_Integer)lua_rawlen(L, -1); k++) {
    lua_rawgeti(L, -1, k);
    sb_str(&b, " ");
    sh_quote(&b, lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
  }
  sb_str(&b, "\n");
  lua_pop(L, 1);
  const char *text = push_text(L, &b);
  if (spool_write_file(path, text, lua_rawlen(L, -1), err, sizeof err)) luaL_error(L, "lunet.sweep: %s", err);
  lua_pop(L, 1);
  chmod(path, 0755);
}

/* The job id of the array an earlier run submitted, or 0. */
static long recorded_job(const sweep *s) {
  char path[2048];
  long job = 0;
  spool_file(s, path, sizeof path, "job");
  FILE *f = fopen(path, "r");
  if (f && fscanf(f, "%ld", &job) != 1) job = 0;
  if (f) fclose(f);
  return job;
}

/* slurm.<field>, a count, or def when it is not given. */
static int slurm_count(sweep *s, const char *field, int def) {
  lsweep_push_state(s, "slurm");
  int v = lua_getfield(s->L, -1, field) == LUA_TNIL ? def : (int)lua_tointeger(s->L, -1);
  lua_pop(s->L, 2);
  return v;
}

/* Submits pending[0..np) as one array of tasks of trials_per_task trials
** (at most MAX_ARRAY tasks); returns its job id. */
static long submit(sweep *s, const int *pending, int np) {
  lua_State *L = s->L;
  char stamp[64], manifest[2048], script[2048], err[1024];
  snprintf(stamp, sizeof stamp, "%ld-%ld", (long)time(NULL), (long)getpid());
  if (mkdir(s->spool, 0755) != 0 && errno != EEXIST)
    luaL_error(L, "lunet.sweep: cannot create the spool folder %s: %s", s->spool, strerror(errno));
  int per = slurm_count(s, "trials_per_task", 1), ntasks = np / per + (np % per != 0);
  if (ntasks > MAX_ARRAY) ntasks = MAX_ARRAY;
  snprintf(manifest, sizeof manifest, "%s/manifest-%s.txt", s->spool, stamp);
  snprintf(script, sizeof script, "%s/job-%s.sh", s->spool, stamp);
  write_manifest(s, manifest, pending, np, ntasks);
  write_job_script(s, script, manifest);
  push_sbatch_args(s, ntasks, script);
  int n = (int)lua_rawlen(L, -1);
  char **argv = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (int k = 0; k < n; k++) {
    lua_rawgeti(L, -2, k + 1);
    argv[k] = (char *)lua_tostring(L, -1); /* alive in the list */
    lua_pop(L, 1);
  }
  argv[n] = NULL;
  strbuf out = {0};
  slurm_command(L, argv, &out, "is this a Slurm submit host, with sbatch on PATH? Check partition, time and "
                "mem in slurm = {...} against `sinfo`", 0);
  long job = strtol(out.p ? out.p : "", NULL, 10);
  lua_pushstring(L, out.p ? out.p : "");
  free(out.p);
  if (job <= 0) luaL_error(L, "lunet.sweep: sbatch printed no job id: '%s'", lua_tostring(L, -1));
  lua_pop(L, 3);
  char path[2048], text[32];
  spool_file(s, path, sizeof path, "job");
  snprintf(text, sizeof text, "%ld\n", job);
  if (spool_write_file(path, text, strlen(text), err, sizeof err)) fprintf(stderr, "sweep: warning: %s\n", err);
  fprintf(stderr, "sweep: submitted job array %ld (%d tasks) for %d trials; task logs in %s/slurm-%ld_*.out\n", job,
          ntasks, np, s->spool, job);
  return job;
}

/* ---- waiting ------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

/* SIGINT and SIGTERM set `interrupted` while the array is waited for. */
static void catch_signals(struct sigaction old[2]) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  interrupted = 0;
  sigaction(SIGINT, &sa, &old[0]);
  sigaction(SIGTERM, &sa, &old[1]);
}

static void restore_signals(const struct sigaction old[2]) {
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
}

/* Shows the queue when its counts change: on a terminal, above the line. */
static void show_queue(sweep *s, int left, int running, int *last) {
  int now = left * 100000 + running;
  if (now == *last || left == 0) return;
  *last = now;
  fprintf(stderr, "%ssweep: array: %d running, %d waiting\n", s->prog.tty ? "\r\033[K" : "", running, left - running);
  sweep_progress_tick(&s->prog);
}

/* One look at the queue: 1 when the array is over, 0 while it runs, -1
** when squeue has failed for about a minute (why holds its message). */
static int array_over(sweep *s, long job, int *failures, int *last, char *why, size_t sz) {
  strbuf err = {0};
  int running, left = tasks_left(s->L, job, &running, &err);
  if (left >= 0) {
    *failures = 0;
    show_queue(s, left, running, last);
    return left == 0;
  }
  snprintf(why, sz, "%s", err.p ? err.p : "");
  free(err.p);
  return ++*failures < 30 ? 0 : -1;
}

/* Collects the spool until the array is over, showing progress; squeue
** is asked every 2 s, after the first minute every 10 s. Ctrl-C (or
** SIGTERM) cancels the array with scancel and ends the sweep. */
static void wait_array(sweep *s, int seen, int total, long job) {
  lua_State *L = s->L;
  struct sigaction old[2];
  char why[512] = "";
  catch_signals(old);
  int failures = 0, last = -1, state = 0;
  for (int tick = 0; state == 0 && !interrupted && !s->error[0] && !s->stopped; tick++) {
    if (tick % (tick < 120 ? 4 : 20) == 0) state = array_over(s, job, &failures, &last, why, sizeof why);
    collect(s, seen, total, 0); /* after squeue said "over": nothing is missed */
    sweep_progress_tick(&s->prog);
    if (state == 0) poll(NULL, 0, 500);
  }
  restore_signals(old);
  if (interrupted || (s->stopped && state == 0)) cancel(L, job); /* Ctrl-C, or on_failure = "stop" */
  if (interrupted && !s->error[0]) collect(s, seen, total, 0);
  if (s->error[0]) luaL_error(L, "%s", s->error);
  if (interrupted) {
    sweep_progress_end(&s->prog);
    luaL_error(L, "lunet.sweep: interrupted: job array %I cancelled (scancel %I); the %d trials that finished "
                  "are in %s; rerun the script to run the rest", (lua_Integer)job, (lua_Integer)job, s->prog.done,
               s->out_path);
  }
  if (state < 0)
    luaL_error(L, "lunet.sweep: squeue keeps failing (%s); job array %I may still run: rerun the script later to "
                  "collect its rows", why, (lua_Integer)job);
}

/* Counts the trials of pending[0..np) that `out` does not hold. */
static int count_missing(sweep *s, int seen, const int *pending, int np) {
  int missing = 0;
  for (int k = 0; k < np; k++) {
    lsweep_push_key(s, pending[k]);
    missing += row_of(s->L, seen) == ROW_NONE;
  }
  return missing;
}

/* Keeps in pending[] the trials `out` does not hold yet; returns how many. */
static int still_missing(sweep *s, int seen, int *pending, int np) {
  int kept = 0;
  for (int k = 0; k < np; k++)
    if (count_missing(s, seen, &pending[k], 1)) pending[kept++] = pending[k];
  return kept;
}

/* An array of an earlier run that still runs is waited for (its trials
** would run twice if submitted again); with detach, the sweep ends here.
** Returns whether it did (then s->job is that array). */
static int follow_earlier(sweep *s, int seen, int total, int np) {
  long job = recorded_job(s);
  strbuf err = {0};
  int running;
  if (job <= 0 || tasks_left(s->L, job, &running, &err) <= 0) {
    free(err.p);
    return 0;
  }
  s->job = job;
  fprintf(stderr, "sweep: job array %ld of an earlier run is still running%s\n", job,
          s->detach ? "; rerun the script to collect its rows" : "; waiting for it");
  if (s->detach) return 1;
  s->prog.total = np;
  wait_array(s, seen, total, job);
  return 1;
}

void lsweep_slurm_run(sweep *s, int seen, int total, int *pending, int np) {
  s->prog.tty = isatty(2);
  s->prog.t0 = now_seconds();
  if (follow_earlier(s, seen, total, np)) {
    if (s->detach) return;
    np = still_missing(s, seen, pending, np);
  }
  if (np == 0 || s->stopped) return;
  s->job = submit(s, pending, np);
  if (s->detach) {
    fprintf(stderr, "sweep: detached; rerun the script to collect the rows and resume\n");
    return;
  }
  s->prog.total = s->prog.done + np;
  wait_array(s, seen, total, s->job);
  sweep_progress_end(&s->prog);
  s->lost = count_missing(s, seen, pending, np);
  if (s->lost && !s->stopped)
    fprintf(stderr, "sweep: %d trials of job array %ld left no row (cancelled, preempted, or their node failed; "
                    "see %s/slurm-%ld_*.out): rerun the script to run them\n", s->lost, s->job, s->spool, s->job);
}
