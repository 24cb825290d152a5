/*
** sgd.c -- stochastic gradient descent with momentum, as torch.optim.SGD.
**
** For every trained value w with gradient g, each step does
**     g   = g + weight_decay * w + l1 * sign(w)
**     buf = g                                       (first step with momentum)
**     buf = momentum * buf + (1 - dampening) * g    (later steps)
**     g   = nesterov ? g + momentum * buf : buf     (only when momentum > 0)
**     w   = w - lr * g
** With l1 = 0 this is PyTorch's update, step for step. l1 is lunet's own
** addition: the subgradient of l1 * |w|, with sign(0) = 0. The momentum
** buffer (one float per trained value) is allocated in create, so that set()
** may turn momentum on later without step() allocating.
*/
#include <lunet/helpers.h>

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

typedef struct sgd {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int64_t started;    /* the momentum buffer holds a value (0 or 1) */
  int64_t n;          /* trained values */
  float *buf;         /* momentum buffer, n floats */
  int device;         /* where buf lives: that of the values */
} sgd;

/* checks the combination: Nesterov momentum needs momentum > 0, dampening 0 */
static int check_nesterov(const double *h) {
  if (h[P_NESTEROV] != 0 && (h[P_MOMENTUM] <= 0 || h[P_DAMPENING] != 0)) {
    host->error("sgd: nesterov with momentum = %g and dampening = %g, expected momentum > 0 "
                "and dampening = 0", h[P_MOMENTUM], h[P_DAMPENING]);
    return -1;
  }
  return 0;
}

static void sgd_destroy(void *self) {
  sgd *o = self;
  if (!o) return;
  lunet_free_on(o->device, o->buf);
  host->free(o);
}

static void *sgd_create(const lunet_value *p, const lunet_params *ps) {
  double h[N_PARAMS];
  for (int i = 0; i < N_PARAMS; i++) {
    h[i] = p[i].num;
    if (lunet_hyper_check("sgd", params, N_PARAMS, i, h[i])) return NULL;
  }
  if (check_nesterov(h)) return NULL;
  sgd *o = host->alloc(sizeof *o);
  if (!o) return NULL;
  memcpy(o->h, h, sizeof h);
  o->n = lunet_numel(&ps->value.shape);
  o->device = ps->value.device;
  o->buf = lunet_alloc_floats_on(o->device, o->n);
  if (!o->buf) {
    sgd_destroy(o);
    return NULL;
  }
  return o;
}

/* buf = mu buf + (1 - damp) g,  w -= lr (nesterov ? g + mu buf : buf)    (n) -> (n)
** The flags are read once, outside the loop, so the compiler can unswitch
** and vectorize it; restrict tells it the three arrays never overlap. */
static void update(const sgd *o, float *restrict w, const float *restrict grad) {
  float lr = (float)o->h[P_LR], mu = (float)o->h[P_MOMENTUM];
  float keep = (float)(1.0 - o->h[P_DAMPENING]), wd = (float)o->h[P_WEIGHT_DECAY];
  float l1 = (float)o->h[P_L1];
  int nesterov = o->h[P_NESTEROV] != 0, started = o->started != 0;
  float *restrict buf = o->buf;
  int64_t n = o->n;
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

static int sgd_step(void *self, lunet_params *ps) {
  sgd *o = self;
  if (lunet_expect_values("sgd", ps, o->n)) return -1;
  update(o, ps->value.f32, ps->grad.f32);
  if (o->h[P_MOMENTUM] != 0) o->started = 1;
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same update on the GPU, one fused kernel over every value (sgd.cu);
** k holds lr, mu, keep, wd, l1 as update() computes them. */
int sgd_update_launch(float *w, const float *grad, float *buf, int64_t n, const float *k, int nesterov,
                      int started);

static int sgd_step_cuda(void *self, lunet_params *ps) {
  sgd *o = self;
  if (lunet_expect_values("sgd", ps, o->n)) return -1;
  float k[5] = {(float)o->h[P_LR], (float)o->h[P_MOMENTUM], (float)(1.0 - o->h[P_DAMPENING]),
                (float)o->h[P_WEIGHT_DECAY], (float)o->h[P_L1]};
  if (lunet_cuda_check("sgd", sgd_update_launch(ps->value.f32, ps->grad.f32, o->buf, o->n, k,
                                                o->h[P_NESTEROV] != 0, o->started != 0)))
    return -1;
  if (o->h[P_MOMENTUM] != 0) o->started = 1;
  return 0;
}
#endif

static int sgd_set(void *self, int index, double value) {
  sgd *o = self;
  double h[N_PARAMS];
  if (lunet_hyper_check("sgd", params, N_PARAMS, index, value)) return -1;
  memcpy(h, o->h, sizeof h);
  h[index] = value;
  if (check_nesterov(h)) return -1;
  o->h[index] = value;
  return 0;
}

/* the momentum buffer and whether it holds a value yet */
static int sgd_state(void *self, int i, lunet_state_item *item) {
  sgd *o = self;
  if (i == 0) return lunet_state_floats(item, "momentum_buffer", o->buf, o->n);
  if (i == 1) return lunet_state_counter(item, "started", &o->started);
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = sgd_create,
  .destroy = sgd_destroy,
  .step = {[LUNET_CPU] = sgd_step LUNET_ON_CUDA(sgd_step_cuda)},
  .set = sgd_set,
  .state = sgd_state,
};

LUNET_OPTIMIZER_PLUGIN(api, "sgd", "2.0.0",
                       "SGD with momentum, Nesterov, weight decay and L1 (as torch.optim.SGD)",
                       LUNET_PARAMS(params))
