/*
** fuzz_bpe.c -- libFuzzer harness of the BPE tokenizer file loader
** (include/lunet/bpe.h, lunet_bpe_load, which lunet.bpe.load of
** host/lua/lua_bpe.c calls): the header, every symbol and merge line, the
** \xHH escapes. A tokenizer that loads then encodes the input itself and
** decodes the ids back, so a file that loads but is inconsistent shows:
** over base "bytes", decode(encode(s)) must be s (the harness aborts if not).
**
** Input: the tokenizer file.
*/
#include <lunet/bpe.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[LUNET_BPE_ERROR];
  lunet_bpe *t = lunet_bpe_load(fuzz_write("tok.bpe", data, size), err);
  if (!t) return 0;
  int32_t *ids = malloc(sizeof *ids * (size + 1));
  char *text = malloc(4 * size + 16);
  int64_t n = lunet_bpe_encode(t, (const char *)data, size, ids, (int64_t)size + 1, err);
  int64_t len = n >= 0 ? lunet_bpe_decode(t, ids, n, text, 4 * (int64_t)size + 16, err) : -1;
  if (lunet_bpe_base_of(t) == LUNET_BPE_BYTES &&
      (len != (int64_t)size || (size && memcmp(text, data, size) != 0))) {
    fprintf(stderr, "fuzz_bpe: decode(encode(s)) != s over bytes: %s\n", len < 0 ? err : "");
    abort();
  }
  free(ids);
  free(text);
  lunet_bpe_free(t);
  return 0;
}
