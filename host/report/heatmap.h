/*
** heatmap.h -- a matrix drawn as a heatmap by gnuplot: `lunet plot
** --heatmap` (from a long-format CSV) and lunet.heatmap (from Lua).
*/
#ifndef LUNET_HEATMAP_H
#define LUNET_HEATMAP_H

#include <stddef.h>

typedef struct heatmap {
  const double *z;               /* (rows, cols), row-major: z[i * cols + j] */
  int rows, cols;
  const char *title, *xlabel, *ylabel; /* or NULL */
  const char *const *xtics;      /* cols labels, or NULL for 0 .. cols-1 */
  const char *const *ytics;      /* rows labels, or NULL for 0 .. rows-1 */
  const char *palette;           /* "viridis" (also for NULL) or "gray" */
} heatmap;

/* Whether H and the figure's name OUT can be drawn: 0, or -1 with the
** reason (naming what is wrong) in ERR. */
int heatmap_check(const heatmap *h, const char *out, char *err, size_t size);

/* The gnuplot script that draws H into PART (malloc'd, LEN bytes), or NULL
** when out of memory. Row 0 is at the top, as in a printed matrix; the
** colour bar spans the values. */
char *heatmap_script(const heatmap *h, const char *out, const char *part, size_t *len);

/* Draws H into OUT (.png or .svg), written whole or not at all. Errors go to
** stderr after WHO. Returns 0 or -1. */
int heatmap_draw(const heatmap *h, const char *out, const char *who);

#endif
