/*
** where.h -- what `lunet plot` and `lunet summary` share about a results
** file's rows and columns: the --where row filter (COL=VALUE, COL!=VALUE)
** and the list of columns that errors print.
*/
#ifndef LUNET_WHERE_H
#define LUNET_WHERE_H

#include "base/csvfile.h"

/* 1 if COND reads COL=VALUE or COL!=VALUE with a non-empty COL, else 0. */
int where_is_condition(const char *cond);

/* Keeps the rows of T that satisfy every condition CONDS[0..n): a cell
** equals VALUE as text or, when both are numbers, as a number (lr=0.001
** matches 1e-3). Errors go to stderr after "WHO: PATH: ": a column that is
** not there (with the columns listed), or no row left (with the values the
** column holds). Returns 0 or -1. */
int where_filter(csv_table *t, const char *const *conds, int n, const char *who, const char *path);

/* "available columns: a, b, c" on stderr. */
void where_list_columns(const csv_table *t);

#endif
