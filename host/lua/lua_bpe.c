/*
** lua_bpe.c -- lunet.bpe: byte-pair encoding tokenizers in Lua, a thin layer
** over include/lunet/bpe.h (which the `text` dataset's level "bpe" also
** uses). Token ids start at 1 here, at 0 in C.
**
**   tok = lunet.bpe.train{ text = STRING or file = PATH, vocab = N, base = "chars" }
**   tok:encode(s) -> {ids}        tok:decode(ids) -> s      tok:tokens(ids) -> {symbols}
**   tok:merges() -> { {"u", "g", count = 20}, ... }          tok:vocab_size()
**   tok:base() -> "chars" | "bytes"     tok:save(path)      lunet.bpe.load(path)
**
** A file to train on is read through zlib, as the `text` dataset reads it,
** so that a gzip file (the default corpus) reads as its contents.
*/
#include <lunet/bpe.h>
#include <zlib.h>

#include "lua/lua_lunet.h"

#define MT_BPE "lunet.bpe"

typedef struct lbpe {
  lunet_bpe *t;
} lbpe;

static lunet_bpe *check_bpe(lua_State *L) {
  lbpe *u = luaL_checkudata(L, 1, MT_BPE);
  if (!u->t) luaL_error(L, "tokenizer: it was freed (its __gc ran); use a live one");
  return u->t;
}

/* A new tokenizer userdata, empty until the caller sets ->t (so that an
** error in between leaks nothing). */
static lbpe *new_bpe(lua_State *L) {
  lbpe *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->t = NULL;
  luaL_setmetatable(L, MT_BPE);
  return u;
}

/* Pushes the contents of file `path` as a string; raises naming fn. */
static void push_file(lua_State *L, const char *fn, const char *path) {
  gzFile f = gzopen(path, "rb");
  if (!f) luaL_error(L, "%s: cannot open %s: %s (is the path right?)", fn, path, strerror(errno));
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int n;
  do {
    n = gzread(f, luaL_prepbuffsize(&b, 1 << 16), 1 << 16);
    if (n > 0) luaL_addsize(&b, (size_t)n);
  } while (n > 0);
  char why[256] = "";
  int code;
  if (n < 0) snprintf(why, sizeof why, "%s", gzerror(f, &code));
  gzclose(f);
  if (n < 0)
    luaL_error(L, "%s: cannot read %s: %s (a folder, or a damaged gzip file?)", fn, path, why);
  luaL_pushresult(&b);
}

/* lunet.bpe.train{ text = STRING or file = PATH, vocab = N, base = "chars" | "bytes" } */
static int l_train(lua_State *L) {
  static const char *const known[] = {"text", "file", "vocab", "base", NULL};
  const char *fn = "lunet.bpe.train";
  char err[LUNET_BPE_ERROR];
  luaL_checktype(L, 1, LUA_TTABLE);
  lcheck_options(L, 1, fn, known);
  lua_settop(L, 1);
  lua_getfield(L, 1, "text");
  lua_getfield(L, 1, "file");
  lua_getfield(L, 1, "vocab");
  lua_getfield(L, 1, "base");
  if (lua_isnil(L, 2) == lua_isnil(L, 3))
    return luaL_error(L, "%s: give one of text = STRING or file = PATH, not %s", fn,
                      lua_isnil(L, 2) ? "neither" : "both");
  if (!lua_isnil(L, 2) && lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "%s: text is a %s, expected a string", fn, luaL_typename(L, 2));
  if (!lua_isnil(L, 3) && lua_type(L, 3) != LUA_TSTRING)
    return luaL_error(L, "%s: file is a %s, expected a path (string)", fn, luaL_typename(L, 3));
  int ok;
  lua_Integer vocab = lua_tointegerx(L, 4, &ok);
  if (!ok || vocab < 1 || vocab > INT32_MAX)
    return luaL_error(L,
                      "%s: vocab = %s, expected the vocabulary size, an integer (base symbols "
                      "included: at least 256 with base = \"bytes\")",
                      fn, luaL_tolstring(L, 4, NULL));
  lunet_bpe_base base = LUNET_BPE_CHARS;
  if (!lua_isnil(L, 5) && lunet_bpe_base_parse(lua_tostring(L, 5), &base, err))
    return luaL_error(L, "%s: %s", fn, err);
  if (lua_isnil(L, 2)) {
    push_file(L, fn, lua_tostring(L, 3));
    lua_replace(L, 2);
  }
  size_t len;
  const char *text = lua_tolstring(L, 2, &len);
  lbpe *u = new_bpe(L);
  u->t = lunet_bpe_train(text, len, (int)vocab, base, err);
  if (!u->t) return luaL_error(L, "%s: %s", fn, err);
  return 1;
}

/* lunet.bpe.load(path) */
static int l_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[LUNET_BPE_ERROR];
  lbpe *u = new_bpe(L);
  if (!(u->t = lunet_bpe_load(path, err))) return luaL_error(L, "lunet.bpe.load: %s", err);
  return 1;
}

/* tok:encode(s) -> {ids from 1} */
static int t_encode(lua_State *L) {
  const lunet_bpe *t = check_bpe(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  char err[LUNET_BPE_ERROR];
  int32_t *ids = lua_newuserdatauv(L, sizeof(int32_t) * (len ? len : 1), 0);
  int64_t n = lunet_bpe_encode(t, s, len, ids, (int64_t)len, err); /* never more ids than bytes */
  if (n < 0) return luaL_error(L, "tok:encode: %s", err);
  lpush_ids(L, ids, n);
  return 1;
}

/* tok:decode({ids from 1}) -> string */
static int t_decode(lua_State *L) {
  const lunet_bpe *t = check_bpe(L);
  int64_t n;
  const int32_t *ids = lcheck_ids(L, 2, lunet_bpe_vocab_size(t), "tok:decode", &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int64_t j = 0; j < n; j++) {
    size_t len;
    const char *s = lunet_bpe_symbol(t, ids[j], &len);
    luaL_addlstring(&b, s, len);
  }
  luaL_pushresult(&b);
  return 1;
}

/* tok:tokens({ids from 1}) -> { symbol text, ... } */
static int t_tokens(lua_State *L) {
  const lunet_bpe *t = check_bpe(L);
  int64_t n;
  const int32_t *ids = lcheck_ids(L, 2, lunet_bpe_vocab_size(t), "tok:tokens", &n);
  lua_createtable(L, (int)n, 0);
  for (int64_t j = 0; j < n; j++) {
    size_t len;
    const char *s = lunet_bpe_symbol(t, ids[j], &len);
    lua_pushlstring(L, s, len);
    lua_rawseti(L, -2, j + 1);
  }
  return 1;
}

/* tok:merges() -> { {left text, right text, count = N}, ... } in the order learned */
static int t_merges(lua_State *L) {
  const lunet_bpe *t = check_bpe(L);
  int n = lunet_bpe_n_merges(t);
  lua_createtable(L, n, 0);
  for (int k = 0; k < n; k++) {
    int side[2];
    int64_t count;
    size_t len;
    lunet_bpe_merge(t, k, &side[0], &side[1], &count);
    lua_createtable(L, 2, 1);
    for (int i = 0; i < 2; i++) {
      const char *s = lunet_bpe_symbol(t, side[i], &len);
      lua_pushlstring(L, s, len);
      lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, (lua_Integer)count);
    lua_setfield(L, -2, "count");
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

static int t_vocab_size(lua_State *L) {
  lua_pushinteger(L, lunet_bpe_vocab_size(check_bpe(L)));
  return 1;
}

static int t_base(lua_State *L) {
  lua_pushstring(L, lunet_bpe_base_of(check_bpe(L)) == LUNET_BPE_BYTES ? "bytes" : "chars");
  return 1;
}

/* tok:save(path) */
static int t_save(lua_State *L) {
  const lunet_bpe *t = check_bpe(L);
  char err[LUNET_BPE_ERROR];
  if (lunet_bpe_save(t, luaL_checkstring(L, 2), err)) return luaL_error(L, "tok:save: %s", err);
  return 0;
}

static int t_gc(lua_State *L) {
  lbpe *u = luaL_checkudata(L, 1, MT_BPE);
  lunet_bpe_free(u->t);
  u->t = NULL;
  return 0;
}

static int t_tostring(lua_State *L) {
  const lunet_bpe *t = check_bpe(L);
  lua_pushfstring(L, "bpe tokenizer: %d symbols (%d base, %s; %d merges)", lunet_bpe_vocab_size(t),
                  lunet_bpe_n_base(t), lunet_bpe_base_of(t) == LUNET_BPE_BYTES ? "bytes" : "chars",
                  lunet_bpe_n_merges(t));
  return 1;
}

void lbpe_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"encode", t_encode},
                                     {"decode", t_decode},
                                     {"tokens", t_tokens},
                                     {"merges", t_merges},
                                     {"vocab_size", t_vocab_size},
                                     {"base", t_base},
                                     {"save", t_save},
                                     {NULL, NULL}};
  static const luaL_Reg fns[] = {{"train", l_train}, {"load", l_load}, {NULL, NULL}};
  luaL_newmetatable(L, MT_BPE);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, t_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, t_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "bpe");
}
