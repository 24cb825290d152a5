/*
** tanh.c -- the hyperbolic tangent, y = tanh(x), elementwise.
**
** No parameters; the output has the shape of the input (elementwise.h holds
** the loops). Backward needs only the saved output, since tanh'(x) = 1 - y^2.
*/
#include "elementwise.h"

/* y = tanh(x) */
static inline float activation(const float *c, float x) {
  (void)c;
  return tanhf(x);
}

/* dx = dy * (1 - y^2) */
static inline float derivative(const float *c, float x, float y, float dy) {
  (void)c, (void)x;
  return dy * (1.0f - y * y);
}

ELEMENTWISE_PLUGIN("tanh", "2.0.0", "hyperbolic tangent y = tanh(x), elementwise", LUNET_NO_PARAMS)
