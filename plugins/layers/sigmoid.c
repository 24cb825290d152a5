/*
** sigmoid.c -- the logistic function, y = 1 / (1 + exp(-x)), elementwise.
**
** No parameters; the output has the shape of the input (elementwise.h holds
** the loops). Backward needs only the saved output, since sigmoid'(x) =
** y (1 - y). For x below about -88, expf(-x) overflows to +inf and y
** becomes exactly 0, which is the right limit.
*/
#include "elementwise.h"

/* y = 1 / (1 + exp(-x)) */
static inline float activation(const float *c, float x) {
  (void)c;
  return 1.0f / (1.0f + expf(-x));
}

/* dx = dy * y (1 - y) */
static inline float derivative(const float *c, float x, float y, float dy) {
  (void)c, (void)x;
  return dy * y * (1.0f - y);
}

ELEMENTWISE_PLUGIN("sigmoid", "2.0.0", "logistic function y = 1 / (1 + exp(-x)), elementwise",
                   LUNET_NO_PARAMS)
