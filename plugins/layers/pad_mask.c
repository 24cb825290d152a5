/*
** pad_mask.c -- the key-padding mask of a batch of padded token sequences:
** ids (T) -> mask (T), mask[t] = -1e9 where id[t] == pad, else 0.
**
** It is PyTorch's key_padding_mask (True = ignore) in its float form, the
** one added to the scores: attention, cross_attention, additive_attention,
** attention_pool and mean_pool take it as their last input
** (LUNET_MASK_LAST) and then give padded positions no weight. -1e9 rather
** than -inf: a row of pads only (an empty text) averages them instead of
** dividing 0 by 0, and the mask stays finite for lunet check. Ids have no
** gradient: backward writes nothing.
**
** `pad` is a token id as Lua counts them, from 1 (cross_entropy's `ignore`
** too); the ids of the tensors, and m->pad, count from 0.
*/
#include <lunet/helpers.h>

#define PAD_SCORE -1e9f /* exp(s - 1e9) is 0 in float32 for any score s near 0 */

enum { P_PAD };

static const lunet_param_decl params[] = {
  [P_PAD] = {"pad", LUNET_INT, 1, 1, 2147483647.0, NULL, NULL,
             "the id that pads a sequence, counted from 1 as in Lua (text_classes pads with 1)", 0},
};

typedef struct pad_mask {
  int32_t pad; /* counted from 0 */
} pad_mask;

static void pad_mask_destroy(void *self) { host->free(self); }

static void *pad_mask_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                             lunet_build *b) {
  char buf[LUNET_SHAPE_TEXT];
  if (in->ndim != 1 || in->dim[0] < 1) {
    host->error("pad_mask: expected token ids (T), T >= 1, got %s", lunet_shape_text(in, buf));
    return NULL;
  }
  pad_mask *m = host->alloc(sizeof *m);
  if (!m) return NULL;
  m->pad = (int32_t)p[P_PAD].num - 1;
  b->id_limit = (int64_t)INT32_MAX + 1; /* any id: only equality with pad counts */
  *out = *in;
  return m;
}

static int check_ids(const lunet_tensor *in) {
  if (in->dtype == LUNET_I32) return 0;
  host->error("pad_mask: input has dtype %d, expected int32 token ids (%d)", (int)in->dtype, LUNET_I32);
  return -1;
}

/* mask = -1e9 [id == pad]    (B, T) ids -> (B, T) */
static int pad_mask_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                            const lunet_ctx *ctx) {
  const pad_mask *m = self;
  int64_t n = lunet_numel(&in->shape);
  (void)ctx;
  if (check_ids(in)) return -1;
  for (int64_t i = 0; i < n; i++) out->f32[i] = in->i32[i] == m->pad ? PAD_SCORE : 0.0f;
  return 0;
}

#ifdef LUNET_WITH_CUDA
int pad_mask_launch(const int32_t *ids, float *mask, int64_t n, int32_t pad, float score);

/* The same on the GPU (pad_mask.cu); the ids are int32, as embedding's */
static int pad_mask_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                                 const lunet_ctx *ctx) {
  const pad_mask *m = self;
  (void)ctx;
  if (check_ids(in)) return -1;
  return lunet_cuda_check("pad_mask", pad_mask_launch(in->i32, out->f32, lunet_numel(&in->shape), m->pad,
                                                      PAD_SCORE));
}
#endif

/* ids have no gradient */
static int pad_mask_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                             const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  (void)self, (void)in, (void)out, (void)dout, (void)din, (void)ctx;
  return 0;
}

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .flags = LUNET_TAKES_IDS,
  .create = pad_mask_create,
  .destroy = pad_mask_destroy,
  .forward = {[LUNET_CPU] = pad_mask_forward LUNET_ON_CUDA(pad_mask_forward_cuda)},
  .backward = {[LUNET_CPU] = pad_mask_backward LUNET_ON_CUDA(pad_mask_backward)},
  .check_input = {{1, {6}}},
};

LUNET_LAYER_PLUGIN(api, "pad_mask", "2.2.0",
                   "key-padding mask of token ids: (T) -> (T), -1e9 where id == pad, else 0",
                   LUNET_PARAMS(params))
