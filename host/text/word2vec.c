/*
** word2vec.c -- skip-gram and CBOW with negative sampling, after Mikolov's
** word2vec.c (2013), single-threaded so that a seed fixes the result.
**
** Per epoch, the stream is first thinned: words seen fewer than min_count
** times are dropped, and a word of frequency f = count / (kept words) is
** kept with probability sqrt(t / f) + t / f (word2vec.c's formula; the
** paper's 1 - sqrt(t / f) chance of discarding is its approximation).
** Then for each centre word w_j of what is left, R is drawn uniformly in
** 1..C and the words w_(j-R)..w_(j+R) (j excluded) are its context:
**   skip-gram  each context word's vector h = v_c predicts w_j (as
**              word2vec.c, which puts the context word on the input side);
**   CBOW       h = the mean of the context vectors predicts w_j, and each
**              context vector receives the whole gradient step.
** The prediction of word o from h is negative sampling: maximise
** ln sigma(u_o . h) + sum_i ln sigma(-u_i . h) over `negative` noise words
** drawn from count^0.75 (a draw equal to o is skipped, as word2vec.c),
** exactly, through Walker's alias table (word2vec.c fills a table of 1e8
** ids instead).
** The learning rate falls linearly from lr to lr 1e-4 over all epochs.
** Input vectors start uniform in [-0.5/dim, 0.5/dim), output vectors at 0.
** Unlike word2vec.c, sigma is computed exactly (no clipped table).
*/
#include "text/word2vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "runtime/services.h"

/* u . h in eight partial sums, a fixed order (the compiler's vectors) */
static float dot(const float *u, const float *h, int n) {
  float s[8] = {0}, t = 0;
  int d = 0;
  for (; d + 8 <= n; d += 8)
    for (int k = 0; k < 8; k++) s[k] += u[d + k] * h[d + k];
  for (; d < n; d++) t += u[d] * h[d];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

double w2v_sgns(const float *h, float *out, int dim, const int32_t *words, int m, float lr, float *gh) {
  double loss = 0;
  for (int i = 0; i < m; i++) {
    float *u = out + (int64_t)words[i] * dim, f = dot(u, h, dim), e = expf(-fabsf(f));
    int label = i == 0;
    float sigma = f >= 0 ? 1 / (1 + e) : e / (1 + e);
    loss += fmaxf(label ? -f : f, 0) + log1pf(e);       /* -ln sigma(+-f) = softplus(-+f) */
    float g = (label - sigma) * lr;                       /* -lr dL/df */
    for (int d = 0; d < dim; d++) gh[d] += g * u[d];      /* dL/dh = (sigma(f) - label) u */
    for (int d = 0; d < dim; d++) u[d] += g * h[d];       /* dL/du = (sigma(f) - label) h */
  }
  return loss;
}

int w2v_trained(const w2v *e, int32_t w) { return w >= 0 && w < e->vocab && e->count[w] >= e->min_count; }

static int check_options(const w2v_options *o, int32_t vocab) {
  const struct { const char *name; double v, lo, hi; } opt[] = {
    {"dim", o->dim, 1, 1 << 16}, {"window", o->window, 1, 1000}, {"negative", o->negative, 1, 1000},
    {"epochs", o->epochs, 1, 1e6}, {"min_count", o->min_count, 1, 1e12}, {"subsample", o->subsample, 0, 1},
    {"lr", o->lr, 1e-9, 10}, {"vocab", vocab, 2, INT32_MAX}};
  for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
    if (!(opt[i].v >= opt[i].lo && opt[i].v <= opt[i].hi)) {
      services_error("word2vec: %s = %g, expected %g to %g", opt[i].name, opt[i].v, opt[i].lo, opt[i].hi);
      return -1;
    }
  return 0;
}

void w2v_free(w2v *e) {
  if (!e) return;
  free(e->in);
  free(e->out);
  free(e->unit);
  free(e->count);
  free(e->loss);
  free(e);
}

/* Scratch of one training run. */
typedef struct run {
  int32_t *kept;   /* (n) this epoch's thinned stream */
  double *noise;   /* (vocab) Walker's alias table of count^0.75: keep i with chance noise[i], */
  int32_t *alias;  /* (vocab) else take alias[i] */
  double *keep_p;  /* (vocab) chance of keeping each word */
  float *h, *gh;   /* (dim) input vector and its step */
  int32_t *words;  /* (negative + 1) the true word and the noise words */
  lunet_rng rng;
} run;

static void run_free(run *r) {
  free(r->kept);
  free(r->noise);
  free(r->alias);
  free(r->keep_p);
  free(r->h);
  free(r->gh);
  free(r->words);
}

int32_t w2v_alias_draw(const double *keep, const int32_t *alias, int32_t n, double u) {
  double x = u * n;
  int32_t i = (int32_t)x;
  return x - i < keep[i] ? i : alias[i];
}

/* Vose's construction: slot i keeps i with chance w_i n / W; the rest of
** the slot goes to a word with more than its share, whose excess shrinks by
** as much. Small slots are stacked from the bottom of `stack`, large ones
** from the top. */
void w2v_alias_build(double *w, int32_t *alias, int32_t *stack, int32_t n) {
  double total = 0;
  for (int32_t i = 0; i < n; i++) total += w[i];
  int32_t small = 0, large = n;
  for (int32_t i = 0; i < n; i++) {
    w[i] *= n / total;
    alias[i] = i;
    if (w[i] < 1) stack[small++] = i;
    else stack[--large] = i;
  }
  while (small > 0 && large < n) {
    int32_t s = stack[--small], l = stack[large++];
    alias[s] = l;
    w[l] -= 1 - w[s];
    if (w[l] < 1) stack[small++] = l;
    else stack[--large] = l;
  }
  while (small > 0) w[stack[--small]] = 1; /* rounding leftovers */
  while (large < n) w[stack[large++]] = 1;
}

/* words[0] = o, then up to `negative` noise words (a draw of o skipped);
** returns how many in all. */
static int pick_words(run *r, const w2v *e, int negative, int32_t o) {
  int m = 0;
  r->words[m++] = o;
  for (int i = 0; i < negative; i++) {
    int32_t w = w2v_alias_draw(r->noise, r->alias, e->vocab, rng_uniform(&r->rng));
    if (w != o) r->words[m++] = w;
  }
  return m;
}

/* The kept words of one epoch into r->kept; returns how many. */
static int64_t thin(run *r, const w2v *e, const int32_t *ids, int64_t n) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) {
    int32_t w = ids[i];
    if (!w2v_trained(e, w)) continue;
    if (r->keep_p[w] < 1 && rng_uniform(&r->rng) >= r->keep_p[w]) continue;
    r->kept[m++] = w;
  }
  return m;
}

/* The steps around centre j of the kept stream s[0..m); returns the loss
** summed over its pairs, *pairs counting them. */
static double train_centre(run *r, w2v *e, const w2v_options *o, const int32_t *s, int64_t m, int64_t j,
                           float lr, int64_t *pairs) {
  int R = o->window - (int)(rng_u64(&r->rng) % (uint64_t)o->window), dim = e->dim;
  int64_t lo = j - R < 0 ? 0 : j - R, hi = j + R >= m ? m - 1 : j + R;
  double loss = 0;
  if (o->cbow) {
    int nc = (int)(hi - lo);
    if (nc == 0) return 0;
    memset(r->h, 0, sizeof(float) * (size_t)dim);
    for (int64_t c = lo; c <= hi; c++) {
      const float *v = e->in + (int64_t)s[c] * dim;
      for (int d = 0; c != j && d < dim; d++) r->h[d] += v[d] / (float)nc; /* h = mean of the context */
    }
    memset(r->gh, 0, sizeof(float) * (size_t)dim);
    loss = w2v_sgns(r->h, e->out, dim, r->words, pick_words(r, e, o->negative, s[j]), lr, r->gh);
    for (int64_t c = lo; c <= hi; c++) {
      float *v = e->in + (int64_t)s[c] * dim;
      for (int d = 0; c != j && d < dim; d++) v[d] += r->gh[d];
    }
    *pairs += 1;
    return loss;
  }
  for (int64_t c = lo; c <= hi; c++) {
    if (c == j) continue;
    float *h = e->in + (int64_t)s[c] * dim;
    memset(r->gh, 0, sizeof(float) * (size_t)dim);
    loss += w2v_sgns(h, e->out, dim, r->words, pick_words(r, e, o->negative, s[j]), lr, r->gh);
    for (int d = 0; d < dim; d++) h[d] += r->gh[d];
    *pairs += 1;
  }
  return loss;
}

/* Counts, the noise distribution, the chances of keeping, the scratch. */
static int prepare(run *r, w2v *e, const int32_t *ids, int64_t n, const w2v_options *o) {
  size_t V = (size_t)e->vocab, D = (size_t)e->dim;
  e->in = malloc(sizeof(float) * V * D);
  e->out = calloc(V * D, sizeof(float));
  e->unit = malloc(sizeof(float) * V * D);
  e->count = calloc(V, sizeof(int64_t));
  e->loss = calloc((size_t)o->epochs, sizeof(double));
  r->kept = malloc(sizeof(int32_t) * (size_t)(n > (int64_t)V ? n : (int64_t)V));
  r->noise = malloc(sizeof(double) * V);
  r->alias = malloc(sizeof(int32_t) * V);
  r->keep_p = malloc(sizeof(double) * V);
  r->h = malloc(sizeof(float) * D);
  r->gh = malloc(sizeof(float) * D);
  r->words = malloc(sizeof(int32_t) * (size_t)(o->negative + 1));
  if (!e->in || !e->out || !e->unit || !e->count || !e->loss || !r->kept || !r->noise || !r->alias || !r->keep_p ||
      !r->h || !r->gh || !r->words)
    return -1;
  for (int64_t i = 0; i < n; i++) e->count[ids[i]]++;
  double total = 0;
  for (size_t w = 0; w < V; w++) total += w2v_trained(e, (int32_t)w) ? (double)e->count[w] : 0;
  if (total == 0) {
    services_error("word2vec: no word occurs min_count = %d times", o->min_count);
    return -2;
  }
  for (size_t w = 0; w < V; w++) {
    double f = (double)e->count[w] / total, t = o->subsample;
    int on = w2v_trained(e, (int32_t)w);
    r->noise[w] = on ? pow((double)e->count[w], 0.75) : 0;
    r->keep_p[w] = t > 0 && on ? sqrt(t / f) + t / f : 1;
  }
  w2v_alias_build(r->noise, r->alias, r->kept, e->vocab); /* kept: scratch until the first epoch */
  rng_seed(&r->rng, o->seed);
  for (size_t i = 0; i < V * D; i++) e->in[i] = (float)((rng_uniform(&r->rng) - 0.5) / (double)D);
  return 0;
}

/* unit = in / |in| per row. */
static void normalise(w2v *e) {
  for (int64_t w = 0; w < e->vocab; w++) {
    const float *v = e->in + w * e->dim;
    double s = 0;
    for (int d = 0; d < e->dim; d++) s += (double)v[d] * v[d];
    double inv = s > 0 ? 1 / sqrt(s) : 0;
    for (int d = 0; d < e->dim; d++) e->unit[w * e->dim + d] = (float)(v[d] * inv);
  }
}

w2v *w2v_train(const int32_t *ids, int64_t n, int32_t vocab, const w2v_options *o) {
  if (check_options(o, vocab)) return NULL;
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= vocab) {
      services_error("word2vec: token %lld is id %d, expected 0..%d (vocab = %d)", (long long)i + 1, ids[i],
                     vocab - 1, vocab);
      return NULL;
    }
  w2v *e = calloc(1, sizeof *e);
  run r = {0};
  int rc = e ? 0 : -1;
  if (e) {
    *e = (w2v){.vocab = vocab, .dim = o->dim, .epochs = o->epochs, .min_count = o->min_count};
    rc = prepare(&r, e, ids, n, o);
  }
  double start = now_seconds();
  for (int ep = 0; rc == 0 && ep < o->epochs; ep++) {
    int64_t m = thin(&r, e, ids, n), pairs = 0;
    double loss = 0;
    for (int64_t j = 0; j < m; j++) {
      double left = 1 - (ep + (double)j / (double)m) / o->epochs;
      float lr = (float)(o->lr * (left > 1e-4 ? left : 1e-4));
      loss += train_centre(&r, e, o, r.kept, m, j, lr, &pairs);
    }
    e->loss[ep] = pairs ? loss / (double)pairs : 0;
    e->words += m;
  }
  run_free(&r);
  if (rc) {
    if (rc == -1) services_error("word2vec: out of memory for %d words of %d dimensions", vocab, o->dim);
    w2v_free(e);
    return NULL;
  }
  e->seconds = now_seconds() - start;
  normalise(e);
  return e;
}

/* ---- queries ------------------------------------------------------------- */

int w2v_nearest(const w2v *e, const double *q, const int32_t *skip, int nskip, int k, int32_t *ids, double *cos) {
  double qq = 0;
  for (int d = 0; d < e->dim; d++) qq += q[d] * q[d];
  double inv = qq > 0 ? 1 / sqrt(qq) : 0;
  int found = 0;
  for (int32_t w = 0; w < e->vocab; w++) {
    int skipped = !w2v_trained(e, w);
    for (int i = 0; i < nskip && !skipped; i++) skipped = skip[i] == w;
    if (skipped) continue;
    double c = 0;
    for (int d = 0; d < e->dim; d++) c += q[d] * e->unit[(int64_t)w * e->dim + d];
    c *= inv;
    int at = found < k ? found++ : k; /* insertion into the sorted list */
    while (at > 0 && cos[at - 1] < c) {
      if (at < k) ids[at] = ids[at - 1], cos[at] = cos[at - 1];
      at--;
    }
    if (at < k) ids[at] = w, cos[at] = c;
  }
  return found;
}

void w2v_analogy_query(const w2v *e, int32_t a, int32_t b, int32_t c, double *q) {
  const float *ua = e->unit + (int64_t)a * e->dim, *ub = e->unit + (int64_t)b * e->dim,
              *uc = e->unit + (int64_t)c * e->dim;
  for (int d = 0; d < e->dim; d++) q[d] = (double)ua[d] - ub[d] + uc[d];
}

/* A name the file can hold: non-empty, no blanks. */
static int plain_name(const char *s) {
  if (!s || !*s) return 0;
  for (; *s; s++)
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') return 0;
  return 1;
}

int w2v_save(const w2v *e, const char *path, const char *const *names) {
  FILE *f = fopen(path, "w");
  if (!f) {
    services_error("word2vec: cannot write %s", path);
    return -1;
  }
  int64_t n = 0;
  for (int32_t w = 0; w < e->vocab; w++) n += w2v_trained(e, w);
  fprintf(f, "%lld %d\n", (long long)n, e->dim);
  for (int32_t w = 0; w < e->vocab; w++) {
    if (!w2v_trained(e, w)) continue;
    if (names && plain_name(names[w])) fputs(names[w], f);
    else fprintf(f, "%d", w + 1);
    for (int d = 0; d < e->dim; d++) fprintf(f, " %.9g", e->in[(int64_t)w * e->dim + d]);
    fputc('\n', f);
  }
  if (fclose(f) != 0) {
    services_error("word2vec: writing %s failed", path);
    return -1;
  }
  return 0;
}

int pca2(const double *x, int m, int d, double *xy) {
  int k = m < d ? m : d;
  double *a = malloc(sizeof(double) * (size_t)m * (size_t)d), *s = malloc(sizeof(double) * (size_t)k),
         *u = malloc(sizeof(double) * (size_t)m * (size_t)k), *vt = malloc(sizeof(double) * (size_t)k * (size_t)d);
  int rc = a && s && u && vt ? 0 : -1;
  if (rc) services_error("pca2: out of memory for %d points of %d dimensions", m, d);
  for (int j = 0; rc == 0 && j < d; j++) { /* centre each column */
    double mean = 0;
    for (int i = 0; i < m; i++) mean += x[(int64_t)i * d + j] / m;
    for (int i = 0; i < m; i++) a[(int64_t)i * d + j] = x[(int64_t)i * d + j] - mean;
  }
  if (rc == 0) rc = services_host()->svd(m, d, a, s, u, vt) ? -1 : 0;
  for (int c = 0; rc == 0 && c < 2; c++) {
    double sign = 1, big = 0;
    for (int j = 0; c < k && j < d; j++)
      if (fabs(vt[(int64_t)c * d + j]) > big) big = fabs(vt[(int64_t)c * d + j]), sign = vt[(int64_t)c * d + j] < 0 ? -1 : 1;
    for (int i = 0; i < m; i++) xy[2 * i + c] = c < k ? sign * u[(int64_t)i * k + c] * s[c] : 0; /* X v_c = s_c u_c */
  }
  free(a), free(s), free(u), free(vt);
  return rc;
}
