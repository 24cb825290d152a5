/*
** fuzz_idx.c -- libFuzzer harness of the fashion_mnist dataset plugin's IDX
** reader (plugins/datasets/fashion_mnist.c, compiled in): the labels and the
** images file, plain or gzip, each checked for its magic, sizes, counts,
** truncation and trailing bytes.
**
** Input: u16 little-endian L, one options byte, then the labels file (L
** bytes, or what is left) and the images file (the rest). The files go to
** $LUNET_DATA_DIR/fashion-mnist/ under their ".gz" names, found before the
** installed dataset's (zlib reads a plain file as itself). Options: bits 0-1 downsample - 1, bit 2 onehot
** targets, bit 3 label_noise 0.25, bit 4 classes "3,0", bit 5 split test.
*/
#include "fuzz_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    char dir[128];
    snprintf(dir, sizeof dir, "%s/fashion-mnist", fuzz_dir());
    mkdir(dir, 0700);
    setenv("LUNET_DATA_DIR", fuzz_dir(), 1);
    ready = 1;
  }
  if (size < 3) return 0;
  size_t nl = (size_t)data[0] | (size_t)data[1] << 8, rest = size - 3;
  unsigned opt = data[2];
  if (nl > rest) nl = rest;
  int test = opt >> 5 & 1;
  fuzz_write(test ? "fashion-mnist/t10k-labels-idx1-ubyte.gz"
                  : "fashion-mnist/train-labels-idx1-ubyte.gz", data + 3, nl);
  fuzz_write(test ? "fashion-mnist/t10k-images-idx3-ubyte.gz"
                  : "fashion-mnist/train-images-idx3-ubyte.gz", data + 3 + nl, rest - nl);
  param_given g[] = {
    {"downsample", LUNET_NUMBER, 1 + (opt & 3), NULL},
    {"targets", LUNET_STRING, 0, opt >> 2 & 1 ? "onehot" : "index"},
    {"label_noise", LUNET_NUMBER, opt >> 3 & 1 ? 0.25 : 0, NULL},
    {"classes", LUNET_STRING, 0, opt >> 4 & 1 ? "3,0" : ""},
    {"split", LUNET_STRING, 0, test ? "test" : "train"},
  };
  dataset *ds = fuzz_open(g, 5);
  if (ds) fuzz_read(ds);
  dataset_close(ds);
  return 0;
}
