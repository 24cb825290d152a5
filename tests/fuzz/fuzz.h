/*
** fuzz.h -- what every libFuzzer harness of tests/fuzz uses: a private
** temporary folder, for the parsers that only take a path.
**
** Each harness is one .c file defining LLVMFuzzerTestOneInput; it includes
** this header once. A harness must never exit on bad input: the parsers
** under test report an error, the harness ignores it and returns 0.
*/
#ifndef LUNET_FUZZ_H
#define LUNET_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir_[64];

static void fuzz_remove_dir_(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_);
  if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_);
}

/* This process's temporary folder, made on the first call, removed at exit. */
static const char *fuzz_dir(void) {
  if (fuzz_dir_[0]) return fuzz_dir_;
  snprintf(fuzz_dir_, sizeof fuzz_dir_, "/tmp/lunet-fuzz-XXXXXX");
  if (!mkdtemp(fuzz_dir_)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  atexit(fuzz_remove_dir_);
  return fuzz_dir_;
}

/* Writes data[0..size) to NAME (a path relative to fuzz_dir(), whose
** folders exist) and returns the full path, in a static buffer. */
static const char *fuzz_write(const char *name, const uint8_t *data, size_t size) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror(path);
    abort();
  }
  return path;
}

#endif
