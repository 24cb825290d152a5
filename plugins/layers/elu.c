/*
** elu.c -- the exponential linear unit, y = x for x > 0, else alpha (exp(x) - 1).
**
** As torch.nn.functional.elu(x, alpha), elementwise; the output has the
** shape of the input (elementwise.h holds the loops). expm1f keeps small
** negative inputs accurate. Backward reads the input: the derivative is 1
** for x > 0 and alpha exp(x) for x <= 0 (alpha at exactly 0, as PyTorch).
*/
#include "elementwise.h"

enum { P_ALPHA };

static const lunet_param_decl params[] = {
  [P_ALPHA] = {"alpha", LUNET_NUMBER, 1.0, 0, 1e6, NULL, NULL,
               "saturation value -alpha for large negative inputs", 0},
};

/* y = x > 0 ? x : alpha (exp(x) - 1) */
static inline float activation(const float *c, float x) {
  return x > 0.0f ? x : c[P_ALPHA] * expm1f(x);
}

/* dx = dy * (x > 0 ? 1 : alpha exp(x)) */
static inline float derivative(const float *c, float x, float y, float dy) {
  (void)y;
  return x > 0.0f ? dy : dy * c[P_ALPHA] * expf(x);
}

ELEMENTWISE_PLUGIN("elu", "2.0.0",
                   "ELU y = x > 0 ? x : alpha (exp(x) - 1), elementwise (as torch elu)",
                   LUNET_PARAMS(params))
