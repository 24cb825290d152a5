/*
** fuzz_text.c -- libFuzzer harness of the text dataset plugin
** (plugins/datasets/text.c, compiled in) on a file: UTF-8 checking, the
** char and word tokenizers, BPE training over bytes or chars, the 90/5/5
** split at character edges, the windows and streams, and encode/decode of
** a sample's ids.
**
** Input: one options byte, then the file (plain or gzip). Options: bits
** 0-1 level char, word, bpe (bytes), bpe (chars); bits 2-3 split train,
** valid, test, train; bit 4 seq_len 3 (else 1); bit 5 streams = 2; bit 6
** vocab 5 (char and word) or 270 (bpe), else all (char, word) or 260.
*/
#include "fuzz_dataset.h"

/* Decodes sample 0's ids and encodes that text again. */
static void round_trip(dataset *ds) {
  int64_t T = dataset_input_size(ds, 0), idx = 0;
  int32_t ids[8];
  float y[8];
  char text[256];
  lunet_tensor x = {.size = sizeof x, .data = ids}, t = {.size = sizeof t, .data = y};
  if (T > 8 || dataset_get(ds, &idx, 1, &x, &t)) return;
  int64_t len = dataset_decode(ds, ids, T, text, sizeof text);
  if (len >= 0) (void)dataset_encode(ds, text, (size_t)len, ids, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *levels[4] = {"char", "word", "bpe", "bpe"};
  static const char *splits[4] = {"train", "valid", "test", "train"};
  if (size < 1) return 0;
  unsigned opt = data[0];
  int level = opt & 3, bpe = level >= 2;
  const char *path = fuzz_write("text.txt", data + 1, size - 1);
  param_given g[] = {
    {"file", LUNET_STRING, 0, path},
    {"level", LUNET_STRING, 0, levels[level]},
    {"bpe_base", LUNET_STRING, 0, level == 3 ? "chars" : "bytes"},
    {"split", LUNET_STRING, 0, splits[opt >> 2 & 3]},
    {"seq_len", LUNET_NUMBER, opt & 16 ? 3 : 1, NULL},
    {"streams", LUNET_NUMBER, opt & 32 ? 2 : 0, NULL},
    {"vocab", LUNET_NUMBER, opt & 64 ? (bpe ? 270 : 5) : (bpe ? 260 : 0), NULL},
  };
  dataset *ds = fuzz_open(g, 7);
  if (!ds) return 0;
  fuzz_read(ds);
  round_trip(ds);
  dataset_close(ds);
  return 0;
}
