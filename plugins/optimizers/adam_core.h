/*
** adam_core.h -- the Adam optimizer that adam.c and adamw.c both build: the
** parameters, the state (two moments of one float per trained value) and
** the one-pass step. They differ only in the weight decay, so the file that
** includes this one first defines
**     ADAM_NAME           the plugin's name, for messages;
**     ADAM_DECOUPLED      0: L2, g = g + weight_decay * w (torch.optim.Adam);
**                         1: decoupled, w = w - lr * weight_decay * w
**                            before the update (torch.optim.AdamW);
**     ADAM_DECAY_DEFAULT  the default of weight_decay;
**     ADAM_DECAY_DOC      its line in `lunet describe`;
** and then has `params` and `api` for its LUNET_OPTIMIZER_PLUGIN line.
*/
#include <lunet/helpers.h>

enum { P_LR, P_BETA1, P_BETA2, P_EPS, P_WEIGHT_DECAY, N_PARAMS };

static const lunet_param_decl params[] = {
  [P_LR] = {"lr", LUNET_NUMBER, 0.001, 0, 100, NULL, NULL, "learning rate", 0},
  [P_BETA1] = {"beta1", LUNET_NUMBER, 0.9, 0, 1, NULL, NULL,
               "decay of the gradient mean m, 0 <= beta1 < 1", 0},
  [P_BETA2] = {"beta2", LUNET_NUMBER, 0.999, 0, 1, NULL, NULL,
               "decay of the squared-gradient mean v, 0 <= beta2 < 1", 0},
  [P_EPS] = {"eps", LUNET_NUMBER, 1e-8, 0, 1, NULL, NULL,
             "added to the denominator sqrt(v_hat) for stability", 0},
  [P_WEIGHT_DECAY] = {"weight_decay", LUNET_NUMBER, ADAM_DECAY_DEFAULT, 0, 10, NULL, NULL,
                      ADAM_DECAY_DOC, 0},
};

typedef struct adam {
  double h[N_PARAMS]; /* hyper-parameters in declaration order */
  int64_t t;          /* steps taken */
  int64_t n;          /* trained values */
  float *m, *v;       /* first and second moments, n each */
  int device;         /* where m and v live: that of the values */
} adam;

/* value v for hyper-parameter `index`: its declared range, betas < 1 */
static int check_value(int index, double v) {
  if (lunet_hyper_check(ADAM_NAME, params, N_PARAMS, index, v)) return -1;
  if ((index == P_BETA1 || index == P_BETA2) && v >= 1) {
    host->error(ADAM_NAME ": %s = %g, expected 0 <= %s < 1", params[index].name, v,
                params[index].name);
    return -1;
  }
  return 0;
}

static void adam_destroy(void *self) {
  adam *o = self;
  if (!o) return;
  lunet_free_on(o->device, o->m);
  lunet_free_on(o->device, o->v);
  host->free(o);
}

static void *adam_create(const lunet_value *p, const lunet_params *ps) {
  for (int i = 0; i < N_PARAMS; i++)
    if (check_value(i, p[i].num)) return NULL;
  adam *o = host->alloc(sizeof *o);
  if (!o) return NULL;
  for (int i = 0; i < N_PARAMS; i++) o->h[i] = p[i].num;
  o->n = lunet_numel(&ps->value.shape);
  o->device = ps->value.device;
  o->m = lunet_alloc_floats_on(o->device, o->n);
  o->v = lunet_alloc_floats_on(o->device, o->n);
  if (!o->m || !o->v) {
    adam_destroy(o);
    return NULL;
  }
  return o;
}

/* g = g + wd w (L2) or w *= 1 - lr wd (decoupled);  m, v = moving means of g, g^2;
** w -= step_size m / (sqrt(v) / bc2_sqrt + eps)    (n) -> (n) */
static void update(adam *o, float *restrict w, const float *restrict grad, float step_size,
                   float bc2_sqrt) {
  float b1 = (float)o->h[P_BETA1], b2 = (float)o->h[P_BETA2];
  float c1 = (float)(1.0 - o->h[P_BETA1]), c2 = (float)(1.0 - o->h[P_BETA2]); /* as PyTorch */
  float eps = (float)o->h[P_EPS], wd = (float)o->h[P_WEIGHT_DECAY];
  float keep = (float)(1.0 - o->h[P_LR] * o->h[P_WEIGHT_DECAY]);
  float *restrict m = o->m, *restrict v = o->v; /* no overlap: lets the loop vectorize */
  for (int64_t i = 0; i < o->n; i++) {
    float g = ADAM_DECOUPLED ? grad[i] : grad[i] + wd * w[i];
    if (ADAM_DECOUPLED) w[i] *= keep;
    m[i] = b1 * m[i] + c1 * g;
    v[i] = b2 * v[i] + c2 * g * g;
    w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
  }
}

static int adam_step(void *self, lunet_params *ps) {
  adam *o = self;
  if (lunet_expect_values(ADAM_NAME, ps, o->n)) return -1;
  o->t++;
  double bc1 = 1.0 - pow(o->h[P_BETA1], (double)o->t), bc2 = 1.0 - pow(o->h[P_BETA2], (double)o->t);
  update(o, ps->value.f32, ps->grad.f32, (float)(o->h[P_LR] / bc1), (float)sqrt(bc2));
  return 0;
}

#ifdef LUNET_WITH_CUDA
/* The same update on the GPU, one fused kernel over every value
** (adam_core.cuh); k holds b1, b2, c1, c2, eps, wd, keep, step_size,
** bc2_sqrt as update() computes them. */
int adam_update_launch(float *w, const float *grad, float *m, float *v, int64_t n, const float *k,
                       int decoupled);

static int adam_step_cuda(void *self, lunet_params *ps) {
  adam *o = self;
  if (lunet_expect_values(ADAM_NAME, ps, o->n)) return -1;
  o->t++;
  double bc1 = 1.0 - pow(o->h[P_BETA1], (double)o->t), bc2 = 1.0 - pow(o->h[P_BETA2], (double)o->t);
  float k[9] = {(float)o->h[P_BETA1], (float)o->h[P_BETA2], (float)(1.0 - o->h[P_BETA1]),
                (float)(1.0 - o->h[P_BETA2]), (float)o->h[P_EPS], (float)o->h[P_WEIGHT_DECAY],
                (float)(1.0 - o->h[P_LR] * o->h[P_WEIGHT_DECAY]), (float)(o->h[P_LR] / bc1),
                (float)sqrt(bc2)};
  return lunet_cuda_check(ADAM_NAME, adam_update_launch(ps->value.f32, ps->grad.f32, o->m, o->v, o->n, k,
                                                        ADAM_DECOUPLED));
}
#endif

static int adam_set(void *self, int index, double value) {
  adam *o = self;
  if (check_value(index, value)) return -1;
  o->h[index] = value;
  return 0;
}

/* m, v and t, as torch's state_dict names them */
static int adam_state(void *self, int i, lunet_state_item *item) {
  adam *o = self;
  if (i == 0) return lunet_state_floats(item, "exp_avg", o->m, o->n);
  if (i == 1) return lunet_state_floats(item, "exp_avg_sq", o->v, o->n);
  if (i == 2) return lunet_state_counter(item, "step", &o->t);
  return 0;
}

static const lunet_optimizer_api api = {
  .size = sizeof(lunet_optimizer_api),
  .create = adam_create,
  .destroy = adam_destroy,
  .step = {[LUNET_CPU] = adam_step LUNET_ON_CUDA(adam_step_cuda)},
  .set = adam_set,
  .state = adam_state,
};
