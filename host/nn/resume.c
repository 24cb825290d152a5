/*
** resume.c -- the training checkpoint: its fingerprint, its writer and its
** reader; see resume.h.
**
** Body, format version 1, after ckfile.h's header (magic "LUNETRUN"):
**
**   fingerprint   u32 length, text: one line per fact of the run (below)
**   progress      u32 epochs done, u32 finished (1: the result is final)
**   result        f64 seconds, u32 epochs, u32 diverged, u32 stopped_early,
**                 u32 best_epoch, u32 length + message, metrics of the
**                 last training epoch, u32 E then E metrics (the eval sets
**                 in name order)
**   early stop    f64 best value, u32 evaluations since, E metrics of the
**                 best epoch, u32 1 + the best weights (trained values then
**                 buffers, as weights_snapshot lays them) or u32 0
**   streams       4 u64 of the loader's xoshiro state, u64 N and N i64
**                 (the sample order, which each epoch shuffles further),
**                 4 u64 of the stochastic layers' stream
**   optimizer     u32 count, then per state() item: u32 length + name,
**                 u32 kind (0 floats, 1 int64 counters), u64 n, the n values
**   model         the tensor records of a model checkpoint (checkpoint.h)
**
** metrics are f64 loss, f64 error, f64 perplexity, u32 classified. The
** fingerprint is text so that a refusal can quote the line that differs:
**
**   loss cross_entropy
**   optimizer adam lr=0.01 beta1=0.9 beta2=0.999 eps=1e-08 weight_decay=0
**   data samples=600 crc=3735928559               (lunet.data: samples and targets)
**   eval test samples=10000 fashion_mnist split=test ...   (a plugin: its parameters)
**   run epochs=5 batch=32 seed=1 shuffle=1 eval_every=1 eval_batch=256
**   penalties l1=0 l2=0 clip_norm=0
**   schedule kind=2 lr=0.01 step=10 gamma=0.1 min_lr=0 decay=1 warmup=0   (or "schedule none")
**   early_stopping patience=3 monitor=val metric=loss restore_best=1
**   init seed=7                                   (the model's initialisation)
**   model inputs=1 graph=0 output=3  ...           (the model's spec text)
**
** Numbers are the shortest text that reads back as the same double.
*/
#include "nn/resume.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/number.h"
#include "nn/checkpoint.h"
#include "runtime/services.h"

#define RESUME_VERSION 1u

/* No fsync of the folder: on_epoch runs right after the rename, and a kill
** between the two loses that call (it is never repeated), so the gap is kept
** to microseconds. After a power loss the rename may be undone, which leaves
** the previous checkpoint: a consistent state one save older. */
static const ckformat format = {"LUNETRUN", 1u, RESUME_VERSION, "training checkpoint",
                                "lunet.train{checkpoint = ...}", 0};

/* ---- the fingerprint --------------------------------------------------- */

static void fp_number(strbuf *sb, const char *key, double v) {
  char num[32];
  sb_str(sb, " ");
  sb_str(sb, key);
  sb_str(sb, "=");
  sb_str(sb, csv_format_number(v, num));
}

static void fp_plugin(strbuf *sb, const char *what, const plugin_entry *pe, const param_values *pv) {
  sb_str(sb, what);
  sb_word(sb, pe->desc->name);
  checkpoint_spec_params(sb, pe->desc, pv);
  sb_str(sb, "\n");
}

/* A dataset: its size, and what it is: a plugin's parameters (files, split,
** augmentation), or the CRC32 of in-memory samples and targets. */
static void fp_dataset(strbuf *sb, const char *what, const dataset *ds) {
  sb_str(sb, what);
  fp_number(sb, "samples", (double)ds->info.n);
  if (ds->plugin) {
    sb_str(sb, " ");
    sb_word(sb, ds->plugin->desc->name);
    checkpoint_spec_params(sb, ds->plugin->desc, &ds->params);
  } else {
    uint32_t crc = ck_crc32(0, NULL, 0);
    for (int k = 0; k < ds->info.n_inputs; k++)
      crc = ck_crc32(crc, ds->x[k], 4 * (size_t)ds->info.n * (size_t)dataset_input_size(ds, k));
    if (ds->y) crc = ck_crc32(crc, ds->y, sizeof(float) * (size_t)ds->info.n * (size_t)dataset_target_size(ds));
    fp_number(sb, "crc", crc);
  }
  sb_str(sb, "\n");
}

/* Every fact of c that changes the numbers of a run, one line each; the
** plugins first, so that a refusal quotes the most telling difference. */
static void fingerprint(const train_config *c, strbuf *sb) {
  fp_plugin(sb, "loss ", c->loss->pe, &c->loss->params);
  fp_plugin(sb, "optimizer ", c->opt, &c->opt_params);
  fp_dataset(sb, "data", c->data);
  for (int i = 0; i < c->n_evals; i++) {
    sb_str(sb, "eval ");
    sb_word(sb, c->evals[i].name);
    fp_dataset(sb, "", c->evals[i].ds);
  }
  sb_str(sb, "run");
  fp_number(sb, "epochs", c->epochs);
  fp_number(sb, "batch", c->batch);
  fp_number(sb, "seed", (double)c->seed);
  fp_number(sb, "shuffle", c->shuffle);
  fp_number(sb, "eval_every", c->eval_every);
  fp_number(sb, "eval_batch", c->eval_batch);
  sb_str(sb, "\npenalties");
  fp_number(sb, "l1", c->l1);
  fp_number(sb, "l2", c->l2);
  fp_number(sb, "clip_norm", c->clip_norm);
  sb_str(sb, c->sched_on ? "\nschedule" : "\nschedule none");
  if (c->sched_on) {
    const schedule *s = &c->sched;
    fp_number(sb, "kind", s->kind);
    fp_number(sb, "lr", s->lr);
    fp_number(sb, "step", s->step);
    fp_number(sb, "gamma", s->gamma);
    fp_number(sb, "min_lr", s->min_lr);
    fp_number(sb, "decay", s->decay);
    fp_number(sb, "warmup", s->warmup);
  }
  sb_str(sb, "\nearly_stopping");
  fp_number(sb, "patience", c->patience);
  if (c->patience > 0) {
    sb_str(sb, " monitor=");
    sb_word(sb, c->evals[c->monitor].name);
    sb_str(sb, c->monitor_error ? " metric=error" : " metric=loss");
    fp_number(sb, "restore_best", c->restore_best);
  }
  sb_str(sb, "\ninit");
  fp_number(sb, "seed", (double)c->m->seed);
  sb_str(sb, "\n");
  checkpoint_spec(c->m, sb);
}

/* The first line where the file's fingerprint `have` and this run's `want`
** differ, named in an error. Both are NUL-terminated. */
static int differs(const char *path, const char *have, const char *want) {
  for (;;) {
    size_t a = strcspn(have, "\n"), b = strcspn(want, "\n");
    if (a != b || memcmp(have, want, a) != 0) {
      services_error("checkpoint %s belongs to another run and is not used: the file has \"%.*s\" "
                     "where this run has \"%.*s\"; delete it to start this run afresh, or give "
                     "this run another checkpoint path", path, (int)(a > 300 ? 300 : a),
                     *have ? have : "(nothing)", (int)(b > 300 ? 300 : b), *want ? want : "(nothing)");
      return -1;
    }
    if (!have[a]) return 0;
    have += a + 1, want += b + 1;
  }
}

/* ---- writing ----------------------------------------------------------- */

typedef struct run_file {
  const train_loop *L;
  const train_result *r;
} run_file;

static void put_metrics(ckwriter *w, const metrics *mt) {
  ck_put_f64(w, mt->loss);
  ck_put_f64(w, mt->error);
  ck_put_f64(w, mt->perplexity);
  ck_put_u32(w, (uint32_t)mt->classified);
}

static void put_rng(ckwriter *w, const lunet_rng *rng) {
  for (int i = 0; i < 4; i++) ck_put_u64(w, rng->s[i]);
}

/* Item i of the optimizer's state, into *it; 0 past the last. */
static int opt_item(const train_loop *L, int i, lunet_state_item *it) {
  *it = (lunet_state_item){.size = sizeof *it};
  return L->c->opt->desc->optimizer->state(L->step.opt_self, i, it);
}

static void put_optimizer(ckwriter *w, const train_loop *L) {
  lunet_state_item it;
  uint32_t count = 0;
  while (opt_item(L, (int)count, &it)) count++;
  ck_put_u32(w, count);
  for (int i = 0; i < (int)count; i++) {
    opt_item(L, i, &it);
    ck_put_str(w, it.name);
    ck_put_u32(w, it.f32 ? 0u : 1u);
    ck_put_u64(w, (uint64_t)it.n);
    if (it.f32) ck_put_floats(w, it.f32, it.n);
    else ck_put_i64s(w, it.i64, it.n);
  }
}

static void put_body(ckwriter *w, void *ud) {
  const run_file *f = ud;
  const train_loop *L = f->L;
  const train_result *r = f->r;
  const train_config *c = L->c;
  ck_put_u32(w, (uint32_t)L->fingerprint.len);
  ck_put_bytes(w, L->fingerprint.p, L->fingerprint.len);
  ck_put_u32(w, (uint32_t)L->done);
  ck_put_u32(w, (uint32_t)L->finished);
  ck_put_f64(w, r->seconds);
  ck_put_u32(w, (uint32_t)r->epochs);
  ck_put_u32(w, (uint32_t)r->diverged);
  ck_put_u32(w, (uint32_t)r->stopped_early);
  ck_put_u32(w, (uint32_t)r->best_epoch);
  ck_put_str(w, r->message);
  put_metrics(w, &r->train);
  ck_put_u32(w, (uint32_t)c->n_evals);
  for (int i = 0; i < c->n_evals; i++) put_metrics(w, &r->evals[i]);
  ck_put_f64(w, L->best_value);
  ck_put_u32(w, (uint32_t)L->since);
  for (int i = 0; i < c->n_evals; i++) put_metrics(w, &L->best_evals[i]);
  ck_put_u32(w, L->best ? 1u : 0u);
  if (L->best) ck_put_floats(w, L->best, c->m->ws.n_trained + c->m->ws.n_buffers);
  put_rng(w, &L->data.rng);
  ck_put_u64(w, (uint64_t)c->data->info.n);
  ck_put_i64s(w, L->data.order, c->data->info.n);
  put_rng(w, &L->step.layer_rng);
  put_optimizer(w, L);
  checkpoint_put_tensors(w, c->m);
}

int resume_save(const train_loop *L, const train_result *r) {
  run_file f = {L, r};
  return ck_save(L->c->checkpoint, &format, put_body, &f);
}

/* ---- reading ----------------------------------------------------------- */

static int corrupt(const char *path, const char *what) {
  services_error("checkpoint %s: corrupt training state: %s (the checksum matched, so another "
                 "program wrote it)", path, what);
  return -1;
}

static void get_metrics(ckreader *rd, metrics *mt) {
  mt->loss = ck_get_f64(rd);
  mt->error = ck_get_f64(rd);
  mt->perplexity = ck_get_f64(rd);
  mt->classified = ck_get_u32(rd) != 0;
}

static void get_rng(ckreader *rd, lunet_rng *rng) {
  for (int i = 0; i < 4; i++) rng->s[i] = ck_get_u64(rd);
}

/* The file's fingerprint against this run's. */
static int same_run(ckreader *rd, const char *path, const strbuf *want) {
  uint32_t len = ck_get_u32(rd);
  const unsigned char *text = ck_get_bytes(rd, len);
  if (!text || memchr(text, '\0', len)) return corrupt(path, "the run's fingerprint is malformed");
  strbuf have = {0};
  sb_add(&have, (const char *)text, len);
  int rc = -1;
  if (have.nomem) services_error("checkpoint %s: out of memory for the fingerprint", path);
  else rc = differs(path, have.p ? have.p : "", want->p);
  free(have.p);
  return rc;
}

static int get_result(ckreader *rd, const char *path, train_loop *L, train_result *r) {
  const train_config *c = L->c;
  uint32_t done = ck_get_u32(rd);
  L->finished = ck_get_u32(rd) != 0;
  r->seconds = ck_get_f64(rd);
  uint32_t epochs = ck_get_u32(rd);
  r->diverged = ck_get_u32(rd) != 0;
  r->stopped_early = ck_get_u32(rd) != 0;
  uint32_t best_epoch = ck_get_u32(rd);
  uint32_t most = (uint32_t)c->epochs;
  if (rd->bad || done > most || epochs > most || best_epoch > most)
    return corrupt(path, "the progress is not within the run's epochs");
  L->done = (int)done, r->epochs = (int)epochs, r->best_epoch = (int)best_epoch;
  uint32_t len = ck_get_u32(rd);
  const unsigned char *msg = ck_get_bytes(rd, len);
  if (!msg || len >= sizeof r->message) return corrupt(path, "the result's message is malformed");
  memcpy(r->message, msg, len);
  r->message[len] = '\0';
  get_metrics(rd, &r->train);
  if (ck_get_u32(rd) != (uint32_t)c->n_evals) return corrupt(path, "the number of eval sets differs");
  for (int i = 0; i < c->n_evals; i++) get_metrics(rd, &r->evals[i]);
  return rd->bad ? corrupt(path, "the result is cut short") : 0;
}

static int get_early_stopping(ckreader *rd, const char *path, train_loop *L) {
  const train_config *c = L->c;
  L->best_value = ck_get_f64(rd);
  uint32_t since = ck_get_u32(rd);
  for (int i = 0; i < c->n_evals; i++) get_metrics(rd, &L->best_evals[i]);
  uint32_t has_best = ck_get_u32(rd);
  if (rd->bad || since > (uint32_t)c->epochs || has_best != (L->best != NULL))
    return corrupt(path, "the early-stopping state is malformed");
  L->since = (int)since;
  if (L->best && ck_get_floats(rd, L->best, c->m->ws.n_trained + c->m->ws.n_buffers))
    return corrupt(path, "the best weights run past the end of the file");
  return 0;
}

/* The loader's stream and sample order, the layers' stream. */
static int get_streams(ckreader *rd, const char *path, train_loop *L) {
  int64_t n = L->c->data->info.n;
  get_rng(rd, &L->data.rng);
  if (ck_get_u64(rd) != (uint64_t)n || ck_get_i64s(rd, L->data.order, n))
    return corrupt(path, "the sample order does not hold one index per training sample");
  for (int64_t i = 0; i < n; i++)
    if (L->data.order[i] < 0 || L->data.order[i] >= n) return corrupt(path, "a sample index is out of range");
  L->data.pos = n; /* at an epoch boundary: the next epoch shuffles further */
  get_rng(rd, &L->step.layer_rng);
  return rd->bad ? corrupt(path, "the random streams are cut short") : 0;
}

/* Each state() item of the live optimizer, filled from its record. */
static int get_optimizer(ckreader *rd, const char *path, train_loop *L) {
  const char *name = L->c->opt->desc->name;
  uint32_t count = ck_get_u32(rd);
  lunet_state_item it;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t len = ck_get_u32(rd);
    const unsigned char *saved = ck_get_bytes(rd, len);
    uint32_t kind = ck_get_u32(rd);
    int64_t n = (int64_t)ck_get_u64(rd);
    if (rd->bad) return corrupt(path, "an optimizer state record is malformed");
    if (!opt_item(L, (int)i, &it) || strlen(it.name) != len || memcmp(it.name, saved, len) != 0 ||
        kind != (it.f32 ? 0u : 1u) || n != it.n) {
      services_error("checkpoint %s: optimizer %s's state item %u is '%.*s' (%lld values) in the file "
                     "but not now; was the optimizer plugin changed since it was written?", path, name,
                     i + 1, (int)(len > 64 ? 64 : len), (const char *)saved, (long long)n);
      return -1;
    }
    if (it.f32 ? ck_get_floats(rd, it.f32, n) : ck_get_i64s(rd, it.i64, n))
      return corrupt(path, "optimizer state runs past the end of the file");
  }
  if (opt_item(L, (int)count, &it)) {
    services_error("checkpoint %s: optimizer %s has state item '%s', which the file lacks; was the "
                   "optimizer plugin changed since it was written?", path, name, it.name);
    return -1;
  }
  return 0;
}

/* The model's tensors from the file. The tensors are read in place, so a
** failure part way (a tensor of another name or shape) puts the model's own
** values back: a refused checkpoint leaves the caller's model as it was. */
static int get_model(ckreader *rd, const char *path, model *m) {
  int64_t total = m->ws.n_trained + m->ws.n_buffers;
  float *own = services_host()->alloc(sizeof(float) * (size_t)(total + 1));
  if (!own) return -1;
  int rc = weights_snapshot(&m->ws, own, 0) ? -1 : checkpoint_get_tensors(rd, path, m);
  if (rc) weights_snapshot(&m->ws, own, 1); /* the CPU's copy cannot fail */
  services_host()->free(own);
  return rc;
}

int resume_load(train_loop *L, train_result *r) {
  const char *path = L->c->checkpoint;
  fingerprint(L->c, &L->fingerprint);
  if (L->fingerprint.nomem) {
    services_error("checkpoint %s: out of memory for the run's fingerprint", path);
    return -1;
  }
  struct stat st;
  if (stat(path, &st) != 0 && errno == ENOENT) return 0;
  unsigned char *buf;
  ckreader rd;
  uint32_t version;
  if (ck_load(path, &format, &buf, &rd, &version)) return -1;
  int rc = same_run(&rd, path, &L->fingerprint) || get_result(&rd, path, L, r) ||
           get_early_stopping(&rd, path, L) || get_streams(&rd, path, L) ||
           get_optimizer(&rd, path, L) || get_model(&rd, path, L->c->m);
  free(buf);
  return rc ? -1 : 1;
}

int resume_check(const train_config *c) {
  const lunet_plugin *p = c->opt->desc;
  if (c->m->device != LUNET_CPU) {
    services_error("lunet.train: checkpoint = works on the CPU only for now (the optimizer's state "
                   "lives on the GPU); train without it, or on the CPU");
    return -1;
  }
  if (LUNET_HAS_FIELD(p->optimizer, lunet_optimizer_api, state) && p->optimizer->state) return 0;
  services_error("lunet.train: optimizer %s (%s) cannot be checkpointed: it lists no state "
                 "(state() of plugin ABI 2.2, which it predates); it still trains without "
                 "checkpoint =, or rebuild it against lunet/plugin.h 2.2 with a state() function",
                 p->name, c->opt->path);
  return -1;
}
