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

/* Appends specs[*pos...] as a chain fed by `in`, labelled prefix1,
** prefix2, ..., until ")" (depth > 0) or the end (depth 0); the last node. */
static int add_chain(model *m, const layer_spec *specs, int n, int *pos, int depth, const char *prefix, int in) {
  int k = 0, closed = 0;
  while (*pos < n && !closed) {
    const layer_spec *s = &specs[(*pos)++];
    if (strcmp(s->plugin, ")") == 0) {
      closed = 1;
      continue;
    }
    char label[64], body[72];
    snprintf(label, sizeof label, "%s%d", prefix, ++k);
    if (strcmp(s->plugin, "(") == 0) {
      snprintf(body, sizeof body, "%s.", label);
      int out = add_chain(m, specs, n, pos, depth + 1, body, in);
      if (out == -2 || (in = model_add_residual(m, label, in, out)) < 0) return -2;
      continue;
    }
    const plugin_entry *pe = registry_find(LUNET_LAYER, s->plugin);
    param_values pv = {0};
    if (!pe || params_resolve(pe->desc, s->params, s->n_params, &pv)) {
      params_free(&pv);
      return -2;
    }
    in = model_add(m, NODE_LAYER, label, pe, &pv, &in, 1);
    params_free(&pv);
    if (in < 0) return -2;
  }
  if (closed != (depth > 0)) {
    services_error("test model: unbalanced '(' and ')' in the layer specs");
    return -2;
  }
  return in;
}

model *common_unbuilt(const layer_spec *specs, int n, uint64_t seed) {
  int pos = 0;
  model *m = model_new(seed, 1);
  if (m && add_chain(m, specs, n, &pos, 0, "", MODEL_INPUT(0)) == -2) {
    model_free(m);
    return NULL;
  }
  return m;
}

model *common_model(const layer_spec *specs, int n, uint64_t seed, const lunet_shape *in) {
  model *m = common_unbuilt(specs, n, seed);
  if (m && model_build(m, in, NULL)) {
    model_free(m);
    return NULL;
  }
  return m;
}

int common_layer_init(common_layer *l, const char *name, const lunet_shape *in,
                      const param_given *g, int n, uint64_t seed) {
  const plugin_entry *pe = registry_find(LUNET_LAYER, name);
  const lunet_layer_api *api = pe ? pe->desc->layer : NULL;
  int n_in = !api || api->n_inputs < 2 ? 1 : api->n_inputs - ((api->flags & LUNET_MASK_LAST) != 0);
  return common_layer_init_inputs(l, name, in, n_in, g, n, seed);
}

int common_layer_init_inputs(common_layer *l, const char *name, const lunet_shape *in, int n_in,
                             const param_given *g, int n, uint64_t seed) {
  memset(l, 0, sizeof *l);
  const plugin_entry *pe = registry_find(LUNET_LAYER, name);
  if (!pe || params_resolve(pe->desc, g, n, &l->pv)) {
    params_free(&l->pv);
    return -1;
  }
  lunet_rng rng;
  rng_seed(&rng, seed);
  weights_builder wb = {&l->ws, 0, ""};
  lunet_build b = {.size = sizeof b, .device = LUNET_CPU, .rng = &rng, .n_inputs = n_in,
                   .param = weights_register, .host_data = &wb};
  l->p = pe->desc, l->in = *in;
  services_clear_error();
  l->self = l->p->layer->create(l->pv.v, in, &l->out, &b);
  if (!l->self || weights_gather(&l->ws)) {
    common_layer_free(l);
    return -1;
  }
  return 0;
}

void common_layer_free(common_layer *l) {
  if (l->self) l->p->layer->destroy(l->self);
  weights_free(&l->ws);
  params_free(&l->pv);
  memset(l, 0, sizeof *l);
}

/* A float32 tensor header over data, shape (B, per_sample...). */
lunet_tensor common_tensor(float *data, int B, const lunet_shape *per_sample) {
  lunet_tensor t = {.size = sizeof t, .dtype = LUNET_F32, .device = LUNET_CPU, .data = data};
  t.shape.ndim = per_sample->ndim + 1;
  t.shape.dim[0] = B;
  memcpy(t.shape.dim + 1, per_sample->dim, sizeof(int32_t) * (size_t)per_sample->ndim);
  return t;
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
