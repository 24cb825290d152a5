/*
** adamw.c -- Adam with decoupled weight decay, as torch.optim.AdamW (amsgrad off).
**
** For every trained tensor w with gradient g, step t = 1, 2, ... does
**     w = w - lr * weight_decay * w      (decoupled: not through g, m or v)
**     m = beta1 * m + (1 - beta1) * g
**     v = beta2 * v + (1 - beta2) * g^2
**     w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
** Unlike adam.c's L2 term, the decay shrinks every weight by the same factor
** whatever its gradient history (Loshchilov and Hutter, 2019). As in PyTorch
** the decay is scaled by lr, so a learning-rate schedule scales it too, and
** eps is added after the bias correction of sqrt(v). The moments m and v are
** allocated in create, one pair per trained tensor.
*/
#include <math.h>

#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_LR, P_BETA1, P_BETA2, P_EPS, P_WEIGHT_DECAY, N_PARAMS };

static const lunet_param_decl params[] = {
  [P_LR] = {"lr", LUNET_NUMBER, 0.001, 0, 100, NULL, NULL, "learning rate", 0},
  [P_BETA1] = {"beta1", LUNET_NUMBER, 0.9, 0, 1, NULL, NULL,
               "decay of the gradient mean m, 0 <= beta1 < 1", 0},
  [P_BETA2] = {"beta2", LUNET_NUMBER, 0.999, 0, 1, NULL, NULL,
               "decay of the squared-gradient mean v, 0 <= beta2 < 1", 0},
  [P_EPS] = {"eps", LUNET_NUMBER, 1e-8, 0, 1, NULL, NULL,
             "added to the denominator sqrt(v_hat) for stability", 0},
  [P_WEIGHT_DECAY] = {"weight_decay", LUNET_NUMBER, 0.01, 0, 10, NULL, NULL,
                      "decoupled decay: w -= lr * weight_decay * w before each update", 0},
};

typedef struct slot {
  float *m, *v; /* first and second moments, n floats each */
  int64_t n;    /* elements of the tensor; 0 for one without gradient */
} slot;

typedef struct adamw {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int64_t t;          /* steps taken */
  int n;              /* number of tensors */
  slot *s;            /* one per tensor */
} adamw;

/* checks value v for hyper-parameter `index`: its declared range, betas < 1 */
static int check_value(int index, double v) {
  const lunet_param_decl *d;
  if (index < 0 || index >= N_PARAMS) {
    host->error("adamw: no hyper-parameter number %d, expected 0..%d", index, N_PARAMS - 1);
    return 1;
  }
  d = &params[index];
  if (!(v >= d->min && v <= d->max)) {
    host->error("adamw: %s = %g, expected %g to %g", d->name, v, d->min, d->max);
    return 1;
  }
  if ((index == P_BETA1 || index == P_BETA2) && v >= 1) {
    host->error("adamw: %s = %g, expected 0 <= %s < 1", d->name, v, d->name);
    return 1;
  }
  return 0;
}

static void adamw_destroy(void *self) {
  adamw *o = self;
  if (!o) return;
  for (int i = 0; o->s && i < o->n; i++) {
    host->free(o->s[i].m);
    host->free(o->s[i].v);
  }
  host->free(o->s);
  host->free(o);
}

/* n floats, at least one so that an empty tensor still gets a valid buffer */
static float *alloc_floats(int64_t n) {
  return host->alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
}

static void *adamw_create(const lunet_value *p, const lunet_param *t, int n) {
  adamw *o;
  for (int i = 0; i < N_PARAMS; i++)
    if (check_value(i, p[i].num)) return NULL;
  o = host->alloc(sizeof *o);
  if (!o) return NULL;
  for (int i = 0; i < N_PARAMS; i++) o->h[i] = p[i].num;
  o->n = n;
  o->s = host->alloc(sizeof *o->s * (size_t)(n > 0 ? n : 1));
  if (!o->s) {
    adamw_destroy(o);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    o->s[i].n = lunet_numel(&t[i].value->shape);
    o->s[i].m = alloc_floats(o->s[i].n);
    o->s[i].v = alloc_floats(o->s[i].n);
    if (!o->s[i].m || !o->s[i].v) {
      adamw_destroy(o);
      return NULL;
    }
  }
  return o;
}

/* w *= 1 - lr wd;  m, v = moving means of g, g^2;
** w -= step_size m / (sqrt(v) / bc2_sqrt + eps)    (n) -> (n) */
static void update(const adamw *o, slot *s, float *restrict w, const float *restrict grad,
                   float step_size, float bc2_sqrt) {
  float b1 = (float)o->h[P_BETA1], b2 = (float)o->h[P_BETA2];
  float c1 = (float)(1.0 - o->h[P_BETA1]), c2 = (float)(1.0 - o->h[P_BETA2]); /* as PyTorch */
  float eps = (float)o->h[P_EPS], keep = (float)(1.0 - o->h[P_LR] * o->h[P_WEIGHT_DECAY]);
  float *restrict m = s->m, *restrict v = s->v; /* no overlap: lets the loop vectorize */
  int64_t n = s->n;
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i];
    w[i] *= keep;
    m[i] = b1 * m[i] + c1 * g;
    v[i] = b2 * v[i] + c2 * g * g;
    w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
  }
}

static int adamw_step(void *self, lunet_param *t, int n) {
  adamw *o = self;
  double bc1, bc2;
  if (n != o->n) {
    host->error("adamw: step got %d tensors, expected the %d given to create", n, o->n);
    return 1;
  }
  o->t++;
  bc1 = 1.0 - pow(o->h[P_BETA1], (double)o->t);
  bc2 = 1.0 - pow(o->h[P_BETA2], (double)o->t);
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    if (lunet_numel(&t[i].value->shape) != o->s[i].n) {
      host->error("adamw: tensor %d (%s) has %lld elements, expected %lld as at create", i,
                  t[i].name ? t[i].name : "?", (long long)lunet_numel(&t[i].value->shape),
                  (long long)o->s[i].n);
      return 1;
    }
    update(o, &o->s[i], t[i].value->data, t[i].grad->data, (float)(o->h[P_LR] / bc1),
           (float)sqrt(bc2));
  }
  return 0;
}

static int adamw_set(void *self, int index, double value) {
  adamw *o = self;
  if (check_value(index, value)) return 1;
  o->h[index] = value;
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = adamw_create,
  .destroy = adamw_destroy,
  .step = {[LUNET_CPU] = adamw_step},
  .set = adamw_set,
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_OPTIMIZER,
  .name = "adamw",
  .version = "1.0.0",
  .summary = "Adam with bias correction and decoupled weight decay (as torch.optim.AdamW)",
  .params = params,
  .n_params = N_PARAMS,
  .optimizer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
