/*
** registry.c -- plugin discovery, dlopen and the ABI checks that let the
** host refuse a plugin with a clear reason instead of crashing on it.
*/
#include "runtime/registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/children.h"
#include "runtime/services.h"

#ifndef LUNET_BUILD_PLUGIN_DIR
#define LUNET_BUILD_PLUGIN_DIR ""
#endif
#ifndef LUNET_INSTALL_PLUGIN_DIR
#define LUNET_INSTALL_PLUGIN_DIR ""
#endif

static plugin_entry *entries;
static int n_entries, cap_entries;
static load_failure *failures;
static int n_failures, cap_failures;
static int initialized;

static const char *const kind_names[] = {"?", "layer", "loss", "optimizer", "dataset"};

const char *kind_name(int kind) { return kind >= 1 && kind <= 4 ? kind_names[kind] : "?"; }

int kind_from_name(const char *name) {
  for (int k = 1; k <= 4; k++)
    if (strcmp(name, kind_names[k]) == 0) return k;
  return 0;
}

/* p with room for `need` elements (moved, perhaps); NULL when out of
** memory, p then left as it was. */
static void *grow(void *p, int *cap, int need, size_t elem) {
  if (need <= *cap) return p;
  int n = *cap ? *cap * 2 : 16;
  void *q = realloc(p, (size_t)n * elem);
  if (q) *cap = n;
  return q;
}

/* ---- validation of a descriptor ---------------------------------------- */

static int fail(const char *path, const char *fmt, const char *a, const char *b) {
  char msg[1024];
  snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
  services_error("%s: %s", path, msg);
  return -1;
}

static int check_decl(const char *path, const lunet_plugin *p, const lunet_param_decl *d) {
  if (!d->name || !*d->name) return fail(path, "plugin '%s' declares a parameter without a name", p->name, NULL);
  if (d->type < LUNET_INT || d->type > LUNET_STRING)
    return fail(path, "parameter '%s' of '%s' has an unknown type", d->name, p->name);
  if (d->type == LUNET_INT || d->type == LUNET_NUMBER) {
    if (!(d->min <= d->max) || d->def < d->min || d->def > d->max)
      return fail(path, "parameter '%s' of '%s' has a default outside its range", d->name, p->name);
  }
  return 0;
}

/* Which function-table entries a kind cannot do without. */
static int check_api(const char *path, const lunet_plugin *p) {
  switch (p->kind) {
  case LUNET_LAYER: {
    const lunet_layer_api *a = p->layer;
    if (!a) return fail(path, "layer '%s' has no layer function table", p->name, NULL);
    if (a->size < offsetof(lunet_layer_api, check_input))
      return fail(path, "layer '%s': function table too small", p->name, NULL);
    if (!a->create || !a->destroy || !a->forward[LUNET_CPU] || !a->backward[LUNET_CPU])
      return fail(path, "layer '%s' lacks create, destroy, or a CPU forward/backward", p->name, NULL);
    if (a->n_inputs < -1 || a->n_inputs > LUNET_MAX_INPUTS)
      return fail(path, "layer '%s' declares n_inputs outside -1..8 (LUNET_MAX_INPUTS)", p->name, NULL);
    if ((a->flags & LUNET_MASK_LAST) && a->n_inputs < 2)
      return fail(path, "layer '%s' declares LUNET_MASK_LAST with n_inputs < 2: the mask is an input after the others", p->name, NULL);
    return 0;
  }
  case LUNET_LOSS: {
    const lunet_loss_api *a = p->loss;
    if (!a || a->size < offsetof(lunet_loss_api, errors) || !a->create || !a->destroy || !a->forward[LUNET_CPU])
      return fail(path, "loss '%s' lacks create, destroy or a CPU forward", p->name, NULL);
    return 0;
  }
  case LUNET_OPTIMIZER: {
    const lunet_optimizer_api *a = p->optimizer;
    if (!a || a->size < offsetof(lunet_optimizer_api, set) || !a->create || !a->destroy || !a->step[LUNET_CPU])
      return fail(path, "optimizer '%s' lacks create, destroy or a CPU step", p->name, NULL);
    return 0;
  }
  case LUNET_DATASET: {
    const lunet_dataset_api *a = p->dataset;
    if (!a || a->size < sizeof(lunet_dataset_api) || !a->open || !a->close || !a->get)
      return fail(path, "dataset '%s' lacks open, close or get", p->name, NULL);
    return 0;
  }
  }
  return fail(path, "plugin '%s' has an unknown kind", p->name ? p->name : "?", NULL);
}

static int check_descriptor(const char *path, const lunet_plugin *p) {
  char a[32], b[32];
  if (p->abi_major != LUNET_ABI_MAJOR) {
    snprintf(a, sizeof a, "%u.%u", p->abi_major, p->abi_minor);
    snprintf(b, sizeof b, "%d.%d", LUNET_ABI_MAJOR, LUNET_ABI_MINOR);
    return fail(path, "built for plugin ABI %s, but this lunet has ABI %s; rebuild it against "
                "this lunet's include/lunet/plugin.h (README: \"Porting a plugin from ABI 1\")", a, b);
  }
  if (p->size < offsetof(lunet_plugin, dataset) + sizeof p->dataset)
    return fail(path, "descriptor too small for ABI 2.0", NULL, NULL);
  if (!p->name || !*p->name || !p->version || !p->summary)
    return fail(path, "descriptor lacks a name, version or summary", NULL, NULL);
  if (p->n_params < 0 || (p->n_params > 0 && !p->params))
    return fail(path, "plugin '%s' declares parameters but gives no table", p->name, NULL);
  for (int i = 0; i < p->n_params; i++)
    if (check_decl(path, p, &p->params[i])) return -1;
  return check_api(path, p);
}

/* ---- a crash while loading names the file ---- */

static const char *volatile loading; /* the file being dlopened and initialised */
static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
enum { N_FATAL = sizeof fatal / sizeof fatal[0] };

/* Says which plugin killed the process, then dies of the same signal. */
static void died_loading(int sig) {
  static const char m[] = "lunet: crashed while loading the plugin ";
  const char *p = loading;
  (void)!write(2, m, sizeof m - 1); /* async-signal-safe; nothing to do if it fails */
  (void)!write(2, p, strlen(p));
  (void)!write(2, "\n", 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void watch_loading(const char *path, struct sigaction old[N_FATAL]) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = died_loading;
  sigemptyset(&sa.sa_mask);
  loading = path;
  for (int i = 0; i < N_FATAL; i++) sigaction(fatal[i], &sa, &old[i]);
}

static void unwatch_loading(const struct sigaction old[N_FATAL]) {
  for (int i = 0; i < N_FATAL; i++) sigaction(fatal[i], &old[i], NULL);
  loading = NULL;
}

static int load_file(const char *path, plugin_entry *out);

/* Loads one plugin file; a fatal signal inside its dlopen or its init
** names the file before the process dies of it. */
int registry_load_file(const char *path, plugin_entry *out) {
  struct sigaction old[N_FATAL];
  watch_loading(path, old);
  int rc = load_file(path, out);
  unwatch_loading(old);
  return rc;
}

static int load_file(const char *path, plugin_entry *out) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) return fail(path, "cannot load: %s", dlerror(), NULL);
  lunet_entry_fn entry;
  *(void **)&entry = dlsym(h, LUNET_ENTRY);
  if (!entry) {
    dlclose(h);
    return fail(path, "no entry symbol '%s': not a lunet plugin? (see include/lunet/plugin.h)", LUNET_ENTRY, NULL);
  }
  services_clear_error();
  const lunet_plugin *desc = entry(services_host());
  if (!desc) {
    char why[1024];
    snprintf(why, sizeof why, "%s", services_last_error());
    dlclose(h);
    return fail(path, "%s returned no descriptor: %s", LUNET_ENTRY, why);
  }
  if (check_descriptor(path, desc)) {
    dlclose(h);
    return -1;
  }
  out->desc = desc;
  out->path = strdup(path);
  out->handle = h;
  out->shadowed = 0;
  out->used = 0;
  return 0;
}

/* ---- trial loads in a child process ------------------------------------ */

typedef struct trial {
  char *const *paths;
  int n;
  double timeout;
} trial;

/* In the child: loads each file in turn (without the crash handler: the
** parent tells) and reports each load that returned with a byte. SIGALRM,
** whose default action ends the process, stops a load past the timeout. */
static int trial_loads(void *ud, int fd) {
  const trial *t = ud;
  time_t whole = (time_t)t->timeout;
  struct itimerval limit = {{0, 0}, {whole, (suseconds_t)((t->timeout - (double)whole) * 1e6)}};
  for (int i = 0; i < t->n; i++) {
    plugin_entry e;
    setitimer(ITIMER_REAL, &limit, NULL);
    load_file(t->paths[i], &e);
    if (write(fd, "1", 1) != 1) return 1;
  }
  return 0;
}

int registry_trial_load(char *const *paths, int n, double timeout, char *why, size_t sz) {
  child_result r;
  int done = 0;
  while (done < n) { /* one child for as many files as its report holds */
    trial t = {paths + done, n - done < (int)sizeof r.out ? n - done : (int)sizeof r.out, timeout};
    if (child_run(trial_loads, &t, timeout * t.n + 1, &r)) { /* +1: the timer ends a hang first */
      snprintf(why, sz, "%s", services_last_error());
      return done;
    }
    done += (int)r.len;
    if ((int)r.len < t.n) {
      if (WIFSIGNALED(r.wstatus) && WTERMSIG(r.wstatus) == SIGALRM) r.timed_out = 1;
      child_describe_end(&r, timeout, why, sz);
      return done;
    }
  }
  return n;
}

double registry_load_timeout(void) {
  const char *text = getenv("LUNET_PLUGIN_TIMEOUT");
  char *end;
  double t = text ? strtod(text, &end) : 0;
  if (text && (end == text || *end || !(t > 0 && t <= 1e6))) {
    fprintf(stderr, "lunet: warning: LUNET_PLUGIN_TIMEOUT='%s' is not a number of seconds in (0, 1e6]; "
            "using %g\n", text, REGISTRY_LOAD_TIMEOUT);
    t = 0;
  }
  return t > 0 ? t : REGISTRY_LOAD_TIMEOUT;
}

/* ---- scanning ---------------------------------------------------------- */

static void add_failure(const char *path, const char *reason, int told) {
  load_failure *grown = grow(failures, &cap_failures, n_failures + 1, sizeof *failures);
  if (!grown) {
    services_error("plugin registry: out of memory for the load failure of %s", path);
    return;
  }
  failures = grown;
  failures[n_failures++] = (load_failure){strdup(path), strdup(reason), told};
}

static void add_file(const char *path) {
  plugin_entry e;
  if (registry_load_file(path, &e)) {
    add_failure(path, services_last_error(), 0);
    return;
  }
  for (int i = 0; i < n_entries; i++)
    if (entries[i].desc->kind == e.desc->kind && strcmp(entries[i].desc->name, e.desc->name) == 0)
      e.shadowed = 1;
  plugin_entry *grown = grow(entries, &cap_entries, n_entries + 1, sizeof *entries);
  if (!grown) {
    services_error("plugin registry: out of memory for the entry of %s", path);
    dlclose(e.handle);
    free(e.path);
    return;
  }
  entries = grown;
  entries[n_entries++] = e;
}

/* The user's plugins: those whose trial load returned in time are loaded
** here; each of the others is skipped with a warning. */
static void add_tried_files(char *const *paths, int n) {
  double timeout = registry_load_timeout();
  char how[256], why[1024];
  for (int i = 0; i < n;) {
    int ok = i + registry_trial_load(paths + i, n - i, timeout, how, sizeof how);
    while (i < ok) add_file(paths[i++]);
    if (i == n) break;
    snprintf(why, sizeof why, "%s: skipped: loading it in a child process: %s%s", paths[i], how,
             strncmp(how, "timed out", 9) ? "" : " (LUNET_PLUGIN_TIMEOUT)");
    fprintf(stderr, "lunet: warning: %s\n", why);
    add_failure(paths[i++], why, 1);
  }
}

typedef struct path_list {
  char **v;
  int n, cap;
} path_list;

static void path_list_add(path_list *l, const char *path) {
  char **grown = grow(l->v, &l->cap, l->n + 1, sizeof *l->v);
  char *copy = strdup(path);
  if (!grown || !copy) {
    services_error("plugin registry: out of memory for the name %s", path);
    free(copy);
    return;
  }
  l->v = grown;
  l->v[l->n++] = copy;
}

static void path_list_free(path_list *l) {
  for (int i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int ends_with_so(const char *s) {
  size_t n = strlen(s);
  return n > 3 && strcmp(s + n - 3, ".so") == 0;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Lists every .so in dir, then (depth 1) those of each subdirectory. */
static void scan_dir(const char *dir, int depth, path_list *found) {
  struct dirent **list;
  int n = scandir(dir, &list, NULL, by_name);
  if (n < 0) return;
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < n; i++) {
      const char *nm = list[i]->d_name;
      if (nm[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", dir, nm);
      if (pass == 0 && ends_with_so(nm) && !is_dir(path)) path_list_add(found, path);
      if (pass == 1 && depth == 0 && is_dir(path)) scan_dir(path, 1, found);
    }
  }
  for (int i = 0; i < n; i++) free(list[i]);
  free(list);
}

void registry_init(void) {
  if (initialized) return;
  initialized = 1;
  path_list user = {0}, built = {0};
  const char *env = getenv("LUNET_PLUGIN_PATH");
  if (env) {
    char *copy = strdup(env), *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) scan_dir(d, 0, &user);
    free(copy);
  }
  if (*LUNET_BUILD_PLUGIN_DIR) scan_dir(LUNET_BUILD_PLUGIN_DIR, 0, &built);
  if (*LUNET_INSTALL_PLUGIN_DIR && strcmp(LUNET_INSTALL_PLUGIN_DIR, LUNET_BUILD_PLUGIN_DIR))
    scan_dir(LUNET_INSTALL_PLUGIN_DIR, 0, &built);
  add_tried_files(user.v, user.n);
  for (int i = 0; i < built.n; i++) add_file(built.v[i]);
  path_list_free(&user);
  path_list_free(&built);
}

int registry_count(void) { return n_entries; }
const plugin_entry *registry_at(int i) { return &entries[i]; }
int registry_failure_count(void) { return n_failures; }
const load_failure *registry_failure_at(int i) { return &failures[i]; }

const plugin_entry *registry_find(int kind, const char *name) {
  registry_init();
  for (int i = 0; i < n_entries; i++)
    if (entries[i].desc->kind == kind && strcmp(entries[i].desc->name, name) == 0) {
      entries[i].used = 1;
      return &entries[i];
    }
  char known[1024] = "";
  size_t len = 0;
  for (int i = 0; i < n_entries && len < sizeof known - 64; i++)
    if (entries[i].desc->kind == kind && !entries[i].shadowed)
      len += snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", entries[i].desc->name);
  for (int i = 0; i < n_failures; i++)
    if (strstr(failures[i].path, name)) {
      services_error("no %s plugin named '%s': %s failed to load: %s", kind_name(kind), name,
                     failures[i].path, failures[i].reason);
      return NULL;
    }
  services_error("no %s plugin named '%s' (known: %s; set LUNET_PLUGIN_PATH to add a folder)",
                 kind_name(kind), name, *known ? known : "none");
  return NULL;
}

void registry_used(char *buf, size_t sz) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < n_entries && len < sz; i++)
    if (entries[i].used)
      len += (size_t)snprintf(buf + len, sz - len, "%s%s@%s", len ? " " : "", entries[i].desc->name,
                              entries[i].desc->version);
}
