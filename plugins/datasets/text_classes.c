/*
** text_classes.c -- labelled short texts for sequence classification: one
** class per file, each file a list of texts. Sample x holds the first T
** bytes of a text as token ids (int32), padded with id 0; y its class.
**
** Texts (`records`):
**   fortune  separated by lines holding only "%": the strfile format of
**            Debian's fortunes packages (files in /usr/share/games/fortunes);
**   lines    one text per line.
** In each text every run of white space becomes one space, leading and
** trailing space is dropped, and an empty text is skipped.
**
** Tokens are bytes: id = byte + 1 (1..256), id 0 pads (pad_mask finds it),
** vocabulary 257; decode skips pads. Texts longer than max_len = T are cut.
**
** The split is fixed by `seed`: the texts of each class are shuffled, then
** the first 80% are train, the next 10% valid, the last 10% test (cut at
** floor), so that every split has the classes in the same proportions.
** Samples go class by class; lunet.train shuffles them.
**
** Memory is plain malloc, as text.c's: the texts grow while the files are
** read, and nothing here runs in a training step.
*/
#include <errno.h>
#include <stdlib.h>

#include <lunet/helpers.h>

#define MAX_CLASSES 64
#define PAD 0
#define VOCAB 257

enum { P_FILES, P_RECORDS, P_MAX_LEN, P_SPLIT, P_SEED };

static const lunet_param_decl params[] = {
  [P_FILES] = {"files", LUNET_STRING, 0, 0, 0,
               "/usr/share/games/fortunes/computers,/usr/share/games/fortunes/definitions", NULL,
               "the classes: comma-separated text files, one class each, class k the k-th file",
               LUNET_REQUIRED},
  [P_RECORDS] = {"records", LUNET_STRING, 0, 0, 0, "lines", "lines|fortune",
                 "how texts are separated: one per line, or by lines of \"%\" (fortune files)", 0},
  [P_MAX_LEN] = {"max_len", LUNET_INT, 128, 1, 1 << 20, NULL, NULL,
                 "T: bytes per sample; longer texts are cut, shorter ones padded (id 1 in Lua, 0 in C)", 0},
  [P_SPLIT] = {"split", LUNET_STRING, 0, 0, 0, "train", "train|valid|test",
               "per class, after a shuffle by seed: the first 80%, the next 10%, the last 10%", 0},
  [P_SEED] = {"seed", LUNET_INT, 1, 0, 9007199254740992.0, NULL, NULL,
              "the shuffle that fixes the split", 0},
};

typedef struct text_classes {
  char *bytes;              /* the split's texts, back to back */
  int64_t *start;           /* text i is bytes[start[i] .. start[i + 1]) */
  int32_t *label;           /* (n) class of text i */
  int64_t n, len, cap, T;
} text_classes;

static void tc_close(void *self) {
  text_classes *d = self;
  if (!d) return;
  free(d->bytes);
  free(d->start);
  free(d->label);
  free(d);
}

/* The whole file at `path` (NUL-terminated, caller frees), or NULL after an error. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    host->error("text_classes: cannot open class file '%s': %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0, got;
  char *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) {
      char *more = realloc(buf, cap *= 2);
      if (!more) free(buf);
      buf = more;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    host->error("text_classes: cannot read class file '%s'", path);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* The texts of buf[0..n) as [begin, end) pairs in spans[0..2k): its lines,
** or (fortune) the runs of lines between lines holding only "%". Returns k,
** or -1 out of memory; caller frees *spans. */
static int64_t split_records(const char *buf, size_t n, int fortune, size_t **spans) {
  int64_t k = 0, cap = 256;
  size_t *s = malloc(sizeof *s * 2 * (size_t)cap), from = 0;
  for (size_t line = 0; s && line <= n;) {
    size_t eol = line;
    while (eol < n && buf[eol] != '\n') eol++;
    int sep = fortune && eol - line == 1 && buf[line] == '%';
    if (!fortune || sep || eol == n) {
      size_t begin = fortune ? from : line, end = sep ? line : eol;
      if (k == cap) {
        size_t *more = realloc(s, sizeof *s * 2 * (size_t)(cap *= 2));
        if (!more) free(s);
        s = more;
      }
      if (s && end > begin) s[2 * k] = begin, s[2 * k + 1] = end, k++;
      from = eol + 1;
    }
    line = eol + 1;
  }
  *spans = s;
  return s ? k : -1;
}

/* Appends text src[0..n) with white space runs made one space, trimmed;
** returns its length (0: nothing to keep), or -1 out of memory. */
static int64_t append_text(text_classes *d, const char *src, size_t n) {
  if (d->len + (int64_t)n + 1 > d->cap) {
    int64_t cap = 2 * (d->cap + (int64_t)n + 1);
    char *more = realloc(d->bytes, (size_t)cap);
    if (!more) return -1;
    d->bytes = more, d->cap = cap;
  }
  int64_t at = d->len, len = 0;
  int space = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      space = len > 0;
      continue;
    }
    if (space) d->bytes[at + len++] = ' ';
    space = 0;
    d->bytes[at + len++] = (char)c;
  }
  d->len += len;
  return len;
}

/* The texts of class `cls` from the file at `path` that fall in this split. */
static int add_class(text_classes *d, const char *path, int cls, int fortune, int split,
                     lunet_rng *rng) {
  size_t n, *spans;
  char *buf = read_file(path, &n);
  if (!buf) return -1;
  int64_t k = split_records(buf, n, fortune, &spans);
  if (k < 0) {
    free(buf);
    host->error("text_classes: out of memory reading '%s'", path);
    return -1;
  }
  if (k < 10) {
    host->error("text_classes: class file '%s' holds %lld texts (records = %s), expected at "
                "least 10 for the 80/10/10 split", path, (long long)k, fortune ? "fortune" : "lines");
    free(spans), free(buf);
    return -1;
  }
  for (int64_t i = k - 1; i > 0; i--) { /* Fisher-Yates over the pairs */
    int64_t j = (int64_t)(host->rng_u64(rng) % (uint64_t)(i + 1));
    size_t a = spans[2 * i], b = spans[2 * i + 1];
    spans[2 * i] = spans[2 * j], spans[2 * i + 1] = spans[2 * j + 1];
    spans[2 * j] = a, spans[2 * j + 1] = b;
  }
  int64_t cut[4] = {0, k * 8 / 10, k * 9 / 10, k}, rc = 0;
  for (int64_t i = cut[split]; i < cut[split + 1] && rc == 0; i++) {
    int64_t len = append_text(d, buf + spans[2 * i], spans[2 * i + 1] - spans[2 * i]);
    if (len < 0) rc = -1;
    if (len <= 0) continue;
    int64_t *start = realloc(d->start, sizeof *start * (size_t)(d->n + 2));
    int32_t *label = realloc(d->label, sizeof *label * (size_t)(d->n + 1));
    if (start) d->start = start;
    if (label) d->label = label;
    if (!start || !label) rc = -1;
    else d->start[d->n + 1] = d->len, d->label[d->n++] = cls;
  }
  if (rc) host->error("text_classes: out of memory reading '%s'", path);
  free(spans), free(buf);
  return (int)rc;
}

static void *tc_open(const lunet_value *p, lunet_dataset_info *info) {
  const char *split_name = p[P_SPLIT].str;
  int split = strcmp(split_name, "train") == 0 ? 0 : strcmp(split_name, "valid") == 0 ? 1 : 2;
  int fortune = strcmp(p[P_RECORDS].str, "fortune") == 0;
  char *files = malloc(strlen(p[P_FILES].str) + 1);
  text_classes *d = calloc(1, sizeof *d);
  if (!files || !d || !(d->start = calloc(1, sizeof *d->start))) {
    free(files), tc_close(d);
    host->error("text_classes: out of memory");
    return NULL;
  }
  strcpy(files, p[P_FILES].str);
  d->T = (int64_t)p[P_MAX_LEN].num;
  lunet_rng rng;
  host->rng_seed(&rng, (uint64_t)p[P_SEED].num);
  int classes = 0, failed = 0;
  for (char *path = strtok(files, ","); path && !failed; path = strtok(NULL, ",")) {
    if (classes == MAX_CLASSES) host->error("text_classes: more than %d class files", MAX_CLASSES);
    failed = classes == MAX_CLASSES || add_class(d, path, classes, fortune, split, &rng);
    classes += !failed;
  }
  free(files);
  if (!failed && classes < 2)
    host->error("text_classes: files names %d class file%s, expected at least 2, comma-separated",
                classes, classes == 1 ? "" : "s");
  if (failed || classes < 2) {
    tc_close(d);
    return NULL;
  }
  info->n = d->n;
  info->n_inputs = 1;
  info->input[0] = (lunet_shape){1, {(int32_t)d->T}};
  info->input_dtype[0] = LUNET_I32;
  info->target = (lunet_shape){1, {1}};
  info->classes = classes;
  info->vocab = VOCAB;
  return d;
}

/* x = the first T bytes of each text + 1, then pads (0); y = its class
** idx (n) -> (n, T) ids, (n, 1) */
static int tc_get(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  const text_classes *d = self;
  if (lunet_check_samples("text_classes", idx, n, d->n)) return -1;
  for (int i = 0; i < n; i++) {
    const unsigned char *s = (const unsigned char *)d->bytes + d->start[idx[i]];
    int64_t len = d->start[idx[i] + 1] - d->start[idx[i]];
    int32_t *row = x[0].i32 + (int64_t)i * d->T;
    for (int64_t t = 0; t < d->T; t++) row[t] = t < len ? (int32_t)s[t] + 1 : PAD;
    y->f32[i] = (float)d->label[idx[i]];
  }
  return 0;
}

/* ids[i] = byte i + 1 */
static int64_t tc_encode(void *self, const char *text, size_t len, int32_t *ids, int64_t cap) {
  (void)self;
  for (size_t i = 0; i < len && (int64_t)i < cap; i++) ids[i] = (int32_t)(unsigned char)text[i] + 1;
  return (int64_t)len;
}

/* byte = id - 1; pads (0) are skipped */
static int64_t tc_decode(void *self, const int32_t *ids, int64_t n, char *text, int64_t cap) {
  int64_t len = 0;
  (void)self;
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= VOCAB) {
      host->error("text_classes: decode: id %d at position %lld, expected 0 (pad) to %d", (int)ids[i],
                  (long long)i, VOCAB - 1);
      return -1;
    }
    if (ids[i] == PAD) continue;
    if (len < cap) text[len] = (char)(ids[i] - 1);
    len++;
  }
  if (len < cap) text[len] = '\0';
  return len;
}

static const lunet_dataset_api api = {
  .size = sizeof(lunet_dataset_api),
  .open = tc_open,
  .close = tc_close,
  .get = tc_get,
  .encode = tc_encode,
  .decode = tc_decode,
};

LUNET_DATASET_PLUGIN(api, "text_classes", "2.2.0",
                     "labelled short texts, one class per file (fortune or line records): x = T "
                     "byte ids padded with 0, y = the class; fixed 80/10/10 split per class",
                     LUNET_PARAMS(params))
