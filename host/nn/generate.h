/*
** generate.h -- sampling a sequence from a language model, token by token.
**
** The model takes T token ids (int32, per-sample shape (T)) and gives
** next-token logits: (T, V), one row per position (read at the last
** position of the window), or (V) for a model that reads the whole window
** (a recurrent layer with output "last"). Each step forwards the last
** min(len, T) tokens in eval mode, left-aligned for (T, V) models (a
** causal model ignores the padding after them) and right-aligned for (V)
** ones, and draws the next id from softmax(logits / temperature), among
** the top_k largest when top_k > 0; temperature 0 takes the argmax.
*/
#ifndef LUNET_GENERATE_H
#define LUNET_GENERATE_H

#include "nn/model.h"

typedef struct generate_opts {
  int steps;          /* ids to draw */
  double temperature; /* > 0 samples; 0: greedy */
  int top_k;          /* 0: all */
  uint64_t seed;      /* the sampling stream */
} generate_opts;

/* Writes prompt[0..n_prompt) then `steps` drawn ids (0-based) into out,
** which holds n_prompt + steps. 0, or -1 with services_error(). */
int model_generate(model *m, const int32_t *prompt, int n_prompt, const generate_opts *o, int32_t *out);

#endif
