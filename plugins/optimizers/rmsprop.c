/*
** rmsprop.c -- RMSprop, as torch.optim.RMSprop.
**
** For every trained value w with gradient g, each step does
**     g   = g + weight_decay * w
**     v   = alpha * v + (1 - alpha) * g^2
**     avg = sqrt(v) + eps                               (centered false)
**     m   = alpha * m + (1 - alpha) * g,                (centered true)
**     avg = sqrt(v - m^2) + eps
**     buf = momentum * buf + g / avg,  w = w - lr * buf (momentum > 0)
**     w   = w - lr * g / avg                            (momentum = 0)
** with v, m and buf starting at 0, as in PyTorch (eps after the square
** root). In the centered form v - m^2 >= 0 holds exactly; it is clamped at
** 0 against rounding, where PyTorch would give NaN. All three buffers (one
** float per trained value each) are allocated in create, so that set() may
** turn momentum or centering on later without step() allocating.
*/
#include <lunet/helpers.h>

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

typedef struct rmsprop {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int64_t n;          /* trained values */
  float *v, *m, *buf; /* squared-gradient mean, gradient mean, momentum; n floats each */
  int device;         /* where they live: that of the values */
} rmsprop;

static void rmsprop_destroy(void *self) {
  rmsprop *o = self;
  if (!o) return;
  lunet_free_on(o->device, o->v);
  lunet_free_on(o->device, o->m);
  lunet_free_on(o->device, o->buf);
  host->free(o);
}

static void *rmsprop_create(const lunet_value *p, const lunet_params *ps) {
  for (int i = 0; i < N_PARAMS; i++)
    if (lunet_hyper_check("rmsprop", params, N_PARAMS, i, p[i].num)) return NULL;
  rmsprop *o = host->alloc(sizeof *o);
  if (!o) return NULL;
  for (int i = 0; i < N_PARAMS; i++) o->h[i] = p[i].num;
  o->n = lunet_numel(&ps->value.shape);
  o->device = ps->value.device;
  o->v = lunet_alloc_floats_on(o->device, o->n);
  o->m = lunet_alloc_floats_on(o->device, o->n);
  o->buf = lunet_alloc_floats_on(o->device, o->n);
  if (!o->v || !o->m || !o->buf) {
    rmsprop_destroy(o);
    return NULL;
  }
  return o;
}

/* v = alpha v + (1 - alpha) g^2,  m = alpha m + (1 - alpha) g (centered),
** avg = sqrt(centered ? v - m^2 : v) + eps,
** buf = mu buf + g / avg, w -= lr buf (mu > 0);  w -= lr g / avg (mu = 0)    (n) -> (n)
** The flags are read once, outside the loop, so the compiler can unswitch
** and vectorize it; restrict tells it the arrays never overlap. */
static void update(const rmsprop *o, float *restrict w, const float *restrict grad) {
  float lr = (float)o->h[P_LR], mu = (float)o->h[P_MOMENTUM], eps = (float)o->h[P_EPS];
  float a = (float)o->h[P_ALPHA], c = (float)(1.0 - o->h[P_ALPHA]); /* as PyTorch */
  float wd = (float)o->h[P_WEIGHT_DECAY];
  int centered = o->h[P_CENTERED] != 0, momentum = mu > 0.0f;
  float *restrict v = o->v, *restrict m = o->m, *restrict buf = o->buf;
  int64_t n = o->n;
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

static int rmsprop_step(void *self, lunet_params *ps) {
  rmsprop *o = self;
  if (lunet_expect_values("rmsprop", ps, o->n)) return -1;
  update(o, ps->value.f32, ps->grad.f32);
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same update on the GPU, one fused kernel over every value
** (rmsprop.cu); k holds lr, mu, eps, a, c, wd as update() computes them. */
int rmsprop_update_launch(float *w, const float *grad, float *v, float *m, float *buf, int64_t n,
                          const float *k, int centered);

static int rmsprop_step_cuda(void *self, lunet_params *ps) {
  rmsprop *o = self;
  if (lunet_expect_values("rmsprop", ps, o->n)) return -1;
  float k[6] = {(float)o->h[P_LR], (float)o->h[P_MOMENTUM], (float)o->h[P_EPS], (float)o->h[P_ALPHA],
                (float)(1.0 - o->h[P_ALPHA]), (float)o->h[P_WEIGHT_DECAY]};
  return lunet_cuda_check("rmsprop", rmsprop_update_launch(ps->value.f32, ps->grad.f32, o->v, o->m, o->buf, o->n,
                                                           k, o->h[P_CENTERED] != 0));
}
#endif

static int rmsprop_set(void *self, int index, double value) {
  rmsprop *o = self;
  if (lunet_hyper_check("rmsprop", params, N_PARAMS, index, value)) return -1;
  o->h[index] = value;
  return 0;
}

/* the three running buffers, as torch's state_dict names them */
static int rmsprop_state(void *self, int i, lunet_state_item *item) {
  rmsprop *o = self;
  if (i == 0) return lunet_state_floats(item, "square_avg", o->v, o->n);
  if (i == 1) return lunet_state_floats(item, "grad_avg", o->m, o->n);
  if (i == 2) return lunet_state_floats(item, "momentum_buffer", o->buf, o->n);
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = rmsprop_create,
  .destroy = rmsprop_destroy,
  .step = {[LUNET_CPU] = rmsprop_step LUNET_ON_CUDA(rmsprop_step_cuda)},
  .set = rmsprop_set,
  .state = rmsprop_state,
};

LUNET_OPTIMIZER_PLUGIN(api, "rmsprop", "2.0.0",
                       "RMSprop with momentum, centering and L2 weight decay "
                       "(as torch.optim.RMSprop)", LUNET_PARAMS(params))
