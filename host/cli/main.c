/*
** main.c -- the `lunet` command line: dispatches to run, plugins, describe,
** check, plot, summary and version.
*/
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check.h"
#include "cli/lua_api.h"
#include "runtime/params.h"
#include "report/plot.h"
#include "runtime/devices.h"
#include "runtime/registry.h"
#include "runtime/services.h"
#include "report/summary.h"

#ifndef LUNET_VERSION
#define LUNET_VERSION "unknown"
#endif

static void usage(FILE *f) {
  fprintf(f,
          "usage: lunet <command> [arguments]\n"
          "\n"
          "  run SCRIPT.lua [ARGS...]       run an experiment script\n"
          "  plugins [--kind KIND]          list plugins (KIND: layer, loss, optimizer, dataset)\n"
          "  describe NAME                  parameters of a plugin\n"
          "  check FILE.so [NAME=VALUE...]  conformance and gradient check of one plugin file,\n"
          "        [--timeout S]            built with its example parameters or these; the\n"
          "                                 load and each probe in a child process with S s\n"
          "  plot CSV --x COL --y COL[,COL] [--group COL] [--style lines|points|heatmap|\n"
          "        contour|surface] [--z COL] [--logx] [--logy] [--logz] [--where COL=VALUE]\n"
          "        [--key outside|inside|below|none] [-o FILE.png|svg]   a figure\n"
          "  summary CSV --by COL[,COL]     mean and std of every numeric column per group\n"
          "        [--where COL=VALUE] [--all] [--csv]\n"
          "  version                        version, ABI and build options\n"
          "\n"
          "environment: LUNET_PLUGIN_PATH (extra plugin folders, ':'-separated),\n"
          "             LUNET_DATA_DIR (data files), LUNET_THREADS (threads: BLAS and loops),\n"
          "             LUNET_PLUGIN_TIMEOUT (seconds a plugin of LUNET_PLUGIN_PATH may take\n"
          "             to load, tried in a child process first; default 10)\n");
}

static int cmd_version(void) {
  char cuda[256];
  device_build_info(cuda, sizeof cuda);
  printf("lunet %s\nplugin ABI %d.%d\nthreads: %d (BLAS: OpenBLAS, and the plugins' loops)\n"
         "compiled for: %s\nCUDA: %s\n", LUNET_VERSION, LUNET_ABI_MAJOR, LUNET_ABI_MINOR,
         services_threads(),
         LUNET_NATIVE ? "this CPU (-Dnative=true, -march=native)"
                      : "the compiler's default target (-Dnative=false)", cuda);
  return 0;
}

/* w, or the length of s if longer: a column's width */
static int widest(int w, const char *s) { return (int)strlen(s) > w ? (int)strlen(s) : w; }

static int cmd_plugins(int argc, char **argv) {
  int want = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc && (want = kind_from_name(argv[++i])) != 0) continue;
    fprintf(stderr, "lunet plugins: expected --kind layer|loss|optimizer|dataset, got '%s'\n", argv[i]);
    return 2;
  }
  registry_init();
  int wn = 4, wv = 7, ws = 7; /* column widths: the longest name, version and summary listed */
  for (int i = 0; i < registry_count(); i++) {
    const lunet_plugin *d = registry_at(i)->desc;
    if (want && want != d->kind) continue;
    wn = widest(wn, d->name), wv = widest(wv, d->version), ws = widest(ws, d->summary);
  }
  printf("%-10s %-*s %-*s %-*s %s\n", "kind", wn, "name", wv, "version", ws, "summary", "file");
  for (int k = 1; k <= 4; k++)
    for (int i = 0; i < registry_count(); i++) {
      const plugin_entry *e = registry_at(i);
      if (e->desc->kind != k || (want && want != k)) continue;
      printf("%-10s %-*s %-*s %-*s %s%s\n", kind_name(k), wn, e->desc->name, wv, e->desc->version, ws,
             e->desc->summary, e->path, e->shadowed ? "  (shadowed by an earlier one)" : "");
    }
  for (int i = 0; i < registry_failure_count(); i++)
    if (!registry_failure_at(i)->told) fprintf(stderr, "warning: %s\n", registry_failure_at(i)->reason);
  return 0;
}

static int cmd_describe(int argc, char **argv) {
  if (argc != 1) {
    fprintf(stderr, "usage: lunet describe NAME\n");
    return 2;
  }
  registry_init();
  int found = 0;
  for (int i = 0; i < registry_count(); i++) {
    const plugin_entry *e = registry_at(i);
    const lunet_plugin *p = e->desc;
    if (strcmp(p->name, argv[0]) != 0 || e->shadowed) continue;
    printf("%s %s %s: %s\n  file: %s\n", kind_name(p->kind), p->name, p->version, p->summary, e->path);
    if (p->n_params == 0) printf("  no parameters\n");
    else printf("  %-14s %-7s %-10s %-22s %s\n", "parameter", "type", "default", "allowed", "doc");
    for (int j = 0; j < p->n_params; j++) {
      const lunet_param_decl *d = &p->params[j];
      char def[64];
      if (d->flags & LUNET_REQUIRED) snprintf(def, sizeof def, "required");
      else if (d->type == LUNET_STRING) snprintf(def, sizeof def, "\"%s\"", d->def_str ? d->def_str : "");
      else if (d->type == LUNET_BOOL) snprintf(def, sizeof def, "%s", d->def ? "true" : "false");
      else snprintf(def, sizeof def, "%g", d->def);
      char range[128];
      params_range_text(d, range, sizeof range);
      printf("  %-14s %-7s %-10s %-22s %s\n", d->name, params_type_name(d->type), def, range,
             d->doc ? d->doc : "");
    }
    found++;
  }
  if (!found) {
    fprintf(stderr, "lunet describe: no plugin named '%s' (see `lunet plugins`)\n", argv[0]);
    return 1;
  }
  return 0;
}

/* OpenBLAS's threaded GEMM mallocs a 512 KiB job buffer on every call.
** Above glibc's mmap threshold each one would be a fresh mapping, its pages
** faulted in anew on every training step; served from the heap instead, the
** same memory is reused call after call. */
static void keep_allocations_on_the_heap(void) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

int main(int argc, char **argv) {
  keep_allocations_on_the_heap();
  services_init_threads();
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0) return lua_run_script(argc - 2, argv + 2, argv[0]);
  if (strcmp(cmd, "plugins") == 0) return cmd_plugins(argc - 2, argv + 2);
  if (strcmp(cmd, "describe") == 0) return cmd_describe(argc - 2, argv + 2);
  if (strcmp(cmd, "check") == 0) return check_main(argc - 2, argv + 2);
  if (strcmp(cmd, "plot") == 0) return plot_main(argc - 1, argv + 1);
  if (strcmp(cmd, "summary") == 0) return summary_main(argc - 1, argv + 1);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) return cmd_version();
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "lunet: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
