/*
** registry.h -- finding and loading plugins.
**
** Plugins are searched in the directories of LUNET_PLUGIN_PATH, then where
** the build put them, then where `meson install` puts them. Each directory
** and its immediate subdirectories are scanned for *.so, in name order. A
** plugin that fails to load is recorded with its reason and skipped; the
** others keep working. The first plugin of a given kind and name wins; later
** ones are marked shadowed.
**
** The files of LUNET_PLUGIN_PATH are first loaded in a child process
** (registry_trial_load), with LUNET_PLUGIN_TIMEOUT seconds (default 10)
** for each: one whose loading crashes, aborts, exits or hangs there is
** skipped with a warning, so that it cannot take down a command that never
** uses it. The plugins built with lunet are loaded directly. Either way,
** a fatal signal while this process loads a file prints its name before
** the process dies.
*/
#ifndef LUNET_REGISTRY_H
#define LUNET_REGISTRY_H

#include <lunet/plugin.h>

typedef struct plugin_entry {
  const lunet_plugin *desc; /* owned by the plugin's .so */
  char *path;               /* file it came from */
  void *handle;             /* dlopen handle, kept for the life of the process */
  int shadowed;             /* an earlier plugin has the same kind and name */
  int used;                 /* found by registry_find(): provenance of results */
} plugin_entry;

typedef struct load_failure {
  char *path;
  char *reason;
  int told;     /* already printed as a warning (a crash or hang in a trial load) */
} load_failure;

#define REGISTRY_LOAD_TIMEOUT 10.0 /* seconds, when LUNET_PLUGIN_TIMEOUT is unset */

/* Scans every plugin directory once; later calls do nothing. */
void registry_init(void);

int registry_count(void);
const plugin_entry *registry_at(int i);
int registry_failure_count(void);
const load_failure *registry_failure_at(int i);

/* The plugin of that kind and name, or NULL with an error that names the
** kind, the name and the ones that exist. */
const plugin_entry *registry_find(int kind, const char *name);

/* "dense@1.0.0 relu@1.0.0 ...": the plugins registry_find() has returned. */
void registry_used(char *buf, size_t sz);

/* Loads and validates one file (dlopen, entry symbol, ABI, descriptor).
** Returns 0 and fills *out, or -1 with the reason in services_last_error(). */
int registry_load_file(const char *path, plugin_entry *out);

/* Loads paths[0..n) in turn in a child process, which is then discarded,
** with `timeout` seconds for each. Returns how many, from the first, did
** return (the plugin loaded or was refused); when fewer than n, the next
** one crashed, aborted, exited or ran past the timeout, and why[0..sz)
** says which ("killed by signal 11 (SIGSEGV: ...)", "timed out after 10
** s"). One child goes through many files, so that a folder of plugins costs
** one fork, not one per file. */
int registry_trial_load(char *const *paths, int n, double timeout, char *why, size_t sz);

/* LUNET_PLUGIN_TIMEOUT, or REGISTRY_LOAD_TIMEOUT when it is unset (or not
** a positive number: a warning says so). */
double registry_load_timeout(void);

const char *kind_name(int kind);     /* "layer", "loss", ... or "?" */
int kind_from_name(const char *name); /* 0 when unknown */

#endif
