/*
** plot.c -- `lunet plot`: a figure from a results file, drawn by gnuplot.
**
**   lunet plot CSV --x COL --y COL[,COL...] [--group COL] [--logx] [--logy]
**                  [--style lines|points] [--err std|minmax] [--key K]
**                  [--where COL=VALUE ...] [--title T] [-o FILE.png|FILE.svg]
**   lunet plot CSV --style heatmap|contour|surface --x COL --y COL --z COL
**                  [--logz] [--where COL=VALUE ...] [--title T] [-o FILE]
**
** A sweep repeats each grid point once per seed, so a results file holds
** several rows per x. Each line of the figure (one per y column and value of
** the --group column) shows their mean at every x, with error bars from
** their spread: the sample standard deviation, or the min and max. Rows whose
** y is NaN or infinite (diverged runs) are left out, and counted on stderr.
** --style points draws every row as a point instead (a random search's
** trials), --where keeps only the rows that match (where.c).
**
** --logx with zeros in the column (weight_decay 0, 1e-4, 1e-3): a log axis
** has no 0, so the zeros are drawn one decade (one octave on a base-2 axis)
** below the smallest positive x, at a tick labelled 0.
**
** With --style heatmap (or --heatmap), contour or surface the file is a
** matrix in long format, one row per cell: its x and y (numbers or labels;
** numbers for contour and surface) and the value z. The distinct x values
** become the columns and the distinct y values the rows (in numeric order
** when all are numbers, else as they first occur); heatmap.c draws it.
**
** Drawing is gnuplot's job (gnuplot.c): we write a script with the data
** inline (one datablock per line) to its standard input. The terminal
** follows the -o extension.
*/
#include "report/plot.h"

#include "base/csvfile.h"
#include "base/number.h"
#include "base/text.h"
#include "report/gnuplot.h"
#include "report/heatmap.h"
#include "report/where.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char USAGE[] =
    "usage: lunet plot CSV --x COL --y COL[,COL...] [--group COL] [--logx] [--logy]\n"
    "                  [--style lines|points] [--err std|minmax] [--key K]\n"
    "                  [--where COL=VALUE ...] [--title T] [-o FILE.png|FILE.svg]\n"
    "       lunet plot CSV --style heatmap|contour|surface --x COL --y COL --z COL\n"
    "                  [--logz] [--where COL=VALUE ...] [--title T] [-o FILE]\n"
    "  lines (the default): one line per y column (and per value of --group),\n"
    "  the mean of the rows with equal x, with error bars from their spread\n"
    "  (std by default). points: every row a point, nothing averaged.\n"
    "  --where COL=VALUE (or COL!=VALUE, repeatable) keeps the matching rows.\n"
    "  --logx draws zeros one decade below the smallest positive x, at a tick\n"
    "  labelled 0. --key outside (default), inside, below or none: the legend.\n"
    "  heatmap (or --heatmap), contour, surface: a long-format CSV (one row\n"
    "  per cell: x, y, value z) as a matrix, a contour map or a 3-D surface;\n"
    "  --logz draws log10 z (contour, surface).\n"
    "  The figure type follows the -o extension; the default is CSV's name\n"
    "  with .png. Needs gnuplot (Debian: apt-get install gnuplot-nox).\n";

enum { STYLE_LINES, STYLE_POINTS, STYLE_HEATMAP, STYLE_CONTOUR, STYLE_SURFACE };
static const char *const STYLES[] = { "lines", "points", "heatmap", "contour", "surface", NULL };
static const char *const KEYS[] = { "outside", "inside", "below", "none", NULL };
enum { MAX_WHERE = 32 };

typedef struct options {
  const char *path, *x, *y, *z, *group, *title, *out, *err;
  int logx, logy, logz, minmax, style, key;
  const char *where[MAX_WHERE];
  int nwhere;
} options;

typedef struct point {
  double x, y;
} point;

/* One line of the figure: its rows' (x, y), then one aggregate per x. */
typedef struct series {
  int ycol;          /* index into plot.ys */
  const char *group; /* the group's value, or NULL */
  point *pts;
  int npts, cap;
  double *x, *mean, *lo, *hi;
  int nx;
} series;

typedef struct plot {
  options o;
  char *out, *part;   /* the figure's path, and where gnuplot writes it */
  csv_table *t;
  int xcol, gcol;     /* gcol -1 without --group */
  int *ys, ny;
  double zero_at;     /* --logx: where x = 0 is drawn, 0 if no x is 0 */
  const char **groups;
  int ngroups;
  series *s;
  int ns;
} plot;

/* ---- Arguments ---------------------------------------------------------- */

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "lunet plot: %s%s\n%s", what, arg ? arg : "", USAGE);
  return 2;
}

/* The index of S in the NULL-terminated CHOICES, or -1. */
static int choice_index(const char *const *choices, const char *s) {
  for (int i = 0; choices[i]; i++)
    if (strcmp(choices[i], s) == 0) return i;
  return -1;
}

/* Takes option argv[*i] if it is one with a value; 1 if taken, -1 if its
** value is missing, < -1 if the value is not allowed (see parse_args), 0
** if it is not one of them. */
static int take_valued(options *o, int argc, char **argv, int *i) {
  static const char *const names[] = { "--x", "--y", "--group", "--title", "--output", "-o",
                                       "--err", "--z", "--style", "--key", "--where" };
  for (int k = 0; k < 11; k++) {
    int missing = 0;
    const char *v = option_value(argc, argv, i, names[k], &missing);
    if (missing) return -1;
    if (!v) continue;
    switch (k) {
    case 0: o->x = v; break;
    case 1: o->y = v; break;
    case 2: o->group = v; break;
    case 3: o->title = v; break;
    case 4: case 5: o->out = v; break;
    case 7: o->z = v; break;
    case 8: if ((o->style = choice_index(STYLES, v)) < 0) return -3; break;
    case 9: if ((o->key = choice_index(KEYS, v)) < 0) return -4; break;
    case 10:
      if (o->nwhere == MAX_WHERE || !where_is_condition(v)) return -5;
      o->where[o->nwhere++] = v;
      break;
    case 6:
      o->err = v;
      if (strcmp(v, "std") != 0 && strcmp(v, "minmax") != 0) return -2;
      o->minmax = strcmp(v, "minmax") == 0;
      break;
    }
    return 1;
  }
  return 0;
}

/* The options that the style does not take are refused. */
static int check_style(const options *o) {
  char msg[128];
  const char *style = STYLES[o->style];
  if (o->style >= STYLE_HEATMAP) {
    const char *refused = o->group ? "--group" : o->logx ? "--logx" : o->logy ? "--logy"
                          : o->err ? "--err" : o->key ? "--key"
                          : o->logz && o->style == STYLE_HEATMAP ? "--logz" : NULL;
    if (!o->z || !*o->z) snprintf(msg, sizeof msg, "--style %s needs --z, the column of values", style);
    else if (refused) snprintf(msg, sizeof msg, "--style %s does not take %s", style, refused);
    else return 0;
  } else if (o->z || o->logz) {
    snprintf(msg, sizeof msg, "%s goes with --style %s", o->z ? "--z" : "--logz",
             o->z ? "heatmap, contour or surface" : "contour or surface");
  } else if (o->style == STYLE_POINTS && o->err) {
    snprintf(msg, sizeof msg, "--style points has no error bars: drop --err");
  } else {
    return 0;
  }
  return usage_error(msg, NULL);
}

/* 0: go on; 1: help was printed; 2: a usage error was reported. */
static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int taken = take_valued(o, argc, argv, &i);
    if (taken == 1) continue;
    if (taken == -1) return usage_error(a, " needs a value");
    if (taken == -2) return usage_error("--err takes std or minmax, not ", argv[i]);
    if (taken == -3) return usage_error("--style takes lines, points, heatmap, contour or surface, not ", argv[i]);
    if (taken == -4) return usage_error("--key takes outside, inside, below or none, not ", argv[i]);
    if (taken == -5)
      return usage_error(o->nwhere == MAX_WHERE ? "too many --where conditions (at most 32): "
                         : "--where takes COLUMN=VALUE or COLUMN!=VALUE, not ", argv[i]);
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(USAGE, stdout);
      return 1;
    } else if (strcmp(a, "--logx") == 0) {
      o->logx = 1;
    } else if (strcmp(a, "--logy") == 0) {
      o->logy = 1;
    } else if (strcmp(a, "--logz") == 0) {
      o->logz = 1;
    } else if (strcmp(a, "--heatmap") == 0) {
      o->style = STYLE_HEATMAP;
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage_error("unknown option ", a);
    } else if (o->path) {
      return usage_error("more than one results file: ", a);
    } else {
      o->path = a;
    }
  }
  if (!o->path) return usage_error("no results file given", NULL);
  if (!o->x || !*o->x) return usage_error("--x is required", NULL);
  if (!o->y || !*o->y) return usage_error("--y is required", NULL);
  return check_style(o);
}

/* The figure's path and type: -o, or the CSV's name with .png. */
static int choose_output(plot *p) {
  const char *csv = p->o.path;
  if (p->o.out) {
    p->out = strdup(p->o.out);
  } else {
    size_t n = strlen(csv);
    if (n >= 4 && strcasecmp(csv + n - 4, ".csv") == 0) n -= 4;
    p->out = malloc(n + 5);
    if (p->out) snprintf(p->out, n + 5, "%.*s.png", (int)n, csv);
  }
  if (p->out) p->part = gnuplot_part_name(p->out);
  if (!p->part) {
    fprintf(stderr, "lunet plot: out of memory\n");
    return 1;
  }
  if (gnuplot_figure_type(p->out) < 0)
    return usage_error("the figure's name must end in .png or .svg: ", p->out);
  return 0;
}

/* ---- Columns ------------------------------------------------------------ */

static int find_column(const plot *p, const char *option, const char *name) {
  int c = csv_table_col(p->t, name);
  if (c < 0) {
    fprintf(stderr, "lunet plot: %s: no column '%s' for %s\n",
            p->o.path, name, option);
    where_list_columns(p->t);
  }
  return c;
}

static int has_numbers(const plot *p, int col, const char *option) {
  for (int r = 0; r < p->t->nrows; r++)
    if (csv_cell_number(p->t->cells[r][col], NULL)) return 1;
  fprintf(stderr, "lunet plot: %s: column '%s' (%s) has no numeric values "
          "(hint: plot a metric or a numeric grid value)\n",
          p->o.path, p->t->header[col], option);
  return 0;
}

static int resolve_columns(plot *p) {
  p->xcol = find_column(p, "--x", p->o.x);
  if (p->xcol < 0 || !has_numbers(p, p->xcol, "--x")) return -1;
  p->gcol = -1;
  if (p->o.group && (p->gcol = find_column(p, "--group", p->o.group)) < 0) return -1;
  char *names = strdup(p->o.y);
  p->ys = calloc(strlen(p->o.y) + 1, sizeof *p->ys);
  if (!names || !p->ys) {
    free(names);
    fprintf(stderr, "lunet plot: out of memory\n");
    return -1;
  }
  int rc = 0;
  for (char *n = strtok(names, ","); n && rc == 0; n = strtok(NULL, ",")) {
    int c = find_column(p, "--y", n);
    if (c < 0 || !has_numbers(p, c, "--y")) rc = -1;
    else p->ys[p->ny++] = c;
  }
  free(names);
  if (rc == 0 && p->ny == 0) {
    fprintf(stderr, "lunet plot: --y '%s' names no column\n", p->o.y);
    where_list_columns(p->t);
    rc = -1;
  }
  return rc;
}

/* ---- Groups ------------------------------------------------------------- */

static int all_numbers(const char **v, int n) {
  for (int i = 0; i < n; i++)
    if (!csv_cell_number(v[i], NULL)) return 0;
  return 1;
}

static int by_number(const void *a, const void *b) {
  double x, y;
  csv_cell_number(*(const char *const *)a, &x);
  csv_cell_number(*(const char *const *)b, &y);
  return (x > y) - (x < y);
}

static int index_of(const char **v, int n, const char *s) {
  int i = 0;
  while (i < n && strcmp(v[i], s) != 0) i++;
  return i;
}

/* The distinct values of column COL into V (room for one per row): in
** numeric order if all are numbers (so a legend for weight_decay reads 0,
** 1e-4, 1e-3), else as they first occur. Returns their count. */
static int distinct_values(const csv_table *t, int col, const char **v) {
  int n = 0;
  for (int r = 0; r < t->nrows; r++)
    if (index_of(v, n, t->cells[r][col]) == n) v[n++] = t->cells[r][col];
  if (all_numbers(v, n)) qsort(v, (size_t)n, sizeof *v, by_number);
  return n;
}

static int collect_groups(plot *p) {
  p->groups = calloc((size_t)p->t->nrows + 1, sizeof *p->groups);
  if (!p->groups) return -1;
  p->ngroups = p->gcol < 0 ? 1 : distinct_values(p->t, p->gcol, p->groups);
  return 0;
}

/* ---- Series ------------------------------------------------------------- */

static int out_of_memory(void) {
  fprintf(stderr, "lunet plot: out of memory\n");
  return -1;
}

static int add_point(series *s, double x, double y) {
  if (s->npts == s->cap) {
    int cap = s->cap ? 2 * s->cap : 32;
    point *pts = realloc(s->pts, (size_t)cap * sizeof *pts);
    if (!pts) return -1;
    s->pts = pts;
    s->cap = cap;
  }
  s->pts[s->npts++] = (point){ x, y };
  return 0;
}

/* A log axis cannot show V: say which column and row hold it. */
static int refuse_log(const plot *p, int col, int row, double v, const char *axis) {
  fprintf(stderr, "lunet plot: %s: --log%s: column '%s' has the %s value %g (row %d after "
          "the header) (hint: drop --log%s)\n", p->o.path, axis, p->t->header[col],
          v < 0 ? "negative" : "non-positive", v, row + 1, axis);
  return -1;
}

/* 1 if every positive x is a power of two (widths 8, 16, 32), and there
** are at least two: then the log x axis has base 2. */
static int powers_of_two(const plot *p) {
  int seen = 0;
  for (int k = 0; k < p->ns; k++)
    for (int i = 0; i < p->s[k].npts; i++) {
      int e;
      double x = p->s[k].pts[i].x;
      if (x == 0) continue;
      if (frexp(x, &e) != 0.5) return 0;
      seen++;
    }
  return seen > 1;
}

/* --logx and x = 0: the zeros move one decade (one octave on a base-2
** axis) below the smallest positive x, where a tick labelled 0 marks them.
** An x column of zeros only cannot go on a log axis. */
static int place_zeros(plot *p) {
  double least = INFINITY;
  int zeros = 0;
  for (int k = 0; k < p->ns; k++)
    for (int i = 0; i < p->s[k].npts; i++) {
      double x = p->s[k].pts[i].x;
      if (x == 0) zeros++;
      else if (x < least) least = x;
    }
  if (!zeros) return 0;
  if (least == INFINITY) {
    fprintf(stderr, "lunet plot: %s: --logx: column '%s' holds only zeros (hint: drop --logx)\n",
            p->o.path, p->t->header[p->xcol]);
    return -1;
  }
  p->zero_at = least / (powers_of_two(p) ? 2 : 10);
  for (int k = 0; k < p->ns; k++)
    for (int i = 0; i < p->s[k].npts; i++)
      if (p->s[k].pts[i].x == 0) p->s[k].pts[i].x = p->zero_at;
  return 0;
}

/* Files each row's (x, y) under its series. Rows with an empty cell are
** left out quietly; those with text, NaN or infinities are counted, as they
** are worth a warning. */
static int fill_series(plot *p) {
  p->ns = p->ny * p->ngroups;
  p->s = calloc((size_t)p->ns, sizeof *p->s);
  if (!p->s) return out_of_memory();
  for (int k = 0; k < p->ns; k++) {
    p->s[k].ycol = k / p->ngroups;
    p->s[k].group = p->gcol >= 0 ? p->groups[k % p->ngroups] : NULL;
  }
  int *nonfinite = calloc((size_t)p->ny + 1, sizeof *nonfinite);
  if (!nonfinite) return out_of_memory();
  int rc = 0, badx = 0;
  for (int r = 0; r < p->t->nrows && rc == 0; r++) {
    char **row = p->t->cells[r];
    double x, y;
    if (!csv_cell_number(row[p->xcol], &x) || !isfinite(x)) {
      badx += *row[p->xcol] != '\0';
      continue;
    }
    if (p->o.logx && x < 0) {
      rc = refuse_log(p, p->xcol, r, x, "x");
      break;
    }
    int g = p->gcol >= 0 ? index_of(p->groups, p->ngroups, row[p->gcol]) : 0;
    for (int k = 0; k < p->ny && rc == 0; k++) {
      const char *cell = row[p->ys[k]];
      if (!*cell) continue;
      if (!csv_cell_number(cell, &y) || !isfinite(y)) nonfinite[k]++;
      else if (p->o.logy && y <= 0) rc = refuse_log(p, p->ys[k], r, y, "y");
      else if (add_point(&p->s[k * p->ngroups + g], x, y) != 0) rc = out_of_memory();
    }
  }
  if (rc == 0 && badx)
    fprintf(stderr, "lunet plot: %s: left out %d row%s where '%s' is not a "
            "finite number\n", p->o.path, badx, badx == 1 ? "" : "s",
            p->t->header[p->xcol]);
  for (int k = 0; k < p->ny && rc == 0; k++)
    if (nonfinite[k])
      fprintf(stderr, "lunet plot: %s: left out %d row%s where '%s' is nan, "
              "inf or text (diverged runs?)\n", p->o.path, nonfinite[k],
              nonfinite[k] == 1 ? "" : "s", p->t->header[p->ys[k]]);
  free(nonfinite);
  return rc;
}

static int by_x(const void *a, const void *b) {
  double x = ((const point *)a)->x, y = ((const point *)b)->x;
  return (x > y) - (x < y);
}

/* Mean and error-bar ends of the points at each distinct x; with RAW
** (--style points) every point as it is. */
static int aggregate(series *s, int minmax, int logy, int raw) {
  qsort(s->pts, (size_t)s->npts, sizeof *s->pts, by_x);
  size_t n = (size_t)s->npts + 1;
  s->x = malloc(n * sizeof *s->x);
  s->mean = malloc(n * sizeof *s->mean);
  s->lo = malloc(n * sizeof *s->lo);
  s->hi = malloc(n * sizeof *s->hi);
  if (!s->x || !s->mean || !s->lo || !s->hi) return -1;
  for (int i = 0, j; i < s->npts; i = j) {
    double sum = 0, ss = 0, min = s->pts[i].y, max = min;
    for (j = i; j < s->npts && (j == i || (!raw && s->pts[j].x == s->pts[i].x)); j++) {
      double y = s->pts[j].y;
      sum += y;
      if (y < min) min = y;
      if (y > max) max = y;
    }
    int m = j - i;
    double mean = sum / m;
    for (int k = i; k < j; k++) ss += (s->pts[k].y - mean) * (s->pts[k].y - mean);
    double sd = m > 1 ? sqrt(ss / (m - 1)) : 0.0;
    double lo = minmax ? min : mean - sd, hi = minmax ? max : mean + sd;
    if (logy && lo <= 0) lo = min; /* a log axis cannot reach mean - std */
    s->x[s->nx] = s->pts[i].x;
    s->mean[s->nx] = mean;
    s->lo[s->nx] = lo;
    s->hi[s->nx] = hi;
    s->nx++;
  }
  return 0;
}

static int build_series(plot *p) {
  if (collect_groups(p) != 0) return out_of_memory();
  if (fill_series(p) != 0 || (p->o.logx && place_zeros(p) != 0)) return -1;
  int points = 0;
  for (int k = 0; k < p->ns; k++) {
    if (aggregate(&p->s[k], p->o.minmax, p->o.logy, p->o.style == STYLE_POINTS) != 0) return out_of_memory();
    points += p->s[k].nx;
  }
  if (points == 0) {
    fprintf(stderr, "lunet plot: %s: nothing to plot: no row has finite numbers "
            "in both '%s' and the --y column%s\n", p->o.path, p->o.x,
            p->ny > 1 ? "s" : "");
    return -1;
  }
  return 0;
}

/* ---- The gnuplot script ------------------------------------------------- */

static void put_joined_ys(FILE *f, const plot *p) {
  char *names = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&names, &len);
  if (!m) return;
  for (int k = 0; k < p->ny; k++)
    fprintf(m, "%s%s", k ? ", " : "", p->t->header[p->ys[k]]);
  fclose(m);
  gnuplot_string(f, names);
  free(names);
}

static void put_title(FILE *f, const plot *p) {
  fputs("set title ", f);
  if (p->o.title) {
    gnuplot_string(f, p->o.title);
  } else {
    put_joined_ys(f, p);
    fputs(".' vs '.", f);
    gnuplot_string(f, p->t->header[p->xcol]);
    if (p->gcol >= 0) {
      fputs(".' by '.", f);
      gnuplot_string(f, p->t->header[p->gcol]);
    }
    if (p->o.style == STYLE_POINTS)
      fputs(".\"\\n\".'one point per row'", f);
    else
      fprintf(f, ".\"\\n\".'mean over repeated rows; error bars: %s'",
              p->o.minmax ? "min to max" : "standard deviation");
  }
  fputc('\n', f);
}

/* The range of the x values, or of the error bars' ends (y). */
static void data_range(const plot *p, int y, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int k = 0; k < p->ns; k++)
    for (int i = 0; i < p->s[k].nx; i++) {
      double a = y ? p->s[k].lo[i] : p->s[k].x[i];
      double b = y ? p->s[k].hi[i] : p->s[k].x[i];
      if (a < *lo) *lo = a;
      if (b > *hi) *hi = b;
    }
}

/* Ticks every 1, 2 or 5 times a power of ten, about five over [lo, hi]:
** for a log axis too narrow for the multiples of its decades. */
static int linear_tics(double lo, double hi, double *tics, int max) {
  double step = pow(10, floor(log10((hi - lo) / 4)));
  if ((hi - lo) / step > 10) step *= 2;
  if ((hi - lo) / step > 10) step *= 2.5;
  int n = 0;
  for (double k = ceil(lo / step); k * step <= hi && n < max; k++) tics[n++] = k * step;
  return n;
}

/* gnuplot labels a log axis at whole decades only, which leaves one that
** spans less than three almost bare. List the ticks then: steps of 1-2-5, or
** every multiple 1..9 when that gives too few, or when even those are too
** few (a range such as 1.9 to 2.4) evenly spaced ones. */
static void put_log_tics(FILE *f, const char *axis, double lo, double hi) {
  static const double steps[9] = { 1, 2, 5, 3, 4, 6, 7, 8, 9 };
  if (!(lo > 0) || !(hi > lo) || hi / lo >= 1000) return;
  double margin = pow(hi / lo, 0.06); /* as the offsets widen the axis */
  lo /= margin;
  hi *= margin;
  double tics[64];
  int n = 0;
  for (int nsteps = 3; nsteps <= 9 && n < 3; nsteps += 6) {
    n = 0;
    for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)); e++)
      for (int m = 0; m < nsteps && n < 64; m++) {
        double v = steps[m] * pow(10, e);
        if (v >= lo && v <= hi) tics[n++] = v;
      }
  }
  if (n < 2) n = linear_tics(lo, hi, tics, 64);
  if (n < 2) return;
  fprintf(f, "set %stics (", axis);
  for (int i = 0; i < n; i++) fprintf(f, "%s%.6g", i ? ", " : "", tics[i]);
  fputs(")\n", f);
}

/* --logx with zeros: ticks at the powers of BASE from the smallest positive
** x up, and one labelled 0 where the zeros are drawn. */
static void put_zero_tics(FILE *f, const plot *p, int base) {
  double lo, hi;
  data_range(p, 0, &lo, &hi);
  char label[32];
  fprintf(f, "set xtics ('0' %.17g", p->zero_at);
  for (int e = (int)ceil(log(p->zero_at * base) / log(base) - 1e-9); pow(base, e) <= hi * (1 + 1e-9); e++)
    fprintf(f, ", '%s' %.17g", csv_format_number(pow(base, e), label), pow(base, e));
  fputs(")\n", f);
}

/* The legend: right of the plot (the default), inside it, below it, or none. */
static void put_key(FILE *f, const plot *p) {
  static const char *const keys[] = {
    "set key outside right top box lc rgb '#bbbbbb'\n",
    "set key inside top right opaque box lc rgb '#bbbbbb'\n",
    "set key below center horizontal box lc rgb '#bbbbbb'\nset bmargin 6\n",
    "unset key\n" };
  fputs(keys[p->o.key], f);
}

static void put_style(FILE *f, const plot *p) {
  static const char *const colors[] = { "#0072B2", "#D55E00", "#009E73",
                                        "#CC79A7", "#E69F00", "#56B4E9",
                                        "#000000" };
  for (int i = 0; i < 7; i++)
    fprintf(f, "set linetype %d lc rgb '%s' lw 2 pt 7 ps 1.2\n", i + 1, colors[i]);
  fputs("set linetype cycle 7\n"
        "set grid xtics ytics lt 1 lc rgb '#e6e6e6' lw 1\n"
        "set border 3\nset tics nomirror out\n"
        "set bars 0.6\n"
        "set autoscale fix\n" /* the data's range, plus the margins below */
        "set offsets graph 0.04, graph 0.04, graph 0.06, graph 0.06\n", f);
  put_key(f, p);
  fputs("set xlabel ", f);
  gnuplot_string(f, p->t->header[p->xcol]);
  fputs("\nset ylabel ", f);
  put_joined_ys(f, p);
  fputc('\n', f);
  double lo, hi;
  int base2 = p->o.logx && powers_of_two(p);
  if (base2) fputs("set logscale x 2\n", f);
  if (p->o.logx && p->zero_at > 0) {
    if (!base2) fputs("set logscale x\n", f);
    put_zero_tics(f, p, base2 ? 2 : 10);
  } else if (p->o.logx && !base2) {
    fputs("set logscale x\n", f);
    data_range(p, 0, &lo, &hi);
    put_log_tics(f, "x", lo, hi);
  }
  if (p->o.logy) {
    fputs("set logscale y\n", f);
    data_range(p, 1, &lo, &hi);
    put_log_tics(f, "y", lo, hi);
  }
}

static void put_data(FILE *f, const plot *p) {
  char a[32], b[32], c[32], d[32];
  for (int k = 0; k < p->ns; k++) {
    const series *s = &p->s[k];
    if (!s->nx) continue;
    fprintf(f, "$d%d << EOD\n", k);
    for (int i = 0; i < s->nx; i++)
      fprintf(f, "%s %s %s %s\n", csv_format_number(s->x[i], a),
              csv_format_number(s->mean[i], b), csv_format_number(s->lo[i], c),
              csv_format_number(s->hi[i], d));
    fputs("EOD\n", f);
  }
}

static void put_series_title(FILE *f, const plot *p, const series *s) {
  const char *y = p->t->header[p->ys[s->ycol]];
  char *title = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&title, &len);
  if (!m) return;
  if (!s->group) fputs(y, m);
  else fprintf(m, "%s%s%s=%s", p->ny > 1 ? y : "", p->ny > 1 ? ", " : "",
               p->t->header[p->gcol], *s->group ? s->group : "(empty)");
  fclose(m);
  gnuplot_string(f, title);
  free(title);
}

static void put_plot(FILE *f, const plot *p) {
  static const int shapes[] = { 7, 5, 9, 13, 11 }; /* one per y column */
  const char *sep = "plot ";
  for (int k = 0, line = 0; k < p->ns; k++) {
    const series *s = &p->s[k];
    if (!s->nx) continue;
    if (p->o.style == STYLE_POINTS)
      fprintf(f, "%s$d%d using 1:2 with points lt %d pt %d ps 1 title ", sep, k, line++ % 7 + 1,
              shapes[s->ycol % 5]);
    else
      fprintf(f, "%s$d%d using 1:2:3:4 with yerrorlines lt %d pt %d title ", sep, k,
              line++ % 7 + 1, shapes[s->ycol % 5]);
    put_series_title(f, p, s);
    sep = ", \\\n     ";
  }
  fputs("\nunset output\n", f);
}

static char *make_script(const plot *p, size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f) return NULL;
  fputs("# written by lunet plot\nset encoding utf8\n", f);
  gnuplot_terminal(f, p->out, p->part, 1000, 640);
  put_title(f, p);
  put_style(f, p);
  put_data(f, p);
  put_plot(f, p);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

static int draw(const plot *p) {
  size_t len = 0;
  char *script = make_script(p, &len);
  if (!script) return out_of_memory();
  int rc = gnuplot_draw("lunet plot", p->out, p->part, script, len);
  free(script);
  return rc;
}

/* ---- Heatmaps ----------------------------------------------------------- */

/* Row R's cell (X, Y) into its place in Z, (ny, nx); SEEN marks the cells
** filled. -1 with the reason when Z is not a number or the cell repeats. */
static int place_cell(const plot *p, const int col[3], int r, const char **xs, int nx,
                      const char **ys, int ny, double *z, char *seen) {
  char **row = p->t->cells[r];
  double v;
  if (!csv_cell_number(row[col[2]], &v) || !isfinite(v)) {
    fprintf(stderr, "lunet plot: %s: row %d after the header: %s is '%s', expected a "
            "finite number\n", p->o.path, r + 1, p->t->header[col[2]], row[col[2]]);
    return -1;
  }
  int cell = index_of(ys, ny, row[col[1]]) * nx + index_of(xs, nx, row[col[0]]);
  if (seen[cell]) {
    fprintf(stderr, "lunet plot: %s: row %d after the header repeats the cell %s=%s, %s=%s; "
            "expected one row per cell\n", p->o.path, r + 1, p->t->header[col[0]],
            row[col[0]], p->t->header[col[1]], row[col[1]]);
    return -1;
  }
  seen[cell] = 1;
  z[cell] = v;
  return 0;
}

/* The N distinct values V of column COL as numbers into OUT: a contour map
** or a surface needs numeric x and y. */
static int numeric_coords(const plot *p, int col, const char **v, int n, double *out) {
  for (int i = 0; i < n; i++)
    if (!csv_cell_number(v[i], &out[i]) || !isfinite(out[i])) {
      fprintf(stderr, "lunet plot: %s: --style %s: column '%s' has the value '%s', expected "
              "finite numbers (coordinates) (hint: --style heatmap takes labels)\n",
              p->o.path, STYLES[p->o.style], p->t->header[col], v[i]);
      return -1;
    }
  return 0;
}

/* Long format (one row per cell) -> the matrix z, (ny, nx), every cell
** given once; then heatmap.c draws it. */
static int fill_heatmap(const plot *p, const int col[3], const char **xs, int nx,
                        const char **ys, int ny, double *z, char *seen) {
  for (int r = 0; r < p->t->nrows; r++)
    if (place_cell(p, col, r, xs, nx, ys, ny, z, seen) != 0) return -1;
  for (int k = 0; k < nx * ny; k++)
    if (!seen[k]) {
      fprintf(stderr, "lunet plot: %s: no row for the cell %s=%s, %s=%s; expected one "
              "row per (%s, %s), a full grid\n", p->o.path, p->t->header[col[0]], xs[k % nx],
              p->t->header[col[1]], ys[k / nx], p->t->header[col[0]], p->t->header[col[1]]);
      return -1;
    }
  heatmap h = { .z = z, .rows = ny, .cols = nx, .title = p->o.title ? p->o.title : p->t->header[col[2]],
                .xlabel = p->t->header[col[0]], .ylabel = p->t->header[col[1]], .xtics = xs, .ytics = ys,
                .zlabel = p->t->header[col[2]], .logz = p->o.logz };
  if (p->o.style == STYLE_HEATMAP) return heatmap_draw(&h, p->out, "lunet plot");
  double *coord = malloc(sizeof(double) * (size_t)(nx + ny));
  if (!coord) return out_of_memory();
  int rc = numeric_coords(p, col[0], xs, nx, coord) || numeric_coords(p, col[1], ys, ny, coord + nx) ? -1 : 0;
  h.style = p->o.style == STYLE_CONTOUR ? HEATMAP_CONTOUR : HEATMAP_SURFACE;
  h.x = coord, h.y = coord + nx;
  if (rc == 0) rc = heatmap_draw(&h, p->out, "lunet plot");
  free(coord);
  return rc;
}

static int draw_heatmap(const plot *p) {
  int col[3] = { find_column(p, "--x", p->o.x), -1, -1 };
  if (col[0] < 0 || (col[1] = find_column(p, "--y", p->o.y)) < 0 ||
      (col[2] = find_column(p, "--z", p->o.z)) < 0)
    return -1;
  if (p->t->nrows == 0) {
    fprintf(stderr, "lunet plot: %s: no rows: the matrix is empty\n", p->o.path);
    return -1;
  }
  size_t rows = (size_t)p->t->nrows;
  const char **xs = calloc(rows, sizeof *xs), **ys = calloc(rows, sizeof *ys);
  int nx = xs ? distinct_values(p->t, col[0], xs) : 0, ny = ys ? distinct_values(p->t, col[1], ys) : 0;
  double *z = malloc((size_t)nx * ny * sizeof *z);
  char *seen = calloc((size_t)nx * ny, 1);
  int rc = xs && ys && z && seen ? fill_heatmap(p, col, xs, nx, ys, ny, z, seen) : out_of_memory();
  free(xs);
  free(ys);
  free(z);
  free(seen);
  return rc;
}

/* ---- The command -------------------------------------------------------- */

static void free_plot(plot *p) {
  for (int k = 0; p->s && k < p->ns; k++) {
    free(p->s[k].pts);
    free(p->s[k].x);
    free(p->s[k].mean);
    free(p->s[k].lo);
    free(p->s[k].hi);
  }
  free(p->s);
  free(p->groups);
  free(p->ys);
  free(p->out);
  free(p->part);
  csv_table_free(p->t);
}

static int make_plot(plot *p) {
  char err[1024];
  int rc = choose_output(p);
  if (rc != 0) return rc;
  p->t = csv_read(p->o.path, err, sizeof err);
  if (!p->t) {
    fprintf(stderr, "lunet plot: %s\n", err);
    return 1;
  }
  if (p->t->partial_tail)
    fprintf(stderr, "lunet plot: %s: ignoring a partial last line "
            "(a run was interrupted while writing it)\n", p->o.path);
  if (p->o.nwhere && where_filter(p->t, p->o.where, p->o.nwhere, "lunet plot", p->o.path) != 0) return 1;
  if (p->o.style >= STYLE_HEATMAP) return draw_heatmap(p) != 0;
  if (resolve_columns(p) != 0 || build_series(p) != 0 || draw(p) != 0) return 1;
  return 0;
}

int plot_main(int argc, char **argv) {
  plot p;
  memset(&p, 0, sizeof p);
  int rc = parse_args(argc, argv, &p.o);
  if (rc != 0) return rc == 1 ? 0 : rc;
  rc = make_plot(&p);
  free_plot(&p);
  return rc;
}
