/*
** test_sweep.c -- lunet.sweep as a user runs it, through the `lunet`
** program (tests/sweep/trials.lua, tests/sweep/api.lua): crash isolation,
** kill -9 and resume, serial and parallel sweeps giving the same rows,
** reproducible random search, on_failure = "stop", the per-epoch log rows,
** the rules of the Lua API, each trial's timeout and memory limit, and
** launcher = "slurm" through stand-ins for sbatch, squeue and scancel that
** run the array's tasks here (tests/sweep/limits.lua, tests/sweep/fakeslurm/;
** tests/slurm/ runs it against a real Slurm).
*/
#include <criterion/criterion.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "csvfile.h"

static char dir[64];

static void setup(void) {
  strcpy(dir, "/tmp/lunet_sweep_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* Runs `env lunet run tests/sweep/SCRIPT args`; returns the exit status,
** output in out. */
static int run_script(const char *env, const char *script, const char *args, char *out, size_t sz) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s '%s' run '%s/sweep/%s' %s 2>&1", env, getenv("LUNET_EXE"), LUNET_TEST_DIR, script,
           args);
  FILE *p = popen(cmd, "r");
  size_t n = fread(out, 1, sz - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs trials.lua; returns the exit status, output in out. */
static int sweep(const char *file, int workers, const char *mode, char *out, size_t sz) {
  char env[1024], args[1024];
  snprintf(env, sizeof env, "LUNET_PLUGIN_PATH='%s'", getenv("LUNET_CRASH_PLUGIN_DIR"));
  snprintf(args, sizeof args, "'%s/%s' %d %s", dir, file, workers, mode);
  return run_script(env, "trials.lua", args, out, sz);
}

static unsigned char *read_bytes(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *b = NULL;
  *len = 0;
  if (!f) return calloc(1, 1);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static csv_table *read_rows(const char *file) {
  char path[256], err[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  csv_table *t = csv_read(path, err, sizeof err);
  cr_assert_not_null(t, "%s", err);
  return t;
}

static const char *cell(const csv_table *t, int r, const char *col) {
  int c = csv_table_col(t, col);
  cr_assert_geq(c, 0, "no column %s", col);
  return t->cells[r][c];
}

/* "width=..,lr=..,seed=.." of row r */
static void key_of(const csv_table *t, int r, char *buf, size_t sz) {
  snprintf(buf, sz, "%s,%s,%s", cell(t, r, "width"), cell(t, r, "lr"), cell(t, r, "seed"));
}

/* Every key appears exactly once, and there are `want` of them. */
static void expect_each_once(const csv_table *t, int want) {
  cr_expect_eq(t->nrows, want, "%d rows, expected %d", t->nrows, want);
  for (int a = 0; a < t->nrows; a++)
    for (int b = a + 1; b < t->nrows; b++) {
      char ka[128], kb[128];
      key_of(t, a, ka, sizeof ka);
      key_of(t, b, kb, sizeof kb);
      cr_expect_str_neq(ka, kb, "trial %s written twice", ka);
    }
}

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 120);

Test(sweep, a_crashing_plugin_costs_one_row) {
  char out[16384];
  cr_assert_eq(sweep("c.csv", 2, "crash", out, sizeof out), 0, "%s", out);
  /* signal 11, or 6 where AddressSanitizer turns the fault into an abort */
  cr_expect(strstr(out, "crashed: killed by signal"), "the crash was not reported when it happened:\n%s", out);
  csv_table *t = read_rows("c.csv");
  expect_each_once(t, 12);
  int crashed = 0;
  for (int r = 0; r < t->nrows; r++) {
    int bad = strcmp(cell(t, r, "width"), "4") == 0 && strcmp(cell(t, r, "lr"), "0.3") == 0;
    cr_expect_str_eq(cell(t, r, "status"), bad ? "crashed" : "ok", "row %d", r);
    crashed += bad;
  }
  cr_expect_eq(crashed, 2, "both seeds of width 4, lr 0.3 crash");
  csv_table_free(t);
}

Test(sweep, serial_and_parallel_give_the_same_rows_and_a_rerun_skips_all) {
  char out[16384];
  cr_assert_eq(sweep("s1.csv", 1, "plain", out, sizeof out), 0, "%s", out);
  /* stderr is not a terminal: one plain line per finished trial */
  int lines = 0;
  for (const char *p = out; (p = strstr(p, "\n[")); p++) lines++;
  cr_expect_eq(lines, 12, "%d progress lines, expected 12:\n%s", lines, out);
  cr_expect(strstr(out, "[12/12] lr=0.3,width=8,seed=2 ok"), "%s", out);
  cr_assert_eq(sweep("s2.csv", 2, "plain", out, sizeof out), 0, "%s", out);
  csv_table *a = read_rows("s1.csv"), *b = read_rows("s2.csv");
  expect_each_once(a, 12);
  expect_each_once(b, 12);
  for (int r = 0; r < a->nrows; r++) {
    char ka[128], kb[128];
    key_of(a, r, ka, sizeof ka);
    int found = 0;
    for (int q = 0; q < b->nrows && !found; q++) {
      key_of(b, q, kb, sizeof kb);
      if (strcmp(ka, kb)) continue;
      found = 1;
      for (int c = 0; c < a->ncols; c++)
        if (strcmp(a->header[c], "seconds") != 0)
          cr_expect_str_eq(a->cells[r][c], cell(b, q, a->header[c]), "%s of %s differs", a->header[c], ka);
    }
    cr_expect(found, "trial %s missing from the parallel sweep", ka);
  }
  /* provenance on every row */
  cr_expect(strstr(cell(a, 0, "plugins"), "dense@") && *cell(a, 0, "lunet_version") && *cell(a, 0, "abi"));
  csv_table_free(a), csv_table_free(b);
  /* per-epoch rows: 12 trials x 3 epochs, with grid values and seed */
  csv_table *log = read_rows("s1_log.csv");
  cr_expect_eq(log->nrows, 36);
  cr_expect(csv_table_col(log, "width") >= 0 && csv_table_col(log, "seed") >= 0 && csv_table_col(log, "epoch") >= 0);
  csv_table_free(log);
  cr_assert_eq(sweep("s1.csv", 2, "plain", out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "RESULT total=12 skipped=12 done=0 failed=0"), "%s", out);
}

/* Starts the 50-trial sweep in the background; returns its pid. */
static pid_t start_slow(const char *path) {
  pid_t pid = fork();
  if (pid == 0) {
    char script[1024];
    snprintf(script, sizeof script, "%s/sweep/trials.lua", LUNET_TEST_DIR);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1), dup2(null, 2);
    execl(getenv("LUNET_EXE"), "lunet", "run", script, path, "2", "slow", (char *)NULL);
    _exit(127);
  }
  return pid;
}

static int count_lines(const char *path) {
  size_t len = 0;
  unsigned char *b = read_bytes(path, &len);
  int n = 0;
  for (size_t i = 0; i < len; i++) n += b[i] == '\n';
  free(b);
  return n;
}

/* Waits until `path` has at least `rows` rows, then kills the sweep with
** SIGKILL; returns the rows it had. */
static int kill_after(pid_t pid, const char *path, int rows) {
  int have = 0;
  for (int tries = 0; tries < 1500 && have < rows; tries++) {
    usleep(10000);
    have = count_lines(path) - 1; /* the header */
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return count_lines(path) - 1;
}

/* The issue's "done when": a 50-trial sweep killed twice with kill -9 and
** resumed ends with every trial exactly once, in both files, and every row
** written before a kill is still there byte for byte. */
Test(sweep, kill_9_then_resume_loses_nothing_and_writes_nothing_twice) {
  char path[256], logpath[256];
  snprintf(path, sizeof path, "%s/k.csv", dir);
  snprintf(logpath, sizeof logpath, "%s/k_log.csv", dir);
  int first = kill_after(start_slow(path), path, 8);
  cr_assert_geq(first, 8, "the sweep wrote %d rows", first);
  cr_assert_lt(first, 50, "the sweep finished before it was killed");
  size_t len1, len2, len3;
  unsigned char *b1 = read_bytes(path, &len1);
  int second = kill_after(start_slow(path), path, first + 10);
  cr_assert_lt(second, 50, "the resumed sweep finished before it was killed");
  unsigned char *b2 = read_bytes(path, &len2);
  cr_assert_geq(len2, len1);
  cr_expect_eq(memcmp(b1, b2, len1), 0, "rows written before the first kill changed");

  char out[16384];
  cr_assert_eq(sweep("k.csv", 2, "slow", out, sizeof out), 0, "%s", out);
  unsigned char *b3 = read_bytes(path, &len3);
  cr_assert_geq(len3, len2);
  cr_expect_eq(memcmp(b2, b3, len2), 0, "rows written before the second kill changed");
  free(b1), free(b2), free(b3);
  csv_table *after = read_rows("k.csv");
  expect_each_once(after, 50);
  for (int r = 0; r < after->nrows; r++) cr_expect_str_eq(cell(after, r, "status"), "ok");
  csv_table_free(after);

  /* 3 epochs a trial, each logged once: no trial in flight at a kill left rows */
  csv_table *log = read_rows("k_log.csv");
  cr_expect_eq(log->nrows, 150, "%d log rows, expected 50 trials x 3 epochs", log->nrows);
  for (int a = 0; a < log->nrows; a++)
    for (int b = a + 1; b < log->nrows; b++) {
      char ka[160], kb[160];
      key_of(log, a, ka, sizeof ka);
      key_of(log, b, kb, sizeof kb);
      cr_expect(strcmp(ka, kb) || strcmp(cell(log, a, "epoch"), cell(log, b, "epoch")),
                "epoch %s of %s logged twice", cell(log, a, "epoch"), ka);
    }
  csv_table_free(log);
}

Test(sweep, random_search_is_reproducible_from_its_seed) {
  char out[16384];
  cr_assert_eq(sweep("r1.csv", 2, "random 7", out, sizeof out), 0, "%s", out);
  cr_assert_eq(sweep("r2.csv", 1, "random 7", out, sizeof out), 0, "%s", out);
  cr_assert_eq(sweep("r3.csv", 1, "random 8", out, sizeof out), 0, "%s", out);
  csv_table *a = read_rows("r1.csv"), *b = read_rows("r2.csv"), *c = read_rows("r3.csv");
  cr_assert_eq(a->nrows, 12);
  int same_as_other_seed = 0;
  for (int r = 0; r < a->nrows; r++) {
    double lr = atof(cell(a, r, "lr")), decay = atof(cell(a, r, "decay"));
    cr_expect(lr >= 0.01 && lr <= 1 && decay >= 0 && decay <= 0.1, "draw outside its range");
    int found = 0;
    for (int q = 0; q < b->nrows; q++)
      found |= strcmp(cell(a, r, "lr"), cell(b, q, "lr")) == 0 && strcmp(cell(a, r, "seed"), cell(b, q, "seed")) == 0;
    cr_expect(found, "configuration lr=%s not drawn again with the same seed", cell(a, r, "lr"));
    for (int q = 0; q < c->nrows; q++) same_as_other_seed |= strcmp(cell(a, r, "lr"), cell(c, q, "lr")) == 0;
  }
  cr_expect_not(same_as_other_seed, "another random seed drew the same learning rates");
  csv_table_free(a), csv_table_free(b), csv_table_free(c);
}

Test(sweep, on_failure_stop_ends_the_sweep_at_the_first_failure) {
  char out[16384];
  cr_assert_eq(sweep("f.csv", 1, "stop", out, sizeof out), 0, "%s", out);
  csv_table *t = read_rows("f.csv");
  cr_expect_lt(t->nrows, 12, "the sweep went on after the failure");
  cr_expect_str_eq(cell(t, t->nrows - 1, "status"), "error");
  cr_expect(strstr(cell(t, t->nrows - 1, "message"), "planned failure"));
  csv_table_free(t);
}

/* tests/sweep/api.lua: argument errors, BLAS threads in trials, keys and
** duplicates, a changed grid, metric columns, failures before the first
** good trial, what run() returns or raises, log rows of unfinished trials,
** a partial last line. Run with LUNET_THREADS=2: trials still get 1. */
Test(sweep, lua_api_rules) {
  char cmd[2048], out[65536];
  snprintf(cmd, sizeof cmd, "LUNET_THREADS=2 '%s' run '%s/sweep/api.lua' '%s' 2>&1", getenv("LUNET_EXE"),
           LUNET_TEST_DIR, dir);
  FILE *p = popen(cmd, "r");
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "api.lua failed:\n%s", out);
  cr_expect(strstr(out, "api ok"), "%s", out);
}

/* Whether process pid exists and is not a zombie (a killed process whose
** parent died waits for init to reap it, which some containers never do). */
static int process_runs(int pid) {
  char path[64], state = 'Z';
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1) state = '?';
  fclose(f);
  return state != 'Z';
}

/* A trial past its timeout is killed with what it started and recorded as
** timeout; one that allocates past its memory limit is recorded as oom;
** the others go on. The sleeping trial's shell must be gone afterwards. */
Test(sweep, timeout_and_memory_limits_end_one_trial_each) {
  char out[16384], args[512];
  snprintf(args, sizeof args, "'%s' limits", dir);
  double t0 = (double)time(NULL);
  /* AddressSanitizer aborts when an allocation fails, unless told to return NULL as malloc does */
  const char *env = "ASAN_OPTIONS=\"$ASAN_OPTIONS:allocator_may_return_null=1\"";
  cr_assert_eq(run_script(env, "limits.lua", args, out, sizeof out), 0, "%s", out);
  cr_expect_lt((double)time(NULL) - t0, 30, "the sweep waited for the trial that sleeps 60 s");
  cr_expect(strstr(out, "timeout: ran past its timeout of 2 s"), "not reported when it happened:\n%s", out);
  csv_table *t = read_rows("limits.csv");
  cr_assert_eq(t->nrows, 4);
  for (int r = 0; r < t->nrows; r++) {
    const char *kind = cell(t, r, "kind"), *status = cell(t, r, "status");
    const char *want = strcmp(kind, "sleep") == 0 ? "timeout" : strcmp(kind, "alloc") == 0 ? "oom" : "ok";
    cr_expect_str_eq(status, want, "trial %s: %s (%s)", kind, status, cell(t, r, "message"));
    if (strcmp(want, "oom") == 0) cr_expect(strstr(cell(t, r, "message"), "memory = 32M"), "%s", cell(t, r, "message"));
  }
  csv_table_free(t);
  char path[256];
  snprintf(path, sizeof path, "%s/sleep.pid", dir);
  FILE *f = fopen(path, "r");
  int pid = 0;
  cr_assert(f && fscanf(f, "%d", &pid) == 1, "the sleeping trial did not start its shell");
  fclose(f);
  cr_expect(!process_runs(pid), "process %d, started by the timed-out trial, still runs", pid);
}

Test(sweep, limit_and_launcher_options_are_checked) {
  char out[16384], args[512];
  snprintf(args, sizeof args, "'%s' rules", dir);
  cr_expect_eq(run_script("", "limits.lua", args, out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "rules ok"), "%s", out);
  snprintf(args, sizeof args, "'%s' nosbatch", dir);
  cr_expect_eq(run_script("PATH=/nonexistent", "limits.lua", args, out, sizeof out), 1, "%s", out);
  cr_expect(strstr(out, "`sbatch --parsable") && strstr(out, "cannot run sbatch") && strstr(out, "hint:"),
            "no clear message without sbatch:\n%s", out);
}

/* The PATH with the stand-ins first, and where sbatch writes its arguments. */
static void fake_slurm_env(char *env, size_t sz, const char *more) {
  snprintf(env, sz, "PATH='%s/sweep/fakeslurm':\"$PATH\" FAKE_SLURM_LOG='%s/sbatch.args' %s", LUNET_TEST_DIR, dir,
           more);
}

/* Runs `limits.lua DIR mode` through the stand-ins, `more` added to its
** environment; returns the exit status, output in out. */
static int fake_slurm_run(const char *mode, const char *more, char *out, size_t sz) {
  char args[512], env[2048];
  fake_slurm_env(env, sizeof env, more);
  snprintf(args, sizeof args, "'%s' %s", dir, mode);
  return run_script(env, "limits.lua", args, out, sz);
}

/* The Slurm launcher's own logic, without a cluster: the manifest, the
** job script, tasks that rerun the script (two trials each, two workers),
** the spool, statuses, resume. */
Test(sweep, slurm_launcher_through_stand_ins_records_each_trial_once) {
  char out[16384];
  cr_assert_eq(fake_slurm_run("fake", "", out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "submitted job array 4242 (3 tasks) for 6 trials"), "%s", out);
  cr_expect(strstr(out, "RESULT total=6 skipped=0 done=6 failed=3 lost=0 job=4242"), "%s", out);
  size_t len;
  char path[256];
  snprintf(path, sizeof path, "%s/sbatch.args", dir);
  char *sbatch = (char *)read_bytes(path, &len);
  const char *want[] = {"--parsable", "--array=0-2%2", "--partition=p", "--time=10", "--cpus-per-task=2",
                        "--mem=1G", "--qos=x", "fake.csv.spool/job-"};
  for (size_t k = 0; k < sizeof want / sizeof *want; k++)
    cr_expect(strstr(sbatch, want[k]), "sbatch got no %s: %s", want[k], sbatch);
  free(sbatch);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ls '%s'/fake.csv.spool/*.trial >/dev/null 2>&1", dir);
  cr_expect(system(cmd) != 0, "records of recorded trials are left in the spool");
  cr_assert_eq(fake_slurm_run("fake", "", out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "RESULT total=6 skipped=6 done=0"), "the rerun ran trials again:\n%s", out);
  csv_table *t = read_rows("fake.csv");
  cr_assert_eq(t->nrows, 6);
  for (int r = 0; r < t->nrows; r++) {
    const char *kind = cell(t, r, "kind"), *status = cell(t, r, "status");
    const char *want_status = strcmp(kind, "error") == 0 ? "error" : strcmp(kind, "exit") == 0 ? "crashed"
                            : strcmp(kind, "sleep") == 0 ? "timeout" : "ok";
    cr_expect_str_eq(status, want_status, "trial %s: %s (%s)", kind, status, cell(t, r, "message"));
    for (int q = r + 1; q < t->nrows; q++) cr_expect_str_neq(kind, cell(t, q, "kind"), "trial %s twice", kind);
  }
  csv_table_free(t);
  cr_expect_eq(fake_slurm_run("nosbatch", "FAKE_SBATCH_FAIL=1", out, sizeof out), 1, "%s", out);
  cr_expect(strstr(out, "failed (exit status 1): sbatch: error: invalid partition") && strstr(out, "hint:"),
            "sbatch's failure is not reported with its message:\n%s", out);
}

/* A task finds its trials in the manifest whatever the length of their
** keys: a line of 9000 bytes is one trial, and the lines after it keep
** their tasks. */
Test(sweep, slurm_tasks_read_manifest_lines_of_any_length) {
  char out[16384];
  cr_assert_eq(fake_slurm_run("longkey", "", out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "RESULT total=3 done=3 failed=0 lost=0"), "%s", out);
  csv_table *t = read_rows("long.csv");
  cr_assert_eq(t->nrows, 3);
  int sum = 0;
  for (int r = 0; r < t->nrows; r++) sum += atoi(cell(t, r, "value"));
  cr_expect_eq(sum, 9002, "the values are not those of the three trials");
  csv_table_free(t);
}

/* The descriptors above 2 open on /dev/null that a program started from
** here inherits (those without close-on-exec). */
static int inherited_nulls(void) {
  int n = 0;
  for (int fd = 3; fd < 1024; fd++) {
    char link[64], target[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len < 0 || (fcntl(fd, F_GETFD) & FD_CLOEXEC)) continue;
    target[len] = '\0';
    n += strcmp(target, "/dev/null") == 0;
  }
  return n;
}

/* sbatch, squeue and scancel get /dev/null as their stdin, and no other
** copy of it. */
Test(sweep, a_slurm_command_gets_no_stray_descriptor) {
  char *argv[] = {"sh", "-c", "ls -l /proc/$$/fd", NULL};
  strbuf out = {0}, err = {0};
  cr_assert_eq(sweep_command(argv, &out, &err), 0, "%s", err.p);
  int nulls = 0;
  for (const char *p = out.p; (p = strstr(p, "/dev/null")); p++) nulls++;
  cr_expect_eq(nulls, 1 + inherited_nulls(), "/dev/null open %d times in the command:\n%s", nulls, out.p);
  free(out.p);
  free(err.p);
}

/* lua_sweep.h's, declared here: its type `sweep` would clash with sweep() above. */
const char *lsweep_push_report(lua_State *L, const char *out, size_t len, int wstatus, double seconds,
                               double timeout, char *msg, size_t sz);

/* A trial's status when the pool had sent the kill at its timeout: timeout
** only if the kill ended it. One that had exited on its own (the parent
** read its end late, under load) keeps the status of its report. */
Test(sweep, a_trial_that_ended_before_the_timeout_kill_keeps_its_status) {
  lua_State *L = luaL_newstate();
  static const char report[] = "T\t0.5\nM\tvalue\tn2\nZ\n";
  char msg[256];
  const char *st = lsweep_push_report(L, report, sizeof report - 1, 0 /* exit 0 */, 0.5, 2.0, msg, sizeof msg);
  cr_expect_str_eq(st, "ok", "a trial that exited 0 was recorded as %s: %s", st, msg);
  st = lsweep_push_report(L, report, 6, SIGKILL /* as waitpid gives it */, 2.0, 2.0, msg, sizeof msg);
  cr_expect_str_eq(st, "timeout", "a trial the timeout killed was recorded as %s", st);
  cr_expect(strstr(msg, "timeout of 2 s"), "message: %s", msg);
  lua_close(L);
}
