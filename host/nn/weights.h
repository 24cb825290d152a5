/*
** weights.h -- the parameters of a model, owned by the host (ABI 2).
**
** Layers declare their parameter tensors in create() through
** lunet_build.param (weights_register below answers it): each gets zeroed
** memory of its own at once, so that create() can initialise it. When the
** model is built, weights_gather() moves every tensor into three flat
** buffers, in registration (model) order:
**
**     values   every trained value      (n_trained floats)
**     grads    their gradients          (n_trained floats, same layout)
**     buffers  every untrained buffer   (n_buffers floats: running means, ...)
**
** and re-points the layers' tensors there. An optimizer step, gradient
** clipping, an early-stopping snapshot or a checkpoint is then one pass
** over one buffer; `view` is what optimizers get (lunet_params).
**
** Memory: the tensors' headers belong to the layers; their data belongs to
** this struct (the temporaries before gathering, the flat buffers after).
*/
#ifndef LUNET_WEIGHTS_H
#define LUNET_WEIGHTS_H

#include <lunet/plugin.h>

typedef struct weight {
  char *name;          /* the model's name for it: "3.1.dense.weight" */
  lunet_tensor *value; /* the layer's tensors */
  lunet_tensor *grad;  /* NULL for an untrained buffer */
  int node;            /* the node that declared it */
  float *own, *own_grad; /* the memory registered with it, until gathered (the
                            layer's headers may be gone if its create failed) */
} weight;

typedef struct weights {
  weight *w;               /* every tensor, in registration order */
  int n, cap;
  int64_t registered;      /* values of every tensor registered so far */
  int64_t limit;           /* most values registered in all (0: no limit), with */
  const char *limit_why;   /* what sets it, for the message: a checkpoint's size */
  int gathered;            /* the flat buffers hold the data */
  float *values, *grads;   /* (n_trained) each, once gathered */
  float *buffers;          /* (n_buffers), once gathered */
  int64_t n_trained, n_buffers;
  lunet_param *trained;    /* the trained tensors with their full names, for optimizers */
  lunet_params view;       /* flat values and grads + `trained`: what optimizers step */
  int device;              /* where the tensors point: LUNET_CPU, or a device's copies */
  float *dev[3];           /* copies of values, grads, buffers on `home` (NULL: none) */
  int home;                /* the device of dev[] */
} weights;

/* What lunet_build.host_data points to while a node is created. */
typedef struct weights_builder {
  weights *ws;
  int node;           /* the node being created */
  const char *prefix; /* "3.1.dense.": prefixed to the layer's names */
} weights_builder;

/* lunet_build.param: registers a tensor of the node in b->host_data (a
** weights_builder) and gives it zeroed host memory. A tensor that would
** take the total past ws->limit is refused before any memory is taken. */
int weights_register(const lunet_build *b, const char *name, lunet_tensor *value,
                     lunet_tensor *grad, const lunet_shape *shape);

/* Moves every registered tensor into the flat buffers (see above); builds
** `trained` and `view`. 0, or -1 with services_error() (nothing moved). */
int weights_gather(weights *ws);

/* Frees the data (temporaries or flat buffers) and the names; the layers'
** tensor headers are left to the layers. */
void weights_free(weights *ws);

/* Index of a tensor by full name, or -1. */
int weights_find(const weights *ws, const char *name);

/* Trained scalars of node `node` (every node if node < 0). */
int64_t weights_count(const weights *ws, int node);

/* Copies every trained value and buffer to (restore = 0) or from (1) `buf`,
** of n_trained + n_buffers floats of host memory, wherever the weights are.
** 0, or -1 with the error set when a device copy failed. */
int weights_snapshot(weights *ws, float *buf, int restore);

/* Device copies (a model on a GPU, docs/cuda.md). The host buffers above
** stay the model's home: weights_place(ws, dev) allocates copies on `dev`
** (LUNET_CPU: frees them). weights_enter() copies values, gradients and
** buffers there and points every tensor (and `view`) at the copies;
** weights_leave() copies them back and points the tensors home again, so
** that whatever reads the weights on the host (saving, Lua) sees them.
** Each is a no-op when already done. 0, or -1 with services_error(). */
int weights_place(weights *ws, int dev);
int weights_enter(weights *ws);
int weights_leave(weights *ws);

#endif
