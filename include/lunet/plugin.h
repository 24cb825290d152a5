/*
** lunet/plugin.h -- the one header a lunet plugin needs.
**
** A plugin is one C file built into one shared object:
**
**     cc -shared -fPIC -I include -o my_layer.so my_layer.c
**
** It exports a single entry symbol, lunet_plugin_init(). The host calls it
** once with a table of host services (memory, GEMM, random numbers, error
** reporting, data lookup) and receives a descriptor: who the plugin is, which
** parameters it accepts, and the function table of its kind (layer, loss,
** optimizer or dataset). Plugins link neither against the host nor against
** BLAS: everything they need comes through the service table.
**
** Stability rules (as in SQLite's extension API and LV2):
**   - Every struct that crosses the boundary starts with a `size` field and
**     only ever grows by appending fields. A reader checks `size` before it
**     touches a field added in a later minor version.
**   - A change of LUNET_ABI_MAJOR is a break: the host refuses such plugins
**     with a message naming the file and both versions.
**   - Function tables hold one entry per device (LUNET_MAX_DEVICES slots), so
**     a CUDA entry can be filled later without moving anything.
**
** History of the minor version (fields appended, never moved):
**   1.0  the first release.
**   1.1  lunet_host gains svd and dgemm (float64 linear algebra for
**        closed-form fits); lunet_optimizer_api gains fit (closed-form
**        optimizers such as lstsq). Test with LUNET_HAS_FIELD before use.
**   1.2  lunet_host gains lstsq (float64 minimum-norm least squares by
**        LAPACK's dgelsd, without forming singular vectors) and
**        parallel_for (the host's threads for elementwise loops; call it
**        through lunet_parallel_for, which falls back to one thread on
**        an older host).
**
** Conventions shared by every plugin function:
**   - argument order: self, input, output, then the rest (as Torch's THNN);
**   - an int result is 0 on success; on failure the plugin calls
**     host->error() with a message and returns non-zero;
**   - activations are (B, ...) float32, batch first, row-major, contiguous.
*/
#ifndef LUNET_PLUGIN_H
#define LUNET_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LUNET_ABI_MAJOR 1 /* bumped only by an incompatible change */
#define LUNET_ABI_MINOR 2 /* bumped by each appended field; see the history below */

#define LUNET_MAX_DIMS 6    /* most dimensions a shape may have */
#define LUNET_MAX_DEVICES 4 /* slots in per-device function tables */

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
  LUNET_CPU = 0,  /* host memory, the reference backend */
  LUNET_CUDA = 1  /* device memory (entries may be NULL: not implemented) */
} lunet_device;

typedef struct lunet_shape {
  int ndim;                 /* number of dimensions used, 0..LUNET_MAX_DIMS */
  int dim[LUNET_MAX_DIMS];  /* sizes, outermost first */
} lunet_shape;

typedef struct lunet_tensor {
  float *data;        /* ndim-dimensional row-major array, contiguous */
  lunet_shape shape;  /* for activations dim[0] is the batch size */
  int device;         /* a lunet_device: where `data` lives */
} lunet_tensor;

/* ---- Random numbers ---------------------------------------------------- */

/* State of the host's generator (xoshiro256**). Plugins keep one where they
** need their own stream and draw from it through the host services, so that
** every run with the same seeds gives the same numbers. */
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
  const char *name;      /* identifier used in Lua, e.g. "out" */
  int type;              /* a lunet_param_type */
  double def;            /* default for INT, NUMBER and BOOL */
  double min, max;       /* allowed closed range for INT and NUMBER */
  const char *def_str;   /* default for STRING (NULL: "") */
  const char *choices;   /* STRING only: "|"-separated allowed values, or NULL */
  const char *doc;       /* one line shown by `lunet describe` */
  unsigned flags;        /* LUNET_REQUIRED or 0 */
} lunet_param_decl;

/* One resolved parameter value. The host validates what the user wrote
** against the declarations, fills in defaults, and hands the plugin an array
** in declaration order: params[i] belongs to decls[i]. */
typedef struct lunet_value {
  double num;       /* INT, NUMBER, BOOL */
  const char *str;  /* STRING; owned by the host, valid while the instance lives */
} lunet_value;

/* ---- Host services ----------------------------------------------------- */

/* A loop body for parallel_for: items [lo, hi) of a job. */
typedef void (*lunet_range_fn)(void *ctx, int64_t lo, int64_t hi);

typedef struct lunet_host {
  uint32_t size;       /* sizeof(lunet_host) as the host was built */
  uint16_t abi_major;  /* the host's LUNET_ABI_MAJOR */
  uint16_t abi_minor;  /* the host's LUNET_ABI_MINOR */

  /* Memory: 64-byte aligned, zero-filled; NULL (with an error set) on failure.
  ** Plugins allocate in create/reserve, never in forward/backward/step. */
  void *(*alloc)(size_t bytes);
  void (*free)(void *p);

  /* Records the reason of a failure; the plugin then returns non-zero (or
  ** NULL). printf-style; the message should name the plugin and what was
  ** expected, e.g. "dense: input has 0 features, expected at least 1". */
  void (*error)(const char *fmt, ...);

  /* C = alpha * op(A) op(B) + beta * C, row-major, op(X) = X or X^T when
  ** trans_X is non-zero; op(A) is (m, k), op(B) is (k, n), C is (m, n). */
  void (*gemm)(int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc);

  /* Random numbers from a plugin-held stream. */
  void (*rng_seed)(lunet_rng *rng, uint64_t seed);
  uint64_t (*rng_u64)(lunet_rng *rng);
  double (*rng_uniform)(lunet_rng *rng); /* in [0, 1) */
  double (*rng_normal)(lunet_rng *rng);  /* N(0, 1) */

  /* Finds a data file: tries $LUNET_DATA_DIR/<dir>/<file>, $LUNET_DATA_DIR/
  ** <file>, then /usr/share/datasets/<dir>/<file>. Writes the path found to
  ** `out` and returns 0; else sets an error that lists the places tried and
  ** returns non-zero. */
  int (*find_data)(const char *dir, const char *file, char *out, size_t outsz);

  /* ---- Added in ABI 1.1: float64 linear algebra. Check first that the
  ** host has them: LUNET_HAS_FIELD(host, lunet_host, svd). ---- */

  /* Thin singular value decomposition A = U diag(s) V^T of the row-major
  ** (m, n) matrix `a`, which it overwrites; k = min(m, n). Writes s (k),
  ** descending and >= 0; u (m, k) and vt (k, n), row-major. LAPACK's dgesdd
  ** (divide and conquer) through OpenBLAS: backward stable, so the factors
  ** are exact for a matrix within ~1e-16 |A| of `a`, however ill-conditioned.
  ** Allocates its own workspace. 0, or non-zero after host->error(). */
  int (*svd)(int m, int n, double *a, double *s, double *u, double *vt);

  /* C = alpha * op(A) op(B) + beta * C in float64; arguments as gemm. */
  void (*dgemm)(int trans_a, int trans_b, int m, int n, int k, double alpha,
                const double *a, int lda, const double *b, int ldb, double beta,
                double *c, int ldc);

  /* ---- Added in ABI 1.2. Check first that the host has them:
  ** LUNET_HAS_FIELD(host, lunet_host, lstsq). ---- */

  /* Minimum-norm least squares: X minimising |X| among the minimisers of
  ** |A X - B|, for all right-hand sides at once, in float64. LAPACK's dgelsd
  ** (as numpy.linalg.lstsq): a QR or LQ reduction, a bidiagonalization, and
  ** divide and conquer applied to B without forming singular vectors, so it
  ** costs a fraction of svd + two dgemms; backward stable like svd.
  **   m, n    A is (m, n), m, n >= 1;
  **   nrhs    columns of B and X, >= 1;
  **   a       (m, n) row-major A; used as scratch (undefined on return);
  **   b       (max(m, n), nrhs) row-major: rows 0..m-1 hold B on entry,
  **           rows 0..n-1 hold X on return (the other rows: scratch);
  **   rcond   singular values s_i <= rcond * s_max count as 0; rcond < 0:
  **           LAPACK's machine precision;
  **   s       (min(m, n)) receives the singular values of A, descending;
  **           NULL if not wanted;
  **   rank    receives the number of singular values kept; NULL if not
  **           wanted.
  ** Allocates its own workspace. 0, or non-zero after host->error(). */
  int (*lstsq)(int m, int n, int nrhs, double *a, double *b, double rcond, double *s,
               int *rank);

  /* Calls fn(ctx, lo, hi) on contiguous chunks that cover [0, n), on up to
  ** lunet.threads() threads at once (the caller runs one chunk), and
  ** returns when all are done. A chunk holds at least `grain` items, so a
  ** small n runs inline. fn must write disjoint outputs per item, and an
  ** item's result must not depend on where the chunks are cut (no sums
  ** across items): then results are the same at every thread count. fn
  ** runs on other threads too: it may call no host service but alloc and
  ** free (not error, the generator, gemm or parallel_for). Use
  ** lunet_parallel_for (below). */
  void (*parallel_for)(int64_t n, int64_t grain, lunet_range_fn fn, void *ctx);
} lunet_host;

/* ---- Parameter tensors (weights, biases, buffers) ---------------------- */

typedef struct lunet_param {
  const char *name;     /* short name within the layer: "weight", "bias" */
  lunet_tensor *value;  /* owned by the layer */
  lunet_tensor *grad;   /* same shape; NULL for a buffer that is saved in
                           checkpoints but not trained (e.g. running means) */
} lunet_param;

/* ---- Layers ------------------------------------------------------------ */

typedef struct lunet_ctx {
  uint32_t size;   /* sizeof(lunet_ctx) */
  int train;       /* 1: training mode (dropout active, batch statistics) */
  lunet_rng *rng;  /* the run's stream for stochastic layers */
} lunet_ctx;

typedef struct lunet_layer_api {
  uint32_t size;  /* sizeof(lunet_layer_api) */

  /* Builds an instance for per-sample input shape `in` (batch excluded),
  ** writes the per-sample output shape to `out`, initialises parameters from
  ** `rng`. Returns NULL after host->error() when the shape or params don't fit. */
  void *(*create)(const lunet_value *params, const lunet_shape *in,
                  lunet_shape *out, lunet_rng *rng);
  void (*destroy)(void *self);

  /* Lists parameter tensors into out[0..cap) and returns how many the layer
  ** has (call with cap = 0 to count). Order and pointers are stable. */
  int (*parameters)(void *self, lunet_param *out, int cap);

  /* Optional (may be NULL): sizes scratch memory for batches of up to
  ** max_batch rows. Called before the first forward and whenever a larger
  ** batch comes, so forward/backward never allocate. */
  int (*reserve)(void *self, int max_batch);

  /* (B, in...) -> (B, out...). `out` is allocated by the host. */
  int (*forward[LUNET_MAX_DEVICES])(void *self, const lunet_tensor *in,
                                    lunet_tensor *out, const lunet_ctx *ctx);

  /* Given dL/d(out), writes dL/d(in) to din (skipped when din is NULL) and
  ** overwrites the parameter gradients. `in` and `out` are those of the last
  ** forward in training mode. */
  int (*backward[LUNET_MAX_DEVICES])(void *self, const lunet_tensor *in,
                                     const lunet_tensor *out,
                                     const lunet_tensor *dout,
                                     lunet_tensor *din);

  lunet_shape check_input; /* per-sample input shape `lunet check` uses;
                              ndim 0 means {5} */
} lunet_layer_api;

/* ---- Losses ------------------------------------------------------------ */

/* Targets are float32 (B, T). Classification data gives T = 1 holding the
** class index 0..K-1; regression data gives T = the number of outputs. */
typedef struct lunet_loss_api {
  uint32_t size;  /* sizeof(lunet_loss_api) */

  /* Checks that predictions of per-sample shape `pred` and targets of
  ** per-sample shape `target` fit, with `classes` = K (0: regression). */
  void *(*create)(const lunet_value *params, const lunet_shape *pred,
                  const lunet_shape *target, int classes);
  void (*destroy)(void *self);

  /* loss = mean over the batch of l(pred_i, target_i); also writes
  ** dloss/dpred to `grad` unless it is NULL. pred, grad: (B, P); target: (B, T). */
  int (*forward[LUNET_MAX_DEVICES])(void *self, const lunet_tensor *pred,
                                    const lunet_tensor *target, double *loss,
                                    lunet_tensor *grad);

  /* Optional: number of misclassified rows. NULL: the host compares the
  ** argmax of pred with the target class (or its argmax when T = P). */
  int64_t (*errors)(void *self, const lunet_tensor *pred,
                    const lunet_tensor *target);
} lunet_loss_api;

/* ---- Optimizers -------------------------------------------------------- */

typedef struct lunet_optimizer_api {
  uint32_t size;  /* sizeof(lunet_optimizer_api) */

  /* Allocates per-tensor state for params[0..n). */
  void *(*create)(const lunet_value *params, const lunet_param *tensors, int n);
  void (*destroy)(void *self);

  /* One update of every tensor from its gradient; same tensors, same order
  ** as given to create. Parameters with grad == NULL are skipped. */
  int (*step[LUNET_MAX_DEVICES])(void *self, lunet_param *tensors, int n);

  /* Changes hyper-parameter number `index` (declaration order) between
  ** steps, e.g. the learning rate of a schedule. */
  int (*set)(void *self, int index, double value);

  /* ---- Added in ABI 1.1; the host reads it only when
  ** LUNET_HAS_FIELD(api, lunet_optimizer_api, fit). ---- */

  /* Optional: a closed-form fit instead of steps (NULL for iterative
  ** optimizers). When set, lunet.train does not run epochs: it forwards the
  ** whole training set, in eval mode, through every layer before the
  ** model's final `dense` layer (those layers must have no trainable
  ** parameters) and calls fit once:
  **   features  (n, p) float32: the input of the final layer, one row a sample;
  **   targets   (n, T) float32: the regression targets, or for class data
  **             the one-hot rows (1/0) of the class indices;
  **   tensors   the final layer's parameters as it lists them: "weight"
  **             (T, p), then "bias" (T) when it has one; fit overwrites them.
  ** `self` comes from create() with those same tensors. Unlike step(), fit
  ** may allocate: it runs once per training. 0, or non-zero after
  ** host->error(). `step` must still be set; such optimizers make it fail
  ** with a message pointing at lunet.train. */
  int (*fit)(void *self, const lunet_tensor *features, const lunet_tensor *targets,
             lunet_param *tensors, int n_tensors);
} lunet_optimizer_api;

/* ---- Datasets ---------------------------------------------------------- */

typedef struct lunet_dataset_info {
  uint32_t size;       /* sizeof(lunet_dataset_info), set by the host */
  int64_t n;           /* number of samples */
  lunet_shape input;   /* per-sample input shape, e.g. {1, 28, 28} */
  lunet_shape target;  /* per-sample target shape: {1} for class indices */
  int classes;         /* K for classification, 0 for regression */
} lunet_dataset_info;

typedef struct lunet_dataset_api {
  uint32_t size;  /* sizeof(lunet_dataset_api) */

  /* Opens the data and describes it in *info. NULL after host->error(). */
  void *(*open)(const lunet_value *params, lunet_dataset_info *info);
  void (*close)(void *self);

  /* Copies samples idx[0..n) into x (n, input...) and y (n, target...). */
  int (*get)(void *self, const int64_t *idx, int n, float *x, float *y);
} lunet_dataset_api;

/* ---- The descriptor ---------------------------------------------------- */

typedef enum lunet_kind {
  LUNET_LAYER = 1,
  LUNET_LOSS = 2,
  LUNET_OPTIMIZER = 3,
  LUNET_DATASET = 4
} lunet_kind;

typedef struct lunet_plugin {
  uint32_t size;           /* sizeof(lunet_plugin) */
  uint16_t abi_major;      /* LUNET_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor;      /* LUNET_ABI_MINOR the plugin was built with */
  int kind;                /* a lunet_kind */
  const char *name;        /* unique within its kind, e.g. "dense" */
  const char *version;     /* the plugin's own version, e.g. "1.0.0" */
  const char *summary;     /* one line for `lunet plugins` */
  const lunet_param_decl *params; /* declared parameters */
  int n_params;                   /* how many */
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

/* host->parallel_for where the host has it (ABI >= 1.2), else one thread. */
static inline void lunet_parallel_for(const lunet_host *host, int64_t n, int64_t grain,
                                      lunet_range_fn fn, void *ctx) {
  if (LUNET_HAS_FIELD(host, lunet_host, parallel_for))
    host->parallel_for(n, grain, fn, ctx);
  else if (n > 0)
    fn(ctx, 0, n);
}

/* Number of elements of a shape (1 for ndim 0). */
static inline int64_t lunet_numel(const lunet_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->ndim; i++) n *= s->dim[i];
  return n;
}

/* Elements per sample of a batched tensor: numel / dim[0]. */
static inline int64_t lunet_row_size(const lunet_tensor *t) {
  int64_t n = 1;
  for (int i = 1; i < t->shape.ndim; i++) n *= t->shape.dim[i];
  return n;
}

#ifdef __cplusplus
}
#endif
#endif /* LUNET_PLUGIN_H */
