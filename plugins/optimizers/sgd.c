/*
** sgd.c -- stochastic gradient descent with momentum, as torch.optim.SGD.
**
** For every trained tensor w with gradient g, each step does
**     g   = g + weight_decay * w + l1 * sign(w)
**     buf = g                                       (first step with momentum)
**     buf = momentum * buf + (1 - dampening) * g    (later steps)
**     g   = nesterov ? g + momentum * buf : buf     (only when momentum > 0)
**     w   = w - lr * g
** With l1 = 0 this is PyTorch's update, step for step. l1 is lunet's own
** addition: the subgradient of l1 * |w|, with sign(0) = 0. Momentum buffers
** are allocated in create for every trained tensor, so that set() may turn
** momentum on later without step() allocating.
*/
#include <string.h>

#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_LR, P_MOMENTUM, P_DAMPENING, P_WEIGHT_DECAY, P_NESTEROV, P_L1, N_PARAMS };

static const lunet_param_decl params[] = {
  [P_LR] = {"lr", LUNET_NUMBER, 0.01, 0, 100, NULL, NULL, "learning rate", 0},
  [P_MOMENTUM] = {"momentum", LUNET_NUMBER, 0, 0, 1, NULL, NULL,
                  "momentum factor; 0 is plain SGD", 0},
  [P_DAMPENING] = {"dampening", LUNET_NUMBER, 0, 0, 1, NULL, NULL,
                   "the new gradient enters the momentum buffer times 1 - dampening", 0},
  [P_WEIGHT_DECAY] = {"weight_decay", LUNET_NUMBER, 0, 0, 10, NULL, NULL,
                      "L2 penalty: adds weight_decay * w to the gradient", 0},
  [P_NESTEROV] = {"nesterov", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                  "Nesterov momentum; needs momentum > 0 and dampening = 0", 0},
  [P_L1] = {"l1", LUNET_NUMBER, 0, 0, 10, NULL, NULL,
            "L1 penalty: adds l1 * sign(w) to the gradient", 0},
};

typedef struct slot {
  float *buf; /* momentum buffer, n floats */
  int64_t n;  /* elements of the tensor; 0 for one without gradient */
} slot;

typedef struct sgd {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int started;        /* the momentum buffers hold a value */
  int n;              /* number of tensors */
  slot *s;            /* one per tensor */
} sgd;

/* checks value v for hyper-parameter `index` against its declaration */
static int check_value(int index, double v) {
  const lunet_param_decl *d;
  if (index < 0 || index >= N_PARAMS) {
    host->error("sgd: no hyper-parameter number %d, expected 0..%d", index, N_PARAMS - 1);
    return 1;
  }
  d = &params[index];
  if (d->type == LUNET_BOOL && v != 0 && v != 1) {
    host->error("sgd: %s = %g, expected 0 or 1 (false or true)", d->name, v);
    return 1;
  }
  if (!(v >= d->min && v <= d->max)) {
    host->error("sgd: %s = %g, expected %g to %g", d->name, v, d->min, d->max);
    return 1;
  }
  return 0;
}

/* checks the combination: Nesterov momentum needs momentum > 0, dampening 0 */
static int check_nesterov(const double *h) {
  if (h[P_NESTEROV] != 0 && (h[P_MOMENTUM] <= 0 || h[P_DAMPENING] != 0)) {
    host->error("sgd: nesterov with momentum = %g and dampening = %g, expected momentum > 0 "
                "and dampening = 0", h[P_MOMENTUM], h[P_DAMPENING]);
    return 1;
  }
  return 0;
}

static void sgd_destroy(void *self) {
  sgd *o = self;
  if (!o) return;
  for (int i = 0; o->s && i < o->n; i++) host->free(o->s[i].buf);
  host->free(o->s);
  host->free(o);
}

/* n floats, at least one so that an empty tensor still gets a valid buffer */
static float *alloc_floats(int64_t n) {
  return host->alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
}

static void *sgd_create(const lunet_value *p, const lunet_param *t, int n) {
  double h[N_PARAMS];
  sgd *o;
  for (int i = 0; i < N_PARAMS; i++) {
    h[i] = p[i].num;
    if (check_value(i, h[i])) return NULL;
  }
  if (check_nesterov(h)) return NULL;
  o = host->alloc(sizeof *o);
  if (!o) return NULL;
  memcpy(o->h, h, sizeof h);
  o->n = n;
  o->s = host->alloc(sizeof *o->s * (size_t)(n > 0 ? n : 1));
  if (!o->s) {
    sgd_destroy(o);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    o->s[i].n = lunet_numel(&t[i].value->shape);
    o->s[i].buf = alloc_floats(o->s[i].n);
    if (!o->s[i].buf) {
      sgd_destroy(o);
      return NULL;
    }
  }
  return o;
}

/* buf = mu buf + (1 - damp) g,  w -= lr (nesterov ? g + mu buf : buf)    (n) -> (n)
** The flags are read once, outside the loop, so the compiler can unswitch
** and vectorize it; restrict tells it the three arrays never overlap. */
static void update(const sgd *o, slot *s, float *restrict w, const float *restrict grad) {
  float lr = (float)o->h[P_LR], mu = (float)o->h[P_MOMENTUM];
  float keep = (float)(1.0 - o->h[P_DAMPENING]), wd = (float)o->h[P_WEIGHT_DECAY];
  float l1 = (float)o->h[P_L1];
  int nesterov = o->h[P_NESTEROV] != 0, started = o->started;
  float *restrict buf = s->buf;
  int64_t n = s->n;
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i] + wd * w[i] + l1 * (float)((w[i] > 0) - (w[i] < 0));
    if (mu != 0.0f) {
      float b = started ? mu * buf[i] + keep * g : g;
      buf[i] = b;
      g = nesterov ? g + mu * b : b;
    }
    w[i] -= lr * g;
  }
}

static int sgd_step(void *self, lunet_param *t, int n) {
  sgd *o = self;
  if (n != o->n) {
    host->error("sgd: step got %d tensors, expected the %d given to create", n, o->n);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    if (lunet_numel(&t[i].value->shape) != o->s[i].n) {
      host->error("sgd: tensor %d (%s) has %lld elements, expected %lld as at create", i,
                  t[i].name ? t[i].name : "?", (long long)lunet_numel(&t[i].value->shape),
                  (long long)o->s[i].n);
      return 1;
    }
    update(o, &o->s[i], t[i].value->data, t[i].grad->data);
  }
  if (o->h[P_MOMENTUM] != 0) o->started = 1;
  return 0;
}

static int sgd_set(void *self, int index, double value) {
  sgd *o = self;
  double h[N_PARAMS];
  if (check_value(index, value)) return 1;
  memcpy(h, o->h, sizeof h);
  h[index] = value;
  if (check_nesterov(h)) return 1;
  o->h[index] = value;
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = sgd_create,
  .destroy = sgd_destroy,
  .step = {[LUNET_CPU] = sgd_step},
  .set = sgd_set,
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_OPTIMIZER,
  .name = "sgd",
  .version = "1.0.0",
  .summary = "SGD with momentum, Nesterov, weight decay and L1 (as torch.optim.SGD)",
  .params = params,
  .n_params = N_PARAMS,
  .optimizer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
