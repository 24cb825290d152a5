/*
** fuzz_results_csv.c -- libFuzzer harness of the results-CSV reader
** (host/base/csvfile.c: csv_read, csv_cell_number, and the writer's
** csvw_open, which adopts a file's header and cuts a partial last line)
** and of `lunet summary` on top of it (host/report/summary.c), both text
** and --csv output, grouped by the first column. read_csv, plot and the
** sweep's rerun read files through the same csv_read.
**
** Input: the results file itself. stdout goes to /dev/null.
*/
#include "base/csvfile.h"
#include "fuzz.h"
#include "report/summary.h"

/* `lunet summary PATH --by COL [--csv]`. */
static void summary(const char *path, const char *col, int csv) {
  char *argv[] = {"summary", (char *)path, "--by", (char *)col, csv ? "--csv" : NULL, NULL};
  (void)summary_main(csv ? 5 : 4, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    if (!freopen("/dev/null", "w", stdout)) abort();
    ready = 1;
  }
  char err[1024];
  const char *path = fuzz_write("results.csv", data, size);
  csv_table *t = csv_read(path, err, sizeof err);
  if (t) {
    double v;
    for (int r = 0; r < t->nrows; r++)
      for (int c = 0; c < t->ncols; c++) (void)csv_cell_number(t->cells[r][c], &v);
    if (t->ncols > 0 && *t->header[0]) {
      summary(path, t->header[0], 0);
      summary(path, t->header[0], 1);
    }
    csv_table_free(t);
  }
  csvw *w = csvw_open(path, err, sizeof err);
  if (w) {
    for (int c = 0; c < csvw_ncols(w); c++) (void)csvw_col(w, c);
    csvw_close(w);
  }
  return 0;
}
