/*
** test_abi.c -- loading plugins and `lunet check`.
**
** Loading: a wrong ABI major (a future one, or ABI 1) or a missing entry
** symbol is refused with a message naming the file and the reason; a bad
** plugin in a folder does not stop the good ones. Checking: every built
** plugin passes the conformance checks; layers of several inputs and of
** token ids are built and gradient-checked on every input; datasets must
** describe themselves consistently and give the same samples on a second
** open; a layer that keeps a weight pointer from create() fails; and
** `lunet check FILE.so [NAME=VALUE ...]`, run as a subprocess, prints what
** it checked and exits 0, 1 (a check failed) or 2 (a usage error).
**
** The test plugins (deliberately broken ones, and ids_scale) live in
** tests/plugins/, built into $LUNET_TEST_PLUGIN_DIR.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "check.h"
#include "common.h"
#include "registry.h"
#include "services.h"
#include "text.h"

static void built_plugins_only(void) { unsetenv("LUNET_PLUGIN_PATH"); }

TestSuite(abi, .init = built_plugins_only);

static void expect_in(const char *msg, const char *want) {
  cr_expect(strstr(msg, want) != NULL, "expected '%s' in: %s", want, msg);
}

/* "ABI 3.0": what bad_abi.so declares (major + 1, minor 0). */
static const char *plugin_abi(void) {
  static char buf[32];
  snprintf(buf, sizeof buf, "ABI %d.0", LUNET_ABI_MAJOR + 1);
  return buf;
}

/* "ABI 2.0": this lunet's. */
static const char *host_abi(void) {
  static char buf[32];
  snprintf(buf, sizeof buf, "ABI %d.%d", LUNET_ABI_MAJOR, LUNET_ABI_MINOR);
  return buf;
}

Test(abi, other_major_version_is_refused) {
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(common_test_plugin_dir(), "bad_abi.so"));
  plugin_entry pe;
  cr_assert_eq(registry_load_file(path, &pe), -1, "a plugin for ABI %d was loaded", LUNET_ABI_MAJOR + 1);
  const char *msg = services_last_error();
  expect_in(msg, path);
  expect_in(msg, plugin_abi()); /* "3.0" */
  expect_in(msg, host_abi());   /* "2.0" as the header now says */
}

Test(abi, missing_entry_symbol_is_refused) {
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(common_test_plugin_dir(), "no_entry.so"));
  plugin_entry pe;
  cr_assert_eq(registry_load_file(path, &pe), -1);
  expect_in(services_last_error(), path);
  expect_in(services_last_error(), LUNET_ENTRY);
}

Test(abi, missing_file_is_refused) {
  plugin_entry pe;
  cr_assert_eq(registry_load_file("/nonexistent/lunet/x.so", &pe), -1);
  expect_in(services_last_error(), "/nonexistent/lunet/x.so");
}

/* A plugin built for ABI 1 (old_abi.so claims 1.2): the message names the
** file, both versions and what to do. */
Test(abi, abi1_plugin_is_refused_with_what_to_do) {
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(common_test_plugin_dir(), "old_abi.so"));
  plugin_entry pe;
  cr_assert_eq(registry_load_file(path, &pe), -1, "a plugin for ABI 1.2 was loaded");
  const char *msg = services_last_error();
  expect_in(msg, path);
  expect_in(msg, "ABI 1.2");
  expect_in(msg, host_abi());
  expect_in(msg, "rebuild");
  expect_in(msg, "Porting a plugin from ABI 1");
}

/* What the test plugin folder holds, and what becomes of each file. */
static const struct {
  const char *file;
  const char *reason; /* refused with this in the reason; NULL: it loads */
} test_plugins[] = {
  {"bad_abi.so", "ABI"},  {"old_abi.so", "ABI 1.2"}, {"no_entry.so", LUNET_ENTRY},
  {"bad_grad.so", NULL},  {"cached.so", NULL},       {"ids_scale.so", NULL},
  {"bad_data.so", NULL},  {"crash/crashy.so", NULL}, /* the subfolder is scanned too */
};
enum { N_TEST_PLUGINS = sizeof test_plugins / sizeof test_plugins[0] };

/* Which entry of test_plugins `path` is: -1 for another file of `dir`, -2
** for a file elsewhere (a built or installed plugin). */
static int test_plugin_index(const char *dir, const char *path) {
  size_t len = strlen(dir);
  if (strncmp(path, dir, len) != 0 || path[len] != '/') return -2;
  for (int i = 0; i < N_TEST_PLUGINS; i++)
    if (strcmp(path + len + 1, test_plugins[i].file) == 0) return i;
  return -1;
}

/* Scanning the folder: the refused files are recorded once each with their
** reason, the others load, nothing else is there, and the built plugins
** load too. */
Test(abi, bad_plugins_do_not_stop_the_good_ones) {
  const char *dir = common_test_plugin_dir();
  setenv("LUNET_PLUGIN_PATH", dir, 1);
  registry_init();
  cr_expect(registry_find(LUNET_LAYER, "dense"), "%s", services_last_error());
  cr_expect(registry_find(LUNET_LOSS, "mse"), "%s", services_last_error());
  int seen[N_TEST_PLUGINS] = {0};
  for (int i = 0; i < registry_failure_count(); i++) {
    const load_failure *f = registry_failure_at(i);
    int k = test_plugin_index(dir, f->path);
    if (k == -2) continue;
    cr_expect(k >= 0 && test_plugins[k].reason, "%s should have loaded, or is not a known test "
              "plugin (update test_plugins): %s", f->path, f->reason);
    if (k < 0) continue;
    seen[k]++;
    if (test_plugins[k].reason) expect_in(f->reason, test_plugins[k].reason);
  }
  for (int i = 0; i < registry_count(); i++) {
    const plugin_entry *pe = registry_at(i);
    int k = test_plugin_index(dir, pe->path);
    if (k == -2) continue;
    cr_expect(k >= 0 && !test_plugins[k].reason, "%s loaded, but it should be refused or is not a "
              "known test plugin (update test_plugins)", pe->path);
    if (k >= 0) seen[k]++;
  }
  for (int k = 0; k < N_TEST_PLUGINS; k++)
    cr_expect_eq(seen[k], 1, "%s/%s was seen %d times; expected once, %s", dir,
                 test_plugins[k].file, seen[k], test_plugins[k].reason ? "as a load failure" : "loaded");
  /* asking for a plugin that failed to load says why */
  cr_expect_null(registry_find(LUNET_LAYER, "bad_abi"));
  expect_in(services_last_error(), "bad_abi.so");
}

/* What `lunet check` runs, on every built plugin: no failures (datasets
** whose data files are missing only warn). */
Test(abi, every_built_plugin_conforms) {
  registry_init();
  int kinds[5] = {0};
  for (int i = 0; i < registry_count(); i++) {
    const plugin_entry *pe = registry_at(i);
    if (pe->shadowed) continue;
    int warnings = 0;
    int failed = check_plugin(pe, NULL, &warnings);
    if (failed) check_plugin(pe, stderr, &warnings); /* show the lines in the test log */
    cr_expect_eq(failed, 0, "%s '%s' (%s) fails %d conformance checks (printed above)",
                 kind_name(pe->desc->kind), pe->desc->name, pe->path, failed);
    kinds[pe->desc->kind]++;
  }
  cr_expect_geq(kinds[LUNET_LAYER], 5);
  cr_expect_geq(kinds[LUNET_LOSS], 2);
  cr_expect_geq(kinds[LUNET_OPTIMIZER], 1);
  cr_expect_geq(kinds[LUNET_DATASET], 1);
}

/* ---- what `lunet check` checks, in process ---------------------------- */

/* A stock plugin (built with lunet). */
static const plugin_entry *stock(int kind, const char *name) {
  registry_init();
  const plugin_entry *pe = registry_find(kind, name);
  cr_assert(pe, "%s", services_last_error());
  return pe;
}

/* A test plugin from $LUNET_TEST_PLUGIN_DIR; its handle stays open. */
static const plugin_entry *test_plugin(const char *file) {
  static plugin_entry pe;
  cr_assert_eq(registry_load_file(common_path(common_test_plugin_dir(), file), &pe), 0, "%s",
               services_last_error());
  return &pe;
}

/* in[0..n) as "(2, 3), (2, 3), (6)". */
static const char *shapes_text(const lunet_shape *in, int n) {
  static char buf[1024];
  size_t len = 0;
  buf[0] = '\0';
  for (int k = 0; k < n; k++) {
    char one[128];
    shape_format(&in[k], one, sizeof one);
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", k ? ", " : "", one);
  }
  return buf;
}

/* check_plugin_params() with its lines in `text`: the number failed. */
static int check_text(const plugin_entry *pe, const param_given *over, int n_over, char *text,
                      size_t sz, int *warnings) {
  FILE *f = tmpfile();
  cr_assert_not_null(f, "tmpfile() failed");
  int failed = check_plugin_params(pe, over, n_over, f, warnings);
  rewind(f);
  size_t got = fread(text, 1, sz - 1, f);
  text[got] = '\0';
  fclose(f);
  return failed;
}

/* check_plugin() of a plugin that must pass without warnings. */
static void expect_conforms(const plugin_entry *pe) {
  static char text[16384];
  int warnings = -1, failed = check_text(pe, NULL, 0, text, sizeof text, &warnings);
  cr_expect_eq(failed, 0, "%s fails %d checks:\n%s", pe->desc->name, failed, text);
  cr_expect_eq(warnings, 0, "%s has %d warnings:\n%s", pe->desc->name, warnings, text);
}

/* The input shapes a layer is checked with: check_input of a variadic
** layer, one {5} otherwise; a loss is no layer. */
Test(abi, check_inputs_of_layers_with_several_inputs) {
  lunet_shape in[LUNET_MAX_INPUTS];
  cr_expect_eq(check_layer_inputs(stock(LUNET_LAYER, "add")->desc, in), 3);
  cr_expect_str_eq(shapes_text(in, 3), "(2, 3), (2, 3), (6)");
  cr_expect_eq(check_layer_inputs(stock(LUNET_LAYER, "concat")->desc, in), 3);
  cr_expect_str_eq(shapes_text(in, 3), "(2, 3), (4, 3), (1, 3)");
  cr_expect_eq(check_layer_inputs(stock(LUNET_LAYER, "dense")->desc, in), 1);
  cr_expect_str_eq(shapes_text(in, 1), "(5)");
  cr_expect_eq(check_layer_inputs(stock(LUNET_LOSS, "mse")->desc, in), -1);
  expect_in(services_last_error(), "not a layer");
}

/* Every input of a layer of several inputs has its gradient compared:
** add 3 x 3 rows x 6 = 54 elements, concat 3 x (6 + 12 + 3) = 63. */
Test(abi, gradient_check_covers_every_input) {
  const plugin_entry *add = stock(LUNET_LAYER, "add"), *concat = stock(LUNET_LAYER, "concat");
  gradcheck_report rep;
  cr_expect_eq(gradcheck_layer(add, NULL, 0, NULL, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.tensors, 3);
  cr_expect_eq(rep.checked, 54);
  cr_expect(strncmp(rep.worst, "input", 5) == 0 && rep.worst[5] >= '0' && rep.worst[5] <= '9',
            "worst element '%s': expected inputs named input0, input1, ...", rep.worst);
  cr_expect_eq(gradcheck_layer(concat, NULL, 0, NULL, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.tensors, 3);
  cr_expect_eq(rep.checked, 63);
  /* one shape given: every one of add's three check inputs takes it */
  lunet_shape four = {1, {4}};
  cr_expect_eq(gradcheck_layer(add, NULL, 0, &four, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.tensors, 3);
  cr_expect_eq(rep.checked, 36);
  expect_conforms(add);
  expect_conforms(concat);
}

/* Token ids have no gradient: an embedding compares its weight alone,
** vocab x dim elements (7 x 4 as declared; 50 x 2 given). */
Test(abi, gradient_check_of_token_ids) {
  const plugin_entry *emb = stock(LUNET_LAYER, "embedding");
  int n;
  param_given *ex = check_example_params(emb->desc, &n);
  gradcheck_report rep;
  cr_expect_eq(gradcheck_layer(emb, ex, n, NULL, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.tensors, 1);
  cr_expect_eq(rep.checked, 28);
  cr_expect(strncmp(rep.worst, "weight[", 7) == 0, "worst element '%s'", rep.worst);
  free(ex);
  param_given big[] = {P_NUM("vocab", 50), P_NUM("dim", 2)};
  cr_expect_eq(gradcheck_layer(emb, big, 2, NULL, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.checked, 100);
}

/* Two inputs, ids then floats (ids_scale: y = x1 * w[x0]): the float input
** and the weight are compared, 3 x 5 + 6 elements. */
Test(abi, gradient_check_of_ids_and_floats) {
  const plugin_entry *pe = test_plugin("ids_scale.so");
  gradcheck_report rep;
  cr_expect_eq(gradcheck_layer(pe, NULL, 0, NULL, &rep), 0, "%s", services_last_error());
  cr_expect_eq(rep.tensors, 2);
  cr_expect_eq(rep.checked, 21);
  expect_conforms(pe);
}

/* cached.so reads memory the host freed when it gathered the parameters:
** what the check must catch, and what AddressSanitizer stops at first. */
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN() cr_skip_test("cached.so reads freed memory by design; the plain build tests it")
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

/* The host moves parameters into flat buffers after create(): a layer
** that reads its weight through a pointer kept from create() fails. */
Test(abi, a_weight_pointer_kept_from_create_fails) {
  SKIP_UNDER_ASAN();
  const plugin_entry *pe = test_plugin("cached.so");
  cr_expect_eq(gradcheck_layer(pe, NULL, 0, NULL, NULL), -1, "cached passed the gradient check");
  static char text[16384];
  cr_expect_geq(check_text(pe, NULL, 0, text, sizeof text, NULL), 1, "%s", text);
}

Test(abi, a_dataset_gives_the_same_samples_twice) {
  static char text[16384];
  cr_expect_eq(check_text(stock(LUNET_DATASET, "sinusoid"), NULL, 0, text, sizeof text, NULL), 0,
               "%s", text);
  expect_in(text, "same parameters, same samples");
}

/* bad_data's defects, one per value of its parameter `defect`. */
Test(abi, dataset_defects_fail) {
  const plugin_entry *pe = test_plugin("bad_data.so");
  static char text[16384];
  cr_expect_geq(check_text(pe, NULL, 0, text, sizeof text, NULL), 1, "%s", text);
  expect_in(text, "two opens with the same parameters gave different samples");
  expect_in(text, "same seed");
  param_given inputs[] = {P_STR("defect", "inputs")}, dtype[] = {P_STR("defect", "dtype")};
  cr_expect_geq(check_text(pe, inputs, 1, text, sizeof text, NULL), 1, "%s", text);
  expect_in(text, "n_inputs = 9, expected 1 to 8");
  cr_expect_geq(check_text(pe, dtype, 1, text, sizeof text, NULL), 1, "%s", text);
  expect_in(text, "input 0 has dtype 2, expected float32 (0) or int32 token ids (1)");
  param_given tokens[] = {P_STR("defect", "tokens")};
  cr_expect_eq(check_text(pe, tokens, 1, text, sizeof text, NULL), 1, "%s", text);
  expect_in(text, "token ids from 0, valid classes"); /* the samples themselves are fine */
  expect_in(text, "s = decode(sample 0's ids) has 2 bytes, decode(encode(s)) 2 that differ");
}

/* ---- `lunet check` as a subprocess ------------------------------------- */

static const char *lunet_exe(void) {
  const char *exe = getenv("LUNET_EXE");
  if (!exe || !*exe) cr_skip_test("LUNET_EXE is not set (meson test sets it to the lunet program)");
  return exe;
}

/* Runs `lunet check 'file' args` (file NULL: no arguments at all); stdout
** and stderr go to out, or stderr alone when `only_stderr`. */
static int run_check_args(const char *file, const char *args, int only_stderr, char *out,
                          size_t sz) {
  char cmd[8192];
  if (!file)
    snprintf(cmd, sizeof cmd, "'%s' check", lunet_exe());
  else
    snprintf(cmd, sizeof cmd, "%s'%s' check '%s' %s%s", only_stderr ? "(" : "", lunet_exe(), file,
             args, only_stderr ? " >/dev/null)" : "");
  return common_run(cmd, out, sz);
}

static int run_check(const char *file, char *out, size_t sz) {
  return run_check_args(file, "", 0, out, sz);
}

Test(abi, lunet_check_refuses_a_wrong_abi) {
  static char out[16384];
  int status = run_check(common_path(common_test_plugin_dir(), "bad_abi.so"), out, sizeof out);
  cr_expect_neq(status, 0, "lunet check bad_abi.so exited 0:\n%s", out);
  expect_in(out, "bad_abi.so");
  expect_in(out, plugin_abi());
  expect_in(out, host_abi());
  expect_in(out, "FAIL");
}

Test(abi, lunet_check_refuses_a_file_without_entry) {
  static char out[16384];
  int status = run_check(common_path(common_test_plugin_dir(), "no_entry.so"), out, sizeof out);
  cr_expect_neq(status, 0, "%s", out);
  expect_in(out, LUNET_ENTRY);
}

Test(abi, lunet_check_fails_a_wrong_gradient) {
  static char out[16384];
  int status = run_check(common_path(common_test_plugin_dir(), "bad_grad.so"), out, sizeof out);
  cr_expect_eq(status, 1, "%s", out);
  expect_in(out, "gradient check failed");
}

Test(abi, lunet_check_passes_a_good_plugin) {
  static char out[16384];
  int status = run_check(stock(LUNET_LAYER, "dense")->path, out, sizeof out);
  cr_expect_eq(status, 0, "%s", out);
  expect_in(out, "ok    gradient check");
  expect_in(out, "passed");
}

Test(abi, lunet_check_usage_error) {
  static char out[4096];
  cr_expect_eq(run_check(NULL, out, sizeof out), 2, "%s", out);
  expect_in(out, "usage");
}

Test(abi, lunet_check_refuses_an_abi1_plugin) {
  static char out[16384];
  const char *path = common_path(common_test_plugin_dir(), "old_abi.so");
  cr_expect_eq(run_check(path, out, sizeof out), 1, "%s", out);
  expect_in(out, "old_abi.so");
  expect_in(out, "ABI 1.2");
  expect_in(out, host_abi());
  expect_in(out, "Porting a plugin from ABI 1");
}

Test(abi, lunet_check_fails_a_weight_pointer_kept_from_create) {
  SKIP_UNDER_ASAN();
  static char out[16384];
  cr_expect_eq(run_check(common_path(common_test_plugin_dir(), "cached.so"), out, sizeof out), 1,
               "%s", out);
  expect_in(out, "FAIL  cached:");
}

Test(abi, lunet_check_feeds_token_ids) {
  static char out[16384];
  const char *path = stock(LUNET_LAYER, "embedding")->path;
  cr_expect_eq(run_check(path, out, sizeof out), 0, "%s", out);
  expect_in(out, "token ids in [0, 7)");
  expect_in(out, "gradient check");
  cr_expect_eq(run_check_args(path, "vocab=50 dim=2", 0, out, sizeof out), 0, "%s", out);
  expect_in(out, "token ids in [0, 50)");
}

/* NAME=VALUE replaces an example value: the first line repeats them, and
** the layer is built with them. */
Test(abi, lunet_check_with_given_parameters) {
  static char out[16384];
  const char *args = "out=3 init=xavier bias=false";
  cr_expect_eq(run_check_args(stock(LUNET_LAYER, "dense")->path, args, 0, out, sizeof out), 0,
               "%s", out);
  char *eol = strchr(out, '\n');
  cr_assert_not_null(eol, "%s", out);
  size_t len = strlen(args);
  cr_expect((size_t)(eol - out) >= len && strncmp(eol - len, args, len) == 0,
            "the first line should end with '%s':\n%s", args, out);
  expect_in(out, "create with the given parameters: input (5) -> output (3), 1 parameter tensor "
                 "(15 trainable values)");
}

/* A wrong NAME or VALUE is a usage error (exit 2) that says why on stderr. */
Test(abi, lunet_check_refuses_wrong_parameters) {
  static const struct {
    const char *args, *want[2];
  } cases[] = {
    {"foo=3", {"unknown parameter 'foo'", "known: out"}},
    {"out=abc", {"parameter 'out' expects an int", NULL}},
    {"out=2.5", {"parameter 'out' expects an int", NULL}},
    {"bias=1", {"parameter 'bias' expects a bool", NULL}},
    {"init=3", {"expects one of he|xavier|normal, got '3'", NULL}},
    {"out", {"expected NAME=VALUE", "usage: lunet check FILE.so [NAME=VALUE ...]"}},
  };
  const char *dense = stock(LUNET_LAYER, "dense")->path;
  static char err[8192];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cr_expect_eq(run_check_args(dense, cases[i].args, 1, err, sizeof err), 2,
                 "lunet check dense.so %s:\n%s", cases[i].args, err);
    for (int k = 0; k < 2 && cases[i].want[k]; k++)
      cr_expect(strstr(err, cases[i].want[k]), "lunet check dense.so %s: expected '%s' on stderr, "
                "got:\n%s", cases[i].args, cases[i].want[k], err);
  }
}
