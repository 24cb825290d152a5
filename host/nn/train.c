/*
** train.c -- mini-batch training with seeded shuffling, periodic
** evaluation, divergence detection and a per-epoch callback; and, for an
** optimizer with a closed-form `fit` (lstsq), the one-shot fit of the
** model's final dense layer on the features of the layers before it.
*/
#include "nn/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/text.h"
#include "nn/regularize.h"
#include "runtime/services.h"

/* ---- loss ---------------------------------------------------------------- */

int loss_open(loss_fn *l, const model *m, const dataset *ds) {
  services_clear_error();
  l->self = l->pe->desc->loss->create(l->params.v, &m->out, &ds->info.target, ds->info.classes);
  if (l->self) return 0;
  char why[1024], a[128], b[128];
  snprintf(why, sizeof why, "%s", services_last_error());
  shape_format(&m->out, a, sizeof a);
  shape_format(&ds->info.target, b, sizeof b);
  services_error("loss %s does not fit model output %s and %s targets %s (%d classes): %s",
                 l->pe->desc->name, a, ds->name, b, ds->info.classes, why);
  return -1;
}

void loss_close(loss_fn *l) {
  if (l->self) l->pe->desc->loss->destroy(l->self);
  l->self = NULL;
}

static int argmax(const float *v, int64_t n) {
  int best = 0;
  for (int64_t j = 1; j < n; j++)
    if (v[j] > v[best]) best = (int)j;
  return best;
}

int64_t count_errors(const loss_fn *l, const lunet_tensor *pred, const lunet_tensor *target) {
  if (l->pe->desc->loss->errors) return l->pe->desc->loss->errors(l->self, pred, target);
  int B = pred->shape.dim[0];
  int64_t P = lunet_row_size(pred), T = lunet_row_size(target), wrong = 0;
  for (int i = 0; i < B; i++) {
    const float *t = target->data + i * T;
    int truth = T == 1 ? (int)t[0] : argmax(t, T);
    wrong += argmax(pred->data + i * P, P) != truth;
  }
  return wrong;
}

/* ---- batches ------------------------------------------------------------- */

/* The buffers a loop over a dataset needs, allocated once. */
typedef struct batcher {
  int64_t *idx;
  lunet_tensor x, y;
  int cap;
} batcher;

static int batcher_init(batcher *b, const dataset *ds, int cap) {
  const lunet_host *h = services_host();
  b->cap = cap;
  b->idx = h->alloc(sizeof(int64_t) * (size_t)cap);
  b->x.data = h->alloc(sizeof(float) * (size_t)cap * (size_t)dataset_input_size(ds));
  b->y.data = h->alloc(sizeof(float) * (size_t)cap * (size_t)dataset_target_size(ds));
  return b->idx && b->x.data && b->y.data ? 0 : -1;
}

static void batcher_free(batcher *b) {
  free(b->idx);
  free(b->x.data);
  free(b->y.data);
}

static void with_batch(lunet_tensor *t, const lunet_shape *s, int B) {
  t->shape.ndim = s->ndim + 1;
  t->shape.dim[0] = B;
  memcpy(t->shape.dim + 1, s->dim, sizeof(int) * (size_t)s->ndim);
  t->device = LUNET_CPU;
}

/* Fills the batch with samples order[0..B). */
static int batcher_fill(batcher *b, dataset *ds, const int64_t *order, int B) {
  memcpy(b->idx, order, sizeof(int64_t) * (size_t)B);
  with_batch(&b->x, &ds->info.input, B);
  with_batch(&b->y, &ds->info.target, B);
  services_clear_error();
  if (dataset_get(ds, b->idx, B, b->x.data, b->y.data) == 0) return 0;
  if (!*services_last_error()) services_error("%s: could not read a batch", ds->name);
  return -1;
}

static int check_input(model *m, dataset *ds) {
  if (model_build(m, &ds->info.input)) return -1;
  if (lunet_numel(&m->in) == lunet_numel(&ds->info.input)) return 0;
  char a[128], b[128];
  shape_format(&m->in, a, sizeof a);
  shape_format(&ds->info.input, b, sizeof b);
  services_error("model expects inputs of shape %s but dataset %s gives %s", a, ds->name, b);
  return -1;
}

/* ---- evaluation ---------------------------------------------------------- */

int predict(model *m, dataset *ds, int batch, int (*fn)(void *, const lunet_tensor *), void *ud) {
  if (check_input(m, ds)) return -1;
  if (batch > ds->info.n) batch = ds->info.n > 0 ? (int)ds->info.n : 1;
  batcher b;
  lunet_ctx ctx = {sizeof ctx, 0, NULL};
  int rc = batcher_init(&b, ds, batch) || model_reserve(m, batch);
  int64_t *order = malloc(sizeof(int64_t) * (size_t)batch);
  for (int64_t start = 0; rc == 0 && start < ds->info.n; start += batch) {
    int B = (int)(ds->info.n - start < batch ? ds->info.n - start : batch);
    for (int i = 0; i < B; i++) order[i] = start + i;
    const lunet_tensor *y;
    if (batcher_fill(&b, ds, order, B) || !(y = model_forward(m, &b.x, &ctx)) || fn(ud, y)) rc = -1;
  }
  free(order);
  batcher_free(&b);
  return rc ? -1 : 0;
}

int evaluate(model *m, dataset *ds, loss_fn *spec, int batch, metrics *out) {
  loss_fn inst = {spec->pe, spec->params, NULL}, *loss = &inst; /* its own instance */
  if (check_input(m, ds) || loss_open(loss, m, ds)) return -1;
  if (batch > ds->info.n) batch = ds->info.n > 0 ? (int)ds->info.n : 1;
  batcher b;
  lunet_ctx ctx = {sizeof ctx, 0, NULL};
  int rc = batcher_init(&b, ds, batch) || model_reserve(m, batch);
  int64_t *order = malloc(sizeof(int64_t) * (size_t)batch);
  double loss_sum = 0;
  int64_t wrong = 0;
  for (int64_t start = 0; rc == 0 && start < ds->info.n; start += batch) {
    int B = (int)(ds->info.n - start < batch ? ds->info.n - start : batch);
    for (int i = 0; i < B; i++) order[i] = start + i;
    const lunet_tensor *y;
    double l;
    if (batcher_fill(&b, ds, order, B) || !(y = model_forward(m, &b.x, &ctx)) ||
        loss->pe->desc->loss->forward[LUNET_CPU](loss->self, y, &b.y, &l, NULL)) {
      rc = -1;
      break;
    }
    loss_sum += l * B;
    if (ds->info.classes) wrong += count_errors(loss, y, &b.y);
  }
  free(order);
  batcher_free(&b);
  loss_close(loss);
  if (rc) return -1;
  out->loss = ds->info.n ? loss_sum / (double)ds->info.n : NAN;
  out->error = ds->info.classes && ds->info.n ? (double)wrong / (double)ds->info.n : NAN;
  return 0;
}

/* ---- training ------------------------------------------------------------ */

static void shuffle(int64_t *order, int64_t n, lunet_rng *rng) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(rng_u64(rng) % (uint64_t)(i + 1));
    int64_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

static void print_progress(const train_config *c, const epoch_report *r) {
  fprintf(stderr, "epoch %*d/%d  train loss %.4f", c->epochs >= 100 ? 3 : 2, r->epoch, c->epochs,
          r->train.loss);
  if (!isnan(r->train.error)) fprintf(stderr, " err %.4f", r->train.error);
  for (int i = 0; r->evaluated && i < c->n_evals; i++) {
    if (strcmp(c->evals[i].name, "train") == 0) continue;
    fprintf(stderr, "  %s loss %.4f", c->evals[i].name, r->evals[i].loss);
    if (!isnan(r->evals[i].error)) fprintf(stderr, " err %.4f", r->evals[i].error);
  }
  fprintf(stderr, "  %.2fs\n", r->seconds);
}

typedef struct loop {
  const train_config *c;
  void *opt;
  float *best;       /* snapshot of the parameters at the best epoch */
  metrics *best_evals;
  batcher b;
  int64_t *order;
  lunet_rng shuffle_rng, layer_rng;
  lunet_ctx ctx;
} loop;

/* One pass over the shuffled training set. Returns 1 on divergence. */
static int run_epoch(loop *L, int epoch, metrics *train, train_result *r) {
  const train_config *c = L->c;
  dataset *ds = c->data;
  int64_t n = ds->info.n, wrong = 0;
  double loss_sum = 0;
  const lunet_loss_api *la = c->loss->pe->desc->loss;
  shuffle(L->order, n, &L->shuffle_rng);
  for (int64_t start = 0; start < n; start += c->batch) {
    int B = (int)(n - start < c->batch ? n - start : c->batch);
    const lunet_tensor *y;
    double l;
    if (c->sched_on &&
        c->opt->desc->optimizer->set(L->opt, c->lr_index, schedule_lr(&c->sched, epoch - 1 + (double)start / n)))
      return -1;
    if (batcher_fill(&L->b, ds, L->order + start, B) || !(y = model_forward(c->m, &L->b.x, &L->ctx)) ||
        la->forward[LUNET_CPU](c->loss->self, y, &L->b.y, &l, model_output_grad(c->m)))
      return -1;
    if (!isfinite(l)) {
      snprintf(r->message, sizeof r->message, "loss became %s at epoch %d, batch %lld", isnan(l) ? "nan" : "inf",
               epoch, (long long)(start / c->batch + 1));
      train->loss = l;
      return 1;
    }
    loss_sum += l * B;
    if (ds->info.classes) wrong += count_errors(c->loss, y, &L->b.y);
    if (model_backward(c->m, &L->b.x, NULL)) return -1;
    add_penalty_grads(c->m->params, c->m->n_params, c->l1, c->l2);
    if (c->clip_norm > 0) clip_grad_norm(c->m->params, c->m->n_params, c->clip_norm);
    if (c->opt->desc->optimizer->step[LUNET_CPU](L->opt, c->m->params, c->m->n_params)) return -1;
  }
  train->loss = loss_sum / (double)n;
  train->error = ds->info.classes ? (double)wrong / (double)n : NAN;
  return 0;
}

static int run_evals(const train_config *c, metrics *evals, metrics *train) {
  int eval_batch = c->batch < 256 ? 256 : c->batch;
  for (int i = 0; i < c->n_evals; i++) {
    if (evaluate(c->m, c->evals[i].ds, c->loss, eval_batch, &evals[i])) return -1;
    if (strcmp(c->evals[i].name, "train") == 0) *train = evals[i];
  }
  return 0;
}

static int loop_init(loop *L, const train_config *c) {
  memset(L, 0, sizeof *L);
  L->c = c;
  int64_t n = c->data->info.n;
  if (n < 1) {
    services_error("train: dataset %s is empty", c->data->name);
    return -1;
  }
  if (check_input(c->m, c->data) || loss_open(c->loss, c->m, c->data)) return -1;
  int eval_batch = c->batch < 256 ? 256 : c->batch;
  if (model_reserve(c->m, c->n_evals && eval_batch > c->batch ? eval_batch : c->batch)) return -1;
  services_clear_error();
  L->opt = c->opt->desc->optimizer->create(c->opt_params.v, c->m->params, c->m->n_params);
  if (!L->opt) {
    if (!*services_last_error()) services_error("optimizer %s could not be created", c->opt->desc->name);
    return -1;
  }
  if (batcher_init(&L->b, c->data, c->batch)) return -1;
  if (c->patience > 0 && c->restore_best) {
    int64_t total = 0;
    for (int i = 0; i < c->m->n_params; i++) total += lunet_numel(&c->m->params[i].value->shape);
    if (!(L->best = services_host()->alloc(sizeof(float) * (size_t)(total + 1)))) return -1;
  }
  L->best_evals = calloc((size_t)c->n_evals + 1, sizeof *L->best_evals);
  L->order = malloc(sizeof(int64_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) L->order[i] = i;
  rng_seed(&L->shuffle_rng, c->seed);
  rng_seed(&L->layer_rng, c->seed ^ 0x5eed1a7e5ULL);
  L->ctx = (lunet_ctx){sizeof L->ctx, 1, &L->layer_rng};
  return 0;
}

static void loop_free(loop *L) {
  if (L->opt) L->c->opt->desc->optimizer->destroy(L->opt);
  batcher_free(&L->b);
  free(L->order);
  free(L->best);
  free(L->best_evals);
  loss_close(L->c->loss);
}

/* Copies every parameter tensor to or from the flat snapshot buffer. */
static void snapshot(model *m, float *buf, int restore) {
  for (int i = 0; i < m->n_params; i++) {
    lunet_tensor *t = m->params[i].value;
    size_t bytes = sizeof(float) * (size_t)lunet_numel(&t->shape);
    if (restore) memcpy(t->data, buf, bytes);
    else memcpy(buf, t->data, bytes);
    buf += bytes / sizeof(float);
  }
}

/* Early stopping: 1 when `patience` evaluations passed without a new best
** of the monitored metric. Keeps the best epoch's weights and metrics. */
static int should_stop(loop *L, int epoch, const metrics *evals, double *best, int *since, train_result *r) {
  const train_config *c = L->c;
  const metrics *mt = &evals[c->monitor];
  double v = c->monitor_error ? mt->error : mt->loss;
  if (r->best_epoch == 0 || v < *best) {
    *best = v;
    *since = 0;
    r->best_epoch = epoch;
    memcpy(L->best_evals, evals, sizeof *evals * (size_t)c->n_evals);
    if (L->best) snapshot(c->m, L->best, 0);
    return 0;
  }
  return ++*since >= c->patience;
}

/* ---- closed-form fits ---------------------------------------------------- */

typedef int (*fit_fn)(void *self, const lunet_tensor *features, const lunet_tensor *targets,
                      lunet_param *tensors, int n_tensors);

/* The optimizer's fit, read only when its function table is new enough. */
static fit_fn optimizer_fit(const plugin_entry *opt) {
  const lunet_optimizer_api *a = opt->desc->optimizer;
  return LUNET_HAS_FIELD(a, lunet_optimizer_api, fit) ? a->fit : NULL;
}

/* Options of the gradient loop have no meaning for a closed-form fit. */
static int check_fit_options(const train_config *c) {
  const char *name = c->opt->desc->name, *bad = NULL;
  if (c->l1 > 0) bad = "l1";
  else if (c->l2 > 0) bad = "l2";
  else if (c->clip_norm > 0) bad = "clip_norm";
  else if (c->sched_on) bad = "schedule/warmup";
  else if (c->patience > 0) bad = "patience";
  if (!bad) return 0;
  services_error("lunet.train: '%s' does not apply to optimizer %s, a closed-form fit; remove it "
                 "(a penalty is the optimizer's own parameter, e.g. lambda)", bad, name);
  return -1;
}

/* The model must end in a dense layer after layers with nothing to train. */
static int check_fit_model(const train_config *c) {
  model *m = c->m;
  const char *opt = c->opt->desc->name;
  char desc[160];
  const node *last = &m->nodes[m->n - 1];
  node_describe(last, desc, sizeof desc);
  if (last->kind != NODE_LAYER || strcmp(last->plugin->desc->name, "dense") != 0) {
    services_error("lunet.train: optimizer %s fits the model's final layer in closed form, which "
                   "must be a dense layer; the last layer is %d (%s)", opt, m->n, desc);
    return -1;
  }
  for (int i = 0; i < m->n - 1; i++) {
    int64_t k = model_node_param_count(m, i);
    if (k == 0) continue;
    node_describe(&m->nodes[i], desc, sizeof desc);
    services_error("lunet.train: optimizer %s fits only the final dense layer, but layer %d (%s) "
                   "before it has %lld trainable parameters; expected fixed layers there (rff, "
                   "gaussian_basis, activations) or an iterative optimizer such as sgd",
                   opt, i + 1, desc, (long long)k);
    return -1;
  }
  return 0;
}

/* Targets as the fit sees them: class indices become one-hot rows (K = the
** dense layer's outputs), anything else is copied. (B, T0) -> (B, T) */
static int fit_targets(const dataset *ds, const lunet_tensor *y, int T, float *dst) {
  int B = y->shape.dim[0];
  int64_t T0 = lunet_row_size(y);
  if (ds->info.classes > 0 && T0 == 1) {
    memset(dst, 0, sizeof(float) * (size_t)B * (size_t)T);
    for (int i = 0; i < B; i++) {
      int k = (int)y->data[i];
      if (k < 0 || k >= T) {
        services_error("%s: class %d at a sample, expected 0..%d", ds->name, k, T - 1);
        return -1;
      }
      dst[(size_t)i * T + k] = 1.0f;
    }
    return 0;
  }
  memcpy(dst, y->data, sizeof(float) * (size_t)B * (size_t)T);
  return 0;
}

/* Everything a fit needs: the feature matrix (n, p), allocated once, the
** fit targets (n, T), and the final layer's tensors. */
typedef struct fit_state {
  const train_config *c;
  int last, p, T, batch;
  lunet_tensor phi, y;
  lunet_param tensors[4];
  int n_tensors;
  void *opt;
  batcher b;
  int64_t *order; /* (batch) sample indices of a batch */
} fit_state;

static int fit_init(fit_state *F, const train_config *c) {
  model *m = c->m;
  dataset *ds = c->data;
  memset(F, 0, sizeof *F);
  F->c = c;
  if (ds->info.n < 1) {
    services_error("train: dataset %s is empty", ds->name);
    return -1;
  }
  if (check_fit_options(c) || check_input(m, ds) || check_fit_model(c) || loss_open(c->loss, m, ds))
    return -1;
  F->last = m->n - 1;
  F->p = (int)lunet_numel(&m->nodes[F->last].in);
  F->T = (int)lunet_numel(&m->out);
  int64_t n = ds->info.n, T0 = dataset_target_size(ds);
  int onehot = ds->info.classes > 0 && T0 == 1;
  if ((onehot && ds->info.classes != F->T) || (!onehot && T0 != F->T)) {
    services_error("lunet.train: the final dense layer has %d outputs, but %s has %lld %s; expected "
                   "them equal", F->T, ds->name, (long long)(onehot ? ds->info.classes : T0),
                   onehot ? "classes (fitted as one-hot rows)" : "target values per sample");
    return -1;
  }
  const node *last = &m->nodes[F->last];
  F->n_tensors = last->plugin->desc->layer->parameters(last->self, F->tensors, 4);
  F->batch = c->batch < 256 ? 256 : c->batch;
  if (F->batch > n) F->batch = (int)n;
  const lunet_host *h = services_host();
  size_t rows = (size_t)n;
  F->phi = (lunet_tensor){h->alloc(sizeof(float) * rows * (size_t)F->p), {2, {(int)n, F->p}}, LUNET_CPU};
  F->y = (lunet_tensor){h->alloc(sizeof(float) * rows * (size_t)F->T), {2, {(int)n, F->T}}, LUNET_CPU};
  if (!F->phi.data || !F->y.data) {
    services_error("lunet.train: no memory for the (%lld, %d) feature matrix (%.0f MB)", (long long)n,
                   F->p, 4e-6 * (double)n * F->p);
    return -1;
  }
  if (model_reserve(m, F->batch) || batcher_init(&F->b, ds, F->batch)) return -1;
  if (!(F->order = malloc(sizeof(int64_t) * (size_t)F->batch))) return -1;
  services_clear_error();
  F->opt = c->opt->desc->optimizer->create(c->opt_params.v, F->tensors, F->n_tensors);
  if (!F->opt && !*services_last_error()) services_error("optimizer %s could not be created", c->opt->desc->name);
  return F->opt ? 0 : -1;
}

static void fit_free(fit_state *F) {
  if (F->opt) F->c->opt->desc->optimizer->destroy(F->opt);
  batcher_free(&F->b);
  free(F->order);
  free(F->phi.data);
  free(F->y.data);
  loss_close(F->c->loss);
}

/* Forwards the training set through the fixed layers into phi, in eval
** mode and in order, and fills the fit targets. (n, in...) -> (n, p) */
static int fit_features(fit_state *F) {
  const train_config *c = F->c;
  lunet_ctx ctx = {sizeof ctx, 0, NULL};
  int64_t n = c->data->info.n;
  for (int64_t start = 0; start < n; start += F->batch) {
    int B = (int)(n - start < F->batch ? n - start : F->batch);
    for (int i = 0; i < B; i++) F->order[i] = start + i;
    const lunet_tensor *h;
    if (batcher_fill(&F->b, c->data, F->order, B) ||
        !(h = model_forward_range(c->m, &F->b.x, &ctx, 0, F->last)) ||
        fit_targets(c->data, &F->b.y, F->T, F->y.data + start * F->T))
      return -1;
    memcpy(F->phi.data + start * F->p, h->data, sizeof(float) * (size_t)B * (size_t)F->p);
  }
  return 0;
}

/* Training loss and error of the fitted model, from the stored features:
** only the final layer runs again. */
static int fit_metrics(fit_state *F, metrics *out) {
  const train_config *c = F->c;
  lunet_ctx ctx = {sizeof ctx, 0, NULL};
  int64_t n = c->data->info.n, wrong = 0;
  double loss_sum = 0;
  for (int64_t start = 0; start < n; start += F->batch) {
    int B = (int)(n - start < F->batch ? n - start : F->batch);
    for (int i = 0; i < B; i++) F->order[i] = start + i;
    lunet_tensor h = {F->phi.data + start * F->p, {2, {B, F->p}}, LUNET_CPU};
    const lunet_tensor *y;
    double l;
    if (batcher_fill(&F->b, c->data, F->order, B) ||
        !(y = model_forward_range(c->m, &h, &ctx, F->last, F->last + 1)) ||
        c->loss->pe->desc->loss->forward[LUNET_CPU](c->loss->self, y, &F->b.y, &l, NULL))
      return -1;
    loss_sum += l * B;
    if (c->data->info.classes) wrong += count_errors(c->loss, y, &F->b.y);
  }
  out->loss = loss_sum / (double)n;
  out->error = c->data->info.classes ? (double)wrong / (double)n : NAN;
  return 0;
}

/* lunet.train with a closed-form optimizer: features, one fit, evaluation;
** reported as a single epoch. */
static int train_fit(const train_config *c, train_result *r) {
  fit_state F;
  double t0 = now_seconds();
  int rc = fit_init(&F, c) || fit_features(&F) ||
           c->opt->desc->optimizer->fit(F.opt, &F.phi, &F.y, F.tensors, F.n_tensors) ||
           fit_metrics(&F, &r->train);
  r->seconds = now_seconds() - t0;
  fit_free(&F);
  if (rc) return -1;
  r->epochs = 1;
  if (!isfinite(r->train.loss)) {
    r->diverged = 1;
    snprintf(r->message, sizeof r->message, "loss became %s after the closed-form fit",
             isnan(r->train.loss) ? "nan" : "inf");
    return 0;
  }
  epoch_report rep = {.epoch = 1, .seconds = r->seconds, .train = r->train, .evals = r->evals,
                      .evaluated = c->n_evals > 0};
  if (rep.evaluated && run_evals(c, r->evals, &rep.train)) return -1;
  loss_close(c->loss); /* run_evals reopened it for a next epoch */
  r->train = rep.train;
  train_config one = *c;
  one.epochs = 1;
  if (c->verbose) print_progress(&one, &rep);
  return c->on_epoch && c->on_epoch(c->ud, &rep) < 0 ? -1 : 0;
}

/* ---- the entry ----------------------------------------------------------- */

int train_run(const train_config *c, train_result *r) {
  memset(r, 0, sizeof *r);
  r->evals = calloc((size_t)c->n_evals + 1, sizeof *r->evals);
  for (int i = 0; i < c->n_evals; i++) r->evals[i].loss = r->evals[i].error = NAN;
  r->train.loss = r->train.error = NAN;
  if (optimizer_fit(c->opt)) return train_fit(c, r);
  loop L;
  double best = 0;
  int since = 0;
  int rc = loop_init(&L, c);
  for (int epoch = 1; rc == 0 && epoch <= c->epochs; epoch++) {
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
    r->epochs = epoch;
    rep.evaluated = c->n_evals > 0 && (epoch % c->eval_every == 0 || epoch == c->epochs);
    if (rep.evaluated && run_evals(c, r->evals, &rep.train)) {
      rc = -1;
      break;
    }
    r->train = rep.train;
    if (c->verbose) print_progress(c, &rep);
    int cb = c->on_epoch ? c->on_epoch(c->ud, &rep) : 0;
    if (cb < 0) rc = -1;
    if (cb != 0) break;
    if (c->patience > 0 && rep.evaluated && should_stop(&L, epoch, r->evals, &best, &since, r)) {
      r->stopped_early = 1;
      break;
    }
  }
  if (rc == 0 && c->patience > 0 && c->restore_best && r->best_epoch && r->best_epoch != r->epochs) {
    snapshot(c->m, L.best, 1);
    memcpy(r->evals, L.best_evals, sizeof *r->evals * (size_t)c->n_evals);
  }
  loop_free(&L);
  return rc;
}
