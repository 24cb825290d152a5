/*
** lua_sweep.h -- what the files of lunet.sweep share: the sweep's state and
** the helpers more than one of them uses. Internal to the host:
**
**   lua_sweep.c      lunet.sweep itself: options, the state, running trials
**   lua_configs.c    the configurations: grid, random search, distributions
**   lua_keys.c       a trial's key, and the text buffer it is built in
**   lua_report.c     the report a trial's worker sends its parent
**   lua_rows.c       the results file and the log file, and resuming them
**   lua_slurm.c      launcher = "slurm": one job array, its tasks, the spool
**
** workers.h is the C half underneath (memory sizes, canonical values,
** progress; the worker processes are runtime/children.h's pool), with
** spool.h (a Slurm task's finished trials, one file each) and command.h
** (running sbatch, squeue, scancel); nothing here is visible to scripts but
** through lunet.sweep.
*/
#ifndef LUNET_LUA_SWEEP_H
#define LUNET_LUA_SWEEP_H

#include <stddef.h>

#include "base/csvfile.h"
#include "base/strbuf.h" /* a luaL_Buffer forbids the stack work between additions */
#include "lua/lua_lunet.h"
#include "sweep/workers.h"

/* Adds sweep, uniform, loguniform, choice to the module table on top. */
void lsweep_register(lua_State *L);

/* ---- the sweep's state (lua_sweep.c) --------------------------------------- */

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
  int lock_fd;       /* "OUT.lock", flocked while the sweep runs; -1 before */
  const char *out_path;
  char log_path[1024];
  char metric[64];   /* shown in progress */
  int stop_on_failure, stopped;
  double timeout;        /* seconds a trial may run; 0: no limit */
  size_t memory;         /* bytes a trial may add (RLIMIT_AS); 0: no limit */
  char memory_text[32];  /* memory as given, for messages */
  int slurm, detach;     /* launcher = "slurm"; detach = true */
  char spool[1024];      /* slurm: the absolute path of OUT.spool */
  long job;              /* slurm: the job array submitted or followed; 0: none */
  int lost;              /* slurm: trials of that array that left no row */
  sweep_progress prog;
  char error[1024];  /* a failure of the parent's side: the sweep ends with it */
} sweep;

/* Pushes state[key]; returns its type. */
int lsweep_push_state(sweep *s, const char *key);
/* state[key] = the value on top of the stack (popped). */
void lsweep_set_state(sweep *s, const char *key);
/* Pushes the configuration of trial i (shared: copy before changing it). */
void lsweep_push_cfg(sweep *s, int trial);
lua_Integer lsweep_seed(const sweep *s, int trial);

/* Records trial i, which ended with `wstatus` after `seconds` (killed at
** `timeout` seconds when > 0) and reported out[0..len): its rows, and the
** progress display. Never raises: a failure goes to s->error. Returns
** whether to start no more trials (on_failure = "stop", or an error). */
int lsweep_record(sweep *s, int i, int wstatus, double seconds, double timeout, const char *out, size_t len);

/* Reads options[key] (options at index 1), which must be `def` (also when
** absent) or `other`; returns whether it is `other`. */
int lsweep_opt_choice(lua_State *L, const char *key, const char *def, const char *other);

/* Whether the value at idx is a number, string or boolean. */
int lsweep_is_scalar(lua_State *L, int idx);
int lsweep_in_list(const char *const *v, int n, const char *s);
/* dst[k] = v for each k, v of the table at src (raw). */
void lsweep_copy_fields(lua_State *L, int src, int dst);

/* ---- text and keys (lua_keys.c) -------------------------------------------- */

/* Pushes the buffer as a Lua string and frees it; raises on out of memory. */
void sb_push(lua_State *L, strbuf *b);

/* The cell text of the value on top of the stack: integers as integers,
** other numbers with the shortest round-trip digits. */
const char *lsweep_cell_text(lua_State *L, char buf[32]);
/* Pushes the key of trial i: "name=value,...,seed=s". */
void lsweep_push_key(sweep *s, int i);
/* Pushes the key of row r of a file; col[] are the columns of the names,
** then of the seed. */
void lsweep_push_row_key(sweep *s, const csv_table *t, int r, const int *col);

/* ---- configurations (lua_configs.c) ------------------------------------------ */

/* Reads grid or random (or neither: one empty configuration) of the options
** at index 1 into state.cfgs and s->name; returns their number. */
int lsweep_make_configs(sweep *s);
/* lunet.uniform, loguniform, choice into the table on top of the stack. */
void lsweep_configs_register(lua_State *L);

/* ---- the trial's report (lua_report.c) ------------------------------------------ */

/* child_pool.run: in the worker, runs trial i and writes its report to fd. */
int lsweep_child_run(void *ud, int i, int fd);
/* In the parent: pushes the report out[0..len) of a trial that ended with
** `wstatus` after `seconds` as { seconds =, error =, oom =, plugins =,
** complete =, metrics = {}, logs = {{}, ...} } and returns the trial's
** status ("ok", "error", "diverged", "oom", "crashed", or "timeout" when
** `timeout` > 0: it was killed at that many seconds), with its message in
** msg. */
const char *lsweep_push_report(lua_State *L, const char *out, size_t len, int wstatus, double seconds,
                               double timeout, char *msg, size_t sz);

/* ---- the files (lua_rows.c) -------------------------------------------------- */

/* Whether name is one of the columns every results row has. */
int lsweep_is_reserved(const char *name);
/* Opens the results file, marks in the table at `seen` the keys of the
** trials it holds, and drops from the log file the rows of the others. */
void lsweep_open_files(sweep *s, int seen);
/* A new results file with declared metrics gets its header now. */
void lsweep_declared_header(sweep *s);
/* Records trial i from its report at `rep`: its log rows, then its results
** row, the commit record. Returns the status recorded: "error", with msg
** rewritten, when the row holds a metric the file has no column for. */
const char *lsweep_record_rows(sweep *s, int i, int rep, const char *status, char *msg, size_t sz);
/* Writes the rows still waiting for a header (every trial failed). */
void lsweep_finish_rows(sweep *s);
/* The metatable the files need. */
void lsweep_rows_register(lua_State *L);

/* ---- launcher = "slurm" (lua_slurm.c) ---------------------------------------- */

/* Reads launcher, detach and slurm of the options at index 1. */
void lsweep_slurm_options(sweep *s);
/* Whether this process is a task of a sweep's job array. */
int lsweep_in_task(void);
/* In a task: runs the task's trials of the `total`, `workers` at a time,
** and exits the process; returns -1 when this sweep is not the array's (it
** then runs nothing). */
int lsweep_task(sweep *s, int total, int workers, int threads);
/* Records the trials the spool holds and `out` lacks; returns how many. */
int lsweep_slurm_collect(sweep *s, int seen, int total);
/* After the waiting rows are written: deletes the records of the trials
** that have their rows now. */
void lsweep_slurm_finish(sweep *s, int seen, int total);
/* Runs pending[0..np) (of `total`) as one job array and waits for it, or
** with detach returns once it is submitted. Sets s->job and s->lost. */
void lsweep_slurm_run(sweep *s, int seen, int total, int *pending, int np);

#endif
