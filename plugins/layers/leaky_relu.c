/*
** leaky_relu.c -- the leaky rectified linear unit, y = x for x > 0, else slope x.
**
** As torch.nn.functional.leaky_relu(x, negative_slope = slope), elementwise;
** the output has the shape of the input (elementwise.h holds the loops).
** Backward reads the input, not the output, so any slope (even a negative
** one) works; the derivative at exactly 0 is taken as slope, as PyTorch
** does.
*/
#include "elementwise.h"

enum { P_SLOPE };

static const lunet_param_decl params[] = {
  [P_SLOPE] = {"slope", LUNET_NUMBER, 0.01, -1e6, 1e6, NULL, NULL,
               "factor for x <= 0 (PyTorch's negative_slope)", 0},
};

/* y = x > 0 ? x : slope x */
static inline float activation(const float *c, float x) {
  return x > 0.0f ? x : c[P_SLOPE] * x;
}

/* dx = dy * (x > 0 ? 1 : slope) */
static inline float derivative(const float *c, float x, float y, float dy) {
  (void)y;
  return x > 0.0f ? dy : c[P_SLOPE] * dy;
}

ELEMENTWISE_PLUGIN("leaky_relu", "2.0.0",
                   "leaky ReLU y = x > 0 ? x : slope x, elementwise (as torch leaky_relu)",
                   LUNET_PARAMS(params))
