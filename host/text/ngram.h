/*
** ngram.h -- n-gram language models of order 1 to 3 over a stream of
** token ids: counted once, then queried for one probability, the whole
** next-token distribution, the log-likelihood of windows, and samples.
**
** Every smoothing here is a proper distribution over the whole vocabulary:
** p(w | h) > 0 for every id in [0, vocab) and sum_w p(w | h) = 1, for any
** history h, so that perplexities are comparable with a neural model's.
*/
#ifndef LUNET_NGRAM_H
#define LUNET_NGRAM_H

#include <stdint.h>

enum { NGRAM_ADD_K, NGRAM_INTERPOLATION, NGRAM_KNESER_NEY };

#define NGRAM_MAX_ORDER 3

typedef struct ngram_smoothing {
  int kind;                              /* NGRAM_* */
  double k;                              /* add_k: the pseudo-count, > 0 */
  double lambdas[NGRAM_MAX_ORDER + 1];   /* interpolation: uniform, unigram, ..., order;
                                            >= 0, lambdas[0] > 0, summing to 1 */
  double discount;                       /* kneser_ney: D in (0, 1] for every order, or
                                            0: n1 / (n1 + 2 n2) per order */
} ngram_smoothing;

typedef struct ngram ngram;

/* What was counted (for reports). */
typedef struct ngram_info {
  int order;
  int32_t vocab;
  int64_t tokens;                         /* length of the training stream */
  int64_t grams[NGRAM_MAX_ORDER];         /* distinct k-grams kept, k = 1..order */
  double discount[NGRAM_MAX_ORDER];       /* kneser_ney: D of each order */
} ngram_info;

/* Counts ids[0..n) (each in [0, vocab)) into a model of `order`; NULL with
** services_error() set on bad arguments or when out of memory. */
ngram *ngram_build(const int32_t *ids, int64_t n, int32_t vocab, int order, const ngram_smoothing *s);
void ngram_free(ngram *m);
ngram_info ngram_describe(const ngram *m);

/* p(w | h): the history h is hist[0..hlen), its last element the most
** recent token; only the last order - 1 of them are read (fewer when hlen
** is shorter: the model of that lower order is used). */
double ngram_prob(const ngram *m, const int32_t *hist, int64_t hlen, int32_t w);

/* p[0..vocab) = p(. | h), as ngram_prob for every w at once. */
void ngram_dist(const ngram *m, const int32_t *hist, int64_t hlen, double *p);

/* sum over t of -ln p(y[t] | x[0..t]): a window x of T ids and its next
** ids y, as a text dataset's sample holds them (x[t] precedes y[t]). */
double ngram_nll(const ngram *m, const int32_t *x, const int32_t *y, int64_t T);

/* The id drawn from p(. | h) by inverting its cumulative sum at u in
** [0, 1); p (vocab) is scratch. */
int32_t ngram_draw(const ngram *m, const int32_t *hist, int64_t hlen, double u, double *p);

#endif
