/*
** checkpoint.c -- the checkpoint file format: its writer and its reader.
**
** Layout, format version 2. Integers are unsigned little-endian; tensor data
** is IEEE float32, little-endian (the in-memory bytes on the hosts lunet runs
** on; a big-endian host swaps them). The envelope (magic, version, size,
** CRC; atomic writing, checked reading) is ckfile.h's.
**
**   offset  size  field
**   0       8     magic "LUNETCKP"
**   8       4     format version (2)
**   12      8     size of the whole file in bytes, checksum included, so
**                 that a truncated file is told apart from a damaged one
**   20      8     initialisation seed of the model
**   28      4     length S of the spec text, then its S bytes (below)
**           4     number T of parameter tensors, then T records, in the
**                 model's registration order (the reader matches names):
**                   u32 name length, the name ("3.1.dense.weight")
**                   u32 flags: 1 trained (has a gradient), 0 a buffer
**                   u32 ndim, then ndim u32 dims
**                   numel float32 values
**   size-4  4     CRC32 (zlib's crc32) of every byte before it
**
** The spec is text, one line per item, so that `strings` shows what a file
** holds. For lunet.sequential{input = {5}, dense, relu, residual{dense,
** tanh}, dense}:
**
**   model inputs=1 graph=0 output=5
**   input 0 f32 5
**   node 0 layer 1 in=input0 dense 2.0.0 out=8 init=xavier std=0.01 bias=true
**   node 1 layer 2 in=0 relu 2.0.0
**   node 2 layer 3.1 in=1 dense 2.0.0 out=8 init=he std=0.01 bias=false
**   node 3 layer 3.2 in=2 tanh 2.0.0
**   node 4 residual 3 in=1,3
**   node 5 layer 4 in=4 dense 2.0.0 out=3 init=he std=0.01 bias=true
**
**   model inputs=N graph=G output=O   first: N model inputs; G 1 if
**                          lunet.graph made the model, 0 if it is sugar
**                          (sequential, residual); O the output node
**   input K DTYPE DIMS [name=NAME]   then one per model input, K = 0..N-1:
**                          DTYPE f32 (values) or i32 (token ids), DIMS the
**                          per-sample shape ("3,32,32"), NAME its name in
**                          the graph (graphs only)
**   node I KIND LABEL in=SOURCES [PLUGIN VERSION NAME=VALUE...]
**                          then one per node, I = 0, 1, ... in the order
**                          they run. KIND is "layer", or "residual" for the
**                          `add` closing a residual block (its SOURCES are
**                          the block's input and its body's output, and it
**                          has nothing more). SOURCES: comma-separated
**                          earlier node indices I, or inputK for model
**                          input K. A layer goes on with its plugin, the
**                          plugin version that wrote the file and every
**                          resolved parameter, in declaration order.
**
** Words are separated by exactly one space. Every word that is not a
** keyword or a number (label, plugin, version, parameter name and value,
** input name) is percent-encoded: a byte outside [A-Za-z0-9._+-] becomes
** %XX, so a string value with spaces, newlines, '=' or '%' round-trips,
** and a raw space, '=' or newline is always a separator. Values come from
** params_format(); numbers are written as the shortest text that reads
** back as the same double (csv_format_number: "0.3", not
** "0.29999999999999999"), so they round-trip exactly.
**
** Version 1 (lunet before the graph model) is still read. Its header has,
** after the seed at offset 28, u32 ndim then ndim u32 dims: the per-sample
** shape of its one float32 input. Its spec is a tree, residual blocks
** nesting between "residual" and "end":
**
**   layer dense 1.0.0 out=8 init=he std=0.01 bias=true
**   residual
**   layer tanh 1.0.0
**   end
**
** and is lowered into the graph as lunet.sequential lowers its list: a
** chain labelled "1", "2", ...; a residual block at position i takes the
** current node, its body is labelled "i.1", "i.2", ... (nested "i.j.k")
** and an add node labelled "i" closes it; so the tensor names of a
** version 1 file are those of the rebuilt model. Its tensor records are as
** in version 2.
**
** The reader takes the whole file into memory and checks, in this order,
** the magic, the version, the size and the CRC; only then does it parse,
** and an inconsistency found while parsing is reported as corruption.
** Tensors are matched to the rebuilt model by name. Writing goes to
** "path.tmp.PID", fsync, rename: never a half file under `path`.
*/
#include "nn/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/text.h"
#include "nn/ckfile.h"
#include "runtime/services.h"

#define OLDEST_VERSION 1u   /* the oldest format version this lunet reads */
#define MAX_NESTING 32      /* residual blocks inside residual blocks (version 1) */
#define MAX_NAME 4096       /* longest tensor name a reader accepts */
#define MAX_GIVEN 64        /* most parameters a layer line may hold */

static const ckformat format = {CHECKPOINT_MAGIC, OLDEST_VERSION, CHECKPOINT_VERSION, "checkpoint",
                                "model:save()", 1};

/* ---- the spec, written ------------------------------------------------- */

static void sb_int(strbuf *sb, long v) {
  char num[24];
  snprintf(num, sizeof num, "%ld", v);
  sb_str(sb, num);
}

void checkpoint_spec_params(strbuf *sb, const lunet_plugin *p, const param_values *pv) {
  for (int i = 0; i < p->n_params; i++) {
    /* a string value may be long: size the buffer for it */
    size_t sz = 64 + (p->params[i].type == LUNET_STRING ? strlen(pv->v[i].str) : 0);
    char *val = malloc(sz);
    if (!val) {
      sb->nomem = 1;
      return;
    }
    params_format(p, pv, i, val, sz);
    sb_str(sb, " ");
    sb_word(sb, p->params[i].name);
    sb_str(sb, "=");
    sb_word(sb, val);
    free(val);
  }
}

/* "model ..." and one "input ..." line per model input. */
static void spec_inputs(strbuf *sb, const model *m) {
  sb_str(sb, "model inputs=");
  sb_int(sb, m->n_inputs);
  sb_str(sb, m->graph ? " graph=1 output=" : " graph=0 output=");
  sb_int(sb, m->output);
  for (int k = 0; k < m->n_inputs; k++) {
    sb_str(sb, "\ninput ");
    sb_int(sb, k);
    /* check_inputs() in model.c: a model input holds token ids or floats */
    sb_str(sb, m->in_dtype[k] == LUNET_I32 ? " i32 " : " f32 ");
    for (int d = 0; d < m->in[k].ndim; d++) {
      if (d) sb_str(sb, ",");
      sb_int(sb, m->in[k].dim[d]);
    }
    if (m->input_names[k]) {
      sb_str(sb, " name=");
      sb_word(sb, m->input_names[k]);
    }
  }
  sb_str(sb, "\n");
}

/* One "node ..." line per node. */
static void spec_nodes(strbuf *sb, const model *m) {
  for (int i = 0; i < m->n; i++) {
    const node *nd = &m->nodes[i];
    sb_str(sb, "node ");
    sb_int(sb, i);
    sb_str(sb, nd->kind == NODE_RESIDUAL ? " residual " : " layer ");
    sb_word(sb, nd->label);
    for (int j = 0; j < nd->n_in; j++) {
      sb_str(sb, j ? "," : " in=");
      if (nd->in[j] < 0) sb_str(sb, "input");
      sb_int(sb, nd->in[j] < 0 ? MODEL_INPUT(nd->in[j]) : nd->in[j]);
    }
    if (nd->kind == NODE_LAYER) {
      sb_str(sb, " ");
      sb_word(sb, nd->plugin->desc->name);
      sb_str(sb, " ");
      sb_word(sb, nd->plugin->desc->version);
      checkpoint_spec_params(sb, nd->plugin->desc, &nd->params);
    }
    sb_str(sb, "\n");
  }
}

/* ---- writing ----------------------------------------------------------- */

static void put_shape(ckwriter *w, const lunet_shape *s) {
  ck_put_u32(w, (uint32_t)s->ndim);
  for (int i = 0; i < s->ndim; i++) ck_put_u32(w, (uint32_t)s->dim[i]);
}

void checkpoint_put_tensors(ckwriter *w, const model *m) {
  ck_put_u32(w, (uint32_t)m->ws.n);
  for (int i = 0; i < m->ws.n; i++) {
    const weight *t = &m->ws.w[i];
    ck_put_str(w, t->name);
    ck_put_u32(w, t->grad ? 1u : 0u);
    put_shape(w, &t->value->shape);
    ck_put_floats(w, t->value->f32, lunet_numel(&t->value->shape));
  }
}

void checkpoint_spec(const model *m, strbuf *spec) {
  spec_inputs(spec, m);
  spec_nodes(spec, m);
}

typedef struct model_file {
  const model *m;
  const strbuf *spec;
} model_file;

/* Everything after the envelope's header: seed, spec, tensors. */
static void put_body(ckwriter *w, void *ud) {
  const model_file *mf = ud;
  ck_put_u64(w, mf->m->seed);
  ck_put_u32(w, (uint32_t)mf->spec->len);
  ck_put_bytes(w, mf->spec->p, mf->spec->len);
  checkpoint_put_tensors(w, mf->m);
}

int checkpoint_save(const model *m, const char *path) {
  if (!ck_path_given(path, "write")) return -1;
  if (!m || !m->built) {
    services_error("checkpoint %s: the model is not built yet, so it has no parameters to save; "
                   "build it (train or run it once) before saving", path);
    return -1;
  }
  strbuf spec = {0};
  checkpoint_spec(m, &spec);
  if (spec.nomem) {
    free(spec.p);
    services_error("checkpoint %s: out of memory for the model's spec text", path);
    return -1;
  }
  model_file mf = {m, &spec};
  int rc = ck_save(path, &format, put_body, &mf);
  free(spec.p);
  return rc;
}

/* ---- reading: the content ---------------------------------------------- */

/* A shape of 0..max_ndim dims, each at least 1; -1 if it is not one. */
static int get_shape(ckreader *r, lunet_shape *s, int max_ndim) {
  uint32_t ndim = ck_get_u32(r);
  if (r->bad || ndim > (uint32_t)max_ndim) return -1;
  s->ndim = (int)ndim;
  for (int i = 0; i < s->ndim; i++) {
    uint32_t d = ck_get_u32(r);
    if (r->bad || d < 1 || d > (uint32_t)INT32_MAX) return -1;
    s->dim[i] = (int)d;
  }
  return lunet_numel_checked(s) < 0 ? -1 : 0;
}

static int corrupt(const char *path, const char *what) {
  services_error("checkpoint %s: corrupt: %s (the checksum matched, so it was probably written by "
                 "another program)", path, what);
  return -1;
}

/* The spec text as a NUL-terminated copy, for the parser to cut up. */
static char *get_spec_text(ckreader *r, const char *path) {
  uint32_t len = ck_get_u32(r);
  const unsigned char *s = ck_get_bytes(r, len);
  if (!s || memchr(s, '\0', len)) {
    corrupt(path, "the model spec is malformed");
    return NULL;
  }
  char *text = malloc((size_t)len + 1);
  if (!text) {
    services_error("checkpoint %s: out of memory for its %u bytes of model spec", path, len);
    return NULL;
  }
  memcpy(text, s, len);
  text[len] = '\0';
  return text;
}

/* ---- reading: the spec, either version --------------------------------- */

/* Which plugin version wrote each layer, for the hint of a tensor mismatch. */
typedef struct layer_note {
  char prefix[256];       /* "3.1.dense.", as the layer's tensor names begin */
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

/* The next word of *s (words are separated by one space), cut in place;
** NULL when none is left. Two spaces in a row make an empty word. */
static char *next_word(char **s) {
  char *w = *s;
  if (!w) return NULL;
  char *space = strchr(w, ' ');
  if (space) *space = '\0';
  *s = space ? space + 1 : NULL;
  return w;
}

/* A decimal number 0..max and nothing else, or -1. */
static long number_word(const char *s, long max) {
  size_t n = strlen(s);
  if (n == 0 || n > 10 || strspn(s, "0123456789") != n) return -1;
  long v = strtol(s, NULL, 10);
  return v <= max ? v : -1;
}

/* The number of a word "key=N", N in 0..max; -1 if it is not one. */
static long keyed_number(const char *word, const char *key, long max) {
  size_t n = strlen(key);
  if (!word || strncmp(word, key, n) != 0 || word[n] != '=') return -1;
  return number_word(word + n + 1, max);
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
  snprintf(n[sp->n_notes].prefix, sizeof n->prefix, "%s.%s.", label, pe->desc->name);
  n[sp->n_notes].pe = pe;
  snprintf(n[sp->n_notes].version, sizeof n->version, "%s", version);
  sp->n_notes++;
}

/* The error of the model refusing node `label`, with the file's name. */
static int cannot_rebuild(const spec_parser *sp, const char *label) {
  char why[1536];
  snprintf(why, sizeof why, "%s", services_last_error());
  services_error("checkpoint %s: cannot rebuild layer %s: %s", sp->path, label, why);
  return -1;
}

/* "PLUGIN VERSION name=value ..." of layer `label`: its plugin and its
** resolved parameters (the caller frees *pv, also on failure). */
static int parse_layer(spec_parser *sp, char *words, const char *label, const plugin_entry **pe,
                       param_values *pv) {
  char *name = next_word(&words), *version = next_word(&words);
  if (!name || !version || percent_decode(name) || percent_decode(version))
    return corrupt(sp->path, "a layer lacks its plugin name or version");
  if (!(*pe = registry_find(LUNET_LAYER, name))) return cannot_rebuild(sp, label);
  add_note(sp, label, *pe, version);
  param_given given[MAX_GIVEN];
  int n = 0;
  for (char *kv; (kv = next_word(&words)) != NULL; n++) {
    char *eq = strchr(kv, '=');
    if (n == MAX_GIVEN || !eq) return corrupt(sp->path, "a layer parameter is not written as name=value");
    *eq = '\0';
    given[n] = (param_given){.name = kv, .str = eq + 1};
    if (percent_decode(kv) || percent_decode(eq + 1)) return corrupt(sp->path, "a malformed %-escape");
    if (typed_value(sp, (*pe)->desc, &given[n])) return -1;
  }
  if (params_resolve((*pe)->desc, given, n, pv)) return cannot_rebuild(sp, label);
  return 0;
}

/* Appends layer `label` taking in[0..n_in), its words parsed. */
static int add_layer(spec_parser *sp, model *m, char *words, const char *label, const int *in, int n_in) {
  const plugin_entry *pe = NULL;
  param_values pv = {0};
  int rc = parse_layer(sp, words, label, &pe, &pv);
  if (!rc && model_add(m, NODE_LAYER, label, pe, &pv, in, n_in) < 0) rc = cannot_rebuild(sp, label);
  params_free(&pv); /* model_add moved them out, or they were never used */
  return rc;
}

/* ---- reading: the spec of version 2 ------------------------------------ */

/* "model inputs=N graph=G output=O": a new, empty model. NULL with the reason. */
static model *parse_model_line(spec_parser *sp, uint64_t seed, int *output) {
  char *line = next_line(sp);
  char *head = next_word(&line);
  long n_inputs = keyed_number(next_word(&line), "inputs", LUNET_MAX_INPUTS);
  long graph = keyed_number(next_word(&line), "graph", 1);
  long out = keyed_number(next_word(&line), "output", INT32_MAX);
  if (!head || strcmp(head, "model") != 0 || n_inputs < 1 || graph < 0 || out < 0 || line) {
    corrupt(sp->path, "the model spec does not begin with 'model inputs=N graph=G output=O'");
    return NULL;
  }
  model *m = model_new(seed, (int)n_inputs);
  if (!m) return NULL;
  m->graph = (int)graph;
  *output = (int)out;
  return m;
}

/* "3,32,32" into s; -1 if it is not 1..LUNET_MAX_DIMS-1 dims of at least 1. */
static int parse_dims(char *text, lunet_shape *s) {
  s->ndim = 0;
  for (char *d = text; d; s->ndim++) {
    char *comma = strchr(d, ',');
    if (comma) *comma = '\0';
    long v = number_word(d, INT32_MAX);
    if (v < 1 || s->ndim == LUNET_MAX_DIMS - 1) return -1;
    s->dim[s->ndim] = (int32_t)v;
    d = comma ? comma + 1 : NULL;
  }
  return lunet_numel_checked(s) < 0 ? -1 : 0;
}

/* "input K DTYPE DIMS [name=NAME]" for model input k. */
static int parse_input(spec_parser *sp, model *m, int k, lunet_shape *in, int *dtype) {
  char *line = next_line(sp);
  char *head = next_word(&line), *index = next_word(&line);
  char *type = next_word(&line), *dims = next_word(&line), *name = next_word(&line);
  if (!head || strcmp(head, "input") != 0 || !index || number_word(index, k) != k || !type ||
      (strcmp(type, "f32") != 0 && strcmp(type, "i32") != 0) || !dims || parse_dims(dims, in) ||
      (name && strncmp(name, "name=", 5) != 0) || line)
    return corrupt(sp->path, "a model input is not written as 'input K f32|i32 DIMS [name=NAME]'");
  *dtype = strcmp(type, "i32") == 0 ? LUNET_I32 : LUNET_F32;
  if (name && percent_decode(name + 5)) return corrupt(sp->path, "a malformed %-escape");
  if (name && !(m->input_names[k] = strdup(name + 5))) {
    services_error("checkpoint %s: out of memory", sp->path);
    return -1;
  }
  if (m->graph && !name) return corrupt(sp->path, "an input of a graph has no name");
  return 0;
}

/* "in=0,input1" into in[]: earlier nodes (< m->n) or model inputs. The
** number of sources, or -1. */
static int parse_sources(const model *m, char *word, int *in) {
  if (!word || strncmp(word, "in=", 3) != 0) return -1;
  int n = 0;
  for (char *s = word + 3; s; n++) {
    char *comma = strchr(s, ',');
    if (comma) *comma = '\0';
    int is_input = strncmp(s, "input", 5) == 0;
    long v = is_input ? number_word(s + 5, m->n_inputs - 1) : number_word(s, m->n - 1);
    if (v < 0 || n == LUNET_MAX_INPUTS) return -1;
    in[n] = is_input ? MODEL_INPUT(v) : (int)v;
    s = comma ? comma + 1 : NULL;
  }
  return n;
}

/* "node I KIND LABEL in=SOURCES [PLUGIN VERSION name=value ...]". */
static int parse_node(spec_parser *sp, model *m, char *line) {
  char *head = next_word(&line), *index = next_word(&line), *kind = next_word(&line);
  char *label = next_word(&line);
  int in[LUNET_MAX_INPUTS];
  int n_in = parse_sources(m, next_word(&line), in);
  if (!head || strcmp(head, "node") != 0 || !index || number_word(index, INT32_MAX) != m->n ||
      !kind || !label || n_in < 0)
    return corrupt(sp->path, "a node is not written as 'node I KIND LABEL in=SOURCES ...', I counting "
                             "from 0 and SOURCES earlier nodes or model inputs");
  if (percent_decode(label)) return corrupt(sp->path, "a malformed %-escape");
  if (strcmp(kind, "layer") == 0) return add_layer(sp, m, line, label, in, n_in);
  if (strcmp(kind, "residual") != 0 || n_in != 2 || line)
    return corrupt(sp->path, "a node is neither a layer nor a residual block's 'in=INPUT,BODY'");
  return model_add_residual(m, label, in[0], in[1]) < 0 ? cannot_rebuild(sp, label) : 0;
}

/* The version 2 spec: the model line, the inputs, the nodes. */
static int parse_spec_v2(spec_parser *sp, model **out, lunet_shape *in, int *dtype, uint64_t seed) {
  int output;
  model *m = *out = parse_model_line(sp, seed, &output);
  if (!m) return -1;
  for (int k = 0; k < m->n_inputs; k++)
    if (parse_input(sp, m, k, &in[k], &dtype[k])) return -1;
  for (char *line; (line = next_line(sp)) != NULL;)
    if (parse_node(sp, m, line)) return -1;
  if (output >= m->n) return corrupt(sp->path, "the output node is not one of the model's nodes");
  model_set_output(m, output);
  return 0;
}

/* ---- reading: the spec of version 1 ------------------------------------ */

/* Layers and residual blocks until "end" (inside a block, depth > 0) or
** the end of the text, appended as a chain from *cur, which ends as the
** last node; labels are prefix + position, as lunet.sequential makes them. */
static int lower_v1(spec_parser *sp, model *m, int depth, const char *prefix, int *cur) {
  for (int pos = 1;; pos++) {
    char *line = next_line(sp);
    if (!line || strcmp(line, "end") == 0) { /* the text ends the top level, "end" a block */
      if (!line == (depth > 0)) return corrupt(sp->path, "the residual blocks of the model spec do not nest");
      return 0;
    }
    char label[256], sub[260];
    snprintf(label, sizeof label, "%s%d", prefix, pos);
    if (strncmp(line, "layer ", 6) == 0) {
      if (add_layer(sp, m, line + 6, label, cur, 1)) return -1;
      *cur = m->n - 1;
    } else if (strcmp(line, "residual") == 0 && depth < MAX_NESTING) {
      int in = *cur;
      snprintf(sub, sizeof sub, "%s.", label);
      if (lower_v1(sp, m, depth + 1, sub, cur)) return -1;
      if ((*cur = model_add_residual(m, label, in, *cur)) < 0) return cannot_rebuild(sp, label);
    } else {
      return corrupt(sp->path, "the model spec holds a line that is neither 'layer', 'residual' nor 'end'");
    }
  }
}

/* ---- reading: the tensors ---------------------------------------------- */

/* Why a tensor may not fit: "; it was written by dense 1.0.0 and this is
** version 2.0.0 of that plugin", or a general remark. */
static void version_hint(const spec_parser *sp, const char *tensor, char *buf, size_t sz) {
  snprintf(buf, sz, "; the file does not fit the layer plugins found now");
  for (int i = 0; i < sp->n_notes; i++) {
    const layer_note *note = &sp->notes[i];
    if (strncmp(tensor, note->prefix, strlen(note->prefix)) != 0) continue;
    if (strcmp(note->version, note->pe->desc->version) != 0)
      snprintf(buf, sz, "; it was written by %s %s and this is version %s of that plugin",
               note->pe->desc->name, note->version, note->pe->desc->version);
  }
}

/* Tensor record k of `count`: found by name in the rebuilt model, checked,
** copied in; seen[] marks the model's tensors already read. */
static int read_tensor(ckreader *r, const spec_parser *sp, model *m, uint32_t k, uint32_t count,
                       char *seen) {
  uint32_t len = ck_get_u32(r);
  const unsigned char *name = len <= MAX_NAME ? ck_get_bytes(r, len) : NULL;
  ck_get_u32(r); /* flags: informative only, the plugin says what is trained */
  lunet_shape shape = {0};
  if (!name || get_shape(r, &shape, LUNET_MAX_DIMS))
    return corrupt(sp->path, "a tensor record is malformed");
  char fname[MAX_NAME + 1], hint[256];
  memcpy(fname, name, len);
  fname[len] = '\0';
  int i = weights_find(&m->ws, fname);
  if (i < 0) {
    version_hint(sp, fname, hint, sizeof hint);
    services_error("checkpoint %s: tensor %u of the file's %u is '%s', which the rebuilt model (%d "
                   "tensors) does not have%s", sp->path, k + 1, count, fname, m->ws.n, hint);
    return -1;
  }
  if (seen[i]) return corrupt(sp->path, "a tensor appears twice");
  const lunet_tensor *t = m->ws.w[i].value;
  if (!lunet_same_shape(&shape, &t->shape)) {
    char a[128], b[128];
    shape_format(&shape, a, sizeof a);
    shape_format(&t->shape, b, sizeof b);
    version_hint(sp, fname, hint, sizeof hint);
    services_error("checkpoint %s: tensor '%s' has shape %s in the file, but %s in the rebuilt "
                   "model%s", sp->path, fname, a, b, hint);
    return -1;
  }
  int64_t n = lunet_numel(&shape);
  if (ck_get_floats(r, t->f32, n)) return corrupt(sp->path, "tensor data runs past the end of the file");
  seen[i] = 1;
  return 0;
}

/* Every record, then every tensor of the model must have been among them. */
static int read_tensors(ckreader *r, const spec_parser *sp, model *m) {
  uint32_t count = ck_get_u32(r);
  if (r->bad) return corrupt(sp->path, "the tensor count is missing");
  char *seen = calloc((size_t)m->ws.n + 1, 1);
  if (!seen) {
    services_error("checkpoint %s: out of memory", sp->path);
    return -1;
  }
  int rc = 0;
  for (uint32_t k = 0; k < count && !rc; k++) rc = read_tensor(r, sp, m, k, count, seen);
  if (!rc && r->p != r->end) rc = corrupt(sp->path, "bytes are left after the last tensor");
  for (int i = 0; i < m->ws.n && !rc; i++) {
    if (seen[i]) continue;
    char hint[256];
    version_hint(sp, m->ws.w[i].name, hint, sizeof hint);
    services_error("checkpoint %s: the rebuilt model has tensor '%s', which the file lacks (the "
                   "file holds %u parameter tensors, the model %d)%s", sp->path, m->ws.w[i].name,
                   count, m->ws.n, hint);
    rc = -1;
  }
  free(seen);
  return rc;
}

/* ---- loading ----------------------------------------------------------- */

/* The rest of the header and the spec, into a model with nodes, not built
** yet; in[] and dtype[] get its input shapes. NULL with the reason. */
static model *parse_model(ckreader *r, spec_parser *sp, uint32_t version, lunet_shape *in, int *dtype) {
  uint64_t seed = ck_get_u64(r);
  if (version == 1 && (get_shape(r, &in[0], LUNET_MAX_DIMS - 1) || in[0].ndim < 1)) {
    corrupt(sp->path, "the input shape is malformed");
    return NULL;
  }
  char *text = get_spec_text(r, sp->path);
  if (!text) return NULL;
  sp->next = text;
  model *m = NULL;
  int rc;
  if (version == 1) {
    int cur = MODEL_INPUT(0);
    dtype[0] = LUNET_F32;
    m = model_new(seed, 1);
    rc = m ? lower_v1(sp, m, 0, "", &cur) : -1;
  } else {
    rc = parse_spec_v2(sp, &m, in, dtype, seed);
  }
  free(text);
  if (rc) {
    model_free(m);
    return NULL;
  }
  return m;
}

/* Every parameter is in the file, 4 bytes a value, so what is left after
** the spec bounds the model: a small corrupt file cannot make the build
** take gigabytes (or minutes of random initialisation). */
static void limit_to_file(model *m, size_t bytes_left) {
  m->ws.limit = (int64_t)(bytes_left / sizeof(float)) + 1; /* + 1: 0 means no limit */
  m->ws.limit_why = "that the rest of the file can hold; the file is corrupt";
}

/* Parses and builds the model; NULL with the reason. */
static model *rebuild(ckreader *r, spec_parser *sp, uint32_t version) {
  lunet_shape in[LUNET_MAX_INPUTS] = {{0}};
  int dtype[LUNET_MAX_INPUTS] = {0};
  model *m = parse_model(r, sp, version, in, dtype);
  if (m) limit_to_file(m, (size_t)(r->end - r->p));
  if (m && model_build(m, in, dtype)) {
    char why[1536];
    snprintf(why, sizeof why, "%s", services_last_error());
    services_error("checkpoint %s: cannot rebuild the model: %s", sp->path, why);
    model_free(m);
    return NULL;
  }
  return m;
}

int checkpoint_get_tensors(ckreader *r, const char *path, model *m) {
  spec_parser sp = {.path = path};
  return read_tensors(r, &sp, m);
}

model *checkpoint_load(const char *path) {
  if (!ck_path_given(path, "read")) return NULL;
  unsigned char *buf;
  ckreader r;
  uint32_t version;
  if (ck_load(path, &format, &buf, &r, &version)) return NULL;
  spec_parser sp = {.path = path};
  model *m = rebuild(&r, &sp, version);
  if (m && read_tensors(&r, &sp, m)) { /* model_build's random init is overwritten here */
    model_free(m);
    m = NULL;
  }
  free(sp.notes);
  free(buf);
  return m;
}
