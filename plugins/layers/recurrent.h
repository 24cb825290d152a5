/*
** recurrent.h -- what rnn.c, gru.c and lstm.c share: stacked layers, two
** directions, the output modes, the state carried from call to call, and
** backpropagation through time; each cell file holds its step's math.
**
** Parameters as torch.nn.RNN, GRU and LSTM with batch_first=True. For layer
** k and each direction (suffix "" forward, "_reverse" backward):
** weight_ih_l{k} (G H, in_k), weight_hh_l{k} (G H, H), bias_ih_l{k} (G H),
** bias_hh_l{k} (G H), with the cell's G gate blocks stacked in the rows
** (RNN 1, GRU r z n, LSTM i f g o), in_0 = C and in_k = H dirs above.
** They are declared in PyTorch's order (l0, l0_reverse, l1, ...) and drawn
** U(-1/sqrt(H), 1/sqrt(H)) in that order, as PyTorch initialises them.
**
** Shapes. A sample (T, C) gives (T, H dirs) for output = "sequence", the
** forward direction's state at t = 0..T-1 next to the backward one's;
** "last" gives (H dirs): the forward direction's state after step T-1 and
** the backward one's after step 0, PyTorch's h_n of the top layer
** concatenated; "mean" and "max" reduce the sequence over time.
**
** Kernels. Inside, every sequence is time-major, (T, B, C): the rows of
** step t are one contiguous (B, C) block and the states of all steps one
** (T B, H) matrix. A layer's input is projected for all steps at once, one
** GEMM (T B, in) x (in, G H); each step adds one GEMM (B, H) x (H, G H) of
** the previous state and runs the cell's fused elementwise step over the
** rows. Backward runs the steps in reverse, with one GEMM per step for the
** gradient reaching the previous state, then forms dW_ih, dW_hh and the
** input's gradient as one GEMM each over all steps. Every step's activated
** gates are kept for it. Scratch, sized by reserve(max_batch) for B =
** max_batch: per layer and direction the gates (T B G H), the states (T B
** H) and the cell's own values (T B H for the LSTM and GRU); shared, the
** gate gradients (T B G H, twice for the GRU), two gradient sequences (T B
** max(C, H dirs)) and the input (T B C); forward and backward allocate
** nothing.
**
** Devices. The same functions run on the CPU and on the GPU (CUDA
** entries): the GEMMs go through host->device[dev] (cuBLAS there), the
** step is the cell's row loop or its kernel in <cell>.cu (one thread per
** row and unit), and each move of data (transposes, states, the output's
** reductions) a loop or a kernel of recurrent.cuh. The scratch and the
** carried states live on reserve()'s device; moving the model to the other
** device drops the carried states (a stateful layer starts over there).
**
** State. Each call starts from zero state (h, and the LSTM's c), unless
** stateful = true: then row b of a call continues from the final state of
** row b of the previous call of the same mode (training and eval keep one
** state each, so an evaluation inside training does not disturb the
** training stream), as PyTorch's `out, h = rnn(x, h.detach())`: truncated
** BPTT over a contiguous stream, no gradient crosses calls. A call with
** ctx->reset (or from a host older than ABI 2.1, whose ctx lacks it) starts
** from zero, as do rows beyond those of the previous call.
**
** A cell file defines, before including this header:
**   CELL_NAME     "lstm";
**   CELL_GATES    G;
**   CELL_KEEP     1 when the step keeps H floats of its own per row (the
**                 LSTM's c, the GRU's W_hn h + b_hn), else 0;
**   CELL_HAS_C    1 when keep is also a state carried to the next step (c);
**   CELL_SPLIT    1 when the gradient of the hidden projection W_hh h
**                 differs from that of the gate inputs (GRU: r gates it);
**   CELL_DIRECT   1 when h_prev reaches h outside the gates (GRU's z h_prev);
**   CELL_PARAM    optionally, one more parameter declaration, and
**   CELL_OPTION(p) its value as an int for the step (rec_step.option);
** and after it the two functions declared below.
*/
#ifndef LUNET_RECURRENT_H
#define LUNET_RECURRENT_H

#include <lunet/helpers.h>

#include "fastmath.h"
#include "recurrent_step.h"

#define REC_MAX_LAYERS 16
#define REC_GRAIN (1 << 13) /* gate values per thread at least */

/* ---- the cell's step ---------------------------------------------------- */


/* The forward step of row b: gates, keep and h from gates (W_ih x), hh,
** the biases and the previous state. */
static void cell_forward(const rec_step *s, int64_t b);

/* The backward step of row b: dg (and dgh), dc and the direct part of dh
** from dy + dh (and dc), the kept gates and states. */
static void cell_backward(const rec_step *s, int64_t b);

static void forward_rows(void *ctx, int64_t lo, int64_t hi) {
  for (int64_t b = lo; b < hi; b++) cell_forward(ctx, b);
}

static void backward_rows(void *ctx, int64_t lo, int64_t hi) {
  for (int64_t b = lo; b < hi; b++) cell_backward(ctx, b);
}

/* ---- parameters --------------------------------------------------------- */

#ifndef CELL_OPTION
#define CELL_OPTION(p) 0
#endif

enum { P_HIDDEN, P_LAYERS, P_BIDIRECTIONAL, P_OUTPUT, P_STATEFUL, P_CELL };
enum { OUT_SEQUENCE, OUT_LAST, OUT_MEAN, OUT_MAX };

static const lunet_param_decl params[] = {
  [P_HIDDEN] = {"hidden", LUNET_INT, 5, 1, 1 << 14, NULL, NULL, "H: size of the hidden state",
                LUNET_REQUIRED},
  [P_LAYERS] = {"layers", LUNET_INT, 1, 1, REC_MAX_LAYERS, NULL, NULL,
                "stacked layers, each reading the states of the one below", 0},
  [P_BIDIRECTIONAL] = {"bidirectional", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                       "add a direction reading the sequence backwards; outputs H * 2", 0},
  [P_OUTPUT] = {"output", LUNET_STRING, 0, 0, 0, "sequence", "sequence|last|mean|max",
                "every step's state (T, H dirs), or the last state, mean or max over time (H dirs)",
                0},
  [P_STATEFUL] = {"stateful", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                  "start from the last call's final state, row for row (truncated BPTT over a "
                  "stream); zero when the host resets", 0},
#ifdef CELL_PARAM
  [P_CELL] = CELL_PARAM,
#endif
};

/* ---- the layer ---------------------------------------------------------- */

/* One layer and direction: its parameters and what forward keeps. */
typedef struct rec_dir {
  lunet_tensor w_ih, dw_ih, w_hh, dw_hh, b_ih, db_ih, b_hh, db_hh;
  float *gates;                   /* (T, B, G H): every step's activated gates */
  float *keep;                    /* (T, B, H): the cell's own values, or NULL */
  float *h0, *c0;                 /* (B, H): the state this call started from */
  float *carry_h[2], *carry_c[2]; /* (B, H): the last call's final state, per mode */
} rec_dir;

typedef struct recurrent {
  int T, C, H, layers, dirs, output, stateful, option;
  int carried[2]; /* rows of carry_*[mode] holding a state: 0 eval, 1 training */
  int max_batch;  /* rows the scratch holds */
  int device;     /* where the scratch and the carried states live: reserve()'s */
  rec_dir dir[2 * REC_MAX_LAYERS];
  float *x;                 /* (T, B, C): the input, time-major */
  float *y[REC_MAX_LAYERS]; /* (T, B, H dirs): each layer's states */
  float *hh;                /* (B, G H): W_hh h_prev of one step */
  float *dg, *dgh;          /* (T, B, G H): the gate gradients of one layer and direction */
  float *dy[2];             /* (T, B, max(C, H dirs)): a layer's output and input gradients */
  float *dh, *dc;           /* (B, H): the gradients reaching the previous step */
} recurrent;

#define REC_GH(r) (CELL_GATES * (r)->H)

static int layer_in(const recurrent *r, int l) { return l ? r->H * r->dirs : r->C; }

/* Every scratch buffer: count of them and the i-th one's address. */
static float **scratch_at(recurrent *r, int i) {
  int nd = r->layers * r->dirs;
  if (i < nd) return &r->dir[i].gates;
  if ((i -= nd) < nd) return &r->dir[i].keep;
  if ((i -= nd) < nd) return &r->dir[i].h0;
  if ((i -= nd) < nd) return &r->dir[i].c0;
  if ((i -= nd) < r->layers) return &r->y[i];
  float **rest[] = {&r->x, &r->hh, &r->dg, &r->dgh, &r->dy[0], &r->dy[1], &r->dh, &r->dc};
  return rest[i - r->layers];
}

static int scratch_count(const recurrent *r) { return 4 * r->layers * r->dirs + r->layers + 8; }

/* Frees the scratch and the carried states on their device. */
static void free_scratch(recurrent *r) {
  for (int i = 0; i < scratch_count(r); i++) {
    lunet_free_on(r->device, *scratch_at(r, i));
    *scratch_at(r, i) = NULL;
  }
  for (int i = 0; i < r->layers * r->dirs; i++)
    for (int m = 0; m < 2; m++) {
      lunet_free_on(r->device, r->dir[i].carry_h[m]);
      lunet_free_on(r->device, r->dir[i].carry_c[m]);
      r->dir[i].carry_h[m] = r->dir[i].carry_c[m] = NULL;
    }
}

static void rec_destroy(void *self) {
  recurrent *r = self;
  if (!r) return;
  free_scratch(r);
  host->free(r);
}

/* Declares the four tensors of layer l, direction d, and draws them
** U(-1/sqrt(H), 1/sqrt(H)). */
static int declare_dir(recurrent *r, int l, int d, lunet_build *b) {
  rec_dir *s = &r->dir[l * r->dirs + d];
  int GH = REC_GH(r);
  const char *sfx = d ? "_reverse" : "";
  char name[4][48];
  snprintf(name[0], sizeof name[0], "weight_ih_l%d%s", l, sfx);
  snprintf(name[1], sizeof name[1], "weight_hh_l%d%s", l, sfx);
  snprintf(name[2], sizeof name[2], "bias_ih_l%d%s", l, sfx);
  snprintf(name[3], sizeof name[3], "bias_hh_l%d%s", l, sfx);
  if (b->param(b, name[0], &s->w_ih, &s->dw_ih, &(lunet_shape){2, {GH, layer_in(r, l)}}) ||
      b->param(b, name[1], &s->w_hh, &s->dw_hh, &(lunet_shape){2, {GH, r->H}}) ||
      b->param(b, name[2], &s->b_ih, &s->db_ih, &(lunet_shape){1, {GH}}) ||
      b->param(b, name[3], &s->b_hh, &s->db_hh, &(lunet_shape){1, {GH}}))
    return -1;
  double k = 1.0 / sqrt((double)r->H);
  lunet_tensor *t[4] = {&s->w_ih, &s->w_hh, &s->b_ih, &s->b_hh};
  for (int i = 0; i < 4; i++)
    for (int64_t j = 0; j < lunet_numel(&t[i]->shape); j++)
      t[i]->f32[j] = (float)(k * (2.0 * host->rng_uniform(b->rng) - 1.0));
  return 0;
}

static int output_mode(const char *s) {
  static const char *const names[] = {"sequence", "last", "mean", "max"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return OUT_SEQUENCE; /* the host checked the choices */
}

static void *rec_create(const lunet_value *p, const lunet_shape *in, lunet_shape *out,
                        lunet_build *b) {
  if (lunet_expect_rank(CELL_NAME, in, 2, "(T, C): T steps of C features")) return NULL;
  recurrent *r = host->alloc(sizeof *r);
  if (!r) return NULL;
  r->T = in->dim[0], r->C = in->dim[1], r->H = (int)p[P_HIDDEN].num;
  r->layers = (int)p[P_LAYERS].num;
  r->dirs = p[P_BIDIRECTIONAL].num != 0 ? 2 : 1;
  r->output = output_mode(p[P_OUTPUT].str);
  r->stateful = p[P_STATEFUL].num != 0;
  r->option = CELL_OPTION(p);
  for (int l = 0; l < r->layers; l++)
    for (int d = 0; d < r->dirs; d++)
      if (declare_dir(r, l, d, b)) {
        rec_destroy(r);
        return NULL;
      }
  int Hd = r->H * r->dirs;
  *out = r->output == OUT_SEQUENCE ? (lunet_shape){2, {r->T, Hd}} : (lunet_shape){1, {Hd}};
  return r;
}

/* *p = a new zeroed buffer of n floats on `device` in place of the old
** one, whose first `kept` floats it copies (a carried state); -1 when out
** of memory. */
static int regrow(int device, float **p, size_t n, size_t kept) {
  const lunet_device_services *mem = host->device[device];
  float *q = lunet_alloc_floats_on(device, (int64_t)n);
  if (!q) return -1;
  if (*p && kept && mem->copy(q, *p, sizeof(float) * kept, LUNET_COPY_ON_DEVICE)) {
    mem->free(q);
    return -1;
  }
  lunet_free_on(device, *p);
  *p = q;
  return 0;
}

/* The floats scratch buffer i holds for max_batch rows B. */
static size_t scratch_size(const recurrent *r, int i, size_t B) {
  size_t T = (size_t)r->T, H = (size_t)r->H, GH = (size_t)REC_GH(r), Hd = H * (size_t)r->dirs;
  size_t nd = (size_t)(r->layers * r->dirs), wide = Hd > (size_t)r->C ? Hd : (size_t)r->C;
  size_t at = (size_t)i;
  if (at < nd) return T * B * GH;                             /* gates */
  if ((at -= nd) < nd) return CELL_KEEP ? T * B * H : 0;      /* keep */
  if ((at -= nd) < nd) return B * H;                          /* h0 */
  if ((at -= nd) < nd) return CELL_HAS_C ? B * H : 0;         /* c0 */
  if ((at -= nd) < (size_t)r->layers) return T * B * Hd;      /* y */
  size_t rest[] = {T * B * (size_t)r->C, B * GH, T * B * GH, CELL_SPLIT ? T * B * GH : 0,
                   T * B * wide, T * B * wide, B * H, B * H};
  return rest[at - (size_t)r->layers];
}

/* The scratch for max_batch rows on `device`. Moving to another device
** drops the carried states: a stateful layer starts over there. */
static int rec_reserve(void *self, int max_batch, int device) {
  recurrent *r = self;
  if (max_batch <= r->max_batch && device == r->device) return 0;
  if ((int64_t)r->T * max_batch > INT32_MAX / 4) {
    host->error("%s: %d steps x batch %d is too many rows, expected at most %d", CELL_NAME, r->T,
                max_batch, INT32_MAX / 4);
    return -1;
  }
  if (device != r->device) {
    free_scratch(r);
    r->device = device, r->max_batch = 0, r->carried[0] = r->carried[1] = 0;
  }
  size_t H = (size_t)r->H, old = (size_t)r->max_batch * H;
  r->max_batch = 0;
  for (int i = 0; i < scratch_count(r); i++)
    if (regrow(device, scratch_at(r, i), scratch_size(r, i, (size_t)max_batch), 0)) return -1;
  for (int i = 0; r->stateful && i < r->layers * r->dirs; i++)
    for (int m = 0; m < 2; m++)
      if (regrow(device, &r->dir[i].carry_h[m], (size_t)max_batch * H, old) ||
          (CELL_HAS_C && regrow(device, &r->dir[i].carry_c[m], (size_t)max_batch * H, old)))
        return -1;
  r->max_batch = max_batch;
  return 0;
}

/* ---- the moves of data, on either device -------------------------------- */

/* The same code runs a step on the CPU and on the GPU: the GEMMs go
** through host->device[dev], and each move below is a loop on the CPU or
** a kernel of recurrent.cuh (with the cell's step kernels, in <cell>.cu). */
#ifdef LUNET_WITH_CUDA
int rec_transpose_launch(const float *src, float *dst, int n0, int n1, int n);
int rec_start_launch(float *h0, const float *carry, int64_t kept, int64_t all);
int rec_reduce_launch(const float *y, float *out, int B, int T, int H, int dirs, int mode);
int rec_seed_launch(const float *dout, const float *y, float *dy, int B, int T, int H, int dirs,
                    int mode);
int rec_zero_launch(float *p, int64_t n);
int rec_cell_forward_launch(const rec_step *s, int B);
int rec_cell_backward_launch(const rec_step *s, int B);
int rows_sum_launch(float *db, const float *dy, int64_t rows, int n);
int rows_copy_launch(float *dst, int64_t ld_dst, const float *src, int64_t ld_src, int64_t rows,
                     int64_t n);
/* On the GPU, return the launch's status (an error names the cell). */
#define REC_ON_GPU(dev, launch) \
  if ((dev) == LUNET_CUDA) return lunet_cuda_check(CELL_NAME, launch)
#else
#define REC_ON_GPU(dev, launch) (void)(dev)
#endif

/* dst[j, i, :] = src[i, j, :]    (n0, n1, n) -> (n1, n0, n): to time-major
** with (n0, n1) = (B, T), back with (T, B). */
static int transpose(int dev, const float *src, float *dst, int n0, int n1, int n) {
  REC_ON_GPU(dev, rec_transpose_launch(src, dst, n0, n1, n));
  for (int i = 0; i < n0; i++)
    for (int j = 0; j < n1; j++)
      memcpy(dst + ((int64_t)j * n0 + i) * n, src + ((int64_t)i * n1 + j) * n, sizeof(float) * n);
  return 0;
}

/* h0[i] = carry[i] for i < kept, else 0    -> (all) */
static int start_rows(int dev, float *h0, const float *carry, int64_t kept, int64_t all) {
  REC_ON_GPU(dev, rec_start_launch(h0, carry, kept, all));
  if (kept) memcpy(h0, carry, sizeof(float) * (size_t)kept);
  memset(h0 + kept, 0, sizeof(float) * (size_t)(all - kept));
  return 0;
}

/* dst[i, :n] = src[i, :n], rows ld_dst and ld_src apart    -> (rows, n) */
static int copy_rows(int dev, float *dst, int ld_dst, const float *src, int ld_src, int rows, int n) {
  REC_ON_GPU(dev, rows_copy_launch(dst, ld_dst, src, ld_src, rows, n));
  for (int i = 0; i < rows; i++)
    memcpy(dst + (int64_t)i * ld_dst, src + (int64_t)i * ld_src, sizeof(float) * n);
  return 0;
}

static int zero(int dev, float *p, int64_t n) {
  REC_ON_GPU(dev, rec_zero_launch(p, n));
  memset(p, 0, sizeof(float) * (size_t)n);
  return 0;
}

/* The cell's step over the B rows of st (backward: its gradients). */
static int step_rows(int dev, rec_step *st, int B, int GH, int backward) {
  REC_ON_GPU(dev, backward ? rec_cell_backward_launch(st, B) : rec_cell_forward_launch(st, B));
  host->parallel_for(B, REC_GRAIN / GH + 1, backward ? backward_rows : forward_rows, st);
  return 0;
}

/* db = sum of the rows of g    (rows, n) -> (n) */
static int column_sums(int dev, const float *g, int64_t rows, int n, float *db) {
  REC_ON_GPU(dev, rows_sum_launch(db, g, rows, n));
  memset(db, 0, sizeof(float) * n);
  for (int64_t i = 0; i < rows; i++)
    for (int j = 0; j < n; j++) db[j] += g[i * n + j];
  return 0;
}

/* ---- forward ------------------------------------------------------------ */

/* h0 (and c0) of every layer and direction: the carried state of this
** mode, row for row, or zero. */
static int start_states(recurrent *r, const lunet_ctx *ctx, int B, int dev) {
  int mode = ctx->train != 0, H = r->H;
  int reset = !LUNET_HAS_FIELD(ctx, lunet_ctx, reset) || ctx->reset;
  int rows = !r->stateful || reset ? 0 : r->carried[mode] < B ? r->carried[mode] : B;
  for (int i = 0; i < r->layers * r->dirs; i++) {
    rec_dir *s = &r->dir[i];
    int64_t kept = (int64_t)rows * H, all = (int64_t)B * H;
    if (start_rows(dev, s->h0, s->carry_h[mode], kept, all) ||
        (CELL_HAS_C && start_rows(dev, s->c0, s->carry_c[mode], kept, all)))
      return -1;
  }
  return 0;
}

/* carry_*[mode] = the final state of every layer and direction. */
static int keep_states(recurrent *r, const lunet_ctx *ctx, int B, int dev) {
  int mode = ctx->train != 0, H = r->H, Hd = H * r->dirs, T = r->T;
  for (int l = 0; l < r->layers; l++)
    for (int d = 0; d < r->dirs; d++) {
      rec_dir *s = &r->dir[l * r->dirs + d];
      int64_t last = d ? 0 : T - 1; /* the step processed last */
      if (copy_rows(dev, s->carry_h[mode], H, r->y[l] + last * B * Hd + d * H, Hd, B, H) ||
          (CELL_HAS_C && copy_rows(dev, s->carry_c[mode], H, s->keep + last * B * H, H, B, H)))
        return -1;
    }
  r->carried[mode] = B;
  return 0;
}

/* The step of direction d that processes position k: t, and the position
** whose state it reads (d ? t + 1 : t - 1). */
static int step_time(const recurrent *r, int d, int k) { return d ? r->T - 1 - k : k; }

/* The step struct of layer l, direction d, at position t (k-th processed). */
static rec_step step_at(recurrent *r, int l, int d, int k, int B) {
  rec_dir *s = &r->dir[l * r->dirs + d];
  int H = r->H, GH = REC_GH(r), Hd = H * r->dirs, t = step_time(r, d, k);
  int64_t tp = d ? t + 1 : t - 1;
  rec_step st = {.H = H, .option = r->option, .b_ih = s->b_ih.f32, .b_hh = s->b_hh.f32,
                 .gates = s->gates + (int64_t)t * B * GH, .hh = r->hh, .ldh = Hd};
  st.h = r->y[l] + (int64_t)t * B * Hd + d * H;
  st.h_prev = k ? r->y[l] + tp * B * Hd + d * H : s->h0;
  st.ld_prev = k ? Hd : H;
  if (CELL_KEEP) st.keep = s->keep + (int64_t)t * B * H;
  if (CELL_HAS_C) st.c_prev = k ? s->keep + tp * B * H : s->c0;
  return st;
}

/* Layer l, direction d over all steps    (T, B, in) -> (T, B, H) of y[l] */
static int forward_direction(recurrent *r, int l, int d, int B, int dev) {
  rec_dir *s = &r->dir[l * r->dirs + d];
  int H = r->H, GH = REC_GH(r), in = layer_in(r, l), TB = r->T * B;
  const float *x = l ? r->y[l - 1] : r->x;
  const lunet_device_services *on = host->device[dev];
  /* gates = x W_ih^T    (T B, in) -> (T B, G H) */
  on->gemm(0, 1, TB, GH, in, 1.0f, x, in, s->w_ih.f32, in, 0.0f, s->gates, GH);
  for (int k = 0; k < r->T; k++) {
    rec_step st = step_at(r, l, d, k, B);
    /* hh = h_prev W_hh^T    (B, H) -> (B, G H) */
    on->gemm(0, 1, B, GH, H, 1.0f, st.h_prev, st.ld_prev, s->w_hh.f32, H, 0.0f, r->hh, GH);
    if (step_rows(dev, &st, B, GH, 0)) return -1;
  }
  return 0;
}

/* last: the forward direction after step T-1, the backward one after step
** 0; mean, max: over t    (T, B, Hd) -> (B, Hd) */
static void reduce_output(const recurrent *r, const float *y, float *out, int B) {
  int T = r->T, H = r->H, Hd = H * r->dirs;
  for (int b = 0; b < B; b++) {
    float *o = out + (int64_t)b * Hd;
    if (r->output == OUT_LAST) {
      memcpy(o, y + ((int64_t)(T - 1) * B + b) * Hd, sizeof(float) * H);
      if (r->dirs == 2) memcpy(o + H, y + (int64_t)b * Hd + H, sizeof(float) * H);
      continue;
    }
    memcpy(o, y + (int64_t)b * Hd, sizeof(float) * Hd);
    for (int t = 1; t < T; t++) {
      const float *yt = y + ((int64_t)t * B + b) * Hd;
      if (r->output == OUT_MEAN)
        for (int j = 0; j < Hd; j++) o[j] += yt[j];
      else
        for (int j = 0; j < Hd; j++) o[j] = yt[j] > o[j] ? yt[j] : o[j];
    }
    if (r->output == OUT_MEAN)
      for (int j = 0; j < Hd; j++) o[j] /= (float)T;
  }
}

/* The layer's output from the top layer's states    (T, B, Hd) -> out */
static int write_output(const recurrent *r, float *out, int B, int dev) {
  const float *y = r->y[r->layers - 1];
  if (r->output == OUT_SEQUENCE) return transpose(dev, y, out, r->T, B, r->H * r->dirs);
  REC_ON_GPU(dev, rec_reduce_launch(y, out, B, r->T, r->H, r->dirs, r->output));
  reduce_output(r, y, out, B);
  return 0;
}

static int check_batch(const recurrent *r, int B, const char *what) {
  if (B <= r->max_batch) return 0;
  host->error("%s: %s of %d rows, expected at most %d as given to reserve()", CELL_NAME, what, B,
              r->max_batch);
  return -1;
}

/* x (B, T, C) -> y (B, T, H dirs) or (B, H dirs), on device dev */
static int forward_on(recurrent *r, const lunet_tensor *in, lunet_tensor *out,
                      const lunet_ctx *ctx, int dev) {
  int B = in->shape.dim[0];
  if (check_batch(r, B, "batch") || transpose(dev, in->f32, r->x, B, r->T, r->C) ||
      start_states(r, ctx, B, dev))
    return -1;
  for (int l = 0; l < r->layers; l++)
    for (int d = 0; d < r->dirs; d++)
      if (forward_direction(r, l, d, B, dev)) return -1;
  if (r->stateful && keep_states(r, ctx, B, dev)) return -1;
  return write_output(r, out->f32, B, dev);
}

/* ---- backward ----------------------------------------------------------- */

/* last: g to the step each direction ended on; mean: g / T to every step;
** max: all of g to the first step holding the maximum    -> (T, B, Hd) */
static void seed_reduced(const recurrent *r, const float *dout, const float *y, float *dy, int B) {
  int T = r->T, H = r->H, Hd = H * r->dirs;
  if (r->output == OUT_LAST) memset(dy, 0, sizeof(float) * (size_t)T * B * Hd);
  for (int b = 0; b < B; b++) {
    const float *g = dout + (int64_t)b * Hd;
    if (r->output == OUT_LAST) {
      memcpy(dy + ((int64_t)(T - 1) * B + b) * Hd, g, sizeof(float) * H);
      if (r->dirs == 2) memcpy(dy + (int64_t)b * Hd + H, g + H, sizeof(float) * H);
    } else if (r->output == OUT_MEAN) {
      for (int t = 0; t < T; t++)
        for (int j = 0; j < Hd; j++) dy[((int64_t)t * B + b) * Hd + j] = g[j] / (float)T;
    } else {
      for (int j = 0; j < Hd; j++) {
        int at = 0;
        for (int t = 1; t < T; t++)
          if (y[((int64_t)t * B + b) * Hd + j] > y[((int64_t)at * B + b) * Hd + j]) at = t;
        for (int t = 0; t < T; t++) dy[((int64_t)t * B + b) * Hd + j] = t == at ? g[j] : 0.0f;
      }
    }
  }
}

/* dy = dL/d(top layer's states) from dL/d(output)    -> (T, B, Hd) */
static int seed_gradient(const recurrent *r, const float *dout, float *dy, int B, int dev) {
  const float *y = r->y[r->layers - 1];
  if (r->output == OUT_SEQUENCE) return transpose(dev, dout, dy, B, r->T, r->H * r->dirs);
  REC_ON_GPU(dev, rec_seed_launch(dout, y, dy, B, r->T, r->H, r->dirs, r->output));
  seed_reduced(r, dout, y, dy, B);
  return 0;
}

/* dW_ih = dg^T x, dW_hh = dgh^T h_prev, db_ih, db_hh; dx (+)= dg W_ih */
static int parameter_gradients(recurrent *r, int l, int d, int B, float *dx, int dev) {
  rec_dir *s = &r->dir[l * r->dirs + d];
  int T = r->T, H = r->H, GH = REC_GH(r), Hd = H * r->dirs, in = layer_in(r, l), TB = T * B;
  const float *x = l ? r->y[l - 1] : r->x, *dgh = CELL_SPLIT ? r->dgh : r->dg;
  const lunet_device_services *on = host->device[dev];
  /* (T B, G H) x (T B, in) -> (G H, in) */
  on->gemm(1, 0, GH, in, TB, 1.0f, r->dg, GH, x, in, 0.0f, s->dw_ih.f32, in);
  /* steps after the first read states of y[l]: the forward direction's
  ** step t reads t - 1, the backward one's t + 1 */
  int64_t first = d ? T - 1 : 0, later = d ? 0 : 1, read = d ? 1 : 0;
  if (T > 1)
    on->gemm(1, 0, GH, H, (T - 1) * B, 1.0f, dgh + later * B * GH, GH,
             r->y[l] + read * B * Hd + d * H, Hd, 0.0f, s->dw_hh.f32, H);
  on->gemm(1, 0, GH, H, B, 1.0f, dgh + first * B * GH, GH, s->h0, H, T > 1 ? 1.0f : 0.0f,
           s->dw_hh.f32, H);
  if (column_sums(dev, r->dg, TB, GH, s->db_ih.f32) ||
      (CELL_SPLIT ? column_sums(dev, dgh, TB, GH, s->db_hh.f32)
                  : copy_rows(dev, s->db_hh.f32, GH, s->db_ih.f32, GH, 1, GH)))
    return -1;
  /* (T B, G H) x (G H, in) -> (T B, in), both directions summed */
  if (dx) on->gemm(0, 0, TB, in, GH, 1.0f, r->dg, GH, s->w_ih.f32, in, d ? 1.0f : 0.0f, dx, in);
  return 0;
}

/* BPTT of layer l, direction d: dy (T, B, Hd) -> parameter gradients and
** dx (T, B, in) unless NULL. */
static int backward_direction(recurrent *r, int l, int d, int B, const float *dy, float *dx,
                              int dev) {
  rec_dir *s = &r->dir[l * r->dirs + d];
  int H = r->H, GH = REC_GH(r), Hd = H * r->dirs;
  if (zero(dev, r->dh, (int64_t)B * H) || (CELL_HAS_C && zero(dev, r->dc, (int64_t)B * H)))
    return -1;
  for (int k = r->T - 1; k >= 0; k--) {
    int64_t t = step_time(r, d, k);
    rec_step st = step_at(r, l, d, k, B);
    st.dy = dy + t * B * Hd + d * H;
    st.dh = r->dh, st.dc = r->dc;
    st.dg = r->dg + t * B * GH;
    st.dgh = CELL_SPLIT ? r->dgh + t * B * GH : st.dg;
    if (step_rows(dev, &st, B, GH, 1)) return -1;
    /* dh_prev (+)= dgh W_hh    (B, G H) -> (B, H); none reaches h0 */
    if (k > 0)
      host->device[dev]->gemm(0, 0, B, H, GH, 1.0f, st.dgh, GH, s->w_hh.f32, H,
                              CELL_DIRECT ? 1.0f : 0.0f, r->dh, H);
  }
  return parameter_gradients(r, l, d, B, dx, dev);
}

/* dL/dy (B, T, H dirs) or (B, H dirs) -> parameter gradients, dx (B, T, C),
** on device dev */
static int backward_on(recurrent *r, const lunet_tensor *in, const lunet_tensor *dout,
                       lunet_tensor *din, int dev) {
  int B = in->shape.dim[0];
  if (check_batch(r, B, "backward")) return -1;
  float *dy = r->dy[0], *dx = r->dy[1];
  if (seed_gradient(r, dout->f32, dy, B, dev)) return -1;
  for (int l = r->layers - 1; l >= 0; l--) {
    for (int d = 0; d < r->dirs; d++)
      if (backward_direction(r, l, d, B, dy, l || din ? dx : NULL, dev)) return -1;
    float *swap = dy;
    dy = dx, dx = swap;
  }
  return din ? transpose(dev, dy, din->f32, r->T, B, r->C) : 0;
}

/* ---- the entries -------------------------------------------------------- */

static int rec_forward(void *self, const lunet_tensor *in, lunet_tensor *out,
                       const lunet_ctx *ctx) {
  return forward_on(self, in, out, ctx, LUNET_CPU);
}

static int rec_backward(void *self, const lunet_tensor *in, const lunet_tensor *out,
                        const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  (void)out, (void)ctx; /* the same function in both modes */
  return backward_on(self, in, dout, din, LUNET_CPU);
}

#ifdef LUNET_WITH_CUDA
static int rec_forward_cuda(void *self, const lunet_tensor *in, lunet_tensor *out,
                            const lunet_ctx *ctx) {
  return forward_on(self, in, out, ctx, LUNET_CUDA);
}

static int rec_backward_cuda(void *self, const lunet_tensor *in, const lunet_tensor *out,
                             const lunet_tensor *dout, lunet_tensor *din, const lunet_ctx *ctx) {
  (void)out, (void)ctx;
  return backward_on(self, in, dout, din, LUNET_CUDA);
}
#endif

static const lunet_layer_api api = {
  .size = sizeof(lunet_layer_api),
  .create = rec_create,
  .destroy = rec_destroy,
  .reserve = rec_reserve,
  .forward = {[LUNET_CPU] = rec_forward LUNET_ON_CUDA(rec_forward_cuda)},
  .backward = {[LUNET_CPU] = rec_backward LUNET_ON_CUDA(rec_backward_cuda)},
  .check_input = {{2, {4, 3}}},
};

#define RECURRENT_PLUGIN(version, summary) \
  LUNET_LAYER_PLUGIN(api, CELL_NAME, version, summary, LUNET_PARAMS(params))

#endif /* LUNET_RECURRENT_H */
