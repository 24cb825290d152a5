/*
** weights.c -- registering a model's parameter tensors and gathering them
** into flat buffers; see weights.h.
*/
#include "nn/weights.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/services.h"

static int valid_shape(const lunet_shape *s) {
  if (s->ndim < 0 || s->ndim > LUNET_MAX_DIMS) return 0;
  for (int i = 0; i < s->ndim; i++)
    if (s->dim[i] < 1) return 0;
  return 1;
}

/* A tensor header for `shape` in host memory, dtype float32. */
static void describe(lunet_tensor *t, const lunet_shape *shape, float *data) {
  *t = (lunet_tensor){.size = sizeof(lunet_tensor), .dtype = LUNET_F32, .device = LUNET_CPU,
                      .shape = *shape, .data = data};
}

int weights_register(const lunet_build *b, const char *name, lunet_tensor *value,
                     lunet_tensor *grad, const lunet_shape *shape) {
  const weights_builder *wb = b->host_data;
  weights *ws = wb->ws;
  if (!name || !*name || !value || !valid_shape(shape) || lunet_numel_checked(shape) < 0) {
    services_error("%sparam: expected a name, a value tensor and a shape of at most %d "
                   "dimensions, each at least 1, of at most %lld elements", wb->prefix, LUNET_MAX_DIMS,
                   (long long)LUNET_MAX_NUMEL);
    return -1;
  }
  if (ws->gathered) {
    services_error("%s%s: parameters are declared in create(), before the model is gathered",
                   wb->prefix, name);
    return -1;
  }
  int64_t numel = lunet_numel(shape);
  if (ws->limit && numel > ws->limit - ws->registered) {
    services_error("%s%s: %lld values would make the model's parameters more than the %lld "
                   "values %s", wb->prefix, name, (long long)numel, (long long)ws->limit,
                   ws->limit_why);
    return -1;
  }
  if (ws->n == ws->cap) {
    int cap = ws->cap ? 2 * ws->cap : 16;
    weight *w = realloc(ws->w, sizeof *w * (size_t)cap);
    if (!w) {
      services_error("out of memory registering parameter %s%s", wb->prefix, name);
      return -1;
    }
    ws->w = w, ws->cap = cap;
  }
  size_t bytes = sizeof(float) * (size_t)numel;
  float *v = services_host()->alloc(bytes), *g = grad ? services_host()->alloc(bytes) : NULL;
  size_t len = strlen(wb->prefix) + strlen(name) + 1;
  char *full = malloc(len);
  if (!v || (grad && !g) || !full) {
    services_host()->free(v), services_host()->free(g), free(full);
    services_error("out of memory for parameter %s%s (%zu bytes)", wb->prefix, name, bytes);
    return -1;
  }
  snprintf(full, len, "%s%s", wb->prefix, name);
  describe(value, shape, v);
  if (grad) describe(grad, shape, g);
  ws->w[ws->n++] = (weight){full, value, grad, wb->node, v, g};
  ws->registered += numel;
  return 0;
}

/* Sizes of the two flat regions. */
static void count(const weights *ws, int64_t *trained, int64_t *buffers) {
  *trained = *buffers = 0;
  for (int i = 0; i < ws->n; i++) *(ws->w[i].grad ? trained : buffers) += lunet_numel(&ws->w[i].value->shape);
}

int weights_gather(weights *ws) {
  if (ws->gathered) return 0;
  const lunet_host *h = services_host();
  int64_t nt, nb;
  count(ws, &nt, &nb);
  if (nt > INT32_MAX || nb > INT32_MAX) {
    services_error("model: %lld trained values and %lld buffer values, expected at most %d each",
                   (long long)nt, (long long)nb, INT32_MAX);
    return -1;
  }
  int n_trained = 0;
  for (int i = 0; i < ws->n; i++) n_trained += ws->w[i].grad != NULL;
  float *values = h->alloc(sizeof(float) * (size_t)(nt ? nt : 1));
  float *grads = h->alloc(sizeof(float) * (size_t)(nt ? nt : 1));
  float *buffers = h->alloc(sizeof(float) * (size_t)(nb ? nb : 1));
  lunet_param *trained = calloc((size_t)n_trained + 1, sizeof *trained);
  if (!values || !grads || !buffers || !trained) {
    h->free(values), h->free(grads), h->free(buffers), free(trained);
    services_error("out of memory gathering %lld parameters and %lld buffer values",
                   (long long)nt, (long long)nb);
    return -1;
  }
  int64_t ot = 0, ob = 0;
  int k = 0;
  for (int i = 0; i < ws->n; i++) {
    weight *w = &ws->w[i];
    int64_t len = lunet_numel(&w->value->shape);
    float *dst = w->grad ? values + ot : buffers + ob;
    memcpy(dst, w->own, sizeof(float) * (size_t)len);
    h->free(w->own), h->free(w->own_grad);
    w->own = w->own_grad = NULL;
    w->value->f32 = dst;
    if (w->grad) {
      w->grad->f32 = grads + ot;
      trained[k++] = (lunet_param){w->name, w->value, w->grad};
      ot += len;
    } else {
      ob += len;
    }
  }
  ws->values = values, ws->grads = grads, ws->buffers = buffers;
  ws->n_trained = nt, ws->n_buffers = nb;
  ws->trained = trained;
  ws->view = (lunet_params){.size = sizeof(lunet_params), .tensors = trained, .n = n_trained};
  describe(&ws->view.value, &(lunet_shape){1, {(int32_t)nt}}, values);
  describe(&ws->view.grad, &ws->view.value.shape, grads);
  ws->gathered = 1;
  return 0;
}

static void free_copies(weights *ws) {
  for (int k = 0; k < 3; k++)
    if (ws->dev[k]) services_host()->device[ws->home]->free(ws->dev[k]);
  memset(ws->dev, 0, sizeof ws->dev);
  ws->home = LUNET_CPU;
}

void weights_free(weights *ws) {
  const lunet_host *h = services_host();
  for (int i = 0; i < ws->n; i++) {
    h->free(ws->w[i].own), h->free(ws->w[i].own_grad);
    free(ws->w[i].name);
  }
  free_copies(ws);
  h->free(ws->values), h->free(ws->grads), h->free(ws->buffers);
  free(ws->trained);
  free(ws->w);
  memset(ws, 0, sizeof *ws);
}

int weights_find(const weights *ws, const char *name) {
  for (int i = 0; i < ws->n; i++)
    if (strcmp(ws->w[i].name, name) == 0) return i;
  return -1;
}

int64_t weights_count(const weights *ws, int node) {
  int64_t total = 0;
  for (int i = 0; i < ws->n; i++)
    if (ws->w[i].grad && (node < 0 || ws->w[i].node == node)) total += lunet_numel(&ws->w[i].value->shape);
  return total;
}

int weights_snapshot(weights *ws, float *buf, int restore) {
  size_t nt = sizeof(float) * (size_t)ws->n_trained, nb = sizeof(float) * (size_t)ws->n_buffers;
  if (ws->device != LUNET_CPU) {
    const lunet_device_services *d = services_host()->device[ws->device];
    int kind = restore ? LUNET_COPY_TO_DEVICE : LUNET_COPY_FROM_DEVICE;
    if (restore)
      return d->copy(ws->dev[0], buf, nt, kind) || d->copy(ws->dev[2], buf + ws->n_trained, nb, kind) ? -1 : 0;
    return d->copy(buf, ws->dev[0], nt, kind) || d->copy(buf + ws->n_trained, ws->dev[2], nb, kind) ? -1 : 0;
  }
  if (restore) {
    memcpy(ws->values, buf, nt);
    memcpy(ws->buffers, buf + ws->n_trained, nb);
  } else {
    memcpy(buf, ws->values, nt);
    memcpy(buf + ws->n_trained, ws->buffers, nb);
  }
  return 0;
}

/* ---- device copies ----------------------------------------------------- */

/* Points every tensor and the view at the flat buffers v, g, b on `device`. */
static void point_at(weights *ws, float *v, float *g, float *b, int device) {
  int64_t ot = 0, ob = 0;
  for (int i = 0; i < ws->n; i++) {
    weight *w = &ws->w[i];
    int64_t len = lunet_numel(&w->value->shape);
    w->value->f32 = w->grad ? v + ot : b + ob;
    w->value->device = device;
    if (w->grad) w->grad->f32 = g + ot, w->grad->device = device, ot += len;
    else ob += len;
  }
  ws->view.value.f32 = v, ws->view.grad.f32 = g;
  ws->view.value.device = ws->view.grad.device = device;
  ws->device = device;
}

/* Copies the three flat buffers host -> dev[] (to_device) or back. */
static int copy_all(weights *ws, int to_device) {
  const lunet_device_services *d = services_host()->device[ws->home];
  float *host[3] = {ws->values, ws->grads, ws->buffers};
  int64_t n[3] = {ws->n_trained, ws->n_trained, ws->n_buffers};
  for (int k = 0; k < 3; k++) {
    size_t bytes = sizeof(float) * (size_t)n[k];
    int rc = to_device ? d->copy(ws->dev[k], host[k], bytes, LUNET_COPY_TO_DEVICE)
                       : d->copy(host[k], ws->dev[k], bytes, LUNET_COPY_FROM_DEVICE);
    if (rc) return -1;
  }
  return 0;
}

int weights_place(weights *ws, int dev) {
  if (weights_leave(ws)) return -1;
  free_copies(ws);
  if (dev == LUNET_CPU) return 0;
  const lunet_device_services *d = services_host()->device[dev];
  int64_t n[3] = {ws->n_trained, ws->n_trained, ws->n_buffers};
  for (int k = 0; k < 3; k++)
    if (!(ws->dev[k] = d->alloc(sizeof(float) * (size_t)(n[k] ? n[k] : 1)))) {
      while (k--) d->free(ws->dev[k]);
      memset(ws->dev, 0, sizeof ws->dev);
      return -1;
    }
  ws->home = dev;
  return 0;
}

int weights_enter(weights *ws) {
  if (!ws->dev[0] || ws->device != LUNET_CPU) return 0;
  if (copy_all(ws, 1)) return -1;
  point_at(ws, ws->dev[0], ws->dev[1], ws->dev[2], ws->home);
  return 0;
}

int weights_leave(weights *ws) {
  if (ws->device == LUNET_CPU) return 0;
  if (copy_all(ws, 0)) return -1;
  point_at(ws, ws->values, ws->grads, ws->buffers, LUNET_CPU);
  return 0;
}
