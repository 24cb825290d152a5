/*
** batch.c -- batch buffers and the epoch order of lunet.train; see batch.h.
*/
#include "nn/batch.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/services.h"

int batch_init(batch *b, const dataset *ds, int cap) {
  const lunet_host *h = services_host();
  memset(b, 0, sizeof *b);
  b->cap = cap;
  b->n_inputs = ds->info.n_inputs;
  int ok = (b->idx = h->alloc(sizeof(int64_t) * (size_t)cap)) != NULL;
  for (int k = 0; ok && k < b->n_inputs; k++) /* float32 and int32 are 4 bytes */
    ok = (b->x[k].data = h->alloc(4 * (size_t)cap * (size_t)dataset_input_size(ds, k))) != NULL;
  ok = ok && (b->y.data = h->alloc(sizeof(float) * (size_t)cap * (size_t)dataset_target_size(ds))) != NULL;
  if (ok) return 0;
  services_error("out of memory for a batch of %d samples of %s", cap, ds->name);
  return -1;
}

void batch_free(batch *b) {
  const lunet_host *h = services_host();
  h->free(b->idx);
  for (int k = 0; k < LUNET_MAX_INPUTS; k++) h->free(b->x[k].data);
  h->free(b->y.data);
  memset(b, 0, sizeof *b);
}

/* Samples order[0..B) as stored (epoch < 0) or as training epoch `epoch`
** sees them. */
static int fill(batch *b, dataset *ds, const int64_t *order, int B, int64_t epoch) {
  memcpy(b->idx, order, sizeof(int64_t) * (size_t)B);
  services_clear_error();
  int rc = epoch < 0 ? dataset_get(ds, b->idx, B, b->x, &b->y)
                     : dataset_get_train(ds, b->idx, B, b->x, &b->y, epoch);
  if (rc == 0) return 0;
  if (!*services_last_error()) services_error("%s: could not read a batch", ds->name);
  return -1;
}

int batch_fill(batch *b, dataset *ds, const int64_t *order, int B) { return fill(b, ds, order, B, -1); }

int loader_init(loader *l, dataset *ds, int batch_size, uint64_t seed, int shuffle) {
  memset(l, 0, sizeof *l);
  l->ds = ds;
  l->batch_size = batch_size;
  l->shuffle = shuffle;
  int64_t n = ds->info.n;
  if (!(l->order = malloc(sizeof(int64_t) * (size_t)(n ? n : 1)))) {
    services_error("out of memory for the order of %lld samples of %s", (long long)n, ds->name);
    return -1;
  }
  for (int64_t i = 0; i < n; i++) l->order[i] = i;
  l->pos = n;
  l->epoch = -1;
  rng_seed(&l->rng, seed);
  return batch_init(&l->b, ds, batch_size);
}

void loader_free(loader *l) {
  free(l->order);
  batch_free(&l->b);
}

/* Fisher-Yates, from the last position down. */
void loader_epoch(loader *l, int64_t epoch) {
  int64_t n = l->ds->info.n;
  for (int64_t i = n - 1; l->shuffle && i > 0; i--) {
    int64_t j = (int64_t)(rng_u64(&l->rng) % (uint64_t)(i + 1));
    int64_t t = l->order[i];
    l->order[i] = l->order[j];
    l->order[j] = t;
  }
  l->pos = 0;
  l->epoch = epoch;
}

batch *loader_next(loader *l, int *err) {
  int64_t n = l->ds->info.n;
  *err = 0;
  if (l->pos >= n) return NULL;
  int B = (int)(n - l->pos < l->batch_size ? n - l->pos : l->batch_size);
  if (fill(&l->b, l->ds, l->order + l->pos, B, l->epoch)) {
    *err = -1;
    return NULL;
  }
  l->b.first = l->pos == 0;
  l->pos += B;
  return &l->b;
}
