/*
** lunet/bpe.h -- byte-pair encoding (Sennrich et al. 2015), header-only, so
** that the host (lunet.bpe) and a dataset plugin (the `text` dataset's level
** "bpe") share one tokenizer without linking each other. Plain C11 and libc.
**
** Training follows the course: the text is cut into words, each unique word
** is counted, every word is split into base symbols, then, until the
** vocabulary holds `vocab` symbols, the most frequent adjacent pair of
** symbols (summed over words, each weighted by its count) becomes a new
** symbol, and every occurrence of that pair, left to right, is merged.
**
**   - Words. A word is a maximal run of non-whitespace bytes; a maximal run
**     of whitespace (space, \t, \n, \v, \f, \r) is a word of its own. Merges
**     never cross a word's edge, so a word never takes in a space, and
**     "  " or "\n\n" may become symbols of their own. Nothing is dropped,
**     so decode(encode(s)) == s for every s whose symbols are all known
**     (every s with base "bytes"). Punctuation stays in its word ("dog," is
**     one word), as the course's space tokenisation does. A run longer than
**     LUNET_BPE_MAX_WORD (128) bytes is cut into pieces of at most that
**     many, at characters' edges, in training and encoding alike.
**   - Base alphabets. LUNET_BPE_CHARS: the characters (UTF-8 code points)
**     seen in training, in byte order (code point order), after symbol 0,
**     the unknown symbol, which stands for every character not seen; a byte
**     that is not part of valid UTF-8 counts as a character of its own.
**     The unknown symbol decodes as U+FFFD, the replacement character.
**     LUNET_BPE_BYTES (GPT-2): the 256 bytes, ids 0..255, no unknown
**     symbol: any input encodes and decodes back exactly.
**   - Ties. Of pairs with the same count, the one with the smaller left id
**     is merged first, then the smaller right id (as Hugging Face's
**     tokenizers do); ids are fixed at creation, so this does not depend on
**     hashing or input order.
**   - Ids. Base symbols first, then one new id per merge, in merge order:
**     merge k makes symbol n_base + k. Two merges may spell the same text
**     ("ab"+"c" and "a"+"bc"); they stay two ids.
**   - Encoding a word applies the merges in their order (the lowest-ranked
**     pair present first, its occurrences left to right), which gives the
**     segmentation training would have given.
**
** The course's example: the words hug (10), pug (5), pun (12), bun (4) and
** hugs (5) give the merges u+g (20), u+n (16) and h+ug (15); "bug" then
** encodes as [b, ug], and a character never seen as [unknown].
**
** Cost: training counts pairs once, then keeps the counts up to date (only
** the words that hold the merged pair are touched) and takes the best pair
** from a heap: the Jargon File (1.7 MB) to 3000 symbols in 0.15 s. Encoding
** is linear in the text (times word length squared, words are short), each
** distinct word encoded once per call: 0.08 s for the same file.
**
** Errors: a function that fails returns NULL or -1 and writes a message
** without prefix into err (LUNET_BPE_ERROR bytes; NULL: not written); the
** caller prefixes its own name ("lunet.bpe.train: ", "text: "). Memory is
** plain malloc: nothing here runs in a training step.
**
** The file format (tok:save) is text, one symbol a line, so a person can
** read it:
**
**     lunet-bpe 1
**     base chars
**     symbols 12
**     0 �
**     1 \x20
**     2 b
**     ...
**     9 ug = 8 3 20
**     10 un = 8 5 16
**     11 hug = 4 9 15
**
** "ID TEXT" for a base symbol; "ID TEXT = LEFT RIGHT COUNT" for a merge
** (the ids it joins and the pair's count when it was merged). TEXT escapes
** every byte outside printable ASCII and valid multi-byte UTF-8, and the
** space and backslash, as \xHH. Loading checks every line (the ids count up,
** a merge's text is its parts' texts, bytes 0..255 in order) and names the
** file and line of the first fault. Saving writes PATH.tmp, fsyncs it and
** renames it over PATH, so PATH is never half written.
*/
#ifndef LUNET_BPE_H
#define LUNET_BPE_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* fsync */

#define LUNET_BPE_ERROR 512 /* room for any message written into err */

typedef enum lunet_bpe_base {
  LUNET_BPE_CHARS = 0, /* characters seen in training + the unknown symbol (id 0) */
  LUNET_BPE_BYTES = 1  /* the 256 bytes (ids 0..255) */
} lunet_bpe_base;

typedef struct lunet_bpe lunet_bpe; /* a trained tokenizer; defined below */

/* ---- the API ----------------------------------------------------------- */

/* Learns merges from text[0..len) until there are `vocab` symbols (base
** symbols included), or fewer when no pair is left to merge. vocab below the
** base alphabet's size (256 for bytes; the characters seen + 1 for chars) is
** an error that gives the least size. NULL after an error. */
static inline lunet_bpe *lunet_bpe_train(const char *text, size_t len, int vocab,
                                         lunet_bpe_base base, char *err);

/* "chars" or "bytes" -> *base; 0, or -1 with an error listing both (and
** *base = LUNET_BPE_CHARS). */
static inline int lunet_bpe_base_parse(const char *name, lunet_bpe_base *base, char *err);

static inline void lunet_bpe_free(lunet_bpe *t); /* NULL is fine */

static inline lunet_bpe_base lunet_bpe_base_of(const lunet_bpe *t);
static inline int lunet_bpe_vocab_size(const lunet_bpe *t); /* all symbols: ids 0..size-1 */
static inline int lunet_bpe_n_base(const lunet_bpe *t);     /* base symbols (unknown included) */
static inline int lunet_bpe_unknown(const lunet_bpe *t);    /* 0 for chars, -1 for bytes */

/* The number of merges, and merge k (0-based, in the order learned): it
** joins *left and *right (ids) and makes the returned id, n_base + k.
** *count (may be NULL) is the pair's count when it was merged. -1 (and
** *left = *right = -1) for k outside 0..n_merges-1. */
static inline int lunet_bpe_n_merges(const lunet_bpe *t);
static inline int lunet_bpe_merge(const lunet_bpe *t, int k, int *left, int *right, int64_t *count);

/* The bytes symbol `id` stands for (not NUL-terminated), *len of them;
** NULL (and *len = 0) for an id outside 0..vocab_size-1. */
static inline const char *lunet_bpe_symbol(const lunet_bpe *t, int id, size_t *len);

/* The ids of text[0..len) into ids[0..cap), 0-based; returns how many there
** are (more than cap: only cap were written; call again with room). There
** are never more ids than bytes, so cap = len always suffices. -1 after an
** error (out of memory). Same contract as lunet_dataset_api.encode. */
static inline int64_t lunet_bpe_encode(const lunet_bpe *t, const char *text, size_t len,
                                       int32_t *ids, int64_t cap, char *err);

/* The text of ids[0..n) into text[0..cap), NUL-terminated when it fits;
** returns its length in bytes (cap or more: call again with room for it and
** its NUL), or -1 after an error (an id outside the vocabulary, naming it
** and its position). Same contract as lunet_dataset_api.decode. */
static inline int64_t lunet_bpe_decode(const lunet_bpe *t, const int32_t *ids, int64_t n,
                                       char *text, int64_t cap, char *err);

/* Writes the tokenizer to `path` (the format above, atomically); 0, or -1
** after an error naming the file, the reason and what to do. */
static inline int lunet_bpe_save(const lunet_bpe *t, const char *path, char *err);

/* Reads a file written by lunet_bpe_save; NULL after an error naming the
** file, the line and what was expected. */
static inline lunet_bpe *lunet_bpe_load(const char *path, char *err);

/* The bytes of file `path` (to train on), NUL-terminated, *len of them
** (the NUL not counted); free() them. NULL after an error naming the file. */
static inline char *lunet_bpe_read_file(const char *path, size_t *len, char *err);

/* ======================================================================== */
/* The implementation. Names ending in _ are private.                       */
/* ======================================================================== */

/* The longest word in bytes: a longer run is cut, at a character's edge, into
** pieces of at most this many bytes, in training and in encoding alike; it
** keeps the per-word work (quadratic in its length) small on any input. */
#define LUNET_BPE_MAX_WORD 128

/* Writes a message into err; returns -1. */
static inline int lunet_bpe_fail_(char *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, LUNET_BPE_ERROR, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Array p of *cap elements of `size` bytes, grown (doubling) to hold at
** least `need`; NULL when out of memory (p then keeps its elements). */
static inline void *lunet_bpe_grow_(void *p, size_t need, size_t *cap, size_t size) {
  if (need <= *cap) return p;
  size_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = realloc(p, c * size);
  if (q) *cap = c;
  return q;
}

/* ---- a hash map from uint64 keys to int64 values (open addressing) ------ */

#define LUNET_BPE_EMPTY_ UINT64_MAX /* no key: pairs and characters never are */

typedef struct lunet_bpe_map_ {
  uint64_t *key;
  int64_t *val;
  size_t cap, n; /* cap: a power of two, at least twice n */
} lunet_bpe_map_;

static inline size_t lunet_bpe_mix_(uint64_t k) { /* splitmix64's finaliser */
  k ^= k >> 30;
  k *= 0xbf58476d1ce4e5b9ULL;
  k ^= k >> 27;
  k *= 0x94d049bb133111ebULL;
  return (size_t)(k ^ (k >> 31));
}

/* The slot of `key` in key[0..cap): where it is, or the empty slot it would take. */
static inline size_t lunet_bpe_slot_(const uint64_t *key, size_t cap, uint64_t k) {
  size_t i = lunet_bpe_mix_(k) & (cap - 1);
  while (key[i] != k && key[i] != LUNET_BPE_EMPTY_) i = (i + 1) & (cap - 1);
  return i;
}

/* The value of key k, or NULL. */
static inline int64_t *lunet_bpe_map_get_(const lunet_bpe_map_ *m, uint64_t k) {
  if (!m->cap) return NULL;
  size_t i = lunet_bpe_slot_(m->key, m->cap, k);
  return m->key[i] == k ? &m->val[i] : NULL;
}

static inline int lunet_bpe_map_grow_(lunet_bpe_map_ *m) {
  size_t cap = m->cap ? 2 * m->cap : 64;
  uint64_t *key = malloc(cap * sizeof *key);
  int64_t *val = malloc(cap * sizeof *val);
  if (!key || !val) {
    free(key);
    free(val);
    return -1;
  }
  memset(key, 0xff, cap * sizeof *key); /* every slot LUNET_BPE_EMPTY_ */
  for (size_t i = 0; i < m->cap; i++) {
    if (m->key[i] == LUNET_BPE_EMPTY_) continue;
    size_t j = lunet_bpe_slot_(key, cap, m->key[i]);
    key[j] = m->key[i];
    val[j] = m->val[i];
  }
  free(m->key);
  free(m->val);
  m->key = key;
  m->val = val;
  m->cap = cap;
  return 0;
}

/* The value of key k, inserted as v if absent (*added then 1); NULL when out
** of memory. The pointer lasts until the next insertion. */
static inline int64_t *lunet_bpe_map_put_(lunet_bpe_map_ *m, uint64_t k, int64_t v, int *added) {
  if (2 * (m->n + 1) > m->cap && lunet_bpe_map_grow_(m)) return NULL;
  size_t i = lunet_bpe_slot_(m->key, m->cap, k);
  *added = m->key[i] == LUNET_BPE_EMPTY_;
  if (*added) {
    m->key[i] = k;
    m->val[i] = v;
    m->n++;
  }
  return &m->val[i];
}

static inline void lunet_bpe_map_free_(lunet_bpe_map_ *m) {
  free(m->key);
  free(m->val);
}

/* A pair of ids as one key: left in the high half, so that key order is the
** tie order (smaller left id, then smaller right id). */
static inline uint64_t lunet_bpe_pair_key_(int32_t left, int32_t right) {
  return (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
}

/* ---- words: distinct byte strings, in order of first sight --------------- */

typedef struct lunet_bpe_words_ {
  const char **p; /* word i is p[i][0..len[i]) (in the caller's text) */
  int32_t *len;
  int64_t *val; /* the caller's number per word (a count, an offset) */
  size_t n, cap;
  int32_t *slot; /* nslot (a power of two) word indices, -1 when free */
  size_t nslot;
} lunet_bpe_words_;

static inline size_t lunet_bpe_fnv_(const char *s, int32_t len) { /* FNV-1a */
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int32_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return (size_t)h;
}

static inline size_t lunet_bpe_word_slot_(const lunet_bpe_words_ *w, const int32_t *slot,
                                          size_t nslot, const char *s, int32_t len) {
  size_t i = lunet_bpe_fnv_(s, len) & (nslot - 1);
  for (; slot[i] >= 0; i = (i + 1) & (nslot - 1))
    if (w->len[slot[i]] == len && memcmp(w->p[slot[i]], s, (size_t)len) == 0) break;
  return i;
}

/* Doubles the room for words, and rebuilds the slots for it. */
static inline int lunet_bpe_words_grow_(lunet_bpe_words_ *w) {
  size_t cap = w->cap ? 2 * w->cap : 256, nslot = 2 * cap;
  const char **p = realloc((void *)w->p, cap * sizeof *p);
  if (p) w->p = p;
  int32_t *len = realloc(w->len, cap * sizeof *len);
  if (len) w->len = len;
  int64_t *val = realloc(w->val, cap * sizeof *val);
  if (val) w->val = val;
  int32_t *slot = malloc(nslot * sizeof *slot);
  if (!p || !len || !val || !slot) {
    free(slot);
    return -1;
  }
  memset(slot, 0xff, nslot * sizeof *slot); /* every slot -1 */
  for (size_t i = 0; i < w->n; i++)
    slot[lunet_bpe_word_slot_(w, slot, nslot, w->p[i], w->len[i])] = (int32_t)i;
  free(w->slot);
  w->slot = slot;
  w->nslot = nslot;
  w->cap = cap;
  return 0;
}

/* The index of word s[0..len), appended with val 0 if new (*added then 1);
** -1 when out of memory. */
static inline int64_t lunet_bpe_words_add_(lunet_bpe_words_ *w, const char *s, int32_t len,
                                           int *added) {
  if (w->n == w->cap && lunet_bpe_words_grow_(w)) return -1;
  size_t i = lunet_bpe_word_slot_(w, w->slot, w->nslot, s, len);
  *added = w->slot[i] < 0;
  if (*added) {
    w->p[w->n] = s;
    w->len[w->n] = len;
    w->val[w->n] = 0;
    w->slot[i] = (int32_t)w->n++;
  }
  return w->slot[i];
}

static inline void lunet_bpe_words_free_(lunet_bpe_words_ *w) {
  free((void *)w->p);
  free(w->len);
  free(w->val);
  free(w->slot);
}

/* ---- characters and words of a text -------------------------------------- */

static inline int lunet_bpe_space_(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* The length of the UTF-8 character at s[0..n) (n >= 1): 2 to 4 for a valid
** multi-byte one (no overlong forms, surrogates or code points past
** U+10FFFF), else 1 (ASCII, or a byte that starts no valid character). */
static inline int lunet_bpe_char_len_(const unsigned char *s, size_t n) {
  unsigned c = s[0], lo = 0x80, hi = 0xBF;
  int len = 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  if (c >= 0xE0 && c <= 0xEF) len = 3;
  if (c >= 0xF0 && c <= 0xF4) len = 4;
  if (len == 1 || (size_t)len > n) return 1;
  if (c == 0xE0) lo = 0xA0;
  if (c == 0xED) hi = 0x9F;
  if (c == 0xF0) lo = 0x90;
  if (c == 0xF4) hi = 0x8F;
  if (s[1] < lo || s[1] > hi) return 1;
  for (int i = 2; i < len; i++)
    if ((s[i] & 0xC0) != 0x80) return 1;
  return len;
}

/* A character's bytes left-aligned in 32 bits: unique per character, and
** ordered as the byte strings are (code point order for valid UTF-8). */
static inline uint64_t lunet_bpe_char_key_(const unsigned char *s, int len) {
  uint32_t k = 0;
  for (int i = 0; i < 4; i++) k = k << 8 | (i < len ? s[i] : 0);
  return k;
}

/* The end of the word that starts at text[i]: the run of bytes of the same
** kind (whitespace or not), at most LUNET_BPE_MAX_WORD bytes, cut between
** characters. */
static inline size_t lunet_bpe_word_end_(const char *text, size_t len, size_t i) {
  const unsigned char *u = (const unsigned char *)text;
  int space = lunet_bpe_space_(u[i]);
  size_t j = i;
  while (j < len && lunet_bpe_space_(u[j]) == space) {
    size_t c = (size_t)lunet_bpe_char_len_(u + j, len - j);
    if (j + c - i > LUNET_BPE_MAX_WORD) break;
    j += c;
  }
  return j;
}

/* ---- the tokenizer ------------------------------------------------------- */

struct lunet_bpe {
  lunet_bpe_base base;
  int n_base, n_symbols, cap; /* base symbols, all symbols, room for */
  char *text;                 /* every symbol's bytes, end to end */
  size_t text_cap;
  int64_t *off;         /* symbol i is text[off[i] .. off[i + 1]) */
  int32_t *pair;        /* merge k joins pair[2k] and pair[2k + 1] */
  int64_t *count;       /* merge k's pair count when it was merged */
  lunet_bpe_map_ chars; /* chars base: character key -> id */
  lunet_bpe_map_ rank;  /* pair key -> merge k */
};

static inline void lunet_bpe_free(lunet_bpe *t) {
  if (!t) return;
  free(t->text);
  free(t->off);
  free(t->pair);
  free(t->count);
  lunet_bpe_map_free_(&t->chars);
  lunet_bpe_map_free_(&t->rank);
  free(t);
}

/* An empty tokenizer with room for `cap` symbols; NULL when out of memory. */
static inline lunet_bpe *lunet_bpe_new_(lunet_bpe_base base, int cap) {
  lunet_bpe *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->base = base;
  t->cap = cap;
  t->off = calloc((size_t)cap + 1, sizeof *t->off);
  t->pair = malloc(2 * (size_t)cap * sizeof *t->pair);
  t->count = malloc((size_t)cap * sizeof *t->count);
  if (t->off && t->pair && t->count) return t;
  lunet_bpe_free(t);
  return NULL;
}

/* Room for n more bytes of symbol text; 0 or -1. */
static inline int lunet_bpe_reserve_(lunet_bpe *t, size_t n) {
  size_t need = (size_t)t->off[t->n_symbols] + n;
  if (need <= t->text_cap) return 0;
  size_t cap = 2 * need;
  char *p = realloc(t->text, cap);
  if (!p) return -1;
  t->text = p;
  t->text_cap = cap;
  return 0;
}

/* Appends a base symbol of bytes s[0..n); its id, or -1 when out of memory. */
static inline int lunet_bpe_add_base_(lunet_bpe *t, const char *s, size_t n) {
  if (t->n_symbols == t->cap || lunet_bpe_reserve_(t, n)) return -1;
  memcpy(t->text + t->off[t->n_symbols], s, n);
  t->off[t->n_symbols + 1] = t->off[t->n_symbols] + (int64_t)n;
  t->n_base = ++t->n_symbols;
  return t->n_symbols - 1;
}

/* Appends the merge of symbols `left` and `right`; its id, or -1. */
static inline int lunet_bpe_add_merge_(lunet_bpe *t, int32_t left, int32_t right, int64_t count) {
  size_t nl = (size_t)(t->off[left + 1] - t->off[left]),
         nr = (size_t)(t->off[right + 1] - t->off[right]);
  int added, k = t->n_symbols - t->n_base;
  if (t->n_symbols == t->cap || lunet_bpe_reserve_(t, nl + nr)) return -1;
  int64_t *r = lunet_bpe_map_put_(&t->rank, lunet_bpe_pair_key_(left, right), k, &added);
  if (!r) return -1;
  char *end = t->text + t->off[t->n_symbols];
  memcpy(end, t->text + t->off[left], nl);
  memcpy(end + nl, t->text + t->off[right], nr);
  t->off[t->n_symbols + 1] = t->off[t->n_symbols] + (int64_t)(nl + nr);
  t->pair[2 * k] = left;
  t->pair[2 * k + 1] = right;
  t->count[k] = count;
  return t->n_symbols++;
}

/* The base symbols of word s[0..len) into out[] (room for len); their number. */
static inline int lunet_bpe_base_symbols_(const lunet_bpe *t, const char *s, int len,
                                          int32_t *out) {
  const unsigned char *u = (const unsigned char *)s;
  int n = 0;
  for (int i = 0; i < len; n++) {
    if (t->base == LUNET_BPE_BYTES) {
      out[n] = u[i++];
      continue;
    }
    int c = lunet_bpe_char_len_(u + i, (size_t)(len - i));
    const int64_t *id = lunet_bpe_map_get_(&t->chars, lunet_bpe_char_key_(u + i, c));
    out[n] = id ? (int32_t)*id : 0; /* 0: the unknown symbol */
    i += c;
  }
  return n;
}

/* Merges, left to right, each (a, b) in w[0..n) into id; the new length. */
static inline int lunet_bpe_join_(int32_t *w, int n, int32_t a, int32_t b, int32_t id) {
  int j = 0;
  for (int i = 0; i < n; j++) {
    if (i + 1 < n && w[i] == a && w[i + 1] == b) {
      w[j] = id;
      i += 2;
    } else {
      w[j] = w[i++];
    }
  }
  return j;
}

/* Encodes one word into w[] (room for len): the merges in rank order. */
static inline int lunet_bpe_encode_word_(const lunet_bpe *t, const char *s, int len, int32_t *w) {
  int n = lunet_bpe_base_symbols_(t, s, len, w);
  for (;;) {
    int64_t best = INT64_MAX;
    for (int i = 0; i + 1 < n; i++) {
      const int64_t *r = lunet_bpe_map_get_(&t->rank, lunet_bpe_pair_key_(w[i], w[i + 1]));
      if (r && *r < best) best = *r;
    }
    if (best == INT64_MAX) return n;
    n = lunet_bpe_join_(w, n, t->pair[2 * best], t->pair[2 * best + 1], t->n_base + (int32_t)best);
  }
}

/* ---- training ------------------------------------------------------------ */

typedef struct lunet_bpe_pair_ {
  int32_t left, right;
  int64_t count; /* occurrences, each weighted by its word's count */
  int32_t *word; /* the words that may hold it (checked before use) */
  size_t n, cap;
} lunet_bpe_pair_;

typedef struct lunet_bpe_entry_ { /* a heap entry: a pair's count when pushed */
  int64_t count;
  uint64_t key;
} lunet_bpe_entry_;

typedef struct lunet_bpe_learner_ {
  int32_t *sym; /* the words' symbols, word i at sym[start[i] ..][0..len[i]) */
  int64_t *start;
  int32_t *len;
  const int64_t *wcount;
  lunet_bpe_map_ index; /* pair key -> pairs[] */
  lunet_bpe_pair_ *pairs;
  size_t n_pairs, cap_pairs;
  lunet_bpe_entry_ *heap; /* the best pair first; stale counts are fixed when popped */
  size_t n_heap, cap_heap;
  size_t fresh; /* pairs[fresh ..] were made by the current merge */
} lunet_bpe_learner_;

static inline int lunet_bpe_before_(lunet_bpe_entry_ a, lunet_bpe_entry_ b) {
  return a.count > b.count || (a.count == b.count && a.key < b.key);
}

static inline int lunet_bpe_push_(lunet_bpe_learner_ *L, int64_t count, uint64_t key) {
  lunet_bpe_entry_ *h = lunet_bpe_grow_(L->heap, L->n_heap + 1, &L->cap_heap, sizeof *h);
  if (!h) return -1;
  L->heap = h;
  size_t i = L->n_heap++;
  lunet_bpe_entry_ e = {count, key};
  for (; i > 0 && lunet_bpe_before_(e, L->heap[(i - 1) / 2]); i = (i - 1) / 2)
    L->heap[i] = L->heap[(i - 1) / 2];
  L->heap[i] = e;
  return 0;
}

static inline lunet_bpe_entry_ lunet_bpe_pop_(lunet_bpe_learner_ *L) {
  lunet_bpe_entry_ top = L->heap[0], e = L->heap[--L->n_heap];
  size_t i = 0, n = L->n_heap;
  for (size_t c; (c = 2 * i + 1) < n; i = c) {
    if (c + 1 < n && lunet_bpe_before_(L->heap[c + 1], L->heap[c])) c++;
    if (!lunet_bpe_before_(L->heap[c], e)) break;
    L->heap[i] = L->heap[c];
  }
  if (n) L->heap[i] = e;
  return top;
}

/* Adds delta to the count of pair (a, b), creating it if new; notes `word`
** (>= 0) as a holder of it. 0, or -1 when out of memory. */
static inline int lunet_bpe_count_(lunet_bpe_learner_ *L, int32_t a, int32_t b, int64_t delta,
                                   int32_t word) {
  int added;
  int64_t *ix =
      lunet_bpe_map_put_(&L->index, lunet_bpe_pair_key_(a, b), (int64_t)L->n_pairs, &added);
  if (!ix) return -1;
  if (added) {
    lunet_bpe_pair_ *p = lunet_bpe_grow_(L->pairs, L->n_pairs + 1, &L->cap_pairs, sizeof *p);
    if (!p) return -1;
    L->pairs = p;
    L->pairs[L->n_pairs++] = (lunet_bpe_pair_){a, b, 0, NULL, 0, 0};
  }
  lunet_bpe_pair_ *p = &L->pairs[*ix];
  p->count += delta;
  if (word < 0 || (p->n && p->word[p->n - 1] == word)) return 0;
  int32_t *w = lunet_bpe_grow_(p->word, p->n + 1, &p->cap, sizeof *w);
  if (!w) return -1;
  p->word = w;
  p->word[p->n++] = word;
  return 0;
}

/* Pushes the pairs made since `fresh` onto the heap. */
static inline int lunet_bpe_push_fresh_(lunet_bpe_learner_ *L) {
  for (; L->fresh < L->n_pairs; L->fresh++) {
    const lunet_bpe_pair_ *p = &L->pairs[L->fresh];
    if (p->count > 0 && lunet_bpe_push_(L, p->count, lunet_bpe_pair_key_(p->left, p->right)))
      return -1;
  }
  return 0;
}

/* Merges (a, b) into id in word i, moving the pair counts with it. */
static inline int lunet_bpe_merge_word_(lunet_bpe_learner_ *L, size_t i, int32_t a, int32_t b,
                                        int32_t id) {
  int32_t *s = L->sym + L->start[i], n = L->len[i];
  int64_t c = L->wcount[i];
  int found = 0;
  for (int32_t k = 0; k + 1 < n && !found; k++) found = s[k] == a && s[k + 1] == b;
  if (!found) return 0; /* an earlier merge took it */
  for (int32_t k = 0; k + 1 < n; k++)
    if (lunet_bpe_count_(L, s[k], s[k + 1], -c, -1)) return -1;
  n = L->len[i] = lunet_bpe_join_(s, n, a, b, id);
  for (int32_t k = 0; k + 1 < n; k++) {
    int32_t holder = s[k] == id || s[k + 1] == id ? (int32_t)i : -1; /* only new pairs */
    if (lunet_bpe_count_(L, s[k], s[k + 1], c, holder)) return -1;
  }
  return 0;
}

/* Splits the words into base symbols and counts their pairs. */
static inline int lunet_bpe_learner_init_(lunet_bpe_learner_ *L, const lunet_bpe *t,
                                          const lunet_bpe_words_ *w) {
  size_t total = 0;
  for (size_t i = 0; i < w->n; i++) total += (size_t)w->len[i];
  L->sym = malloc((total ? total : 1) * sizeof *L->sym);
  L->start = malloc((w->n ? w->n : 1) * sizeof *L->start);
  L->len = malloc((w->n ? w->n : 1) * sizeof *L->len);
  if (!L->sym || !L->start || !L->len) return -1;
  L->wcount = w->val;
  int64_t at = 0;
  for (size_t i = 0; i < w->n; i++) {
    L->start[i] = at;
    L->len[i] = lunet_bpe_base_symbols_(t, w->p[i], w->len[i], L->sym + at);
    for (int32_t k = 0; k + 1 < L->len[i]; k++)
      if (lunet_bpe_count_(L, L->sym[at + k], L->sym[at + k + 1], w->val[i], (int32_t)i)) return -1;
    at += L->len[i];
  }
  return lunet_bpe_push_fresh_(L);
}

static inline void lunet_bpe_learner_free_(lunet_bpe_learner_ *L) {
  for (size_t i = 0; i < L->n_pairs; i++) free(L->pairs[i].word);
  free(L->pairs);
  free(L->heap);
  free(L->sym);
  free(L->start);
  free(L->len);
  lunet_bpe_map_free_(&L->index);
}

/* Learns merges until t has `vocab` symbols or no pair is left. */
static inline int lunet_bpe_learn_(lunet_bpe *t, lunet_bpe_learner_ *L, int vocab) {
  while (t->n_symbols < vocab && L->n_heap) {
    lunet_bpe_entry_ top = lunet_bpe_pop_(L);
    int64_t ix = *lunet_bpe_map_get_(&L->index, top.key);
    lunet_bpe_pair_ best = L->pairs[ix];
    if (best.count <= 0) continue;
    if (best.count != top.count) { /* stale: counts only fall; requeue */
      if (lunet_bpe_push_(L, best.count, top.key)) return -1;
      continue;
    }
    int id = lunet_bpe_add_merge_(t, best.left, best.right, best.count);
    if (id < 0) return -1;
    for (size_t k = 0; k < best.n; k++) /* (a, b)'s own list does not grow meanwhile */
      if (lunet_bpe_merge_word_(L, (size_t)best.word[k], best.left, best.right, id)) return -1;
    free(best.word);
    L->pairs[ix].word = NULL;
    L->pairs[ix].n = L->pairs[ix].cap = 0;
    if (lunet_bpe_push_fresh_(L)) return -1;
  }
  return 0;
}

/* The base alphabet: the 256 bytes, or the unknown symbol and the words'
** characters in byte order. */
static inline lunet_bpe *lunet_bpe_alphabet_(const lunet_bpe_words_ *w, lunet_bpe_base base,
                                             int cap) {
  lunet_bpe_map_ seen = {0};
  uint64_t *keys = NULL;
  lunet_bpe *t = NULL;
  int added, ok = 1;
  for (size_t i = 0; ok && base == LUNET_BPE_CHARS && i < w->n; i++) {
    const unsigned char *u = (const unsigned char *)w->p[i];
    for (int k = 0, c; ok && k < w->len[i]; k += c) {
      c = lunet_bpe_char_len_(u + k, (size_t)(w->len[i] - k));
      ok = lunet_bpe_map_put_(&seen, lunet_bpe_char_key_(u + k, c), c, &added) != NULL;
    }
  }
  size_t n = 0;
  if (ok && seen.n) ok = (keys = malloc(seen.n * sizeof *keys)) != NULL;
  for (size_t i = 0; ok && i < seen.cap; i++)
    if (seen.key[i] != LUNET_BPE_EMPTY_) keys[n++] = seen.key[i];
  for (size_t i = 1; i < n; i++) { /* insertion sort: alphabets are small */
    uint64_t k = keys[i];
    size_t j = i;
    for (; j > 0 && keys[j - 1] > k; j--) keys[j] = keys[j - 1];
    keys[j] = k;
  }
  int n_base = base == LUNET_BPE_BYTES ? 256 : 1 + (int)n;
  if (ok) ok = (t = lunet_bpe_new_(base, cap > n_base ? cap : n_base)) != NULL;
  for (int b = 0; ok && base == LUNET_BPE_BYTES && b < 256; b++)
    ok = lunet_bpe_add_base_(t, (char[]){(char)b}, 1) >= 0;
  if (ok && base == LUNET_BPE_CHARS)
    ok = lunet_bpe_add_base_(t, "\xEF\xBF\xBD", 3) >= 0; /* U+FFFD */
  for (size_t i = 0; ok && i < n; i++) {
    unsigned char s[4];
    for (int k = 0; k < 4; k++) s[k] = (unsigned char)(keys[i] >> (24 - 8 * k));
    int id = lunet_bpe_add_base_(t, (const char *)s, (size_t)*lunet_bpe_map_get_(&seen, keys[i]));
    ok = id >= 0 && lunet_bpe_map_put_(&t->chars, keys[i], id, &added) != NULL;
  }
  free(keys);
  lunet_bpe_map_free_(&seen);
  if (ok) return t;
  lunet_bpe_free(t);
  return NULL;
}

static inline lunet_bpe *lunet_bpe_train(const char *text, size_t len, int vocab,
                                         lunet_bpe_base base, char *err) {
  if (!text && len) return lunet_bpe_fail_(err, "no text (NULL) of %zu bytes", len), NULL;
  if (vocab < 1)
    return lunet_bpe_fail_(err, "vocab = %d, expected a size of at least 1", vocab), NULL;
  if (base != LUNET_BPE_CHARS && base != LUNET_BPE_BYTES)
    return lunet_bpe_fail_(err, "base alphabet %d, expected chars or bytes", (int)base), NULL;
  lunet_bpe_words_ w = {0};
  lunet_bpe_learner_ L = {0};
  lunet_bpe *t = NULL;
  int added, ok = 1;
  size_t symbols = 0; /* an upper bound on the merges there can be */
  for (size_t i = 0, e; ok && i < len; i = e) {
    e = lunet_bpe_word_end_(text, len, i);
    int64_t k = lunet_bpe_words_add_(&w, text + i, (int32_t)(e - i), &added);
    ok = k >= 0;
    if (ok) w.val[k]++;
    if (ok && added) symbols += e - i;
  }
  int cap = (size_t)vocab < 256 + symbols ? vocab : (int)(256 + symbols);
  if (ok) ok = (t = lunet_bpe_alphabet_(&w, base, cap)) != NULL;
  if (ok && vocab < t->n_base) {
    lunet_bpe_fail_(err,
                    "vocab = %d is smaller than the base alphabet of %d symbols (%s); "
                    "expected vocab >= %d",
                    vocab, t->n_base,
                    base == LUNET_BPE_BYTES ? "the 256 bytes" : "the characters seen + unknown",
                    t->n_base);
    lunet_bpe_free(t);
    lunet_bpe_words_free_(&w);
    return NULL;
  }
  if (ok) ok = lunet_bpe_learner_init_(&L, t, &w) == 0 && lunet_bpe_learn_(t, &L, vocab) == 0;
  lunet_bpe_learner_free_(&L);
  lunet_bpe_words_free_(&w);
  if (ok) return t;
  lunet_bpe_free(t);
  lunet_bpe_fail_(err, "out of memory training on %zu bytes of text", len);
  return NULL;
}

/* ---- using a tokenizer ---------------------------------------------------- */

static inline int lunet_bpe_base_parse(const char *name, lunet_bpe_base *base, char *err) {
  *base = LUNET_BPE_CHARS;
  if (name && strcmp(name, "chars") == 0)
    *base = LUNET_BPE_CHARS;
  else if (name && strcmp(name, "bytes") == 0)
    *base = LUNET_BPE_BYTES;
  else
    return lunet_bpe_fail_(err, "base = \"%s\", expected \"chars\" or \"bytes\"",
                           name ? name : "(none)");
  return 0;
}

static inline lunet_bpe_base lunet_bpe_base_of(const lunet_bpe *t) { return t->base; }
static inline int lunet_bpe_vocab_size(const lunet_bpe *t) { return t->n_symbols; }
static inline int lunet_bpe_n_base(const lunet_bpe *t) { return t->n_base; }
static inline int lunet_bpe_unknown(const lunet_bpe *t) {
  return t->base == LUNET_BPE_CHARS ? 0 : -1;
}
static inline int lunet_bpe_n_merges(const lunet_bpe *t) { return t->n_symbols - t->n_base; }

static inline int lunet_bpe_merge(const lunet_bpe *t, int k, int *left, int *right,
                                  int64_t *count) {
  *left = *right = -1;
  if (count) *count = 0;
  if (k < 0 || k >= t->n_symbols - t->n_base) return -1;
  *left = t->pair[2 * k];
  *right = t->pair[2 * k + 1];
  if (count) *count = t->count[k];
  return t->n_base + k;
}

static inline const char *lunet_bpe_symbol(const lunet_bpe *t, int id, size_t *len) {
  *len = 0;
  if (id < 0 || id >= t->n_symbols) return NULL;
  *len = (size_t)(t->off[id + 1] - t->off[id]);
  return t->text + t->off[id];
}

static inline int64_t lunet_bpe_encode(const lunet_bpe *t, const char *text, size_t len,
                                       int32_t *ids, int64_t cap, char *err) {
  lunet_bpe_words_ seen = {0}; /* val: where the word's ids start in done[] */
  int32_t *done = NULL, word[LUNET_BPE_MAX_WORD];
  size_t n_done = 0, cap_done = 0;
  int64_t n = 0;
  for (size_t i = 0, e; i < len; i = e) {
    e = lunet_bpe_word_end_(text, len, i);
    int added;
    int64_t k = lunet_bpe_words_add_(&seen, text + i, (int32_t)(e - i), &added);
    if (k < 0) goto nomem;
    if (added) { /* a new word: encode it once */
      int m = lunet_bpe_encode_word_(t, text + i, (int)(e - i), word);
      int32_t *d = lunet_bpe_grow_(done, n_done + (size_t)m, &cap_done, sizeof *d);
      if (!d) goto nomem;
      done = d;
      seen.val[k] = (int64_t)n_done;
      memcpy(done + n_done, word, (size_t)m * sizeof *word);
      n_done += (size_t)m;
    }
    int64_t from = seen.val[k], to = (size_t)k + 1 < seen.n ? seen.val[k + 1] : (int64_t)n_done;
    for (int64_t j = from; j < to; j++, n++)
      if (n < cap) ids[n] = done[j];
  }
  free(done);
  lunet_bpe_words_free_(&seen);
  return n;
nomem:
  free(done);
  lunet_bpe_words_free_(&seen);
  return lunet_bpe_fail_(err, "out of memory encoding %zu bytes of text", len);
}

static inline int64_t lunet_bpe_decode(const lunet_bpe *t, const int32_t *ids, int64_t n,
                                       char *text, int64_t cap, char *err) {
  int64_t len = 0;
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->n_symbols)
      return lunet_bpe_fail_(
          err, "token id %d (position %lld) is outside the vocabulary, expected 0..%d", (int)ids[i],
          (long long)i, t->n_symbols - 1);
    int64_t m = t->off[ids[i] + 1] - t->off[ids[i]];
    if (len + m < cap) memcpy(text + len, t->text + t->off[ids[i]], (size_t)m);
    len += m;
  }
  if (len < cap) text[len] = '\0';
  return len;
}

/* ---- the file ------------------------------------------------------------- */

/* Writes s[0..n) with every byte outside printable ASCII and valid UTF-8,
** and the space and backslash, as \xHH. */
static inline void lunet_bpe_put_text_(FILE *f, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t c = (size_t)lunet_bpe_char_len_(u + i, n - i);
    if (c > 1)
      fwrite(s + i, 1, c, f);
    else if (u[i] > ' ' && u[i] < 0x7f && u[i] != '\\')
      fputc(u[i], f);
    else
      fprintf(f, "\\x%02x", u[i]);
    i += c;
  }
}

static inline int lunet_bpe_write_(const lunet_bpe *t, FILE *f) {
  fprintf(f, "lunet-bpe 1\nbase %s\nsymbols %d\n", t->base == LUNET_BPE_BYTES ? "bytes" : "chars",
          t->n_symbols);
  for (int i = 0; i < t->n_symbols; i++) {
    size_t len;
    const char *s = lunet_bpe_symbol(t, i, &len);
    fprintf(f, "%d ", i);
    lunet_bpe_put_text_(f, s, len);
    if (i >= t->n_base) {
      int k = i - t->n_base;
      fprintf(f, " = %d %d %lld", t->pair[2 * k], t->pair[2 * k + 1], (long long)t->count[k]);
    }
    fputc('\n', f);
  }
  if (ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0) return errno ? errno : EIO;
  return 0;
}

static inline int lunet_bpe_save(const lunet_bpe *t, const char *path, char *err) {
  if (!path || !*path)
    return lunet_bpe_fail_(err, "the path is empty; give the file to write, such as \"bpe.txt\"");
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return lunet_bpe_fail_(err, "%s: path too long (at most %zu bytes)", path, sizeof tmp - 5);
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return lunet_bpe_fail_(err,
                           "%s: cannot create %s: %s (does the folder exist and is it writable?)",
                           path, tmp, strerror(errno));
  errno = 0;
  int e = lunet_bpe_write_(t, f);
  if (fclose(f) != 0 && !e) e = errno;
  if (!e && rename(tmp, path) != 0) e = errno;
  if (!e) return 0;
  remove(tmp);
  return lunet_bpe_fail_(err,
                         "%s: writing it (through %s) failed: %s (is the disk full or the folder "
                         "read-only?)",
                         path, tmp, strerror(e));
}

/* The reader's place in the file, for messages. */
typedef struct lunet_bpe_reader_ {
  const char *path;
  char *p, *end; /* the unread bytes */
  int line;
  char *err;
} lunet_bpe_reader_;

static inline int lunet_bpe_bad_(lunet_bpe_reader_ *r, const char *what) {
  return lunet_bpe_fail_(r->err,
                         "%s:%d: %s; the file is not a tokenizer saved by tok:save, or it was "
                         "cut or edited (train and save it again)",
                         r->path, r->line, what);
}

/* The next line, NUL-terminated in place; NULL at the end of the file. */
static inline char *lunet_bpe_line_(lunet_bpe_reader_ *r) {
  if (r->p >= r->end) return NULL;
  char *s = r->p, *nl = memchr(s, '\n', (size_t)(r->end - s));
  if (!nl) nl = r->end;
  *nl = '\0';
  r->p = nl + 1;
  r->line++;
  return s;
}

/* Undoes lunet_bpe_put_text_ on s, in place; its length, or -1. */
static inline int lunet_bpe_unescape_(char *s) {
  int n = 0;
  for (char *p = s; *p; n++) {
    unsigned v;
    if (*p != '\\') {
      s[n] = *p++;
      continue;
    }
    if (p[1] != 'x' || !p[2] || !p[3] || sscanf(p + 2, "%2x", &v) != 1) return -1;
    s[n] = (char)v;
    p += 4;
  }
  return n;
}

/* Reads the symbol line of id i into t: "ID TEXT" or "ID TEXT = LEFT RIGHT COUNT". */
static inline int lunet_bpe_read_symbol_(lunet_bpe_reader_ *r, lunet_bpe *t, int i, int *merges) {
  char *s = lunet_bpe_line_(r), *text, *rest;
  if (!s) return lunet_bpe_bad_(r, "the file ends before its last symbol");
  long id = strtol(s, &text, 10);
  if (id != i || *text != ' ' || !text[1])
    return lunet_bpe_bad_(r, "expected the symbol line \"ID TEXT\" of the next id");
  rest = strchr(++text, ' ');
  if (rest) *rest++ = '\0';
  int n = lunet_bpe_unescape_(text);
  if (n <= 0) return lunet_bpe_bad_(r, "a symbol's text is empty or has a bad \\x escape");
  if (!rest) {
    const unsigned char *u = (const unsigned char *)text;
    int ok = !*merges;
    if (t->base == LUNET_BPE_BYTES)
      ok = ok && n == 1 && u[0] == i;
    else if (i == 0)
      ok = ok && n == 3 && memcmp(text, "\xEF\xBF\xBD", 3) == 0;
    else
      ok = ok && lunet_bpe_char_len_(u, (size_t)n) == n &&
           (i == 1 || lunet_bpe_char_key_(u, n) >
                          lunet_bpe_char_key_((const unsigned char *)t->text + t->off[i - 1],
                                              (int)(t->off[i] - t->off[i - 1])));
    if (!ok)
      return lunet_bpe_bad_(
          r,
          t->base == LUNET_BPE_BYTES
              ? "expected byte ID as base symbol ID (ids 0..255)"
              : "expected the unknown symbol \\xef\\xbf\\xbd as id 0, then one character a line, "
                "in increasing order, before the merges");
    int added;
    if (lunet_bpe_add_base_(t, text, (size_t)n) < 0 ||
        (t->base == LUNET_BPE_CHARS && i > 0 &&
         !lunet_bpe_map_put_(&t->chars, lunet_bpe_char_key_(u, n), i, &added)))
      return lunet_bpe_fail_(r->err, "%s: out of memory loading it", r->path);
    return 0;
  }
  long left, right;
  long long count;
  char tail;
  if (sscanf(rest, "= %ld %ld %lld %c", &left, &right, &count, &tail) != 3 || left < 0 ||
      right < 0 || left >= i || right >= i || count < 0)
    return lunet_bpe_bad_(
        r, "expected a merge line \"ID TEXT = LEFT RIGHT COUNT\" joining two earlier ids");
  size_t nl = 0, nr = 0;
  const char *a = lunet_bpe_symbol(t, (int)left, &nl), *b = lunet_bpe_symbol(t, (int)right, &nr);
  if ((size_t)n != nl + nr || memcmp(text, a, nl) != 0 || memcmp(text + nl, b, nr) != 0)
    return lunet_bpe_bad_(r, "a merge's text is not its two parts' texts joined");
  if (t->base == LUNET_BPE_BYTES && t->n_base != 256)
    return lunet_bpe_bad_(r, "expected the 256 bytes before the merges");
  if (lunet_bpe_add_merge_(t, (int32_t)left, (int32_t)right, count) < 0)
    return lunet_bpe_fail_(r->err, "%s: out of memory loading it", r->path);
  *merges = 1;
  return 0;
}

static inline lunet_bpe *lunet_bpe_parse_(lunet_bpe_reader_ *r) {
  char *s = lunet_bpe_line_(r), base[16];
  int n = 0, merges = 0;
  if (!s || strcmp(s, "lunet-bpe 1") != 0)
    return lunet_bpe_bad_(r, "expected the first line \"lunet-bpe 1\""), NULL;
  s = lunet_bpe_line_(r);
  lunet_bpe_base b = LUNET_BPE_CHARS;
  if (!s || sscanf(s, "base %15s", base) != 1 || lunet_bpe_base_parse(base, &b, NULL))
    return lunet_bpe_bad_(r, "expected \"base chars\" or \"base bytes\""), NULL;
  s = lunet_bpe_line_(r);
  if (!s || sscanf(s, "symbols %d", &n) != 1 || n < (b == LUNET_BPE_BYTES ? 256 : 1))
    return lunet_bpe_bad_(r, "expected \"symbols N\", N at least the base alphabet's size"), NULL;
  /* Room for the n symbols, but for no more than the rest of the file has
  ** lines ("ID TEXT\n": 4 bytes or more), so that a corrupt count cannot
  ** ask for gigabytes: a file too short for its count fails in the loop. */
  size_t most = (size_t)(r->end - r->p + 1) / 4 + 1;
  lunet_bpe *t = lunet_bpe_new_(b, (size_t)n < most ? n : (int)most);
  if (!t) return lunet_bpe_fail_(r->err, "%s: out of memory loading %d symbols", r->path, n), NULL;
  for (int i = 0; i < n; i++) {
    if (lunet_bpe_read_symbol_(r, t, i, &merges) == 0) continue;
    lunet_bpe_free(t);
    return NULL;
  }
  while ((s = lunet_bpe_line_(r)) && !*s) {
  }
  if (!s) return t;
  lunet_bpe_free(t);
  return lunet_bpe_bad_(r, "text after the last symbol"), NULL;
}

static inline char *lunet_bpe_read_file(const char *path, size_t *len, char *err) {
  if (!path || !*path)
    return lunet_bpe_fail_(err, "the path is empty; give the file to read"), NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return lunet_bpe_fail_(err, "%s: cannot open it: %s (is the path right?)", path,
                           strerror(errno)),
           NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0, got = 0;
  do {
    if (n + 1 >= cap) {
      char *p = realloc(buf, cap = 2 * cap + 65536);
      if (!p) break;
      buf = p;
    }
    n += got = fread(buf + n, 1, cap - n - 1, f);
  } while (got > 0);
  int bad = ferror(f) || !buf || n + 1 >= cap;
  fclose(f);
  if (bad) {
    free(buf);
    return lunet_bpe_fail_(err, "%s: cannot read it (a folder? out of memory?)", path), NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static inline lunet_bpe *lunet_bpe_load(const char *path, char *err) {
  size_t len;
  char *buf = lunet_bpe_read_file(path, &len, err);
  if (!buf) return NULL;
  lunet_bpe_reader_ r = {path, buf, buf + len, 0, err};
  lunet_bpe *t = lunet_bpe_parse_(&r);
  free(buf);
  return t;
}

#endif /* LUNET_BPE_H */
