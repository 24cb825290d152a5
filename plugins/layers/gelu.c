/*
** gelu.c -- the Gaussian error linear unit, y = x Phi(x), elementwise.
**
** Phi is the standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2: the
** exact form of torch.nn.GELU() (approximate = 'none'), not the tanh
** approximation. The output has the shape of the input (elementwise.h holds
** the loops). Backward reads the input: dy/dx = Phi(x) + x phi(x), phi the
** normal density.
**
** erf is gelu_erf below, not libm's erff: a call the compiler cannot
** vectorize, and the largest cost of a transformer step after the GEMMs.
** gelu_erf is the rational approximation of Eigen and XLA (float erf:
** x P(x^2) / Q(x^2) on x clamped to [-4, 4], where erf is 1 to float32's
** precision); measured against float64 erf its largest error is 4.5e-7
** (tests/test_attention.c checks < 1e-6). Plain arithmetic and a clamp: the
** loops of elementwise.h vectorize it; so does the density's exp, which is
** fastmath.h's. gelu.cu keeps CUDA's erff and expf.
*/
#include "elementwise.h"
#include "fastmath.h"

#define GELU_RSQRT2 0.70710678118654752f    /* 1 / sqrt(2) */
#define GELU_RSQRT2PI 0.39894228040143268f  /* 1 / sqrt(2 pi) */

/* erf(x) ~ x P(x^2) / Q(x^2), |error| < 5e-7 */
static inline float gelu_erf(float x) {
  static const float p[7] = {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f,
                             -5.69250639462346e-05f, -7.34990630326855e-04f, -2.95459980854025e-03f,
                             -1.60960333262415e-02f};
  static const float q[5] = {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f,
                             -7.37332916720468e-03f, -1.42647390514189e-02f};
  x = x < -4.0f ? -4.0f : x > 4.0f ? 4.0f : x;
  float x2 = x * x, num = p[0], den = q[0];
  for (int i = 1; i < 7; i++) num = num * x2 + p[i];
  for (int i = 1; i < 5; i++) den = den * x2 + q[i];
  return x * num / den;
}

/* y = x (1 + erf(x / sqrt 2)) / 2 */
static inline float activation(const float *c, float x) {
  (void)c;
  return 0.5f * x * (1.0f + gelu_erf(x * GELU_RSQRT2));
}

/* dx = dy (Phi(x) + x exp(-x^2 / 2) / sqrt(2 pi)) */
static inline float derivative(const float *c, float x, float y, float dy) {
  (void)c, (void)y;
  float phi = GELU_RSQRT2PI * fast_exp(-0.5f * x * x);
  return dy * (0.5f * (1.0f + gelu_erf(x * GELU_RSQRT2)) + x * phi);
}

ELEMENTWISE_PLUGIN("gelu", "2.1.0", "GELU y = x Phi(x), elementwise (exact erf form, torch GELU)",
                   LUNET_NO_PARAMS)
