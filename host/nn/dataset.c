/*
** dataset.c -- plugin-backed and in-memory datasets behind one interface.
*/
#include "nn/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tensor.h"
#include "runtime/services.h"

/* 1 to 7 dimensions: a batch dimension goes in front. */
static int valid_shape(const lunet_shape *s) {
  if (s->ndim < 1 || s->ndim >= LUNET_MAX_DIMS) return 0;
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 1) return 0;
  return 1;
}

/* What a plugin wrote into info is usable: sizes, shapes, dtypes. */
static int valid_info(lunet_dataset_info *info) {
  if (info->n_inputs == 0) info->n_inputs = 1;
  if (info->n < 0 || info->classes < 0 || info->n_inputs < 1 || info->n_inputs > LUNET_MAX_INPUTS ||
      !valid_shape(&info->target))
    return 0;
  for (int k = 0; k < info->n_inputs; k++)
    if (!valid_shape(&info->input[k]) || (info->input_dtype[k] != LUNET_F32 && info->input_dtype[k] != LUNET_I32))
      return 0;
  return 1;
}

dataset *dataset_open(const plugin_entry *pe, const param_given *given, int n) {
  dataset *ds = calloc(1, sizeof *ds);
  if (!ds) {
    services_error("out of memory opening dataset %s", pe->desc->name);
    return NULL;
  }
  ds->plugin = pe;
  snprintf(ds->name, sizeof ds->name, "%s", pe->desc->name);
  ds->info.size = sizeof ds->info;
  if (params_resolve(pe->desc, given, n, &ds->params)) goto fail;
  services_clear_error();
  ds->self = pe->desc->dataset->open(ds->params.v, &ds->info);
  if (!ds->self) {
    if (!*services_last_error()) services_error("%s: could not be opened", ds->name);
    goto fail;
  }
  if (!valid_info(&ds->info)) {
    services_error("%s: the plugin described its data inconsistently (bad size, shape or dtype)", ds->name);
    dataset_close(ds);
    return NULL;
  }
  return ds;
fail:
  params_free(&ds->params);
  free(ds);
  return NULL;
}

dataset *dataset_from_memory(void *const *x, float *y, const lunet_dataset_info *info) {
  dataset *ds = calloc(1, sizeof *ds);
  int n_in = info->n_inputs ? info->n_inputs : 1;
  if (!ds) {
    for (int k = 0; k < n_in; k++) free(x[k]);
    free(y);
    services_error("out of memory for an in-memory dataset");
    return NULL;
  }
  snprintf(ds->name, sizeof ds->name, "data");
  ds->info = *info;
  ds->info.n_inputs = n_in;
  for (int k = 0; k < n_in; k++) ds->x[k] = x[k];
  ds->y = y;
  return ds;
}

void dataset_close(dataset *ds) {
  if (!ds) return;
  if (ds->plugin && ds->self) ds->plugin->desc->dataset->close(ds->self);
  params_free(&ds->params);
  for (int k = 0; k < LUNET_MAX_INPUTS; k++) free(ds->x[k]);
  free(ds->y);
  free(ds);
}

/* The plugin's dataset table when it has encode and decode (ABI 2.1), else
** NULL after an error naming the dataset and `what` was asked. */
static const lunet_dataset_api *tokenizer(const dataset *ds, const char *what) {
  const lunet_dataset_api *api = ds->plugin ? ds->plugin->desc->dataset : NULL;
  if (api && LUNET_HAS_FIELD(api, lunet_dataset_api, decode) && api->encode && api->decode) return api;
  services_error("dataset %s has no %s: it is not text data (lunet.dataset(\"text\", ...) has one)",
                 ds->name, what);
  return NULL;
}

int64_t dataset_encode(dataset *ds, const char *s, size_t len, int32_t *ids, int64_t cap) {
  const lunet_dataset_api *api = tokenizer(ds, "encode");
  return api ? api->encode(ds->self, s, len, ids, cap) : -1;
}

int64_t dataset_decode(dataset *ds, const int32_t *ids, int64_t n, char *text, int64_t cap) {
  const lunet_dataset_api *api = tokenizer(ds, "decode");
  return api ? api->decode(ds->self, ids, n, text, cap) : -1;
}

int64_t dataset_input_size(const dataset *ds, int k) { return lunet_numel(&ds->info.input[k]); }
int64_t dataset_target_size(const dataset *ds) { return lunet_numel(&ds->info.target); }
int dataset_has_targets(const dataset *ds) { return ds->plugin || ds->y; }

/* Rows idx[0..n) of in-memory data. */
static int memory_get(dataset *ds, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  int64_t ys = dataset_target_size(ds);
  for (int i = 0; i < n; i++) {
    if (idx[i] < 0 || idx[i] >= ds->info.n) {
      services_error("data: sample index %lld out of range [0, %lld)", (long long)idx[i],
                     (long long)ds->info.n);
      return -1;
    }
    for (int k = 0; k < ds->info.n_inputs; k++) {
      size_t row = 4 * (size_t)dataset_input_size(ds, k); /* float32 or int32 */
      memcpy((char *)x[k].data + i * row, (const char *)ds->x[k] + idx[i] * row, row);
    }
    if (ds->y) memcpy(y->f32 + i * ys, ds->y + idx[i] * ys, sizeof(float) * (size_t)ys);
    else memset(y->f32 + i * ys, 0, sizeof(float) * (size_t)ys);
  }
  return 0;
}

/* Sets the shapes of a batch of n samples. */
static void batch_shapes(const dataset *ds, int n, lunet_tensor *x, lunet_tensor *y) {
  for (int k = 0; k < ds->info.n_inputs; k++) tensor_batched(&x[k], &ds->info.input[k], ds->info.input_dtype[k], n);
  tensor_batched(y, &ds->info.target, LUNET_F32, n);
}

int dataset_get(dataset *ds, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  batch_shapes(ds, n, x, y);
  if (ds->plugin) return ds->plugin->desc->dataset->get(ds->self, idx, n, x, y);
  return memory_get(ds, idx, n, x, y);
}

int dataset_get_train(dataset *ds, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y,
                      int64_t epoch) {
  const lunet_dataset_api *api = ds->plugin ? ds->plugin->desc->dataset : NULL;
  if (!api || !LUNET_HAS_FIELD(api, lunet_dataset_api, get_train) || !api->get_train)
    return dataset_get(ds, idx, n, x, y);
  batch_shapes(ds, n, x, y);
  return api->get_train(ds->self, idx, n, x, y, epoch);
}
