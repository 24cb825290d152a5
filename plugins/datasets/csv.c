/*
** csv.c -- a table from a CSV file, parsed with libcsv.
**
** One column is the target, every other column a numeric input: a file of
** C columns gives inputs of shape {C-1}. The first row names the columns
** unless header = false. The target is the last column unless `target`
** names one (by header name, or by 1-based number).
**
**   task = "classification": target values are labels, mapped to classes
**     0..K-1 in sorted order of their distinct values: numerically when all
**     of them are numbers ("2" < "10"; "1" and "1.0" are one class), else by
**     byte-wise string order. The target shape is {1}, classes = K.
**   task = "regression": the target must be numeric; shape {1}, classes = 0.
**
** The whole file is read once at open() into float32 rows. Rows in messages
** are counted from 1 at the first record of the file, header included (the
** line number, unless quoted fields hold line breaks). Numbers are read by
** strtod() in the C locale; NaN and infinities are refused. Parsing is
** strict (RFC 4180 quoting), blank lines are skipped, a UTF-8 byte-order
** mark is ignored.
*/
#include <errno.h>
#include <float.h>
#include <stdlib.h>

#include <csv.h>
#include <lunet/helpers.h>

enum { P_PATH, P_TARGET, P_HEADER, P_TASK };

static const lunet_param_decl params[] = {
  [P_PATH] = {"path", LUNET_STRING, 0, 0, 0, "", NULL, "CSV file to read", LUNET_REQUIRED},
  [P_TARGET] = {"target", LUNET_STRING, 0, 0, 0, "", NULL,
                "target column: a header name or a 1-based number (\"\": the last column)", 0},
  [P_HEADER] = {"header", LUNET_BOOL, 1, 0, 1, NULL, NULL, "the first row names the columns", 0},
  [P_TASK] = {"task", LUNET_STRING, 0, 0, 0, "classification", "classification|regression",
              "classification: target values become classes 0..K-1; regression: numeric target", 0},
};

/* A growable array of bytes; the host has no realloc, so it is done here. */
typedef struct buffer {
  char *data;
  size_t len, cap; /* in bytes */
} buffer;

static int reserve(buffer *b, size_t more) {
  if (b->len + more <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more) cap *= 2;
  char *data = host->alloc(cap);
  if (!data) return 1;
  if (b->len) memcpy(data, b->data, b->len);
  host->free(b->data);
  b->data = data;
  b->cap = cap;
  return 0;
}

static int append(buffer *b, const void *p, size_t n) {
  if (reserve(b, n)) return 1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static void release(buffer *b) {
  host->free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Everything the libcsv callbacks build up while the file is parsed. */
typedef struct reader {
  const char *path;
  const char *target;  /* the `target` parameter */
  int header, regression;
  int failed;          /* an error is set: ignore the rest */
  long long row;       /* records finished so far */
  int ncols;           /* fixed by the first record; 0 before it */
  int tcol;            /* 0-based target column */
  buffer cells;        /* fields of the current record, each NUL-terminated */
  buffer starts;       /* size_t offsets of those fields in `cells` */
  buffer names;        /* header names, NUL-terminated, in column order */
  buffer x;            /* float inputs, (rows, ncols-1) */
  buffer y;            /* regression: float targets */
  buffer labels;       /* classification: target texts, NUL-terminated */
} reader;

typedef struct table {
  int64_t n;      /* samples */
  size_t nin;     /* inputs per sample */
  float *x, *y;   /* (n, nin), (n, 1) */
} table;

/* ---- Cells ------------------------------------------------------------- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

enum { NOT_NUMBER, NUMBER, OUT_OF_RANGE };

/* Reads a whole cell as a number, surrounding blanks allowed: NUMBER, or
** OUT_OF_RANGE when it is not finite as a float32, or NOT_NUMBER. */
static int parse_number(const char *s, double *out) {
  char *end;
  while (is_space(*s)) s++;
  if (*s == '\0') return NOT_NUMBER;
  double v = strtod(s, &end);
  if (end == s) return NOT_NUMBER;
  while (is_space(*end)) end++;
  if (*end != '\0') return NOT_NUMBER;
  if (!isfinite(v) || v > FLT_MAX || v < -FLT_MAX) return OUT_OF_RANGE;
  *out = v;
  return NUMBER;
}

/* The name of column j (0-based) for messages: "3" or "3 (\"width\")". */
static const char *column_label(const reader *r, int j, char *buf, size_t size) {
  const char *name = NULL;
  if (r->header && r->names.len) {
    name = r->names.data;
    for (int i = 0; i < j; i++) name += strlen(name) + 1;
  }
  if (name) snprintf(buf, size, "%d (\"%.60s\")", j + 1, name);
  else snprintf(buf, size, "%d", j + 1);
  return buf;
}

static const char *cell(const reader *r, int j) {
  return r->cells.data + ((const size_t *)(const void *)r->starts.data)[j];
}

/* ---- The target column ------------------------------------------------- */

/* Copies s without leading and trailing blanks into buf. */
static const char *trimmed(const char *s, char *buf, size_t size) {
  while (is_space(*s)) s++;
  size_t n = strlen(s);
  while (n && is_space(s[n - 1])) n--;
  snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), s);
  return buf;
}

/* The column named want, or -1; -2 (reported) when two columns have that name. */
static int find_name(const reader *r, const char *want) {
  char a[256], b[256];
  int found = -1;
  trimmed(want, a, sizeof a);
  const char *name = r->names.data;
  for (int j = 0; j < r->ncols; j++, name += strlen(name) + 1) {
    if (strcmp(trimmed(name, b, sizeof b), a) != 0) continue;
    if (found >= 0) {
      host->error("csv: target \"%s\" names two columns of %s, %d and %d; hint: rename one, or give the "
                  "target by number", a, r->path, found + 1, j + 1);
      return -2;
    }
    found = j;
  }
  return found;
}

static int parse_column_number(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  while (is_space(*end)) end++;
  if (end == s || *end != '\0' || errno || v < 1 || v > 1 << 30) return -1;
  return (int)v;
}

/* Lists the header names, "a, b, c", shortened to fit buf. */
static const char *list_names(const reader *r, char *buf, size_t size) {
  size_t used = 0;
  const char *name = r->names.data;
  buf[0] = '\0';
  for (int j = 0; j < r->ncols && used + 1 < size; j++, name += strlen(name) + 1) {
    int w = snprintf(buf + used, size - used, "%s\"%s\"", j ? ", " : "", name);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (used >= size && size > 4) strcpy(buf + size - 4, "...");
  return buf;
}

/* Sets r->tcol once the first record has fixed the columns. */
static int resolve_target(reader *r) {
  const char *t = r->target;
  char names[512];
  if (t[strspn(t, " \t")] == '\0') {
    r->tcol = r->ncols - 1;
    return 0;
  }
  if (r->header && (r->tcol = find_name(r, t)) >= 0) return 0;
  if (r->tcol == -2) return 1;
  int num = parse_column_number(t);
  if (num >= 1 && num <= r->ncols) {
    r->tcol = num - 1;
    return 0;
  }
  if (num >= 1)
    host->error("csv: target = %s but %s has %d columns, expected a column number 1..%d",
                t, r->path, r->ncols, r->ncols);
  else if (r->header)
    host->error("csv: target \"%s\" is not a column of %s, expected one of %s or a column "
                "number 1..%d", t, r->path, list_names(r, names, sizeof names), r->ncols);
  else
    host->error("csv: target \"%s\" is not a column number of %s, expected 1..%d; hint: column "
                "names need header = true", t, r->path, r->ncols);
  return 1;
}

/* ---- Records ----------------------------------------------------------- */

/* The first record fixes the number of columns; with a header it is kept
** as the column names and is not a sample. */
static int first_record(reader *r, int ncols) {
  r->ncols = ncols;
  if (ncols < 2) {
    host->error("csv: %s has %d column, expected at least 2 (inputs and a target); hint: is "
                "the separator a comma?", r->path, ncols);
    return 1;
  }
  if (r->header && append(&r->names, r->cells.data, r->cells.len)) return 1;
  return resolve_target(r);
}

static int store_sample(reader *r) {
  char col[96];
  for (int j = 0; j < r->ncols; j++) {
    const char *s = cell(r, j);
    double v;
    if (j == r->tcol && !r->regression) {
      if (append(&r->labels, s, strlen(s) + 1)) return 1;
      continue;
    }
    int kind = parse_number(s, &v);
    if (kind != NUMBER) {
      host->error("csv: %s row %lld, column %s: \"%.80s\" is %s, expected numeric %s", r->path,
                  r->row, column_label(r, j, col, sizeof col), s,
                  kind == OUT_OF_RANGE ? "not a finite float32 number" : "not a number",
                  j == r->tcol ? "targets for task = \"regression\"" :
                  "inputs (only the target column may hold text)");
      return 1;
    }
    float f = (float)v;
    if (append(j == r->tcol ? &r->y : &r->x, &f, sizeof f)) return 1;
  }
  return 0;
}

/* libcsv: one field of the current record (not NUL-terminated; may be NULL
** when empty). */
static void on_field(void *field, size_t len, void *data) {
  reader *r = data;
  size_t start = r->cells.len;
  if (r->failed) return;
  if (append(&r->starts, &start, sizeof start) || append(&r->cells, field, len) ||
      append(&r->cells, "", 1))
    r->failed = 1;
}

/* libcsv: the end of a record. */
static void on_record(int term, void *data) {
  reader *r = data;
  int ncols = (int)(r->starts.len / sizeof(size_t));
  (void)term;
  if (r->failed || ncols == 0) return;
  r->row++;
  if (r->ncols == 0) {
    if (first_record(r, ncols)) r->failed = 1;
    else if (!r->header && store_sample(r)) r->failed = 1;
  } else if (ncols != r->ncols) {
    host->error("csv: %s row %lld has %d columns, expected %d like row 1", r->path, r->row,
                ncols, r->ncols);
    r->failed = 1;
  } else if (store_sample(r)) {
    r->failed = 1;
  }
  r->cells.len = r->starts.len = 0;
}

/* Feeds the file to libcsv; the callbacks fill r. */
static int parse_file(reader *r) {
  FILE *fp = fopen(r->path, "rb");
  if (!fp) {
    host->error("csv: cannot open %s: %s", r->path, strerror(errno));
    return 1;
  }
  enum { CHUNK = 1 << 16 };
  char *buf = host->alloc(CHUNK);
  struct csv_parser p;
  if (!buf || csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
    if (buf) host->error("csv: cannot start the CSV parser for %s: out of memory", r->path);
    host->free(buf);
    fclose(fp);
    return 1;
  }
  size_t got, skip = 0;
  int first = 1, status = 0;
  while (!r->failed && (got = fread(buf, 1, CHUNK, fp)) > 0) {
    if (first && got >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) skip = 3; /* UTF-8 BOM */
    first = 0;
    if (csv_parse(&p, buf + skip, got - skip, on_field, on_record, r) != got - skip) {
      status = csv_error(&p);
      break;
    }
    skip = 0;
  }
  if (!r->failed && !status && ferror(fp)) {
    host->error("csv: cannot read %s: %s", r->path, strerror(errno));
    r->failed = 1;
  }
  if (!r->failed && !status && csv_fini(&p, on_field, on_record, r) != 0) status = csv_error(&p);
  if (!r->failed && status) {
    host->error("csv: %s row %lld is malformed: %s; hint: a field holding a quote or comma "
                "must be quoted, with quotes doubled (\"a \"\"b\"\", c\")", r->path, r->row + 1,
                csv_strerror(status));
    r->failed = 1;
  }
  csv_free(&p);
  host->free(buf);
  fclose(fp);
  return r->failed;
}

/* ---- Classes ----------------------------------------------------------- */

typedef struct label {
  const char *text;
  double value;   /* when every label is a number */
  int64_t row;
} label;

static int by_value(const void *a, const void *b) {
  double x = ((const label *)a)->value, y = ((const label *)b)->value;
  return (x > y) - (x < y);
}

static int by_text(const void *a, const void *b) {
  return strcmp(((const label *)a)->text, ((const label *)b)->text);
}

/* Writes class indices 0..K-1 (by sorted distinct label) to y; returns K,
** or -1 on failure. */
static int assign_classes(const reader *r, int64_t n, float *y) {
  label *l = host->alloc(sizeof *l * (size_t)n);
  if (!l) return -1;
  int numeric = 1;
  const char *s = r->labels.data;
  for (int64_t i = 0; i < n; i++, s += strlen(s) + 1) {
    l[i].text = s;
    l[i].row = i;
    numeric = numeric && parse_number(s, &l[i].value) == NUMBER;
  }
  int (*cmp)(const void *, const void *) = numeric ? by_value : by_text;
  qsort(l, (size_t)n, sizeof *l, cmp);
  int k = 0;
  for (int64_t i = 0; i < n; i++) {
    if (i > 0 && cmp(&l[i - 1], &l[i]) != 0) k++;
    y[l[i].row] = (float)k;
  }
  host->free(l);
  return k + 1;
}

/* ---- The dataset ------------------------------------------------------- */

static void release_reader(reader *r) {
  release(&r->cells);
  release(&r->starts);
  release(&r->names);
  release(&r->x);
  release(&r->y);
  release(&r->labels);
}

static void csv_close(void *self) {
  table *t = self;
  if (!t) return;
  host->free(t->x);
  host->free(t->y);
  host->free(t);
}

static int check_not_empty(const reader *r, int64_t n) {
  if (r->ncols == 0) {
    host->error("csv: %s is empty, expected %srows of comma-separated numbers", r->path,
                r->header ? "a header row and " : "");
    return 1;
  }
  if (n == 0) {
    host->error("csv: %s has a header but no data rows, expected at least one sample; hint: "
                "set header = false if the first row is data", r->path);
    return 1;
  }
  return 0;
}

static void *csv_open(const lunet_value *p, lunet_dataset_info *info) {
  reader r;
  memset(&r, 0, sizeof r);
  r.path = p[P_PATH].str ? p[P_PATH].str : "";
  r.target = p[P_TARGET].str ? p[P_TARGET].str : "";
  r.header = p[P_HEADER].num != 0;
  r.regression = strcmp(p[P_TASK].str, "regression") == 0;
  if (r.path[0] == '\0') {
    host->error("csv: path is empty, expected the CSV file to read, e.g. path = \"data/iris.csv\"");
    return NULL;
  }
  table *t = NULL;
  if (parse_file(&r)) goto fail;
  int64_t n = r.row - (r.header && r.ncols ? 1 : 0);
  if (check_not_empty(&r, n)) goto fail;
  if (!(t = host->alloc(sizeof *t))) goto fail;
  t->n = n;
  t->nin = (size_t)r.ncols - 1;
  t->x = (float *)(void *)r.x.data; /* taken over from the reader */
  r.x.data = NULL;
  int classes = 0;
  if (r.regression) {
    t->y = (float *)(void *)r.y.data;
    r.y.data = NULL;
  } else {
    if (!(t->y = host->alloc(sizeof(float) * (size_t)n))) goto fail;
    if ((classes = assign_classes(&r, n, t->y)) < 0) goto fail;
  }
  info->n = n;
  info->n_inputs = 1;
  info->input[0] = (lunet_shape){1, {r.ncols - 1}};
  info->input_dtype[0] = LUNET_F32;
  info->target = (lunet_shape){1, {1}};
  info->classes = classes;
  release_reader(&r);
  return t;
fail:
  release_reader(&r);
  csv_close(t);
  return NULL;
}

/* Copies rows idx[0..n) into x and y; every index is checked first. */
static int csv_get(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  const table *t = self;
  if (lunet_check_samples("csv", idx, n, t->n)) return -1;
  for (int i = 0; i < n; i++) {
    size_t from = (size_t)idx[i], to = (size_t)i;
    memcpy(x[0].f32 + to * t->nin, t->x + from * t->nin, sizeof(float) * t->nin);
    y->f32[to] = t->y[from];
  }
  return 0;
}

static const lunet_dataset_api api = {
  .size = sizeof(lunet_dataset_api),
  .open = csv_open,
  .close = csv_close,
  .get = csv_get,
};

LUNET_DATASET_PLUGIN(api, "csv", "2.0.0",
                     "a CSV file: numeric input columns and one class or regression target column",
                     LUNET_PARAMS(params))
