/*
** test_ngram_word2vec.c -- the language-model tools of host/text/ against
** references computed here, apart from the code under test:
**   - n-grams: probabilities of a five-token stream worked out by hand for
**     add-k, interpolation and Kneser-Ney (bigram and trigram, continuation
**     counts, the estimated discount n1 / (n1 + 2 n2)); every distribution
**     positive and summing to 1 within 1e-9, for seen, unseen and short
**     histories; ngram_prob = ngram_dist; the window log-likelihood as a
**     plain loop; sampling frequencies against the distribution; refusals;
**   - word2vec: the negative-sampling step against a float64 finite
**     difference of the loss written here; the alias table's chances
**     against the weights, and its draws; the same seed the same vectors;
**     subsampling keeping sqrt(t/f) + t/f of each word; words of the same
**     contexts as nearest neighbours; an analogy structure planted in a
**     synthetic corpus;
**   - pca2 on points whose principal axes are known.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ngram.h"
#include "services.h"
#include "word2vec.h"

/* ---- n-grams ------------------------------------------------------------- */

/* a b a b c, with a fourth id d that never occurs */
static const int32_t ABABC[] = {0, 1, 0, 1, 2};
enum { A, B, C, D };

static ngram *build(int order, ngram_smoothing s) {
  ngram *m = ngram_build(ABABC, 5, 4, order, &s);
  cr_assert(m, "%s", services_last_error());
  return m;
}

static void expect_prob(const ngram *m, const int32_t *h, int hlen, int32_t w, double want) {
  double got = ngram_prob(m, h, hlen, w);
  cr_expect(fabs(got - want) < 1e-12, "p(%d | history of %d) = %.15g, expected %.15g", w, hlen, got, want);
}

Test(ngram, add_k_by_hand) {
  ngram *m = build(2, (ngram_smoothing){.kind = NGRAM_ADD_K, .k = 1});
  /* context a: followed by b twice; (c + 1) / (2 + 4) */
  expect_prob(m, (int32_t[]){A}, 1, B, 3.0 / 6);
  expect_prob(m, (int32_t[]){A}, 1, D, 1.0 / 6);
  /* context c never precedes anything: uniform */
  expect_prob(m, (int32_t[]){C}, 1, A, 0.25);
  /* no history: the unigram level, (c(w) + 1) / (5 + 4) */
  expect_prob(m, NULL, 0, A, 3.0 / 9);
  ngram_free(m);
}

Test(ngram, interpolation_by_hand) {
  ngram *m = build(2, (ngram_smoothing){.kind = NGRAM_INTERPOLATION, .lambdas = {0.1, 0.3, 0.6}});
  /* 0.1 / 4 + 0.3 c(b) / 5 + 0.6 c(a b) / c(a .) */
  expect_prob(m, (int32_t[]){A}, 1, B, 0.1 / 4 + 0.3 * 2 / 5 + 0.6 * 2 / 2);
  expect_prob(m, (int32_t[]){A}, 1, C, 0.1 / 4 + 0.3 * 1 / 5);
  /* context c unseen: its lambda left out, the others renormalised */
  expect_prob(m, (int32_t[]){C}, 1, A, (0.1 / 4 + 0.3 * 2 / 5) / 0.4);
  ngram_free(m);
}

Test(ngram, kneser_ney_by_hand) {
  ngram *m = build(3, (ngram_smoothing){.kind = NGRAM_KNESER_NEY, .discount = 0.5});
  /* trigrams aba, bab, abc; continuation bigrams ba, ab, bc (once each);
  ** continuation unigrams a, b, c (once each, 3 in all) */
  double p1 = 0.5 / 3 + 0.5 * 3 / 3 * 0.25;  /* a, b or c */
  double p1d = 0.5 * 3 / 3 * 0.25;           /* d */
  double p2c = 0.5 / 2 + 0.5 * 2 / 2 * p1;   /* p(c | b): b followed by a and c */
  expect_prob(m, NULL, 0, A, p1);
  expect_prob(m, NULL, 0, D, p1d);
  expect_prob(m, (int32_t[]){B}, 1, C, p2c);
  expect_prob(m, (int32_t[]){A, B}, 2, C, 0.5 / 2 + 0.5 * 2 / 2 * p2c);
  expect_prob(m, (int32_t[]){A, B}, 2, D, 0.5 * 2 / 2 * (0.5 * 2 / 2 * p1d));
  /* context (c, a) unseen: p(. | a) of the bigram level; a followed by b only */
  expect_prob(m, (int32_t[]){C, A}, 2, B, 0.5 / 1 + 0.5 * 1 / 1 * p1);
  ngram_free(m);

  /* a bigram model counts raw bigrams at the top: ab twice, ba, bc once */
  m = build(2, (ngram_smoothing){.kind = NGRAM_KNESER_NEY, .discount = 0.5});
  expect_prob(m, (int32_t[]){A}, 1, B, 1.5 / 2 + 0.5 * 1 / 2 * p1);
  ngram_free(m);
}

Test(ngram, estimated_discount) {
  /* bigram counts: ab 2, ba 1, bc 1 -> n1 = 2, n2 = 1: D = 2 / 4 */
  ngram *m = build(2, (ngram_smoothing){.kind = NGRAM_KNESER_NEY});
  ngram_info in = ngram_describe(m);
  cr_expect(fabs(in.discount[1] - 0.5) < 1e-15, "D_2 = %g", in.discount[1]);
  cr_expect_eq(in.grams[1], 3);
  cr_expect_eq(in.tokens, 5);
  ngram_free(m);
}

/* A stream with structure: a noisy walk over V ids. */
static int32_t *walk(int64_t n, int32_t V, uint64_t seed) {
  lunet_rng rng;
  rng_seed(&rng, seed);
  int32_t *s = malloc(sizeof(int32_t) * (size_t)n);
  s[0] = 0;
  for (int64_t i = 1; i < n; i++)
    s[i] = rng_uniform(&rng) < 0.7 ? (s[i - 1] + 1 + (int32_t)(rng_u64(&rng) % 2)) % V : (int32_t)(rng_u64(&rng) % V);
  return s;
}

Test(ngram, distributions_sum_to_one) {
  const int32_t V = 30;
  int32_t *s = walk(2000, V, 3);
  for (int64_t i = 0; i < 2000; i++) s[i] %= V - 5; /* ids 25..29 never occur */
  ngram_smoothing kinds[] = {{.kind = NGRAM_ADD_K, .k = 0.1},
                             {.kind = NGRAM_INTERPOLATION, .lambdas = {0.05, 0.15, 0.3, 0.5}},
                             {.kind = NGRAM_KNESER_NEY}};
  /* histories: seen, unseen pairs, ids never seen, empty, longer than needed */
  int32_t hist[][4] = {{0, 1, 2, 3}, {7, 7, 3, 9}, {0, 0, 26, 27}, {29, 28, 27, 26}};
  double *p = malloc(sizeof(double) * V);
  for (int order = 1; order <= 3; order++)
    for (int k = 0; k < 3; k++) {
      ngram_smoothing sm = kinds[k];
      if (sm.kind == NGRAM_INTERPOLATION) { /* order + 1 weights */
        double rest = 0;
        for (int j = 0; j < order; j++) rest += sm.lambdas[j];
        sm.lambdas[order] = 1 - rest;
        for (int j = order + 1; j <= NGRAM_MAX_ORDER; j++) sm.lambdas[j] = 0;
      }
      ngram *m = ngram_build(s, 2000, V, order, &sm);
      cr_assert(m, "%s", services_last_error());
      for (int h = 0; h < 4; h++)
        for (int hlen = 0; hlen <= 4; hlen++) {
          ngram_dist(m, hist[h], hlen, p);
          double sum = 0;
          for (int32_t w = 0; w < V; w++) {
            cr_expect(p[w] > 0, "order %d kind %d: p(%d) = %g", order, k, w, p[w]);
            double q = ngram_prob(m, hist[h], hlen, w);
            cr_expect(fabs(q - p[w]) <= 1e-15 * fmax(1, q), "prob %.17g != dist %.17g", q, p[w]);
            sum += p[w];
          }
          cr_expect(fabs(sum - 1) < 1e-9, "order %d kind %d history %d/%d: sum %.17g", order, k, h, hlen, sum);
        }
      ngram_free(m);
    }
  free(p);
  free(s);
}

Test(ngram, window_nll_and_sampling) {
  const int32_t V = 12;
  int32_t *s = walk(5000, V, 5);
  ngram *m = ngram_build(s, 5000, V, 3, &(ngram_smoothing){.kind = NGRAM_KNESER_NEY});
  cr_assert(m);
  /* one window x = s[100..164), y = s[101..165): y[t] after x[0..t] */
  double want = 0;
  for (int t = 0; t < 64; t++) {
    int64_t from = t >= 1 ? 100 + t - 1 : 100; /* the last two ids of x[0..t] */
    want -= log(ngram_prob(m, s + from, 100 + t + 1 - from, s[101 + t]));
  }
  double got = ngram_nll(m, s + 100, s + 101, 64);
  cr_expect(fabs(got - want) < 1e-9 * want, "nll %.15g, expected %.15g", got, want);

  /* 20000 draws after the history (3, 4) follow p(. | 3 4) */
  double p[12], *scratch = malloc(sizeof(double) * V);
  int counts[12] = {0};
  lunet_rng rng;
  rng_seed(&rng, 9);
  ngram_dist(m, (int32_t[]){3, 4}, 2, p);
  for (int i = 0; i < 20000; i++) counts[ngram_draw(m, (int32_t[]){3, 4}, 2, rng_uniform(&rng), scratch)]++;
  for (int w = 0; w < V; w++) {
    double sd = sqrt(p[w] * (1 - p[w]) / 20000);
    cr_expect(fabs(counts[w] / 20000.0 - p[w]) < 5 * sd + 1e-4, "id %d drawn %d times, p = %g", w, counts[w], p[w]);
  }
  free(scratch);
  ngram_free(m);
  free(s);
}

Test(ngram, refusals) {
  ngram_smoothing kn = {.kind = NGRAM_KNESER_NEY};
  cr_expect_null(ngram_build(ABABC, 5, 4, 4, &kn));
  cr_expect(strstr(services_last_error(), "order 4, expected 1 to 3"), "%s", services_last_error());
  cr_expect_null(ngram_build(ABABC, 5, 2, 2, &kn));
  cr_expect(strstr(services_last_error(), "token 5 is id 2, expected 0..1"), "%s", services_last_error());
  cr_expect_null(ngram_build(ABABC, 5, 4, 2, &(ngram_smoothing){.kind = NGRAM_INTERPOLATION, .lambdas = {0.2, 0.2, 0.2}}));
  cr_expect(strstr(services_last_error(), "must sum to 1"), "%s", services_last_error());
  cr_expect_null(ngram_build(ABABC, 5, 4, 2, &(ngram_smoothing){.kind = NGRAM_ADD_K, .k = 0}));
  cr_expect(strstr(services_last_error(), "add_k needs k > 0"), "%s", services_last_error());
}

/* ---- word2vec ------------------------------------------------------------ */

/* L = -ln sigma(u_0 . h) - sum_i ln sigma(-u_i . h), in float64 */
static double sgns_loss(const double *h, const double *u, int dim, int m) {
  double L = 0;
  for (int i = 0; i < m; i++) {
    double f = 0;
    for (int d = 0; d < dim; d++) f += u[i * dim + d] * h[d];
    L -= log(1 / (1 + exp(i == 0 ? -f : f)));
  }
  return L;
}

Test(word2vec, sgns_step_is_the_gradient) {
  enum { DIM = 7, M = 4, V = 6 };
  lunet_rng rng;
  rng_seed(&rng, 11);
  float h[DIM], out[V * DIM], before[V * DIM], gh[DIM] = {0};
  for (int d = 0; d < DIM; d++) h[d] = (float)rng_normal(&rng);
  for (int i = 0; i < V * DIM; i++) before[i] = out[i] = (float)(0.5 * rng_normal(&rng));
  const int32_t words[M] = {4, 1, 5, 2}; /* the true word, then noise words */
  double hd[DIM], ud[M * DIM];
  for (int d = 0; d < DIM; d++) hd[d] = h[d];
  for (int i = 0; i < M; i++)
    for (int d = 0; d < DIM; d++) ud[i * DIM + d] = before[words[i] * DIM + d];
  double loss = w2v_sgns(h, out, DIM, words, M, 1.0f, gh);
  cr_expect(fabs(loss - sgns_loss(hd, ud, DIM, M)) < 1e-6, "loss %.9g vs %.9g", loss, sgns_loss(hd, ud, DIM, M));
  /* lr = 1: gh = -dL/dh and each u_i moved by -dL/du_i */
  const double eps = 1e-6;
  for (int d = 0; d < DIM; d++) {
    hd[d] += eps;
    double up = sgns_loss(hd, ud, DIM, M);
    hd[d] -= 2 * eps;
    double down = sgns_loss(hd, ud, DIM, M);
    hd[d] += eps;
    double g = (up - down) / (2 * eps);
    cr_expect(fabs(-gh[d] - g) < 1e-5 * fmax(1, fabs(g)), "dL/dh[%d] %.9g, finite difference %.9g", d, -gh[d], g);
  }
  for (int i = 0; i < M; i++)
    for (int d = 0; d < DIM; d++) {
      double *x = &ud[i * DIM + d];
      *x += eps;
      double up = sgns_loss(hd, ud, DIM, M);
      *x -= 2 * eps;
      double down = sgns_loss(hd, ud, DIM, M);
      *x += eps;
      double g = (up - down) / (2 * eps), step = out[words[i] * DIM + d] - before[words[i] * DIM + d];
      cr_expect(fabs(-step - g) < 1e-5 * fmax(1, fabs(g)), "dL/du_%d[%d] %.9g, finite difference %.9g", i, d, -step, g);
    }
  for (int d = 0; d < DIM; d++) /* rows not drawn stay */
    cr_expect(out[0 * DIM + d] == before[0 * DIM + d] && out[3 * DIM + d] == before[3 * DIM + d]);
}

/* Words 2p and 2p + 1 (p = 0..9) in the same contexts: each sentence is
** the marker 20 + p, one of the two words, the marker again, and a noise
** word 30..39. Words of the same contexts get close vectors: each word's
** nearest neighbour is its partner (distributional similarity; the two
** never occur together). */
static int32_t *pairs_corpus(int64_t sentences, uint64_t seed) {
  lunet_rng rng;
  rng_seed(&rng, seed);
  int32_t *s = malloc(sizeof(int32_t) * (size_t)(4 * sentences));
  for (int64_t i = 0; i < sentences; i++) {
    int32_t p = (int32_t)(rng_u64(&rng) % 10), *x = s + 4 * i;
    x[0] = x[2] = 20 + p;
    x[1] = 2 * p + (int32_t)(rng_u64(&rng) % 2);
    x[3] = 30 + (int32_t)(rng_u64(&rng) % 10);
  }
  return s;
}

static w2v_options small_options(int cbow) {
  return (w2v_options){.dim = 16, .window = 2, .negative = 5, .cbow = cbow, .epochs = 3, .min_count = 1,
                       .subsample = 0, .lr = cbow ? 0.05 : 0.025, .seed = 1};
}

Test(word2vec, same_contexts_are_neighbours) {
  int32_t *s = pairs_corpus(10000, 2);
  for (int cbow = 0; cbow <= 1; cbow++) {
    w2v_options o = small_options(cbow);
    w2v *e = w2v_train(s, 40000, 40, &o);
    cr_assert(e, "%s", services_last_error());
    for (int32_t w = 0; w < 20; w++) {
      double q[16];
      int32_t id;
      double cos;
      for (int d = 0; d < 16; d++) q[d] = e->unit[w * 16 + d];
      cr_assert_eq(w2v_nearest(e, q, &w, 1, 1, &id, &cos), 1);
      cr_expect_eq(id, w ^ 1, "%s: nearest to %d is %d (cos %.3f), expected %d", cbow ? "cbow" : "skip-gram", w,
                   id, cos, w ^ 1);
    }
    cr_expect(e->loss[2] < e->loss[0], "loss %g -> %g", e->loss[0], e->loss[2]);
    w2v_free(e);
  }
  free(s);
}

Test(word2vec, alias_table_draws_in_proportion) {
  /* count^0.75 of counts 0..9: each id's chance, summed over the slots
  ** that give it, is its weight over the total, and draws follow it */
  enum { N = 10 };
  double w[N], want[N], total = 0, got[N] = {0};
  int32_t alias[N], stack[N];
  for (int i = 0; i < N; i++) total += want[i] = w[i] = pow(i, 0.75);
  w2v_alias_build(w, alias, stack, N);
  for (int i = 0; i < N; i++) {
    got[i] += w[i] / N;
    if (alias[i] != i) got[alias[i]] += (1 - w[i]) / N;
  }
  for (int i = 0; i < N; i++) cr_expect(fabs(got[i] - want[i] / total) < 1e-12, "id %d: %.15g, expected %.15g", i, got[i], want[i] / total);
  lunet_rng rng;
  rng_seed(&rng, 5);
  int counts[N] = {0};
  for (int k = 0; k < 100000; k++) counts[w2v_alias_draw(w, alias, N, rng_uniform(&rng))]++;
  cr_expect_eq(counts[0], 0, "a zero weight is never drawn");
  for (int i = 1; i < N; i++) {
    double p = want[i] / total, sd = sqrt(p * (1 - p) / 100000);
    cr_expect(fabs(counts[i] / 100000.0 - p) < 5 * sd, "id %d drawn %d times, p = %g", i, counts[i], p);
  }
}

Test(word2vec, same_seed_same_vectors) {
  int32_t *s = pairs_corpus(1500, 3);
  w2v_options o = small_options(0);
  w2v *a = w2v_train(s, 6000, 40, &o), *b = w2v_train(s, 6000, 40, &o);
  o.seed = 2;
  w2v *c = w2v_train(s, 6000, 40, &o);
  cr_assert(a && b && c);
  cr_expect(memcmp(a->in, b->in, sizeof(float) * 40 * 16) == 0 && memcmp(a->out, b->out, sizeof(float) * 40 * 16) == 0);
  cr_expect(memcmp(a->in, c->in, sizeof(float) * 40 * 16) != 0, "another seed, other vectors");
  w2v_free(a), w2v_free(b), w2v_free(c);
  free(s);
}

Test(word2vec, subsampling_keeps_sqrt_t_over_f) {
  /* id 0 is half the stream, ids 1..50 share the rest */
  enum { N = 100000 };
  int32_t *s = malloc(sizeof(int32_t) * N);
  for (int i = 0; i < N; i++) s[i] = i % 2 ? 1 + (i / 2) % 50 : 0;
  w2v_options o = small_options(0);
  o.subsample = 1e-3, o.epochs = 2, o.dim = 4;
  w2v *e = w2v_train(s, N, 51, &o);
  cr_assert(e);
  /* kept per epoch: id 0 with f = 0.5, the others with f = 0.01 */
  double t = 1e-3, keep0 = sqrt(t / 0.5) + t / 0.5, keep1 = sqrt(t / 0.01) + t / 0.01;
  double want = 2 * (N / 2 * keep0 + N / 2 * keep1), sd = sqrt(2 * N / 2 * (keep0 * (1 - keep0) + keep1 * (1 - keep1)));
  cr_expect(fabs((double)e->words - want) < 5 * sd, "kept %lld words, expected %.0f +- %.0f", (long long)e->words, want, sd);
  w2v_free(e);
  free(s);
}

/* Word w(r, g) = 2r + g of role r (0..3) and kind g (0..1) appears with
** markers of its role (8 + 3r + 0..2) and of its kind (20 + 3g + 0..2) and
** a noise word, shuffled: w(r1, 0) - w(r1, 1) + w(r2, 1) = w(r2, 0). */
Test(word2vec, planted_analogies) {
  enum { SENTENCES = 6000, LEN = 6, V = 46 };
  lunet_rng rng;
  rng_seed(&rng, 4);
  int32_t *s = malloc(sizeof(int32_t) * SENTENCES * LEN);
  for (int i = 0; i < SENTENCES; i++) {
    int r = (int)(rng_u64(&rng) % 4), g = (int)(rng_u64(&rng) % 2);
    int32_t *x = s + i * LEN;
    x[0] = 2 * r + g;
    x[1] = 8 + 3 * r + (int32_t)(rng_u64(&rng) % 3), x[2] = 8 + 3 * r + (int32_t)(rng_u64(&rng) % 3);
    x[3] = 20 + 3 * g + (int32_t)(rng_u64(&rng) % 3), x[4] = 20 + 3 * g + (int32_t)(rng_u64(&rng) % 3);
    x[5] = 26 + (int32_t)(rng_u64(&rng) % 20);
    for (int j = LEN - 1; j > 0; j--) {
      int k = (int)(rng_u64(&rng) % (uint64_t)(j + 1));
      int32_t tmp = x[j];
      x[j] = x[k], x[k] = tmp;
    }
  }
  for (int cbow = 0; cbow <= 1; cbow++) {
    w2v_options o = small_options(cbow);
    o.dim = 20, o.window = 3, o.epochs = 5;
    w2v *e = w2v_train(s, SENTENCES * LEN, V, &o);
    cr_assert(e);
    int right = 0;
    for (int r1 = 0; r1 < 4; r1++)
      for (int r2 = 0; r2 < 4; r2++) {
        if (r1 == r2) continue;
        double q[20];
        int32_t abc[3] = {2 * r1, 2 * r1 + 1, 2 * r2 + 1}, id;
        double cos;
        w2v_analogy_query(e, abc[0], abc[1], abc[2], q);
        w2v_nearest(e, q, abc, 3, 1, &id, &cos);
        right += id == 2 * r2;
      }
    cr_expect(right >= 10, "%s: %d of 12 analogies right", cbow ? "cbow" : "skip-gram", right);
    w2v_free(e);
  }
  free(s);
}

Test(word2vec, refusals) {
  w2v_options o = small_options(0);
  o.window = 0;
  cr_expect_null(w2v_train(ABABC, 5, 4, &o));
  cr_expect(strstr(services_last_error(), "window = 0, expected 1 to 1000"), "%s", services_last_error());
  o = small_options(0);
  o.min_count = 10;
  cr_expect_null(w2v_train(ABABC, 5, 4, &o));
  cr_expect(strstr(services_last_error(), "no word occurs min_count = 10 times"), "%s", services_last_error());
}

/* ---- pca2 ---------------------------------------------------------------- */

Test(pca2, known_axes) {
  /* (+-2, 0, 0) and (0, +-1, 0), shifted by (5, 5, 5): the first axis is x
  ** (variance 2), the second y; coordinates as the centred points */
  double x[4 * 3] = {7, 5, 5, 3, 5, 5, 5, 6, 5, 5, 4, 5}, xy[8];
  double want[8] = {2, 0, -2, 0, 0, 1, 0, -1};
  cr_assert_eq(pca2(x, 4, 3, xy), 0);
  for (int i = 0; i < 8; i++) cr_expect(fabs(xy[i] - want[i]) < 1e-12, "xy[%d] = %.15g, expected %g", i, xy[i], want[i]);

  /* a rotated line: points t (3, 4) / 5 + 1 with t = -2..2: first coordinate t, second 0 */
  double line[5 * 2], lxy[10];
  for (int t = -2; t <= 2; t++) line[2 * (t + 2)] = 3.0 * t / 5 + 1, line[2 * (t + 2) + 1] = 4.0 * t / 5 + 1;
  cr_assert_eq(pca2(line, 5, 2, lxy), 0);
  for (int t = -2; t <= 2; t++) {
    cr_expect(fabs(lxy[2 * (t + 2)] - t) < 1e-12, "t = %d: %.15g", t, lxy[2 * (t + 2)]);
    cr_expect(fabs(lxy[2 * (t + 2) + 1]) < 1e-12);
  }
}
