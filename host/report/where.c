/*
** where.c -- the --where filter of `lunet plot` and `lunet summary`:
** `--where optimizer=adam --where lr!=0.1` keeps the rows whose optimizer
** is adam and whose lr is not 0.1, before anything is averaged or drawn.
** Numbers compare by value, so that a condition need not spell a number as
** the file does (0.001, 1e-3); anything else compares as text.
*/
#include "report/where.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void where_list_columns(const csv_table *t) {
  fputs("available columns: ", stderr);
  for (int i = 0; i < t->ncols; i++)
    fprintf(stderr, "%s%s", i ? ", " : "", t->header[i]);
  fputc('\n', stderr);
}

/* COND split at its first '=' into the column (in COL, of SIZE) and the
** value; *NEGATED when the '=' follows a '!'. NULL if there is none. */
static const char *split(const char *cond, char *col, size_t size, int *negated) {
  const char *eq = strchr(cond, '=');
  if (!eq || eq == cond) return NULL;
  size_t n = (size_t)(eq - cond);
  *negated = eq[-1] == '!';
  if (*negated) n--;
  if (n == 0 || n >= size) return NULL;
  memcpy(col, cond, n);
  col[n] = '\0';
  return eq + 1;
}

int where_is_condition(const char *cond) {
  char col[256];
  int negated;
  return split(cond, col, sizeof col, &negated) != NULL;
}

static int same_value(const char *cell, const char *value) {
  double a, b;
  if (csv_cell_number(cell, &a) && csv_cell_number(value, &b)) return a == b;
  return strcmp(cell, value) == 0;
}

/* Up to ten distinct values of column C on stderr, for a filter that kept nothing. */
static void list_values(const csv_table *t, int c) {
  const char *seen[10];
  int n = 0;
  for (int r = 0; r < t->nrows && n < 10; r++) {
    int k = 0;
    while (k < n && strcmp(seen[k], t->cells[r][c]) != 0) k++;
    if (k == n) seen[n++] = t->cells[r][c];
  }
  fprintf(stderr, "values of '%s': ", t->header[c]);
  for (int k = 0; k < n; k++) fprintf(stderr, "%s%s", k ? ", " : "", *seen[k] ? seen[k] : "(empty)");
  fputs(n == 10 ? ", ...\n" : "\n", stderr);
}

int where_filter(csv_table *t, const char *const *conds, int n, const char *who, const char *path) {
  char *keep = malloc((size_t)t->nrows + 1);
  if (!keep) {
    fprintf(stderr, "%s: out of memory\n", who);
    return -1;
  }
  memset(keep, 1, (size_t)t->nrows + 1);
  int rc = 0;
  for (int k = 0; k < n && rc == 0; k++) {
    char col[256];
    int negated, kept = 0;
    const char *value = split(conds[k], col, sizeof col, &negated);
    int c = value ? csv_table_col(t, col) : -1;
    if (!value) {
      fprintf(stderr, "%s: --where '%s': expected COLUMN=VALUE or COLUMN!=VALUE\n", who, conds[k]);
      rc = -1;
    } else if (c < 0) {
      fprintf(stderr, "%s: %s: no column '%s' for --where %s\n", who, path, col, conds[k]);
      where_list_columns(t);
      rc = -1;
    } else {
      for (int r = 0; r < t->nrows; r++) {
        keep[r] = keep[r] && same_value(t->cells[r][c], value) != negated;
        kept += keep[r];
      }
      if (kept == 0) {
        fprintf(stderr, "%s: %s: no row left after --where %s\n", who, path, conds[k]);
        list_values(t, c);
        rc = -1;
      }
    }
  }
  if (rc == 0) csv_table_keep_rows(t, keep);
  free(keep);
  return rc;
}
