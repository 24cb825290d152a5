/*
** adagrad.c -- Adagrad, as torch.optim.Adagrad without lr_decay.
**
** For every trained tensor w with gradient g, each step does
**     g   = g + weight_decay * w
**     sum = sum + g^2                 (sum starts at initial_accumulator_value)
**     w   = w - lr * g / (sqrt(sum) + eps)
** so every weight gets its own learning rate, shrinking with the squared
** gradients it has seen. As in PyTorch, eps is added after the square root.
** The accumulators are allocated and filled in create, one per trained
** tensor; set() may change initial_accumulator_value only before the first
** step, when it refills them.
*/
#include <math.h>

#include <lunet/plugin.h>

static const lunet_host *host;

enum { P_LR, P_EPS, P_WEIGHT_DECAY, P_INIT_ACC, N_PARAMS };

static const lunet_param_decl params[] = {
  [P_LR] = {"lr", LUNET_NUMBER, 0.01, 0, 100, NULL, NULL, "learning rate", 0},
  [P_EPS] = {"eps", LUNET_NUMBER, 1e-10, 0, 1, NULL, NULL,
             "added to the denominator sqrt(sum) for stability", 0},
  [P_WEIGHT_DECAY] = {"weight_decay", LUNET_NUMBER, 0, 0, 10, NULL, NULL,
                      "L2 penalty: adds weight_decay * w to the gradient", 0},
  [P_INIT_ACC] = {"initial_accumulator_value", LUNET_NUMBER, 0, 0, 1e6, NULL, NULL,
                  "starting value of the sum of squared gradients", 0},
};

typedef struct slot {
  float *sum; /* sum of squared gradients, n floats */
  int64_t n;  /* elements of the tensor; 0 for one without gradient */
} slot;

typedef struct adagrad {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int64_t t;          /* steps taken */
  int n;              /* number of tensors */
  slot *s;            /* one per tensor */
} adagrad;

/* checks value v for hyper-parameter `index` against its declaration */
static int check_value(int index, double v) {
  const lunet_param_decl *d;
  if (index < 0 || index >= N_PARAMS) {
    host->error("adagrad: no hyper-parameter number %d, expected 0..%d", index, N_PARAMS - 1);
    return 1;
  }
  d = &params[index];
  if (!(v >= d->min && v <= d->max)) {
    host->error("adagrad: %s = %g, expected %g to %g", d->name, v, d->min, d->max);
    return 1;
  }
  return 0;
}

static void adagrad_destroy(void *self) {
  adagrad *o = self;
  if (!o) return;
  for (int i = 0; o->s && i < o->n; i++) host->free(o->s[i].sum);
  host->free(o->s);
  host->free(o);
}

/* n floats, at least one so that an empty tensor still gets a valid buffer */
static float *alloc_floats(int64_t n) {
  return host->alloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
}

/* sum = initial_accumulator_value for every trained tensor    (n) -> (n) */
static void fill_accumulators(adagrad *o) {
  float v = (float)o->h[P_INIT_ACC];
  for (int i = 0; i < o->n; i++)
    for (int64_t j = 0; j < o->s[i].n; j++) o->s[i].sum[j] = v;
}

static void *adagrad_create(const lunet_value *p, const lunet_param *t, int n) {
  adagrad *o;
  for (int i = 0; i < N_PARAMS; i++)
    if (check_value(i, p[i].num)) return NULL;
  o = host->alloc(sizeof *o);
  if (!o) return NULL;
  for (int i = 0; i < N_PARAMS; i++) o->h[i] = p[i].num;
  o->n = n;
  o->s = host->alloc(sizeof *o->s * (size_t)(n > 0 ? n : 1));
  if (!o->s) {
    adagrad_destroy(o);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    o->s[i].n = lunet_numel(&t[i].value->shape);
    o->s[i].sum = alloc_floats(o->s[i].n);
    if (!o->s[i].sum) {
      adagrad_destroy(o);
      return NULL;
    }
  }
  fill_accumulators(o);
  return o;
}

/* sum += g^2,  w -= lr g / (sqrt(sum) + eps)    (n) -> (n) */
static void update(const adagrad *o, slot *s, float *restrict w, const float *restrict grad) {
  float lr = (float)o->h[P_LR], eps = (float)o->h[P_EPS], wd = (float)o->h[P_WEIGHT_DECAY];
  float *restrict sum = s->sum; /* no overlap: lets the loop vectorize */
  int64_t n = s->n;
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i] + wd * w[i];
    sum[i] += g * g;
    w[i] -= lr * g / (sqrtf(sum[i]) + eps);
  }
}

static int adagrad_step(void *self, lunet_param *t, int n) {
  adagrad *o = self;
  if (n != o->n) {
    host->error("adagrad: step got %d tensors, expected the %d given to create", n, o->n);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    if (!t[i].grad) continue;
    if (lunet_numel(&t[i].value->shape) != o->s[i].n) {
      host->error("adagrad: tensor %d (%s) has %lld elements, expected %lld as at create", i,
                  t[i].name ? t[i].name : "?", (long long)lunet_numel(&t[i].value->shape),
                  (long long)o->s[i].n);
      return 1;
    }
    update(o, &o->s[i], t[i].value->data, t[i].grad->data);
  }
  o->t++;
  return 0;
}

static int adagrad_set(void *self, int index, double value) {
  adagrad *o = self;
  if (check_value(index, value)) return 1;
  if (index == P_INIT_ACC && o->t > 0 && value != o->h[index]) {
    host->error("adagrad: initial_accumulator_value = %g after %lld steps, expected it to change "
                "only before the first step", value, (long long)o->t);
    return 1;
  }
  o->h[index] = value;
  if (index == P_INIT_ACC && o->t == 0) fill_accumulators(o);
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = adagrad_create,
  .destroy = adagrad_destroy,
  .step = {[LUNET_CPU] = adagrad_step},
  .set = adagrad_set,
};

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = LUNET_ABI_MAJOR,
  .abi_minor = LUNET_ABI_MINOR,
  .kind = LUNET_OPTIMIZER,
  .name = "adagrad",
  .version = "1.0.0",
  .summary = "Adagrad with L2 weight decay (as torch.optim.Adagrad without lr_decay)",
  .params = params,
  .n_params = N_PARAMS,
  .optimizer = &api,
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  host = h;
  return &plugin;
}
