/*
** test_cli.c -- the `lunet` program as a user meets it: exit statuses and
** what it prints, run as a subprocess (LUNET_EXE is set by meson).
*/
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lunet/plugin.h>

#include "runtime/registry.h"

/* Runs `ENV lunet ARGS` (ENV: VAR=VALUE ..., or "") with stderr merged
** into the returned output. */
static int lunet_env(const char *env, const char *args, char *out, size_t sz) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s '%s' %s 2>&1", env, getenv("LUNET_EXE"), args);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  size_t n = fread(out, 1, sz - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int lunet(const char *args, char *out, size_t sz) { return lunet_env("", args, out, sz); }

/* Under ASan, a plugin's SIGSEGV must kill its process as it does
** elsewhere, not become ASan's report and exit (or abort). */
#define DIE_BY_SIGNAL "ASAN_OPTIONS=\"$ASAN_OPTIONS:handle_segv=0\" "

static char *write_script(const char *text) {
  static char path[] = "/tmp/lunet_cli_XXXXXX.lua";
  strcpy(path, "/tmp/lunet_cli_XXXXXX.lua");
  int fd = mkstemps(path, 4);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

Test(cli, lua_error_prints_script_line_and_exits_nonzero) {
  char *path = write_script("local lunet = require 'lunet'\nlocal x = 1\nerror('deliberate failure')\n");
  char out[8192], want[1100];
  char args[1100];
  snprintf(args, sizeof args, "run %s", path);
  int rc = lunet(args, out, sizeof out);
  snprintf(want, sizeof want, "%s:3: deliberate failure", path);
  cr_expect_neq(rc, 0);
  cr_expect(strstr(out, want), "output lacks '%s':\n%s", want, out);
  remove(path);
}

Test(cli, script_sees_its_arguments_in_arg) {
  char *path = write_script("assert(arg[1] == 'alpha' and arg[2] == '42' and #arg == 2)\n"
                            "assert(select('#', ...) == 2)\nprint('args ok ' .. arg[0])\n");
  char out[8192], args[1100];
  snprintf(args, sizeof args, "run %s alpha 42", path);
  cr_expect_eq(lunet(args, out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "args ok"), "%s", out);
  remove(path);
}

/* --help prints the options and ends the script cleanly: exit 0, and no
** line after lunet.options runs. */
Test(cli, script_help_prints_options_and_exits_zero) {
  char *path = write_script("local lunet = require 'lunet'\n"
                            "local o = lunet.options{ epochs = 5, quick = false }\n"
                            "print('after options')\n");
  char out[8192], args[1100];
  snprintf(args, sizeof args, "run %s --help", path);
  cr_expect_eq(lunet(args, out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "usage: lunet run") && strstr(out, "--epochs N (default 5)") && strstr(out, "--quick"),
            "%s", out);
  cr_expect(!strstr(out, "after options") && !strstr(out, "error"), "%s", out);
  remove(path);
}

Test(cli, missing_script_is_an_error) {
  char out[4096];
  cr_expect_neq(lunet("run /nonexistent/script.lua", out, sizeof out), 0);
  cr_expect(strstr(out, "/nonexistent/script.lua"), "%s", out);
}

Test(cli, plugins_lists_every_kind_with_files) {
  char out[16384];
  cr_assert_eq(lunet("plugins", out, sizeof out), 0, "%s", out);
  const char *want[] = {"layer", "dense", "relu", "loss", "cross_entropy", "optimizer", "adam",
                        "dataset", "fashion_mnist", "dense.so", NULL};
  for (int i = 0; want[i]; i++) cr_expect(strstr(out, want[i]), "plugins lacks '%s'", want[i]);
  cr_assert_eq(lunet("plugins --kind loss", out, sizeof out), 0);
  cr_expect(strstr(out, "mse") && !strstr(out, "dense"), "--kind loss shows other kinds:\n%s", out);
  cr_expect_neq(lunet("plugins --kind widget", out, sizeof out), 0);
}

Test(cli, describe_shows_parameters_with_defaults_and_ranges) {
  char out[8192];
  cr_assert_eq(lunet("describe sgd", out, sizeof out), 0, "%s", out);
  const char *want[] = {"optimizer sgd", "lr", "0.01", "momentum", "nesterov", "false", "weight_decay", NULL};
  for (int i = 0; want[i]; i++) cr_expect(strstr(out, want[i]), "describe lacks '%s':\n%s", want[i], out);
  cr_expect_neq(lunet("describe no_such_plugin", out, sizeof out), 0);
  cr_expect(strstr(out, "no_such_plugin"), "%s", out);
}

Test(cli, version_names_abi_and_backends) {
  char out[4096];
  cr_assert_eq(lunet("version", out, sizeof out), 0);
  char abi[64];
  snprintf(abi, sizeof abi, "plugin ABI %d.%d", LUNET_ABI_MAJOR, LUNET_ABI_MINOR);
  cr_expect(strstr(out, abi) && strstr(out, "OpenBLAS") && strstr(out, "CUDA"), "%s", out);
}

Test(cli, unknown_command_prints_usage) {
  char out[4096];
  cr_expect_eq(lunet("frobnicate", out, sizeof out), 2);
  cr_expect(strstr(out, "unknown command 'frobnicate'") && strstr(out, "usage:"), "%s", out);
}

/* The README's "Write a layer plugin in five minutes", as a reader would
** follow it: its C block built out of tree with one cc command against the
** header alone, passed by `lunet check`, then trained from Lua through
** LUNET_PLUGIN_PATH. Guards the README against drifting from the ABI. */
Test(cli, readme_plugin_builds_checks_and_trains) {
  const char *src = getenv("LUNET_SOURCE_DIR");
  cr_assert_not_null(src, "LUNET_SOURCE_DIR is not set");
  char dir[] = "/tmp/lunet_readme_XXXXXX", cmd[4096], out[16384];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cmd, sizeof cmd,
           "awk '/^```c$/{on=1;next} /^```$/{if(on)exit} on' '%s/README.md' > %s/scaled_tanh.c && "
           "cc -std=c11 -Wall -Werror -shared -fPIC -O2 -I '%s/include' -o %s/scaled_tanh.so "
           "%s/scaled_tanh.c -lm 2>&1",
           src, dir, src, dir, dir);
  FILE *p = popen(cmd, "r");
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  cr_assert_eq(pclose(p), 0, "the README plugin does not build:\n%s", out);

  snprintf(cmd, sizeof cmd, "check %s/scaled_tanh.so", dir);
  cr_assert_eq(lunet(cmd, out, sizeof out), 0, "lunet check fails on the README plugin:\n%s", out);
  cr_expect(strstr(out, "gradient check"), "%s", out);

  char script[1024];
  snprintf(script, sizeof script, "%s/use.lua", dir);
  FILE *f = fopen(script, "w");
  fputs("local lunet = require 'lunet'\n"
        "local xs, ys = {}, {}\n"
        "for i = 1, 64 do local a = (i % 8) / 4 - 1; xs[i] = { a, -a }; ys[i] = a > 0 and 2 or 1 end\n"
        "local m = lunet.sequential{ lunet.layer('dense', { out = 4 }),\n"
        "  lunet.layer('scaled_tanh', { a0 = 0.5 }), lunet.layer('dense', { out = 2 }) }\n"
        "local r = lunet.train{ model = m, data = lunet.data{ x = xs, y = ys }, epochs = 30,\n"
        "  loss = lunet.loss('cross_entropy'), optimizer = lunet.optimizer('adam', { lr = 0.05 }),\n"
        "  verbose = false }\n"
        "local a = m:parameters()[3]\n"
        "assert(a.name == '2.scaled_tanh.a' and a.values[1] ~= 0.5, 'a was not trained')\n"
        "assert(r.train.error == 0, 'separable data not learned: ' .. r.train.error)\n"
        "print('readme plugin trained')\n",
        f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "LUNET_PLUGIN_PATH=%s '%s' run %s 2>&1", dir, getenv("LUNET_EXE"), script);
  p = popen(cmd, "r");
  n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  cr_expect_eq(pclose(p), 0, "training with the README plugin failed:\n%s", out);
  cr_expect(strstr(out, "readme plugin trained"), "%s", out);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* A plugin whose forward crashes, or never returns: its probe's child
** process is killed or timed out, and that is one failed check naming the
** step, the file and what happened. The lines of the probes it passed are
** all there (stdout was block-buffered: nothing). */
Test(cli, check_reports_a_forward_that_crashes_or_hangs) {
  static const struct {
    const char *param, *what;
  } cases[] = {{"crash=true", "killed by signal 11 (SIGSEGV"}, {"hang=true", "timed out after 1 s"}};
  for (int i = 0; i < 2; i++) {
    char out[8192], args[1100], want[1300];
    snprintf(args, sizeof args, "check '%s/crashy.so' %s --timeout 1", getenv("LUNET_CRASH_PLUGIN_DIR"),
             cases[i].param);
    cr_expect_eq(lunet_env(DIE_BY_SIGNAL, args, out, sizeof out), 1, "%s:\n%s", args, out);
    cr_expect(strstr(out, "ok    load: layer 'crashy'") && strstr(out, "ok    create"),
              "the lines before the failure were lost:\n%s", out);
    snprintf(want, sizeof want, "FAIL  forward in eval mode (%s/crashy.so): %s", getenv("LUNET_CRASH_PLUGIN_DIR"),
             cases[i].what);
    cr_expect(strstr(out, want), "expected '%s':\n%s", want, out);
    cr_expect(strstr(out, "crashy.so: FAILED, 1 check failed"), "%s", out);
  }
}

/* A plugin whose loading (its constructor) crashes, aborts or hangs: the
** load, in a child process, is a failed check naming the file. */
Test(cli, check_reports_a_load_that_crashes_aborts_or_hangs) {
  static const char *const modes[][2] = {{"1", "killed by signal 11 (SIGSEGV"},
                                         {"abort", "killed by signal 6 (SIGABRT"},
                                         {"hang", "timed out after 1 s"}};
  for (int i = 0; i < 3; i++) {
    char out[8192], env[128], args[1100], want[1300];
    snprintf(env, sizeof env, DIE_BY_SIGNAL "LUNET_CRASHY_INIT=%s", modes[i][0]);
    snprintf(args, sizeof args, "check --timeout 1 '%s/crashy.so'", getenv("LUNET_CRASH_PLUGIN_DIR"));
    cr_expect_eq(lunet_env(env, args, out, sizeof out), 1, "%s %s:\n%s", env, args, out);
    snprintf(want, sizeof want, "FAIL  load (dlopen and initialisation, in a child process): %s/crashy.so: %s",
             getenv("LUNET_CRASH_PLUGIN_DIR"), modes[i][1]);
    cr_expect(strstr(out, want), "%s: expected '%s':\n%s", env, want, out);
  }
}

/* The same plugin in LUNET_PLUGIN_PATH: `lunet run` of a script that never
** uses it runs, after a warning that names it; a script that asks for it
** is told why it is missing. */
Test(cli, run_skips_a_plugin_whose_load_crashes_aborts_or_hangs) {
  char *path = write_script("local lunet = require 'lunet'\n"
                            "local ok, err = pcall(lunet.layer, 'crashy')\n"
                            "assert(not ok and err:find('crashy.so failed to load', 1, true), err)\n"
                            "print('ran: ' .. err)\n"
                            "lunet.sequential{ lunet.layer('dense', { out = 2 }) }\n");
  static const char *const modes[][2] = {{"1", "killed by signal 11 (SIGSEGV"},
                                         {"abort", "killed by signal 6 (SIGABRT"},
                                         {"hang", "timed out after 1 s (LUNET_PLUGIN_TIMEOUT)"}};
  for (int i = 0; i < 3; i++) {
    char out[8192], env[1100], args[1100], want[1300];
    snprintf(env, sizeof env, DIE_BY_SIGNAL "LUNET_CRASHY_INIT=%s LUNET_PLUGIN_TIMEOUT=1 LUNET_PLUGIN_PATH='%s'",
             modes[i][0], getenv("LUNET_CRASH_PLUGIN_DIR"));
    snprintf(args, sizeof args, "run %s", path);
    cr_expect_eq(lunet_env(env, args, out, sizeof out), 0, "%s %s:\n%s", env, args, out);
    snprintf(want, sizeof want, "lunet: warning: %s/crashy.so: skipped: loading it in a child process: %s",
             getenv("LUNET_CRASH_PLUGIN_DIR"), modes[i][1]);
    cr_expect(strstr(out, want), "%s: expected '%s':\n%s", env, want, out);
    cr_expect(strstr(out, "ran: ") && strstr(strstr(out, "ran: "), modes[i][1]), "%s:\n%s", env, out);
  }
  remove(path);
}

/* Loading in this process (the plugins built with lunet are not tried in
** a child first): a fatal signal still names the file before it kills. */
Test(cli, crash_while_loading_a_plugin_names_the_file) {
  char file[1024], out[4096];
  snprintf(file, sizeof file, "%s/crashy.so", getenv("LUNET_CRASH_PLUGIN_DIR"));
  int fd[2];
  cr_assert_eq(pipe(fd), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(fd[1], 2);
    setenv("LUNET_CRASHY_INIT", "1", 1);
    plugin_entry pe;
    registry_load_file(file, &pe);
    _exit(0);
  }
  close(fd[1]);
  size_t n = 0;
  ssize_t got;
  while (n < sizeof out - 1 && (got = read(fd[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)got;
  out[n] = '\0';
  close(fd[0]);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "the load did not die of SIGSEGV");
  cr_expect(strstr(out, "lunet: crashed while loading the plugin ") && strstr(out, file),
            "the crash did not name the plugin:\n%s", out);
}

/* lunet plot and lunet summary as a user runs them: --help lists the row
** filter, the styles and the legend; summary sorts lr as numbers, leaves
** out the seed, and --where keeps the matching rows. */
Test(cli, plot_and_summary_options) {
  char out[8192];
  cr_expect_eq(lunet("plot --help", out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "--where COL=VALUE") && strstr(out, "--style lines|points") &&
            strstr(out, "heatmap|contour|surface") && strstr(out, "--key"), "%s", out);
  cr_expect_eq(lunet("summary --help", out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "--where COL=VALUE") && strstr(out, "--all"), "%s", out);

  char path[] = "/tmp/lunet_cli_XXXXXX.csv";
  int fd = mkstemps(path, 4);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("lr,opt,seed,err\n0.1,sgd,1,0.3\n0.01,sgd,1,0.2\n0.001,adam,1,0.1\n0.01,adam,2,0.4\n", f);
  fclose(f);
  char args[256];
  snprintf(args, sizeof args, "summary %s --by lr --csv", path);
  cr_expect_eq(lunet(args, out, sizeof out), 0, "%s", out);
  cr_expect_str_eq(out, "lr,n,err_mean,err_std\n0.001,1,0.1,0\n0.01,2,0.30000000000000004,0.14142135623730953\n"
                        "0.1,1,0.3,0\n");
  snprintf(args, sizeof args, "summary %s --by lr --where opt=adam --csv", path);
  cr_expect_eq(lunet(args, out, sizeof out), 0, "%s", out);
  cr_expect_str_eq(out, "lr,n,err_mean,err_std\n0.001,1,0.1,0\n0.01,1,0.4,0\n");
  snprintf(args, sizeof args, "summary %s --by lr --where opt=rmsprop", path);
  cr_expect_eq(lunet(args, out, sizeof out), 1, "%s", out);
  cr_expect(strstr(out, "no row left after --where opt=rmsprop"), "%s", out);
  remove(path);
}
