/*
** gnuplot.h -- what `lunet plot`'s figures share: quoting, the terminal for a
** .png or .svg name, and running gnuplot on a script.
*/
#ifndef LUNET_GNUPLOT_H
#define LUNET_GNUPLOT_H

#include <stddef.h>
#include <stdio.h>

/* Writes S as a gnuplot single-quoted string: quotes doubled, control
** characters as spaces. */
void gnuplot_string(FILE *f, const char *s);

/* 1 if OUT ends in .svg, 0 if in .png, -1 otherwise (case ignored). */
int gnuplot_figure_type(const char *out);

/* `set terminal` for OUT's type at WIDTH x HEIGHT pixels, and `set output`
** to PART (where gnuplot writes before the figure is renamed to OUT). */
void gnuplot_terminal(FILE *f, const char *out, const char *part, int width, int height);

/* The name gnuplot writes to: OUT with ".part" added (malloc'd, or NULL). */
char *gnuplot_part_name(const char *out);

/* Runs gnuplot on SCRIPT (of LEN bytes), which writes to PART, then renames
** PART to OUT, so that OUT is either the whole figure or untouched. Errors go
** to stderr after WHO ("lunet plot"); a failed script is kept in OUT.gp.
** Returns 0 or -1. */
int gnuplot_draw(const char *who, const char *out, const char *part, const char *script, size_t len);

#endif
