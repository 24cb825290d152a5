/*
** train.c -- mini-batch training: seeded shuffling (batch.h), one step per
** batch (step.h), a learning-rate schedule, periodic evaluation,
** divergence detection, early stopping, a per-epoch callback and training
** checkpoints (resume.h). An optimizer with a closed-form fit is handed to
** fit.c.
**
** With a checkpoint, the order at the end of epoch k is: evaluation,
** early-stopping bookkeeping, the checkpoint (every checkpoint_every epochs),
** then on_epoch(k). A run killed at any moment resumes from the last
** checkpoint at its epoch boundary: the epochs after it are redone from
** their start with the same random streams, so they give the same numbers,
** and on_epoch is called again only for epochs the checkpoint does not
** record (none, with checkpoint_every = 1).
*/
#include "nn/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "nn/resume.h"
#include "runtime/services.h"

/* One line per epoch on stderr. Losses and perplexities in %.5g: a
** diverging run prints 3.1416e+70, not seventy digits. */
void train_progress(const train_config *c, const epoch_report *r) {
  fprintf(stderr, "epoch %*d/%d  train loss %.5g", c->epochs >= 100 ? 3 : 2, r->epoch, c->epochs,
          r->train.loss);
  if (!isnan(r->train.error)) fprintf(stderr, " err %.4f", r->train.error);
  if (!isnan(r->train.perplexity)) fprintf(stderr, " ppl %.5g", r->train.perplexity);
  for (int i = 0; r->evaluated && i < c->n_evals; i++) {
    if (strcmp(c->evals[i].name, "train") == 0) continue;
    fprintf(stderr, "  %s loss %.5g", c->evals[i].name, r->evals[i].loss);
    if (!isnan(r->evals[i].error)) fprintf(stderr, " err %.4f", r->evals[i].error);
    if (!isnan(r->evals[i].perplexity)) fprintf(stderr, " ppl %.5g", r->evals[i].perplexity);
  }
  fprintf(stderr, "  %.2fs\n", r->seconds);
}

int train_evals(const train_config *c, metrics *evals, metrics *train) {
  for (int i = 0; i < c->n_evals; i++) {
    if (evaluate(c->m, c->evals[i].ds, c->loss, c->eval_batch, &evals[i])) return -1;
    if (strcmp(c->evals[i].name, "train") == 0) *train = evals[i];
  }
  return 0;
}

/* One pass over the shuffled training set. Returns 1 on divergence. */
static int run_epoch(train_loop *L, int epoch, metrics *train, train_result *r) {
  const train_config *c = L->c;
  int64_t n = c->data->info.n, wrong = 0, units = 0;
  double loss_sum = 0;
  loader_epoch(&L->data, epoch - 1);
  for (int64_t start = 0; start < n; start += c->batch) {
    if (c->sched_on && stepper_set(&L->step, c->lr_index, schedule_lr(&c->sched, epoch - 1 + (double)start / n)))
      return -1;
    int err;
    batch *b = loader_next(&L->data, &err);
    if (!b) return -1;
    const lunet_tensor *y;
    double l;
    if (stepper_forward(&L->step, b, &l, &y)) return -1;
    if (!isfinite(l)) {
      snprintf(r->message, sizeof r->message, "loss became %s at epoch %d, batch %lld", isnan(l) ? "nan" : "inf",
               epoch, (long long)(start / c->batch + 1));
      train->loss = l; /* a partial epoch's error rate means nothing */
      train->error = train->perplexity = NAN;
      train->classified = c->data->info.classes > 0;
      return 1;
    }
    int64_t w = counted_units(c->loss, &b->y); /* a mean over tokens, not batches */
    loss_sum += l * (double)w;
    units += w;
    if (c->data->info.classes) wrong += count_errors(c->loss, y, &b->y);
    if (stepper_backward(&L->step) || stepper_update(&L->step)) return -1;
  }
  train->loss = units ? loss_sum / (double)units : NAN;
  metrics_finish(train, c->loss, c->data, wrong, units);
  return 0;
}

static int loop_init(train_loop *L, const train_config *c) {
  memset(L, 0, sizeof *L);
  L->c = c;
  if (c->data->info.n < 1) {
    services_error("train: dataset %s is empty", c->data->name);
    return -1;
  }
  if (model_accepts(c->m, c->data) || loss_open(c->loss, c->m, c->data)) return -1;
  /* a batch larger than a dataset is the whole dataset: reserve no more */
  int batch = c->batch < c->data->info.n ? c->batch : (int)c->data->info.n, widest = batch;
  for (int i = 0; i < c->n_evals; i++) {
    int64_t n = c->evals[i].ds->info.n;
    int eb = c->eval_batch < n ? c->eval_batch : (int)n;
    if (eb > widest) widest = eb;
  }
  if (model_reserve(c->m, widest)) return -1;
  if (stepper_open(&L->step, c->m, c->loss, c->opt, &c->opt_params, c->seed)) return -1;
  L->step.l1 = c->l1, L->step.l2 = c->l2, L->step.clip_norm = c->clip_norm;
  if (c->checkpoint && resume_check(c)) return -1;
  if (loader_init(&L->data, c->data, batch, c->seed, c->shuffle)) return -1;
  if (c->patience > 0 && c->restore_best) {
    int64_t total = c->m->ws.n_trained + c->m->ws.n_buffers;
    if (!(L->best = services_host()->alloc(sizeof(float) * (size_t)(total + 1)))) return -1;
  }
  if (!(L->best_evals = calloc((size_t)c->n_evals + 1, sizeof *L->best_evals))) {
    services_error("out of memory for the early-stopping state");
    return -1;
  }
  return 0;
}

static void loop_free(train_loop *L) {
  stepper_close(&L->step);
  loader_free(&L->data);
  services_host()->free(L->best);
  free(L->best_evals);
  free(L->fingerprint.p);
  loss_close(L->c->loss);
}

/* Early stopping: 1 when `patience` evaluations passed without a new best
** of the monitored metric, else 0 (-1: the best weights could not be
** copied). Keeps the best epoch's weights and metrics. */
static int should_stop(train_loop *L, int epoch, const metrics *evals, train_result *r) {
  const train_config *c = L->c;
  const metrics *mt = &evals[c->monitor];
  double v = c->monitor_error ? mt->error : mt->loss;
  if (r->best_epoch == 0 || v < L->best_value) {
    L->best_value = v;
    L->since = 0;
    r->best_epoch = epoch;
    memcpy(L->best_evals, evals, sizeof *evals * (size_t)c->n_evals);
    return L->best && weights_snapshot(&c->m->ws, L->best, 0) ? -1 : 0;
  }
  return ++L->since >= c->patience;
}

/* Goes on from the checkpoint if its file exists; else writes it before
** the first epoch, so that a path that cannot be written fails at once. */
static int start_or_resume(train_loop *L, train_result *r) {
  const train_config *c = L->c;
  int got = resume_load(L, r);
  if (got == 0) return resume_save(L, r);
  if (got > 0 && c->verbose)
    fprintf(stderr, "resuming from %s: %d of %d epochs done%s\n", c->checkpoint, L->done, c->epochs,
            L->finished ? ", training finished" : "");
  return got < 0 ? -1 : 0;
}

/* After the last epoch: the best weights back (early stopping), and the
** final checkpoint, which makes a rerun return this result at once. */
static int finish(train_loop *L, train_result *r) {
  const train_config *c = L->c;
  if (c->patience > 0 && c->restore_best && r->best_epoch && r->best_epoch != r->epochs) {
    if (weights_snapshot(&c->m->ws, L->best, 1)) return -1;
    memcpy(r->evals, L->best_evals, sizeof *r->evals * (size_t)c->n_evals);
  }
  L->finished = 1;
  return c->checkpoint ? resume_save(L, r) : 0;
}

/* The optimizer has a closed-form fit instead of steps. */
static int has_fit(const plugin_entry *opt) { return opt->desc->optimizer->fit != NULL; }

int train_run(const train_config *c, train_result *r) {
  memset(r, 0, sizeof *r);
  if (!(r->evals = calloc((size_t)c->n_evals + 1, sizeof *r->evals))) {
    services_error("out of memory for the evaluation results");
    return -1;
  }
  for (int i = 0; i < c->n_evals; i++) r->evals[i].loss = r->evals[i].error = r->evals[i].perplexity = NAN;
  r->train.loss = r->train.error = r->train.perplexity = NAN;
  if (has_fit(c->opt)) return train_fit(c, r);
  train_loop L;
  int rc = loop_init(&L, c);
  if (rc == 0 && c->checkpoint) rc = start_or_resume(&L, r);
  for (int epoch = L.done + 1; rc == 0 && !L.finished && !r->stopped_early && epoch <= c->epochs; epoch++) {
    epoch_report rep = {.epoch = epoch, .evals = r->evals};
    double t0 = now_seconds();
    int st = run_epoch(&L, epoch, &rep.train, r);
    rep.seconds = now_seconds() - t0;
    r->seconds += rep.seconds;
    r->train = rep.train;
    if (st < 0) rc = -1;
    if (st != 0) {
      r->diverged = st > 0;
      break;
    }
    r->epochs = L.done = epoch;
    rep.evaluated = c->n_evals > 0 && (epoch % c->eval_every == 0 || epoch == c->epochs);
    if (rep.evaluated && train_evals(c, r->evals, &rep.train)) {
      rc = -1;
      break;
    }
    r->train = rep.train;
    if (c->verbose) train_progress(c, &rep);
    int stop = c->patience > 0 && rep.evaluated ? should_stop(&L, epoch, r->evals, r) : 0;
    if (stop < 0) {
      rc = -1;
      break;
    }
    r->stopped_early = stop;
    if (c->checkpoint && epoch % c->checkpoint_every == 0 && resume_save(&L, r)) {
      rc = -1;
      break;
    }
    int cb = c->on_epoch ? c->on_epoch(c->ud, &rep) : 0;
    if (cb < 0) rc = -1;
    if (cb != 0) break;
  }
  if (rc == 0 && !L.finished) rc = finish(&L, r);
  loop_free(&L);
  return rc;
}
