/*
** fuzz_checkpoint.c -- libFuzzer harness of the checkpoint loader
** (host/nn/checkpoint.c, checkpoint_load): the envelope (magic, version,
** size, CRC32), the model spec of versions 1 and 2, the rebuild through the
** layer plugins of this build, and the tensor records.
**
** Input: one mode byte, then bytes. Mode bit 0 set: the bytes are the whole
** file, so the envelope's checks are fuzzed. Clear: the bytes are the
** content, wrapped in a valid envelope (magic, version 1 + bits 1-2, so 1
** to 4, the size, and a CRC32 that matches), so the fuzzer works on the
** parser behind the checksum, as a crafted file would.
*/
#include <zlib.h>

#include "fuzz.h"
#include "nn/checkpoint.h"

static void put_le(unsigned char *b, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b[i] = (unsigned char)(v >> 8 * i);
}

/* magic (8), version (u32), file size (u64), content, CRC32 of all before it. */
static const char *wrap(uint32_t version, const uint8_t *content, size_t n) {
  size_t size = 20 + n + 4;
  unsigned char *b = malloc(size);
  memcpy(b, CHECKPOINT_MAGIC, 8);
  put_le(b + 8, version, 4);
  put_le(b + 12, size, 8);
  if (n) memcpy(b + 20, content, n);
  put_le(b + 20 + n, crc32(crc32(0L, Z_NULL, 0), b, (uInt)(size - 4)), 4);
  const char *path = fuzz_write("model.ckpt", b, size);
  free(b);
  return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned mode = data[0];
  const char *path = mode & 1 ? fuzz_write("model.ckpt", data + 1, size - 1)
                              : wrap(1 + (mode >> 1 & 3), data + 1, size - 1);
  model_free(checkpoint_load(path));
  return 0;
}
