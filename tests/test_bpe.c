/*
** test_bpe.c -- byte-pair encoding (include/lunet/bpe.h).
**
** The course's worked example, merge by merge; training checked against a
** naive reference written apart from the header (strings, every pair
** recounted at every merge, a dense count table); exact round trips over
** both base alphabets; the file format's round trip and its refusals; and
** the time to train on 1 MB.
*/
#include <criterion/criterion.h>

#include <lunet/bpe.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

static char err[LUNET_BPE_ERROR];

/* The course's dictionary as a text: each word as often as its frequency. */
static const char *course_words[] = {"hug", "pug", "pun", "bun", "hugs"};
static const int course_freq[] = {10, 5, 12, 4, 5};

static char *course_text(void) {
  static char text[512];
  text[0] = '\0';
  for (int w = 0; w < 5; w++)
    for (int k = 0; k < course_freq[w]; k++) {
      strcat(text, course_words[w]);
      strcat(text, " ");
    }
  return text;
}

/* The symbols of ids[0..n) joined by "," into buf. */
static const char *joined(const lunet_bpe *t, const int32_t *ids, int64_t n, char *buf) {
  buf[0] = '\0';
  for (int64_t i = 0; i < n; i++) {
    size_t len;
    const char *s = lunet_bpe_symbol(t, ids[i], &len);
    if (i) strcat(buf, ",");
    strncat(buf, s, len);
  }
  return buf;
}

/* The segmentation of `word` as "h,ug". */
static const char *segment(const lunet_bpe *t, const char *word, char *buf) {
  int32_t ids[64];
  int64_t n = lunet_bpe_encode(t, word, strlen(word), ids, 64, err);
  cr_assert_geq(n, 0, "%s", err);
  return joined(t, ids, n, buf);
}

/* The whole vocabulary, ids in order, as "a,b,..." (id 0, the unknown
** symbol, and the space left out: the course's vocabulary has neither). */
static const char *vocabulary(const lunet_bpe *t, char *buf) {
  int32_t ids[64];
  int n = 0;
  for (int i = 0; i < lunet_bpe_vocab_size(t); i++) {
    size_t len;
    const char *s = lunet_bpe_symbol(t, i, &len);
    if (i != lunet_bpe_unknown(t) && !(len == 1 && s[0] == ' ')) ids[n++] = i;
  }
  return joined(t, ids, n, buf);
}

Test(bpe, course_example_merge_by_merge) {
  const char *text = course_text();
  /* The course's tables: after 0, 1, 2, 3 merges, the vocabulary, the
  ** dictionary (each word's symbols) and the count of the pair merged. */
  static const char *vocab[] = {"b,g,h,n,p,s,u", "b,g,h,n,p,s,u,ug", "b,g,h,n,p,s,u,ug,un",
                                "b,g,h,n,p,s,u,ug,un,hug"};
  static const char *dict[4][5] = {
      {"h,u,g", "p,u,g", "p,u,n", "b,u,n", "h,u,g,s"},
      {"h,ug", "p,ug", "p,u,n", "b,u,n", "h,ug,s"},
      {"h,ug", "p,ug", "p,un", "b,un", "h,ug,s"},
      {"hug", "p,ug", "p,un", "b,un", "hug,s"},
  };
  static const char *merged[3][2] = {{"u", "g"}, {"u", "n"}, {"h", "ug"}};
  static const int64_t counts[3] = {20, 16, 15};
  const int n_base = 9; /* unknown, space, b g h n p s u */
  for (int m = 0; m <= 3; m++) {
    lunet_bpe *t = lunet_bpe_train(text, strlen(text), n_base + m, LUNET_BPE_CHARS, err);
    cr_assert_not_null(t, "%s", err);
    char buf[256];
    cr_assert_eq(lunet_bpe_n_base(t), n_base);
    cr_assert_eq(lunet_bpe_n_merges(t), m);
    cr_assert_str_eq(vocabulary(t, buf), vocab[m], "after %d merges", m);
    for (int w = 0; w < 5; w++)
      cr_assert_str_eq(segment(t, course_words[w], buf), dict[m][w], "%s after %d merges",
                       course_words[w], m);
    for (int k = 0; k < m; k++) {
      int left, right;
      int64_t count;
      size_t nl, nr;
      cr_assert_eq(lunet_bpe_merge(t, k, &left, &right, &count), n_base + k);
      const char *l = lunet_bpe_symbol(t, left, &nl), *r = lunet_bpe_symbol(t, right, &nr);
      cr_assert(nl == strlen(merged[k][0]) && !memcmp(l, merged[k][0], nl), "merge %d left", k);
      cr_assert(nr == strlen(merged[k][1]) && !memcmp(r, merged[k][1], nr), "merge %d right", k);
      cr_assert_eq(count, counts[k], "merge %d counted %lld, course %lld", k, (long long)count,
                   (long long)counts[k]);
    }
    if (m == 3) {
      cr_assert_str_eq(segment(t, "bug", buf), "b,ug");
      int32_t ids[8];
      cr_assert_eq(lunet_bpe_encode(t, "x", 1, ids, 8, err), 1); /* never seen */
      cr_assert_eq(ids[0], lunet_bpe_unknown(t));
      cr_assert_eq(lunet_bpe_encode(t, "bugx", 4, ids, 8, err), 3);
      cr_assert_eq(ids[2], 0);
      cr_assert_eq(ids[1], n_base); /* ug */
    }
    lunet_bpe_free(t);
  }
}

/* ---- the naive reference --------------------------------------------- */

#define REF_MAX_SYM 512
#define REF_MAX_WORDS 4096

/* Symbols as strings; words as arrays of symbol ids with a count. Every
** merge recounts every pair into a dense table and scans it for the largest
** count, the smaller (left, right) first among equals. */
typedef struct ref {
  char sym[REF_MAX_SYM][256];
  int n_sym, n_base;
  char word[REF_MAX_WORDS][130];
  int count[REF_MAX_WORDS], n_words;
  int seg[REF_MAX_WORDS][130], len[REF_MAX_WORDS];
  int left[REF_MAX_SYM], right[REF_MAX_SYM];
  long long merged[REF_MAX_SYM];
} ref;

static int ref_is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The text's words (runs of one kind; the test texts keep them short), each
** counted; `bytes` or valid UTF-8 characters as base symbols. */
static void ref_words(ref *r, const char *text, int bytes) {
  for (const char *p = text; *p;) {
    const char *q = p;
    while (*q && ref_is_space(*q) == ref_is_space(*p)) q++;
    cr_assert_lt(q - p, 128, "test text: words shorter than LUNET_BPE_MAX_WORD");
    int w = 0;
    while (w < r->n_words &&
           (strlen(r->word[w]) != (size_t)(q - p) || strncmp(r->word[w], p, (size_t)(q - p))))
      w++;
    if (w == r->n_words) {
      cr_assert_lt(r->n_words, REF_MAX_WORDS);
      memcpy(r->word[w], p, (size_t)(q - p));
      r->word[w][q - p] = '\0';
      r->n_words++;
    }
    r->count[w]++;
    p = q;
  }
  char chars[REF_MAX_SYM][8];
  int n_chars = 0;
  for (int w = 0; w < r->n_words; w++) {
    for (const unsigned char *s = (const unsigned char *)r->word[w]; *s;) {
      int n = bytes || *s < 0x80 ? 1 : *s < 0xE0 ? 2 : *s < 0xF0 ? 3 : 4;
      char c[8] = {0};
      memcpy(c, s, (size_t)n);
      int k = 0;
      while (k < n_chars && strcmp(chars[k], c)) k++;
      if (k == n_chars) strcpy(chars[n_chars++], c);
      s += n;
    }
  }
  r->n_sym = 0;
  if (bytes) {
    for (int b = 0; b < 256; b++)
      r->sym[r->n_sym++][0] = (char)b; /* byte 0 reads as "" but never occurs */
  } else {
    strcpy(r->sym[r->n_sym++], "\xEF\xBF\xBD");
    qsort(chars, (size_t)n_chars, sizeof chars[0], (int (*)(const void *, const void *))strcmp);
    for (int k = 0; k < n_chars; k++) strcpy(r->sym[r->n_sym++], chars[k]);
  }
  r->n_base = r->n_sym;
  for (int w = 0; w < r->n_words; w++) { /* split each word into its base symbols */
    r->len[w] = 0;
    for (const unsigned char *s = (const unsigned char *)r->word[w]; *s;) {
      int n = bytes || *s < 0x80 ? 1 : *s < 0xE0 ? 2 : *s < 0xF0 ? 3 : 4, id = 0;
      while (strlen(r->sym[id]) != (size_t)n || strncmp(r->sym[id], (const char *)s, (size_t)n))
        id++;
      r->seg[w][r->len[w]++] = id;
      s += n;
    }
  }
}

static void ref_train(ref *r, int vocab) {
  static long long table[REF_MAX_SYM][REF_MAX_SYM];
  int n_base = r->n_base;
  while (r->n_sym < vocab) {
    memset(table, 0, sizeof table);
    for (int w = 0; w < r->n_words; w++)
      for (int i = 0; i + 1 < r->len[w]; i++) table[r->seg[w][i]][r->seg[w][i + 1]] += r->count[w];
    int a = -1, b = -1;
    for (int i = 0; i < r->n_sym; i++)
      for (int j = 0; j < r->n_sym; j++)
        if (table[i][j] > 0 && (a < 0 || table[i][j] > table[a][b])) a = i, b = j;
    if (a < 0) break;
    int id = r->n_sym++, k = id - n_base;
    r->left[k] = a;
    r->right[k] = b;
    r->merged[k] = table[a][b];
    char joined_text[512];
    snprintf(joined_text, sizeof joined_text, "%s%s", r->sym[a], r->sym[b]);
    cr_assert_lt(strlen(joined_text), sizeof r->sym[id]);
    strcpy(r->sym[id], joined_text);
    for (int w = 0; w < r->n_words; w++) {
      int j = 0;
      for (int i = 0; i < r->len[w]; j++) {
        if (i + 1 < r->len[w] && r->seg[w][i] == a && r->seg[w][i + 1] == b) {
          r->seg[w][j] = id;
          i += 2;
        } else {
          r->seg[w][j] = r->seg[w][i++];
        }
      }
      r->len[w] = j;
    }
  }
}

/* ~n bytes of made-up prose: Zipf-like words, punctuation, accents, CJK,
** an emoji, and runs of spaces and newlines. */
static char *prose(size_t n, uint32_t seed) {
  static const char *w[] = {"the",     "of",   "and",    "to",   "in",     "hacker",
                            "program", "café", "naïve",  "über", "日本語", "system",
                            "bug",     "hug",  "hugs",   "(see", "also)",  "user's",
                            "kernel",  "🎉",    "theory", "then", "there",  "other"};
  const int nw = (int)(sizeof w / sizeof w[0]);
  char *s = malloc(n + 64);
  size_t at = 0;
  while (at < n) {
    seed = seed * 1664525u + 1013904223u;
    int k = (int)((seed >> 8) % (uint32_t)nw);
    if ((seed >> 4) & 3) k %= 6; /* the first six words are common */
    at += (size_t)sprintf(s + at, "%s", w[k]);
    seed = seed * 1664525u + 1013904223u;
    int gap = (int)((seed >> 16) % 16);
    at += (size_t)sprintf(s + at, "%s",
                          gap == 0   ? "\n\n"
                          : gap == 1 ? ",  "
                          : gap == 2 ? ".\n"
                                     : " ");
  }
  s[at] = '\0';
  return s;
}

static void same_as_reference(lunet_bpe_base base, int vocab) {
  char *text = prose(20000, 7);
  static ref r;
  memset(&r, 0, sizeof r);
  ref_words(&r, text, base == LUNET_BPE_BYTES);
  ref_train(&r, vocab);
  lunet_bpe *t = lunet_bpe_train(text, strlen(text), vocab, base, err);
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(lunet_bpe_n_base(t), r.n_base);
  cr_assert_eq(lunet_bpe_vocab_size(t), r.n_sym, "symbols: bpe.h %d, reference %d",
               lunet_bpe_vocab_size(t), r.n_sym);
  cr_assert_gt(lunet_bpe_n_merges(t), 100, "the test should exercise many merges");
  for (int k = 0; k < lunet_bpe_n_merges(t); k++) {
    int left, right;
    int64_t count;
    lunet_bpe_merge(t, k, &left, &right, &count);
    cr_assert(left == r.left[k] && right == r.right[k] && count == r.merged[k],
              "merge %d: bpe.h (%d, %d) x%lld, reference (%d, %d) x%lld", k, left, right,
              (long long)count, r.left[k], r.right[k], r.merged[k]);
    size_t len;
    const char *s = lunet_bpe_symbol(t, lunet_bpe_n_base(t) + k, &len);
    cr_assert(len == strlen(r.sym[r.n_base + k]) && !memcmp(s, r.sym[r.n_base + k], len));
  }
  /* Encoding a training word gives the segmentation training left. */
  for (int w = 0; w < r.n_words; w++) {
    int32_t ids[130];
    int64_t n = lunet_bpe_encode(t, r.word[w], strlen(r.word[w]), ids, 130, err);
    cr_assert_eq(n, r.len[w], "word \"%s\"", r.word[w]);
    for (int i = 0; i < n; i++)
      cr_assert_eq(ids[i], r.seg[w][i], "word \"%s\" symbol %d", r.word[w], i);
  }
  lunet_bpe_free(t);
  free(text);
}

Test(bpe, chars_same_merges_as_naive_reference) { same_as_reference(LUNET_BPE_CHARS, 320); }
Test(bpe, bytes_same_merges_as_naive_reference) { same_as_reference(LUNET_BPE_BYTES, 480); }

/* ---- round trips -------------------------------------------------------- */

static void round_trip(const lunet_bpe *t, const char *s, size_t len) {
  int32_t *ids = malloc(sizeof(int32_t) * (len + 1));
  int64_t n = lunet_bpe_encode(t, s, len, ids, (int64_t)len, err);
  cr_assert_geq(n, 0, "%s", err);
  cr_assert_leq(n, (int64_t)len, "never more ids than bytes");
  char *back = malloc(len + 1);
  int64_t m = lunet_bpe_decode(t, ids, n, back, (int64_t)len + 1, err);
  cr_assert_eq(m, (int64_t)len, "decode(encode(s)) has %lld bytes, s %zu", (long long)m, len);
  cr_assert(memcmp(back, s, len) == 0 && back[len] == '\0', "decode(encode(s)) != s");
  free(ids);
  free(back);
}

Test(bpe, round_trip_chars) {
  char *text = prose(30000, 3);
  lunet_bpe *t = lunet_bpe_train(text, strlen(text), 400, LUNET_BPE_CHARS, err);
  cr_assert_not_null(t, "%s", err);
  round_trip(t, text, strlen(text));
  round_trip(t, "", 0);
  const char *s = "  naïve\n\n\n   日本語🎉 café  ,  \n";
  round_trip(t, s, strlen(s));
  char long_word[800]; /* past LUNET_BPE_MAX_WORD: cut into pieces, still exact */
  for (int i = 0; i < 100; i++) memcpy(long_word + 8 * i, "über日", 8);
  round_trip(t, long_word, 800);
  /* Unseen characters become the unknown symbol, decoded as U+FFFD. */
  int32_t ids[16];
  char back[64];
  int64_t n = lunet_bpe_encode(t, "the\tQ", 5, ids, 16, err);
  cr_assert_eq(n, 3, "the, \\t, Q: %lld ids", (long long)n);
  cr_assert(ids[1] == 0 && ids[2] == 0);
  cr_assert_eq(lunet_bpe_decode(t, ids, n, back, sizeof back, err), 9);
  cr_assert_str_eq(back, "the\xEF\xBF\xBD\xEF\xBF\xBD");
  lunet_bpe_free(t);
  free(text);
}

Test(bpe, round_trip_bytes_any_input) {
  char *text = prose(30000, 5);
  lunet_bpe *t = lunet_bpe_train(text, strlen(text), 600, LUNET_BPE_BYTES, err);
  cr_assert_not_null(t, "%s", err);
  round_trip(t, text, strlen(text));
  round_trip(t, "", 0);
  const char bad[] =
      "\xff\xfe\xc3(\xed\xa0\x80 \x00\x01\t\t\r\n the\xe6\x97"; /* invalid UTF-8, NUL */
  round_trip(t, bad, sizeof bad - 1);
  char all[512];
  for (int i = 0; i < 512; i++) all[i] = (char)(i * 7);
  round_trip(t, all, sizeof all);
  lunet_bpe_free(t);
  free(text);
}

Test(bpe, chars_keep_invalid_bytes_seen_in_training) {
  const char text[] = "a\xff"
                      "b a\xff"
                      "b \xc3\xa9\xc3";
  lunet_bpe *t = lunet_bpe_train(text, sizeof text - 1, 100, LUNET_BPE_CHARS, err);
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(lunet_bpe_n_base(t), 7, "unknown, space, a, b, \\xc3, é, \\xff");
  round_trip(t, text, sizeof text - 1);
  lunet_bpe_free(t);
}

Test(bpe, encode_and_decode_report_the_room_they_need) {
  lunet_bpe *t = lunet_bpe_train(course_text(), strlen(course_text()), 12, LUNET_BPE_CHARS, err);
  int32_t ids[8] = {-7, -7, -7, -7, -7, -7, -7, -7};
  cr_assert_eq(lunet_bpe_encode(t, "pug hugs", 8, ids, 2, err), 5, "p ug _ hug s");
  cr_assert(ids[0] == 6 && ids[1] == 9 && ids[2] == -7, "only cap = 2 ids written");
  cr_assert_eq(lunet_bpe_encode(t, "pug hugs", 8, ids, 8, err), 5);
  char text[16];
  memset(text, '#', sizeof text);
  cr_assert_eq(lunet_bpe_decode(t, ids, 5, text, 4, err), 8, "the length, though it does not fit");
  cr_assert(text[4] == '#', "nothing past cap");
  cr_assert_eq(lunet_bpe_decode(t, ids, 5, text, 9, err), 8);
  cr_assert_str_eq(text, "pug hugs");
  ids[3] = 12;
  cr_assert_eq(lunet_bpe_decode(t, ids, 5, text, 16, err), -1);
  cr_assert_str_eq(err, "token id 12 (position 3) is outside the vocabulary, expected 0..11");
  lunet_bpe_free(t);
}

Test(bpe, errors_say_what_was_expected) {
  cr_assert_null(lunet_bpe_train("abc", 3, 200, LUNET_BPE_BYTES, err));
  cr_assert(strstr(err, "vocab = 200") && strstr(err, "expected vocab >= 256"), "%s", err);
  cr_assert_null(lunet_bpe_train("abc", 3, 3, LUNET_BPE_CHARS, err));
  cr_assert(strstr(err, "expected vocab >= 4"), "%s", err);
  cr_assert_null(lunet_bpe_train("abc", 3, 0, LUNET_BPE_CHARS, err));
  cr_assert(strstr(err, "vocab = 0"), "%s", err);
  lunet_bpe_base b;
  cr_assert_eq(lunet_bpe_base_parse("utf8", &b, err), -1);
  cr_assert_str_eq(err, "base = \"utf8\", expected \"chars\" or \"bytes\"");
  cr_assert_eq(lunet_bpe_base_parse("bytes", &b, err), 0);
  cr_assert_eq(b, LUNET_BPE_BYTES);
  /* Fewer pairs than asked for: training stops when none is left. */
  lunet_bpe *t = lunet_bpe_train("ab ab", 5, 1000, LUNET_BPE_CHARS, err);
  cr_assert_eq(lunet_bpe_vocab_size(t), 5, "unknown, space, a, b, ab");
  lunet_bpe_free(t);
  t = lunet_bpe_train("", 0, 10, LUNET_BPE_CHARS, err);
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(lunet_bpe_vocab_size(t), 1, "just the unknown symbol");
  lunet_bpe_free(t);
}

/* ---- the file ------------------------------------------------------------- */

static char dir[64];

static void make_dir(void) {
  strcpy(dir, "/tmp/lunet-bpe-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void) {
  char path[128];
  static const char *names[] = {"tok.txt", "tok.txt.tmp", "bad.txt", "again.txt"};
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

static const char *in_dir(const char *name) {
  static char path[2][128];
  static int next;
  char *p = path[next++ % 2];
  snprintf(p, 128, "%s/%s", dir, name);
  return p;
}

static char *slurp(const char *path, size_t *len) {
  char *s = lunet_bpe_read_file(path, len, err);
  cr_assert_not_null(s, "%s", err);
  return s;
}

static void spit(const char *path, const char *s, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(s, 1, len, f), len);
  fclose(f);
}

Test(bpe, the_course_example_file_reads_as_documented, .init = make_dir, .fini = remove_dir) {
  lunet_bpe *t = lunet_bpe_train(course_text(), strlen(course_text()), 12, LUNET_BPE_CHARS, err);
  cr_assert_eq(lunet_bpe_save(t, in_dir("tok.txt"), err), 0, "%s", err);
  size_t len;
  char *s = slurp(in_dir("tok.txt"), &len);
  cr_assert_str_eq(s,
                   "lunet-bpe 1\nbase chars\nsymbols 12\n0 \xEF\xBF\xBD\n1 \\x20\n2 b\n3 g\n4 h\n"
                   "5 n\n6 p\n7 s\n8 u\n9 ug = 8 3 20\n10 un = 8 5 16\n11 hug = 4 9 15\n");
  cr_assert_eq(access(in_dir("tok.txt.tmp"), F_OK), -1, "no temporary file left");
  free(s);
  lunet_bpe_free(t);
}

Test(bpe, save_and_load_give_the_same_tokenizer, .init = make_dir, .fini = remove_dir) {
  char *text = prose(30000, 11);
  size_t n = strlen(text);
  for (int base = 0; base < 2; base++) {
    lunet_bpe *t = lunet_bpe_train(text, n, 500, (lunet_bpe_base)base, err);
    cr_assert_eq(lunet_bpe_save(t, in_dir("tok.txt"), err), 0, "%s", err);
    lunet_bpe *u = lunet_bpe_load(in_dir("tok.txt"), err);
    cr_assert_not_null(u, "%s", err);
    cr_assert_eq(lunet_bpe_base_of(u), (lunet_bpe_base)base);
    cr_assert_eq(lunet_bpe_vocab_size(u), lunet_bpe_vocab_size(t));
    cr_assert_eq(lunet_bpe_n_base(u), lunet_bpe_n_base(t));
    for (int k = 0; k < lunet_bpe_n_merges(t); k++) {
      int a, b, c, d;
      int64_t x, y;
      lunet_bpe_merge(t, k, &a, &b, &x);
      lunet_bpe_merge(u, k, &c, &d, &y);
      cr_assert(a == c && b == d && x == y, "merge %d", k);
    }
    int32_t *i1 = malloc(4 * n), *i2 = malloc(4 * n);
    const char *probe = text + n / 2; /* and unseen characters */
    int64_t n1 = lunet_bpe_encode(t, probe, strlen(probe), i1, (int64_t)n, err);
    int64_t n2 = lunet_bpe_encode(u, probe, strlen(probe), i2, (int64_t)n, err);
    cr_assert(n1 == n2 && !memcmp(i1, i2, 4 * (size_t)n1), "the same ids");
    /* Saving the loaded one writes the same bytes. */
    cr_assert_eq(lunet_bpe_save(u, in_dir("again.txt"), err), 0, "%s", err);
    size_t l1, l2;
    char *f1 = slurp(in_dir("tok.txt"), &l1), *f2 = slurp(in_dir("again.txt"), &l2);
    cr_assert(l1 == l2 && !memcmp(f1, f2, l1));
    free(f1);
    free(f2);
    free(i1);
    free(i2);
    lunet_bpe_free(t);
    lunet_bpe_free(u);
  }
  free(text);
}

/* Loads `content` from bad.txt and expects an error holding `want`. */
static void refused(const char *content, const char *want) {
  spit(in_dir("bad.txt"), content, strlen(content));
  cr_assert_null(lunet_bpe_load(in_dir("bad.txt"), err), "loaded: %s", content);
  cr_assert(strstr(err, in_dir("bad.txt")), "the message names the file: %s", err);
  cr_assert(strstr(err, want), "expected \"%s\" in: %s", want, err);
}

Test(bpe, a_damaged_file_is_refused_naming_it, .init = make_dir, .fini = remove_dir) {
  const char *good = "lunet-bpe 1\nbase chars\nsymbols 5\n0 \xEF\xBF\xBD\n1 a\n2 b\n3 ab = 1 2 7\n"
                     "4 aba = 3 1 2\n";
  spit(in_dir("bad.txt"), good, strlen(good));
  lunet_bpe *t = lunet_bpe_load(in_dir("bad.txt"), err);
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(lunet_bpe_vocab_size(t), 5);
  lunet_bpe_free(t);
  refused("lunet-bpe 2\n", ":1: expected the first line \"lunet-bpe 1\"");
  refused("lunet-bpe 1\nbase words\n", ":2: expected \"base chars\" or \"base bytes\"");
  refused("lunet-bpe 1\nbase chars\nsymbols 5\n0 \xEF\xBF\xBD\n1 a\n2 b\n3 ab = 1 2 7\n",
          ":7: the file ends before its last symbol");
  refused("lunet-bpe 1\nbase chars\nsymbols 4\n0 \xEF\xBF\xBD\n1 a\n2 b\n3 ba = 1 2 7\n",
          ":7: a merge's text is not its two parts' texts joined");
  refused("lunet-bpe 1\nbase chars\nsymbols 4\n0 \xEF\xBF\xBD\n1 a\n2 b\n3 ab = 1 3 7\n",
          ":7: expected a merge line");
  refused("lunet-bpe 1\nbase chars\nsymbols 3\n0 \xEF\xBF\xBD\n1 b\n2 a\n",
          ":6: expected the unknown symbol");
  refused("lunet-bpe 1\nbase chars\nsymbols 3\n0 \xEF\xBF\xBD\n2 a\n",
          ":5: expected the symbol line");
  refused("lunet-bpe 1\nbase chars\nsymbols 2\n0 \xEF\xBF\xBD\n1 \\xZZ\n",
          ":5: a symbol's text is empty or has a bad");
  refused("lunet-bpe 1\nbase bytes\nsymbols 256\n0 \\x00\n1 \\x02\n", ":5: expected byte ID");
  refused("lunet-bpe 1\nbase chars\nsymbols 2\n0 \xEF\xBF\xBD\n1 a\n1 a\n",
          ":6: text after the last symbol");
  cr_assert(strstr(err, "save it again"), "with what to do: %s", err);
  cr_assert_null(lunet_bpe_load(in_dir("absent.txt"), err));
  cr_assert(strstr(err, "absent.txt: cannot open it: No such file"), "%s", err);
  cr_assert_null(lunet_bpe_load(dir, err), "a folder");
  cr_assert(strstr(err, "cannot read it"), "%s", err);
  t = lunet_bpe_train("ab", 2, 10, LUNET_BPE_CHARS, err);
  cr_assert_eq(lunet_bpe_save(t, "/nonexistent-lunet-dir/tok.txt", err), -1);
  cr_assert(strstr(err, "/nonexistent-lunet-dir/tok.txt: cannot create") &&
                strstr(err, "does the folder exist"),
            "%s", err);
  lunet_bpe_free(t);
}

/* ---- cost ----------------------------------------------------------------- */

/* ~n bytes of 20000 made-up words of 1 to 4 syllables, drawn by Zipf's
** law (word k about as often as 1 / k), as English words are. */
static char *zipf_text(size_t n, uint32_t seed) {
  static const char *syl[] = {"th", "e",  "an",  "in", "er", "on", "re",   "at",
                              "ou", "st", "ing", "al", "b",  "k",  "ment", "pro",
                              "qu", "x",  "y",   "ze", "or", "is", "ly",   "ed"};
  char *s = malloc(n + 64);
  size_t at = 0;
  while (at < n) {
    seed = seed * 1664525u + 1013904223u;
    uint32_t k = (uint32_t)exp((seed >> 8) / 16777216.0 * log(20000.0)), h = k * 2654435761u;
    for (uint32_t i = 0, m = 1 + h % 4; i < m; i++, h /= 24)
      at += (size_t)sprintf(s + at, "%s", syl[h % 24]);
    s[at++] = k % 11 == 0 ? '\n' : ' ';
  }
  s[at] = '\0';
  return s;
}

Test(bpe, a_megabyte_trains_in_seconds) {
  char *text = zipf_text(1 << 20, 13);
  size_t n = strlen(text);
  clock_t t0 = clock();
  lunet_bpe *t = lunet_bpe_train(text, n, 3000, LUNET_BPE_BYTES, err);
  double train = (double)(clock() - t0) / CLOCKS_PER_SEC;
  cr_assert_not_null(t, "%s", err);
  cr_assert_eq(lunet_bpe_vocab_size(t), 3000);
  int32_t *ids = malloc(4 * n);
  t0 = clock();
  int64_t m = lunet_bpe_encode(t, text, n, ids, (int64_t)n, err);
  double encode = (double)(clock() - t0) / CLOCKS_PER_SEC;
  cr_assert_gt(m, 0);
  cr_log_info("1 MB, 3000 symbols: train %.2f s, encode %.2f s", train, encode);
  cr_assert_lt(train, 20.0, "training took %.1f s (a build with sanitizers is the slowest)", train);
  cr_assert_lt(encode, 20.0, "encoding took %.1f s", encode);
  free(ids);
  free(text);
  lunet_bpe_free(t);
}
