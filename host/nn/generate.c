/*
** generate.c -- autoregressive sampling from a token model; see generate.h.
*/
#include "nn/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/tensor.h"
#include "runtime/services.h"

/* The model fits: one int32 input (T), logits (T, V) or (V). *V and *T out. */
static int check_model(const model *m, int *T, int *V, int *per_position) {
  if (!m->built || m->n_inputs != 1 || m->in_dtype[0] != LUNET_I32 || m->in[0].ndim != 1) {
    services_error("generate: expected a built model that takes a sequence of token ids (T) "
                   "(start it with embedding, train or build it first)");
    return -1;
  }
  *T = m->in[0].dim[0];
  *per_position = m->out.ndim == 2 && m->out.dim[0] == *T;
  if (!*per_position && m->out.ndim != 1) {
    services_error("generate: the model's output must be (T, V) next-token logits per position or "
                   "(V) for the whole window; got %d dimensions", m->out.ndim);
    return -1;
  }
  *V = m->out.dim[m->out.ndim - 1];
  return 0;
}

/* Draws an id from softmax(logits / t) over the top_k largest (all: 0);
** p is scratch for V doubles, order for V ints. */
static int draw(const float *logits, int V, const generate_opts *o, lunet_rng *rng, double *p, int *order) {
  if (o->temperature <= 0) return (int)argmax_f32(logits, V);
  int k = o->top_k > 0 && o->top_k < V ? o->top_k : V;
  for (int j = 0; j < V; j++) order[j] = j;
  for (int a = 0; a < k && k < V; a++) { /* the k largest to the front */
    int best = a;
    for (int j = a + 1; j < V; j++)
      if (logits[order[j]] > logits[order[best]]) best = j;
    int t = order[a];
    order[a] = order[best], order[best] = t;
  }
  double top = logits[argmax_f32(logits, V)] / o->temperature, sum = 0; /* the largest is among the k */
  for (int a = 0; a < k; a++) sum += p[a] = exp(logits[order[a]] / o->temperature - top);
  double u = rng_uniform(rng) * sum;
  for (int a = 0; a < k; a++)
    if ((u -= p[a]) < 0) return order[a];
  return order[k - 1];
}

/* Forwards the window of ids ending at position `len` of seq; the logits of
** its next token. */
static const float *next_logits(model *m, int32_t *window, const int32_t *seq, int len, int T,
                                int per_position, const lunet_ctx *ctx) {
  int w = len < T ? len : T;
  memset(window, 0, sizeof(int32_t) * (size_t)T); /* padding: id 0 */
  memcpy(window + (per_position ? 0 : T - w), seq + len - w, sizeof(int32_t) * (size_t)w);
  lunet_tensor x = {.size = sizeof x, .dtype = LUNET_I32, .device = LUNET_CPU,
                    .shape = {2, {1, T}}, .data = window};
  const lunet_tensor *y = model_forward(m, &x, ctx);
  if (!y) return NULL;
  return y->f32 + (per_position ? (int64_t)(w - 1) * m->out.dim[1] : 0);
}

int model_generate(model *m, const int32_t *prompt, int n_prompt, const generate_opts *o, int32_t *out) {
  int T, V, per_position;
  if (check_model(m, &T, &V, &per_position)) return -1;
  if (n_prompt < 1) {
    services_error("generate: the prompt is empty; give at least one token id");
    return -1;
  }
  for (int i = 0; i < n_prompt; i++)
    if (prompt[i] < 0 || prompt[i] >= V) {
      services_error("generate: prompt id %d at position %d is outside the model's vocabulary 1..%d",
                     prompt[i] + 1, i + 1, V);
      return -1;
    }
  int32_t *window = malloc(sizeof(int32_t) * (size_t)T);
  double *p = malloc(sizeof(double) * (size_t)V);
  int *order = malloc(sizeof(int) * (size_t)V);
  int rc = !window || !p || !order || model_reserve(m, 1) ? -1 : 0;
  if (rc && !*services_last_error()) services_error("generate: out of memory for a vocabulary of %d", V);
  lunet_rng rng;
  rng_seed(&rng, o->seed);
  lunet_ctx ctx = {sizeof ctx, 0, NULL, LUNET_CPU, 1};
  memmove(out, prompt, sizeof(int32_t) * (size_t)n_prompt); /* out may be prompt */
  for (int s = 0; rc == 0 && s < o->steps; s++) {
    const float *logits = next_logits(m, window, out, n_prompt + s, T, per_position, &ctx);
    if (!logits) rc = -1;
    else out[n_prompt + s] = draw(logits, V, o, &rng, p, order);
  }
  free(window), free(p), free(order);
  return rc;
}
