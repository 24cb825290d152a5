/*
** dataset.h -- one interface over the two sources of samples: a dataset
** plugin, or arrays handed over from Lua (lunet.data{...}), held in memory.
**
** A sample is one tensor per model input (most data has one: info.n_inputs
** is 1 once opened), float32 or int32 token ids, and one float32 target.
*/
#ifndef LUNET_DATASET_H
#define LUNET_DATASET_H

#include <lunet/plugin.h>

#include "runtime/params.h"
#include "runtime/registry.h"

typedef struct dataset {
  lunet_dataset_info info;     /* n_inputs >= 1 once opened */
  char name[64];               /* plugin name, or "data" for in-memory */
  const plugin_entry *plugin;  /* NULL for in-memory data */
  void *self;                  /* the plugin's instance */
  param_values params;
  void *x[LUNET_MAX_INPUTS];   /* in-memory samples: (n, input k...) of 4-byte elements */
  float *y;                    /* in-memory targets: (n, target...); NULL: none (predict only) */
} dataset;

/* Opens a plugin dataset; NULL with services_error() set. */
dataset *dataset_open(const plugin_entry *pe, const param_given *given, int n);

/* Wraps arrays x[0..info->n_inputs) and y, whose ownership passes to the
** dataset (malloc'ed); y NULL is data without targets, for prediction (its
** batches hold zeros as targets, and loss_open refuses it). NULL when out
** of memory (the arrays are freed). */
dataset *dataset_from_memory(void *const *x, float *y, const lunet_dataset_info *info);

void dataset_close(dataset *ds);

/* Copies samples idx[0..n) to x[0..n_inputs) (n, input k...) and y
** (n, target...), whose data the caller provides; sets their shapes. */
int dataset_get(dataset *ds, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y);

/* The same samples as epoch `epoch` (0, 1, ...) of training sees them: the
** plugin's get_train (ABI 2.2, augmentation) when it has one, else as
** dataset_get. */
int dataset_get_train(dataset *ds, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y,
                      int64_t epoch);

/* Text data: the ids of UTF-8 s[0..len) into ids[0..cap), and the text of
** ids[0..n) into text[0..cap), through the plugin's encode and decode (the
** ABI's contract: the count or the length, -1 after services_error()).
** Data without them (in-memory data, other plugins) is an error. */
int64_t dataset_encode(dataset *ds, const char *s, size_t len, int32_t *ids, int64_t cap);
int64_t dataset_decode(dataset *ds, const int32_t *ids, int64_t n, char *text, int64_t cap);

int64_t dataset_input_size(const dataset *ds, int k);
int64_t dataset_target_size(const dataset *ds);
int dataset_has_targets(const dataset *ds);

#endif
