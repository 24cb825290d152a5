/*
** adagrad.c -- Adagrad, as torch.optim.Adagrad without lr_decay.
**
** For every trained value w with gradient g, each step does
**     g   = g + weight_decay * w
**     sum = sum + g^2                 (sum starts at initial_accumulator_value)
**     w   = w - lr * g / (sqrt(sum) + eps)
** so every weight gets its own learning rate, shrinking with the squared
** gradients it has seen. As in PyTorch, eps is added after the square root.
** The accumulator (one float per trained value) is allocated and filled in
** create; set() may change initial_accumulator_value only before the first
** step, when it refills it.
*/
#include <lunet/helpers.h>

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

typedef struct adagrad {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int64_t t;          /* steps taken */
  int64_t n;          /* trained values */
  float *sum;         /* sum of squared gradients, n floats */
  int device;         /* where sum lives: that of the values */
} adagrad;

#ifdef LUNET_WITH_CUDA
/* The kernels of adagrad.cu: update() fused, and the accumulator's fill. */
int adagrad_update_launch(float *w, const float *grad, float *sum, int64_t n, float lr, float eps, float wd);
int adagrad_fill_launch(float *sum, float v, int64_t n);
#endif

static void adagrad_destroy(void *self) {
  adagrad *o = self;
  if (!o) return;
  lunet_free_on(o->device, o->sum);
  host->free(o);
}

/* sum = initial_accumulator_value    (n) -> (n) */
static int fill_accumulators(adagrad *o) {
  float v = (float)o->h[P_INIT_ACC];
#ifdef LUNET_WITH_CUDA
  if (o->device == LUNET_CUDA) return lunet_cuda_check("adagrad", adagrad_fill_launch(o->sum, v, o->n));
#endif
  for (int64_t i = 0; i < o->n; i++) o->sum[i] = v;
  return 0;
}

static void *adagrad_create(const lunet_value *p, const lunet_params *ps) {
  for (int i = 0; i < N_PARAMS; i++)
    if (lunet_hyper_check("adagrad", params, N_PARAMS, i, p[i].num)) return NULL;
  adagrad *o = host->alloc(sizeof *o);
  if (!o) return NULL;
  for (int i = 0; i < N_PARAMS; i++) o->h[i] = p[i].num;
  o->n = lunet_numel(&ps->value.shape);
  o->device = ps->value.device;
  o->sum = lunet_alloc_floats_on(o->device, o->n);
  if (!o->sum || fill_accumulators(o)) {
    adagrad_destroy(o);
    return NULL;
  }
  return o;
}

/* sum += g^2,  w -= lr g / (sqrt(sum) + eps)    (n) -> (n) */
static void update(const adagrad *o, float *restrict w, const float *restrict grad) {
  float lr = (float)o->h[P_LR], eps = (float)o->h[P_EPS], wd = (float)o->h[P_WEIGHT_DECAY];
  float *restrict sum = o->sum; /* no overlap: lets the loop vectorize */
  int64_t n = o->n;
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i] + wd * w[i];
    sum[i] += g * g;
    w[i] -= lr * g / (sqrtf(sum[i]) + eps);
  }
}

static int adagrad_step(void *self, lunet_params *ps) {
  adagrad *o = self;
  if (lunet_expect_values("adagrad", ps, o->n)) return -1;
  update(o, ps->value.f32, ps->grad.f32);
  o->t++;
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same update on the GPU, one fused kernel over every value. */
static int adagrad_step_cuda(void *self, lunet_params *ps) {
  adagrad *o = self;
  if (lunet_expect_values("adagrad", ps, o->n)) return -1;
  if (lunet_cuda_check("adagrad", adagrad_update_launch(ps->value.f32, ps->grad.f32, o->sum, o->n,
                                                        (float)o->h[P_LR], (float)o->h[P_EPS],
                                                        (float)o->h[P_WEIGHT_DECAY])))
    return -1;
  o->t++;
  return 0;
}
#endif

static int adagrad_set(void *self, int index, double value) {
  adagrad *o = self;
  if (lunet_hyper_check("adagrad", params, N_PARAMS, index, value)) return -1;
  if (index == P_INIT_ACC && o->t > 0 && value != o->h[index]) {
    host->error("adagrad: initial_accumulator_value = %g after %lld steps, expected it to change "
                "only before the first step", value, (long long)o->t);
    return -1;
  }
  o->h[index] = value;
  return index == P_INIT_ACC && o->t == 0 ? fill_accumulators(o) : 0;
}

/* the accumulator and the step count */
static int adagrad_state(void *self, int i, lunet_state_item *item) {
  adagrad *o = self;
  if (i == 0) return lunet_state_floats(item, "sum", o->sum, o->n);
  if (i == 1) return lunet_state_counter(item, "step", &o->t);
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = adagrad_create,
  .destroy = adagrad_destroy,
  .step = {[LUNET_CPU] = adagrad_step LUNET_ON_CUDA(adagrad_step_cuda)},
  .set = adagrad_set,
  .state = adagrad_state,
};

LUNET_OPTIMIZER_PLUGIN(api, "adagrad", "2.0.0",
                       "Adagrad with L2 weight decay (as torch.optim.Adagrad without lr_decay)",
                       LUNET_PARAMS(params))
