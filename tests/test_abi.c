/*
** test_abi.c -- loading plugins: a wrong ABI major or a missing entry
** symbol is refused with a message naming the file and the reason; a bad
** plugin in a folder does not stop the good ones; every built plugin
** passes `lunet check`'s conformance checks; and `lunet check` itself,
** run as a subprocess, prints the failure and exits non-zero.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "check.h"
#include "common.h"
#include "registry.h"
#include "services.h"

static void built_plugins_only(void) { unsetenv("LUNET_PLUGIN_PATH"); }

TestSuite(abi, .init = built_plugins_only);

static void expect_in(const char *msg, const char *want) {
  cr_expect(strstr(msg, want) != NULL, "expected '%s' in: %s", want, msg);
}

/* "ABI 2.0": what bad_abi.so declares (major + 1, minor 0). */
static const char *plugin_abi(void) {
  static char buf[32];
  snprintf(buf, sizeof buf, "ABI %d.0", LUNET_ABI_MAJOR + 1);
  return buf;
}

/* "ABI 1.2": this lunet's. */
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
  expect_in(msg, plugin_abi()); /* "2.0" */
  expect_in(msg, host_abi());   /* "1.2" as the header now says */
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

/* The folder holds bad_abi.so, no_entry.so and bad_grad.so: the first two
** are recorded as failures, bad_grad loads, and the built plugins load. */
Test(abi, bad_plugins_do_not_stop_the_good_ones) {
  const char *dir = common_test_plugin_dir();
  setenv("LUNET_PLUGIN_PATH", dir, 1);
  registry_init();
  cr_expect(registry_find(LUNET_LAYER, "dense"), "%s", services_last_error());
  cr_expect(registry_find(LUNET_LOSS, "mse"), "%s", services_last_error());
  cr_expect(registry_find(LUNET_LAYER, "bad_grad"), "%s", services_last_error());
  int bad_abi = 0, no_entry = 0;
  for (int i = 0; i < registry_failure_count(); i++) {
    const load_failure *f = registry_failure_at(i);
    if (strstr(f->path, "bad_abi.so")) bad_abi += strstr(f->reason, "ABI") != NULL;
    if (strstr(f->path, "no_entry.so")) no_entry += strstr(f->reason, LUNET_ENTRY) != NULL;
  }
  cr_expect_eq(bad_abi, 1, "bad_abi.so should be recorded once as a failure with its reason");
  cr_expect_eq(no_entry, 1, "no_entry.so should be recorded once as a failure with its reason");
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

/* ---- `lunet check` as a subprocess ------------------------------------- */

static const char *lunet_exe(void) {
  const char *exe = getenv("LUNET_EXE");
  if (!exe || !*exe) cr_skip_test("LUNET_EXE is not set (meson test sets it to the lunet program)");
  return exe;
}

static int run_check(const char *file, char *out, size_t sz) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' check %s%s%s", lunet_exe(), file ? "'" : "", file ? file : "",
           file ? "'" : "");
  return common_run(cmd, out, sz);
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
  registry_init();
  const plugin_entry *dense = registry_find(LUNET_LAYER, "dense");
  cr_assert(dense, "%s", services_last_error());
  static char out[16384];
  int status = run_check(dense->path, out, sizeof out);
  cr_expect_eq(status, 0, "%s", out);
  expect_in(out, "ok    gradient check");
  expect_in(out, "passed");
}

Test(abi, lunet_check_usage_error) {
  static char out[4096];
  cr_expect_eq(run_check(NULL, out, sizeof out), 2, "%s", out);
  expect_in(out, "usage");
}
