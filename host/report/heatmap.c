/*
** heatmap.c -- a matrix drawn by gnuplot: as a heatmap (`plot ... matrix
** with image` and a colour bar), for attention weights, positional
** encodings or any other matrix; or, when its rows and columns sit at
** numeric coordinates y and x, as a contour map (`splot` seen from above,
** colours and contour lines) or a surface (`splot` in 3-D with pm3d), for a
** function of two variables such as a loss landscape. `lunet plot --style
** heatmap|contour|surface` (plot.c) builds the matrix from a long-format
** CSV; lunet.heatmap (lua/lua_analysis.c) from Lua tables.
**
** A heatmap's values go inline, one datablock line per row of the matrix,
** so row i is drawn at y = i and column j at x = j; the y axis is reversed
** to put row 0 at the top, as a printed matrix (and matplotlib's imshow)
** does. A contour map or surface gets "x y z" lines, a blank line after
** each row: gnuplot's grid format. With logz they hold log10 z, so that
** the colour bar and the contours get ordinary ticks and levels (gnuplot's
** own log scales label whole decades only).
*/
#include "report/heatmap.h"

#include "base/number.h"
#include "report/gnuplot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A contour map or surface needs coordinates, two of each, and for a log
** scale positive values. */
static int check_grid(const heatmap *h, char *err, size_t size) {
  if (!h->x || !h->y || h->rows < 2 || h->cols < 2) {
    snprintf(err, size, "a contour map or surface needs numeric x and y and at least 2 of each "
             "(a grid), got %d x %d", h->cols, h->rows);
    return -1;
  }
  for (int k = 0; h->logz && k < h->rows * h->cols; k++)
    if (h->z[k] <= 0) {
      snprintf(err, size, "a log scale cannot show the value %g at row %d, column %d (from 1) "
               "(hint: drop --logz)", h->z[k], k / h->cols + 1, k % h->cols + 1);
      return -1;
    }
  return 0;
}

int heatmap_check(const heatmap *h, const char *out, char *err, size_t size) {
  if (h->rows < 1 || h->cols < 1) {
    snprintf(err, size, "the matrix is empty (%d rows, %d columns); expected at least one value",
             h->rows, h->cols);
    return -1;
  }
  for (int i = 0; i < h->rows; i++)
    for (int j = 0; j < h->cols; j++)
      if (!isfinite(h->z[(size_t)i * h->cols + j])) {
        snprintf(err, size, "the value at row %d, column %d (from 1) is %g; expected a finite number",
                 i + 1, j + 1, h->z[(size_t)i * h->cols + j]);
        return -1;
      }
  if (h->palette && strcmp(h->palette, "viridis") != 0 && strcmp(h->palette, "gray") != 0) {
    snprintf(err, size, "unknown palette '%s'; expected viridis or gray", h->palette);
    return -1;
  }
  if (gnuplot_figure_type(out) < 0) {
    snprintf(err, size, "the figure's name must end in .png or .svg: %s", out);
    return -1;
  }
  return h->style == HEATMAP_IMAGE ? 0 : check_grid(h, err, size);
}

/* Tick labels for N cells (0 .. n-1), every k-th so that at most 40 show. */
static void put_tics(FILE *f, const char *axis, const char *const *labels, int n) {
  if (!labels) {
    fprintf(f, "set %stics out nomirror\n", axis);
    return;
  }
  int step = (n + 39) / 40;
  fprintf(f, "set %stics out nomirror (", axis);
  for (int i = 0; i < n; i += step) {
    if (i) fputs(", ", f);
    gnuplot_string(f, labels[i]);
    fprintf(f, " %d", i);
  }
  fputs(")\n", f);
  if (axis[0] == 'x' && n > 12) fputs("set xtics rotate by 45 right\n", f);
}

static void put_labels(FILE *f, const heatmap *h) {
  static const char *const names[3] = { "title", "xlabel", "ylabel" };
  const char *values[3] = { h->title, h->xlabel, h->ylabel };
  for (int k = 0; k < 3; k++)
    if (values[k]) {
      fprintf(f, "set %s ", names[k]);
      gnuplot_string(f, values[k]);
      fputc('\n', f);
    }
}

/* Viridis at five stops (matplotlib's), or black to white. */
static void put_palette(FILE *f, const heatmap *h) {
  if (h->palette && strcmp(h->palette, "gray") == 0)
    fputs("set palette gray\n", f);
  else
    fputs("set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21918c', "
          "0.75 '#5ec962', 1 '#fde725')\n", f);
}

/* The axes hold the cells whole; the colour bar spans the values (widened
** by 0.5 either side when all are equal, which gnuplot cannot scale). */
static void put_ranges(FILE *f, const heatmap *h) {
  size_t n = (size_t)h->rows * h->cols;
  double lo = h->z[0], hi = h->z[0];
  for (size_t k = 1; k < n; k++) {
    if (h->z[k] < lo) lo = h->z[k];
    if (h->z[k] > hi) hi = h->z[k];
  }
  if (lo == hi) lo -= 0.5, hi += 0.5;
  char a[32], b[32];
  fprintf(f, "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\nset cbrange [%s:%s]\n",
          h->cols - 0.5, h->rows - 0.5, csv_format_number(lo, a), csv_format_number(hi, b));
  double ratio = (double)h->rows / h->cols; /* square cells, unless too narrow */
  fprintf(f, "set size ratio %g\n", ratio < 0.25 ? 0.25 : ratio > 4 ? 4 : ratio);
}

/* (rows, cols) -> one line per row, values separated by spaces. */
static void put_matrix(FILE *f, const heatmap *h) {
  char buf[32];
  fputs("$z << EOD\n", f);
  for (int i = 0; i < h->rows; i++) {
    for (int j = 0; j < h->cols; j++)
      fprintf(f, "%s%s", j ? " " : "", csv_format_number(h->z[(size_t)i * h->cols + j], buf));
    fputc('\n', f);
  }
  fputs("EOD\n", f);
}

/* (rows, cols) -> "x y z" lines (z or log10 z), a blank line after each row. */
static void put_grid(FILE *f, const heatmap *h) {
  char a[32], b[32], c[32];
  fputs("$g << EOD\n", f);
  for (int i = 0; i < h->rows; i++) {
    for (int j = 0; j < h->cols; j++) {
      double z = h->z[(size_t)i * h->cols + j];
      fprintf(f, "%s %s %s\n", csv_format_number(h->x[j], a), csv_format_number(h->y[i], b),
              csv_format_number(h->logz ? log10(z) : z, c));
    }
    fputc('\n', f);
  }
  fputs("EOD\n", f);
}

/* The contour map: colours from above (pm3d at the base) and 14 contour
** lines in white; or the surface, coloured, with the contours below it. */
static void put_splot(FILE *f, const heatmap *h) {
  fputs("set autoscale fix\nset contour base\nset cntrparam levels 14\nunset clabel\n"
        "set tics out nomirror\nset colorbox\n", f);
  if (h->zlabel || h->logz) {
    fputs(h->logz ? "set cblabel 'log10 '." : "set cblabel ", f);
    gnuplot_string(f, h->zlabel ? h->zlabel : "value");
    fputc('\n', f);
  }
  if (h->style == HEATMAP_CONTOUR) {
    fputs("set view map\nset size square\nset pm3d at b interpolate 3,3\n"
          "splot $g using 1:2:3 with pm3d notitle, "
          "$g using 1:2:3 nosurface with lines lc rgb 'white' lw 1 notitle\n", f);
  } else {
    fputs("set view 55, 35\nset pm3d at s\nset xyplane 0\n"
          "splot $g using 1:2:3 with pm3d notitle, "
          "$g using 1:2:3 nosurface with lines lc rgb '#444444' notitle\n", f);
  }
}

char *heatmap_script(const heatmap *h, const char *out, const char *part, size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f) return NULL;
  fputs("# written by lunet plot\nset encoding utf8\n", f);
  gnuplot_terminal(f, out, part, 900, 760);
  put_labels(f, h);
  put_palette(f, h);
  if (h->style == HEATMAP_IMAGE) {
    put_ranges(f, h);
    put_tics(f, "x", h->xtics, h->cols);
    put_tics(f, "y", h->ytics, h->rows);
    fputs("set border lw 1\nset colorbox\nunset key\n", f);
    put_matrix(f, h);
    fputs("plot $z matrix with image notitle\n", f);
  } else {
    put_grid(f, h);
    put_splot(f, h);
  }
  fputs("unset output\n", f);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

int heatmap_draw(const heatmap *h, const char *out, const char *who) {
  char err[256];
  if (heatmap_check(h, out, err, sizeof err) != 0) {
    fprintf(stderr, "%s: %s\n", who, err);
    return -1;
  }
  size_t len = 0;
  char *part = gnuplot_part_name(out), *script = part ? heatmap_script(h, out, part, &len) : NULL;
  int rc = -1;
  if (!script) fprintf(stderr, "%s: out of memory\n", who);
  else rc = gnuplot_draw(who, out, part, script, len);
  free(script);
  free(part);
  return rc;
}
