/*
** test_resume.c -- the optimizer half of training checkpoints, below Lua:
** each stock optimizer's state() items, copied into a fresh instance, make
** its next step equal, bit for bit, to the step of the instance that took
** the earlier ones; an optimizer built before ABI 2.2 (its table ends
** before state) is refused by resume_check, by name, without reading past
** the table's size; so is a model on a GPU. And the envelope's writer
** (ckfile.c): a body that puts other bytes when written than when sized is
** not saved, and the file it would replace is kept; two processes saving
** one path at once (two runs of one trial) leave a whole file.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ckfile.h"
#include "model.h"
#include "params.h"
#include "registry.h"
#include "resume.h"
#include "services.h"

#define N 37 /* trained values: not a multiple of any vector width */

typedef struct opt_run {
  const lunet_optimizer_api *api;
  void *self;
  float w[N], g[N];
  lunet_params ps;
} opt_run;

static void open_run(opt_run *o, const plugin_entry *pe, const param_values *pv) {
  memset(o, 0, sizeof *o);
  o->api = pe->desc->optimizer;
  o->ps = (lunet_params){.size = sizeof o->ps};
  o->ps.value = (lunet_tensor){.size = sizeof(lunet_tensor), .dtype = LUNET_F32, .device = LUNET_CPU,
                               .shape = {1, {N}}, .data = o->w};
  o->ps.grad = o->ps.value;
  o->ps.grad.data = o->g;
  o->self = o->api->create(pv->v, &o->ps);
  cr_assert(o->self, "%s: create failed: %s", pe->desc->name, services_last_error());
}

/* g = a fixed function of the step and the value, so both runs see the same */
static void step(opt_run *o, int t) {
  for (int i = 0; i < N; i++) o->g[i] = (float)(0.3 * ((i * 7 + t * 3) % 11 - 5)) + 0.5f * o->w[i];
  cr_assert_eq(o->api->step[LUNET_CPU](o->self, &o->ps), 0);
}

/* Every item of `from` into the same item of `to`. */
static void copy_state(const opt_run *from, opt_run *to, const char *name) {
  lunet_state_item a = {.size = sizeof a}, b = {.size = sizeof b};
  int i = 0;
  for (; from->api->state(from->self, i, &a); i++) {
    cr_assert(to->api->state(to->self, i, &b), "%s: item %d missing in a fresh instance", name, i);
    cr_assert_str_eq(a.name, b.name);
    cr_assert_eq(a.n, b.n);
    if (a.f32) memcpy(b.f32, a.f32, sizeof(float) * (size_t)a.n);
    else memcpy(b.i64, a.i64, sizeof(int64_t) * (size_t)a.n);
  }
  cr_assert(i >= 1, "%s lists no state", name);
  cr_assert(!to->api->state(to->self, i, &b), "%s: a fresh instance has more items", name);
}

Test(resume, a_step_after_restoring_the_state_equals_the_uninterrupted_step) {
  static const struct {
    const char *name;
    param_given given[3];
    int n;
  } cases[] = {
    {"sgd", {{.name = "momentum", .type = LUNET_NUMBER, .num = 0.9},
             {.name = "nesterov", .type = LUNET_BOOL, .num = 1}}, 2},
    {"adam", {{0}}, 0},
    {"adamw", {{.name = "weight_decay", .type = LUNET_NUMBER, .num = 0.1}}, 1},
    {"adagrad", {{.name = "initial_accumulator_value", .type = LUNET_NUMBER, .num = 0.1}}, 1},
    {"rmsprop", {{.name = "momentum", .type = LUNET_NUMBER, .num = 0.5},
                 {.name = "centered", .type = LUNET_BOOL, .num = 1}}, 2},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const plugin_entry *pe = registry_find(LUNET_OPTIMIZER, cases[k].name);
    cr_assert(pe, "%s", services_last_error());
    param_values pv = {0};
    cr_assert_eq(params_resolve(pe->desc, cases[k].given, cases[k].n, &pv), 0, "%s", services_last_error());
    opt_run a, b;
    open_run(&a, pe, &pv);
    open_run(&b, pe, &pv);
    for (int i = 0; i < N; i++) a.w[i] = (float)(0.1 * (i % 5) - 0.2);
    for (int t = 0; t < 5; t++) step(&a, t);
    copy_state(&a, &b, cases[k].name);
    memcpy(b.w, a.w, sizeof a.w);
    step(&a, 5);
    step(&b, 5);
    cr_assert(memcmp(a.w, b.w, sizeof a.w) == 0, "%s: the step after the restore differs", cases[k].name);
    a.api->destroy(a.self);
    b.api->destroy(b.self);
    params_free(&pv);
  }
}

static void *never_create(const lunet_value *p, const lunet_params *ps) {
  (void)p, (void)ps;
  return NULL;
}

Test(resume, an_optimizer_of_abi_2_1_is_refused_by_name) {
  /* a 2.1 table: `state` lies past its size, and holds garbage that must not be read */
  lunet_optimizer_api api = {.size = offsetof(lunet_optimizer_api, state), .create = never_create,
                             .state = (int (*)(void *, int, lunet_state_item *))(uintptr_t)1};
  lunet_plugin desc = {.size = sizeof desc, .kind = LUNET_OPTIMIZER, .name = "old_opt", .optimizer = &api};
  plugin_entry pe = {.desc = &desc, .path = "/plugins/old_opt.so"};
  model *m = model_new(1, 1);
  train_config c = {.m = m, .opt = &pe, .checkpoint = "x.ckpt"};
  cr_assert_eq(resume_check(&c), -1);
  const char *msg = services_last_error();
  cr_assert(strstr(msg, "old_opt") && strstr(msg, "/plugins/old_opt.so") && strstr(msg, "2.2") &&
            strstr(msg, "without"), "message: %s", msg);
  model_free(m);
}

Test(resume, a_model_on_a_gpu_is_refused) {
  /* only the device field is read: no GPU is needed to see the refusal */
  const plugin_entry *pe = registry_find(LUNET_OPTIMIZER, "adam");
  cr_assert(pe, "%s", services_last_error());
  model *m = model_new(1, 1);
  m->device = LUNET_CUDA;
  train_config c = {.m = m, .opt = pe, .checkpoint = "x.ckpt"};
  cr_assert_eq(resume_check(&c), -1);
  cr_assert(strstr(services_last_error(), "CPU only"), "message: %s", services_last_error());
  m->device = LUNET_CPU; /* it holds nothing on a GPU to free */
  model_free(m);
}

/* Puts 8 bytes when sized and 12 when written: a body breaking ck_save's rule. */
static void unsteady_body(ckwriter *w, void *ud) {
  int *calls = ud;
  ck_put_u64(w, 1);
  if ((*calls)++ > 0) ck_put_u32(w, 2);
}

static void steady_body(ckwriter *w, void *ud) {
  (void)ud;
  ck_put_u64(w, 1);
}

Test(resume, a_body_that_changes_between_sizing_and_writing_is_not_saved) {
  static const ckformat fmt = {"LUNETTST", 1u, 1u, "test file", "test_resume", 0};
  char dir[] = "/tmp/lunet_ckfile_XXXXXX", path[64], tmp[80];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/f", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  cr_assert_eq(ck_save(path, &fmt, steady_body, NULL), 0, "%s", services_last_error());
  int calls = 0;
  cr_assert_eq(ck_save(path, &fmt, unsteady_body, &calls), -1, "a file whose header names the wrong size was saved");
  cr_assert(strstr(services_last_error(), "changed while it was written"), "message: %s", services_last_error());
  unsigned char *buf;
  ckreader r;
  uint32_t version;
  cr_assert_eq(ck_load(path, &fmt, &buf, &r, &version), 0, "the previous file was lost: %s", services_last_error());
  cr_assert_eq(ck_get_u64(&r), 1u);
  cr_assert(r.p == r.end && !r.bad);
  free(buf);
  cr_assert_eq(access(tmp, F_OK), -1, "the temporary file was left behind");
  cr_assert_eq(remove(path), 0);
  cr_assert_eq(rmdir(dir), 0);
}

/* In its writing pass, between two words, another process saves the same
** path whole (steady_body): a second run of one trial saving meanwhile. */
static void interrupted_body(ckwriter *w, void *ud) {
  const char *path = ud;
  ck_put_u32(w, 7);
  if (w->f) {
    fflush(w->f);
    pid_t pid = fork();
    if (pid == 0) {
      static const ckformat fmt = {"LUNETTST", 1u, 1u, "test file", "test_resume", 0};
      _exit(ck_save(path, &fmt, steady_body, NULL) == 0 ? 0 : 1);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the other writer failed");
  }
  ck_put_u32(w, 8);
}

Test(resume, two_processes_saving_one_path_leave_a_whole_file) {
  static const ckformat fmt = {"LUNETTST", 1u, 1u, "test file", "test_resume", 0};
  char dir[] = "/tmp/lunet_ckfile_XXXXXX", path[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/f", dir);
  cr_assert_eq(ck_save(path, &fmt, interrupted_body, path), 0, "%s", services_last_error());
  unsigned char *buf;
  ckreader r;
  uint32_t version;
  cr_assert_eq(ck_load(path, &fmt, &buf, &r, &version), 0, "a torn file: %s", services_last_error());
  uint32_t a = ck_get_u32(&r), b = ck_get_u32(&r);
  cr_assert(a == 7 && b == 8 && r.p == r.end, "not the last writer's file");
  free(buf);
  cr_assert_eq(remove(path), 0);
  cr_assert_eq(rmdir(dir), 0, "a temporary file was left behind");
}
