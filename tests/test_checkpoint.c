/*
** test_checkpoint.c -- checkpoint_save() and checkpoint_load(): a round
** trip restores parameters and outputs exactly, and every kind of bad file
** is refused with a message that names it and says what is wrong.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <criterion/criterion.h>

#include "checkpoint.h"
#include "common.h"
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

/* The example model with weights moved away from their seeded init, so
** that a loader which forgot to copy the tensors is caught. */
static model *sample_model(void) {
  model *m = common_model(NET, NET_LEN, 7, &IN5);
  cr_assert(m, "building the test model failed: %s", services_last_error());
  for (int i = 0; i < m->n_params; i++) {
    lunet_tensor *t = m->params[i].value;
    common_fill_normal(t->data, lunet_numel(&t->shape), 100 + (uint64_t)i);
  }
  return m;
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

static const float *forward(model *m, const float *x, int batch) {
  lunet_rng rng;
  rng_seed(&rng, 1);
  lunet_ctx ctx = {sizeof ctx, 0, &rng};
  lunet_tensor in = {(float *)x, {2, {batch, 5}}, LUNET_CPU};
  cr_assert_eq(model_reserve(m, batch), 0);
  const lunet_tensor *y = model_forward(m, &in, &ctx);
  cr_assert(y, "forward failed: %s", services_last_error());
  return y->data;
}

Test(checkpoint, round_trip_restores_parameters_and_outputs) {
  model *a = sample_model();
  const char *p = common_path(dir, "net.ckpt");
  char path[4096];
  snprintf(path, sizeof path, "%s", p);
  cr_assert_eq(checkpoint_save(a, path), 0, "save failed: %s", services_last_error());
  model *b = checkpoint_load(path);
  cr_assert(b, "load failed: %s", services_last_error());

  cr_expect_eq(b->seed, a->seed);
  cr_expect_eq(b->in.ndim, 1);
  cr_expect_eq(b->in.dim[0], 5);
  cr_assert_eq(b->n_params, a->n_params);
  for (int i = 0; i < a->n_params; i++) {
    const lunet_tensor *ta = a->params[i].value, *tb = b->params[i].value;
    cr_expect_str_eq(b->param_names[i], a->param_names[i]);
    cr_assert_eq(lunet_numel(&tb->shape), lunet_numel(&ta->shape), "%s", a->param_names[i]);
    cr_expect_eq(memcmp(ta->data, tb->data, sizeof(float) * (size_t)lunet_numel(&ta->shape)), 0,
                 "tensor %s differs after the round trip", a->param_names[i]);
    cr_expect_eq(a->params[i].grad == NULL, b->params[i].grad == NULL);
  }
  char da[256], db[256];
  node_describe(&a->nodes[0], da, sizeof da);
  node_describe(&b->nodes[0], db, sizeof db);
  cr_expect_str_eq(db, da, "the resolved parameters differ");
  cr_expect_eq(b->nodes[2].kind, NODE_RESIDUAL);

  enum { B = 4 };
  float x[B * 5];
  common_fill_normal(x, B * 5, 42);
  float ya[B * 3];
  memcpy(ya, forward(a, x, B), sizeof ya);
  cr_expect_eq(memcmp(ya, forward(b, x, B), sizeof ya), 0, "outputs differ after the round trip");

  cr_expect_neq(access(common_path(dir, "net.ckpt.tmp"), F_OK), 0, "the .tmp file was left behind");
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
  model *back = checkpoint_load(path);
  cr_assert(back, "%s", services_last_error());
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
  lunet_ctx train = {sizeof train, 1, &rng}, eval = {sizeof eval, 0, &rng};
  lunet_tensor xt = {x, {4, {B, 2, 3, 3}}, LUNET_CPU};
  cr_assert_eq(model_reserve(a, B), 0);
  for (int k = 0; k < 3; k++) cr_assert(model_forward(a, &xt, &train), "%s", services_last_error());
  int buffers = 0;
  for (int i = 0; i < a->n_params; i++) buffers += a->params[i].grad == NULL;
  cr_assert_geq(buffers, 1, "batchnorm lists no buffer tensors");

  char path[4096];
  snprintf(path, sizeof path, "%s", common_path(dir, "bn.ckpt"));
  cr_assert_eq(checkpoint_save(a, path), 0, "%s", services_last_error());
  model *b = checkpoint_load(path);
  cr_assert(b, "%s", services_last_error());
  cr_assert_eq(b->n_params, a->n_params);
  for (int i = 0; i < a->n_params; i++) {
    const lunet_tensor *ta = a->params[i].value, *tb = b->params[i].value;
    cr_expect_eq(memcmp(ta->data, tb->data, sizeof(float) * (size_t)lunet_numel(&ta->shape)), 0,
                 "tensor %s differs after the round trip", a->param_names[i]);
  }
  float ya[B * 2];
  memcpy(ya, model_forward(a, &xt, &eval)->data, sizeof ya);
  cr_assert_eq(model_reserve(b, B), 0);
  cr_expect_eq(memcmp(ya, model_forward(b, &xt, &eval)->data, sizeof ya), 0,
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
  buf[8] = 2; /* the u32 version at offset 8, little-endian */
  const char *want[] = {"version 2", "version 1", "newer", NULL};
  expect_refused("v2.ckpt", buf, len, want);
  free(buf);
}

Test(checkpoint, unknown_layer_plugin_is_refused) {
  size_t len;
  unsigned char *buf = saved_bytes("good.ckpt", &len);
  memcpy(find(buf, len, "layer relu ") + 6, "zzzz", 4); /* same length: offsets stay */
  fix_crc(buf, len);
  const char *want[] = {"'zzzz'", "layer", NULL};
  expect_refused("unknown.ckpt", buf, len, want);
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
  const char *want[] = {"1.dense.weight", "(7, 5)", "(8, 5)", NULL};
  expect_refused("reshaped.ckpt", buf, len, want);
  free(buf);
}

Test(checkpoint, save_refuses_an_unbuilt_model_and_a_missing_folder) {
  model *m = sample_model();
  char path[4096];
  snprintf(path, sizeof path, "%s/no/such/folder/x.ckpt", dir);
  cr_expect_eq(checkpoint_save(m, path), -1);
  cr_expect(strstr(services_last_error(), path), "%s", services_last_error());
  model_free(m);

  int count;
  node *nodes = common_nodes(NET, NET_LEN, &count);
  cr_assert(nodes, "%s", services_last_error());
  model *unbuilt = model_new(nodes, count, 1);
  cr_expect_eq(checkpoint_save(unbuilt, common_path(dir, "unbuilt.ckpt")), -1);
  cr_expect(strstr(services_last_error(), "not built"), "%s", services_last_error());
  cr_expect_neq(access(common_path(dir, "unbuilt.ckpt"), F_OK), 0);
  model_free(unbuilt);
}
