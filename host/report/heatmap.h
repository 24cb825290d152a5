/*
** heatmap.h -- a matrix drawn by gnuplot as a heatmap, or, over a grid of
** numeric coordinates, as a contour map or a surface: `lunet plot --style
** heatmap|contour|surface` (from a long-format CSV), lunet.plot and
** lunet.heatmap (from Lua).
*/
#ifndef LUNET_HEATMAP_H
#define LUNET_HEATMAP_H

#include <stddef.h>

enum { HEATMAP_IMAGE = 0, HEATMAP_CONTOUR, HEATMAP_SURFACE };

typedef struct heatmap {
  const double *z;               /* (rows, cols), row-major: z[i * cols + j] */
  int rows, cols;
  const char *title, *xlabel, *ylabel; /* or NULL */
  const char *const *xtics;      /* cols labels, or NULL for 0 .. cols-1 */
  const char *const *ytics;      /* rows labels, or NULL for 0 .. rows-1 */
  const char *palette;           /* "viridis" (also for NULL) or "gray" */
  int style;                     /* HEATMAP_IMAGE (the default), _CONTOUR or _SURFACE */
  const double *x, *y;           /* contour and surface: the cols x and rows y coordinates */
  const char *zlabel;            /* contour and surface: the values' name, or NULL */
  int logz;                      /* contour and surface: draw log10 of the values */
} heatmap;

/* Whether H and the figure's name OUT can be drawn: 0, or -1 with the
** reason (naming what is wrong) in ERR. */
int heatmap_check(const heatmap *h, const char *out, char *err, size_t size);

/* The gnuplot script that draws H into PART (malloc'd, LEN bytes), or NULL
** when out of memory. A heatmap has row 0 at the top, as in a printed
** matrix; a contour map or surface has y growing upwards, as axes do. The
** colour bar spans the values. */
char *heatmap_script(const heatmap *h, const char *out, const char *part, size_t *len);

/* Draws H into OUT (.png or .svg), written whole or not at all. Errors go to
** stderr after WHO. Returns 0 or -1. */
int heatmap_draw(const heatmap *h, const char *out, const char *who);

#endif
