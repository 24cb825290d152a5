/*
** word2vec.h -- word vectors by skip-gram or CBOW with negative sampling
** (Mikolov et al. 2013), trained on a stream of token ids, and what one asks
** of them: cosine neighbours, analogies, a 2-D PCA of chosen words, and the
** word2vec text file.
*/
#ifndef LUNET_WORD2VEC_H
#define LUNET_WORD2VEC_H

#include <stdint.h>

typedef struct w2v_options {
  int dim;          /* size of a vector */
  int window;       /* C: each centre word takes R ~ U{1..C} words each side */
  int negative;     /* noise words per positive pair, drawn from count^0.75 */
  int cbow;         /* 0: skip-gram, 1: CBOW (the mean of the context predicts the centre) */
  int epochs;       /* passes over the stream */
  int min_count;    /* words seen fewer times are left out of training */
  double subsample; /* t of frequent-word subsampling; 0: off */
  double lr;        /* starting learning rate, decayed linearly to lr 1e-4 */
  uint64_t seed;
} w2v_options;

typedef struct w2v {
  int32_t vocab;
  int dim, epochs;
  float *in;        /* (vocab, dim) the word vectors: word2vec.c's syn0 */
  float *out;       /* (vocab, dim) the output vectors: its syn1neg */
  float *unit;      /* (vocab, dim) `in` scaled to unit length (0 for a zero row) */
  int64_t *count;   /* (vocab) occurrences in the stream */
  int min_count;
  double *loss;     /* (epochs) mean negative-sampling loss per pair */
  int64_t words;    /* words trained on, all epochs, after subsampling */
  double seconds;   /* training time */
} w2v;

/* Trains on ids[0..n), each in [0, vocab); NULL with services_error() set
** on bad options or when out of memory. Deterministic for a seed. */
w2v *w2v_train(const int32_t *ids, int64_t n, int32_t vocab, const w2v_options *o);
void w2v_free(w2v *e);

/* One step of negative sampling for input vector h (dim): words[0] the
** true output word, words[1..m) noise words, output vectors rows of `out`.
** Returns the loss before the step,
**   L = -ln sigma(u_0 . h) - sum_{i >= 1} ln sigma(-u_i . h),
** moves each u_i by -lr dL/du_i, and adds -lr dL/dh to gh (the caller adds
** gh to the input vectors after the step, as word2vec.c does). */
double w2v_sgns(const float *h, float *out, int dim, const int32_t *words, int m, float lr, float *gh);

/* Walker's alias table, how noise words are drawn in proportion to
** count^0.75: w2v_alias_build turns the n weights w (not all 0) into each
** slot's chance of keeping its own id, in place, and alias[] the id the
** slot gives otherwise (stack: n ints of scratch); w2v_alias_draw returns
** the id at u in [0, 1): slot floor(u n), kept when the fraction left is
** below its chance. */
void w2v_alias_build(double *w, int32_t *alias, int32_t *stack, int32_t n);
int32_t w2v_alias_draw(const double *keep, const int32_t *alias, int32_t n, double u);

/* Whether word w took part in training (seen at least min_count times). */
int w2v_trained(const w2v *e, int32_t w);

/* The k trained words of highest cosine with q (dim), leaving out
** skip[0..nskip); ids and cosines in ids[], cos[], best first (ties by
** id). Returns how many were found (<= k). */
int w2v_nearest(const w2v *e, const double *q, const int32_t *skip, int nskip, int k, int32_t *ids, double *cos);

/* q = unit(a) - unit(b) + unit(c): the query of "a is to b as ? is to c". */
void w2v_analogy_query(const w2v *e, int32_t a, int32_t b, int32_t c, double *q);

/* Writes the word2vec text format: "words dim", then one line per trained
** word, "name v_1 ... v_dim". names[w] (NULL: all) is word w's text; a
** missing, empty or blank-holding name is written as its id, from 1.
** 0, or -1 with services_error() set. */
int w2v_save(const w2v *e, const char *path, const char *const *names);

/* The first two principal components of the m points x (m, d), row-major
** float64, centred on their mean: xy (m, 2) their coordinates, through the
** host's SVD. The sign of each axis makes its largest-magnitude loading
** positive. 0, or -1 with services_error() set. */
int pca2(const double *x, int m, int d, double *xy);

#endif
