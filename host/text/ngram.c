/*
** ngram.c -- counting n-grams of a token stream and the three smoothings
** of ngram.h, all written as one recursion over the orders.
**
** Counts: the k-grams of the stream, k = 1..order, each packed into one
** number in base V (w_1 V^(k-1) + ... + w_k), sorted, and squeezed into
** distinct keys with their counts. Sorting by key sorts by (context, w), so
** the followers of a context are one run of keys; each level also keeps its
** distinct contexts with where their run starts and their total count.
** A query is two binary searches per order.
**
** Smoothings, for a history h whose last k - 1 tokens are h_k (level k's
** context; c_k(.) its counts, C_k = sum_w c_k(h_k w), N_k = #{w: c > 0}),
** all start from the uniform p_0 = 1/V and go up the orders whose context
** occurred in training (an unseen context leaves p as it is):
**
**   add_k         top order only: p = (c(h w) + k) / (C + k V)
**   interpolation p_k = (S_(k-1) p_(k-1) + lambda_k c_k / C_k) / S_k, with
**                 S_k = lambda_0 + the lambdas of the orders used so far:
**                 p = (lambda_0 / V + sum_k lambda_k c_k / C_k) / S, the
**                 course's mixture of orders (Jelinek-Mercer), the lambdas of
**                 unseen contexts left out and the rest renormalised
**   kneser_ney    p_k = max(c_k - D_k, 0) / C_k + D_k N_k / C_k p_(k-1):
**                 interpolated Kneser-Ney (Chen and Goodman 1998): absolute
**                 discounting, with c_k below the top order the continuation
**                 count #{v: v h_k w occurs}, and D_k = n1 / (n1 + 2 n2)
**                 from the numbers of k-grams counted once and twice
**
** Each is a step p <- s p + [c > 0] (a c + o) per order, so ngram_prob and
** ngram_dist share `plan`; each step keeps sum_w p(w) = 1.
*/
#include "text/ngram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/services.h"

typedef struct level {
  int64_t n;         /* distinct k-grams */
  uint64_t *key;     /* (n) sorted: context V + w */
  double *count;     /* (n) c(g), or the continuation count (kneser_ney below the top) */
  int64_t nctx;      /* distinct contexts */
  uint64_t *ctx;     /* (nctx) sorted */
  int64_t *first;    /* (nctx + 1): the grams of ctx[i] are [first[i], first[i + 1]) */
  double *total;     /* (nctx) sum of their counts */
  double discount;   /* kneser_ney */
} level;

struct ngram {
  int order;
  int32_t vocab;
  int64_t tokens;
  ngram_smoothing s;
  level lv[NGRAM_MAX_ORDER]; /* lv[k - 1]: the k-grams */
};

/* One order's part in p(. | h): its level, context and step. */
typedef struct use {
  const level *lv;
  int64_t ci;     /* the context's index */
  uint64_t ctx;
  double s, a, o; /* p <- s p + [c > 0] (a c + o) */
} use;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The k-gram ending at ids[i], in base V. */
static uint64_t gram_key(const int32_t *ids, int64_t i, int k, uint64_t V) {
  uint64_t key = 0;
  for (int j = k - 1; j >= 0; j--) key = key * V + (uint64_t)ids[i - j];
  return key;
}

/* Sorts keys[0..n), keeps each distinct key once with its count; returns
** how many there are. */
static int64_t squeeze(uint64_t *keys, int64_t n, double *count) {
  qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) {
    if (m > 0 && keys[m - 1] == keys[i]) {
      count[m - 1] += 1;
    } else {
      keys[m] = keys[i];
      count[m++] = 1;
    }
  }
  return m;
}

static void level_free(level *lv) {
  free(lv->key);
  free(lv->count);
  free(lv->ctx);
  free(lv->first);
  free(lv->total);
  memset(lv, 0, sizeof *lv);
}

/* Squeezes the n keys already in lv->key (allocated for n) into lv. */
static int level_count(level *lv, int64_t n) {
  lv->count = malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (!lv->count) return -1;
  lv->n = squeeze(lv->key, n, lv->count);
  return 0;
}

/* The k-grams of the stream ids[0..n). */
static int level_from_stream(level *lv, const int32_t *ids, int64_t n, int k, uint64_t V) {
  int64_t m = n >= k ? n - k + 1 : 0;
  lv->key = malloc(sizeof(uint64_t) * (size_t)(m ? m : 1));
  if (!lv->key) return -1;
  for (int64_t i = 0; i < m; i++) lv->key[i] = gram_key(ids, i + k - 1, k, V);
  return level_count(lv, m);
}

/* Continuation counts: each k-gram g counted once per distinct v for which
** the (k+1)-gram v g occurs, from the level above. */
static int level_continuation(level *lv, const level *above, uint64_t Vk) {
  lv->key = malloc(sizeof(uint64_t) * (size_t)(above->n ? above->n : 1));
  if (!lv->key) return -1;
  for (int64_t i = 0; i < above->n; i++) lv->key[i] = above->key[i] % Vk;
  return level_count(lv, above->n);
}

/* The contexts of lv's grams with their runs and totals; D = n1/(n1 + 2 n2)
** unless given (0.5 when no gram is counted once). */
static int level_index(level *lv, uint64_t V, double discount) {
  lv->ctx = malloc(sizeof(uint64_t) * (size_t)(lv->n ? lv->n : 1));
  lv->first = malloc(sizeof(int64_t) * (size_t)(lv->n + 1));
  lv->total = malloc(sizeof(double) * (size_t)(lv->n ? lv->n : 1));
  if (!lv->ctx || !lv->first || !lv->total) return -1;
  double n1 = 0, n2 = 0;
  lv->nctx = 0;
  for (int64_t i = 0; i < lv->n; i++) {
    uint64_t c = lv->key[i] / V;
    if (lv->nctx == 0 || lv->ctx[lv->nctx - 1] != c) {
      lv->ctx[lv->nctx] = c;
      lv->first[lv->nctx] = i;
      lv->total[lv->nctx++] = 0;
    }
    lv->total[lv->nctx - 1] += lv->count[i];
    n1 += lv->count[i] == 1;
    n2 += lv->count[i] == 2;
  }
  lv->first[lv->nctx] = lv->n;
  lv->discount = discount > 0 ? discount : n1 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
  return 0;
}

static int check_smoothing(const ngram_smoothing *s, int order) {
  if (s->kind == NGRAM_ADD_K && !(s->k > 0 && isfinite(s->k))) {
    services_error("ngram: add_k needs k > 0, got %g", s->k);
    return -1;
  }
  if (s->kind == NGRAM_KNESER_NEY && !(s->discount >= 0 && s->discount <= 1)) {
    services_error("ngram: kneser_ney's discount must lie in (0, 1] (or 0: estimated), got %g", s->discount);
    return -1;
  }
  if (s->kind != NGRAM_INTERPOLATION) return 0;
  double sum = 0;
  for (int k = 0; k <= order; k++) {
    if (!(s->lambdas[k] >= 0 && isfinite(s->lambdas[k]))) {
      services_error("ngram: interpolation's lambdas[%d] = %g, expected a weight >= 0", k + 1, s->lambdas[k]);
      return -1;
    }
    sum += s->lambdas[k];
  }
  if (!(s->lambdas[0] > 0) || fabs(sum - 1) > 1e-9) {
    services_error("ngram: interpolation's lambdas (uniform, unigram, ... up to order %d) must sum to 1 "
                   "with the uniform weight > 0, got sum %.17g and uniform %g", order, sum, s->lambdas[0]);
    return -1;
  }
  return 0;
}

static int check_ids(const int32_t *ids, int64_t n, int32_t vocab) {
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= vocab) {
      services_error("ngram: token %lld is id %d, expected 0..%d (vocab = %d)", (long long)i + 1, ids[i],
                     vocab - 1, vocab);
      return -1;
    }
  return 0;
}

ngram *ngram_build(const int32_t *ids, int64_t n, int32_t vocab, int order, const ngram_smoothing *s) {
  if (order < 1 || order > NGRAM_MAX_ORDER) {
    services_error("ngram: order %d, expected 1 to %d", order, NGRAM_MAX_ORDER);
    return NULL;
  }
  if (vocab < 1 || (order == 3 && vocab > (1 << 21))) {
    services_error("ngram: vocab = %d, expected 1 to %d for order %d", vocab, order == 3 ? 1 << 21 : INT32_MAX, order);
    return NULL;
  }
  if (n < order) {
    services_error("ngram: %lld training tokens, expected at least the order, %d", (long long)n, order);
    return NULL;
  }
  if (check_smoothing(s, order) || check_ids(ids, n, vocab)) return NULL;
  ngram *m = calloc(1, sizeof *m);
  if (!m) goto oom;
  m->order = order, m->vocab = vocab, m->tokens = n, m->s = *s;
  uint64_t V = (uint64_t)vocab;
  for (int k = order; k >= 1; k--) {
    level *lv = &m->lv[k - 1];
    uint64_t Vk = 1; /* V^k: a (k+1)-gram's last k tokens are its key mod V^k */
    for (int j = 0; j < k; j++) Vk *= V;
    int rc = k < order && s->kind == NGRAM_KNESER_NEY ? level_continuation(lv, &m->lv[k], Vk)
                                                       : level_from_stream(lv, ids, n, k, V);
    if (rc || level_index(lv, V, s->kind == NGRAM_KNESER_NEY ? s->discount : 1)) goto oom;
  }
  return m;
oom:
  ngram_free(m);
  services_error("ngram: out of memory counting %lld tokens", (long long)n);
  return NULL;
}

void ngram_free(ngram *m) {
  if (!m) return;
  for (int k = 0; k < NGRAM_MAX_ORDER; k++) level_free(&m->lv[k]);
  free(m);
}

ngram_info ngram_describe(const ngram *m) {
  ngram_info in = {.order = m->order, .vocab = m->vocab, .tokens = m->tokens};
  for (int k = 0; k < m->order; k++) {
    in.grams[k] = m->lv[k].n;
    in.discount[k] = m->s.kind == NGRAM_KNESER_NEY ? m->lv[k].discount : 0;
  }
  return in;
}

/* ---- queries ------------------------------------------------------------- */

/* The index of x in the sorted a[lo..hi), or -1. */
static int64_t find(const uint64_t *a, int64_t lo, int64_t hi, uint64_t x) {
  int64_t end = hi;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < end && a[lo] == x ? lo : -1;
}

/* c(context w) at u's level, 0 when it never occurred. */
static double gram_count(const use *u, uint64_t V, int32_t w) {
  int64_t i = find(u->lv->key, u->lv->first[u->ci], u->lv->first[u->ci + 1], u->ctx * V + (uint64_t)w);
  return i < 0 ? 0 : u->lv->count[i];
}

/* The orders that take part in p(. | h), lowest first, with their steps;
** returns how many. */
static int plan(const ngram *m, const int32_t *h, int64_t hlen, use *u) {
  uint64_t V = (uint64_t)m->vocab;
  int top = hlen + 1 < m->order ? (int)hlen + 1 : m->order, n = 0;
  double S = m->s.lambdas[0]; /* interpolation: the weights used so far */
  for (int k = m->s.kind == NGRAM_ADD_K ? top : 1; k <= top; k++) {
    const level *lv = &m->lv[k - 1];
    uint64_t ctx = 0;
    for (int64_t j = hlen - k + 1; j < hlen; j++) ctx = ctx * V + (uint64_t)h[j];
    int64_t ci = lv->nctx ? find(lv->ctx, 0, lv->nctx, ctx) : -1;
    if (ci < 0) continue; /* unseen context: this order adds nothing */
    double C = lv->total[ci], N = (double)(lv->first[ci + 1] - lv->first[ci]), D = lv->discount;
    use *x = &u[n++];
    *x = (use){.lv = lv, .ci = ci, .ctx = ctx};
    if (m->s.kind == NGRAM_ADD_K) {
      double kV = m->s.k * (double)V; /* (c + k) / (C + k V) = s / V + a c */
      x->s = kV / (C + kV), x->a = 1 / (C + kV);
    } else if (m->s.kind == NGRAM_INTERPOLATION) {
      double S1 = S + m->s.lambdas[k];
      x->s = S / S1, x->a = m->s.lambdas[k] / (S1 * C);
      S = S1;
    } else { /* max(c - D, 0) / C + D N / C p, and c >= 1 >= D where c > 0 */
      x->s = D * N / C, x->a = 1 / C, x->o = -D / C;
    }
  }
  return n;
}

double ngram_prob(const ngram *m, const int32_t *hist, int64_t hlen, int32_t w) {
  use u[NGRAM_MAX_ORDER];
  int n = plan(m, hist, hlen, u);
  double p = 1.0 / m->vocab;
  for (int i = 0; i < n; i++) {
    double c = gram_count(&u[i], (uint64_t)m->vocab, w);
    p = u[i].s * p + (c > 0 ? u[i].a * c + u[i].o : 0);
  }
  return p;
}

void ngram_dist(const ngram *m, const int32_t *hist, int64_t hlen, double *p) {
  use u[NGRAM_MAX_ORDER];
  int n = plan(m, hist, hlen, u);
  uint64_t V = (uint64_t)m->vocab;
  for (int32_t w = 0; w < m->vocab; w++) p[w] = 1.0 / m->vocab;
  for (int i = 0; i < n; i++) {
    const level *lv = u[i].lv;
    for (int32_t w = 0; w < m->vocab; w++) p[w] *= u[i].s;
    for (int64_t g = lv->first[u[i].ci]; g < lv->first[u[i].ci + 1]; g++)
      p[lv->key[g] % V] += u[i].a * lv->count[g] + u[i].o;
  }
}

double ngram_nll(const ngram *m, const int32_t *x, const int32_t *y, int64_t T) {
  double nll = 0;
  for (int64_t t = 0; t < T; t++) nll -= log(ngram_prob(m, x, t + 1, y[t]));
  return nll;
}

int32_t ngram_draw(const ngram *m, const int32_t *hist, int64_t hlen, double u, double *p) {
  ngram_dist(m, hist, hlen, p);
  double cum = 0;
  int32_t last = 0;
  for (int32_t w = 0; w < m->vocab; w++) {
    if (p[w] <= 0) continue;
    cum += p[w];
    last = w;
    if (u < cum) return w;
  }
  return last; /* u within rounding of 1 */
}
