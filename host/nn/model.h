/*
** model.h -- a model: a graph of layer nodes, run in the order they were
** added (a topological order: a node takes only model inputs and earlier
** nodes), with one output node.
**
** lunet.sequential and lunet.residual are sugar over it: a sequence is a
** chain, and residual{...} adds its body after the current node, then an
** `add` node of (input, body output). lunet.graph names nodes and wires
** them itself (several inputs per node, several model inputs).
**
** Lifecycle: model_new(); model_add() per node; model_build() creates
** every layer for the per-sample input shapes, checking that shapes fit,
** and gathers the parameters into flat buffers (weights.h);
** model_reserve() sizes activation buffers for a batch size once, so that
** forward and backward never allocate.
**
** Memory: every node owns its output `y`, (max_batch, out...), which
** backward needs. Output gradients live in a few shared slots, each as large
** as the largest output: node p's dy is written first by its last consumer's
** backward (or the loss) and read last by p's own backward, and a slot is
** handed to another node once p is done (planned once, in model_reserve; a
** chain alternates between two). When a node feeds several consumers, the
** first one in backward order writes p's dy and the others write into a
** scratch slot that is then added to it.
**
** Wasted work is skipped: a node runs backward only when it trains or
** something upstream of it does, and asks for the gradient of an input only
** when that input's producer needs one (never for token ids, nor for the
** model's inputs unless the caller wants dx). A model starting with
** `flatten` runs neither flatten's backward nor the first dense layer's dx.
*/
#ifndef LUNET_MODEL_H
#define LUNET_MODEL_H

#include <lunet/plugin.h>

#include "nn/weights.h"
#include "runtime/params.h"
#include "runtime/registry.h"

/* A node's inputs: >= 0 an earlier node, < 0 model input MODEL_INPUT(k). */
#define MODEL_INPUT(k) (-1 - (k))

enum { NODE_LAYER = 0, NODE_RESIDUAL = 1 /* the `add` closing a residual block */ };

typedef struct node {
  int kind;                   /* NODE_LAYER or NODE_RESIDUAL */
  char *label;                /* "3.1" (sugar) or the graph's name: names its parameters */
  const plugin_entry *plugin; /* its layer plugin */
  param_values params;        /* resolved parameters */
  void *self;                 /* instance, once built */
  int n_in;                   /* inputs */
  int in[LUNET_MAX_INPUTS];   /* where each comes from (see MODEL_INPUT) */
  lunet_shape out;            /* per-sample output shape, once built */
  lunet_tensor y, dy;         /* (max_batch, out...); dy in a shared slot */
  int slot;                   /* its dy's slot, -1 if none */
  int trains;                 /* it has trained parameters */
  int reaches_output;         /* the output depends on it */
  int last_consumer;          /* highest node that takes it, -1: the output only */
  lunet_tensor xin[LUNET_MAX_INPUTS], din[LUNET_MAX_INPUTS]; /* per-call views */
  int accumulate[LUNET_MAX_INPUTS]; /* din[j] goes through scratch j and is added */
} node;

typedef struct model {
  node *nodes;
  int n, cap;
  int output;                             /* the output node */
  int n_inputs;                           /* model inputs (1 but for graphs) */
  lunet_shape in[LUNET_MAX_INPUTS];       /* per-sample input shapes, once built */
  int in_dtype[LUNET_MAX_INPUTS];         /* a lunet_dtype each */
  int graph;                              /* made by lunet.graph (checkpoints say so) */
  char *input_names[LUNET_MAX_INPUTS];    /* lunet.graph's names of the inputs */
  uint64_t seed;                          /* initialisation seed */
  int built;
  lunet_shape out;
  weights ws;                             /* the parameters */
  int max_batch;                          /* rows the buffers hold */
  lunet_ctx ctx;                          /* of the last forward, for backward */
  float **slots;                          /* gradient slots, n_slots + MAX_INPUTS scratch */
  int n_slots;
  int64_t slot_floats;                    /* floats per batch row of a slot */
  int device;                             /* a lunet_device: where it runs (model_to) */
  lunet_tensor xdev[LUNET_MAX_INPUTS];    /* on a GPU: the inputs, copied from the host */
  lunet_tensor yhost, dyhost;             /* on a GPU: host copies of the output and its gradient */
} model;

model *model_new(uint64_t seed, int n_inputs);
void model_free(model *m);

/* Appends a node of layer `pe` with resolved `params` (moved into the
** node) whose inputs are in[0..n_in); the last node added is the output
** unless model_set_output() says otherwise. Returns the node's index, or -1
** with services_error(). */
int model_add(model *m, int kind, const char *label, const plugin_entry *pe, param_values *params,
              const int *in, int n_in);
void model_set_output(model *m, int node);

/* Closes residual block `label` whose body took node (or input) `in` and
** ended in node `body_out`: appends the node in + body_out (the `add`
** layer) of kind NODE_RESIDUAL. Its index, or -1 with services_error(). */
int model_add_residual(model *m, const char *label, int in, int body_out);

/* Creates every layer for per-sample input shapes in[0..n_inputs) of
** dtypes dtype[] (NULL: token ids for an input a layer takes as its ids,
** such as an embedding's, else float32), checks that shapes fit (the error names
** both nodes and both shapes) and gathers the parameters. 0, or -1 with
** services_error(). */
int model_build(model *m, const lunet_shape *in, const int *dtype);

/* Runs the model on `device` (opened, runtime/devices.h) from now on. Every
** layer must have forward and backward entries for it: the error names
** the first that lacks one. Before the model is built this only records
** the device; model_build checks it. On a GPU the weights, activations and
** gradients live there; model_forward still takes host inputs and gives a
** host copy of the output, and the loss gradient is written to the host
** buffer model_output_grad() gives (docs/cuda.md). 0, or -1 with
** services_error() (the model stays where it was). */
int model_to(model *m, int device);

/* Brings a GPU model's weights home to the host buffers, where checkpoints
** and Lua read and write them (the next forward takes them back). */
int model_sync_host(model *m);

/* Sizes buffers for batches of up to `batch` rows (grows only). */
int model_reserve(model *m, int batch);

/* x[0..n_inputs) (B, in...) -> (B, out...); returns the output, owned by the model. */
const lunet_tensor *model_forward(model *m, const lunet_tensor *x, const lunet_ctx *ctx);

/* Runs nodes [0, to) only; the input of node `to` is then available (CPU
** models only: closed-form fits run on the CPU). */
int model_forward_until(model *m, const lunet_tensor *x, const lunet_ctx *ctx, int to);

/* Runs node i alone on inputs in[0..n_in); returns its output. */
const lunet_tensor *model_forward_node(model *m, int i, const lunet_tensor *in, const lunet_ctx *ctx);

/* The buffer the loss writes dL/d(output) into before model_backward(). */
lunet_tensor *model_output_grad(model *m);

/* Called with each node's output gradient as soon as it is complete. */
typedef int (*dy_hook)(void *ud, int node, const lunet_tensor *dy);

/* Back-propagates the output gradient of the last forward: parameter
** gradients, and dL/dx[k] into dx[k] unless dx (or dx[k].data) is NULL.
** With a hook every node's dy is computed (nothing skipped) and shown. */
int model_backward(model *m, lunet_tensor *dx, dy_hook hook, void *ud);

/* Number of trainable scalars (buffers excluded). */
int64_t model_param_count(const model *m);

/* A table of nodes, shapes and parameter counts; caller frees. NULL when
** out of memory. */
char *model_summary(const model *m);

/* "dense(out=256)": non-default parameters only. */
void node_describe(const node *nd, char *buf, size_t sz);

/* "node 3 (dense(out=10))", or for a graph "node 'h' (dense(out=10))". */
void node_name(const model *m, int i, char *buf, size_t sz);

#endif
