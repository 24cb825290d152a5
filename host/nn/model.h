/*
** model.h -- a model: a sequence of nodes, each a plugin layer or a
** residual block (y = x + body(x)) holding a sequence of its own.
**
** Lifecycle: model_new() takes the specs (plugin + resolved params);
** model_build() instantiates the layers for a per-sample input shape,
** checking that consecutive shapes fit; model_reserve() sizes activation
** buffers for a batch size once, so forward and backward never allocate.
**
** Memory: every node owns its output activations `y`, (max_batch, out...),
** which backward needs. A node reads its input from the previous node's `y`
** (or the caller's x) and writes its input gradient into the previous
** node's `dy` (or the caller's dx, skipped when NULL). Gradients are only
** needed one step back, so the nodes of a sequence alternate between two
** buffers, each as large as the sequence's largest output: node i's dy is
** the buffer nodes[i % 2] owns (in dy_own). A residual body is a sequence
** with its own two, since the block's dy must outlive its body's pass.
** Hence a node's dy is valid only from its own backward step until the
** next node's: nothing reads it afterwards.
*/
#ifndef LUNET_MODEL_H
#define LUNET_MODEL_H

#include <lunet/plugin.h>

#include "runtime/params.h"
#include "runtime/registry.h"

enum { NODE_LAYER = 1, NODE_RESIDUAL = 2 };

typedef struct node {
  int kind;                   /* NODE_LAYER or NODE_RESIDUAL */
  const plugin_entry *plugin; /* NODE_LAYER: its plugin */
  param_values params;        /* NODE_LAYER: resolved parameters */
  void *self;                 /* NODE_LAYER: instance, once built */
  struct node *body;          /* NODE_RESIDUAL: its nodes */
  int n_body;
  lunet_shape in, out;        /* per-sample shapes, once built */
  lunet_tensor y, dy;         /* (max_batch, out...); dy in a shared buffer */
  float *dy_own;              /* nodes 0 and 1 of a sequence: the gradient
                                 buffer they own and lend; others NULL */
} node;

typedef struct model {
  node *nodes;
  int n;
  uint64_t seed;      /* initialisation seed */
  int built;
  lunet_shape in, out;
  int max_batch;      /* rows the buffers hold */
  lunet_param *params; /* all parameter tensors, in model order */
  char **param_names;  /* "1.dense.weight", "3.1.dense.bias", ... */
  int n_params;
} model;

/* Takes ownership of nodes[0..n) (an array from malloc). */
model *model_new(node *nodes, int n, uint64_t seed);
void model_free(model *m);
void node_free_all(node *nodes, int n);

/* Instantiates every layer for per-sample input shape `in`. On a misfit the
** error names both layers and both shapes. 0, or -1 with services_error(). */
int model_build(model *m, const lunet_shape *in);

/* Sizes buffers for batches of up to `batch` rows (grows only). */
int model_reserve(model *m, int batch);

/* (B, in...) -> (B, out...); returns the output, owned by the model. */
const lunet_tensor *model_forward(model *m, const lunet_tensor *x, const lunet_ctx *ctx);

/* Runs top-level nodes [from, to) only, x being the input of node `from`;
** returns the output of node to-1, or x itself when from == to. Closed-form
** fits use it to compute the features a final layer sees. */
const lunet_tensor *model_forward_range(model *m, const lunet_tensor *x, const lunet_ctx *ctx,
                                        int from, int to);

/* Trainable scalars of top-level node i (a residual block: of its body). */
int64_t model_node_param_count(const model *m, int i);

/* The buffer the loss writes dL/d(output) into before model_backward(). */
lunet_tensor *model_output_grad(model *m);

/* Back-propagates the output gradient of the last forward through the
** model: parameter gradients, and dL/dx into dx unless it is NULL. */
int model_backward(model *m, const lunet_tensor *x, lunet_tensor *dx);

/* Number of trainable scalars (buffers excluded). */
int64_t model_param_count(const model *m);

/* Index of a parameter tensor by name, or -1. */
int model_find_param(const model *m, const char *name);

/* A table of layers, shapes and parameter counts; caller frees. */
char *model_summary(const model *m);

/* "dense(out=256)": non-default parameters only. */
void node_describe(const node *nd, char *buf, size_t sz);

#endif
