/*
** checkpoint.c -- the checkpoint file format: its writer and its reader.
**
** Layout, format version 1. Integers are unsigned little-endian; tensor data
** is IEEE float32, little-endian (the in-memory bytes on the hosts lunet runs
** on; a big-endian host swaps them).
**
**   offset  size  field
**   0       8     magic "LUNETCKP"
**   8       4     format version (1)
**   12      8     size of the whole file in bytes, checksum included, so
**                 that a truncated file is told apart from a damaged one
**   20      8     initialisation seed of the model
**   28      4     ndim of the per-sample input shape, then ndim u32 dims
**           4     length S of the spec text, then its S bytes (below)
**           4     number T of parameter tensors, then T records:
**                   u32 name length, the name ("3.1.dense.weight")
**                   u32 flags: 1 trained (has a gradient), 0 a buffer
**                   u32 ndim, then ndim u32 dims
**                   numel float32 values
**   size-4  4     CRC32 (zlib's crc32) of every byte before it
**
** The spec is text, one node per line, so that `strings` shows what a file
** holds. Residual blocks nest between "residual" and "end":
**
**   layer dense 1.0.0 out=8 init=he std=0.01 bias=true
**   residual
**   layer tanh 1.0.0
**   end
**
** Every word (plugin name, version, parameter name, value) is percent-
** encoded: a byte outside [A-Za-z0-9._+-] becomes %XX, so a string value
** with spaces, newlines, '=' or '%' round-trips, and a raw space, '=' or
** newline is always a separator. Values come from params_format(); numbers
** are written as the shortest text that reads back as the same double
** (csv_format_number: "0.3", not "0.29999999999999999"), so they
** round-trip exactly.
**
** The reader takes the whole file into memory and checks, in this order,
** the magic, the version, the size and the CRC; only then does it parse,
** and an inconsistency found while parsing is reported as corruption.
** Writing goes to "path.tmp", fsync, rename: never a half file under `path`.
*/
#include "nn/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/strbuf.h"
#include "base/text.h"
#include "nn/dataset.h"
#include "runtime/services.h"

#define HEADER_SIZE 20      /* magic, version, file size */
#define MIN_FILE_SIZE 24    /* the header and the trailing CRC */
#define MAX_NESTING 32      /* residual blocks inside residual blocks */
#define MAX_NAME 4096       /* longest tensor name a reader accepts */

/* ---- little-endian bytes ----------------------------------------------- */

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

static void put_le32(unsigned char *b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *b, uint64_t v) {
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_le64(const unsigned char *b) {
  return (uint64_t)get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

/* zlib's crc32 takes a uInt length; feed it in chunks so any size works. */
static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n) {
  uLong c = crc;
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)c;
}

/* ---- the spec, written ------------------------------------------------- */

/* " name=value" for every parameter of a layer node, in declaration order. */
static void spec_params(strbuf *sb, const node *nd) {
  const lunet_plugin *p = nd->plugin->desc;
  for (int i = 0; i < p->n_params; i++) {
    /* a string value may be long: size the buffer for it */
    size_t sz = 64 + (p->params[i].type == LUNET_STRING ? strlen(nd->params.v[i].str) : 0);
    char *val = malloc(sz);
    params_format(p, &nd->params, i, val, sz);
    sb_str(sb, " ");
    sb_word(sb, p->params[i].name);
    sb_str(sb, "=");
    sb_word(sb, val);
    free(val);
  }
}

static void spec_write(strbuf *sb, const node *nodes, int n) {
  for (int i = 0; i < n; i++) {
    const node *nd = &nodes[i];
    if (nd->kind == NODE_RESIDUAL) {
      sb_str(sb, "residual\n");
      spec_write(sb, nd->body, nd->n_body);
      sb_str(sb, "end\n");
      continue;
    }
    sb_str(sb, "layer ");
    sb_word(sb, nd->plugin->desc->name);
    sb_str(sb, " ");
    sb_word(sb, nd->plugin->desc->version);
    spec_params(sb, nd);
    sb_str(sb, "\n");
  }
}

/* ---- writing ----------------------------------------------------------- */

/* Bytes go to the file and into the running CRC; the first failed write
** is remembered (with its errno) and every later one is skipped. */
typedef struct writer {
  FILE *f;
  uint32_t crc;
  int err; /* errno of the first failed write, 0 while all is well */
} writer;

static void put_bytes(writer *w, const void *p, size_t n) {
  if (w->err || n == 0) return;
  if (fwrite(p, 1, n, w->f) != n) {
    w->err = errno ? errno : EIO;
    return;
  }
  w->crc = crc_update(w->crc, p, n);
}

static void put_u32(writer *w, uint32_t v) {
  unsigned char b[4];
  put_le32(b, v);
  put_bytes(w, b, 4);
}

static void put_u64(writer *w, uint64_t v) {
  unsigned char b[8];
  put_le64(b, v);
  put_bytes(w, b, 8);
}

static void put_shape(writer *w, const lunet_shape *s) {
  put_u32(w, (uint32_t)s->ndim);
  for (int i = 0; i < s->ndim; i++) put_u32(w, (uint32_t)s->dim[i]);
}

static void put_floats(writer *w, const float *x, int64_t n) {
  if (host_is_little_endian()) {
    put_bytes(w, x, sizeof(float) * (size_t)n);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &x[i], 4);
    put_u32(w, u);
  }
}

/* Bytes of one tensor record. */
static uint64_t tensor_record_size(const model *m, int i) {
  const lunet_shape *s = &m->params[i].value->shape;
  return 4 + strlen(m->param_names[i]) + 4 + 4 + 4 * (uint64_t)s->ndim + 4 * (uint64_t)lunet_numel(s);
}

/* The whole file's size, computed up front because the header records it. */
static uint64_t file_size(const model *m, size_t spec_len) {
  uint64_t size = HEADER_SIZE + 8 + 4 + 4 * (uint64_t)m->in.ndim + 4 + spec_len + 4;
  for (int i = 0; i < m->n_params; i++) size += tensor_record_size(m, i);
  return size + 4;
}

static void write_tensors(writer *w, const model *m) {
  put_u32(w, (uint32_t)m->n_params);
  for (int i = 0; i < m->n_params; i++) {
    const lunet_param *p = &m->params[i];
    size_t len = strlen(m->param_names[i]);
    put_u32(w, (uint32_t)len);
    put_bytes(w, m->param_names[i], len);
    put_u32(w, p->grad ? 1u : 0u);
    put_shape(w, &p->value->shape);
    put_floats(w, p->value->data, lunet_numel(&p->value->shape));
  }
}

static void write_all(writer *w, const model *m, const strbuf *spec) {
  put_bytes(w, CHECKPOINT_MAGIC, 8);
  put_u32(w, CHECKPOINT_VERSION);
  put_u64(w, file_size(m, spec->len));
  put_u64(w, m->seed);
  put_shape(w, &m->in);
  put_u32(w, (uint32_t)spec->len);
  put_bytes(w, spec->p, spec->len);
  write_tensors(w, m);
  uint32_t crc = w->crc; /* put_u32 would fold its own bytes into w->crc */
  put_u32(w, crc);
}

/* Makes the rename itself durable: fsync the folder holding `path`. */
static void sync_parent_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  int fd = open(dir, O_RDONLY);
  if (fd < 0) return;
  fsync(fd); /* best effort: some file systems refuse it on folders */
  close(fd);
}

/* Writes, flushes and fsyncs tmp; 0 or errno. Closes the file either way. */
static int write_file(FILE *f, const model *m, const strbuf *spec) {
  writer w = {f, 0, 0};
  w.crc = (uint32_t)crc32(0L, Z_NULL, 0);
  write_all(&w, m, spec);
  int err = w.err;
  if (!err && fflush(f) != 0) err = errno;
  if (!err && fsync(fileno(f)) != 0) err = errno;
  if (fclose(f) != 0 && !err) err = errno;
  return err;
}

int checkpoint_save(const model *m, const char *path) {
  if (!m || !m->built) {
    services_error("checkpoint %s: the model is not built yet, so it has no parameters to save; "
                   "build it (train or run it once) before saving", path);
    return -1;
  }
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
    services_error("checkpoint %s: path too long (at most %zu bytes)", path, sizeof tmp - 5);
    return -1;
  }
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    services_error("checkpoint %s: cannot create %s: %s (does the folder exist and is it writable?)",
                   path, tmp, strerror(errno));
    return -1;
  }
  strbuf spec = {0};
  sb_str(&spec, "");
  spec_write(&spec, m->nodes, m->n);
  if (spec.nomem) {
    free(spec.p);
    fclose(f);
    remove(tmp);
    services_error("checkpoint %s: out of memory for the model's spec text", path);
    return -1;
  }
  int err = write_file(f, m, &spec);
  free(spec.p);
  if (err) {
    remove(tmp);
    services_error("checkpoint %s: writing %s failed: %s (is the disk full?)", path, tmp, strerror(err));
    return -1;
  }
  if (rename(tmp, path) != 0) {
    err = errno;
    remove(tmp);
    services_error("checkpoint %s: cannot rename %s to it: %s", path, tmp, strerror(err));
    return -1;
  }
  sync_parent_dir(path);
  return 0;
}

/* ---- reading: the file and its envelope -------------------------------- */

/* The whole file into *buf (caller frees). -1 with an error naming it. */
static int read_file(const char *path, unsigned char **buf, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    services_error("checkpoint %s: cannot open it: %s (check the path; checkpoints are written by "
                   "model:save())", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    services_error("checkpoint %s: not a regular file; expected a file written by model:save()", path);
    return -1;
  }
  *size = (size_t)st.st_size;
  *buf = malloc(*size ? *size : 1);
  if (!*buf || fread(*buf, 1, *size, f) != *size) {
    int err = errno;
    fclose(f);
    free(*buf);
    services_error("checkpoint %s: cannot read its %zu bytes: %s", path, *size,
                   *buf ? strerror(err) : "out of memory");
    return -1;
  }
  fclose(f);
  return 0;
}

/* Magic, version, size and CRC, in that order. 0, or -1 with the reason. */
static int check_envelope(const char *path, const unsigned char *buf, size_t size) {
  size_t k = size < 8 ? size : 8;
  if (memcmp(buf, CHECKPOINT_MAGIC, k) != 0) {
    services_error("checkpoint %s: not a lunet checkpoint (it does not begin with \"%s\"); "
                   "expected a file written by model:save()", path, CHECKPOINT_MAGIC);
    return -1;
  }
  if (size < MIN_FILE_SIZE) {
    services_error("checkpoint %s: truncated: the file has %zu bytes, expected at least %d "
                   "(header and checksum); was it copied completely?", path, size, MIN_FILE_SIZE);
    return -1;
  }
  uint32_t version = get_le32(buf + 8);
  if (version > CHECKPOINT_VERSION) {
    services_error("checkpoint %s: format version %u is newer than this lunet reads (version %u); "
                   "load it with a newer lunet", path, version, CHECKPOINT_VERSION);
    return -1;
  }
  if (version == 0) {
    services_error("checkpoint %s: corrupt: format version 0 does not exist (expected 1..%u)",
                   path, CHECKPOINT_VERSION);
    return -1;
  }
  uint64_t expected = get_le64(buf + 12);
  if (size < expected) {
    services_error("checkpoint %s: truncated: expected %llu bytes as its header records, the file "
                   "has %zu; was it copied completely?", path, (unsigned long long)expected, size);
    return -1;
  }
  if (size > expected) {
    services_error("checkpoint %s: corrupt: the file has %zu bytes, but its header records %llu",
                   path, size, (unsigned long long)expected);
    return -1;
  }
  uint32_t stored = get_le32(buf + size - 4);
  uint32_t actual = crc_update((uint32_t)crc32(0L, Z_NULL, 0), buf, size - 4);
  if (stored != actual) {
    services_error("checkpoint %s: corrupt: its CRC32 is %08x but the file records %08x; it was "
                   "damaged after it was written (copy it again, or save the model again)",
                   path, actual, stored);
    return -1;
  }
  return 0;
}

/* ---- reading: the content ---------------------------------------------- */

/* A cursor over the content. Reading past the end sets `bad` and yields
** zeros, so callers check once after a group of reads. */
typedef struct reader {
  const unsigned char *p, *end;
  int bad;
} reader;

static const unsigned char *get_bytes(reader *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const unsigned char *at = r->p;
  r->p += n;
  return at;
}

static uint32_t get_u32(reader *r) {
  const unsigned char *b = get_bytes(r, 4);
  return b ? get_le32(b) : 0;
}

static uint64_t get_u64(reader *r) {
  const unsigned char *b = get_bytes(r, 8);
  return b ? get_le64(b) : 0;
}

/* A shape of 0..max_ndim dims, each at least 1; -1 if it is not one. */
static int get_shape(reader *r, lunet_shape *s, int max_ndim) {
  uint32_t ndim = get_u32(r);
  if (r->bad || ndim > (uint32_t)max_ndim) return -1;
  s->ndim = (int)ndim;
  for (int i = 0; i < s->ndim; i++) {
    uint32_t d = get_u32(r);
    if (r->bad || d < 1 || d > (uint32_t)INT32_MAX) return -1;
    s->dim[i] = (int)d;
  }
  return 0;
}

static int corrupt(const char *path, const char *what) {
  services_error("checkpoint %s: corrupt: %s (the checksum matched, so it was probably written by "
                 "another program)", path, what);
  return -1;
}

/* ---- reading: the spec ------------------------------------------------- */

/* Which plugin version wrote each layer, for the hint of a tensor mismatch. */
typedef struct layer_note {
  char label[64];         /* "3.1.dense", as the model's tensor names begin */
  const plugin_entry *pe; /* the plugin found now */
  char version[64];       /* the plugin version that wrote the file */
} layer_note;

typedef struct spec_parser {
  const char *path;  /* the checkpoint, for messages */
  char *next;        /* the rest of the NUL-terminated spec text */
  layer_note *notes;
  int n_notes;
} spec_parser;

/* The next line, cut in place; NULL at the end. */
static char *next_line(spec_parser *sp) {
  if (!sp->next || !*sp->next) return NULL;
  char *line = sp->next, *nl = strchr(line, '\n');
  if (nl) *nl = '\0';
  sp->next = nl ? nl + 1 : NULL;
  return line;
}

/* Turns the text of one saved value into what params_resolve() takes,
** typed by the plugin's declaration. An undeclared name is passed on as a
** string so that params_resolve() reports it with the known names. */
static int typed_value(const spec_parser *sp, const lunet_plugin *p, param_given *g) {
  const lunet_param_decl *d = NULL;
  for (int i = 0; i < p->n_params; i++)
    if (strcmp(p->params[i].name, g->name) == 0) d = &p->params[i];
  g->type = LUNET_STRING;
  if (!d || d->type == LUNET_STRING) return 0;
  if (d->type == LUNET_BOOL) {
    g->type = LUNET_BOOL;
    g->num = strcmp(g->str, "true") == 0;
    if (g->num != 0 || strcmp(g->str, "false") == 0) return 0;
  } else {
    char *end;
    g->type = LUNET_NUMBER;
    g->num = strtod(g->str, &end);
    if (*g->str && !*end) return 0;
  }
  services_error("checkpoint %s: corrupt: parameter '%s' of layer %s is '%s', expected %s",
                 sp->path, g->name, p->name, g->str,
                 d->type == LUNET_BOOL ? "true or false" : d->type == LUNET_INT ? "an int" : "a number");
  return -1;
}

static void add_note(spec_parser *sp, const char *label, const plugin_entry *pe, const char *version) {
  layer_note *n = realloc(sp->notes, sizeof *n * (size_t)(sp->n_notes + 1));
  if (!n) return; /* only a hint is lost */
  sp->notes = n;
  snprintf(n[sp->n_notes].label, sizeof n->label, "%s.%s", label, pe->desc->name);
  n[sp->n_notes].pe = pe;
  snprintf(n[sp->n_notes].version, sizeof n->version, "%s", version);
  sp->n_notes++;
}

/* "layer NAME VERSION k=v ..." (the words after "layer ") into a node. */
static int parse_layer(spec_parser *sp, char *words, node *nd, const char *label) {
  char *save = NULL, *name = strtok_r(words, " ", &save), *version = strtok_r(NULL, " ", &save);
  if (!name || !version || percent_decode(name) || percent_decode(version))
    return corrupt(sp->path, "a layer line lacks its plugin name or version");
  const plugin_entry *pe = registry_find(LUNET_LAYER, name);
  if (!pe) {
    char why[1536];
    snprintf(why, sizeof why, "%s", services_last_error());
    services_error("checkpoint %s: cannot rebuild layer %s: %s", sp->path, label, why);
    return -1;
  }
  nd->plugin = pe;
  add_note(sp, label, pe, version);
  param_given given[64];
  int n = 0;
  for (char *kv; (kv = strtok_r(NULL, " ", &save)) != NULL; n++) {
    char *eq = strchr(kv, '=');
    if (n == 64 || !eq) return corrupt(sp->path, "a layer parameter is not written as name=value");
    *eq = '\0';
    given[n] = (param_given){.name = kv, .str = eq + 1};
    if (percent_decode(kv) || percent_decode(eq + 1)) return corrupt(sp->path, "a malformed %-escape");
    if (typed_value(sp, pe->desc, &given[n])) return -1;
  }
  if (params_resolve(pe->desc, given, n, &nd->params)) {
    char why[1536];
    snprintf(why, sizeof why, "%s", services_last_error());
    services_error("checkpoint %s: cannot rebuild layer %s: %s", sp->path, label, why);
    return -1;
  }
  return 0;
}

/* Nodes until "end" (inside a residual block) or the end of the text.
** On failure every node made so far is freed. */
static int parse_seq(spec_parser *sp, int depth, const char *prefix, node **out, int *count) {
  node *nodes = NULL;
  int n = 0;
  for (;;) {
    char *line = next_line(sp);
    if (!line && depth > 0) goto bad_nesting;
    if (!line) break;
    if (strcmp(line, "end") == 0) {
      if (depth == 0) goto bad_nesting;
      break;
    }
    node *grown = realloc(nodes, sizeof *nodes * (size_t)(n + 1));
    if (!grown) goto fail;
    nodes = grown;
    node *nd = &nodes[n++];
    memset(nd, 0, sizeof *nd); /* so node_free_all() can free it half made */
    char label[64];
    snprintf(label, sizeof label, "%s%d", prefix, n);
    if (strncmp(line, "layer ", 6) == 0) {
      nd->kind = NODE_LAYER;
      if (parse_layer(sp, line + 6, nd, label)) goto fail;
    } else if (strcmp(line, "residual") == 0 && depth < MAX_NESTING) {
      char sub[80];
      nd->kind = NODE_RESIDUAL;
      snprintf(sub, sizeof sub, "%s.", label);
      if (parse_seq(sp, depth + 1, sub, &nd->body, &nd->n_body)) goto fail;
    } else {
      corrupt(sp->path, "the model spec holds a line that is neither 'layer', 'residual' nor 'end'");
      goto fail;
    }
  }
  *out = nodes;
  *count = n;
  return 0;
bad_nesting:
  corrupt(sp->path, "the residual blocks of the model spec do not nest");
fail:
  node_free_all(nodes, n);
  return -1;
}

/* ---- reading: the tensors ---------------------------------------------- */

/* Why a tensor may not fit: "; it was written by dense 1.0.0 and this is
** version 1.1.0 of that plugin", or a general remark. */
static void version_hint(const spec_parser *sp, const char *tensor, char *buf, size_t sz) {
  snprintf(buf, sz, "; the file does not fit the layer plugins found now");
  for (int i = 0; i < sp->n_notes; i++) {
    const layer_note *note = &sp->notes[i];
    size_t len = strlen(note->label);
    if (strncmp(tensor, note->label, len) != 0 || tensor[len] != '.') continue;
    if (strcmp(note->version, note->pe->desc->version) != 0)
      snprintf(buf, sz, "; it was written by %s %s and this is version %s of that plugin",
               note->pe->desc->name, note->version, note->pe->desc->version);
  }
}

static int same_shape(const lunet_shape *a, const lunet_shape *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dim[i] != b->dim[i]) return 0;
  return 1;
}

static void copy_floats(float *dst, const unsigned char *src, int64_t n) {
  if (host_is_little_endian()) {
    memcpy(dst, src, sizeof(float) * (size_t)n);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    uint32_t u = get_le32(src + 4 * i);
    memcpy(&dst[i], &u, 4);
  }
}

/* Tensor record i: checked against the rebuilt model, then copied in. */
static int read_tensor(reader *r, const spec_parser *sp, model *m, int i) {
  uint32_t len = get_u32(r);
  const unsigned char *name = len <= MAX_NAME ? get_bytes(r, len) : NULL;
  get_u32(r); /* flags: informative only, the plugin says what is trained */
  lunet_shape shape = {0};
  if (!name || get_shape(r, &shape, LUNET_MAX_DIMS))
    return corrupt(sp->path, "a tensor record is malformed");
  char fname[MAX_NAME + 1];
  memcpy(fname, name, len);
  fname[len] = '\0';
  const lunet_tensor *t = m->params[i].value;
  if (strcmp(fname, m->param_names[i]) != 0 || !same_shape(&shape, &t->shape)) {
    char a[128], b[128], hint[256];
    shape_format(&shape, a, sizeof a);
    shape_format(&t->shape, b, sizeof b);
    version_hint(sp, m->param_names[i], hint, sizeof hint);
    services_error("checkpoint %s: tensor %d is '%s' of shape %s in the file, but the rebuilt "
                   "model has '%s' of shape %s%s", sp->path, i + 1, fname, a, m->param_names[i],
                   b, hint);
    return -1;
  }
  int64_t n = lunet_numel(&shape);
  const unsigned char *data = get_bytes(r, sizeof(float) * (size_t)n);
  if (!data) return corrupt(sp->path, "tensor data runs past the end of the file");
  copy_floats(t->data, data, n);
  return 0;
}

static int read_tensors(reader *r, const spec_parser *sp, model *m) {
  uint32_t count = get_u32(r);
  if (r->bad) return corrupt(sp->path, "the tensor count is missing");
  if (count != (uint32_t)m->n_params) {
    services_error("checkpoint %s: the file holds %u parameter tensors, but the rebuilt model has "
                   "%d; the file does not fit the layer plugins found now", sp->path, count,
                   m->n_params);
    return -1;
  }
  for (int i = 0; i < m->n_params; i++)
    if (read_tensor(r, sp, m, i)) return -1;
  if (r->p != r->end) return corrupt(sp->path, "bytes are left after the last tensor");
  return 0;
}

/* ---- loading ----------------------------------------------------------- */

/* The spec text as a NUL-terminated copy, for parse_seq to cut up. */
static char *get_spec_text(reader *r, const char *path) {
  uint32_t len = get_u32(r);
  const unsigned char *s = get_bytes(r, len);
  if (!s || memchr(s, '\0', len)) {
    corrupt(path, "the model spec is malformed");
    return NULL;
  }
  char *text = malloc((size_t)len + 1);
  memcpy(text, s, len);
  text[len] = '\0';
  return text;
}

/* Parses and builds the model; NULL with the reason. */
static model *rebuild(reader *r, spec_parser *sp) {
  uint64_t seed = get_u64(r);
  lunet_shape in = {0};
  if (get_shape(r, &in, LUNET_MAX_DIMS - 1) || in.ndim < 1) {
    corrupt(sp->path, "the input shape is malformed");
    return NULL;
  }
  char *text = get_spec_text(r, sp->path);
  if (!text) return NULL;
  sp->next = text;
  node *nodes = NULL;
  int n = 0;
  int rc = parse_seq(sp, 0, "", &nodes, &n);
  free(text);
  if (rc) return NULL;
  model *m = model_new(nodes, n, seed);
  if (model_build(m, &in)) {
    char why[1536];
    snprintf(why, sizeof why, "%s", services_last_error());
    services_error("checkpoint %s: cannot rebuild the model: %s", sp->path, why);
    model_free(m);
    return NULL;
  }
  return m;
}

model *checkpoint_load(const char *path) {
  unsigned char *buf;
  size_t size;
  if (read_file(path, &buf, &size)) return NULL;
  if (check_envelope(path, buf, size)) {
    free(buf);
    return NULL;
  }
  reader r = {buf + HEADER_SIZE, buf + size - 4, 0};
  spec_parser sp = {.path = path};
  model *m = rebuild(&r, &sp);
  if (m && read_tensors(&r, &sp, m)) { /* model_build's random init is overwritten here */
    model_free(m);
    m = NULL;
  }
  free(sp.notes);
  free(buf);
  return m;
}
