/*
** test_checkpoint.c -- checkpoint_save() and checkpoint_load(): a round
** trip restores the graph, its parameters and its outputs exactly, a file
** of format version 1 (tests/data/v1.ckpt, written by the lunet before the
** graph model) still loads, and every kind of bad file is refused with a
** message that names it and says what is wrong.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <criterion/criterion.h>

#include "checkpoint.h"
#include "common.h"
#include "registry.h"
#include "services.h"

static const lunet_shape IN5 = {1, {5}};

/* dense -> relu -> residual(dense, tanh) -> dense: strings, bools, nesting */
static const layer_spec NET[] = {
  {"dense", {P_NUM("out", 8), P_STR("init", "xavier")}, 2},
  {"relu", {{0}}, 0},
  {"(", {{0}}, 0},
  {"dense", {P_NUM("out", 8), P_BOOL("bias", 0)}, 2},
  {"tanh", {{0}}, 0},
  {")", {{0}}, 0},
  {"dense", {P_NUM("out", 3)}, 1},
};
#define NET_LEN (int)(sizeof NET / sizeof NET[0])

static char *dir;

static void setup(void) {
  unsetenv("LUNET_PLUGIN_PATH"); /* the built plugins only */
  dir = common_tmpdir();
}

static void teardown(void) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) cr_log_warn("could not remove %s", dir);
  free(dir);
}

TestSuite(checkpoint, .init = setup, .fini = teardown);

/* Moves every tensor away from its seeded init, so that a loader which
** forgot to copy the tensors is caught. */
static void scramble(model *m) {
  for (int i = 0; i < m->ws.n; i++) {
    lunet_tensor *t = m->ws.w[i].value;
    common_fill_normal(t->f32, lunet_numel(&t->shape), 100 + (uint64_t)i);
  }
}

/* The example model, scrambled. */
static model *sample_model(void) {
  model *m = common_model(NET, NET_LEN, 7, &IN5);
  cr_assert(m, "building the test model failed: %s", services_last_error());
  scramble(m);
  return m;
}

/* Loads path, or fails the test with the reason. */
static model *load(const char *path) {
  model *m = checkpoint_load(path);
  cr_assert(m, "loading %s failed: %s", path, services_last_error());
  return m;
}

/* Both models hold the same tensors (names, shapes, kinds, values), in
** the same order. */
static void expect_same_tensors(const model *a, const model *b) {
  cr_assert_eq(b->ws.n, a->ws.n);
  for (int i = 0; i < a->ws.n; i++) {
    const weight *wa = &a->ws.w[i], *wb = &b->ws.w[i];
    cr_expect_str_eq(wb->name, wa->name);
    cr_assert_eq(lunet_numel(&wb->value->shape), lunet_numel(&wa->value->shape), "%s", wa->name);
    cr_expect_eq(memcmp(wa->value->f32, wb->value->f32,
                        sizeof(float) * (size_t)lunet_numel(&wa->value->shape)), 0,
                 "tensor %s differs after the round trip", wa->name);
    cr_expect_eq(wa->grad == NULL, wb->grad == NULL, "%s", wa->name);
  }
}

/* Saves the sample model to dir/name and returns its bytes. */
static unsigned char *saved_bytes(const char *name, size_t *len) {
  model *m = sample_model();
  const char *path = common_path(dir, name);
  cr_assert_eq(checkpoint_save(m, path), 0, "save failed: %s", services_last_error());
  model_free(m);
  unsigned char *buf = common_read_file(path, len);
  cr_assert(buf, "cannot read back %s", path);
  return buf;
}

/* Recomputes the trailing CRC32 after an edit, so only the edit is seen. */
static void fix_crc(unsigned char *buf, size_t len) {
  uLong crc = crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4));
  for (int i = 0; i < 4; i++) buf[len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

/* Writes bytes to dir/name, loads it, expects a refusal naming the file
** and containing every string of `want` (NULL-terminated). */
static void expect_refused(const char *name, const unsigned char *buf, size_t len,
                           const char *const *want) {
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(dir, name));
  cr_assert_eq(common_write_file(path, buf, len), 0);
  services_clear_error();
  model *m = checkpoint_load(path);
  const char *msg = services_last_error();
  cr_assert_null(m, "%s was loaded, expected it to be refused", name);
  cr_expect(strstr(msg, path) != NULL, "the message does not name the file %s: %s", path, msg);
  for (; *want; want++)
    cr_expect(strstr(msg, *want) != NULL, "expected '%s' in the message: %s", *want, msg);
}

/* The first occurrence of s in buf (memmem is a GNU extension). */
static unsigned char *find(unsigned char *buf, size_t len, const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(buf + i, s, n) == 0) return buf + i;
  cr_assert_fail("'%s' not found in the checkpoint bytes", s);
  return NULL;
}

/* ---- round trips ------------------------------------------------------- */

/* The output of model m for its inputs x[0..m->n_inputs), in eval mode. */
static const float *forward_all(model *m, const lunet_tensor *x) {
  lunet_rng rng;
  rng_seed(&rng, 1);
  lunet_ctx ctx = {.size = sizeof ctx, .train = 0, .rng = &rng, .device = LUNET_CPU};
  cr_assert_eq(model_reserve(m, x[0].shape.dim[0]), 0, "%s", services_last_error());
  const lunet_tensor *y = model_forward(m, x, &ctx);
  cr_assert(y, "forward failed: %s", services_last_error());
  return y->f32;
}

static const float *forward(model *m, float *x, int batch) {
  lunet_tensor in = common_tensor(x, batch, &IN5);
  return forward_all(m, &in);
}

Test(checkpoint, round_trip_restores_parameters_and_outputs) {
  model *a = sample_model();
  const char *p = common_path(dir, "net.ckpt");
  char path[4096];
  snprintf(path, sizeof path, "%s", p);
  cr_assert_eq(checkpoint_save(a, path), 0, "save failed: %s", services_last_error());
  model *b = load(path);

  cr_expect_eq(b->seed, a->seed);
  cr_expect_eq(b->graph, 0);
  cr_expect_eq(b->n_inputs, 1);
  cr_expect_eq(b->in_dtype[0], LUNET_F32);
  cr_expect_eq(b->in[0].ndim, 1);
  cr_expect_eq(b->in[0].dim[0], 5);
  expect_same_tensors(a, b);
  cr_assert_eq(b->n, a->n);
  cr_expect_eq(b->output, a->output);
  for (int i = 0; i < a->n; i++) {
    char da[256], db[256];
    node_describe(&a->nodes[i], da, sizeof da);
    node_describe(&b->nodes[i], db, sizeof db);
    cr_expect_str_eq(db, da, "the resolved parameters of node %d differ", i);
    cr_expect_str_eq(b->nodes[i].label, a->nodes[i].label);
    cr_expect_eq(b->nodes[i].kind, a->nodes[i].kind, "node %d", i);
    cr_assert_eq(b->nodes[i].n_in, a->nodes[i].n_in, "node %d", i);
    cr_expect_eq(memcmp(b->nodes[i].in, a->nodes[i].in, sizeof(int) * (size_t)a->nodes[i].n_in), 0,
                 "node %d takes other inputs", i);
  }
  cr_expect_eq(b->nodes[4].kind, NODE_RESIDUAL); /* 1, 2, 3.1, 3.2, then 3 closes the block */
  cr_expect_str_eq(b->nodes[4].label, "3");

  enum { B = 4 };
  float x[B * 5];
  common_fill_normal(x, B * 5, 42);
  float ya[B * 3];
  memcpy(ya, forward(a, x, B), sizeof ya);
  cr_expect_eq(memcmp(ya, forward(b, x, B), sizeof ya), 0, "outputs differ after the round trip");

  char tmp[64];
  snprintf(tmp, sizeof tmp, "net.ckpt.tmp.%ld", (long)getpid());
  cr_expect_neq(access(common_path(dir, tmp), F_OK), 0, "the .tmp file was left behind");
  model_free(a);
  model_free(b);
}

Test(checkpoint, saving_over_a_file_replaces_it) {
  size_t len1, len2;
  unsigned char *one = saved_bytes("same.ckpt", &len1);
  common_write_file(common_path(dir, "same.ckpt"), "old contents", 12);
  unsigned char *two = saved_bytes("same.ckpt", &len2);
  cr_expect_eq(len1, len2);
  cr_expect_eq(memcmp(one, two, len1), 0, "saving is not deterministic");
  free(one);
  free(two);
}

/* The spec is text that `strings` shows: the inputs, then one line per node. */
Test(checkpoint, spec_is_readable_text) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  find(buf, len, "model inputs=1 graph=0 output=5\ninput 0 f32 5\nnode 0 layer 1 in=input0 dense ");
  find(buf, len, " out=8 init=xavier ");
  find(buf, len, "\nnode 1 layer 2 in=0 relu ");
  find(buf, len, "\nnode 2 layer 3.1 in=1 dense ");
  find(buf, len, " bias=false\nnode 3 layer 3.2 in=2 tanh ");
  find(buf, len, "\nnode 4 residual 3 in=1,3\nnode 5 layer 4 in=4 dense ");
  cr_expect_eq(buf[8], CHECKPOINT_VERSION);
  free(buf);
}

/* A graph as lunet.graph makes it: two named inputs, one of token ids,
** labels that are names, a node of two inputs. */
static model *graph_model(void) {
  model *m = model_new(11, 2);
  cr_assert(m);
  m->graph = 1;
  m->input_names[0] = strdup("x");
  m->input_names[1] = strdup("token ids"); /* a space: percent-encoded */
  struct {
    const char *label, *plugin;
    param_given p[2];
    int n_p, in[2], n_in;
  } nodes[] = {
    {"emb", "embedding", {P_NUM("vocab", 10), P_NUM("dim", 2)}, 2, {MODEL_INPUT(1)}, 1},
    {"flat", "flatten", {{0}}, 0, {0}, 1},
    {"h", "dense", {P_NUM("out", 8)}, 1, {MODEL_INPUT(0)}, 1},
    {"sum", "add", {{0}}, 0, {2, 1}, 2},
    {"out", "dense", {P_NUM("out", 3), P_STR("init", "xavier")}, 2, {3}, 1},
  };
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    const plugin_entry *pe = registry_find(LUNET_LAYER, nodes[i].plugin);
    param_values pv = {0};
    cr_assert(pe && !params_resolve(pe->desc, nodes[i].p, nodes[i].n_p, &pv), "%s", services_last_error());
    cr_assert_geq(model_add(m, NODE_LAYER, nodes[i].label, pe, &pv, nodes[i].in, nodes[i].n_in), 0,
                  "%s", services_last_error());
    params_free(&pv);
  }
  return m;
}

Test(checkpoint, graph_round_trip) {
  model *a = graph_model();
  lunet_shape in[2] = {{1, {5}}, {1, {4}}};
  int dtype[2] = {LUNET_F32, LUNET_I32};
  cr_assert_eq(model_build(a, in, dtype), 0, "%s", services_last_error());
  scramble(a);
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(dir, "graph.ckpt"));
  cr_assert_eq(checkpoint_save(a, path), 0, "%s", services_last_error());
  model *b = load(path);
  cr_expect_eq(b->graph, 1);
  cr_assert_eq(b->n_inputs, 2);
  cr_expect_str_eq(b->input_names[0], "x");
  cr_expect_str_eq(b->input_names[1], "token ids");
  cr_expect_eq(b->in_dtype[0], LUNET_F32);
  cr_expect_eq(b->in_dtype[1], LUNET_I32);
  cr_expect_eq(b->in[1].dim[0], 4);
  cr_expect_eq(b->output, 4);
  cr_assert_eq(b->n, 5);
  cr_expect_str_eq(b->nodes[3].label, "sum");
  cr_expect_eq(b->nodes[3].n_in, 2);
  cr_expect_eq(b->nodes[3].in[0], 2);
  cr_expect_eq(b->nodes[3].in[1], 1);
  cr_expect_eq(b->nodes[0].in[0], MODEL_INPUT(1));
  expect_same_tensors(a, b);

  enum { B = 3 };
  float x[B * 5];
  int32_t ids[B * 4];
  common_fill_normal(x, B * 5, 4);
  for (int i = 0; i < B * 4; i++) ids[i] = (i * 7) % 10;
  lunet_tensor xs[2] = {common_tensor(x, B, &in[0]), common_tensor(NULL, B, &in[1])};
  xs[1].dtype = LUNET_I32;
  xs[1].i32 = ids;
  float ya[B * 3];
  memcpy(ya, forward_all(a, xs), sizeof ya);
  cr_expect_eq(memcmp(ya, forward_all(b, xs), sizeof ya), 0, "outputs differ after the round trip");
  model_free(a);
  model_free(b);
}

/* ---- version 1 files ---------------------------------------------------- */

/* The words of the line of v1.expected that begins with `key`, after
** `skip` such lines: its numbers into v[] (at most n); their count. */
static int expected_line(const char *key, int skip, char *name, float *v, int n) {
  FILE *f = fopen(LUNET_TEST_DIR "/data/v1.expected", "r");
  cr_assert(f, "cannot open %s", LUNET_TEST_DIR "/data/v1.expected");
  char line[4096];
  int got = -1;
  while (got < 0 && fgets(line, sizeof line, f)) {
    char *save = NULL, *w = strtok_r(line, " \n", &save);
    if (!w || strcmp(w, key) != 0 || skip-- > 0) continue;
    if (name) snprintf(name, 256, "%s", strtok_r(NULL, " \n", &save));
    int count = atoi(strtok_r(NULL, " \n", &save));
    cr_assert_leq(count, n);
    for (got = 0; got < count; got++) v[got] = strtof(strtok_r(NULL, " \n", &save), NULL);
  }
  fclose(f);
  return got;
}

/* tests/data/v1.ckpt: lunet.sequential{input = {4}, seed = 3, dense(out = 3,
** init = "xavier"), residual{tanh, dense(out = 3)}} with set parameters,
** saved by lunet 2d64e93 (format 1) with tests/data/v1_checkpoint.lua,
** which wrote its parameters and outputs to v1.expected. */
Test(checkpoint, version_1_file_loads) {
  model *m = load(LUNET_TEST_DIR "/data/v1.ckpt");
  cr_expect_eq(m->seed, 3);
  cr_expect_eq(m->graph, 0);
  cr_assert_eq(m->n_inputs, 1);
  cr_expect_eq(m->in[0].ndim, 1);
  cr_expect_eq(m->in[0].dim[0], 4);
  static const char *const labels[] = {"1", "2.1", "2.2", "2"};
  cr_assert_eq(m->n, 4);
  for (int i = 0; i < 4; i++) cr_expect_str_eq(m->nodes[i].label, labels[i]);
  cr_expect_eq(m->nodes[3].kind, NODE_RESIDUAL);
  cr_expect_eq(m->nodes[3].in[0], 0, "the block takes the output of layer 1");
  cr_expect_eq(m->nodes[3].in[1], 2, "and adds that of its body");
  char desc[256];
  node_describe(&m->nodes[0], desc, sizeof desc);
  cr_expect_str_eq(desc, "dense(out=3, init=xavier)");

  cr_assert_eq(m->ws.n, 4);
  for (int i = 0; i < m->ws.n; i++) {
    char name[256];
    float v[64];
    int n = expected_line("param", i, name, v, 64);
    const weight *w = &m->ws.w[i];
    cr_expect_str_eq(w->name, name);
    cr_assert_eq(lunet_numel(&w->value->shape), n, "%s", name);
    cr_expect_eq(memcmp(w->value->f32, v, sizeof(float) * (size_t)n), 0, "%s differs from v1", name);
  }

  float x[2 * 4], want[2 * 3];
  for (int r = 0; r < 2; r++) {
    cr_assert_eq(expected_line("input", r, NULL, x + 4 * r, 4), 4);
    cr_assert_eq(expected_line("output", r, NULL, want + 3 * r, 3), 3);
  }
  lunet_tensor in = common_tensor(x, 2, &(lunet_shape){1, {4}});
  const float *y = forward_all(m, &in);
  for (int i = 0; i < 2 * 3; i++)
    cr_expect_float_eq(y[i], want[i], 1e-5f, "output %d is %g, lunet 2d64e93 gave %g", i, y[i], want[i]);

  /* saved again, it is written as the newest version */
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(dir, "v2.ckpt"));
  cr_assert_eq(checkpoint_save(m, path), 0, "%s", services_last_error());
  model *again = load(path);
  expect_same_tensors(m, again);
  size_t len;
  unsigned char *buf = common_read_file(path, &len);
  cr_expect_eq(buf[8], CHECKPOINT_VERSION);
  free(buf);
  model_free(again);
  model_free(m);
}

/* Any string value, spaces, newlines, '=' and '%' included, survives. */
Test(checkpoint, string_parameters_round_trip) {
  setenv("LUNET_PLUGIN_PATH", common_test_plugin_dir(), 1); /* for bad_grad's `note` */
  static const char note[] = "a b\n=%25 %zz \\ \"q\" \t\xc3\xa9 end=1";
  const layer_spec spec[] = {{"bad_grad", {P_STR("note", note)}, 1}, {"dense", {P_NUM("out", 2)}, 1}};
  model *m = common_model(spec, 2, 3, &IN5);
  cr_assert(m, "%s", services_last_error());
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(dir, "note.ckpt"));
  cr_assert_eq(checkpoint_save(m, path), 0, "%s", services_last_error());
  model *back = load(path);
  cr_expect_str_eq(back->nodes[0].params.v[0].str, note);
  model_free(m);
  model_free(back);
}

/* Buffers (grad NULL, e.g. batchnorm's running statistics) are saved and
** restored too: after training-mode forwards they differ from their init,
** and eval-mode outputs depend on them. */
Test(checkpoint, buffers_round_trip) {
  if (!registry_find(LUNET_LAYER, "batchnorm")) cr_skip_test("no batchnorm plugin built");
  const layer_spec spec[] = {{"batchnorm", {{0}}, 0}, {"flatten", {{0}}, 0}, {"dense", {P_NUM("out", 2)}, 1}};
  const lunet_shape in = {3, {2, 3, 3}};
  model *a = common_model(spec, 3, 5, &in);
  cr_assert(a, "%s", services_last_error());
  enum { B = 4, X = 2 * 3 * 3 };
  float x[B * X];
  common_fill_normal(x, B * X, 9);
  for (int i = 0; i < X * B; i++) x[i] = 3.0f * x[i] + 1.0f; /* running stats move away from 0, 1 */
  lunet_rng rng;
  rng_seed(&rng, 1);
  lunet_ctx train = {sizeof train, 1, &rng, LUNET_CPU, 1}, eval = {sizeof eval, 0, &rng, LUNET_CPU, 1};
  lunet_tensor xt = common_tensor(x, B, &in);
  cr_assert_eq(model_reserve(a, B), 0);
  for (int k = 0; k < 3; k++) cr_assert(model_forward(a, &xt, &train), "%s", services_last_error());
  int buffers = 0;
  for (int i = 0; i < a->ws.n; i++) buffers += a->ws.w[i].grad == NULL;
  cr_assert_geq(buffers, 1, "batchnorm lists no buffer tensors");

  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(dir, "bn.ckpt"));
  cr_assert_eq(checkpoint_save(a, path), 0, "%s", services_last_error());
  model *b = load(path);
  expect_same_tensors(a, b);
  float ya[B * 2];
  memcpy(ya, model_forward(a, &xt, &eval)->f32, sizeof ya);
  cr_assert_eq(model_reserve(b, B), 0);
  cr_expect_eq(memcmp(ya, model_forward(b, &xt, &eval)->f32, sizeof ya), 0,
               "eval outputs differ after the round trip");
  model_free(a);
  model_free(b);
}

/* ---- refusals ---------------------------------------------------------- */

Test(checkpoint, missing_file_is_refused) {
  const char *want[] = {"No such file", NULL};
  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(dir, "nowhere.ckpt"));
  cr_assert_null(checkpoint_load(path));
  cr_expect(strstr(services_last_error(), path), "%s", services_last_error());
  cr_expect(strstr(services_last_error(), want[0]), "%s", services_last_error());
}

Test(checkpoint, truncated_file_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("full.ckpt", &len);
  const char *want[] = {"truncated", NULL};
  expect_refused("half.ckpt", buf, len / 2, want);
  expect_refused("short_by_one.ckpt", buf, len - 1, want);
  expect_refused("header_only.ckpt", buf, 10, want);
  expect_refused("empty.ckpt", buf, 0, want);
  free(buf);
}

Test(checkpoint, flipped_bit_is_refused_as_corrupt) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  const char *want[] = {"corrupt", NULL};
  buf[len / 2] ^= 0x10; /* inside the tensor data */
  expect_refused("flipped.ckpt", buf, len, want);
  buf[len / 2] ^= 0x10;
  buf[len - 1] ^= 0x01; /* the checksum itself */
  expect_refused("flipped_crc.ckpt", buf, len, want);
  free(buf);
}

Test(checkpoint, foreign_file_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  const char *want[] = {"not a lunet checkpoint", NULL};
  buf[0] = 'X';
  expect_refused("bad_magic.ckpt", buf, len, want);
  expect_refused("text.ckpt", (const unsigned char *)"x,y\n1,2\n", 8, want);
  free(buf);
}

Test(checkpoint, newer_format_version_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  buf[8] = CHECKPOINT_VERSION + 1; /* the u32 version at offset 8, little-endian */
  char newer[32], newest[32];
  snprintf(newer, sizeof newer, "version %u", CHECKPOINT_VERSION + 1);
  snprintf(newest, sizeof newest, "to %u", CHECKPOINT_VERSION);
  const char *want[] = {newer, newest, "newer", NULL};
  expect_refused("newer.ckpt", buf, len, want);
  buf[8] = 0;
  const char *zero[] = {"corrupt", "version 0", NULL};
  expect_refused("v0.ckpt", buf, len, zero);
  free(buf);
}

Test(checkpoint, unknown_layer_plugin_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  memcpy(find(buf, len, " in=0 relu ") + 6, "zzzz", 4); /* same length: offsets stay */
  fix_crc(buf, len);
  const char *want[] = {"'zzzz'", "layer 2", NULL};
  expect_refused("unknown.ckpt", buf, len, want);
  free(buf);
}

/* Tensors are matched by name: one the model lacks, or one the file lacks,
** is named. */
Test(checkpoint, tensor_of_another_name_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  memcpy(find(buf, len, "4.dense.bias") + 11, "z", 1);
  fix_crc(buf, len);
  const char *want[] = {"'4.dense.biaz'", "does not have", NULL};
  expect_refused("renamed.ckpt", buf, len, want);
  free(buf);
}

/* A spec that does not parse is corruption, even with a good checksum. */
Test(checkpoint, malformed_spec_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  unsigned char *at = find(buf, len, "in=1,3");
  at[5] = '9'; /* a node that comes later */
  fix_crc(buf, len);
  const char *want[] = {"corrupt", "node", NULL};
  expect_refused("forward_edge.ckpt", buf, len, want);
  at[5] = '3';
  memcpy(find(buf, len, "graph=0"), "graph=7", 7);
  fix_crc(buf, len);
  const char *model_line[] = {"corrupt", "model inputs=N", NULL};
  expect_refused("bad_model_line.ckpt", buf, len, model_line);
  free(buf);
}

/* Sizes whose product passes LUNET_MAX_NUMEL are corruption, refused before
** anything multiplies them (lunet_numel overflowed on such a file). */
Test(checkpoint, tensor_of_overflowing_size_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  unsigned char *at = find(buf, len, "1.dense.weight") + strlen("1.dense.weight");
  cr_assert_eq(at[4], 2, "expected ndim 2 after the flags");
  memcpy(at + 8, "\xff\xff\xff\x7f\xff\xff\xff\x7f", 8); /* (2^31 - 1, 2^31 - 1) */
  fix_crc(buf, len);
  const char *want[] = {"corrupt", "tensor record", NULL};
  expect_refused("huge.ckpt", buf, len, want);
  free(buf);
}

Test(checkpoint, tensor_of_another_shape_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  /* record: u32 name length, name, u32 flags, u32 ndim, u32 dims... */
  unsigned char *at = find(buf, len, "1.dense.weight") + strlen("1.dense.weight");
  cr_assert_eq(at[4], 2, "expected ndim 2 after the flags");
  cr_assert_eq(at[8], 8, "expected dim 0 = 8");
  at[8] = 7;
  fix_crc(buf, len);
  const char *want[] = {"'1.dense.weight'", "(7, 5)", "(8, 5)", NULL};
  expect_refused("reshaped.ckpt", buf, len, want);
  free(buf);
}

Test(checkpoint, save_refuses_an_unbuilt_model_an_empty_path_and_a_missing_folder) {
  model *m = sample_model();
  char path[4096];
  snprintf(path, sizeof path, "%s/no/such/folder/x.ckpt", dir);
  cr_expect_eq(checkpoint_save(m, path), -1);
  cr_expect(strstr(services_last_error(), path), "%s", services_last_error());
  model_free(m);

  model *unbuilt = common_unbuilt(NET, NET_LEN, 1);
  cr_assert(unbuilt, "%s", services_last_error());
  cr_expect_eq(checkpoint_save(unbuilt, common_path(dir, "unbuilt.ckpt")), -1);
  cr_expect(strstr(services_last_error(), "not built"), "%s", services_last_error());
  cr_expect_neq(access(common_path(dir, "unbuilt.ckpt"), F_OK), 0);
  model_free(unbuilt);

  /* an empty path is said to be one, with no word of a ".tmp" file */
  model *built = sample_model();
  cr_expect_eq(checkpoint_save(built, ""), -1);
  cr_expect(strstr(services_last_error(), "empty"), "%s", services_last_error());
  cr_expect(!strstr(services_last_error(), ".tmp"), "%s", services_last_error());
  cr_expect_null(checkpoint_load(""));
  cr_expect(strstr(services_last_error(), "empty"), "%s", services_last_error());
  model_free(built);
}
