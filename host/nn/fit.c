/*
** fit.c -- lunet.train with a closed-form optimizer (lstsq): the training
** set is forwarded once, in eval mode, through the layers before the
** model's final dense layer into one (n, p) feature matrix, the optimizer's
** fit solves for that layer, and the fitted model is scored, as one epoch.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "nn/batch.h"
#include "nn/train.h"
#include "runtime/services.h"

/* Options of the gradient loop have no meaning for a closed-form fit. */
static int check_fit_options(const train_config *c) {
  const char *name = c->opt->desc->name, *bad = NULL;
  if (c->l1 > 0) bad = "l1";
  else if (c->l2 > 0) bad = "l2";
  else if (c->clip_norm > 0) bad = "clip_norm";
  else if (c->sched_on) bad = "schedule/warmup";
  else if (c->patience > 0) bad = "patience";
  else if (c->checkpoint) bad = "checkpoint";
  if (!bad) return 0;
  const char *why = strcmp(bad, "checkpoint") == 0
                        ? "one pass has nothing to resume; save the fitted model with model:save()"
                        : "a penalty is the optimizer's own parameter, e.g. lambda";
  services_error("lunet.train: '%s' does not apply to optimizer %s, a closed-form fit; remove it (%s)",
                 bad, name, why);
  return -1;
}

/* The model must end in a dense layer after layers with nothing to train. */
static int check_fit_model(const train_config *c) {
  model *m = c->m;
  const char *opt = c->opt->desc->name;
  char name[256];
  const node *last = &m->nodes[m->output];
  node_name(m, m->output, name, sizeof name);
  if (last->kind != NODE_LAYER || strcmp(last->plugin->desc->name, "dense") != 0 || last->n_in != 1) {
    services_error("lunet.train: optimizer %s fits the model's final layer in closed form, which "
                   "must be a dense layer; the last is %s", opt, name);
    return -1;
  }
  for (int i = 0; i < m->n; i++) {
    if (i == m->output || !m->nodes[i].trains) continue;
    node_name(m, i, name, sizeof name);
    services_error("lunet.train: optimizer %s fits only the final dense layer, but %s before it "
                   "has %lld trainable parameters; expected fixed layers there (rff, "
                   "gaussian_basis, activations) or an iterative optimizer such as sgd",
                   opt, name, (long long)weights_count(&m->ws, i));
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
      int k = (int)y->f32[i];
      if (k < 0 || k >= T) {
        services_error("%s: class %d at a sample, expected 0..%d", ds->name, k, T - 1);
        return -1;
      }
      dst[(size_t)i * T + k] = 1.0f;
    }
    return 0;
  }
  memcpy(dst, y->f32, sizeof(float) * (size_t)B * (size_t)T);
  return 0;
}

/* Everything a fit needs: the feature matrix (n, p), allocated once, the
** fit targets (n, T), and the final layer's parameters. */
typedef struct fit_state {
  const train_config *c;
  int last, p, T, batch;
  lunet_tensor phi, y;
  lunet_params ps;  /* the final layer's trained tensors, a view into the model's */
  void *opt;
  batch b;
  int64_t *order;   /* (batch) sample indices of a batch */
} fit_state;

static lunet_tensor matrix(float *data, int rows, int cols) {
  return (lunet_tensor){.size = sizeof(lunet_tensor), .dtype = LUNET_F32, .device = LUNET_CPU,
                        .shape = {2, {rows, cols}}, .data = data};
}

/* The final layer's slice of the model's flat parameters: its tensors
** were registered one after the other, so they are contiguous. */
static void final_params(fit_state *F) {
  const weights *ws = &F->c->m->ws;
  int first = -1, n = 0;
  int64_t len = 0;
  for (int i = 0, k = 0; i < ws->n; i++) {
    if (!ws->w[i].grad) continue;
    if (ws->w[i].node == F->last) {
      if (first < 0) first = k;
      n++;
      len += lunet_numel(&ws->w[i].value->shape);
    }
    k++;
  }
  F->ps = ws->view;
  F->ps.tensors = ws->trained + first;
  F->ps.n = n;
  F->ps.value.f32 = ws->trained[first].value->f32;
  F->ps.grad.f32 = ws->trained[first].grad->f32;
  F->ps.value.shape.dim[0] = F->ps.grad.shape.dim[0] = (int32_t)len;
}

static int fit_init(fit_state *F, const train_config *c) {
  model *m = c->m;
  dataset *ds = c->data;
  memset(F, 0, sizeof *F);
  F->c = c;
  if (ds->info.n < 1) {
    services_error("train: dataset %s is empty", ds->name);
    return -1;
  }
  if (check_fit_options(c) || model_accepts(m, ds) || check_fit_model(c) || loss_open(c->loss, m, ds))
    return -1;
  F->last = m->output;
  int src = m->nodes[F->last].in[0];
  F->p = (int)lunet_numel(src >= 0 ? &m->nodes[src].out : &m->in[MODEL_INPUT(src)]);
  F->T = (int)lunet_numel(&m->out);
  int64_t n = ds->info.n, T0 = dataset_target_size(ds);
  int onehot = ds->info.classes > 0 && T0 == 1;
  if ((onehot && ds->info.classes != F->T) || (!onehot && T0 != F->T)) {
    services_error("lunet.train: the final dense layer has %d outputs, but %s has %lld %s; expected "
                   "them equal", F->T, ds->name, (long long)(onehot ? ds->info.classes : T0),
                   onehot ? "classes (fitted as one-hot rows)" : "target values per sample");
    return -1;
  }
  final_params(F);
  F->batch = c->batch < 256 ? 256 : c->batch;
  if (F->batch > n) F->batch = (int)n;
  const lunet_host *h = services_host();
  F->phi = matrix(h->alloc(sizeof(float) * (size_t)n * (size_t)F->p), (int)n, F->p);
  F->y = matrix(h->alloc(sizeof(float) * (size_t)n * (size_t)F->T), (int)n, F->T);
  if (!F->phi.data || !F->y.data) {
    services_error("lunet.train: no memory for the (%lld, %d) feature matrix (%.0f MB)", (long long)n,
                   F->p, 4e-6 * (double)n * F->p);
    return -1;
  }
  if (model_reserve(m, F->batch) || batch_init(&F->b, ds, F->batch)) return -1;
  if (!(F->order = malloc(sizeof(int64_t) * (size_t)F->batch))) {
    services_error("out of memory for the fit's batch order");
    return -1;
  }
  services_clear_error();
  F->opt = c->opt->desc->optimizer->create(c->opt_params.v, &F->ps);
  if (!F->opt && !*services_last_error()) services_error("optimizer %s could not be created", c->opt->desc->name);
  return F->opt ? 0 : -1;
}

static void fit_free(fit_state *F) {
  if (F->opt) F->c->opt->desc->optimizer->destroy(F->opt);
  batch_free(&F->b);
  free(F->order);
  services_host()->free(F->phi.data);
  services_host()->free(F->y.data);
  loss_close(F->c->loss);
}

/* Fills the batch of samples [start, start + B). */
static int fill(fit_state *F, int64_t start, int B) {
  for (int i = 0; i < B; i++) F->order[i] = start + i;
  return batch_fill(&F->b, F->c->data, F->order, B);
}

/* Forwards the training set through the fixed layers into phi, in eval
** mode and in order, and fills the fit targets. (n, in...) -> (n, p) */
static int fit_features(fit_state *F) {
  const train_config *c = F->c;
  model *m = c->m;
  lunet_ctx ctx = {sizeof ctx, 0, NULL, LUNET_CPU, 1};
  int64_t n = c->data->info.n;
  int src = m->nodes[F->last].in[0];
  for (int64_t start = 0; start < n; start += F->batch) {
    int B = (int)(n - start < F->batch ? n - start : F->batch);
    ctx.reset = start == 0;
    if (fill(F, start, B) || model_forward_until(m, F->b.x, &ctx, F->last) ||
        fit_targets(c->data, &F->b.y, F->T, F->y.f32 + start * F->T))
      return -1;
    const float *h = src >= 0 ? m->nodes[src].y.f32 : F->b.x[MODEL_INPUT(src)].f32;
    memcpy(F->phi.f32 + start * F->p, h, sizeof(float) * (size_t)B * (size_t)F->p);
  }
  return 0;
}

/* Training loss and error of the fitted model, from the stored features:
** only the final layer runs again. */
static int fit_metrics(fit_state *F, metrics *out) {
  const train_config *c = F->c;
  lunet_ctx ctx = {sizeof ctx, 0, NULL, LUNET_CPU, 1};
  int64_t n = c->data->info.n, wrong = 0, units = 0;
  double loss_sum = 0;
  for (int64_t start = 0; start < n; start += F->batch) {
    int B = (int)(n - start < F->batch ? n - start : F->batch);
    lunet_tensor h = matrix(F->phi.f32 + start * F->p, B, F->p);
    ctx.reset = start == 0;
    const lunet_tensor *y;
    double l;
    if (fill(F, start, B) || !(y = model_forward_node(c->m, F->last, &h, &ctx)) ||
        loss_value(c->loss, y, &F->b.y, &l, NULL))
      return -1;
    int64_t w = counted_units(c->loss, &F->b.y); /* a mean over tokens, not batches */
    loss_sum += l * (double)w;
    units += w;
    if (c->data->info.classes) wrong += count_errors(c->loss, y, &F->b.y);
  }
  out->loss = units ? loss_sum / (double)units : NAN;
  metrics_finish(out, c->loss, c->data, wrong, units);
  return 0;
}

int train_fit(const train_config *c, train_result *r) {
  fit_state F;
  double t0 = now_seconds();
  int rc = fit_init(&F, c) || fit_features(&F) ||
           c->opt->desc->optimizer->fit(F.opt, &F.phi, &F.y, &F.ps) || fit_metrics(&F, &r->train);
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
  if (rep.evaluated && train_evals(c, r->evals, &rep.train)) return -1;
  r->train = rep.train;
  train_config one = *c;
  one.epochs = 1;
  if (c->verbose) train_progress(&one, &rep);
  return c->on_epoch && c->on_epoch(c->ud, &rep) < 0 ? -1 : 0;
}
