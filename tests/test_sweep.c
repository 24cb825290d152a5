/*
** test_sweep.c -- lunet.sweep as a user runs it, through the `lunet`
** program (tests/sweep/trials.lua): crash isolation, kill -9 and resume,
** serial and parallel sweeps giving the same rows, reproducible random
** search, on_failure = "stop", and the per-epoch log rows.
*/
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Runs trials.lua; returns the exit status, output in out. */
static int sweep(const char *file, int workers, const char *mode, char *out, size_t sz) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "LUNET_PLUGIN_PATH='%s' '%s' run '%s/sweep/trials.lua' '%s/%s' %d %s 2>&1",
           getenv("LUNET_CRASH_PLUGIN_DIR"), getenv("LUNET_EXE"), LUNET_TEST_DIR, dir, file, workers, mode);
  FILE *p = popen(cmd, "r");
  size_t n = fread(out, 1, sz - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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

Test(sweep, kill_9_then_resume_loses_nothing_and_writes_nothing_twice) {
  char cmd[2048], path[256];
  snprintf(path, sizeof path, "%s/k.csv", dir);
  pid_t pid = fork();
  if (pid == 0) {
    snprintf(cmd, sizeof cmd, "%s/sweep/trials.lua", LUNET_TEST_DIR);
    char w[] = "2";
    execl(getenv("LUNET_EXE"), "lunet", "run", cmd, path, w, "slow", (char *)NULL);
    _exit(127);
  }
  /* wait for a few finished rows, then kill the whole sweep mid-flight */
  int rows = 0;
  for (int tries = 0; tries < 600 && rows < 5; tries++) {
    usleep(20000);
    FILE *f = fopen(path, "r");
    rows = 0;
    for (int ch; f && (ch = fgetc(f)) != EOF;) rows += ch == '\n';
    if (f) fclose(f);
    rows -= rows > 0; /* the header */
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_assert_geq(rows, 5, "the sweep wrote no rows");
  csv_table *before = read_rows("k.csv");
  cr_assert_lt(before->nrows, 12, "the sweep finished before it was killed");
  char out[16384];
  cr_assert_eq(sweep("k.csv", 2, "slow", out, sizeof out), 0, "%s", out);
  csv_table *after = read_rows("k.csv");
  expect_each_once(after, 12);
  for (int r = 0; r < before->nrows; r++)
    for (int c = 0; c < before->ncols; c++)
      cr_expect_str_eq(before->cells[r][c], after->cells[r][c], "row %d changed on resume", r);
  csv_table_free(before), csv_table_free(after);
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
