/*
** test_summary_plot.c -- `lunet summary` and `lunet plot` (host/summary.c,
** host/plot.c, host/where.c), and heatmaps, contour maps and surfaces
** (`lunet plot --style heatmap|contour|surface`, host/heatmap.c), called
** through their entry points with stdout and stderr captured in files.
**
** The expected means and standard deviations are worked out by hand in the
** comments. The figure tests need gnuplot and are skipped without it; the
** error tests do not.
**
** Build: cc -Ihost host/csvfile.c host/summary.c host/plot.c
**           tests/test_summary_plot.c -lcsv -lcriterion -lm
*/
#include <criterion/criterion.h>

#include "heatmap.h"
#include "number.h"
#include "plot.h"
#include "summary.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void) {
  strcpy(dir, "/tmp/lunet-sp-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(path);
  }
  if (d) closedir(d);
  rmdir(dir);
}

TestSuite(summary, .init = make_dir, .fini = remove_dir);
TestSuite(plot, .init = make_dir, .fini = remove_dir);
TestSuite(heatmap, .init = make_dir, .fini = remove_dir);

/* ---- Helpers ------------------------------------------------------------ */

static char *in_dir(const char *name) {
  static char path[16][256]; /* a few may be in use at once */
  static int next;
  char *p = path[next++ % 16];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static void spit(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

/* The whole file, malloc'd (NUL-terminated; *LEN gets the byte count). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return buf;
}

typedef struct result {
  int rc;
  char *out, *err;
} result;

/* Runs MAIN(argv) with stdout and stderr going to files, then reads them. */
static result run(int (*main_fn)(int, char **), char **argv) {
  int argc = 0;
  while (argv[argc]) argc++;
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(1), saved_err = dup(2);
  char *out_path = strdup(in_dir("stdout.txt")), *err_path = strdup(in_dir("stderr.txt"));
  int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert(fo >= 0 && fe >= 0);
  dup2(fo, 1);
  dup2(fe, 2);
  close(fo);
  close(fe);
  result r;
  r.rc = main_fn(argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  r.out = slurp(out_path, NULL);
  r.err = slurp(err_path, NULL);
  free(out_path);
  free(err_path);
  return r;
}

static void free_result(result *r) {
  free(r->out);
  free(r->err);
}

/* Asserts that PATH is a PNG of more than a kilobyte. */
static void assert_png(const char *path) {
  size_t len;
  char *img = slurp(path, &len);
  cr_assert_gt(len, 1000u, "%s is nearly empty", path);
  cr_assert_eq(memcmp(img, "\x89PNG\r\n\x1a\n", 8), 0, "%s is not a PNG", path);
  free(img);
}

static int have_gnuplot(void) {
  return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* Three runs of (mlp, 0.1), one of cnn, one of (mlp, 0.01); status is text. */
static const char RESULTS[] =
    "model,lr,seed,loss,status\n"
    "mlp,0.1,1,1.0,ok\n"
    "mlp,0.1,2,2.0,ok\n"
    "cnn,0.1,1,0.5,ok\n"
    "mlp,0.1,3,4.0,ok\n"
    "mlp,0.01,1,3.0,ok\n";

/* Splits LINE (no quoted cells) at commas into at most MAX cells. */
static int split(char *line, char **cells, int max) {
  int n = 0;
  for (char *p = line; n < max; p++) {
    cells[n++] = p;
    p = strchr(p, ',');
    if (!p) break;
    *p = '\0';
  }
  return n;
}

static double number(const char *s) {
  char *end;
  double v = strtod(s, &end);
  cr_assert(end != s && *end == '\0', "not a number: '%s'", s);
  return v;
}

/* ---- summary ------------------------------------------------------------ */

Test(summary, csv_means_and_stds_by_hand) {
  char *csv = in_dir("r.csv");
  spit(csv, RESULTS);
  char *argv[] = { "summary", csv, "--by", "model,lr", "--csv", NULL };
  result r = run(summary_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);

  char *lines[8];
  int n = 0;
  for (char *l = strtok(r.out, "\n"); l && n < 8; l = strtok(NULL, "\n")) lines[n++] = l;
  cr_assert_eq(n, 4, "want a header and 3 groups:\n%s", r.out);
  /* seed is bookkeeping: left out (--all keeps it, see below) */
  cr_assert_str_eq(lines[0], "model,lr,n,loss_mean,loss_std");

  char *c[8];
  /* Groups sorted by model (text: mlp, then cnn, as they first occur),
     then by lr as numbers (0.01 before 0.1). mlp,0.01: one row, loss 3. */
  cr_assert_eq(split(lines[1], c, 8), 5);
  cr_assert_str_eq(c[0], "mlp");
  cr_assert_str_eq(c[1], "0.01");
  cr_assert_float_eq(number(c[3]), 3.0, 1e-15);
  /* mlp,0.1: loss 1,2,4: mean 7/3; deviations -4/3,-1/3,5/3 -> squares sum
     42/9, over n-1=2 -> 7/3, std sqrt(7/3). */
  cr_assert_eq(split(lines[2], c, 8), 5);
  cr_assert_str_eq(c[0], "mlp");
  cr_assert_str_eq(c[1], "0.1");
  cr_assert_str_eq(c[2], "3");
  cr_assert_float_eq(number(c[3]), 7.0 / 3.0, 1e-12);
  cr_assert_float_eq(number(c[4]), sqrt(7.0 / 3.0), 1e-12);
  /* cnn,0.1: one row: mean 0.5, std 0. */
  cr_assert_eq(split(lines[3], c, 8), 5);
  cr_assert_str_eq(c[0], "cnn");
  cr_assert_str_eq(c[2], "1");
  cr_assert_float_eq(number(c[3]), 0.5, 1e-15);
  cr_assert_float_eq(number(c[4]), 0.0, 1e-15);
  free_result(&r);
}

/* A sweep's rows: lr spelled as the sweep writes numbers, out of order, and
** the bookkeeping columns it adds. */
static const char SWEPT[] =
    "lr,opt,seed,test_error,seconds,abi,lunet_version,status\n"
    "0.1,sgd,1,0.30,2,2.1,0.9.0,ok\n"
    "0.01,sgd,1,0.20,4,2.1,0.9.0,ok\n"
    "1e-3,sgd,1,0.25,6,2.1,0.9.0,ok\n"
    "0.1,adam,1,0.50,2,2.1,0.9.0,ok\n"
    "0.01,adam,1,0.15,4,2.1,0.9.0,ok\n"
    "0.1,sgd,2,0.32,2,2.1,0.9.0,ok\n";

/* The first cells of the lines of OUT after the header, joined by spaces. */
static void first_cells(const char *out, char *buf, size_t size) {
  buf[0] = '\0';
  const char *line = strchr(out, '\n');
  while (line && line[1]) {
    line++;
    size_t n = strcspn(line, ", \n");
    snprintf(buf + strlen(buf), size - strlen(buf), "%s%.*s", buf[0] ? " " : "", (int)n, line);
    line = strchr(line, '\n');
  }
}

Test(summary, groups_sorted_numerically_bookkeeping_left_out) {
  char *csv = in_dir("swept.csv");
  spit(csv, SWEPT);
  char *argv[] = { "summary", csv, "--by", "lr", "--csv", NULL };
  result r = run(summary_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  char order[256];
  first_cells(r.out, order, sizeof order);
  cr_assert_str_eq(order, "1e-3 0.01 0.1", "%s", r.out);
  cr_assert(strncmp(r.out, "lr,n,test_error_mean,test_error_std,seconds_mean,seconds_std\n", 60) == 0,
            "seed and abi must be left out, seconds kept:\n%s", r.out);
  free_result(&r);
  /* --all keeps them: seed over the three rows of lr 0.1 is 1, 1, 2 */
  char *all[] = { "summary", csv, "--by", "lr", "--csv", "--all", NULL };
  r = run(summary_main, all);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  cr_assert_not_null(strstr(r.out, "seed_mean,seed_std"), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "abi_mean"), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "\n0.1,3,1.3333333333333333,"), "%s", r.out);
  free_result(&r);
  /* a text column keeps the order of appearance: sgd before adam */
  char *text[] = { "summary", csv, "--by", "opt", NULL };
  r = run(summary_main, text);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  first_cells(r.out, order, sizeof order);
  cr_assert_str_eq(order, "sgd adam", "%s", r.out);
  free_result(&r);
}

Test(summary, where_keeps_the_matching_rows) {
  char *csv = in_dir("swept.csv");
  spit(csv, SWEPT);
  /* opt=sgd and lr!=0.001 (spelt 1e-3 in the file): lr 0.1 (0.30, 0.32)
     and 0.01 (0.20). lr 0.1: mean 0.31, std sqrt(2 * 0.01^2) = 0.01414. */
  char *argv[] = { "summary", csv, "--by", "lr", "--where", "opt=sgd", "--where", "lr!=0.001",
                   "--csv", NULL };
  result r = run(summary_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  char order[256];
  first_cells(r.out, order, sizeof order);
  cr_assert_str_eq(order, "0.01 0.1", "%s", r.out);
  char *row = strstr(r.out, "\n0.1,2,"), *c[8];
  cr_assert_not_null(row, "%s", r.out);
  cr_assert_geq(split(strtok(row + 1, "\n"), c, 8), 4);
  cr_assert_float_eq(number(c[2]), 0.31, 1e-12);
  cr_assert_float_eq(number(c[3]), sqrt(2e-4), 1e-12);
  free_result(&r);
}

Test(summary, where_errors_name_the_column_or_values) {
  char *csv = in_dir("swept.csv");
  spit(csv, SWEPT);
  char *none[] = { "summary", csv, "--by", "lr", "--where", "opt=rmsprop", NULL };
  result r = run(summary_main, none);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "no row left after --where opt=rmsprop"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "values of 'opt': sgd, adam"), "%s", r.err);
  free_result(&r);
  char *col[] = { "summary", csv, "--by", "lr", "--where", "optim=sgd", NULL };
  r = run(summary_main, col);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "no column 'optim'"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "available columns: lr, opt, seed"), "%s", r.err);
  free_result(&r);
  char *syntax[] = { "summary", csv, "--by", "lr", "--where", "sgd", NULL };
  r = run(summary_main, syntax);
  cr_assert_eq(r.rc, 2);
  cr_assert_not_null(strstr(r.err, "COLUMN=VALUE"), "%s", r.err);
  free_result(&r);
}

Test(summary, text_table) {
  char *csv = in_dir("r.csv");
  spit(csv, RESULTS);
  char *argv[] = { "summary", csv, "--by", "model", NULL };
  result r = run(summary_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  /* mlp: loss 1,2,4,3: mean 2.5, std sqrt(5/3) = 1.291; cnn: 0.5 ± 0. */
  char *mlp = strstr(r.out, "\nmlp"), *cnn = strstr(r.out, "\ncnn");
  cr_assert(mlp && cnn && mlp < cnn, "groups missing or out of order:\n%s", r.out);
  cr_assert_not_null(strstr(mlp, "2.5 ± 1.291"), "%s", r.out);
  cr_assert_not_null(strstr(cnn, "0.5 ± 0"), "%s", r.out);
  cr_assert_null(strstr(r.out, "status"), "a text column was summarized:\n%s", r.out);
  cr_assert_not_null(strstr(r.out, "loss"));
  /* The ± signs line up: same column offset on both rows. */
  long col_mlp = strstr(mlp, "±") - mlp, col_cnn = strstr(cnn, "±") - cnn;
  cr_assert_eq(col_mlp, col_cnn, "\n%s", r.out);
  free_result(&r);
}

Test(summary, empty_and_nan_cells_are_left_out) {
  char *csv = in_dir("gaps.csv");
  spit(csv, "g,v\na,1\na,nan\na,\na,3\n");
  char *argv[] = { "summary", csv, "--by", "g", "--csv", NULL };
  result r = run(summary_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  /* v over {1, 3}: mean 2, std sqrt(2); n counts the group's 4 rows. */
  char *row = strstr(r.out, "\na,");
  cr_assert_not_null(row, "%s", r.out);
  char *c[4];
  cr_assert_eq(split(strtok(row + 1, "\n"), c, 4), 4);
  cr_assert_str_eq(c[1], "4");
  cr_assert_float_eq(number(c[2]), 2.0, 1e-12);
  cr_assert_float_eq(number(c[3]), sqrt(2.0), 1e-12);
  free_result(&r);
}

Test(summary, unknown_column_lists_the_columns) {
  char *csv = in_dir("r.csv");
  spit(csv, RESULTS);
  char *argv[] = { "summary", csv, "--by", "modle", NULL };
  result r = run(summary_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "'modle'"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "model, lr, seed, loss, status"), "%s", r.err);
  free_result(&r);
}

Test(summary, usage_errors_exit_2) {
  char *no_by[] = { "summary", in_dir("r.csv"), NULL };
  result r = run(summary_main, no_by);
  cr_assert_eq(r.rc, 2);
  cr_assert_not_null(strstr(r.err, "usage: lunet summary"), "%s", r.err);
  free_result(&r);
  char *bad[] = { "summary", "x.csv", "--by", "a", "--bogus", NULL };
  r = run(summary_main, bad);
  cr_assert_eq(r.rc, 2);
  cr_assert_not_null(strstr(r.err, "--bogus"), "%s", r.err);
  free_result(&r);
}

Test(summary, missing_file_is_an_error) {
  char *argv[] = { "summary", in_dir("absent.csv"), "--by", "a", NULL };
  result r = run(summary_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "absent.csv"), "%s", r.err);
  free_result(&r);
}

/* ---- plot --------------------------------------------------------------- */

static const char SWEEP[] =
    "width,wd,seed,status,test_error,train_loss\n"
    "8,0,1,ok,0.30,0.5\n"
    "8,0,2,ok,0.32,0.4\n"
    "16,0,1,ok,0.25,0.2\n"
    "16,0,2,diverged,nan,nan\n"
    "32,0,1,ok,0.28,0.1\n"
    "8,1e-4,1,ok,0.29,0.5\n"
    "16,1e-4,1,ok,0.24,0.25\n"
    "32,1e-4,1,ok,0.22,0.12\n";

Test(plot, writes_a_png) {
  if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
  char *csv = strdup(in_dir("sweep.csv")), *png = strdup(in_dir("fig.png"));
  spit(csv, SWEEP);
  char *argv[] = { "plot", csv, "--x", "width", "--y", "test_error,train_loss",
                   "--group", "wd", "--logx", "-o", png, NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  assert_png(png);
  cr_assert_not_null(strstr(r.err, "is nan, inf"), "no warning for the NaN row: %s", r.err);
  free_result(&r);
  free(csv);
  free(png);
}

Test(plot, writes_an_svg) {
  if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
  char *csv = strdup(in_dir("sweep.csv")), *svg = strdup(in_dir("fig.svg"));
  spit(csv, SWEEP);
  char *argv[] = { "plot", csv, "--x", "width", "--y", "test_error", "--err",
                   "minmax", "--logy", "--title", "It's \"mine\"", "-o", svg, NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  size_t len;
  char *img = slurp(svg, &len);
  cr_assert_gt(len, 100u);
  cr_assert(strncmp(img, "<?xml", 5) == 0 || strstr(img, "<svg"), "not an SVG");
  free(img);
  free_result(&r);
  free(csv);
  free(svg);
}

Test(plot, default_output_is_the_csv_name_with_png) {
  if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
  char *csv = in_dir("sweep.csv");
  spit(csv, SWEEP);
  char *argv[] = { "plot", csv, "--x", "width", "--y", "test_error", NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  struct stat st;
  cr_assert_eq(stat(in_dir("sweep.png"), &st), 0);
  cr_assert_gt(st.st_size, 0);
  free_result(&r);
}

Test(plot, missing_column_is_named) {
  char *csv = in_dir("sweep.csv");
  spit(csv, SWEEP);
  char *argv[] = { "plot", csv, "--x", "width", "--y", "test_eror", "-o",
                   in_dir("x.png"), NULL };
  result r = run(plot_main, argv);
  cr_assert_neq(r.rc, 0);
  cr_assert_not_null(strstr(r.err, "test_eror"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "width, wd, seed, status, test_error, train_loss"),
                     "%s", r.err);
  cr_assert_neq(access(in_dir("x.png"), F_OK), 0, "a figure was left behind");
  free_result(&r);
}

Test(plot, text_column_is_refused) {
  char *csv = in_dir("sweep.csv");
  spit(csv, SWEEP);
  char *argv[] = { "plot", csv, "--x", "width", "--y", "status", NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "'status'"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "no numeric values"), "%s", r.err);
  free_result(&r);
}

Test(plot, log_axis_refuses_negative_values) {
  char *csv = in_dir("neg.csv");
  spit(csv, "wd,e\n-1,0.5\n0.1,0.3\n");
  char *argv[] = { "plot", csv, "--x", "wd", "--y", "e", "--logx", NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "'wd' has the negative value -1"), "%s", r.err);
  free_result(&r);
  char *argy[] = { "plot", csv, "--x", "e", "--y", "wd", "--logy", NULL };
  r = run(plot_main, argy);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "'wd'"), "%s", r.err);
  free_result(&r);
  spit(csv, "wd,e\n0,0.5\n0,0.3\n");
  r = run(plot_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "holds only zeros"), "%s", r.err);
  free_result(&r);
}

Test(plot, unknown_figure_type_is_a_usage_error) {
  char *argv[] = { "plot", "r.csv", "--x", "a", "--y", "b", "-o", "fig.pdf", NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 2);
  cr_assert_not_null(strstr(r.err, "fig.pdf"), "%s", r.err);
  free_result(&r);
}

Test(plot, says_when_gnuplot_is_missing) {
  char *csv = in_dir("sweep.csv");
  spit(csv, SWEEP);
  setenv("PATH", dir, 1); /* a directory without gnuplot */
  char *argv[] = { "plot", csv, "--x", "width", "--y", "test_error", NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "gnuplot not found: apt-get install gnuplot-nox"),
                     "%s", r.err);
  free_result(&r);
}

Test(plot, reports_a_gnuplot_failure) {
  char *csv = strdup(in_dir("sweep.csv")), *png = strdup(in_dir("fig.png"));
  spit(csv, SWEEP);
  char *fake = in_dir("gnuplot"); /* reads the script, then fails */
  spit(fake, "#!/bin/sh\ncat >/dev/null\nexit 3\n");
  chmod(fake, 0755);
  setenv("PATH", dir, 1);
  char *argv[] = { "plot", csv, "--x", "width", "--y", "test_error", "-o", png, NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "gnuplot failed (exit status 3)"), "%s", r.err);
  cr_assert_neq(access(png, F_OK), 0, "an empty figure was left behind");
  char *gp = strdup(in_dir("fig.png.gp"));
  char *script = slurp(gp, NULL); /* kept for the user to inspect */
  /* x = 8 holds 0.30, 0.32 and 0.29: mean 0.91/3 */
  cr_assert_not_null(strstr(script, "$d0 << EOD\n8 0.3033333333333333 "), "%s", script);
  cr_assert_not_null(strstr(script, "with yerrorlines"), "%s", script);
  free(script);
  free(gp);
  free_result(&r);
  free(csv);
  free(png);
}

/* ---- heatmap ------------------------------------------------------------ */

/* Installs a gnuplot that reads the script and fails, so that lunet keeps
** the script in FIG.gp; returns that script (malloc'd). */
static char *kept_script(char **argv, const char *fig) {
  char *fake = in_dir("gnuplot");
  spit(fake, "#!/bin/sh\ncat >/dev/null\nexit 3\n");
  chmod(fake, 0755);
  setenv("PATH", dir, 1);
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 1, "stderr: %s", r.err);
  cr_assert_not_null(strstr(r.err, "gnuplot failed (exit status 3)"), "%s", r.err);
  cr_assert_neq(access(fig, F_OK), 0, "a figure was left behind");
  char gp[300];
  snprintf(gp, sizeof gp, "%s.gp", fig);
  free_result(&r);
  return slurp(gp, NULL);
}

Test(heatmap, script_holds_row_i_column_j) {
  const double z[6] = { 1, 2, 3, 4, 5, 6.5 }; /* (2, 3) */
  const char *xt[3] = { "a", "b'c", "d" };
  heatmap h = { .z = z, .rows = 2, .cols = 3, .title = "T", .xtics = xt, .palette = "gray" };
  char err[256];
  cr_assert_eq(heatmap_check(&h, "m.png", err, sizeof err), 0, "%s", err);
  size_t len;
  char *s = heatmap_script(&h, "m.png", "m.png.part", &len);
  cr_assert_not_null(s);
  cr_assert_eq(strlen(s), len);
  cr_assert_not_null(strstr(s, "$z << EOD\n1 2 3\n4 5 6.5\nEOD\n"), "%s", s);
  cr_assert_not_null(strstr(s, "matrix with image"), "%s", s);
  cr_assert_not_null(strstr(s, "set yrange [1.5:-0.5]"), "row 0 not on top:\n%s", s);
  cr_assert_not_null(strstr(s, "set xrange [-0.5:2.5]"), "%s", s);
  cr_assert_not_null(strstr(s, "set cbrange [1:6.5]"), "%s", s);
  cr_assert_not_null(strstr(s, "set xtics out nomirror ('a' 0, 'b''c' 1, 'd' 2)"), "%s", s);
  cr_assert_not_null(strstr(s, "set palette gray"), "%s", s);
  cr_assert_not_null(strstr(s, "set output 'm.png.part'"), "%s", s);
  free(s);
}

Test(heatmap, check_names_what_is_wrong) {
  const double z[4] = { 1, NAN, 3, 4 };
  char err[256];
  heatmap empty = { .z = z, .rows = 0, .cols = 2 };
  cr_assert_neq(heatmap_check(&empty, "m.png", err, sizeof err), 0);
  cr_assert_not_null(strstr(err, "empty"), "%s", err);
  heatmap nan = { .z = z, .rows = 2, .cols = 2 };
  cr_assert_neq(heatmap_check(&nan, "m.png", err, sizeof err), 0);
  cr_assert_not_null(strstr(err, "row 1, column 2"), "%s", err);
  heatmap ok = { .z = z + 2, .rows = 1, .cols = 2, .palette = "jet" };
  cr_assert_neq(heatmap_check(&ok, "m.png", err, sizeof err), 0);
  cr_assert_not_null(strstr(err, "'jet'"), "%s", err);
  ok.palette = NULL;
  cr_assert_neq(heatmap_check(&ok, "m.pdf", err, sizeof err), 0);
  cr_assert_not_null(strstr(err, "m.pdf"), "%s", err);
}

/* Long format: y 10 and 2 sort as numbers (2 on top); x labels keep the
** order in which they first occur. */
static const char CELLS[] =
    "query,key,w\n"
    "10,the,0.25\n"
    "10,cat,0.75\n"
    "2,cat,0.5\n"
    "2,the,0.125\n";

Test(heatmap, cli_places_each_cell) {
  char *csv = strdup(in_dir("att.csv")), *png = strdup(in_dir("att.png"));
  spit(csv, CELLS);
  char *argv[] = { "plot", csv, "--heatmap", "--x", "key", "--y", "query", "--z", "w",
                   "-o", png, NULL };
  char *s = kept_script(argv, png);
  cr_assert_not_null(strstr(s, "$z << EOD\n0.125 0.5\n0.25 0.75\nEOD\n"), "%s", s);
  cr_assert_not_null(strstr(s, "set xtics out nomirror ('the' 0, 'cat' 1)"), "%s", s);
  cr_assert_not_null(strstr(s, "set ytics out nomirror ('2' 0, '10' 1)"), "%s", s);
  cr_assert_not_null(strstr(s, "set xlabel 'key'"), "%s", s);
  free(s);
  free(csv);
  free(png);
}

/* Runs `lunet plot --heatmap` on TEXT; asserts exit status RC and that
** stderr holds every string of NEEDLES. */
static void heatmap_fails(const char *text, const char *z, int rc, const char *const *needles) {
  char *csv = strdup(in_dir("bad.csv")), *png = strdup(in_dir("bad.png"));
  spit(csv, text);
  char *argv[] = { "plot", csv, "--heatmap", "--x", "key", "--y", "query", "--z", (char *)z,
                   "-o", png, NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, rc, "stderr: %s", r.err);
  for (; *needles; needles++)
    cr_assert_not_null(strstr(r.err, *needles), "no '%s' in: %s", *needles, r.err);
  cr_assert_neq(access(png, F_OK), 0, "a figure was left behind");
  free_result(&r);
  free(csv);
  free(png);
}

Test(heatmap, cli_errors_name_the_cell_or_column) {
  heatmap_fails("query,key,w\na,x,1\na,y,2\nb,x,3\n", "w", 1,
                (const char *[]){ "no row for the cell key=y, query=b", NULL });
  heatmap_fails("query,key,w\na,x,1\na,x,2\n", "w", 1,
                (const char *[]){ "row 2 after the header repeats the cell key=x, query=a", NULL });
  heatmap_fails("query,key,w\na,x,1\na,y,high\n", "w", 1,
                (const char *[]){ "row 2 after the header: w is 'high'", NULL });
  heatmap_fails("query,key,w\na,x,1\n", "weight", 1,
                (const char *[]){ "no column 'weight' for --z", "query, key, w", NULL });
  heatmap_fails("query,key,w\n", "w", 1, (const char *[]){ "the matrix is empty", NULL });
}

Test(heatmap, cli_usage_errors) {
  char *no_z[] = { "plot", "a.csv", "--heatmap", "--x", "k", "--y", "q", NULL };
  result r = run(plot_main, no_z);
  cr_assert_eq(r.rc, 2);
  cr_assert_not_null(strstr(r.err, "--style heatmap needs --z"), "%s", r.err);
  free_result(&r);
  char *group[] = { "plot", "a.csv", "--heatmap", "--x", "k", "--y", "q", "--z", "w",
                    "--group", "g", NULL };
  r = run(plot_main, group);
  cr_assert_eq(r.rc, 2);
  cr_assert_not_null(strstr(r.err, "--style heatmap does not take --group"), "%s", r.err);
  free_result(&r);
}

Test(heatmap, says_when_gnuplot_is_missing) {
  setenv("PATH", dir, 1);
  const double z[1] = { 1 };
  heatmap h = { .z = z, .rows = 1, .cols = 1 };
  result r;
  fflush(stderr);
  int saved = dup(2), fe = open(in_dir("err.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fe, 2);
  close(fe);
  r.rc = heatmap_draw(&h, in_dir("one.png"), "lunet.heatmap");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  r.err = slurp(in_dir("err.txt"), NULL);
  cr_assert_eq(r.rc, -1);
  cr_assert_not_null(strstr(r.err, "lunet.heatmap: gnuplot not found: apt-get install gnuplot-nox"),
                     "%s", r.err);
  free(r.err);
}

Test(heatmap, writes_a_png) {
  if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
  char *csv = strdup(in_dir("att.csv")), *png = strdup(in_dir("att.png"));
  spit(csv, CELLS);
  char *argv[] = { "plot", csv, "--heatmap", "--x", "key", "--y", "query", "--z", "w",
                   "--title", "weights", "-o", png, NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
  assert_png(png);
  cr_assert_neq(access(in_dir("att.png.part"), F_OK), 0, "the partial file was left behind");
  free_result(&r);
  free(csv);
  free(png);
}

/* ---- plot: styles, --where, --logx with zeros, the legend --------------- */

/* The gnuplot script `lunet plot ARGS... -o fig.png` writes (through a
** gnuplot that fails, see kept_script). */
static char *plot_script(const char *text, char **args) {
  char *csv = strdup(in_dir("p.csv")), *png = strdup(in_dir("fig.png"));
  spit(csv, text);
  char *argv[32] = { "plot", csv };
  int n = 2;
  while (*args) argv[n++] = *args++;
  argv[n++] = "-o";
  argv[n++] = png;
  argv[n] = NULL;
  char *script = kept_script(argv, png);
  free(csv);
  free(png);
  return script;
}

Test(plot, logx_draws_zeros_a_decade_below_at_a_tick_labelled_0) {
  /* wd 0, 1e-4: zeros at 1e-5 (1e-4 / 10), a tick '0' there */
  char *args[] = { "--x", "wd", "--y", "test_error", "--logx", NULL };
  char *s = plot_script(SWEEP, args);
  cr_assert_not_null(strstr(s, "set logscale x\n"), "%s", s);
  char want[64];
  snprintf(want, sizeof want, "set xtics ('0' %.17g, '0.0001' ", 1e-4 / 10);
  cr_assert_not_null(strstr(s, want), "want %s in\n%s", want, s);
  /* x = 0 holds 0.30, 0.32, 0.25, 0.28 (the nan row left out): mean 1.15/4 */
  char row[64], x[32];
  snprintf(row, sizeof row, "\n%s 0.2875 ", csv_format_number(1e-4 / 10, x));
  cr_assert_not_null(strstr(s, row), "want '%s' in\n%s", row + 1, s);
  free(s);
  /* every decade up to the largest x gets its tick, spelt exactly */
  char *decades[] = { "--x", "wd", "--y", "e", "--logx", NULL };
  s = plot_script("wd,e\n0,1\n1e-4,2\n1e-3,3\n1e-2,4\n", decades);
  cr_assert_not_null(strstr(s, ", '0.0001' 0.0001, '0.001' 0.001, '0.01' 0.01)\n"), "%s", s);
  free(s);
  /* widths 0, 8, 16: a base-2 axis, the zeros one octave below 8 */
  char *args2[] = { "--x", "w", "--y", "e", "--logx", NULL };
  s = plot_script("w,e\n0,1\n8,2\n16,3\n", args2);
  cr_assert_not_null(strstr(s, "set logscale x 2\n"), "%s", s);
  cr_assert_not_null(strstr(s, "set xtics ('0' 4, '8' 8, '16' 16)"), "%s", s);
  cr_assert_not_null(strstr(s, "$d0 << EOD\n4 1 1 1\n8 2 2 2\n16 3 3 3\nEOD"), "%s", s);
  free(s);
}

Test(plot, points_style_draws_every_row) {
  char *args[] = { "--x", "width", "--y", "test_error", "--style", "points", NULL };
  char *s = plot_script(SWEEP, args);
  /* x = 8 has three rows (0.30, 0.32, 0.29): three points, not their mean */
  cr_assert_not_null(strstr(s, "$d0 << EOD\n8 0.3 0.3 0.3\n8 0.32 0.32 0.32\n8 0.29 0.29 0.29\n"), "%s", s);
  cr_assert_not_null(strstr(s, "with points"), "%s", s);
  cr_assert_null(strstr(s, "yerrorlines"), "%s", s);
  cr_assert_not_null(strstr(s, "one point per row"), "%s", s);
  free(s);
}

Test(plot, where_filters_rows_before_averaging) {
  char *args[] = { "--x", "width", "--y", "test_error", "--where", "wd=0.0001", NULL };
  char *s = plot_script(SWEEP, args);
  /* only wd = 1e-4 (written so in the file): one row per width */
  cr_assert_not_null(strstr(s, "$d0 << EOD\n8 0.29 0.29 0.29\n16 0.24 0.24 0.24\n32 0.22 0.22 0.22\nEOD"), "%s", s);
  free(s);
  char *two[] = { "--x", "width", "--y", "test_error", "--where", "wd=0", "--where", "seed!=1", NULL };
  s = plot_script(SWEEP, two);
  cr_assert_not_null(strstr(s, "$d0 << EOD\n8 0.32 0.32 0.32\nEOD"), "%s", s); /* 16's is nan */
  free(s);
}

Test(plot, legend_outside_by_default_and_as_asked) {
  static const char *const keys[][2] = { { NULL, "set key outside right top" },
                                         { "inside", "set key inside top right" },
                                         { "below", "set key below" },
                                         { "none", "unset key" } };
  for (int k = 0; k < 4; k++) {
    char *args[] = { "--x", "width", "--y", "test_error", "--key", (char *)keys[k][0], NULL };
    if (!keys[k][0]) args[4] = NULL;
    char *s = plot_script(SWEEP, args);
    cr_assert_not_null(strstr(s, keys[k][1]), "want %s:\n%s", keys[k][1], s);
    free(s);
  }
}

Test(plot, style_usage_errors) {
  static const char *const cases[][8] = {
    { "--style", "bars", NULL },
    { "--key", "left", NULL },
    { "--where", "wd", NULL },
    { "--style", "points", "--err", "minmax", NULL },
    { "--style", "contour", NULL },
    { "--style", "contour", "--z", "e", "--group", "wd", NULL },
    { "--style", "heatmap", "--z", "e", "--logz", NULL },
    { "--logz", NULL },
  };
  static const char *const needles[] = {
    "--style takes lines, points", "--key takes outside", "COLUMN=VALUE", "no error bars",
    "--style contour needs --z", "--style contour does not take --group",
    "--style heatmap does not take --logz", "--logz goes with --style contour or surface",
  };
  for (int k = 0; k < 8; k++) {
    char *argv[16] = { "plot", "r.csv", "--x", "a", "--y", "b" };
    int n = 6;
    for (int i = 0; cases[k][i]; i++) argv[n++] = (char *)cases[k][i];
    argv[n] = NULL;
    result r = run(plot_main, argv);
    cr_assert_eq(r.rc, 2, "case %d: %s", k, r.err);
    cr_assert_not_null(strstr(r.err, needles[k]), "case %d: want '%s' in %s", k, needles[k], r.err);
    free_result(&r);
  }
}

/* z = a^2 + 2 b^2 + 1 on a 3 x 3 grid, rows given out of order */
static const char PLANE[] =
    "a,b,loss\n"
    "-1,1,4\n0,1,3\n1,1,4\n"
    "-1,-1,4\n0,-1,3\n1,-1,4\n"
    "-1,0,2\n0,0,1\n1,0,2\n";

Test(plot, contour_writes_the_grid_with_y_up) {
  char *args[] = { "--x", "a", "--y", "b", "--z", "loss", "--style", "contour", NULL };
  char *s = plot_script(PLANE, args);
  /* b sorted as numbers, -1 first; one block per b, a blank line after each */
  cr_assert_not_null(strstr(s, "$g << EOD\n-1 -1 4\n0 -1 3\n1 -1 4\n\n-1 0 2\n0 0 1\n1 0 2\n\n"
                                "-1 1 4\n0 1 3\n1 1 4\n\nEOD\n"), "%s", s);
  cr_assert_not_null(strstr(s, "set view map"), "%s", s);
  cr_assert_not_null(strstr(s, "set contour base"), "%s", s);
  cr_assert_not_null(strstr(s, "set cblabel 'loss'\n"), "%s", s);
  free(s);
  char *surface[] = { "--x", "a", "--y", "b", "--z", "loss", "--style", "surface", "--logz", NULL };
  s = plot_script(PLANE, surface);
  cr_assert_not_null(strstr(s, "set view 55, 35"), "%s", s);
  /* --logz: the grid holds log10 z (log10 4 first), the colour bar says so */
  char first[96], v4[32], v3[32];
  snprintf(first, sizeof first, "$g << EOD\n-1 -1 %s\n0 -1 %s\n", csv_format_number(log10(4), v4),
           csv_format_number(log10(3), v3));
  cr_assert_not_null(strstr(s, first), "want %s in\n%s", first, s);
  cr_assert_not_null(strstr(s, "set cblabel 'log10 '.'loss'\n"), "%s", s);
  free(s);
}

Test(plot, contour_errors_name_the_value) {
  char *csv = in_dir("labels.csv");
  spit(csv, "q,k,w\nle,the,1\nle,cat,2\nchat,the,3\nchat,cat,4\n");
  char *argv[] = { "plot", csv, "--x", "k", "--y", "q", "--z", "w", "--style", "contour", NULL };
  result r = run(plot_main, argv);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "column 'k' has the value 'the', expected finite numbers"), "%s", r.err);
  free_result(&r);
  spit(csv, "a,b,loss\n0,0,1\n1,0,0\n0,1,2\n1,1,3\n");
  char *logz[] = { "plot", csv, "--x", "a", "--y", "b", "--z", "loss", "--style", "surface", "--logz", NULL };
  r = run(plot_main, logz);
  cr_assert_eq(r.rc, 1);
  cr_assert_not_null(strstr(r.err, "cannot show the value 0 at row 1, column 2"), "%s", r.err);
  free_result(&r);
}

Test(plot, contour_and_surface_write_pngs) {
  if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
  char *csv = strdup(in_dir("plane.csv"));
  spit(csv, PLANE);
  static const char *const styles[] = { "contour", "surface" };
  for (int k = 0; k < 2; k++) {
    char *png = strdup(in_dir(k ? "s.png" : "c.png"));
    char *argv[] = { "plot", csv, "--x", "a", "--y", "b", "--z", "loss", "--style", (char *)styles[k],
                     "-o", png, NULL };
    result r = run(plot_main, argv);
    cr_assert_eq(r.rc, 0, "%s: %s", styles[k], r.err);
    assert_png(png);
    free_result(&r);
    free(png);
  }
  free(csv);
}

Test(plot, narrow_log_axis_gets_even_ticks) {
  /* y from 1.94 to 2.34 (1.918 to 2.366 with the margins): no 1-2-5 step
     and only the multiple 2 inside, so ticks every 0.1 (gnuplot alone would
     label no tick at all) */
  char *args[] = { "--x", "a", "--y", "loss", "--logy", NULL };
  char *s = plot_script("a,loss\n0,2.25\n1,1.94\n-0.25,2.34\n", args);
  cr_assert_not_null(strstr(s, "set logscale y\nset ytics (2, 2.1, 2.2, 2.3)\n"), "%s", s);
  free(s);
}
