/*
** test_csvfile.c -- the CSV results-file writer and reader (host/csvfile.c).
**
** Expected file contents are written out by hand from RFC 4180, not produced
** by the code under test, so a quoting bug cannot cancel itself out in a
** write-then-read round trip.
**
** Build: cc -Ihost host/csvfile.c tests/test_csvfile.c -lcsv -lcriterion -lm
*/
#include <criterion/criterion.h>

#include "csvfile.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void) {
  strcpy(dir, "/tmp/lunet-csv-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[512];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      remove_tree(sub);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void remove_dir(void) { remove_tree(dir); }

TestSuite(csvfile, .init = make_dir, .fini = remove_dir);

/* ---- Helpers ------------------------------------------------------------ */

static const char *in_dir(const char *name) {
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void spit(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

static csvw *open_or_fail(const char *path) {
  char err[512] = "";
  csvw *w = csvw_open(path, err, sizeof err);
  cr_assert_not_null(w, "csvw_open: %s", err);
  return w;
}

static void write_row(csvw *w, const char *const *cols, const char *const *cells, int n) {
  char err[512] = "";
  cr_assert_eq(csvw_write(w, cols, cells, n, err, sizeof err), 0, "csvw_write: %s", err);
}

/* ---- Writing and reading back ------------------------------------------- */

Test(csvfile, quotes_only_what_needs_it) {
  const char *path = in_dir("q.csv");
  const char *cols[] = { "id", "text", "note" };
  const char *r1[] = { "1", "a,b", "say \"hi\"" };
  const char *r2[] = { "2", "two\nlines", " lead" };
  const char *r3[] = { "3", "plain", "" };
  csvw *w = open_or_fail(path);
  write_row(w, cols, r1, 3);
  write_row(w, cols, r2, 3);
  write_row(w, cols, r3, 3);
  csvw_close(w);
  cr_assert_str_eq(slurp(path),
                   "id,text,note\n"
                   "1,\"a,b\",\"say \"\"hi\"\"\"\n"
                   "2,\"two\nlines\",\" lead\"\n"
                   "3,plain,\n");
}

Test(csvfile, round_trip_of_awkward_values) {
  const char *path = in_dir("rt.csv");
  const char *values[] = { "a,b",      "say \"hi\"", "line1\nline2", "  leading",
                           "trailing ", "\"",        "cr\r\nlf",     "",
                           ",",        "x\ty",       "\ttab" };
  int n = (int)(sizeof values / sizeof *values);
  const char *cols[] = { "k", "v" };
  csvw *w = open_or_fail(path);
  for (int i = 0; i < n; i++) {
    char k[16];
    snprintf(k, sizeof k, "%d", i);
    const char *cells[] = { k, values[i] };
    write_row(w, cols, cells, 2);
  }
  csvw_close(w);

  char err[512] = "";
  csv_table *t = csv_read(path, err, sizeof err);
  cr_assert_not_null(t, "csv_read: %s", err);
  cr_assert_eq(t->ncols, 2);
  cr_assert_str_eq(t->header[0], "k");
  cr_assert_str_eq(t->header[1], "v");
  cr_assert_eq(t->nrows, n);
  for (int i = 0; i < n; i++)
    cr_assert_str_eq(t->cells[i][1], values[i], "row %d", i);
  cr_assert_eq(t->partial_tail, 0);
  csv_table_free(t);
}

Test(csvfile, reads_rfc4180_by_hand) {
  const char *path = in_dir("hand.csv");
  spit(path, "name,quote\r\n\"Smith, J\",\"He said \"\"no\"\"\r\nand left\"\r\n");
  char err[512] = "";
  csv_table *t = csv_read(path, err, sizeof err);
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(t->nrows, 1);
  cr_assert_str_eq(t->cells[0][0], "Smith, J");
  cr_assert_str_eq(t->cells[0][1], "He said \"no\"\r\nand left");
  cr_assert_eq(csv_table_col(t, "quote"), 1);
  cr_assert_eq(csv_table_col(t, "nope"), -1);
  csv_table_free(t);
}

Test(csvfile, first_row_fixes_the_header) {
  const char *path = in_dir("first.csv");
  const char *cols[] = { "width", "test_error" };
  const char *cells[] = { "64", "0.12" };
  csvw *w = open_or_fail(path);
  cr_assert_eq(csvw_ncols(w), 0);
  write_row(w, cols, cells, 2);
  cr_assert_eq(csvw_ncols(w), 2);
  cr_assert_str_eq(csvw_col(w, 1), "test_error");
  cr_assert_null(csvw_col(w, 2));
  cr_assert_eq(csvw_sync(w), 0);
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "width,test_error\n64,0.12\n");
}

Test(csvfile, creates_parent_directories) {
  const char *path = in_dir("results/deep/er/x.csv");
  const char *cols[] = { "a" };
  const char *cells[] = { "1" };
  csvw *w = open_or_fail(path);
  write_row(w, cols, cells, 1);
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "a\n1\n");
}

/* ---- Appending ---------------------------------------------------------- */

Test(csvfile, append_keeps_one_header_and_reorders) {
  const char *path = in_dir("app.csv");
  char err[512] = "";
  const char *cols[] = { "a", "b", "c" };
  const char *cells[] = { "1", "2", "3" };
  csvw *w = open_or_fail(path);
  cr_assert_eq(csvw_set_header(w, cols, 3, err, sizeof err), 0, "%s", err);
  write_row(w, cols, cells, 3);
  csvw_close(w);

  w = open_or_fail(path);
  cr_assert_eq(csvw_ncols(w), 3);
  cr_assert_str_eq(csvw_col(w, 0), "a");
  cr_assert_str_eq(csvw_col(w, 2), "c");
  const char *cols2[] = { "c", "a", "b" };
  const char *cells2[] = { "30", "10", "20" };
  cr_assert_eq(csvw_set_header(w, cols2, 3, err, sizeof err), 0, "%s", err);
  write_row(w, cols2, cells2, 3);
  const char *some[] = { "b" };
  const char *cell[] = { "x,y" };
  write_row(w, some, cell, 1); /* a and c left empty */
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "a,b,c\n1,2,3\n10,20,30\n,\"x,y\",\n");
}

Test(csvfile, header_mismatch_names_the_columns) {
  const char *path = in_dir("mis.csv");
  spit(path, "a,b,c\n1,2,3\n");
  char err[512] = "";
  csvw *w = open_or_fail(path);
  const char *cols[] = { "a", "b", "d" };
  cr_assert_eq(csvw_set_header(w, cols, 3, err, sizeof err), -1);
  cr_assert_not_null(strstr(err, "mis.csv"), "%s", err);
  cr_assert_not_null(strstr(err, "'c'"), "missing column not named: %s", err);
  cr_assert_not_null(strstr(err, "'d'"), "extra column not named: %s", err);
  const char *cells[] = { "1", "2", "4" };
  err[0] = '\0';
  cr_assert_eq(csvw_write(w, cols, cells, 3, err, sizeof err), -1);
  cr_assert_not_null(strstr(err, "'d'"), "unknown column not named: %s", err);
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "a,b,c\n1,2,3\n"); /* nothing written */
}

Test(csvfile, duplicate_column_is_refused) {
  csvw *w = open_or_fail(in_dir("dup.csv"));
  char err[512] = "";
  const char *cols[] = { "a", "a" };
  cr_assert_eq(csvw_set_header(w, cols, 2, err, sizeof err), -1);
  cr_assert_not_null(strstr(err, "'a'"), "%s", err);
  csvw_close(w);
}

Test(csvfile, partial_last_line_is_cut_on_open) {
  const char *path = in_dir("kill.csv");
  spit(path, "a,b\n1,2\n3,0.12");
  csvw *w = open_or_fail(path);
  cr_assert_eq(csvw_dropped(w), strlen("3,0.12"));
  cr_assert_eq(csvw_ncols(w), 2);
  cr_assert_str_eq(slurp(path), "a,b\n1,2\n");
  const char *cols[] = { "a", "b" };
  const char *cells[] = { "5", "6" };
  write_row(w, cols, cells, 2);
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "a,b\n1,2\n5,6\n");
}

/* A full disk, played by RLIMIT_FSIZE in a child: the write stops part-way
** (then EFBIG); the file must still end at its last complete row. */
Test(csvfile, failed_write_leaves_no_partial_row) {
  const char *path = in_dir("full.csv");
  spit(path, "a,b\n1,2\n");
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = { 12, 12 }; /* room for 3 more bytes */
    char err[512] = "";
    csvw *w = csvw_open(path, err, sizeof err);
    if (!w || setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(2);
    const char *cols[] = { "a", "b" };
    const char *cells[] = { "3", "a long cell that does not fit" };
    int rc = csvw_write(w, cols, cells, 2, err, sizeof err);
    _exit(rc == -1 && strstr(err, "disk full") ? 0 : 1);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the failed write was not reported (status %d)", st);
  cr_assert_str_eq(slurp(path), "a,b\n1,2\n");
  csvw *w = open_or_fail(path);
  cr_assert_eq(csvw_dropped(w), 0);
  const char *cols[] = { "a", "b" };
  const char *cells[] = { "5", "6" };
  write_row(w, cols, cells, 2);
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "a,b\n1,2\n5,6\n");
}

/* Rows written after the file was deleted would be lost: refused, naming it. */
Test(csvfile, deleted_file_is_an_error) {
  const char *path = in_dir("gone.csv");
  csvw *w = open_or_fail(path);
  const char *cols[] = { "a" };
  const char *cells[] = { "1" };
  write_row(w, cols, cells, 1);
  cr_assert_eq(unlink(path), 0);
  char err[512] = "";
  cr_assert_eq(csvw_write(w, cols, cells, 1, err, sizeof err), -1, "a row went into a deleted file");
  cr_assert(strstr(err, "gone.csv") && strstr(err, "deleted or replaced"), "%s", err);
  spit(path, "a\n1\n"); /* replaced by another file: refused too */
  cr_assert_eq(csvw_write(w, cols, cells, 1, err, sizeof err), -1, "a row went into a replaced file");
  csvw_close(w);
}

Test(csvfile, partial_line_inside_quotes_is_cut) {
  /* The file ends in '\n', but that newline is inside an open quote. */
  const char *path = in_dir("killq.csv");
  spit(path, "a,b\n1,2\n3,\"first line\n");
  csvw *w = open_or_fail(path);
  cr_assert_eq(csvw_dropped(w), strlen("3,\"first line\n"));
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "a,b\n1,2\n");
}

Test(csvfile, partial_header_leaves_an_empty_file) {
  const char *path = in_dir("killh.csv");
  spit(path, "width,test_er");
  csvw *w = open_or_fail(path);
  cr_assert_eq(csvw_ncols(w), 0);
  const char *cols[] = { "width", "test_error" };
  const char *cells[] = { "8", "0.5" };
  write_row(w, cols, cells, 2);
  csvw_close(w);
  cr_assert_str_eq(slurp(path), "width,test_error\n8,0.5\n");
}

Test(csvfile, open_fails_with_a_message) {
  spit(in_dir("file"), "x");
  char err[512] = "";
  cr_assert_null(csvw_open(in_dir("file/sub.csv"), err, sizeof err));
  cr_assert_not_null(strstr(err, "file/sub.csv"), "%s", err);
}

/* ---- Reading errors ----------------------------------------------------- */

Test(csvfile, ragged_row_names_its_line) {
  const char *path = in_dir("rag.csv");
  spit(path, "a,b\n1,2\n3\n4,5\n");
  char err[512] = "";
  cr_assert_null(csv_read(path, err, sizeof err));
  cr_assert_not_null(strstr(err, "rag.csv:3:"), "%s", err);
}

Test(csvfile, reader_ignores_a_partial_tail) {
  const char *path = in_dir("tail.csv");
  spit(path, "a,b,c\n1,2,3\n4,5");
  char err[512] = "";
  csv_table *t = csv_read(path, err, sizeof err);
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(t->nrows, 1);
  cr_assert_eq(t->partial_tail, 1);
  csv_table_free(t);
}

Test(csvfile, reader_errors) {
  char err[512] = "";
  cr_assert_null(csv_read(in_dir("absent.csv"), err, sizeof err));
  cr_assert_not_null(strstr(err, "absent.csv"), "%s", err);
  spit(in_dir("empty.csv"), "");
  cr_assert_null(csv_read(in_dir("empty.csv"), err, sizeof err));
  cr_assert_not_null(strstr(err, "empty"), "%s", err);
}

/* ---- Numbers ------------------------------------------------------------ */

static void expect_format(double v, const char *text) {
  char buf[32];
  cr_assert_str_eq(csv_format_number(v, buf), text, "format(%.17g)", v);
}

Test(csvfile, shortest_round_trip_formatting) {
  expect_format(0.1, "0.1");
  expect_format(64, "64");
  expect_format(-3, "-3");
  expect_format(0, "0");
  expect_format(1e-300, "1e-300");
  expect_format(1e-4, "0.0001");
  expect_format(2.5e-5, "2.5e-05");
  expect_format(0.1 + 0.2, "0.30000000000000004");
  expect_format(123456.789, "123456.789");
  expect_format(9007199254740992.0, "9007199254740992"); /* 2^53 */
  expect_format(1e22, "1e+22");
  expect_format(NAN, "nan");
  expect_format(INFINITY, "inf");
  expect_format(-INFINITY, "-inf");
}

Test(csvfile, formatting_round_trips_exactly) {
  const double v[] = { 1.0 / 3, 2.0 / 3, M_PI, -M_E, 1e-300, 4.9e-324,
                       1.7976931348623157e308, 0.1 + 0.7, 1234.5678e-9 };
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
    char buf[32];
    const char *s = csv_format_number(v[i], buf);
    cr_assert_eq(strtod(s, NULL), v[i], "%s does not read back as %.17g", s, v[i]);
    cr_assert_lt(strlen(s), 25u);
  }
  char buf[32];
  cr_assert_str_eq(csv_format_number(1.0 / 3, buf), "0.3333333333333333");
}

Test(csvfile, cell_numbers) {
  double v = 0;
  cr_assert(csv_cell_number("1.5", &v) && v == 1.5);
  cr_assert(csv_cell_number(" 2 ", &v) && v == 2);
  cr_assert(csv_cell_number("-1e-3", &v) && v == -1e-3);
  cr_assert(csv_cell_number("nan", &v) && isnan(v));
  cr_assert(csv_cell_number("inf", &v) && isinf(v) && v > 0);
  cr_assert(csv_cell_number("-inf", &v) && isinf(v) && v < 0);
  cr_assert_not(csv_cell_number("", &v));
  cr_assert_not(csv_cell_number("  ", &v));
  cr_assert_not(csv_cell_number("ok", &v));
  cr_assert_not(csv_cell_number("1.5x", &v));
  cr_assert_not(csv_cell_number("1,5", &v));
}

/* ---- Several writers ---------------------------------------------------- */

Test(csvfile, concurrent_appends_stay_whole_rows) {
  /* Sweep workers are separate processes; their rows must not interleave. */
  const char *path = in_dir("par.csv");
  enum { WRITERS = 4, ROWS = 200 };
  for (int p = 0; p < WRITERS; p++) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
      char err[512];
      csvw *w = csvw_open(path, err, sizeof err);
      if (!w) _exit(1);
      const char *cols[] = { "writer", "i", "text" };
      for (int i = 0; i < ROWS; i++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", p);
        snprintf(b, sizeof b, "%d", i);
        const char *cells[] = { a, b, "a long cell, with a comma, \"quotes\" and\na newline" };
        if (csvw_write(w, cols, cells, 3, err, sizeof err) != 0) _exit(2);
      }
      csvw_close(w);
      _exit(0);
    }
  }
  for (int p = 0; p < WRITERS; p++) {
    int status;
    wait(&status);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  char err[512] = "";
  csv_table *t = csv_read(path, err, sizeof err);
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(t->ncols, 3);
  cr_assert_eq(t->nrows, WRITERS * ROWS, "one header, every row once");
  for (int r = 0; r < t->nrows; r++)
    cr_assert_str_eq(t->cells[r][2], "a long cell, with a comma, \"quotes\" and\na newline");
  csv_table_free(t);
}
