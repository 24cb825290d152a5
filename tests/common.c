/*
** common.c -- helpers shared by the Criterion tests; see common.h.
*/
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "registry.h"
#include "services.h"

/* ---- models ------------------------------------------------------------ */

/* Nodes from specs[*pos] on, until ")" (depth > 0) or the end (depth 0). */
static int build_seq(const layer_spec *specs, int n, int *pos, int depth, node **out, int *count) {
  node *nodes = NULL;
  int k = 0, closed = 0;
  while (*pos < n && !closed) {
    const layer_spec *s = &specs[(*pos)++];
    if (strcmp(s->plugin, ")") == 0) {
      closed = 1;
      continue;
    }
    nodes = realloc(nodes, sizeof *nodes * (size_t)(k + 1));
    node *nd = &nodes[k++];
    memset(nd, 0, sizeof *nd);
    if (strcmp(s->plugin, "(") == 0) {
      nd->kind = NODE_RESIDUAL;
      if (build_seq(specs, n, pos, depth + 1, &nd->body, &nd->n_body)) goto fail;
      continue;
    }
    nd->kind = NODE_LAYER;
    nd->plugin = registry_find(LUNET_LAYER, s->plugin);
    if (!nd->plugin || params_resolve(nd->plugin->desc, s->params, s->n_params, &nd->params)) goto fail;
  }
  if (closed != (depth > 0)) {
    services_error("test model: unbalanced '(' and ')' in the layer specs");
    goto fail;
  }
  *out = nodes;
  *count = k;
  return 0;
fail:
  node_free_all(nodes, k);
  return -1;
}

node *common_nodes(const layer_spec *specs, int n, int *count) {
  int pos = 0;
  node *nodes = NULL;
  if (build_seq(specs, n, &pos, 0, &nodes, count)) return NULL;
  return nodes;
}

model *common_model(const layer_spec *specs, int n, uint64_t seed, const lunet_shape *in) {
  int count;
  node *nodes = common_nodes(specs, n, &count);
  if (!nodes) return NULL;
  model *m = model_new(nodes, count, seed);
  if (model_build(m, in)) {
    model_free(m);
    return NULL;
  }
  return m;
}

void common_fill_normal(float *x, int64_t n, uint64_t seed) {
  lunet_rng rng;
  rng_seed(&rng, seed);
  for (int64_t i = 0; i < n; i++) x[i] = (float)rng_normal(&rng);
}

/* ---- files and folders ------------------------------------------------- */

const char *common_test_plugin_dir(void) {
  const char *dir = getenv("LUNET_TEST_PLUGIN_DIR");
  cr_assert(dir && *dir, "LUNET_TEST_PLUGIN_DIR is not set; run the tests through `meson test`, "
                         "which points it at the folder of the test plugins");
  return dir;
}

const char *common_path(const char *dir, const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

char *common_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char templ[4096];
  snprintf(templ, sizeof templ, "%s/lunet-test-XXXXXX", base && *base ? base : "/tmp");
  char *dir = mkdtemp(templ);
  cr_assert(dir != NULL, "cannot create a scratch folder under %s", base ? base : "/tmp");
  return strdup(dir);
}

unsigned char *common_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0, got;
  unsigned char *buf = malloc(cap);
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

int common_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t put = fwrite(data, 1, len, f);
  return fclose(f) == 0 && put == len ? 0 : -1;
}

/* ---- subprocesses ------------------------------------------------------ */

int common_run(const char *cmd, char *out, size_t sz) {
  char full[8192];
  snprintf(full, sizeof full, "%s 2>&1", cmd);
  fflush(NULL);
  FILE *p = popen(full, "r");
  if (!p) return -1;
  size_t n = 0, got;
  while (n + 1 < sz && (got = fread(out + n, 1, sz - 1 - n, p)) > 0) n += got;
  out[n] = '\0';
  char sink[4096];
  while (fread(sink, 1, sizeof sink, p) > 0) {} /* drain what did not fit */
  int status = pclose(p);
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
