/*
** swish.c -- the swish function, y = x sigmoid(beta x), elementwise.
**
** With beta = 1 this is torch.nn.functional.silu(x); beta is fixed, not
** learned. The output has the shape of the input (elementwise.h holds the
** loops). Backward reads the input and recomputes s = sigmoid(beta x):
** dy/dx = s + beta x s (1 - s). For beta x below about -88, expf overflows
** to +inf and s becomes exactly 0, the right limit (as in sigmoid.c).
*/
#include "elementwise.h"

enum { P_BETA };

static const lunet_param_decl params[] = {
  [P_BETA] = {"beta", LUNET_NUMBER, 1.0, -1e3, 1e3, NULL, NULL,
              "slope inside the sigmoid; 1 gives SiLU", 0},
};

/* y = x / (1 + exp(-beta x)) */
static inline float activation(const float *c, float x) {
  return x / (1.0f + expf(-c[P_BETA] * x));
}

/* dx = dy * (s + beta x s (1 - s)),  s = sigmoid(beta x) */
static inline float derivative(const float *c, float x, float y, float dy) {
  float beta = c[P_BETA], s = 1.0f / (1.0f + expf(-beta * x));
  (void)y;
  return dy * (s + beta * x * s * (1.0f - s));
}

ELEMENTWISE_PLUGIN("swish", "2.0.0",
                   "swish y = x sigmoid(beta x), elementwise (beta = 1: torch silu)",
                   LUNET_PARAMS(params))
