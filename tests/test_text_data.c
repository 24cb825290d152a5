/*
** test_text_data.c -- `lunet check` on the text dataset at each level and with
** random digits: samples written, ids below the vocabulary, targets that are
** class indices at every position, the same samples from a second open, and
** encode/decode giving back the text of a sample. What the samples hold is
** tested in tests/lua/text_data.lua.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "registry.h"
#include "services.h"

/* `lunet check text` with g[0..n): the number failed, its lines in out. */
static int check_text_with(const param_given *g, int n, char *out, size_t sz, int *warnings) {
  registry_init();
  const plugin_entry *pe = registry_find(LUNET_DATASET, "text");
  cr_assert(pe, "%s", services_last_error());
  FILE *f = tmpfile();
  cr_assert_not_null(f);
  int failed = check_plugin_params(pe, g, n, f, warnings);
  rewind(f);
  out[fread(out, 1, sz - 1, f)] = '\0';
  fclose(f);
  return failed;
}

static void expect_passes(const param_given *g, int n, const char *tokenizer) {
  static char out[16384];
  int warnings = -1;
  cr_expect_eq(check_text_with(g, n, out, sizeof out, &warnings), 0, "%s", out);
  cr_expect_eq(warnings, 0, "%s", out);
  cr_expect(strstr(out, "token ids from 0, valid classes"), "%s", out);
  cr_expect(strstr(out, "same parameters, same samples"), "%s", out);
  cr_expect(strstr(out, tokenizer), "lacks '%s':\n%s", tokenizer, out);
}

/* A prose file of `reps` copies of a paragraph with punctuation and
** multi-byte characters; the name in a static buffer. */
static const char *prose_file(int reps) {
  static char path[] = "/tmp/lunet_text_XXXXXX";
  strcpy(path, "/tmp/lunet_text_XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  for (int i = 0; i < reps; i++)
    fprintf(f, "Paragraph %d. The hacker's \xE2\x80\x9C" "caf\xC3\xA9\xE2\x80\x9D was open; "
            "she typed \xE2\x98\x83 and (quietly) left.\n\n", i);
  fclose(f);
  return path;
}

Test(text, digits_pass_lunet_check) {
  param_given g[] = {P_BOOL("digits", 1), P_NUM("n", 5000), P_NUM("seq_len", 32)};
  expect_passes(g, 3, "ids in 0..9 that decode back");
}

Test(text, char_level_passes_lunet_check) {
  const char *path = prose_file(40);
  param_given g[] = {P_STR("file", path), P_NUM("seq_len", 50), P_STR("split", "valid")};
  expect_passes(g, 3, "sample 0's 50 ids decode to");
  remove(path);
}

Test(text, word_level_passes_lunet_check) {
  const char *path = prose_file(60);
  param_given g[] = {P_STR("file", path), P_STR("level", "word"), P_NUM("seq_len", 20),
                     P_NUM("vocab", 12)};
  expect_passes(g, 4, "ids in 0..11 that decode back");
  remove(path);
}

Test(text, bpe_levels_pass_lunet_check) {
  const char *path = prose_file(60);
  param_given bytes[] = {P_STR("file", path), P_STR("level", "bpe"), P_NUM("vocab", 300),
                         P_NUM("seq_len", 16), P_NUM("streams", 3)};
  expect_passes(bytes, 5, "ids in 0..299 that decode back");
  param_given chars[] = {P_STR("file", path), P_STR("level", "bpe"), P_STR("bpe_base", "chars"),
                         P_NUM("vocab", 80), P_NUM("seq_len", 16), P_STR("split", "test")};
  expect_passes(chars, 6, "ids in 0..79 that decode back");
  remove(path);
}

/* A file that is missing fails to open: a warning, as for any data file. */
Test(text, a_missing_file_warns) {
  static char out[16384];
  param_given g[] = {P_STR("file", "/nonexistent/corpus.txt")};
  int warnings = 0;
  cr_expect_eq(check_text_with(g, 1, out, sizeof out, &warnings), 0, "%s", out);
  cr_expect_eq(warnings, 1, "%s", out);
  cr_expect(strstr(out, "cannot open file '/nonexistent/corpus.txt'"), "%s", out);
}
