/*
** mse.c -- the mean squared error, loss = sum_ij (p_ij - t_ij)^2 / (B P).
**
** The reduction is PyTorch's MSELoss(reduction='mean'): the mean over ALL B*P
** elements of the (B, P) prediction, i.e. the mean over the batch of
** sum_j (p_j - t_j)^2 / P. The value does not grow with the number of
** outputs P. The gradient is dloss/dp_ij = 2 (p_ij - t_ij) / (B P).
**
** Targets are regression values: each target row must have as many elements
** as a prediction row (the shapes may differ, e.g. {3} and {1, 3}). One-hot
** class targets work too. Class indices (classes > 0, target {1}) are
** refused at create: use one-hot targets or cross_entropy for those.
*/
#include <lunet/helpers.h>

typedef struct mse {
  int64_t n; /* elements per sample, P */
} mse;

static void *mse_create(const lunet_value *p, const lunet_shape *pred,
                        const lunet_shape *target, int classes, int device) {
  (void)p, (void)device;
  if (classes > 0 && lunet_numel(target) == 1) {
    host->error("mse: targets are class indices (classes=%d); use a dataset with one-hot "
                "targets or cross_entropy", classes);
    return NULL;
  }
  if (lunet_numel(target) != lunet_numel(pred)) {
    host->error("mse: target shape %s has %lld elements per sample, expected %lld as the "
                "prediction shape %s", lunet_shape_text(target, (char[LUNET_SHAPE_TEXT]){0}),
                (long long)lunet_numel(target), (long long)lunet_numel(pred),
                lunet_shape_text(pred, (char[LUNET_SHAPE_TEXT]){0}));
    return NULL;
  }
  mse *m = host->alloc(sizeof *m);
  if (!m) return NULL;
  m->n = lunet_numel(pred);
  return m;
}

static void mse_destroy(void *self) { host->free(self); }

/* loss = sum (p - t)^2 / (B P),  grad = 2 (p - t) / (B P)    (B, P), (B, P) -> scalar */
static int mse_forward(void *self, const lunet_tensor *pred, const lunet_tensor *target,
                       double *loss, lunet_tensor *grad) {
  mse *m = self;
  int B = pred->shape.dim[0];
  int64_t n = B * m->n;
  double scale = 1.0 / (double)n, sum = 0.0;
  if (B < 1 || target->shape.dim[0] != B) {
    host->error("mse: batch of %d predictions and %d targets, expected the same number, "
                "at least 1", B, target->shape.dim[0]);
    return -1;
  }
  for (int64_t i = 0; i < n; i++) {
    double d = (double)pred->f32[i] - (double)target->f32[i];
    sum += d * d;
    if (grad) grad->f32[i] = (float)(2.0 * scale * d);
  }
  *loss = sum * scale;
  return 0;
}

static const lunet_loss_api api = {
  .size = sizeof(lunet_loss_api),
  .create = mse_create,
  .destroy = mse_destroy,
  .forward = {[LUNET_CPU] = mse_forward},
};

LUNET_LOSS_PLUGIN(api, "mse", "2.0.0",
                  "mean squared error over all B*P elements (PyTorch MSELoss, reduction='mean')",
                  LUNET_NO_PARAMS)
