/*
** eval.c -- evaluation and prediction over a dataset; see eval.h.
*/
#include "nn/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/text.h"
#include "nn/batch.h"
#include "runtime/services.h"

int model_accepts(model *m, const dataset *ds) {
  if (!m->built && m->n_inputs != ds->info.n_inputs) {
    services_error("model takes %d input%s but dataset %s gives %d per sample", m->n_inputs,
                   m->n_inputs == 1 ? "" : "s", ds->name, ds->info.n_inputs);
    return -1;
  }
  if (model_build(m, ds->info.input, ds->info.input_dtype)) return -1;
  for (int k = 0; k < m->n_inputs; k++) {
    if (k < ds->info.n_inputs && lunet_numel(&m->in[k]) == lunet_numel(&ds->info.input[k]) &&
        m->in_dtype[k] == ds->info.input_dtype[k] && m->n_inputs == ds->info.n_inputs)
      continue;
    char a[128], b[128] = "nothing";
    shape_format(&m->in[k], a, sizeof a);
    if (k < ds->info.n_inputs) shape_format(&ds->info.input[k], b, sizeof b);
    services_error("model expects inputs of shape %s%s but dataset %s gives %s%s", a,
                   m->in_dtype[k] == LUNET_I32 ? " (token ids)" : "", ds->name, b,
                   k < ds->info.n_inputs && ds->info.input_dtype[k] == LUNET_I32 ? " (token ids)" : "");
    return -1;
  }
  return 0;
}

/* The batches of a pass over ds in order: buffers, sample indices. */
typedef struct pass {
  batch b;
  int64_t *order;
  int size;
} pass;

static int pass_open(pass *p, model *m, dataset *ds, int batch) {
  p->size = batch > ds->info.n ? (ds->info.n > 0 ? (int)ds->info.n : 1) : batch;
  p->order = malloc(sizeof(int64_t) * (size_t)p->size);
  if (batch_init(&p->b, ds, p->size) || model_reserve(m, p->size)) return -1;
  if (p->order) return 0;
  services_error("out of memory for a pass over %s", ds->name);
  return -1;
}

static void pass_close(pass *p) {
  batch_free(&p->b);
  free(p->order);
}

/* Fills the batch at `start`; its size. */
static int pass_fill(pass *p, dataset *ds, int64_t start) {
  int B = (int)(ds->info.n - start < p->size ? ds->info.n - start : p->size);
  for (int i = 0; i < B; i++) p->order[i] = start + i;
  return batch_fill(&p->b, ds, p->order, B) ? -1 : B;
}

int predict(model *m, dataset *ds, int batch, int (*fn)(void *, const lunet_tensor *), void *ud) {
  if (model_accepts(m, ds)) return -1;
  pass p = {0};
  lunet_ctx ctx = {sizeof ctx, 0, NULL, LUNET_CPU, 1};
  int rc = pass_open(&p, m, ds, batch);
  for (int64_t start = 0; rc == 0 && start < ds->info.n; start += p.size) {
    const lunet_tensor *y;
    ctx.reset = start == 0;
    if (pass_fill(&p, ds, start) < 0 || !(y = model_forward(m, p.b.x, &ctx)) || fn(ud, y)) rc = -1;
  }
  pass_close(&p);
  return rc;
}

int evaluate(model *m, dataset *ds, const loss_fn *spec, int batch, metrics *out) {
  loss_fn loss = {.pe = spec->pe, .params = spec->params}; /* its own instance */
  if (model_accepts(m, ds) || loss_open(&loss, m, ds)) return -1;
  pass p = {0};
  lunet_ctx ctx = {sizeof ctx, 0, NULL, LUNET_CPU, 1};
  int rc = pass_open(&p, m, ds, batch);
  double loss_sum = 0;
  int64_t wrong = 0, units = 0;
  for (int64_t start = 0; rc == 0 && start < ds->info.n; start += p.size) {
    const lunet_tensor *y;
    double l;
    int B = pass_fill(&p, ds, start);
    ctx.reset = start == 0;
    if (B < 0 || !(y = model_forward(m, p.b.x, &ctx)) || loss_value(&loss, y, &p.b.y, &l, NULL)) {
      rc = -1;
      break;
    }
    int64_t w = counted_units(&loss, &p.b.y); /* a mean over tokens, not batches */
    loss_sum += l * (double)w;
    units += w;
    if (ds->info.classes) wrong += count_errors(&loss, y, &p.b.y);
  }
  pass_close(&p);
  loss_close(&loss);
  if (rc) return -1;
  out->loss = units ? loss_sum / (double)units : NAN;
  metrics_finish(out, &loss, ds, wrong, units);
  return 0;
}

void metrics_finish(metrics *mt, const loss_fn *l, const dataset *ds, int64_t wrong, int64_t units) {
  /* NaN outputs give a NaN loss, and their argmax is meaningless: no error
  ** rate either; nor is there one when every token was ignored */
  mt->error = ds->info.classes && units > 0 && !isnan(mt->loss) ? (double)wrong / (double)units : NAN;
  mt->classified = ds->info.classes > 0;
  mt->perplexity = l->perplexity ? exp(mt->loss) : NAN;
}
