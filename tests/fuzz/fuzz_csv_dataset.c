/*
** fuzz_csv_dataset.c -- libFuzzer harness of the csv dataset plugin
** (plugins/datasets/csv.c, compiled in): libcsv's callbacks, the header,
** the target column, numbers, classes and the rows read back by get().
**
** Input: one options byte, then the CSV file. Options: bit 0 header =
** false, bit 1 task = "regression", bits 2-3 target: "" (the last
** column), "1", "y" or "label".
*/
#include "fuzz_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *targets[4] = {"", "1", "y", "label"};
  if (size < 1) return 0;
  unsigned opt = data[0];
  const char *path = fuzz_write("data.csv", data + 1, size - 1);
  param_given g[] = {
    {"path", LUNET_STRING, 0, path},
    {"header", LUNET_BOOL, !(opt & 1), NULL},
    {"task", LUNET_STRING, 0, opt & 2 ? "regression" : "classification"},
    {"target", LUNET_STRING, 0, targets[opt >> 2 & 3]},
  };
  dataset *ds = fuzz_open(g, 4);
  if (ds) fuzz_read(ds);
  dataset_close(ds);
  return 0;
}
