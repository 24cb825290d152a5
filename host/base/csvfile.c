/*
** csvfile.c -- reading and writing CSV results files through libcsv.
**
** Both directions share one scanner: libcsv fed a line at a time, so each
** record it reports is tied to the line (and byte offset) where it ended.
** The reader quotes line numbers in its errors; the writer keeps the offset
** just past the last complete record, and cuts anything after it on open:
** that is the partial line a killed run leaves behind.
**
** The writer does not buffer rows in stdio. Each row is formatted in memory
** (libcsv quotes the cells that need it) and handed to the kernel in one
** write(2) on an O_APPEND descriptor under flock(2): a finished row survives
** a kill -9 of the program, and rows appended by several lunet processes to
** one file never interleave. csvw_sync() adds fsync(2) for power loss. A
** write that fails part-way (a full disk) is truncated back to the row
** before it, so the next row is never glued onto a partial one. A file
** deleted or replaced while open is an error, not rows written into the void.
*/
#include "base/csvfile.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Errors ------------------------------------------------------------- */

static int fail(char *err, size_t errsz, const char *fmt, ...) {
  if (err && errsz) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Appends ", 'name'" items to a message being built in BUF. */
static void append_names(char *buf, size_t size, char *const *names, int n) {
  for (int i = 0; i < n; i++) {
    size_t len = strlen(buf);
    if (len + 1 >= size) return;
    snprintf(buf + len, size - len, "%s'%s'", i ? ", " : "", names[i]);
  }
}

static void free_strings(char **v, int n) {
  if (!v) return;
  for (int i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* ---- The scanner -------------------------------------------------------- */

typedef struct scanner scanner;

/* Called for each record; TERMINATED is 0 for a last line without newline.
** The handler may take s->fields (setting it to NULL); returns 0 or -1. */
typedef int (*record_fn)(scanner *s, int terminated);

struct scanner {
  struct csv_parser parser;
  char **fields;       /* the record being parsed */
  int nfields, cap;
  int collect;         /* 0: count fields without keeping them */
  long line;           /* the line being fed, from 1 */
  long record_line;    /* the line where the current record began */
  int ended;           /* a record ended on this line */
  long long offset;    /* bytes fed so far */
  long long good_end;  /* offset just past the last line that ended a record */
  int nomem, stop;
  record_fn on_record;
  void *ctx;
};

static void on_field(void *s, size_t len, void *data) {
  scanner *sc = data;
  if (sc->stop) return;
  if (sc->nfields == sc->cap) {
    int cap = sc->cap ? 2 * sc->cap : 16;
    char **f = realloc(sc->fields, (size_t)cap * sizeof *f);
    if (!f) { sc->nomem = sc->stop = 1; return; }
    sc->fields = f;
    sc->cap = cap;
  }
  char *copy = NULL;
  if (sc->collect) {
    copy = malloc(len + 1);
    if (!copy) { sc->nomem = sc->stop = 1; return; }
    if (len) memcpy(copy, s, len);
    copy[len] = '\0';
  }
  sc->fields[sc->nfields++] = copy;
}

static void on_record(int c, void *data) {
  scanner *sc = data;
  if (sc->stop) return;
  if (c != -1) sc->ended = 1;
  if (sc->on_record(sc, c != -1) != 0) sc->stop = 1;
  if (sc->fields && sc->collect)
    for (int i = 0; i < sc->nfields; i++) free(sc->fields[i]);
  if (!sc->fields) sc->cap = 0;
  sc->nfields = 0;
}

static void scan_init(scanner *sc, record_fn fn, void *ctx) {
  memset(sc, 0, sizeof *sc);
  csv_init(&sc->parser, CSV_APPEND_NULL);
  sc->collect = 1;
  sc->line = sc->record_line = 1;
  sc->on_record = fn;
  sc->ctx = ctx;
}

static void scan_free(scanner *sc) {
  if (sc->collect) free_strings(sc->fields, sc->nfields);
  else free(sc->fields);
  csv_free(&sc->parser);
}

/* Feeds N bytes, cut at each newline so records can be placed on lines. */
static int scan_feed(scanner *sc, const char *buf, size_t n) {
  while (n > 0 && !sc->stop) {
    const char *nl = memchr(buf, '\n', n);
    size_t len = nl ? (size_t)(nl - buf) + 1 : n;
    if (csv_parse(&sc->parser, buf, len, on_field, on_record, sc) != len) {
      sc->nomem = 1;
      return -1;
    }
    sc->offset += (long long)len;
    if (nl) {
      if (sc->ended) sc->good_end = sc->offset;
      sc->line++;
      if (sc->ended) sc->record_line = sc->line;
      sc->ended = 0;
    }
    buf += len;
    n -= len;
  }
  return sc->stop ? -1 : 0;
}

/* Feeds the whole of FD, from its start, past a UTF-8 byte-order mark.
** Returns 0, or -1 with errno set (ENOMEM for the parser, 0 when a record
** handler stopped the scan). */
static int scan_fd(scanner *sc, int fd) {
  char buf[65536];
  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  for (;;) {
    ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) return 0;
    size_t bom = sc->offset == 0 && got >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    sc->offset += (long long)bom;
    if (scan_feed(sc, buf + bom, (size_t)got - bom) != 0) {
      errno = sc->nomem ? ENOMEM : 0;
      return -1;
    }
  }
}

/* ---- Writing ------------------------------------------------------------ */

struct csvw {
  int fd;
  char *path;
  char **cols;     /* the header, once known */
  int ncols;
  size_t dropped;  /* bytes of partial last lines cut off */
};

/* Takes the first record as the header, and only counts the rest. */
static int take_header(scanner *sc, int terminated) {
  csvw *w = sc->ctx;
  if (!terminated || w->cols) return 0;
  w->cols = sc->fields;
  w->ncols = sc->nfields;
  sc->fields = NULL;
  sc->collect = 0;
  return 0;
}

static void forget_header(csvw *w) {
  free_strings(w->cols, w->ncols);
  w->cols = NULL;
  w->ncols = 0;
}

/* Reads the header and cuts a partial last line. Called under the lock. */
static int load_header(csvw *w, char *err, size_t errsz) {
  scanner sc;
  forget_header(w);
  scan_init(&sc, take_header, w);
  int rc = scan_fd(&sc, w->fd);
  int saved = errno;
  long long good_end = sc.good_end, size = sc.offset;
  scan_free(&sc);
  if (rc != 0) {
    forget_header(w);
    return fail(err, errsz, "%s: cannot read the existing rows: %s",
                w->path, strerror(saved));
  }
  if (good_end == 0) forget_header(w);
  if (good_end < size) {
    if (ftruncate(w->fd, (off_t)good_end) != 0)
      return fail(err, errsz, "%s: cannot cut off a partial last line: %s "
                  "(hint: check that the file is writable)",
                  w->path, strerror(errno));
    w->dropped += (size_t)(size - good_end);
  }
  return 0;
}

static void lock(csvw *w) { while (flock(w->fd, LOCK_EX) != 0 && errno == EINTR) {} }
static void unlock(csvw *w) { flock(w->fd, LOCK_UN); }

int make_parent_dirs(const char *path, char *err, size_t errsz) {
  if (!*path) return 0; /* no folder to make; the caller names the empty path */
  char *dir = strdup(path);
  if (!dir) return fail(err, errsz, "%s: out of memory", path);
  for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
      fail(err, errsz, "%s: cannot create the directory '%s': %s",
           path, dir, strerror(errno));
      free(dir);
      return -1;
    }
    *p = '/';
  }
  free(dir);
  return 0;
}

csvw *csvw_open(const char *path, char *err, size_t errsz) {
  if (!path || !*path) {
    fail(err, errsz, "csv: no file name given");
    return NULL;
  }
  if (make_parent_dirs(path, err, errsz) != 0) return NULL;
  int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail(err, errsz, "%s: cannot open for appending: %s "
         "(hint: check the path and the directory's permissions)",
         path, strerror(errno));
    return NULL;
  }
  csvw *w = calloc(1, sizeof *w);
  if (w) w->path = strdup(path);
  if (!w || !w->path) {
    fail(err, errsz, "%s: out of memory", path);
    close(fd);
    free(w);
    return NULL;
  }
  w->fd = fd;
  lock(w);
  int rc = load_header(w, err, errsz);
  unlock(w);
  if (rc != 0) {
    csvw_close(w);
    return NULL;
  }
  return w;
}

int csvw_ncols(const csvw *w) { return w ? w->ncols : 0; }

const char *csvw_col(const csvw *w, int i) {
  return w && i >= 0 && i < w->ncols ? w->cols[i] : NULL;
}

size_t csvw_dropped(const csvw *w) { return w ? w->dropped : 0; }

static int header_index(const csvw *w, const char *name) {
  for (int i = 0; i < w->ncols; i++)
    if (strcmp(w->cols[i], name) == 0) return i;
  return -1;
}

static int index_of(const char *const *v, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(v[i], name) == 0) return i;
  return -1;
}

/* Column names must be present, non-empty and distinct. */
static int check_names(const csvw *w, const char *const *cols, int n,
                       char *err, size_t errsz) {
  if (n <= 0) return fail(err, errsz, "%s: a row needs at least one column", w->path);
  for (int i = 0; i < n; i++) {
    if (!cols[i] || !*cols[i])
      return fail(err, errsz, "%s: column %d has no name", w->path, i + 1);
    if (index_of(cols, i, cols[i]) >= 0)
      return fail(err, errsz, "%s: column '%s' is given twice", w->path, cols[i]);
  }
  return 0;
}

/* A cell needs quotes if libcsv would otherwise split it or trim it. */
static int needs_quotes(const char *s, size_t len) {
  if (len == 0) return 0;
  if (strpbrk(s, ",\"\r\n")) return 1;
  return isblank((unsigned char)s[0]) || isblank((unsigned char)s[len - 1]);
}

static void put_cell(FILE *f, const char *s) {
  size_t len = s ? strlen(s) : 0;
  if (needs_quotes(s, len)) csv_fwrite(f, s, len);
  else if (len) fwrite(s, 1, len, f);
}

void csv_write_row(FILE *f, const char *const *cells, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputc(',', f);
    put_cell(f, cells[i]);
  }
  fputc('\n', f);
}

static int write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t put = write(fd, buf, n);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return -1;
    buf += put;
    n -= (size_t)put;
  }
  return 0;
}

/* Whether PATH still names the open file: rows written after it was deleted
** or replaced would go nowhere anyone can read. */
static int still_there(const csvw *w, char *err, size_t errsz) {
  struct stat at, mine;
  if (fstat(w->fd, &mine) != 0)
    return fail(err, errsz, "%s: cannot check the open file: %s", w->path, strerror(errno));
  if (stat(w->path, &at) != 0 || at.st_dev != mine.st_dev || at.st_ino != mine.st_ino)
    return fail(err, errsz, "%s: the file was deleted or replaced while lunet was writing to it; the rows "
                "written before are gone with it (hint: rerun: a sweep reruns the trials it no longer holds)",
                w->path);
  return 0;
}

/* Formats CELLS (in header order) as one line and appends it. The caller
** holds the lock. */
static int append_line(csvw *w, const char *const *cells, int n,
                       char *err, size_t errsz) {
  if (still_there(w, err, errsz) != 0) return -1;
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&line, &len);
  if (!f) return fail(err, errsz, "%s: out of memory", w->path);
  csv_write_row(f, cells, n);
  if (fclose(f) != 0) {
    free(line);
    return fail(err, errsz, "%s: out of memory", w->path);
  }
  /* a short write (a full disk) is cut back, so the file ends at its last row */
  off_t end = lseek(w->fd, 0, SEEK_END);
  int rc = end < 0 ? -1 : write_all(w->fd, line, len);
  int saved = errno;
  free(line);
  if (rc != 0 && end >= 0 && ftruncate(w->fd, end) != 0)
    return fail(err, errsz, "%s: cannot write: %s, and cannot cut off the partial row: %s "
                "(hint: is the disk full? the next open cuts it)", w->path, strerror(saved), strerror(errno));
  if (rc != 0)
    return fail(err, errsz, "%s: cannot write: %s (hint: is the disk full?)",
                w->path, strerror(saved));
  return 0;
}

static int adopt_header(csvw *w, const char *const *cols, int n) {
  w->cols = calloc((size_t)n, sizeof *w->cols);
  if (!w->cols) return -1;
  w->ncols = n;
  for (int i = 0; i < n; i++)
    if (!(w->cols[i] = strdup(cols[i]))) return -1;
  return 0;
}

/* Explains how COLS differs from the header; 0 when they are the same set. */
static int compare_header(const csvw *w, const char *const *cols, int n,
                          char *err, size_t errsz) {
  char **missing = calloc((size_t)w->ncols + 1, sizeof *missing);
  char **extra = calloc((size_t)n + 1, sizeof *extra);
  int nmissing = 0, nextra = 0;
  if (!missing || !extra) {
    free(missing);
    free(extra);
    return fail(err, errsz, "%s: out of memory", w->path);
  }
  for (int i = 0; i < w->ncols; i++)
    if (index_of(cols, n, w->cols[i]) < 0) missing[nmissing++] = w->cols[i];
  for (int i = 0; i < n; i++)
    if (header_index(w, cols[i]) < 0) extra[nextra++] = (char *)cols[i];
  int rc = 0;
  if (nmissing || nextra) {
    char what[1024] = "";
    if (nmissing) {
      strcat(what, "missing ");
      append_names(what, sizeof what, missing, nmissing);
    }
    if (nextra) {
      strncat(what, nmissing ? "; not in the file: " : "not in the file: ",
              sizeof what - strlen(what) - 1);
      append_names(what, sizeof what, extra, nextra);
    }
    rc = fail(err, errsz, "%s: the columns differ from the file's header: %s "
              "(hint: write to a new file, or log the same columns)",
              w->path, what);
  }
  free(missing);
  free(extra);
  return rc;
}

int csvw_set_header(csvw *w, const char *const *cols, int n,
                    char *err, size_t errsz) {
  if (check_names(w, cols, n, err, errsz) != 0) return -1;
  if (w->ncols > 0) return compare_header(w, cols, n, err, errsz);
  lock(w);
  /* Another process may have written a header since we opened the file. */
  int rc = load_header(w, err, errsz);
  if (rc == 0 && w->ncols == 0) {
    if (adopt_header(w, cols, n) != 0) {
      forget_header(w);
      rc = fail(err, errsz, "%s: out of memory", w->path);
    } else {
      rc = append_line(w, cols, n, err, errsz);
      if (rc != 0) forget_header(w);
      unlock(w);
      return rc;
    }
  }
  unlock(w);
  if (rc != 0) return -1;
  return compare_header(w, cols, n, err, errsz);
}

int csvw_write(csvw *w, const char *const *cols, const char *const *cells,
               int n, char *err, size_t errsz) {
  if (check_names(w, cols, n, err, errsz) != 0) return -1;
  if (w->ncols == 0 && csvw_set_header(w, cols, n, err, errsz) != 0) return -1;
  const char **row = calloc((size_t)w->ncols, sizeof *row);
  if (!row) return fail(err, errsz, "%s: out of memory", w->path);
  for (int i = 0; i < n; i++) {
    int j = header_index(w, cols[i]);
    if (j < 0) {
      char names[768] = "";
      append_names(names, sizeof names, w->cols, w->ncols);
      free(row);
      return fail(err, errsz, "%s: column '%s' is not in the file's header "
                  "(columns: %s) (hint: write to a new file to change columns)",
                  w->path, cols[i], names);
    }
    row[j] = cells[i];
  }
  lock(w);
  int rc = append_line(w, row, w->ncols, err, errsz);
  unlock(w);
  free(row);
  return rc;
}

int csvw_sync(csvw *w) {
  if (!w) return -1;
  while (fsync(w->fd) != 0)
    if (errno != EINTR) return -1;
  return 0;
}

void csvw_close(csvw *w) {
  if (!w) return;
  close(w->fd);
  forget_header(w);
  free(w->path);
  free(w);
}

/* ---- Numbers ------------------------------------------------------------ */

int csv_cell_number(const char *cell, double *out) {
  if (!cell) return 0;
  while (isspace((unsigned char)*cell)) cell++;
  if (!*cell) return 0;
  char *end;
  double v = strtod(cell, &end);
  if (end == cell) return 0;
  while (isspace((unsigned char)*end)) end++;
  if (*end) return 0;
  if (out) *out = v;
  return 1;
}

/* ---- Reading ------------------------------------------------------------ */

typedef struct reading {
  csv_table *t;
  int cap;               /* rows allocated */
  const char *path;
  char *err;
  size_t errsz;
  int failed;
} reading;

/* Names in the header must be distinct: rows are looked up by name. */
static int check_header(reading *r) {
  const csv_table *t = r->t;
  for (int j = 1; j < t->ncols; j++)
    for (int i = 0; i < j; i++)
      if (strcmp(t->header[i], t->header[j]) == 0) {
        r->failed = 1;
        return fail(r->err, r->errsz, "%s:1: the header names column '%s' twice (columns %d and %d) "
                    "(hint: rename one of them)", r->path, t->header[j], i + 1, j + 1);
      }
  return 0;
}

static int add_row(scanner *sc, int terminated) {
  reading *r = sc->ctx;
  csv_table *t = r->t;
  if (!t->header) {
    t->header = sc->fields;
    t->ncols = sc->nfields;
    sc->fields = NULL;
    return check_header(r);
  }
  if (!terminated && sc->record_line < sc->line) {
    r->failed = 1;
    return fail(r->err, r->errsz, "%s:%ld: a quoted cell that begins on this line is never closed "
                "(hint: a quote inside a quoted cell is written twice, \"\")", r->path, sc->record_line);
  }
  if (!terminated) {
    t->partial_tail = 1; /* an interrupted write, whole cells or not: not a row yet */
    return 0;
  }
  if (sc->nfields != t->ncols) {
    r->failed = 1;
    return fail(r->err, r->errsz, "%s:%ld: the row has %d fields but the "
                "header has %d (hint: quote cells that contain commas, "
                "quotes or newlines)", r->path, sc->line, sc->nfields, t->ncols);
  }
  if (t->nrows == r->cap) {
    int cap = r->cap ? 2 * r->cap : 64;
    char ***rows = realloc(t->cells, (size_t)cap * sizeof *rows);
    if (!rows) {
      r->failed = 1;
      return fail(r->err, r->errsz, "%s: out of memory", r->path);
    }
    t->cells = rows;
    r->cap = cap;
  }
  t->cells[t->nrows++] = sc->fields;
  sc->fields = NULL;
  return 0;
}

csv_table *csv_read(const char *path, char *err, size_t errsz) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  csv_table *t = calloc(1, sizeof *t);
  reading r = { t, 0, path, err, errsz, 0 };
  scanner sc;
  scan_init(&sc, add_row, &r);
  int rc = t ? scan_fd(&sc, fd) : -1;
  int saved = t ? errno : ENOMEM;
  if (rc == 0 && csv_fini(&sc.parser, on_field, on_record, &sc) != 0) {
    rc = -1;
    saved = ENOMEM;
  }
  if (r.failed) rc = -1;
  else if (sc.stop) { rc = -1; saved = ENOMEM; }
  scan_free(&sc);
  close(fd);
  if (rc != 0 && !r.failed)
    fail(err, errsz, "%s: cannot read: %s", path, strerror(saved));
  else if (rc == 0 && t->ncols == 0)
    rc = fail(err, errsz, "%s: empty file, no header line "
              "(hint: is this the results file you meant?)", path);
  if (rc != 0) {
    csv_table_free(t);
    return NULL;
  }
  return t;
}

void csv_table_free(csv_table *t) {
  if (!t) return;
  for (int i = 0; i < t->nrows; i++) free_strings(t->cells[i], t->ncols);
  free(t->cells);
  free_strings(t->header, t->ncols);
  free(t);
}

void csv_table_keep_rows(csv_table *t, const char *keep) {
  int n = 0;
  for (int r = 0; r < t->nrows; r++) {
    if (keep[r]) t->cells[n++] = t->cells[r];
    else free_strings(t->cells[r], t->ncols);
  }
  t->nrows = n;
}

int csv_table_col(const csv_table *t, const char *name) {
  for (int i = 0; t && i < t->ncols; i++)
    if (strcmp(t->header[i], name) == 0) return i;
  return -1;
}
