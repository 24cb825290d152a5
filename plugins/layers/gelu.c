/*
** gelu.c -- the Gaussian error linear unit, y = x Phi(x), elementwise.
**
** Phi is the standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2: the
** exact form of torch.nn.GELU() (approximate = 'none'), not the tanh
** approximation. The output has the shape of the input (elementwise.h holds
** the loops). Backward reads the input: dy/dx = Phi(x) + x phi(x), phi the
** normal density.
*/
#include "elementwise.h"

#define GELU_RSQRT2 0.70710678118654752f    /* 1 / sqrt(2) */
#define GELU_RSQRT2PI 0.39894228040143268f  /* 1 / sqrt(2 pi) */

/* y = x (1 + erf(x / sqrt 2)) / 2 */
static inline float activation(const float *c, float x) {
  (void)c;
  return 0.5f * x * (1.0f + erff(x * GELU_RSQRT2));
}

/* dx = dy (Phi(x) + x exp(-x^2 / 2) / sqrt(2 pi)) */
static inline float derivative(const float *c, float x, float y, float dy) {
  (void)c, (void)y;
  float phi = GELU_RSQRT2PI * expf(-0.5f * x * x);
  return dy * (0.5f * (1.0f + erff(x * GELU_RSQRT2)) + x * phi);
}

ELEMENTWISE_PLUGIN("gelu", "2.0.0", "GELU y = x Phi(x), elementwise (exact erf form, torch GELU)",
                   LUNET_NO_PARAMS)
