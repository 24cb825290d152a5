/*
** landscape.h -- the loss along a line or over a plane through parameter
** space, the pictures of Li et al. 2018 ("Visualizing the loss landscape of
** neural nets"):
**
**   - a plane around a solution theta: L(theta + a d1 + b d2) for random
**     Gaussian directions d1, d2, filter-normalised (each filter of d scaled
**     to the norm of the same filter of theta; biases and other 1-D
**     parameters left out, d = 0 there);
**   - the line between two solutions: L((1 - a) theta0 + a theta1).
**
** Both run evaluate() (eval mode) at every point on the model's own flat
** parameter buffer (weights.h) and restore it afterwards.
*/
#ifndef LUNET_LANDSCAPE_H
#define LUNET_LANDSCAPE_H

#include "nn/eval.h"

typedef struct landscape_point {
  double a, b;         /* coordinates; b = 0 on a line */
  double loss, error;  /* error is NaN for regression */
} landscape_point;

typedef struct landscape_grid {
  double span;         /* each coordinate runs over [-span, span] */
  int steps;           /* points per coordinate, >= 2 */
  int batch;           /* of evaluate() */
} landscape_grid;

/* 0 if the landscape of m can be drawn on ds: m takes ds (it is built
** then) and runs on the CPU; else -1 with services_error(). */
int landscape_accepts(model *m, dataset *ds);

/* A random direction d (ws->n_trained floats, laid out as ws->values):
** N(0, 1) entries, then with filter_norm each filter of a parameter of two
** or more dimensions (a slice along its first dimension: an output row of
** a dense weight (out, in), an output channel of a conv weight (K, C, k, k))
** scaled to the norm of the same slice of the current values, and 1-D
** parameters (biases, norm scales and shifts) zeroed; without filter_norm
** the whole d is scaled to the norm of all values. */
void landscape_direction(const weights *ws, lunet_rng *rng, int filter_norm, float *d);

/* The coordinate of point i of `steps` over [lo, hi]: exact at both ends,
** and 0 at the middle of a symmetric range with an odd count. */
double landscape_coord(double lo, double hi, int i, int steps);

/* Evaluates the model at theta + a d1 + b d2 on the g->steps^2 points of
** [-span, span]^2 into out (b outer, a inner), theta being its current
** values, which are restored; with d2 NULL on the g->steps points of the
** line theta + a d1 (b = 0). The model must be built (the directions are
** laid out as its ws.values) and on the CPU (landscape_accepts). 0, or -1
** with services_error(). */
int landscape_plane(model *m, dataset *ds, const loss_fn *lf, const float *d1, const float *d2,
                    const landscape_grid *g, landscape_point *out);

/* Evaluates, for `steps` values of a over [lo, hi], the model m with the
** values (1 - a) theta0 + a theta1, theta0 being m's own and theta1 those of
** `to` (same parameter names and shapes). Buffers (batchnorm's running
** statistics) are interpolated with a clamped to [0, 1], so that they stay
** valid. m is restored. 0, or -1 with services_error(). */
int landscape_line(model *m, model *to, dataset *ds, const loss_fn *lf, double lo, double hi,
                   int steps, int batch, landscape_point *out);

#endif
