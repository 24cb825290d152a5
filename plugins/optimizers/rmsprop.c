/*
** rmsprop.c -- RMSprop, as torch.optim.RMSprop.
**
** For every trained tensor w with gradient g, each step does
**     g   = g + weight_decay * w
**     v   = alpha * v + (1 - alpha) * g^2
**     avg = sqrt(v) + eps                               (centered false)
**     m   = alpha * m + (1 - alpha) * g,                (centered true)
**     avg = sqrt(v - m^2) + eps
**     buf = momentum * buf + g / avg,  w = w - lr * buf (momentum > 0)
**     w   = w - lr * g / avg                            (momentum = 0)
** with v, m and buf starting at 0, as in PyTorch (eps after the square
** root). In the centered form v - m^2 >= 0 holds exactly; it is clamped at
** 0 against rounding, where PyTorch would give NaN. All three buffers are
** allocated in create for every trained tensor, so that set() may turn
** momentum or centering on later without step() allocating.
*/
#include <math.h>

#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_LR, P_ALPHA, P_EPS, P_MOMENTUM, P_CENTERED, P_WEIGHT_DECAY, N_PARAMS };

static const lunet_param_decl params[] = {
  [P_LR] = {"lr", LUNET_NUMBER, 0.01, 0, 100, NULL, NULL, "learning rate", 0},
  [P_ALPHA] = {"alpha", LUNET_NUMBER, 0.99, 0, 1, NULL, NULL,
               "decay of the squared-gradient mean v", 0},
  [P_EPS] = {"eps", LUNET_NUMBER, 1e-8, 0, 1, NULL, NULL,
             "added to the denominator sqrt(v) for stability", 0},
  [P_MOMENTUM] = {"momentum", LUNET_NUMBER, 0, 0, 1, NULL, NULL,
                  "momentum factor of the scaled step; 0 is none", 0},
  [P_CENTERED] = {"centered", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                  "divide by the estimated variance v - m^2 instead of v", 0},
  [P_WEIGHT_DECAY] = {"weight_decay", LUNET_NUMBER, 0, 0, 10, NULL, NULL,
                      "L2 penalty: adds weight_decay * w to the gradient", 0},
};

typedef struct slot {
  float *v, *m, *buf; /* squared-gradient mean, gradient mean, momentum; n floats each */
  int64_t n;          /* elements of the tensor; 0 for one without gradient */
} slot;

typedef struct rmsprop {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int n;              /* number of tensors */
  slot *s;            /* one per tensor */
} rmsprop;

/* checks value v for hyper-parameter `index` against its declaration */
static int check_value(int index, double v) {
  const lunet_param_decl *d;
  if (index < 0 || index >= N_PARAMS) {
    host->error("rmsprop: no hyper-parameter number %d, expected 0..%d", index, N_PARAMS - 1);
    return 1;
  }
  d = &params[index];
  if (d->type == LUNET_BOOL && v != 0 && v != 1) {
    host->error("rmsprop: %s = %g, expected 0 or 1 (false or true)", d->name, v);
    return 1;
  }
  if (!(v >= d->min && v <= d->max)) {
    host->error("rmsprop: %s = %g, expected %g to %g", d->name, v, d->min, d->max);
    return 1;
  }
  return 0;
}

static void rmsprop_destroy(void *self) {
  rmsprop *o = self;
  if (!o) return;
  for (int i = 0; o->s && i < o->n; i++) {
    host->free(o->s[i].v);
    host->free(o->s[i].m);
    host->free(o->s[i].buf);
  }
  host->free(o->s);
  host->free(o);
}

/* n floats, at least one so that an empty tensor still gets a valid buffer */
static float *alloc_floats(int64_t n) {
  return host->alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
}

static void *rmsprop_create(const lunet_value *p, const lunet_param *t, int n) {
  rmsprop *o;
  for (int i = 0; i < N_PARAMS; i++)
    if (check_value(i, p[i].num)) return NULL;
  o = host->alloc(sizeof *o);
  if (!o) return NULL;
  for (int i = 0; i < N_PARAMS; i++) o->h[i] = p[i].num;
  o->n = n;
  o->s = host->alloc(sizeof *o->s * (size_t)(n > 0 ? n : 1));
  if (!o->s) {
    rmsprop_destroy(o);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    o->s[i].n = lunet_numel(&t[i].value->shape);
    o->s[i].v = alloc_floats(o->s[i].n);
    o->s[i].m = alloc_floats(o->s[i].n);
    o->s[i].buf = alloc_floats(o->s[i].n);
    if (!o->s[i].v || !o->s[i].m || !o->s[i].buf) {
      rmsprop_destroy(o);
      return NULL;
    }
  }
  return o;
}

/* v = alpha v + (1 - alpha) g^2,  m = alpha m + (1 - alpha) g (centered),
** avg = sqrt(centered ? v - m^2 : v) + eps,
** buf = mu buf + g / avg, w -= lr buf (mu > 0);  w -= lr g / avg (mu = 0)    (n) -> (n)
** The flags are read once, outside the loop, so the compiler can unswitch
** and vectorize it; restrict tells it the arrays never overlap. */
static void update(const rmsprop *o, slot *s, float *restrict w, const float *restrict grad) {
  float lr = (float)o->h[P_LR], mu = (float)o->h[P_MOMENTUM], eps = (float)o->h[P_EPS];
  float a = (float)o->h[P_ALPHA], c = (float)(1.0 - o->h[P_ALPHA]); /* as PyTorch */
  float wd = (float)o->h[P_WEIGHT_DECAY];
  int centered = o->h[P_CENTERED] != 0, momentum = mu > 0.0f;
  float *restrict v = s->v, *restrict m = s->m, *restrict buf = s->buf;
  int64_t n = s->n;
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i] + wd * w[i], var, avg;
    v[i] = a * v[i] + c * g * g;
    var = v[i];
    if (centered) {
      m[i] = a * m[i] + c * g;
      var -= m[i] * m[i];
      var = var < 0.0f ? 0.0f : var; /* rounding; a NaN stays NaN */
    }
    avg = sqrtf(var) + eps;
    if (momentum) {
      buf[i] = mu * buf[i] + g / avg;
      w[i] -= lr * buf[i];
    } else {
      w[i] -= lr * g / avg;
    }
  }
}

static int rmsprop_step(void *self, lunet_param *t, int n) {
  rmsprop *o = self;
  if (n != o->n) {
    host->error("rmsprop: step got %d tensors, expected the %d given to create", n, o->n);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    if (lunet_numel(&t[i].value->shape) != o->s[i].n) {
      host->error("rmsprop: tensor %d (%s) has %lld elements, expected %lld as at create", i,
                  t[i].name ? t[i].name : "?", (long long)lunet_numel(&t[i].value->shape),
                  (long long)o->s[i].n);
      return 1;
    }
    update(o, &o->s[i], t[i].value->data, t[i].grad->data);
  }
  return 0;
}

static int rmsprop_set(void *self, int index, double value) {
  rmsprop *o = self;
  if (check_value(index, value)) return 1;
  o->h[index] = value;
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = rmsprop_create,
  .destroy = rmsprop_destroy,
  .step = {[LUNET_CPU] = rmsprop_step},
  .set = rmsprop_set,
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_OPTIMIZER,
  .name = "rmsprop",
  .version = "1.0.0",
  .summary = "RMSprop with momentum, centering and L2 weight decay (as torch.optim.RMSprop)",
  .params = params,
  .n_params = N_PARAMS,
  .optimizer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
