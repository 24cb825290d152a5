/*
** cross_attention.c -- multi-head attention of one sequence over another:
** queries from input 1 x (Tq, E), keys and values from input 2 m (Tk, E),
** (Tq, E), (Tk, E) -> (Tq, E), as torch.nn.MultiheadAttention(E, heads,
** batch_first = True)(x, m, m): the decoder's view of the encoder in a
** transformer, a node of two inputs in lunet.graph.
**
** The math, parameters (in_proj_weight (3E, E): rows 0..E-1 project the
** queries, the rest the keys and values; in_proj_bias (3E), out_proj_weight
** (E, E), out_proj_bias (E)), the buffer attention_weights (heads, Tq, Tk)
** and the scratch are attention.h's, shared with attention.c. No causal
** mask: a query sees every key that an optional third input, a key-padding
** mask (Tk) (see pad_mask), does not hide.
*/
#include "attention.h"

enum { P_HEADS, P_DROPOUT };

static const lunet_param_decl params[] = {
  [P_HEADS] = {"heads", LUNET_INT, 2, 1, 1 << 16, NULL, NULL,
               "attention heads; E must be divisible by it", LUNET_REQUIRED},
  [P_DROPOUT] = {"dropout", LUNET_NUMBER, 0, 0, 0.999, NULL, NULL,
                 "probability of zeroing an attention weight in training", 0},
};

static void *cross_attention_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                                    lunet_build *b) {
  attention *a = attention_new("cross_attention", &in[0], &in[1], b->n_inputs == 3 ? &in[2] : NULL,
                               (int)p[P_HEADS].num, 0, p[P_DROPOUT].num, b);
  if (a) *out = in[0];
  return a;
}

/* y = MHA(x, m, m, key_padding_mask)    (B, Tq, E), (B, Tk, E), (B, Tk) -> (B, Tq, E) */
static int cross_attention_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                                   const lunet_ctx *ctx) {
  const attention *a = self;
  return attention_run(self, in[0].f32, in[1].f32, a->masked ? in[2].f32 : NULL, out->f32, ctx,
                       in[0].shape.dim[0]);
}

/* dx via Q, dm via K and V; an input whose gradient is not wanted is skipped */
static int cross_attention_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                    const lunet_tensor *dout, lunet_tensor *din,
                                    const lunet_ctx *ctx) {
  const attention *a = self;
  (void)out, (void)ctx;
  return attention_grad(self, in[0].f32, in[1].f32, dout->f32, din ? din[0].f32 : NULL,
                        din ? din[1].f32 : NULL, din && a->masked ? din[2].f32 : NULL,
                        in[0].shape.dim[0]);
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = 3,
  .flags = LUNET_MASK_LAST,
  .create = cross_attention_create,
  .destroy = attention_destroy,
  .reserve = attention_reserve,
  .forward = {[LUNET_CPU] = cross_attention_forward LUNET_ON_CUDA(cross_attention_forward)},
  .backward = {[LUNET_CPU] = cross_attention_backward LUNET_ON_CUDA(cross_attention_backward)},
  .check_input = {{2, {4, 6}}, {2, {3, 6}}, {1, {3}}},
};

LUNET_LAYER_PLUGIN(api, "cross_attention", "2.2.0",
                   "multi-head attention of queries (Tq, E) over keys/values (Tk, E) -> (Tq, E), "
                   "as torch.nn.MultiheadAttention",
                   LUNET_PARAMS(params))
