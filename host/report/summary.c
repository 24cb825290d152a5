/*
** summary.c -- `lunet summary CSV --by COL[,COL...] [--where COL=VALUE ...]
** [--all] [--csv]`.
**
** Rows of a results file that agree on the --by columns form a group. The
** groups are sorted by the first --by column, then the second, ...: in
** numeric order for a column of numbers (lr 0.001 before 0.01 before 0.1),
** else in the order its values first occur (the order the sweep ran them).
** Every other column that holds only numbers gets its mean, sample standard
** deviation (n-1; 0 for a single row) and count per group. Empty and NaN
** cells (a diverged run's metrics) are left out of a column's statistics,
** as pandas does, and the table shows the smaller count next to the value;
** text columns such as `status` and `message` are skipped, and so are the
** bookkeeping columns a sweep writes, `seed`, `abi`, `lunet_version` and
** `plugins`, whose mean means nothing (--all keeps them; `seconds` stays,
** as the cost of a configuration). --where keeps only the matching rows
** (where.c). The text table is for reading, with the ± signs lined up;
** --csv prints the same numbers at full precision for scripts.
*/
#include "report/summary.h"

#include "base/csvfile.h"
#include "base/number.h"
#include "base/text.h"
#include "report/where.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: lunet summary CSV --by COL[,COL...] [--where COL=VALUE ...] [--all] [--csv]\n"
    "  mean ± std (sample std, n-1) and count of every numeric column,\n"
    "  per group of rows with equal values in the --by columns; groups\n"
    "  sorted by them (numerically for numbers, else in order of appearance).\n"
    "  --where COL=VALUE  keep the matching rows (also COL!=VALUE; repeatable)\n"
    "  --all  also summarize seed, abi, lunet_version, plugins (left out)\n"
    "  --csv  print CSV: <by columns>, n, <col>_mean, <col>_std, ...\n";

/* A sweep's bookkeeping columns: left out unless --all or in --by. */
static const char *const BOOKKEEPING[] = { "seed", "abi", "lunet_version", "plugins", NULL };
enum { MAX_WHERE = 32 };

typedef struct options {
  const char *path;
  const char *by;
  int csv, all;
  const char *where[MAX_WHERE];
  int nwhere;
} options;

typedef struct moments {
  int n;          /* non-empty cells */
  double mean, std;
} moments;

typedef struct summary {
  const char *path;
  csv_table *t;
  int *by, nby;       /* the grouping columns */
  int *stat, nstat;   /* the numeric columns summarized */
  int *group_of;      /* each row's group */
  int *first;         /* each group's first row */
  int *size;          /* each group's number of rows */
  int ngroups;
  moments *m;         /* m[g * nstat + k]: group g, column stat[k] */
} summary;

/* ---- Arguments ---------------------------------------------------------- */

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "lunet summary: %s%s\n%s", what, arg ? arg : "", USAGE);
  return 2;
}

/* 0: go on; 1: help was printed; 2: a usage error was reported. */
static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(USAGE, stdout);
      return 1;
    } else if (strcmp(a, "--csv") == 0) {
      o->csv = 1;
    } else if (strcmp(a, "--all") == 0) {
      o->all = 1;
    } else if ((v = option_value(argc, argv, &i, "--by", &missing))) {
      o->by = v;
    } else if (missing) {
      return usage_error(a, " needs a value");
    } else if ((v = option_value(argc, argv, &i, "--where", &missing))) {
      if (!where_is_condition(v)) return usage_error("--where takes COLUMN=VALUE or COLUMN!=VALUE, not ", v);
      if (o->nwhere == MAX_WHERE) return usage_error("too many --where conditions (at most 32): ", v);
      o->where[o->nwhere++] = v;
    } else if (missing) {
      return usage_error(a, " needs a value");
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage_error("unknown option ", a);
    } else if (o->path) {
      return usage_error("more than one results file: ", a);
    } else {
      o->path = a;
    }
  }
  if (!o->path) return usage_error("no results file given", NULL);
  if (!o->by || !*o->by) return usage_error("--by is required", NULL);
  return 0;
}

/* ---- Columns ------------------------------------------------------------ */

static int contains(const int *v, int n, int x) {
  for (int i = 0; i < n; i++)
    if (v[i] == x) return 1;
  return 0;
}

/* Resolves the comma-separated --by names to column indices. */
static int resolve_by(summary *s, const char *list) {
  char *names = strdup(list);
  s->by = calloc(strlen(list) + 1, sizeof *s->by);
  if (!names || !s->by) {
    free(names);
    fprintf(stderr, "lunet summary: out of memory\n");
    return -1;
  }
  int rc = 0;
  for (char *name = strtok(names, ","); name && rc == 0; name = strtok(NULL, ",")) {
    int c = csv_table_col(s->t, name);
    if (c < 0) {
      fprintf(stderr, "lunet summary: %s: no column '%s' (hint: --by takes "
              "names from the header)\n", s->path, name);
      where_list_columns(s->t);
      rc = -1;
    } else if (!contains(s->by, s->nby, c)) {
      s->by[s->nby++] = c;
    }
  }
  if (rc == 0 && s->nby == 0) {
    fprintf(stderr, "lunet summary: --by '%s' names no column\n", list);
    where_list_columns(s->t);
    rc = -1;
  }
  free(names);
  return rc;
}

/* A column is numeric when it has a value and every non-empty cell is one. */
static int is_numeric_column(const csv_table *t, int c) {
  int values = 0;
  for (int r = 0; r < t->nrows; r++) {
    const char *cell = t->cells[r][c];
    if (!*cell) continue;
    if (!csv_cell_number(cell, NULL)) return 0;
    values++;
  }
  return values > 0;
}

static int is_bookkeeping(const char *name) {
  for (int i = 0; BOOKKEEPING[i]; i++)
    if (strcmp(BOOKKEEPING[i], name) == 0) return 1;
  return 0;
}

static int find_numeric_columns(summary *s, int all) {
  s->stat = calloc((size_t)s->t->ncols + 1, sizeof *s->stat);
  if (!s->stat) return -1;
  for (int c = 0; c < s->t->ncols; c++)
    if (!contains(s->by, s->nby, c) && is_numeric_column(s->t, c) &&
        (all || !is_bookkeeping(s->t->header[c])))
      s->stat[s->nstat++] = c;
  return 0;
}

/* ---- Groups and statistics ---------------------------------------------- */

static int same_group(const summary *s, int r1, int r2) {
  for (int i = 0; i < s->nby; i++)
    if (strcmp(s->t->cells[r1][s->by[i]], s->t->cells[r2][s->by[i]]) != 0)
      return 0;
  return 1;
}

static int group_rows(summary *s) {
  int n = s->t->nrows;
  s->group_of = calloc((size_t)n + 1, sizeof *s->group_of);
  s->first = calloc((size_t)n + 1, sizeof *s->first);
  s->size = calloc((size_t)n + 1, sizeof *s->size);
  if (!s->group_of || !s->first || !s->size) return -1;
  for (int r = 0; r < n; r++) {
    int g = 0;
    while (g < s->ngroups && !same_group(s, s->first[g], r)) g++;
    if (g == s->ngroups) s->first[s->ngroups++] = r;
    s->group_of[r] = g;
    s->size[g]++;
  }
  return 0;
}

/* A group's place in the order: one key per --by column. */
typedef struct group_key {
  const double *key; /* nby keys */
  int nby, g;
} group_key;

static int by_keys(const void *a, const void *b) {
  const group_key *x = a, *y = b;
  for (int i = 0; i < x->nby; i++)
    if (x->key[i] != y->key[i]) return (x->key[i] > y->key[i]) - (x->key[i] < y->key[i]);
  return x->g - y->g;
}

static int all_numbers(const csv_table *t, int c) {
  for (int r = 0; r < t->nrows; r++)
    if (!csv_cell_number(t->cells[r][c], NULL)) return 0;
  return 1;
}

/* Group g's key for --by column c: the value for a column of numbers, else
** the row where the value first occurs. */
static double sort_key(const summary *s, int g, int c, int numeric) {
  const char *v = s->t->cells[s->first[g]][c];
  double x = 0;
  if (numeric) {
    csv_cell_number(v, &x);
    return isnan(x) ? INFINITY : x;
  }
  int r = 0;
  while (strcmp(s->t->cells[r][c], v) != 0) r++;
  return r;
}

/* Sorts the groups by their keys, the first --by column first. */
static int sort_groups(summary *s) {
  int G = s->ngroups, rc = -1;
  double *keys = calloc((size_t)G * (size_t)s->nby + 1, sizeof *keys);
  group_key *order = calloc((size_t)G + 1, sizeof *order);
  int *first = calloc((size_t)G + 1, sizeof *first), *size = calloc((size_t)G + 1, sizeof *size);
  int *rank = calloc((size_t)G + 1, sizeof *rank);
  if (keys && order && first && size && rank) {
    for (int i = 0; i < s->nby; i++) {
      int numeric = all_numbers(s->t, s->by[i]);
      for (int g = 0; g < G; g++) keys[g * s->nby + i] = sort_key(s, g, s->by[i], numeric);
    }
    for (int g = 0; g < G; g++) order[g] = (group_key){ keys + g * s->nby, s->nby, g };
    qsort(order, (size_t)G, sizeof *order, by_keys);
    for (int k = 0; k < G; k++) {
      first[k] = s->first[order[k].g];
      size[k] = s->size[order[k].g];
      rank[order[k].g] = k;
    }
    memcpy(s->first, first, sizeof *first * (size_t)G);
    memcpy(s->size, size, sizeof *size * (size_t)G);
    for (int r = 0; r < s->t->nrows; r++) s->group_of[r] = rank[s->group_of[r]];
    rc = 0;
  }
  free(keys);
  free(order);
  free(first);
  free(size);
  free(rank);
  return rc;
}

/* Two passes (sum, then squared deviations): exact enough, and simple. */
static int compute_moments(summary *s) {
  const csv_table *t = s->t;
  s->m = calloc((size_t)s->ngroups * (size_t)s->nstat + 1, sizeof *s->m);
  if (!s->m) return -1;
  for (int pass = 0; pass < 2; pass++) {
    for (int r = 0; r < t->nrows; r++) {
      for (int k = 0; k < s->nstat; k++) {
        moments *m = &s->m[s->group_of[r] * s->nstat + k];
        double v;
        if (!csv_cell_number(t->cells[r][s->stat[k]], &v) || isnan(v)) continue;
        if (pass == 0) {
          m->n++;
          m->mean += v;
        } else {
          m->std += (v - m->mean) * (v - m->mean);
        }
      }
    }
    for (int i = 0; i < s->ngroups * s->nstat; i++) {
      moments *m = &s->m[i];
      if (m->n == 0) continue;
      if (pass == 0) m->mean /= m->n;
      else m->std = m->n > 1 ? sqrt(m->std / (m->n - 1)) : 0.0;
    }
  }
  return 0;
}

/* ---- Output ------------------------------------------------------------- */

static void print_csv(const summary *s) {
  int ncells = s->nby + 1 + 2 * s->nstat;
  const char **cells = calloc((size_t)ncells, sizeof *cells);
  char (*names)[2][256] = calloc((size_t)s->nstat + 1, sizeof *names);
  char (*nums)[32] = calloc((size_t)ncells, sizeof *nums);
  if (!cells || !names || !nums) {
    fprintf(stderr, "lunet summary: out of memory\n");
    goto done;
  }
  int j = 0;
  for (int i = 0; i < s->nby; i++) cells[j++] = s->t->header[s->by[i]];
  cells[j++] = "n";
  for (int k = 0; k < s->nstat; k++) {
    const char *col = s->t->header[s->stat[k]];
    snprintf(names[k][0], sizeof names[k][0], "%s_mean", col);
    snprintf(names[k][1], sizeof names[k][1], "%s_std", col);
    cells[j++] = names[k][0];
    cells[j++] = names[k][1];
  }
  csv_write_row(stdout, cells, ncells);
  for (int g = 0; g < s->ngroups; g++) {
    j = 0;
    for (int i = 0; i < s->nby; i++) cells[j++] = s->t->cells[s->first[g]][s->by[i]];
    snprintf(nums[j], sizeof nums[j], "%d", s->size[g]);
    cells[j] = nums[j];
    j++;
    for (int k = 0; k < s->nstat; k++) {
      const moments *m = &s->m[g * s->nstat + k];
      cells[j] = m->n ? csv_format_number(m->mean, nums[j]) : "";
      j++;
      cells[j] = m->n ? csv_format_number(m->std, nums[j]) : "";
      j++;
    }
    csv_write_row(stdout, cells, ncells);
  }
done:
  free(cells);
  free(names);
  free(nums);
}

/* Four significant digits, without exponents in the usual ranges. */
static const char *short_number(double v, char buf[32]) {
  double a = fabs(v);
  if (!isfinite(v)) return csv_format_number(v, buf);
  if (v == floor(v) && a < 1e15) snprintf(buf, 32, "%.0f", v);
  else if (a >= 1000 && a < 1e9) snprintf(buf, 32, "%.1f", v);
  else snprintf(buf, 32, "%.4g", v);
  return buf;
}

/* Terminal columns taken by a UTF-8 string (one per code point). */
static int display_width(const char *s) {
  int w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

/* The text table as a grid of strings: a header row, then one per group. */
typedef struct grid {
  int nrows, ncols;
  char **cell;       /* cell[r * ncols + c], owned */
  int *right;        /* right-align column c? */
} grid;

static char *cell_text(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = malloc((size_t)len + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)len + 1, fmt, ap);
  va_end(ap);
  return s;
}

/* Fills column COL with "mean ± std", the ± signs one above the other. */
static void fill_stat_column(const summary *s, grid *gr, int col, int k) {
  char mean[32], std[32];
  int wmean = 0;
  for (int g = 0; g < s->ngroups; g++) {
    const moments *m = &s->m[g * s->nstat + k];
    int w = (int)strlen(short_number(m->mean, mean));
    if (m->n && w > wmean) wmean = w;
  }
  gr->cell[col] = cell_text("%s", s->t->header[s->stat[k]]);
  for (int g = 0; g < s->ngroups; g++) {
    const moments *m = &s->m[g * s->nstat + k];
    char **out = &gr->cell[(g + 1) * gr->ncols + col];
    if (!m->n) {
      *out = cell_text("%*s", wmean, "-");
    } else if (m->n == s->size[g]) {
      *out = cell_text("%*s ± %s", wmean, short_number(m->mean, mean),
                       short_number(m->std, std));
    } else {
      *out = cell_text("%*s ± %s (n=%d)", wmean, short_number(m->mean, mean),
                       short_number(m->std, std), m->n);
    }
  }
}

static int fill_grid(const summary *s, grid *gr) {
  gr->nrows = s->ngroups + 1;
  gr->ncols = s->nby + 1 + s->nstat;
  gr->cell = calloc((size_t)gr->nrows * (size_t)gr->ncols, sizeof *gr->cell);
  gr->right = calloc((size_t)gr->ncols, sizeof *gr->right);
  if (!gr->cell || !gr->right) return -1;
  for (int i = 0; i < s->nby; i++) {
    gr->cell[i] = cell_text("%s", s->t->header[s->by[i]]);
    for (int g = 0; g < s->ngroups; g++) {
      const char *v = s->t->cells[s->first[g]][s->by[i]];
      gr->cell[(g + 1) * gr->ncols + i] = cell_text("%s", *v ? v : "(empty)");
    }
  }
  gr->right[s->nby] = 1;
  gr->cell[s->nby] = cell_text("n");
  for (int g = 0; g < s->ngroups; g++)
    gr->cell[(g + 1) * gr->ncols + s->nby] = cell_text("%d", s->size[g]);
  for (int k = 0; k < s->nstat; k++) fill_stat_column(s, gr, s->nby + 1 + k, k);
  for (int i = 0; i < gr->nrows * gr->ncols; i++)
    if (!gr->cell[i]) return -1;
  return 0;
}

static void print_grid(const grid *gr) {
  int *width = calloc((size_t)gr->ncols, sizeof *width);
  if (!width) return;
  for (int i = 0; i < gr->nrows * gr->ncols; i++) {
    int w = display_width(gr->cell[i]);
    if (w > width[i % gr->ncols]) width[i % gr->ncols] = w;
  }
  for (int r = 0; r < gr->nrows; r++) {
    int pending = 0; /* spaces owed before the next text: none at line end */
    for (int c = 0; c < gr->ncols; c++) {
      const char *text = gr->cell[r * gr->ncols + c];
      int pad = width[c] - display_width(text);
      if (gr->right[c]) pending += pad;
      printf("%*s%s", pending, "", text);
      pending = (gr->right[c] ? 0 : pad) + 2;
    }
    putchar('\n');
  }
  free(width);
}

static void free_grid(grid *gr) {
  if (gr->cell)
    for (int i = 0; i < gr->nrows * gr->ncols; i++) free(gr->cell[i]);
  free(gr->cell);
  free(gr->right);
}

static int print_text(const summary *s) {
  grid gr = { 0, 0, NULL, NULL };
  int rc = fill_grid(s, &gr);
  if (rc == 0) print_grid(&gr);
  else fprintf(stderr, "lunet summary: out of memory\n");
  free_grid(&gr);
  return rc;
}

/* ---- The command -------------------------------------------------------- */

static void free_summary(summary *s) {
  csv_table_free(s->t);
  free(s->by);
  free(s->stat);
  free(s->group_of);
  free(s->first);
  free(s->size);
  free(s->m);
}

static int summarize(summary *s, const options *o) {
  char err[1024];
  s->t = csv_read(o->path, err, sizeof err);
  if (!s->t) {
    fprintf(stderr, "lunet summary: %s\n", err);
    return 1;
  }
  if (s->t->partial_tail)
    fprintf(stderr, "lunet summary: %s: ignoring a partial last line "
            "(a run was interrupted while writing it)\n", o->path);
  if (o->nwhere && where_filter(s->t, o->where, o->nwhere, "lunet summary", o->path) != 0) return 1;
  if (resolve_by(s, o->by) != 0) return 1;
  if (find_numeric_columns(s, o->all) != 0 || group_rows(s) != 0 || sort_groups(s) != 0 ||
      compute_moments(s) != 0) {
    fprintf(stderr, "lunet summary: out of memory\n");
    return 1;
  }
  if (o->csv) print_csv(s);
  else if (print_text(s) != 0) return 1;
  if (fflush(stdout) != 0) {
    perror("lunet summary: stdout");
    return 1;
  }
  return 0;
}

int summary_main(int argc, char **argv) {
  options o;
  int rc = parse_args(argc, argv, &o);
  if (rc != 0) return rc == 1 ? 0 : rc;
  summary s;
  memset(&s, 0, sizeof s);
  s.path = o.path;
  rc = summarize(&s, &o);
  free_summary(&s);
  return rc;
}
