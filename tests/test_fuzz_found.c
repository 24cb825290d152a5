/*
** test_fuzz_found.c -- the inputs the fuzzers of tests/fuzz found that
** crashed lunet, one test each, so that the normal suite (and its ASan run
** in CI) keeps them fixed. Each input is read from the harness's seed
** corpus, tests/fuzz/corpus/HARNESS/crash_*, where it also stays, and given
** to the parser the way a user's file would be (see the harness's header
** comment for how its input maps to files and parameters).
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lunet/bpe.h>

#include "checkpoint.h"
#include "common.h"
#include "dataset.h"
#include "registry.h"
#include "services.h"

/* The corpus file's bytes from `skip` on, written to a fresh temporary
** file whose name is returned (static buffer). */
static const char *corpus_file(const char *harness, const char *name, size_t skip) {
  static char path[] = "/tmp/lunet_fuzz_found_XXXXXX";
  char from[1024];
  snprintf(from, sizeof from, "%s/fuzz/corpus/%s/%s", LUNET_TEST_DIR, harness, name);
  FILE *in = fopen(from, "rb");
  cr_assert(in, "cannot open %s", from);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  cr_assert_gt(n, skip, "%s is shorter than expected", from);
  strcpy(path, "/tmp/lunet_fuzz_found_XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, buf + skip, n - skip), (ssize_t)(n - skip));
  close(fd);
  return path;
}

/* Opening dataset `name` with g[0..n) fails with a message holding each of
** want[0..nwant). */
static void open_fails(const char *name, const param_given *g, int n, const char *const *want,
                       int nwant) {
  registry_init();
  const plugin_entry *pe = registry_find(LUNET_DATASET, name);
  cr_assert(pe, "%s", services_last_error());
  dataset *ds = dataset_open(pe, g, n);
  cr_assert_null(ds, "%s opened a corrupt file", name);
  for (int i = 0; i < nwant; i++)
    cr_expect(strstr(services_last_error(), want[i]), "'%s' lacks '%s'", services_last_error(),
              want[i]);
}

/* A corrupt gzip file: zlib's message was printed after gzclose() had
** freed it (a use-after-free that ASan reports; a garbled message without). */
Test(fuzz_found, text_corrupt_gzip_names_zlib_reason) {
  const char *path = corpus_file("text", "crash_corrupt_gzip", 1);
  param_given g[] = {P_STR("file", path)};
  const char *want[] = {"cannot read file", path, "invalid distance"};
  open_fails("text", g, 1, want, 3);
  remove(path);
}

/* A version 1 checkpoint of 400 bytes, valid checksum, whose input is
** 67108868 features wide: its first dense layer (3 outputs) needed 800 MB
** and 201 million random draws before the tensors were found not to fit.
** The model may now hold no more values than the rest of the file. */
Test(fuzz_found, checkpoint_larger_than_its_file_is_refused_before_building) {
  const char *path = corpus_file("checkpoint", "crash_huge_input_v1", 1);
  model *m = checkpoint_load(path);
  cr_assert_null(m, "a corrupt checkpoint loaded");
  const char *want[] = {"cannot rebuild the model", "1.dense.weight", "201326604 values",
                        "the file is corrupt"};
  for (int i = 0; i < 4; i++)
    cr_expect(strstr(services_last_error(), want[i]), "'%s' lacks '%s'", services_last_error(),
              want[i]);
  remove(path);
}

/* Lets this process map `extra` bytes more than it has mapped now (ASan's
** and TSan's reservations included). */
static void limit_address_space(size_t extra) {
  unsigned long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%lu", &pages) != 1) abort();
  fclose(f);
  rlim_t most = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
  if (setrlimit(RLIMIT_AS, &(struct rlimit){most, most}) != 0) abort();
}

/* A tokenizer file of 48 bytes that says "symbols 2000000000": the loader
** asked for 48 GB (16 GB for the offsets alone) before reading a line. Run
** in a child that may map 1 GB more, where that fails as "out of memory"
** (or kills the child under ASan) instead of naming the file's fault. */
Test(fuzz_found, bpe_file_with_more_symbols_than_lines_takes_little_memory) {
  const char *path = corpus_file("bpe", "crash_huge_symbols", 0);
  char err[LUNET_BPE_ERROR] = "";
  int fd[2];
  cr_assert_eq(pipe(fd), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    limit_address_space(1ul << 30);
    lunet_bpe *t = lunet_bpe_load(path, err);
    ssize_t w = write(fd[1], err, strlen(err));
    _exit(t || w < 0);
  }
  close(fd[1]);
  ssize_t got = read(fd[0], err, sizeof err - 1);
  err[got > 0 ? got : 0] = '\0';
  close(fd[0]);
  int st;
  waitpid(pid, &st, 0);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a corrupt tokenizer loaded");
  cr_expect(strstr(err, ":4: the file ends before its last symbol"), "%s", err);
  remove(path);
}
