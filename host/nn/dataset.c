/*
** dataset.c -- plugin-backed and in-memory datasets behind one interface.
*/
#include "nn/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/services.h"

static int valid_shape(const lunet_shape *s) {
  if (s->ndim < 1 || s->ndim > LUNET_MAX_DIMS) return 0;
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 1) return 0;
  return 1;
}

dataset *dataset_open(const plugin_entry *pe, const param_given *given, int n) {
  dataset *ds = calloc(1, sizeof *ds);
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
  if (ds->info.n < 0 || !valid_shape(&ds->info.input) || !valid_shape(&ds->info.target) ||
      ds->info.classes < 0) {
    services_error("%s: the plugin described its data inconsistently (bad size or shape)", ds->name);
    dataset_close(ds);
    return NULL;
  }
  return ds;
fail:
  params_free(&ds->params);
  free(ds);
  return NULL;
}

dataset *dataset_from_memory(float *x, float *y, const lunet_dataset_info *info) {
  dataset *ds = calloc(1, sizeof *ds);
  snprintf(ds->name, sizeof ds->name, "data");
  ds->info = *info;
  ds->x = x;
  ds->y = y;
  return ds;
}

void dataset_close(dataset *ds) {
  if (!ds) return;
  if (ds->plugin && ds->self) ds->plugin->desc->dataset->close(ds->self);
  params_free(&ds->params);
  free(ds->x);
  free(ds->y);
  free(ds);
}

int64_t dataset_input_size(const dataset *ds) { return lunet_numel(&ds->info.input); }
int64_t dataset_target_size(const dataset *ds) { return lunet_numel(&ds->info.target); }

int dataset_get(dataset *ds, const int64_t *idx, int n, float *x, float *y) {
  if (ds->plugin) return ds->plugin->desc->dataset->get(ds->self, idx, n, x, y);
  int64_t xs = dataset_input_size(ds), ys = dataset_target_size(ds);
  for (int i = 0; i < n; i++) {
    if (idx[i] < 0 || idx[i] >= ds->info.n) {
      services_error("data: sample index %lld out of range [0, %lld)", (long long)idx[i],
                     (long long)ds->info.n);
      return -1;
    }
    memcpy(x + i * xs, ds->x + idx[i] * xs, sizeof(float) * (size_t)xs);
    memcpy(y + i * ys, ds->y + idx[i] * ys, sizeof(float) * (size_t)ys);
  }
  return 0;
}
