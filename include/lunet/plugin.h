/*
** lunet/plugin.h -- the plugin ABI: the one header a lunet plugin needs.
**
** A plugin is one C file built into one shared object:
**
**     cc -shared -fPIC -I include -o my_layer.so my_layer.c
**
** It exports a single entry symbol, lunet_plugin_init(). The host calls it
** once with a table of host services (memory and kernels per device, random
** numbers, error reporting, data lookup) and receives a descriptor: who the
** plugin is, which parameters it accepts, and the function table of its kind
** (layer, loss, optimizer or dataset). Plugins link neither against the host
** nor against BLAS: everything they need comes through the service table.
** lunet/helpers.h (optional) absorbs the boilerplate: the descriptor and
** entry block, shape text, weight initialisation, common checks.
**
** Stability rules (as in SQLite's extension API and LV2):
**   - Every struct that crosses the boundary and may grow starts with a
**     `size` field (sizeof as its writer was built) and only ever grows by
**     appending fields. A reader checks `size` (LUNET_HAS_FIELD) before it
**     touches a field added in a later minor version.
**   - A change of LUNET_ABI_MAJOR is a break: the host refuses such plugins
**     with a message naming the file, both versions and what to do. The
**     first three fields of lunet_plugin (size, abi_major, abi_minor) keep
**     their place in every major version, so that the refusal can be made.
**   - Function tables hold one entry per device (LUNET_MAX_DEVICES slots),
**     so a CUDA entry can be filled later without moving anything.
**
** History:
**   1.0  the first release.
**   1.1  host svd and dgemm; optimizer fit (closed-form optimizers).
**   1.2  host lstsq and parallel_for.
**   2.0  one redesign, for sequences, graphs and devices:
**        - lunet_tensor starts with `size` and carries a dtype (float32,
**          int32 token ids, room for half types) next to its device; its
**          data is a union of typed pointers;
**        - host services per device (lunet_device_services: alloc, free,
**          copy, gemm, strided batched gemm); alloc, free, gemm and
**          gemm_batched at the top of lunet_host are the CPU's;
**        - layers: create() gets a lunet_build (device, generator, input
**          count, parameter registration) and reserve() the device;
**          layers may take several inputs (n_inputs) and declare that input
**          0 holds token ids (LUNET_TAKES_IDS); `parameters` is gone: the
**          host owns weights and gradients (see "Parameters" below);
**        - optimizers step over one flat buffer of every trained value and
**          one of their gradients (lunet_params);
**        - datasets fill tensors (typed, one per model input);
**        - losses learn the device at create.
**        A 1.x plugin is refused: rebuild it against this header after the
**        README's "Porting a plugin from ABI 1".
**   2.1  for sequences: lunet_ctx gains reset (state carried across calls
**        starts over); lunet_dataset_info gains vocab and lunet_dataset_api
**        encode and decode (text datasets). Test with LUNET_HAS_FIELD.
**   2.2  layers: flag LUNET_MASK_LAST (the last input, an additive mask
**        such as a key-padding mask, may be left out).
**        optimizers: state(), the state a training checkpoint saves and
**        restores (lunet_state_item). An older optimizer still trains;
**        lunet.train refuses checkpoint= with it, naming it.
**        datasets: get_train (optional), the samples as an epoch of
**        training sees them (random augmentation).
**        losses: counted (optional), the rows a mean and an error rate
**        count (ignored padding tokens left out).
**
** Conventions shared by every plugin function:
**   - argument order: self, input, output, then the rest (as Torch's THNN);
**   - an int result is 0 on success; on failure the plugin calls
**     host->error() with a message and returns non-zero (NULL for pointers);
**   - activations are (B, ...), batch first, row-major, contiguous, float32
**     unless a layer declares token-id input; shapes given to create() are
**     per sample (batch excluded).
**
** Parameters. The host owns every weight, bias and buffer and its gradient.
** A layer declares each one in create() through build->param(), which gives
** it zeroed memory at once, so that create() can initialise the values. When
** the whole model is built, the host gathers them into three flat buffers
** (trained values, their gradients, untrained buffers such as running
** means), in model order, and re-points the layer's tensors there. Why: an
** optimizer then updates every trained value in one pass (one kernel on a
** GPU), gradient clipping and penalties are one loop, a checkpoint or an
** early-stopping snapshot is one copy, and moving a model to a device moves
** three buffers (as llm.c and KANN do). The price is one rule: a layer reads
** value->f32 and grad->f32 through its tensors at every call and never keeps
** a copy of those pointers past create().
*/
#ifndef LUNET_PLUGIN_H
#define LUNET_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LUNET_ABI_MAJOR 2 /* bumped only by an incompatible change */
#define LUNET_ABI_MINOR 2 /* bumped by each appended field; see the history above */

#define LUNET_MAX_DIMS 8    /* most dimensions a shape may have */
#define LUNET_MAX_DEVICES 4 /* slots in per-device function tables */
#define LUNET_MAX_INPUTS 8  /* most inputs a layer (or a model) may take */

#if defined(_WIN32)
#define LUNET_EXPORT __declspec(dllexport)
#else
#define LUNET_EXPORT __attribute__((visibility("default")))
#endif

/* Whether struct `s` (a pointer to a `type` with a leading `size` field) is
** large enough to hold `field`: a reader built against a newer header asks
** this before it touches a field appended after the writer was built. */
#define LUNET_HAS_FIELD(s, type, field) \
  ((s)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- Shapes and tensors ------------------------------------------------ */

typedef enum lunet_device {
  LUNET_CPU = 0, /* host memory, the reference backend */
  LUNET_CUDA = 1 /* device memory (entries may be NULL: not implemented) */
} lunet_device;

typedef enum lunet_dtype {
  LUNET_F32 = 0,  /* float: activations, weights, targets */
  LUNET_I32 = 1,  /* int32_t: token ids, 0-based */
  LUNET_F16 = 2,  /* IEEE half (reserved: no kernel uses it yet) */
  LUNET_BF16 = 3  /* bfloat16 (reserved) */
} lunet_dtype;

typedef struct lunet_shape {
  int32_t ndim;                /* number of dimensions used, 0..LUNET_MAX_DIMS */
  int32_t dim[LUNET_MAX_DIMS]; /* sizes, outermost first */
} lunet_shape;

typedef struct lunet_tensor {
  uint32_t size;     /* sizeof(lunet_tensor) as its writer was built */
  int32_t dtype;     /* a lunet_dtype: how to read data */
  int32_t device;    /* a lunet_device: where data lives */
  lunet_shape shape; /* for activations dim[0] is the batch size */
  union {            /* ndim-dimensional row-major array, contiguous */
    void *data;
    float *f32;      /* dtype LUNET_F32 */
    int32_t *i32;    /* dtype LUNET_I32 */
    uint16_t *f16;   /* dtype LUNET_F16 or LUNET_BF16 */
  };
} lunet_tensor;

/* ---- Random numbers ---------------------------------------------------- */

/* State of the host's generator (xoshiro256**). Plugins draw from a stream
** the host hands them (or keep one of their own) through the host services,
** so that every run with the same seeds gives the same numbers. */
typedef struct lunet_rng {
  uint64_t s[4];
} lunet_rng;

/* ---- Declared parameters ----------------------------------------------- */

typedef enum lunet_param_type {
  LUNET_INT = 0,    /* integral number; min/max apply */
  LUNET_NUMBER = 1, /* real number; min/max apply */
  LUNET_BOOL = 2,   /* true or false; given to the plugin as 0 or 1 */
  LUNET_STRING = 3  /* a string; if `choices` is set, one of them */
} lunet_param_type;

#define LUNET_REQUIRED 1u /* the user must give it; `def` is only the example
                             value that `lunet check` builds the plugin with */

typedef struct lunet_param_decl {
  const char *name;    /* identifier used in Lua, e.g. "out" */
  int type;            /* a lunet_param_type */
  double def;          /* default for INT, NUMBER and BOOL */
  double min, max;     /* allowed closed range for INT and NUMBER */
  const char *def_str; /* default for STRING (NULL: "") */
  const char *choices; /* STRING only: "|"-separated allowed values, or NULL */
  const char *doc;     /* one line shown by `lunet describe` */
  unsigned flags;      /* LUNET_REQUIRED or 0 */
} lunet_param_decl;

/* One resolved parameter value. The host validates what the user wrote
** against the declarations, fills in defaults, and hands the plugin an array
** in declaration order: params[i] belongs to decls[i]. */
typedef struct lunet_value {
  double num;      /* INT, NUMBER, BOOL */
  const char *str; /* STRING; owned by the host, valid while the instance lives */
} lunet_value;

/* ---- Host services ----------------------------------------------------- */

/* Directions of lunet_device_services.copy. */
typedef enum lunet_copy_kind {
  LUNET_COPY_TO_DEVICE = 0,   /* host memory -> this device */
  LUNET_COPY_FROM_DEVICE = 1, /* this device -> host memory */
  LUNET_COPY_ON_DEVICE = 2    /* this device -> this device */
} lunet_copy_kind;

/* What the host offers on one device. The CPU's table is always there
** (host->device[LUNET_CPU]); another device's is NULL unless this build and
** machine have it. Matrices are row-major, op(X) = X or X^T as trans_X. */
typedef struct lunet_device_services {
  uint32_t size; /* sizeof(lunet_device_services) */
  int device;    /* the lunet_device it serves */

  /* 64-byte aligned, zero-filled device memory; NULL (with an error set)
  ** on failure. Plugins allocate in create/reserve, never in forward,
  ** backward or step. */
  void *(*alloc)(size_t bytes);
  void (*free)(void *p);

  /* Copies `bytes` bytes in the direction `kind`; 0, or non-zero after
  ** host->error(). */
  int (*copy)(void *dst, const void *src, size_t bytes, int kind);

  /* C = alpha op(A) op(B) + beta C; op(A) is (m, k), op(B) (k, n), C (m, n). */
  void (*gemm)(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc);

  /* `batch` independent gemms, matrix i at a + i stride_a, b + i stride_b,
  ** c + i stride_c (strides in floats): attention's per-head products. */
  void (*gemm_batched)(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, int64_t stride_a, const float *b, int ldb,
                       int64_t stride_b, float beta, float *c, int ldc, int64_t stride_c,
                       int batch);
} lunet_device_services;

/* A loop body for parallel_for: items [lo, hi) of a job. */
typedef void (*lunet_range_fn)(void *ctx, int64_t lo, int64_t hi);

typedef struct lunet_host {
  uint32_t size;      /* sizeof(lunet_host) as the host was built */
  uint16_t abi_major; /* the host's LUNET_ABI_MAJOR */
  uint16_t abi_minor; /* the host's LUNET_ABI_MINOR */

  /* The services of each device; device[LUNET_CPU] is never NULL. */
  const lunet_device_services *device[LUNET_MAX_DEVICES];

  /* The CPU's alloc, free, gemm and gemm_batched, for short:
  ** host->alloc is host->device[LUNET_CPU]->alloc, and so on. */
  void *(*alloc)(size_t bytes);
  void (*free)(void *p);
  void (*gemm)(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc);
  void (*gemm_batched)(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, int64_t stride_a, const float *b, int ldb,
                       int64_t stride_b, float beta, float *c, int ldc, int64_t stride_c,
                       int batch);

  /* Records the reason of a failure; the plugin then returns non-zero (or
  ** NULL). printf-style; the message should name the plugin and what was
  ** expected, e.g. "dense: input has 0 features, expected at least 1". */
  void (*error)(const char *fmt, ...);

  /* Random numbers from a stream (seed it once, then draw). */
  void (*rng_seed)(lunet_rng *rng, uint64_t seed);
  uint64_t (*rng_u64)(lunet_rng *rng);
  double (*rng_uniform)(lunet_rng *rng); /* in [0, 1) */
  double (*rng_normal)(lunet_rng *rng);  /* N(0, 1) */

  /* Finds a data file: tries $LUNET_DATA_DIR/<dir>/<file>, $LUNET_DATA_DIR/
  ** <file>, then /usr/share/datasets/<dir>/<file>. Writes the path found to
  ** `out` and returns 0; else sets an error that lists the places tried and
  ** returns non-zero. */
  int (*find_data)(const char *dir, const char *file, char *out, size_t outsz);

  /* Thin SVD A = U diag(s) V^T of the row-major (m, n) float64 matrix `a`,
  ** which it overwrites; k = min(m, n): s (k) descending, u (m, k), vt (k,
  ** n). LAPACK's dgesdd: backward stable. Allocates its own workspace. */
  int (*svd)(int m, int n, double *a, double *s, double *u, double *vt);

  /* C = alpha op(A) op(B) + beta C in float64; arguments as gemm. */
  void (*dgemm)(int trans_a, int trans_b, int m, int n, int k, double alpha, const double *a,
                int lda, const double *b, int ldb, double beta, double *c, int ldc);

  /* Minimum-norm least squares: X minimising |X| among the minimisers of
  ** |A X - B|, float64, LAPACK's dgelsd (as numpy.linalg.lstsq).
  **   a      (m, n) row-major A, m, n >= 1; scratch (undefined on return);
  **   b      (max(m, n), nrhs) row-major: rows 0..m-1 hold B on entry,
  **          rows 0..n-1 hold X on return;
  **   rcond  singular values <= rcond s_max count as 0 (< 0: machine eps);
  **   s      (min(m, n)) singular values, descending, or NULL;
  **   rank   the number kept, or NULL.
  ** Allocates its own workspace. 0, or non-zero after host->error(). */
  int (*lstsq)(int m, int n, int nrhs, double *a, double *b, double rcond, double *s,
               int *rank);

  /* Calls fn(ctx, lo, hi) on contiguous chunks that cover [0, n), on up to
  ** lunet.threads() threads at once (the caller runs one chunk), and returns
  ** when all are done. A chunk holds at least `grain` items, so a small n
  ** runs inline. fn must write disjoint outputs per item, and an item's
  ** result must not depend on where the chunks are cut (no sums across
  ** items): then results are the same at every thread count. fn runs on
  ** other threads too: it may call no host service but alloc and free. */
  void (*parallel_for)(int64_t n, int64_t grain, lunet_range_fn fn, void *ctx);
} lunet_host;

/* ---- Parameter tensors (weights, biases, buffers) ---------------------- */

typedef struct lunet_param {
  const char *name;    /* "weight", "bias"; in an optimizer's list the
                          model's full name, "1.dense.weight" */
  lunet_tensor *value; /* the layer's tensor; data owned by the host */
  lunet_tensor *grad;  /* same shape; NULL for a buffer that is saved in
                          checkpoints but not trained (e.g. running means) */
} lunet_param;

/* ---- Layers ------------------------------------------------------------ */

/* Declared in lunet_layer_api.flags. */
#define LUNET_TAKES_IDS 1u /* input 0 holds int32 token ids in [0, id_limit)
                              (see lunet_build): it has no gradient, and
                              `lunet check` feeds valid ids */
#define LUNET_MASK_LAST 2u /* 2.2: with n_inputs = k > 1, the last input is
                              an optional additive mask (PyTorch's float
                              key_padding_mask: 0 keeps a position, -1e9
                              ignores it): the layer takes k - 1 or k inputs
                              and create() learns which from build->n_inputs */

/* What create() gets besides its parameters and input shapes. */
typedef struct lunet_build {
  uint32_t size;   /* sizeof(lunet_build) */
  int device;      /* the lunet_device the layer's memory and kernels use */
  lunet_rng *rng;  /* initialisation stream of the model */
  int n_inputs;    /* how many shapes `in` holds */

  /* Declares a parameter of the layer: `value` (and `grad`, unless NULL for
  ** an untrained buffer) are the layer's own tensors, at addresses that stay
  ** put while the layer lives. The host fills them in: dtype float32, the
  ** device, `shape`, and zeroed memory that create() may initialise. Names
  ** follow PyTorch's ("weight", "bias", "weight_ih_l0"); the host copies
  ** them. Later the host may move the memory (see "Parameters" at the top).
  ** 0, or non-zero after an error (create then fails). */
  int (*param)(const struct lunet_build *b, const char *name, lunet_tensor *value,
               lunet_tensor *grad, const lunet_shape *shape);

  /* Set by create() of a LUNET_TAKES_IDS layer: its ids lie in [0,
  ** id_limit) (an embedding's vocab); the host checks data against it. */
  int64_t id_limit;

  void *host_data; /* the host's, for param(); plugins leave it alone */
} lunet_build;

/* The context of one forward call. */
typedef struct lunet_ctx {
  uint32_t size;  /* sizeof(lunet_ctx); later minor versions append fields */
  int train;      /* 1: training mode (dropout active, batch statistics) */
  lunet_rng *rng; /* the run's stream for stochastic layers */
  int device;     /* where the tensors of this call live */

  /* ---- 2.1 ---- */
  int reset;      /* 1: this call starts a pass (an epoch, an evaluation, a
                     gradient probe): a layer that carries state from call to
                     call (a recurrent layer's hidden state, for truncated
                     BPTT over a stream) starts from zero. 0: the batch
                     continues the last one, row for row. */
} lunet_ctx;

typedef struct lunet_layer_api {
  uint32_t size; /* sizeof(lunet_layer_api) */

  /* Inputs per call: 0 or 1 for one; k > 1 for exactly k (cross-attention,
  ** a two-input op); -1 for any number from 2 to LUNET_MAX_INPUTS (add,
  ** concatenate), then create() learns it from build->n_inputs. With
  ** LUNET_MASK_LAST, k > 1 also allows k - 1 (the mask left out). */
  int n_inputs;
  uint32_t flags; /* LUNET_TAKES_IDS, LUNET_MASK_LAST, or 0 */

  /* Builds an instance for per-sample input shapes in[0..build->n_inputs),
  ** writes the per-sample output shape to `out`, declares its parameters
  ** (build->param) and initialises them from build->rng. NULL after
  ** host->error() when the shapes or params don't fit. */
  void *(*create)(const lunet_value *params, const lunet_shape *in, lunet_shape *out,
                  lunet_build *build);
  void (*destroy)(void *self);

  /* Optional (may be NULL): sizes scratch memory on `device` for batches
  ** of up to max_batch rows. Called before the first forward, whenever a
  ** larger batch comes and when the model moves to another device, so
  ** that forward and backward never allocate. */
  int (*reserve)(void *self, int max_batch, int device);

  /* (B, in...) -> (B, out...). `in` points to the layer's n inputs; `out`
  ** is allocated by the host. */
  int (*forward[LUNET_MAX_DEVICES])(void *self, const lunet_tensor *in, lunet_tensor *out,
                                    const lunet_ctx *ctx);

  /* Given dL/d(out), overwrites the parameter gradients and, unless `din`
  ** is NULL, writes dL/d(in) to din[0..n): an entry whose data is NULL is
  ** not wanted (token ids; an input nothing upstream of it trains). The
  ** host passes NULL when no input gradient is wanted, so `if (din)` is all
  ** a one-input layer tests (a token-id layer always gets NULL). `in`,
  ** `out` and `ctx` are those of the last forward: ctx->train says which
  ** function is differentiated (dropout's identity in eval mode,
  ** batchnorm's running statistics). */
  int (*backward[LUNET_MAX_DEVICES])(void *self, const lunet_tensor *in,
                                     const lunet_tensor *out, const lunet_tensor *dout,
                                     lunet_tensor *din, const lunet_ctx *ctx);

  /* Per-sample input shapes `lunet check` uses; ndim 0 means {5}. */
  lunet_shape check_input[LUNET_MAX_INPUTS];
} lunet_layer_api;

/* ---- Losses ------------------------------------------------------------ */

/* Targets are float32 (B, T). Classification data gives T = 1 holding the
** class index 0..K-1 (exact in float32 below 2^24); regression data gives
** T = the number of outputs. */
typedef struct lunet_loss_api {
  uint32_t size; /* sizeof(lunet_loss_api) */

  /* Checks that predictions of per-sample shape `pred` and targets of
  ** per-sample shape `target` fit, with `classes` = K (0: regression), for
  ** tensors on `device`. */
  void *(*create)(const lunet_value *params, const lunet_shape *pred, const lunet_shape *target,
                  int classes, int device);
  void (*destroy)(void *self);

  /* loss = mean over the batch of l(pred_i, target_i); also writes
  ** dloss/dpred to `grad` unless it is NULL. pred, grad: (B, P); target: (B, T). */
  int (*forward[LUNET_MAX_DEVICES])(void *self, const lunet_tensor *pred,
                                    const lunet_tensor *target, double *loss,
                                    lunet_tensor *grad);

  /* Optional: number of misclassified rows. NULL: the host compares the
  ** argmax of pred with the target class (or its argmax when T = P). */
  int64_t (*errors)(void *self, const lunet_tensor *pred, const lunet_tensor *target);

  /* ---- 2.2, optional: ---- */
  /* The rows (tokens) of `target` that count in the mean and in errors():
  ** fewer than all when some are ignored (padding). NULL: all of them. */
  int64_t (*counted)(void *self, const lunet_tensor *target);
} lunet_loss_api;

/* ---- Optimizers -------------------------------------------------------- */

/* The trained parameters of a model as an optimizer sees them: every trained
** value in one flat buffer, every gradient in another of the same layout,
** and the tensors inside them, for rules that differ per tensor. */
typedef struct lunet_params {
  uint32_t size;              /* sizeof(lunet_params) */
  lunet_tensor value;         /* (N) float32: every trained value, in model order */
  lunet_tensor grad;          /* (N) their gradients, element for element */
  const lunet_param *tensors; /* the n tensors, views into value and grad, in order */
  int n;
} lunet_params;

/* One piece of an optimizer's state (2.2): n floats (a moment, one per
** trained value) or n 64-bit counters (steps taken), in the optimizer's own
** memory, named as PyTorch's state_dict names them ("exp_avg", "step"). */
typedef struct lunet_state_item {
  uint32_t size;   /* sizeof(lunet_state_item), set by the host */
  const char *name;
  float *f32;      /* n floats, or NULL */
  int64_t *i64;    /* n counters, or NULL */
  int64_t n;
} lunet_state_item;

typedef struct lunet_optimizer_api {
  uint32_t size; /* sizeof(lunet_optimizer_api) */

  /* Allocates state for the parameters `ps` (per element: one buffer of
  ** ps->value's size per moment). */
  void *(*create)(const lunet_value *params, const lunet_params *ps);
  void (*destroy)(void *self);

  /* One update of every trained value from its gradient; `ps` has the
  ** layout given to create. */
  int (*step[LUNET_MAX_DEVICES])(void *self, lunet_params *ps);

  /* Changes hyper-parameter number `index` (declaration order) between
  ** steps, e.g. the learning rate of a schedule. */
  int (*set)(void *self, int index, double value);

  /* Optional: a closed-form fit instead of steps (NULL for iterative
  ** optimizers). When set, lunet.train does not run epochs: it forwards the
  ** whole training set, in eval mode, through every layer before the
  ** model's final `dense` layer (those must have nothing to train) and
  ** calls fit once:
  **   features  (n, p) float32: the input of the final layer, one row a sample;
  **   targets   (n, T) float32: the regression targets, or for class data
  **             the one-hot rows (1/0) of the class indices;
  **   ps        the final layer's parameters (create got the same): tensors
  **             "weight" (T, p), then "bias" (T) when it has one; fit
  **             overwrites them.
  ** Unlike step(), fit may allocate: it runs once per training. `step` must
  ** still be set; such optimizers make it fail with a message pointing at
  ** lunet.train. */
  int (*fit)(void *self, const lunet_tensor *features, const lunet_tensor *targets,
             lunet_params *ps);

  /* 2.2, optional: item i of the state step() carries from call to call,
  ** for training checkpoints (lunet.train{checkpoint = ...}). Fills *item
  ** and returns 1 for i = 0, 1, ... while there is one, then 0. Items point
  ** into the optimizer's memory: the host saves them by reading and restores
  ** them by writing, after create() and before the next step. Every moment
  ** and step count must be among them; hyper-parameters are not (the host
  ** sets them again). NULL: the optimizer trains but is not checkpointed. */
  int (*state)(void *self, int i, lunet_state_item *item);
} lunet_optimizer_api;

/* ---- Datasets ---------------------------------------------------------- */

typedef struct lunet_dataset_info {
  uint32_t size;                       /* sizeof(lunet_dataset_info), set by the host */
  int64_t n;                           /* number of samples */
  int n_inputs;                        /* inputs per sample (0 is taken as 1) */
  lunet_shape input[LUNET_MAX_INPUTS]; /* per-sample shape of each, e.g. {1, 28, 28} */
  int input_dtype[LUNET_MAX_INPUTS];   /* a lunet_dtype each (0: float32) */
  lunet_shape target;                  /* per-sample target shape: {1} for class indices */
  int classes;                         /* K for classification, 0 for regression */

  /* ---- 2.1 ---- */
  int64_t vocab; /* token data: ids lie in [0, vocab); 0 otherwise */
} lunet_dataset_info;

typedef struct lunet_dataset_api {
  uint32_t size; /* sizeof(lunet_dataset_api) */

  /* Opens the data and describes it in *info. NULL after host->error(). */
  void *(*open)(const lunet_value *params, lunet_dataset_info *info);
  void (*close)(void *self);

  /* Copies samples idx[0..n) into x[0..n_inputs), each (n, input...) of its
  ** dtype, and y (n, target...) float32; host memory. */
  int (*get)(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y);

  /* ---- 2.1, optional (text data): ---- */

  /* The ids of UTF-8 `text` (len bytes) into ids[0..cap); returns how many
  ** there are (more than cap: call again with room for them all), or -1
  ** after host->error(). */
  int64_t (*encode)(void *self, const char *text, size_t len, int32_t *ids, int64_t cap);

  /* The text of ids[0..n) into text[0..cap), NUL-terminated when it fits;
  ** returns its length in bytes (cap or more: call again with room for it
  ** and its NUL), or -1 after host->error() (an id outside the vocab). */
  int64_t (*decode)(void *self, const int32_t *ids, int64_t n, char *text, int64_t cap);

  /* ---- 2.2, optional (augmentation): ---- */

  /* As get, but the samples as epoch `epoch` (0, 1, ...) of training sees
  ** them: shifted, flipped, noisy. What sample idx[i] gets must be a pure
  ** function of the dataset's parameters, `epoch` and idx[i], whatever the
  ** batch, its order or the run's history, so that a shuffled, resumed or
  ** parallel run sees the same images. lunet.train and lunet.trainer read
  ** training batches through it; evaluation and prediction call get. NULL:
  ** training reads get. */
  int (*get_train)(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y,
                   int64_t epoch);
} lunet_dataset_api;

/* ---- The descriptor ---------------------------------------------------- */

typedef enum lunet_kind {
  LUNET_LAYER = 1,
  LUNET_LOSS = 2,
  LUNET_OPTIMIZER = 3,
  LUNET_DATASET = 4
} lunet_kind;

typedef struct lunet_plugin {
  uint32_t size;                        /* sizeof(lunet_plugin) */
  uint16_t abi_major;                   /* LUNET_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor;                   /* LUNET_ABI_MINOR the plugin was built with */
  int kind;                             /* a lunet_kind */
  const char *name;                     /* unique within its kind, e.g. "dense" */
  const char *version;                  /* the plugin's own version, e.g. "2.0.0" */
  const char *summary;                  /* one line for `lunet plugins` */
  const lunet_param_decl *params;       /* declared parameters */
  int n_params;                         /* how many */
  const lunet_layer_api *layer;         /* set for LUNET_LAYER, else NULL */
  const lunet_loss_api *loss;           /* set for LUNET_LOSS */
  const lunet_optimizer_api *optimizer; /* set for LUNET_OPTIMIZER */
  const lunet_dataset_api *dataset;     /* set for LUNET_DATASET */
} lunet_plugin;

/* The entry symbol every plugin exports. The host pointer stays valid for
** the life of the process; keep it in a static to reach the services. */
#define LUNET_ENTRY "lunet_plugin_init"
typedef const lunet_plugin *(*lunet_entry_fn)(const lunet_host *host);

LUNET_EXPORT const lunet_plugin *lunet_plugin_init(const lunet_host *host);

/* ---- Small inline helpers ---------------------------------------------- */

/* Number of elements of a shape (1 for ndim 0). */
static inline int64_t lunet_numel(const lunet_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->ndim; i++) n *= s->dim[i];
  return n;
}

/* The most elements one tensor may have: 2^40 floats (4 TiB) is past any
** machine's memory, and no product of sizes checked against it overflows. */
#define LUNET_MAX_NUMEL ((int64_t)1 << 40)

/* Number of elements of a shape, or -1 when a size is negative or the
** product passes LUNET_MAX_NUMEL: for shapes from files or from users. */
static inline int64_t lunet_numel_checked(const lunet_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->ndim; i++) {
    if (s->dim[i] < 0 || (s->dim[i] > 0 && n > LUNET_MAX_NUMEL / s->dim[i])) return -1;
    n *= s->dim[i];
  }
  return n;
}

/* Elements per sample of a batched tensor: numel / dim[0]. */
static inline int64_t lunet_row_size(const lunet_tensor *t) {
  int64_t n = 1;
  for (int i = 1; i < t->shape.ndim; i++) n *= t->shape.dim[i];
  return n;
}

/* 1 when two shapes have the same sizes, else 0. */
static inline int lunet_same_shape(const lunet_shape *a, const lunet_shape *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dim[i] != b->dim[i]) return 0;
  return 1;
}

#ifdef __cplusplus
}
#endif
#endif /* LUNET_PLUGIN_H */
