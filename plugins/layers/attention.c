/*
** attention.c -- multi-head scaled dot-product self-attention, (T, E) -> (T, E),
** as torch.nn.MultiheadAttention(E, heads, batch_first = True)(x, x, x),
** with an optional causal mask (position t attends to s <= t only) and an
** optional second input, a key-padding mask (T) (pad_mask makes it from the
** token ids): attention(x, mask) as MultiheadAttention(x, x, x,
** key_padding_mask = mask), a float mask.
**
** The math, parameters (in_proj_weight (3E, E), in_proj_bias (3E),
** out_proj_weight (E, E), out_proj_bias (E)), the buffer attention_weights
** (heads, T, T) and the scratch are attention.h's, shared with
** cross_attention.c: here queries, keys and values all come from x, and
** backward adds the three shares of dx.
*/
#include "attention.h"

enum { P_HEADS, P_CAUSAL, P_DROPOUT };

static const lunet_param_decl params[] = {
  [P_HEADS] = {"heads", LUNET_INT, 2, 1, 1 << 16, NULL, NULL,
               "attention heads; E must be divisible by it", LUNET_REQUIRED},
  [P_CAUSAL] = {"causal", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                "position t attends only to positions s <= t", 0},
  [P_DROPOUT] = {"dropout", LUNET_NUMBER, 0, 0, 0.999, NULL, NULL,
                 "probability of zeroing an attention weight in training", 0},
};

static void *self_attention_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                                   lunet_build *b) {
  attention *a = attention_new("attention", &in[0], &in[0], b->n_inputs == 2 ? &in[1] : NULL,
                               (int)p[P_HEADS].num, p[P_CAUSAL].num != 0, p[P_DROPOUT].num, b);
  if (a) *out = in[0];
  return a;
}

/* y = MHA(x, x, x, key_padding_mask)    (B, T, E), (B, T) -> (B, T, E) */
static int self_attention_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                                  const lunet_ctx *ctx) {
  const attention *a = self;
  return attention_run(self, in[0].f32, in[0].f32, a->masked ? in[1].f32 : NULL, out->f32, ctx,
                       in[0].shape.dim[0]);
}

/* dx = dx via Q + dx via K + dx via V; dmask    (B, T, E) -> (B, T, E), (B, T) */
static int self_attention_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                                   const lunet_tensor *dout, lunet_tensor *din,
                                   const lunet_ctx *ctx) {
  const attention *a = self;
  float *dx = din ? din[0].f32 : NULL, *dmask = din && a->masked ? din[1].f32 : NULL;
  (void)out, (void)ctx;
  return attention_grad(self, in[0].f32, in[0].f32, dout->f32, dx, dx, dmask, in[0].shape.dim[0]);
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .n_inputs = 2,
  .flags = LUNET_MASK_LAST,
  .create = self_attention_create,
  .destroy = attention_destroy,
  .reserve = attention_reserve,
  .forward = {[LUNET_CPU] = self_attention_forward LUNET_ON_CUDA(self_attention_forward)},
  .backward = {[LUNET_CPU] = self_attention_backward LUNET_ON_CUDA(self_attention_backward)},
  .check_input = {{2, {4, 6}}, {1, {4}}},
};

LUNET_LAYER_PLUGIN(api, "attention", "2.2.0",
                   "multi-head scaled dot-product self-attention, (T, E) -> (T, E), as "
                   "torch.nn.MultiheadAttention",
                   LUNET_PARAMS(params))
