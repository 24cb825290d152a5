/*
** lua_text.c -- the language-model tools of text/ in Lua:
**
**   lunet.ngram{ order =, data = ds | ids = {...}, vocab =, smoothing = }
**       m:prob(context, id), m:distribution(context), m:perplexity(ds | ids),
**       m:sample{ prompt =, steps =, seed = }, m:info()
**   lunet.word2vec{ data = ds | ids = {...}, vocab =, dim =, window =, ... }
**       e:vector(id), e:trained(id), e:similarity(a, b), e:neighbors(id, k),
**       e:analogy(a, b, c, k), e:pca2(ids), e:save(path [, words]), e:info()
**
** Ids count from 1 here, from 0 in C. A token dataset (token-id windows x of
** T ids, targets y the T next ids: the `text` dataset, or lunet.data with
** tokens = V) is read two ways:
**   - as a stream, for training: x of every sample in order, then the last
**     target. This needs windows that follow one another (stride = T, the
**     text dataset's default), which is checked: y[t] = x[t + 1] inside a
**     sample, and each sample starts with the last target of the one before;
**   - window by window, for perplexity: every target of every sample,
**     predicted from the ids before it in its window -- the same tokens and
**     the same context limit as a neural model evaluated on that dataset.
** An array `ids` is one stream; its perplexity scores ids[2..n], each after
** the ids before it.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_lunet.h"
#include "runtime/services.h"
#include "text/ngram.h"
#include "text/word2vec.h"

#define MT_NGRAM "lunet.ngram"
#define MT_EMBEDDINGS "lunet.embeddings"

/* ---- token streams ------------------------------------------------------- */

/* An id from Lua (1..V) at `idx` as C's 0..V-1; raises naming `what`. */
static int32_t check_id(lua_State *L, int idx, int32_t vocab, const char *fn, const char *what) {
  if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < 1 || lua_tointeger(L, idx) > vocab)
    luaL_error(L, "%s: %s is %s, expected a token id 1..%d", fn, what, luaL_tolstring(L, idx, NULL), (int)vocab);
  return (int32_t)lua_tointeger(L, idx) - 1;
}

/* A token dataset read in chunks of windows: x (B, T) and y (B, T) ids. */
typedef struct windows {
  dataset *ds;
  int64_t T, n;
  int32_t vocab;
  int32_t *x, *y;  /* (B, T) */
  float *yf;       /* (B, T) the targets as the dataset gives them */
  int64_t idx[64]; /* B = 64 */
} windows;

#define CHUNK 64

/* Checks that ds holds token windows; the buffers are userdata on the stack. */
static void windows_open(lua_State *L, dataset *ds, const char *fn, windows *w) {
  const lunet_dataset_info *in = &ds->info;
  int64_t vocab = in->vocab ? in->vocab : in->classes;
  if (in->n_inputs != 1 || in->input_dtype[0] != LUNET_I32 || in->input[0].ndim != 1 || vocab < 1 ||
      lunet_numel(&in->target) != in->input[0].dim[0])
    luaL_error(L, "%s: dataset %s is not token windows (x: T ids, y: the T next ids), as the text dataset "
                  "or lunet.data{ x =, y =, tokens = V } give", fn, ds->name);
  if (in->n < 1) luaL_error(L, "%s: dataset %s is empty", fn, ds->name);
  *w = (windows){.ds = ds, .T = in->input[0].dim[0], .n = in->n, .vocab = (int32_t)vocab};
  size_t cells = (size_t)(CHUNK * w->T);
  w->x = lua_newuserdatauv(L, sizeof(int32_t) * cells, 0);
  w->y = lua_newuserdatauv(L, sizeof(int32_t) * cells, 0);
  w->yf = lua_newuserdatauv(L, sizeof(float) * cells, 0);
}

/* Reads samples first..first+B-1 (fewer at the end); returns how many. */
static int windows_read(lua_State *L, windows *w, int64_t first, const char *fn) {
  int b = w->n - first < CHUNK ? (int)(w->n - first) : CHUNK;
  for (int i = 0; i < b; i++) w->idx[i] = first + i;
  lunet_tensor x = {.data = w->x}, y = {.data = w->yf};
  if (dataset_get(w->ds, w->idx, b, &x, &y)) lerror_services(L);
  for (int64_t i = 0; i < b * w->T; i++) {
    float v = w->yf[i];
    if (!(v >= 0 && v < (float)w->vocab && v == floorf(v)) || w->x[i] < 0 || w->x[i] >= w->vocab)
      luaL_error(L, "%s: sample %d of %s holds an id outside 1..%d", fn, (int)(first + i / w->T) + 1, w->ds->name,
                 (int)w->vocab);
    w->y[i] = (int32_t)v;
  }
  return b;
}

/* The stream behind ds's windows (see the top), in a userdata on the stack. */
static int32_t *dataset_stream(lua_State *L, dataset *ds, const char *fn, int64_t *n, int32_t *vocab) {
  windows w;
  windows_open(L, ds, fn, &w);
  int32_t *s = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(w.n * w.T + 1), 0);
  for (int64_t first = 0; first < w.n; first += CHUNK) {
    int b = windows_read(L, &w, first, fn);
    for (int i = 0; i < b; i++) {
      const int32_t *x = w.x + i * w.T, *y = w.y + i * w.T;
      int64_t at = (first + i) * w.T;
      int ok = at == 0 || s[at] == x[0]; /* s[at] holds the last target of the sample before */
      for (int64_t t = 0; ok && t + 1 < w.T; t++) ok = y[t] == x[t + 1];
      if (!ok)
        luaL_error(L, "%s: the samples of %s are not consecutive windows of one stream (sample %d: each "
                      "target must be the next input, and each sample must start with the last target of "
                      "the one before): open it with stride = seq_len and streams = 0 (the text dataset's "
                      "defaults), or pass ids = ds:encode(text)",
                   fn, ds->name, (int)(first + i) + 1);
      memcpy(s + at, x, sizeof(int32_t) * (size_t)w.T);
      s[at + w.T] = y[w.T - 1];
    }
  }
  *n = w.n * w.T + 1;
  *vocab = w.vocab;
  return s;
}

/* The training stream of an options table at 1: `data = ds` or `ids = {...}`
** with `vocab = V`, left on the stack. */
static int32_t *options_stream(lua_State *L, const char *fn, int64_t *n, int32_t *vocab) {
  int has_data = lua_getfield(L, 1, "data") != LUA_TNIL, has_ids = lua_getfield(L, 1, "ids") != LUA_TNIL;
  lua_getfield(L, 1, "vocab");
  if (has_data == has_ids) luaL_error(L, "%s: give data = a token dataset or ids = { ids... } (with vocab = V), one of them", fn);
  if (has_data) {
    if (!lua_isnil(L, -1)) luaL_error(L, "%s: vocab comes from the dataset; leave it out with data =", fn);
    return dataset_stream(L, lcheck_dataset(L, -3), fn, n, vocab);
  }
  if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > INT32_MAX)
    luaL_error(L, "%s: with ids = {...} give vocab = V, the vocabulary size (ids lie in 1..V)", fn);
  *vocab = (int32_t)lua_tointeger(L, -1);
  return lcheck_ids(L, -2, *vocab, fn, n);
}

/* ---- lunet.ngram ---------------------------------------------------------- */

typedef struct lngram { ngram *m; } lngram;

static ngram *check_ngram(lua_State *L) {
  lngram *u = luaL_checkudata(L, 1, MT_NGRAM);
  if (!u->m) luaL_error(L, "ngram: it was freed");
  return u->m;
}

static int ngram_gc(lua_State *L) {
  lngram *u = luaL_checkudata(L, 1, MT_NGRAM);
  ngram_free(u->m);
  u->m = NULL;
  return 0;
}

/* The index in `list` of the string at idx (0 when nil); raises naming
** fn, what and the choices. */
static int check_choice(lua_State *L, int idx, const char *fn, const char *what, const char *const *list) {
  if (lua_isnil(L, idx)) return 0;
  const char *s = lua_tostring(L, idx);
  for (int i = 0; s && list[i]; i++)
    if (strcmp(list[i], s) == 0) return i;
  char known[128] = "";
  size_t len = 0;
  for (int i = 0; list[i] && len < sizeof known; i++)
    len += (size_t)snprintf(known + len, sizeof known - len, "%s\"%s\"", i ? ", " : "", list[i]);
  return luaL_error(L, "%s: %s = %s, expected one of %s", fn, what, luaL_tolstring(L, idx, NULL), known);
}

static double opt_number(lua_State *L, int idx, const char *key, double def) {
  lua_getfield(L, idx, key);
  double v = luaL_optnumber(L, -1, def);
  lua_pop(L, 1);
  return v;
}

/* smoothing = "kind" or { kind =, k =, lambdas =, discount = }, at idx. */
static ngram_smoothing read_smoothing(lua_State *L, int idx, int order) {
  static const char *const known[] = {"kind", "k", "lambdas", "discount", NULL};
  static const char *const kinds[] = {"kneser_ney", "add_k", "interpolation", NULL};
  static const int kind_of[] = {NGRAM_KNESER_NEY, NGRAM_ADD_K, NGRAM_INTERPOLATION};
  ngram_smoothing s = {.kind = NGRAM_KNESER_NEY};
  idx = lua_absindex(L, idx);
  if (lua_isnil(L, idx)) return s;
  if (lua_isstring(L, idx)) {
    lua_newtable(L);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "kind");
    lua_replace(L, idx);
  }
  luaL_argexpected(L, lua_istable(L, idx), 1, "smoothing = \"kneser_ney\" or a table { kind = ... }");
  lcheck_options(L, idx, "lunet.ngram smoothing", known);
  lua_getfield(L, idx, "kind");
  s.kind = kind_of[check_choice(L, -1, "lunet.ngram", "smoothing kind", kinds)];
  lua_pop(L, 1);
  s.k = opt_number(L, idx, "k", 1);
  s.discount = opt_number(L, idx, "discount", 0);
  if (s.kind != NGRAM_INTERPOLATION) return s;
  if (lua_getfield(L, idx, "lambdas") != LUA_TTABLE || lua_rawlen(L, -1) != (size_t)order + 1)
    luaL_error(L, "lunet.ngram: interpolation needs lambdas = { uniform, unigram%s%s } (%d weights summing to "
                  "1), e.g. { 0.01, 0.1, 0.3, 0.59 } for order 3", order > 1 ? ", bigram" : "",
               order > 2 ? ", trigram" : "", order + 1);
  for (int k = 0; k <= order; k++) {
    lua_rawgeti(L, -1, k + 1);
    s.lambdas[k] = luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return s;
}

/* lunet.ngram{ order =, data = | ids = , vocab =, smoothing = } */
static int l_ngram(lua_State *L) {
  static const char *const known[] = {"order", "data", "ids", "vocab", "smoothing", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.ngram", known);
  lua_settop(L, 1);
  lua_getfield(L, 1, "order");
  if (!lua_isinteger(L, 2) || lua_tointeger(L, 2) < 1 || lua_tointeger(L, 2) > NGRAM_MAX_ORDER)
    return luaL_error(L, "lunet.ngram: order must be 1, 2 or 3, got %s", luaL_tolstring(L, 2, NULL));
  int order = (int)lua_tointeger(L, 2);
  lua_getfield(L, 1, "smoothing");
  ngram_smoothing s = read_smoothing(L, 3, order);
  int64_t n;
  int32_t vocab;
  const int32_t *ids = options_stream(L, "lunet.ngram", &n, &vocab);
  lngram *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->m = NULL;
  luaL_setmetatable(L, MT_NGRAM);
  if (!(u->m = ngram_build(ids, n, vocab, order, &s))) return lerror_services(L);
  return 1;
}

/* m:prob(context, id): p(id | the last order - 1 ids of context) */
static int ng_prob(lua_State *L) {
  ngram *m = check_ngram(L);
  ngram_info in = ngram_describe(m);
  int64_t n;
  int32_t *h = lcheck_ids(L, 2, in.vocab, "ngram:prob", &n);
  lua_pushnumber(L, ngram_prob(m, h, n, check_id(L, 3, in.vocab, "ngram:prob", "the next id")));
  return 1;
}

/* m:distribution(context) -> { p(1 | context), ..., p(V | context) } */
static int ng_distribution(lua_State *L) {
  ngram *m = check_ngram(L);
  ngram_info in = ngram_describe(m);
  int64_t n;
  int32_t *h = lcheck_ids(L, 2, in.vocab, "ngram:distribution", &n);
  double *p = lua_newuserdatauv(L, sizeof(double) * (size_t)in.vocab, 0);
  ngram_dist(m, h, n, p);
  lua_createtable(L, in.vocab, 0);
  for (int32_t w = 0; w < in.vocab; w++) {
    lua_pushnumber(L, p[w]);
    lua_rawseti(L, -2, w + 1);
  }
  return 1;
}

/* m:perplexity(ds | ids) -> exp(mean nll), mean nll, tokens scored */
static int ng_perplexity(lua_State *L) {
  ngram *m = check_ngram(L);
  ngram_info in = ngram_describe(m);
  double nll = 0;
  int64_t count = 0;
  if (luaL_testudata(L, 2, MT_DATASET)) {
    windows w;
    windows_open(L, lcheck_dataset(L, 2), "ngram:perplexity", &w);
    if (w.vocab != in.vocab)
      return luaL_error(L, "ngram:perplexity: dataset %s has a vocabulary of %d, the model %d", w.ds->name,
                        (int)w.vocab, (int)in.vocab);
    for (int64_t first = 0; first < w.n; first += CHUNK) {
      int b = windows_read(L, &w, first, "ngram:perplexity");
      for (int i = 0; i < b; i++) nll += ngram_nll(m, w.x + i * w.T, w.y + i * w.T, w.T);
      count += b * w.T;
    }
  } else {
    int64_t n;
    int32_t *ids = lcheck_ids(L, 2, in.vocab, "ngram:perplexity", &n);
    if (n < 2) return luaL_error(L, "ngram:perplexity: ids holds %d ids, expected at least 2", (int)n);
    nll = ngram_nll(m, ids, ids + 1, n - 1);
    count = n - 1;
  }
  lua_pushnumber(L, exp(nll / (double)count));
  lua_pushnumber(L, nll / (double)count);
  lua_pushinteger(L, count);
  return 3;
}

/* m:sample{ prompt = {ids}, steps = N, seed = 1 } -> prompt followed by N ids */
static int ng_sample(lua_State *L) {
  static const char *const known[] = {"prompt", "steps", "seed", NULL};
  ngram *m = check_ngram(L);
  ngram_info in = ngram_describe(m);
  luaL_checktype(L, 2, LUA_TTABLE);
  lcheck_options(L, 2, "ngram:sample", known);
  lua_getfield(L, 2, "steps");
  lua_Integer steps = luaL_optinteger(L, -1, 1);
  lua_getfield(L, 2, "seed");
  lunet_rng rng;
  rng_seed(&rng, (uint64_t)luaL_optinteger(L, -1, 1));
  if (steps < 0 || steps > 1 << 24) return luaL_error(L, "ngram:sample: steps = %d, expected 0 to 2^24", (int)steps);
  if (lua_getfield(L, 2, "prompt") == LUA_TNIL) lua_newtable(L);
  int64_t n;
  const int32_t *prompt = lcheck_ids(L, -1, in.vocab, "ngram:sample", &n);
  int32_t *ids = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(n + steps + 1), 0);
  memcpy(ids, prompt, sizeof(int32_t) * (size_t)n);
  double *p = lua_newuserdatauv(L, sizeof(double) * (size_t)in.vocab, 0);
  for (int64_t t = n; t < n + steps; t++) ids[t] = ngram_draw(m, ids, t, rng_uniform(&rng), p);
  lpush_ids(L, ids, n + steps);
  return 1;
}

static void set_int(lua_State *L, const char *key, int64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, key);
}

static void set_num(lua_State *L, const char *key, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, key);
}

/* m:info() -> { order, vocab, tokens, grams = {...}, discounts = {...} } */
static int ng_info(lua_State *L) {
  ngram_info in = ngram_describe(check_ngram(L));
  lua_createtable(L, 0, 5);
  set_int(L, "order", in.order);
  set_int(L, "vocab", in.vocab);
  set_int(L, "tokens", in.tokens);
  lua_createtable(L, in.order, 0);
  for (int k = 0; k < in.order; k++) {
    lua_pushinteger(L, in.grams[k]);
    lua_rawseti(L, -2, k + 1);
  }
  lua_setfield(L, -2, "grams");
  lua_createtable(L, in.order, 0);
  for (int k = 0; k < in.order; k++) {
    lua_pushnumber(L, in.discount[k]);
    lua_rawseti(L, -2, k + 1);
  }
  lua_setfield(L, -2, "discounts");
  return 1;
}

static int ng_tostring(lua_State *L) {
  ngram_info in = ngram_describe(check_ngram(L));
  lua_pushfstring(L, "ngram of order %d over %d ids, counted on %I tokens", in.order, (int)in.vocab,
                  (lua_Integer)in.tokens);
  return 1;
}

/* ---- lunet.word2vec ------------------------------------------------------- */

typedef struct lembed { w2v *e; } lembed;

static w2v *check_embed(lua_State *L) {
  lembed *u = luaL_checkudata(L, 1, MT_EMBEDDINGS);
  if (!u->e) luaL_error(L, "embeddings: they were freed");
  return u->e;
}

static int embed_gc(lua_State *L) {
  lembed *u = luaL_checkudata(L, 1, MT_EMBEDDINGS);
  w2v_free(u->e);
  u->e = NULL;
  return 0;
}

static int opt_int(lua_State *L, const char *key, int def) {
  lua_getfield(L, 1, key);
  lua_Integer v = luaL_optinteger(L, -1, def);
  lua_pop(L, 1);
  if (v < INT32_MIN || v > INT32_MAX) luaL_error(L, "lunet.word2vec: %s = %d is out of range", key, (int)v);
  return (int)v;
}

/* lunet.word2vec{ data = | ids =, vocab =, dim = 50, window = 5, negative = 5,
** subsample = 1e-3, method = "skipgram", epochs = 5, lr, min_count = 5, seed = 1 } */
static int l_word2vec(lua_State *L) {
  static const char *const known[] = {"data", "ids", "vocab", "dim", "window", "negative", "subsample", "method",
                                      "epochs", "lr", "min_count", "seed", NULL};
  static const char *const methods[] = {"skipgram", "cbow", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, "lunet.word2vec", known);
  lua_settop(L, 1);
  lua_getfield(L, 1, "method");
  int cbow = check_choice(L, 2, "lunet.word2vec", "method", methods);
  w2v_options o = {.dim = opt_int(L, "dim", 50), .window = opt_int(L, "window", 5),
                   .negative = opt_int(L, "negative", 5), .cbow = cbow, .epochs = opt_int(L, "epochs", 5),
                   .min_count = opt_int(L, "min_count", 5), .subsample = opt_number(L, 1, "subsample", 1e-3),
                   .lr = opt_number(L, 1, "lr", cbow ? 0.05 : 0.025)};
  lua_getfield(L, 1, "seed");
  o.seed = (uint64_t)luaL_optinteger(L, -1, 1);
  int64_t n;
  int32_t vocab;
  const int32_t *ids = options_stream(L, "lunet.word2vec", &n, &vocab);
  lembed *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->e = NULL;
  luaL_setmetatable(L, MT_EMBEDDINGS);
  if (!(u->e = w2v_train(ids, n, vocab, &o))) return lerror_services(L);
  return 1;
}

/* A trained word's id from Lua at idx, as C's. */
static int32_t check_word(lua_State *L, const w2v *e, int idx, const char *fn, const char *what) {
  int32_t w = check_id(L, idx, e->vocab, fn, what);
  if (!w2v_trained(e, w))
    luaL_error(L, "%s: word %d (%s) was not trained: it occurs fewer than min_count = %d times", fn, (int)w + 1,
               what, e->min_count);
  return w;
}

/* Pushes ids (from 1) and cosines as two arrays. */
static int push_ranked(lua_State *L, const int32_t *ids, const double *cos, int n) {
  lpush_ids(L, ids, n);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushnumber(L, cos[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 2;
}

/* The k nearest trained words to q (dim), skipping skip[0..nskip). */
static int push_nearest(lua_State *L, const w2v *e, const double *q, const int32_t *skip, int nskip, int kidx,
                        int kdef, const char *fn) {
  lua_Integer k = luaL_optinteger(L, kidx, kdef);
  if (k < 1 || k > e->vocab) return luaL_error(L, "%s: k = %d, expected 1..%d", fn, (int)k, (int)e->vocab);
  int32_t *ids = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)k, 0);
  double *cos = lua_newuserdatauv(L, sizeof(double) * (size_t)k, 0);
  return push_ranked(L, ids, cos, w2v_nearest(e, q, skip, nskip, (int)k, ids, cos));
}

/* e:vector(id) -> its dim numbers */
static int em_vector(lua_State *L) {
  w2v *e = check_embed(L);
  int32_t w = check_id(L, 2, e->vocab, "embeddings:vector", "id");
  lpush_floats(L, e->in + (int64_t)w * e->dim, e->dim);
  return 1;
}

/* e:trained(id) -> whether the word took part in training (min_count) */
static int em_trained(lua_State *L) {
  w2v *e = check_embed(L);
  lua_pushboolean(L, w2v_trained(e, check_id(L, 2, e->vocab, "embeddings:trained", "id")));
  return 1;
}

/* e:similarity(a, b) -> cosine */
static int em_similarity(lua_State *L) {
  w2v *e = check_embed(L);
  int32_t a = check_id(L, 2, e->vocab, "embeddings:similarity", "a"), b = check_id(L, 3, e->vocab, "embeddings:similarity", "b");
  double c = 0;
  for (int d = 0; d < e->dim; d++) c += (double)e->unit[(int64_t)a * e->dim + d] * e->unit[(int64_t)b * e->dim + d];
  lua_pushnumber(L, c);
  return 1;
}

/* e:neighbors(id, k = 10) -> ids, cosines: the k nearest other words */
static int em_neighbors(lua_State *L) {
  w2v *e = check_embed(L);
  int32_t w = check_word(L, e, 2, "embeddings:neighbors", "id");
  double *q = lua_newuserdatauv(L, sizeof(double) * (size_t)e->dim, 0);
  for (int d = 0; d < e->dim; d++) q[d] = e->unit[(int64_t)w * e->dim + d];
  return push_nearest(L, e, q, &w, 1, 3, 10, "embeddings:neighbors");
}

/* e:analogy(a, b, c, k = 1) -> ids, cosines nearest to a - b + c (a, b, c left out) */
static int em_analogy(lua_State *L) {
  w2v *e = check_embed(L);
  int32_t abc[3];
  for (int i = 0; i < 3; i++) abc[i] = check_word(L, e, 2 + i, "embeddings:analogy", (const char *[]){"a", "b", "c"}[i]);
  double *q = lua_newuserdatauv(L, sizeof(double) * (size_t)e->dim, 0);
  w2v_analogy_query(e, abc[0], abc[1], abc[2], q);
  return push_nearest(L, e, q, abc, 3, 5, 1, "embeddings:analogy");
}

/* e:pca2(ids) -> { {x, y}, ... }: the chosen words' vectors on their first
** two principal axes */
static int em_pca2(lua_State *L) {
  w2v *e = check_embed(L);
  int64_t m;
  int32_t *ids = lcheck_ids(L, 2, e->vocab, "embeddings:pca2", &m);
  if (m < 1 || m > 1 << 20) return luaL_error(L, "embeddings:pca2: give 1 to 2^20 ids, got %d", (int)m);
  double *x = lua_newuserdatauv(L, sizeof(double) * (size_t)(m * e->dim), 0);
  double *xy = lua_newuserdatauv(L, sizeof(double) * (size_t)(2 * m), 0);
  for (int64_t i = 0; i < m * e->dim; i++) x[i] = e->in[(int64_t)ids[i / e->dim] * e->dim + i % e->dim];
  if (pca2(x, (int)m, e->dim, xy)) return lerror_services(L);
  lua_createtable(L, (int)m, 0);
  for (int64_t i = 0; i < m; i++) {
    lua_createtable(L, 2, 0);
    for (int c = 0; c < 2; c++) {
      lua_pushnumber(L, xy[2 * i + c]);
      lua_rawseti(L, -2, c + 1);
    }
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* e:save(path [, words]): words an array of V strings, or anything with
** :decode({id}) (a text dataset, a BPE tokenizer) */
static int em_save(lua_State *L) {
  w2v *e = check_embed(L);
  const char *path = luaL_checkstring(L, 2);
  const char **names = NULL;
  if (!lua_isnoneornil(L, 3)) {
    lua_getfield(L, 3, "decode");
    int decoder = lua_isfunction(L, -1);
    lua_pop(L, 1);
    names = lua_newuserdatauv(L, sizeof(char *) * (size_t)e->vocab, 0);
    lua_createtable(L, e->vocab, 0); /* keeps the strings alive */
    int keep = lua_gettop(L);
    for (int32_t w = 0; w < e->vocab; w++) {
      if (decoder) {
        lua_getfield(L, 3, "decode");
        lua_pushvalue(L, 3);
        lua_createtable(L, 1, 0);
        lua_pushinteger(L, w + 1);
        lua_rawseti(L, -2, 1);
        lua_call(L, 2, 1);
      } else {
        lua_rawgeti(L, 3, w + 1);
      }
      names[w] = lua_tostring(L, -1);
      lua_rawseti(L, keep, w + 1);
    }
  }
  if (w2v_save(e, path, names)) return lerror_services(L);
  return 0;
}

/* e:info() -> { vocab, dim, trained, tokens, words, seconds, words_per_second, loss = {...} } */
static int em_info(lua_State *L) {
  w2v *e = check_embed(L);
  int64_t trained = 0, tokens = 0;
  for (int32_t w = 0; w < e->vocab; w++) {
    trained += w2v_trained(e, w);
    tokens += e->count[w];
  }
  lua_createtable(L, 0, 8);
  set_int(L, "vocab", e->vocab);
  set_int(L, "dim", e->dim);
  set_int(L, "trained", trained);
  set_int(L, "tokens", tokens);
  set_int(L, "words", e->words);
  set_num(L, "seconds", e->seconds);
  set_num(L, "words_per_second", e->seconds > 0 ? (double)tokens * e->epochs / e->seconds : 0);
  lua_createtable(L, e->epochs, 0);
  for (int i = 0; i < e->epochs; i++) {
    lua_pushnumber(L, e->loss[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "loss");
  return 1;
}

static int em_tostring(lua_State *L) {
  w2v *e = check_embed(L);
  lua_pushfstring(L, "embeddings: %d words of %d dimensions", (int)e->vocab, e->dim);
  return 1;
}

/* Makes metatable `name` with methods, __gc and __tostring. */
static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc, lua_CFunction str) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, str);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}

void ltext_register(lua_State *L) {
  static const luaL_Reg ngram_methods[] = {
    {"prob", ng_prob}, {"distribution", ng_distribution}, {"perplexity", ng_perplexity},
    {"sample", ng_sample}, {"info", ng_info}, {NULL, NULL}};
  static const luaL_Reg embed_methods[] = {
    {"vector", em_vector}, {"trained", em_trained}, {"similarity", em_similarity}, {"neighbors", em_neighbors}, {"analogy", em_analogy},
    {"pca2", em_pca2}, {"save", em_save}, {"info", em_info}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"ngram", l_ngram}, {"word2vec", l_word2vec}, {NULL, NULL}};
  new_class(L, MT_NGRAM, ngram_methods, ngram_gc, ng_tostring);
  new_class(L, MT_EMBEDDINGS, embed_methods, embed_gc, em_tostring);
  luaL_setfuncs(L, fns, 0);
}
