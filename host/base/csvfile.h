/*
** csvfile.h -- the one place lunet reads and writes CSV results files.
**
** Results files are RFC 4180 CSV with one header line, parsed and quoted by
** libcsv. Two halves live here:
**
**   - csvw, an append-only row writer. It adopts the header of an existing
**     file, matches each row to it by column name, and hands every row to
**     the kernel as soon as it is written, so a killed run loses nothing it
**     finished. A partial last line left by such a kill is cut off on open.
**   - csv_read, which loads a whole file into a csv_table for `lunet
**     summary`, `lunet plot` and lunet.read_csv().
**
** Functions that can fail take (err, errsz) and fill it with a message that
** names the file, the reason and a hint; they return NULL or -1.
*/
#ifndef LUNET_CSVFILE_H
#define LUNET_CSVFILE_H

#include <stddef.h>
#include <stdio.h>

#include "base/number.h" /* the text of numbers in cells */

/* ---- Writing ------------------------------------------------------------ */

/* mkdir -p for the directories above PATH (results files, checkpoints). */
int make_parent_dirs(const char *path, char *err, size_t errsz);

typedef struct csvw csvw;

/* Opens PATH for appending, creating it and its missing parent directories.
** An existing header is read, so its columns are known before the first row. */
csvw *csvw_open(const char *path, char *err, size_t errsz);

int csvw_ncols(const csvw *w);                /* 0 until a header is known */
const char *csvw_col(const csvw *w, int i);   /* header column i, or NULL */
size_t csvw_dropped(const csvw *w);  /* bytes of a partial last line cut on open */

/* Fixes the columns. A new file gets this header; an existing one must have
** the same set of columns (in any order: rows follow the file's order). */
int csvw_set_header(csvw *w, const char *const *cols, int n,
                    char *err, size_t errsz);

/* Appends one row; cells[i] belongs to column cols[i]. Header columns not
** given are left empty; a NULL cell is empty. Without a header yet, COLS
** becomes the header. */
int csvw_write(csvw *w, const char *const *cols, const char *const *cells,
               int n, char *err, size_t errsz);

int csvw_sync(csvw *w);    /* waits until the rows are on disk (fsync) */
void csvw_close(csvw *w);

/* Writes one CSV line to F, quoting only the cells that need it (commas,
** quotes, CR/LF, leading or trailing blanks). For output that is not an
** appended results file, such as `lunet summary --csv`. */
void csv_write_row(FILE *f, const char *const *cells, int n);

/* ---- Reading ------------------------------------------------------------ */

typedef struct csv_table {
  int ncols;
  char **header;      /* ncols names */
  int nrows;          /* data rows, the header not counted */
  char ***cells;      /* cells[row][col], never NULL ("" when empty) */
  int partial_tail;   /* 1: an unterminated, short last line was ignored */
} csv_table;

csv_table *csv_read(const char *path, char *err, size_t errsz);
void csv_table_free(csv_table *t);
int csv_table_col(const csv_table *t, const char *name);  /* -1 if absent */

/* Keeps the rows r with keep[r] != 0, in order, and frees the others. */
void csv_table_keep_rows(csv_table *t, const char *keep);

/* 1 and *OUT set when the whole cell is a number (nan and inf included). */
int csv_cell_number(const char *cell, double *out);

#endif
