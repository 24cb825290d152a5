/*
** fuzz_dataset.h -- for the harnesses of dataset plugins: the plugin's .c
** file is compiled into the harness, and opened and read through the
** host's own dataset_open/dataset_get (the code `lunet run` uses).
*/
#ifndef LUNET_FUZZ_DATASET_H
#define LUNET_FUZZ_DATASET_H

#include "fuzz.h"
#include "nn/dataset.h"
#include "runtime/services.h"

/* Opens the plugin compiled into this harness with parameters g[0..n), as
** `lunet run` does; NULL after an error, which the harness ignores. */
static dataset *fuzz_open(const param_given *g, int n) {
  static plugin_entry pe;
  if (!pe.desc) {
    pe.desc = lunet_plugin_init(services_host());
    pe.path = "compiled into the harness";
  }
  return dataset_open(&pe, g, n);
}

/* Reads the first and the last sample of ds. */
static void fuzz_read(dataset *ds) {
  lunet_tensor x[LUNET_MAX_INPUTS], y = {.size = sizeof y};
  int64_t idx[2] = {0, ds->info.n - 1};
  for (int k = 0; k < ds->info.n_inputs; k++)
    x[k] = (lunet_tensor){.size = sizeof x[k], .data = malloc(2 * 4 * (size_t)dataset_input_size(ds, k))};
  y.data = malloc(2 * sizeof(float) * (size_t)dataset_target_size(ds));
  (void)dataset_get(ds, idx, 2, x, &y);
  for (int k = 0; k < ds->info.n_inputs; k++) free(x[k].data);
  free(y.data);
}

#endif
