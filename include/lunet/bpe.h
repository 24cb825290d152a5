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
**     one word), as the course's space tokenisation does.
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
** from a heap; ~1 MB of English to a few thousand merges takes about a
** second. Encoding is linear in the text (times word length squared, words
** are short), with each distinct word encoded once per call.
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
**     0 \xef\xbf\xbd
**     1 \x20
**     2 b
**     ...
**     9 ug = 8 4 20
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* "chars" or "bytes" -> *base; 0, or -1 with an error listing both. */
static inline int lunet_bpe_base_parse(const char *name, lunet_bpe_base *base, char *err);

static inline void lunet_bpe_free(lunet_bpe *t); /* NULL is fine */

static inline lunet_bpe_base lunet_bpe_base_of(const lunet_bpe *t);
static inline int lunet_bpe_vocab_size(const lunet_bpe *t); /* all symbols: ids 0..size-1 */
static inline int lunet_bpe_n_base(const lunet_bpe *t);     /* base symbols (unknown included) */
static inline int lunet_bpe_unknown(const lunet_bpe *t);    /* 0 for chars, -1 for bytes */

/* The number of merges, and merge k (0-based, in the order learned): it
** joins *left and *right (ids) and makes the returned id, n_base + k.
** *count (may be NULL) is the pair's count when it was merged. */
static inline int lunet_bpe_n_merges(const lunet_bpe *t);
static inline int lunet_bpe_merge(const lunet_bpe *t, int k, int *left, int *right,
                                  int64_t *count);

/* The bytes symbol `id` stands for (not NUL-terminated), *len of them;
** NULL for an id outside 0..vocab_size-1. */
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

#endif /* LUNET_BPE_H */
