/*
** text.c -- language-model data: a UTF-8 text (or a stream of random
** digits) cut into tokens, then into windows of seq_len = T tokens. Sample
** x holds T token ids (int32, from 0), y the T next ids (float32 targets),
** so that y[t] = x[t + 1] and the model predicts each next token.
**
** Tokens (`level`):
**   char  one token per character (code point); the file must be UTF-8.
**   word  a word is a maximal run of word characters: ASCII letters and
**         digits, and every character from U+00C0 on except the symbol
**         blocks (x and / of Latin-1, U+2000..U+2BFF: punctuation, arrows,
**         maths, box drawing; U+3000..U+303F: CJK punctuation). An
**         apostrophe (' or U+2019) between two word characters stays in the
**         word ("don't"). Any other character that is not white space is a
**         token of its own (",", "(", U+201C); white space separates and is
**         dropped. Case is kept. "<unk>" in the text is the unknown token.
**   bpe   byte-pair encoding as lunet/bpe.h (its words keep white space),
**         over the base alphabet `bpe_base`: bytes (any file) or chars.
** The vocabulary is built from the train part for all three splits, so
** that ids agree: at char and word level id 0 is the unknown token (decoded
** as U+FFFD at char level, "<unk>" at word level), then the tokens of the
** train part by falling count (ties in byte order), at most `vocab` in all
** (0: every one); a token not kept, or not seen in train, reads as unknown.
** decode(encode(s)) == s at char level (when every character was seen in
** train) and at bpe level with bytes; at word level decode joins tokens with
** single spaces, so only the tokens come back, not the spacing.
**
** Splits are by position: the first 90% of the file's bytes are train, the
** next 5% valid, the last 5% test (each cut moved forward to the start of a
** character; a word cut there counts as two). Windows start every `stride`
** tokens. With streams = B > 0 the split's tokens are cut into B contiguous
** streams and sample k is window k / B of stream k % B: batches of B
** samples taken in order continue each other row for row, as truncated
** BPTT over a stream wants.
**
** digits = true: instead of a file, n uniformly random decimal digits from
** `seed`; the vocabulary is exactly "0".."9", so the best model's
** perplexity is 10 (the course's "perplexity of random digits").
**
** Files are read through zlib, so a gzip file reads as its contents. The
** default corpus is Debian's jargon-text (the Jargon File 4.4.7, public
** domain): /usr/share/doc/jargon-text/jargon.txt.gz, else jargon.txt.gz
** found by host->find_data("text", ...) under $LUNET_DATA_DIR.
**
** Memory is plain malloc, as lunet/bpe.h's: the growing tables want realloc,
** which the host services lack, and nothing here runs in a training step.
*/
#include <errno.h>
#include <stdlib.h>

#include <zlib.h>
#include <lunet/bpe.h>
#include <lunet/helpers.h>

#define DEFAULT_CORPUS "/usr/share/doc/jargon-text/jargon.txt.gz"
#define DEFAULT_BPE_VOCAB 512
#define MAX_VOCAB (1 << 24) /* ids stay exact as float32 targets */

enum { P_FILE, P_LEVEL, P_VOCAB, P_SEQ_LEN, P_SPLIT, P_STRIDE, P_STREAMS, P_DIGITS, P_N, P_SEED,
       P_BPE_BASE };

static const lunet_param_decl params[] = {
  [P_FILE] = {"file", LUNET_STRING, 0, 0, 0, "", NULL,
              "UTF-8 text file, plain or gzip (\"\": the Jargon File of Debian's jargon-text)", 0},
  [P_LEVEL] = {"level", LUNET_STRING, 0, 0, 0, "char", "char|word|bpe",
               "tokens: characters, words (and punctuation), or byte-pair encoding", 0},
  [P_VOCAB] = {"vocab", LUNET_INT, 0, 0, MAX_VOCAB, NULL, NULL,
               "most tokens kept, <unk> included (0: all); bpe: its vocabulary (0: 512)", 0},
  [P_SEQ_LEN] = {"seq_len", LUNET_INT, 64, 1, 1 << 30, NULL, NULL,
                 "T: tokens per sample; y holds the T next tokens", 0},
  [P_SPLIT] = {"split", LUNET_STRING, 0, 0, 0, "train", "train|valid|test",
               "by position: the first 90% of the text, the next 5%, the last 5%", 0},
  [P_STRIDE] = {"stride", LUNET_INT, 0, 0, 1 << 30, NULL, NULL,
                "tokens between the starts of two windows (0: seq_len, no overlap)", 0},
  [P_STREAMS] = {"streams", LUNET_INT, 0, 0, 1 << 20, NULL, NULL,
                 "B > 0: sample k is window k/B of contiguous stream k%B (truncated BPTT)", 0},
  [P_DIGITS] = {"digits", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                "instead of a file, n uniformly random digits 0-9 (perplexity 10 at best)", 0},
  [P_N] = {"n", LUNET_INT, 100000, 2, 1e9, NULL, NULL, "digits: the length of the stream", 0},
  [P_SEED] = {"seed", LUNET_INT, 1, 0, 9007199254740992.0, NULL, NULL,
              "digits: the seed of the stream", 0},
  [P_BPE_BASE] = {"bpe_base", LUNET_STRING, 0, 0, 0, "bytes", "bytes|chars",
                  "bpe: base symbols, the 256 bytes or the characters seen (+ unknown)", 0},
};

enum { CHAR, WORD, BPE };

/* Token texts and their ids, char and word level: an open-addressing hash
** of byte strings kept back to back in one buffer. */
typedef struct vocab {
  char *text;           /* token i is text[start[i] .. start[i + 1]) */
  size_t len, text_cap; /* bytes used, allocated */
  size_t *start;        /* n + 1 offsets */
  int64_t *count;       /* occurrences, while counting */
  int n, cap;           /* tokens, room in start (less one) and count */
  int32_t *slot;        /* mask + 1 slots: a token id, or -1 */
  uint32_t mask;
} vocab;

typedef struct text {
  int level;
  vocab v;              /* char and word level */
  int32_t unk;          /* id of the unknown token; -1 when there is none (digits) */
  lunet_bpe *bpe;       /* bpe level */
  int64_t n_vocab;
  int32_t *ids;         /* the split's tokens */
  int64_t n_ids;
  int64_t T, stride, B, per_stream; /* B streams of per_stream tokens */
  int64_t windows;      /* per stream */
} text;

/* ---- UTF-8 and the word rule ------------------------------------------- */

/* Bytes of the UTF-8 character at s[0..n), 1 to 4, with its code point in
** *cp; 0 when the bytes there are not one (a stray continuation byte, an
** overlong form, a surrogate, past U+10FFFF, cut short). */
static int utf8_char(const unsigned char *s, size_t n, uint32_t *cp) {
  static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (n == 0) return 0;
  int len = s[0] < 0x80 ? 1 : s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
  if (len == 0 || (size_t)len > n) return 0;
  uint32_t c = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = c << 6 | (s[i] & 0x3F);
  }
  if (c < least[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

/* Offset of the first byte of s[0..n) that does not start a valid UTF-8
** character, or -1 when all of it is UTF-8. */
static int64_t utf8_invalid_at(const char *s, size_t n) {
  uint32_t cp;
  for (size_t i = 0; i < n;) {
    int k = utf8_char((const unsigned char *)s + i, n - i, &cp);
    if (!k) return (int64_t)i;
    i += (size_t)k;
  }
  return -1;
}

static int is_space(uint32_t c) {
  return c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xA0 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_word_char(uint32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  if (c < 0xC0 || c == 0xD7 || c == 0xF7) return 0;
  return !(c >= 0x2000 && c <= 0x2BFF) && !(c >= 0x3000 && c <= 0x303F);
}

/* Bytes of the character at s[0..n), n >= 1, and its code point in *c; a
** byte that starts no valid character counts as one, U+FFFD. */
static int step(const unsigned char *s, size_t n, uint32_t *c) {
  int k = utf8_char(s, n, c);
  if (k) return k;
  *c = 0xFFFD;
  return 1;
}

/* The next token of s[0..n) from *pos at `level` (CHAR or WORD): its bytes
** s[*start .. *start + *len), *pos moved past it; 0 at the end. */
static int next_token(int level, const char *s, size_t n, size_t *pos, size_t *start, size_t *len) {
  const unsigned char *u = (const unsigned char *)s;
  uint32_t c = 0, next;
  size_t i = *pos;
  int k = 0;
  while (i < n && (k = step(u + i, n - i, &c)) && level == WORD && is_space(c)) i += (size_t)k;
  if (i >= n) return 0;
  *start = i;
  if (level == WORD && n - i >= 5 && memcmp(s + i, "<unk>", 5) == 0) {
    i += 5;
  } else if (level == WORD && is_word_char(c)) {
    for (i += (size_t)k; i < n; i += (size_t)k) {
      k = step(u + i, n - i, &c);
      if (is_word_char(c)) continue;
      /* an apostrophe between two word characters: the loop steps over both */
      if ((c != '\'' && c != 0x2019) || i + (size_t)k >= n) break;
      int k2 = step(u + i + k, n - i - (size_t)k, &next);
      if (!is_word_char(next)) break;
      i += (size_t)k;
      k = k2;
    }
  } else {
    i += (size_t)k;
  }
  *len = i - *start;
  *pos = i;
  return 1;
}

/* ---- the vocabulary ---------------------------------------------------- */

static uint32_t hash_bytes(const char *p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
  return h;
}

static size_t vocab_len(const vocab *v, int id) { return v->start[id + 1] - v->start[id]; }

/* The slot that holds token p[0..n), or the empty slot where it would go. */
static uint32_t vocab_slot(const vocab *v, const char *p, size_t n) {
  uint32_t i = hash_bytes(p, n) & v->mask;
  for (; v->slot[i] >= 0; i = (i + 1) & v->mask) {
    int id = v->slot[i];
    if (vocab_len(v, id) == n && memcmp(v->text + v->start[id], p, n) == 0) break;
  }
  return i;
}

/* The id of token p[0..n), or -1. */
static int32_t vocab_find(const vocab *v, const char *p, size_t n) {
  return v->slot ? v->slot[vocab_slot(v, p, n)] : -1;
}

/* Doubles the slots (at least 64) and puts every token back. */
static int vocab_rehash(vocab *v) {
  uint32_t size = v->slot ? 2 * (v->mask + 1) : 64;
  int32_t *slot = malloc(sizeof *slot * size);
  if (!slot) return -1;
  free(v->slot);
  v->slot = slot;
  v->mask = size - 1;
  memset(slot, 0xFF, sizeof *slot * size); /* -1 */
  for (int id = 0; id < v->n; id++)
    slot[vocab_slot(v, v->text + v->start[id], vocab_len(v, id))] = id;
  return 0;
}

/* Room for one more token of n bytes. */
static int vocab_grow(vocab *v, size_t n) {
  if (!v->slot || 2 * (uint32_t)(v->n + 1) > v->mask + 1) {
    if (vocab_rehash(v)) return -1;
  }
  if (v->n + 1 > v->cap) {
    int cap = v->cap ? 2 * v->cap : 256;
    size_t *start = realloc(v->start, sizeof *start * (size_t)(cap + 1));
    if (start) v->start = start;
    int64_t *count = realloc(v->count, sizeof *count * (size_t)cap);
    if (count) v->count = count;
    if (!start || !count) return -1;
    if (v->cap == 0) v->start[0] = 0;
    v->cap = cap;
  }
  if (v->len + n > v->text_cap) {
    size_t cap = v->text_cap ? v->text_cap : 1024;
    while (cap < v->len + n) cap *= 2;
    char *t = realloc(v->text, cap);
    if (!t) return -1;
    v->text = t;
    v->text_cap = cap;
  }
  return 0;
}

/* The id of token p[0..n), added (count 0) when new; -1 out of memory. */
static int32_t vocab_add(vocab *v, const char *p, size_t n) {
  int32_t id = vocab_find(v, p, n);
  if (id >= 0) return id;
  if (v->n >= MAX_VOCAB || vocab_grow(v, n)) return -1;
  memcpy(v->text + v->len, p, n);
  v->len += n;
  id = v->n++;
  v->start[v->n] = v->len;
  v->count[id] = 0;
  v->slot[vocab_slot(v, p, n)] = id;
  return id;
}

static void vocab_free(vocab *v) {
  free(v->text);
  free(v->start);
  free(v->count);
  free(v->slot);
  memset(v, 0, sizeof *v);
}

/* A counted token, for sorting. */
typedef struct counted {
  const char *p;
  size_t len;
  int64_t count;
} counted;

/* Falling count, then byte order (a prefix first). */
static int by_count(const void *pa, const void *pb) {
  const counted *a = pa, *b = pb;
  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
  return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Counts the tokens of train[0..n) into `seen`. */
static int count_tokens(vocab *seen, int level, const char *train, size_t n) {
  size_t pos = 0, start, len;
  while (next_token(level, train, n, &pos, &start, &len)) {
    int32_t id = vocab_add(seen, train + start, len);
    if (id < 0) return -1;
    seen->count[id]++;
  }
  return 0;
}

/* The vocabulary of train[0..n): `unk_text` as id 0, then the tokens by
** falling count, `cap` in all (0: every one). */
static int build_vocab(vocab *v, int level, const char *train, size_t n, int64_t cap,
                       const char *unk_text) {
  vocab seen = {0};
  counted *order = NULL;
  int rc = -1;
  if (count_tokens(&seen, level, train, n)) goto done;
  if (!(order = malloc(sizeof *order * (size_t)(seen.n + 1)))) goto done;
  for (int i = 0; i < seen.n; i++)
    order[i] = (counted){seen.text + seen.start[i], vocab_len(&seen, i), seen.count[i]};
  qsort(order, (size_t)seen.n, sizeof *order, by_count);
  if (vocab_add(v, unk_text, strlen(unk_text)) < 0) goto done;
  for (int i = 0; i < seen.n && (cap == 0 || v->n < cap); i++)
    if (vocab_add(v, order[i].p, order[i].len) < 0) goto done;
  rc = 0;
done:
  free(order);
  vocab_free(&seen);
  if (rc) host->error("text: out of memory building the vocabulary");
  return rc;
}

/* ---- reading --------------------------------------------------------- */

/* The default corpus into path[0..size); 0, or -1 after an error. */
static int default_corpus(char *path, size_t size) {
  FILE *f = fopen(DEFAULT_CORPUS, "rb");
  if (f) {
    fclose(f);
    snprintf(path, size, "%s", DEFAULT_CORPUS);
    return 0;
  }
  if (host->find_data("text", "jargon.txt.gz", path, size) == 0) return 0;
  host->error("text: no file given, and the default corpus is missing: %s (apt-get install "
              "jargon-text), nor is jargon.txt.gz under $LUNET_DATA_DIR/text or $LUNET_DATA_DIR; "
              "give file = PATH of a UTF-8 text", DEFAULT_CORPUS);
  return -1;
}

/* The whole of `path` (gzip or plain) into *out, *len bytes; 0, or -1 after
** an error naming the file. */
static int read_file(const char *path, char **out, size_t *len) {
  gzFile f = gzopen(path, "rb");
  if (!f) {
    host->error("text: cannot open file '%s': %s; expected a UTF-8 text file (plain or gzip)", path,
                errno ? strerror(errno) : "out of memory");
    return -1;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0;
  int got, zerr = Z_OK;
  do {
    if (n + (1u << 20) > cap) {
      cap = cap ? 2 * cap : 1u << 22;
      char *b = realloc(buf, cap);
      if (!b) {
        zerr = Z_MEM_ERROR;
        break;
      }
      buf = b;
    }
    got = gzread(f, buf + n, 1u << 20);
    if (got > 0) n += (size_t)got;
  } while (got > 0);
  const char *msg = zerr == Z_MEM_ERROR ? "out of memory" : gzerror(f, &zerr);
  if (zerr != Z_OK) { /* before gzclose, which frees msg */
    host->error("text: cannot read file '%s': %s", path, msg);
    gzclose(f);
    free(buf);
    return -1;
  }
  gzclose(f);
  *out = buf;
  *len = n;
  return 0;
}

/* n random digits from `seed`: a fresh stream, one draw per digit. */
static char *random_digits(int64_t n, uint64_t seed) {
  char *s = malloc((size_t)n);
  lunet_rng rng;
  host->rng_seed(&rng, seed);
  for (int64_t i = 0; s && i < n; i++) s[i] = (char)('0' + host->rng_u64(&rng) % 10);
  if (!s) host->error("text: out of memory for %lld digits", (long long)n);
  return s;
}

/* ---- the token stream ---------------------------------------------------- */

/* Offset of the start of the character at or after byte `at` of s[0..n). */
static size_t char_boundary(const char *s, size_t n, size_t at) {
  while (at < n && ((unsigned char)s[at] & 0xC0) == 0x80) at++;
  return at;
}

/* The ids of s[0..n) at char or word level into ids[0..), which has room
** for n; returns how many, or -1 when a token is unknown and there is no
** unknown token (digits), after an error. */
static int64_t vocab_encode(const text *d, const char *s, size_t n, int32_t *ids, int64_t cap) {
  size_t pos = 0, start, len;
  int64_t k = 0;
  while (next_token(d->level, s, n, &pos, &start, &len)) {
    int32_t id = vocab_find(&d->v, s + start, len);
    if (id < 0 && d->unk < 0) {
      host->error("text: encode: '%.*s' at byte %zu is not a digit (digits = true: the vocabulary "
                  "is 0-9)", (int)len, s + start, start);
      return -1;
    }
    if (k < cap) ids[k] = id < 0 ? d->unk : id;
    k++;
  }
  return k;
}

/* The tokenizer of the train part train[0..n): a vocabulary, or BPE merges. */
static int make_tokenizer(text *d, const char *train, size_t n, const lunet_value *p) {
  int64_t cap = (int64_t)p[P_VOCAB].num;
  if (d->level == BPE) {
    char err[LUNET_BPE_ERROR];
    lunet_bpe_base base = LUNET_BPE_BYTES;
    if (lunet_bpe_base_parse(p[P_BPE_BASE].str, &base, err) ||
        !(d->bpe = lunet_bpe_train(train, n, cap ? (int)cap : DEFAULT_BPE_VOCAB, base, err))) {
      host->error("text: bpe: %s", err);
      return -1;
    }
    d->n_vocab = lunet_bpe_vocab_size(d->bpe);
    return 0;
  }
  if (cap == 1) {
    host->error("text: vocab = 1 leaves room for <unk> alone; expected 0 (every token) or at least 2");
    return -1;
  }
  if (build_vocab(&d->v, d->level, train, n, cap, d->level == WORD ? "<unk>" : "\xEF\xBF\xBD")) return -1;
  if (d->v.n == 1) {
    host->error("text: the train part holds no %s; expected some text", d->level == WORD ? "words" : "characters");
    return -1;
  }
  d->unk = 0;
  d->n_vocab = d->v.n;
  return 0;
}

/* The fixed vocabulary of digits = true: "0".."9" as ids 0..9. */
static int digit_vocab(text *d) {
  for (char c = '0'; c <= '9'; c++)
    if (vocab_add(&d->v, &c, 1) < 0) {
      host->error("text: out of memory");
      return -1;
    }
  d->unk = -1;
  d->n_vocab = 10;
  return 0;
}

/* The ids of the split's part s[0..n) into d->ids. */
static int encode_part(text *d, const char *s, size_t n) {
  char err[LUNET_BPE_ERROR];
  if (!(d->ids = malloc(sizeof *d->ids * (n ? n : 1)))) {
    host->error("text: out of memory for %zu tokens", n);
    return -1;
  }
  d->n_ids = d->level == BPE ? lunet_bpe_encode(d->bpe, s, n, d->ids, (int64_t)n, err)
                             : vocab_encode(d, s, n, d->ids, (int64_t)n);
  if (d->n_ids < 0 && d->level == BPE) host->error("text: bpe: %s", err);
  return d->n_ids < 0 ? -1 : 0;
}

/* Windows of T tokens (and the next one) every `stride` tokens in each of
** the B streams; an error when a stream is too short for one. */
static int make_windows(text *d, const char *split, const char *source) {
  d->per_stream = d->n_ids / d->B;
  if (d->per_stream < d->T + 1) {
    if (d->B > 1)
      host->error("text: streams = %lld cuts the %s split of %s (%lld tokens) into streams of %lld, "
                  "expected at least seq_len + 1 = %lld each; fewer streams or a smaller seq_len",
                  (long long)d->B, split, source, (long long)d->n_ids, (long long)d->per_stream,
                  (long long)d->T + 1);
    else
      host->error("text: the %s split of %s holds %lld tokens; seq_len = %lld needs at least %lld; a "
                  "smaller seq_len or a longer text", split, source, (long long)d->n_ids,
                  (long long)d->T, (long long)d->T + 1);
    return -1;
  }
  d->windows = (d->per_stream - d->T - 1) / d->stride + 1;
  return 0;
}

/* ---- the dataset ------------------------------------------------------- */

static void text_close(void *self) {
  text *d = self;
  if (!d) return;
  vocab_free(&d->v);
  lunet_bpe_free(d->bpe);
  free(d->ids);
  free(d);
}

/* The settings that do not fit together, or the file that is not UTF-8. */
static int check_source(const lunet_value *p, int level, const char *s, size_t n, const char *path) {
  if (p[P_DIGITS].num) {
    if (*p[P_FILE].str || level != CHAR || p[P_VOCAB].num) {
      host->error("text: digits = true makes its own stream of the 10 digits; expected no file, "
                  "level = \"char\" and vocab = 0");
      return -1;
    }
    return 0;
  }
  if (n == 0) {
    host->error("text: file '%s' is empty; expected UTF-8 text", path);
    return -1;
  }
  int64_t bad = level == BPE ? -1 : utf8_invalid_at(s, n);
  if (bad >= 0) {
    host->error("text: file '%s' is not UTF-8 at byte %lld (0x%02x); expected UTF-8 text (level = "
                "\"bpe\" with bpe_base = \"bytes\" takes any bytes)", path, (long long)bad,
                (unsigned char)s[bad]);
    return -1;
  }
  return 0;
}

static int parse_level(const char *name) {
  return strcmp(name, "word") == 0 ? WORD : strcmp(name, "bpe") == 0 ? BPE : CHAR;
}

/* The text of the file or the digits into *s, *n bytes, named in *source. */
static int load_source(const lunet_value *p, char *path, size_t size, char **s, size_t *n) {
  if (p[P_DIGITS].num) {
    *n = (size_t)p[P_N].num;
    snprintf(path, size, "digits");
    return (*s = random_digits((int64_t)*n, (uint64_t)p[P_SEED].num)) ? 0 : -1;
  }
  if (*p[P_FILE].str) snprintf(path, size, "%s", p[P_FILE].str);
  else if (default_corpus(path, size)) return -1;
  return read_file(path, s, n);
}

static void *text_open(const lunet_value *p, lunet_dataset_info *info) {
  char path[1024];
  char *s = NULL;
  size_t n = 0;
  text *d = calloc(1, sizeof *d);
  if (!d) {
    host->error("text: out of memory");
    return NULL;
  }
  d->level = parse_level(p[P_LEVEL].str);
  d->T = (int64_t)p[P_SEQ_LEN].num;
  d->stride = p[P_STRIDE].num ? (int64_t)p[P_STRIDE].num : d->T;
  d->B = p[P_STREAMS].num ? (int64_t)p[P_STREAMS].num : 1;
  if (load_source(p, path, sizeof path, &s, &n) || check_source(p, d->level, s, n, path)) goto fail;
  size_t cut[4] = {0, char_boundary(s, n, n / 10 * 9 + n % 10 * 9 / 10),
                   char_boundary(s, n, n / 20 * 19 + n % 20 * 19 / 20), n};
  int part = strcmp(p[P_SPLIT].str, "valid") == 0 ? 1 : strcmp(p[P_SPLIT].str, "test") == 0 ? 2 : 0;
  if (p[P_DIGITS].num ? digit_vocab(d) : make_tokenizer(d, s, cut[1], p)) goto fail;
  if (encode_part(d, s + cut[part], cut[part + 1] - cut[part])) goto fail;
  if (make_windows(d, p[P_SPLIT].str, path)) goto fail;
  free(s);
  info->n = d->windows * d->B;
  info->n_inputs = 1;
  info->input[0] = (lunet_shape){1, {(int32_t)d->T}};
  info->input_dtype[0] = LUNET_I32;
  info->target = (lunet_shape){1, {(int32_t)d->T}};
  info->classes = (int)d->n_vocab;
  if (LUNET_HAS_FIELD(info, lunet_dataset_info, vocab)) info->vocab = d->n_vocab;
  return d;
fail:
  free(s);
  text_close(d);
  return NULL;
}

/* Sample k: window k / B of stream k % B. */
static int text_get(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  const text *d = self;
  if (lunet_check_samples("text", idx, n, d->windows * d->B)) return -1;
  for (int i = 0; i < n; i++) {
    const int32_t *w = d->ids + idx[i] % d->B * d->per_stream + idx[i] / d->B * d->stride;
    int32_t *xi = x[0].i32 + (int64_t)i * d->T;
    float *yi = y->f32 + (int64_t)i * d->T;
    for (int64_t t = 0; t < d->T; t++) {
      xi[t] = w[t];
      yi[t] = (float)w[t + 1];
    }
  }
  return 0;
}

static int64_t text_encode(void *self, const char *s, size_t len, int32_t *ids, int64_t cap) {
  const text *d = self;
  if (d->level == BPE) {
    char err[LUNET_BPE_ERROR];
    int64_t k = lunet_bpe_encode(d->bpe, s, len, ids, cap, err);
    if (k < 0) host->error("text: encode: %s", err);
    return k;
  }
  int64_t bad = utf8_invalid_at(s, len);
  if (bad >= 0) {
    host->error("text: encode: the text is not UTF-8 at byte %lld (0x%02x)", (long long)bad,
                (unsigned char)s[bad]);
    return -1;
  }
  return vocab_encode(d, s, len, ids, cap);
}

/* Token texts back to back (word level: a space between two). */
static int64_t text_decode(void *self, const int32_t *ids, int64_t n, char *out, int64_t cap) {
  const text *d = self;
  if (d->level == BPE) {
    char err[LUNET_BPE_ERROR];
    int64_t k = lunet_bpe_decode(d->bpe, ids, n, out, cap, err);
    if (k < 0) host->error("text: decode: %s", err);
    return k;
  }
  int64_t len = 0;
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= d->v.n) {
      host->error("text: decode: id %d at position %lld, expected 0..%d", (int)ids[i], (long long)i,
                  d->v.n - 1);
      return -1;
    }
    size_t k = vocab_len(&d->v, ids[i]);
    if (d->level == WORD && i > 0) {
      if (len < cap) out[len] = ' ';
      len++;
    }
    if (len + (int64_t)k <= cap) memcpy(out + len, d->v.text + d->v.start[ids[i]], k);
    len += (int64_t)k;
  }
  if (len < cap) out[len] = '\0';
  return len;
}

static const lunet_dataset_api api = {
  .size = sizeof(lunet_dataset_api),
  .open = text_open,
  .close = text_close,
  .get = text_get,
  .encode = text_encode,
  .decode = text_decode,
};

LUNET_DATASET_PLUGIN(api, "text", "1.0.0",
                     "a UTF-8 text (or random digits) as windows of token ids with next-token targets",
                     LUNET_PARAMS(params))
