/*
** dataset.h -- one interface over the two sources of samples: a dataset
** plugin, or arrays handed over from Lua (lunet.data{...}), held in memory.
*/
#ifndef LUNET_DATASET_H
#define LUNET_DATASET_H

#include <lunet/plugin.h>

#include "runtime/params.h"
#include "runtime/registry.h"

typedef struct dataset {
  lunet_dataset_info info;
  char name[64];               /* plugin name, or "data" for in-memory */
  const plugin_entry *plugin;  /* NULL for in-memory data */
  void *self;                  /* the plugin's instance */
  param_values params;
  float *x, *y;                /* in-memory samples: (n, input...), (n, target...) */
} dataset;

/* Opens a plugin dataset; NULL with services_error() set. */
dataset *dataset_open(const plugin_entry *pe, const param_given *given, int n);

/* Wraps arrays (ownership of x and y passes to the dataset). */
dataset *dataset_from_memory(float *x, float *y, const lunet_dataset_info *info);

void dataset_close(dataset *ds);

/* Copies samples idx[0..n) to x (n, input...) and y (n, target...). */
int dataset_get(dataset *ds, const int64_t *idx, int n, float *x, float *y);

int64_t dataset_input_size(const dataset *ds);
int64_t dataset_target_size(const dataset *ds);

#endif
