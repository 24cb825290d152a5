/*
** common.h -- helpers shared by the Criterion tests: small models built
** from a list of layer specs, random data, scratch files and subprocesses.
*/
#ifndef LUNET_TESTS_COMMON_H
#define LUNET_TESTS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "params.h"

/* Parameter values for a layer_spec, as Lua would give them. */
#define P_NUM(name, v) {(name), LUNET_NUMBER, (v), NULL}
#define P_BOOL(name, v) {(name), LUNET_BOOL, (v), NULL}
#define P_STR(name, s) {(name), LUNET_STRING, 0, (s)}

/* One entry of a model description. plugin "(" opens a residual block and
** ")" closes it, so a flat array describes a tree:
**   {"dense", {P_NUM("out", 8)}, 1}, {"("}, {"tanh"}, {")"} */
typedef struct layer_spec {
  const char *plugin;
  param_given params[4];
  int n_params;
} layer_spec;

/* The model described by specs[0..n), not built yet (labels and residual
** blocks as lunet.sequential makes them); NULL with services_error(). */
model *common_unbuilt(const layer_spec *specs, int n, uint64_t seed);

/* A model built for per-sample input `in`; NULL with services_error(). */
model *common_model(const layer_spec *specs, int n, uint64_t seed, const lunet_shape *in);

/* One layer built alone as a model builds a node: created for per-sample
** input `in` with a lunet_build whose param() is weights_register into
** `ws`, then gathered. Its parameters are ws.w[i].value / .grad, in the
** order the layer declares them, named as declared ("weight", "bias"). */
typedef struct common_layer {
  const lunet_plugin *p;
  param_values pv;
  void *self;
  lunet_shape in, out;
  weights ws;
} common_layer;

/* Builds layer plugin `name` with parameters g[0..n) for per-sample input
** `in`, initialised from `seed`. 0, or -1 with services_error() (then
** nothing is left to free). */
int common_layer_init(common_layer *l, const char *name, const lunet_shape *in,
                      const param_given *g, int n, uint64_t seed);

/* The same for n_in inputs of shapes in[0..n_in) (common_layer_init: as
** many as the layer takes, without an optional mask). */
int common_layer_init_inputs(common_layer *l, const char *name, const lunet_shape *in, int n_in,
                             const param_given *g, int n, uint64_t seed);
void common_layer_free(common_layer *l);

/* A float32 host tensor over data, shape (B, per_sample...). */
lunet_tensor common_tensor(float *data, int B, const lunet_shape *per_sample);

/* n samples of N(0, 1), reproducible from `seed`. */
void common_fill_normal(float *x, int64_t n, uint64_t seed);

/* $LUNET_TEST_PLUGIN_DIR: where the test plugins (bad_abi.so, no_entry.so,
** bad_grad.so) were built; the test fails when it is not set. */
const char *common_test_plugin_dir(void);

/* dir/name in a static buffer (overwritten by the next call). */
const char *common_path(const char *dir, const char *name);

/* A fresh, empty folder under $TMPDIR or /tmp; caller frees the name. */
char *common_tmpdir(void);

/* The bytes of a file (caller frees), or NULL. */
unsigned char *common_read_file(const char *path, size_t *len);
int common_write_file(const char *path, const void *data, size_t len);

/* Runs `cmd` through the shell; its stdout and stderr go to out (NUL-
** terminated, truncated to sz). Returns the exit status, or -1. */
int common_run(const char *cmd, char *out, size_t sz);

#endif
