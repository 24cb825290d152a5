/*
** landscape.c -- loss landscapes (Li et al. 2018): random filter-normalised
** directions, the loss over a plane around a solution and along the line
** between two; see landscape.h.
**
** Everything works on the flat buffer of trained values (weights.h): a
** direction is one float per trained value, a point of the landscape is
** written into ws.values, evaluated, and the solution copied back at the end
** (weights_snapshot, which also keeps the buffers).
*/
#include "nn/landscape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "runtime/services.h"

static double norm2(const float *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += (double)v[i] * v[i];
  return sqrt(s);
}

static void scale(float *v, int64_t n, double by) {
  for (int64_t i = 0; i < n; i++) v[i] = (float)(v[i] * by);
}

/* d_f <- d_f |theta_f| / |d_f| for each filter f (a slice along dim 0) of
** parameter w, theta and d pointing at its values in the flat buffers; a
** 1-D parameter gets d = 0 (Li et al. leave biases and batchnorm out). */
static void normalise_filters(const weight *w, const float *theta, float *d) {
  const lunet_shape *s = &w->value->shape;
  int64_t n = lunet_numel(s);
  if (s->ndim < 2) {
    memset(d, 0, sizeof(float) * (size_t)n);
    return;
  }
  int64_t rows = s->dim[0], cols = n / rows;
  for (int64_t r = 0; r < rows; r++) {
    double nd = norm2(d + r * cols, cols), nt = norm2(theta + r * cols, cols);
    scale(d + r * cols, cols, nd > 0 ? nt / nd : 0.0);
  }
}

void landscape_direction(const weights *ws, lunet_rng *rng, int filter_norm, float *d) {
  for (int64_t i = 0; i < ws->n_trained; i++) d[i] = (float)rng_normal(rng);
  if (!filter_norm) {
    double nd = norm2(d, ws->n_trained);
    scale(d, ws->n_trained, nd > 0 ? norm2(ws->values, ws->n_trained) / nd : 0.0);
    return;
  }
  for (int i = 0; i < ws->n; i++) {
    const weight *w = &ws->w[i];
    if (!w->grad) continue; /* a buffer: not in the flat trained values */
    int64_t at = w->value->f32 - ws->values;
    normalise_filters(w, ws->values + at, d + at);
  }
}

double landscape_coord(double lo, double hi, int i, int steps) {
  if (i == 0) return lo;
  if (i == steps - 1) return hi;
  /* lo + (hi - lo) i / (steps - 1), written so that the middle of a
  ** symmetric range comes out as exactly 0 */
  return (lo * (steps - 1 - i) + hi * i) / (steps - 1);
}

/* theta + a d1 + b d2 into values (d2 may be NULL). */
static void move_to(float *values, const float *theta, const float *d1, const float *d2, double a,
                    double b, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    values[i] = (float)(theta[i] + a * d1[i] + (d2 ? b * d2[i] : 0.0));
}

static int evaluate_at(model *m, dataset *ds, const loss_fn *lf, int batch, landscape_point *p) {
  metrics mt;
  if (evaluate(m, ds, lf, batch, &mt)) return -1;
  p->loss = mt.loss;
  p->error = mt.error;
  return 0;
}

/* 0 if m's landscape can be drawn on ds, else -1 with services_error(). A
** point is written straight into the host's flat buffer, and directions are
** laid out by the tensors' addresses in it: on a GPU the tensors point at
** the device's copies, and every point would silently be the solution. */
static int accepts(model *m, dataset *ds, const char *which) {
  if (m->device != LUNET_CPU) {
    services_error("loss landscape: %s runs on a GPU, expected the CPU (landscapes are drawn on "
                   "the host's copy of the weights for now); hint: model:to(\"cpu\") first", which);
    return -1;
  }
  return model_accepts(m, ds);
}

int landscape_accepts(model *m, dataset *ds) { return accepts(m, ds, "the model"); }

static float *alloc_floats(int64_t n, const char *what) {
  float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  if (!v) services_error("out of memory for %s (%lld floats)", what, (long long)n);
  return v;
}

int landscape_plane(model *m, dataset *ds, const loss_fn *lf, const float *d1, const float *d2,
                    const landscape_grid *g, landscape_point *out) {
  if (accepts(m, ds, "the model")) return -1;
  weights *ws = &m->ws;
  float *theta = alloc_floats(ws->n_trained + ws->n_buffers, "the solution's copy");
  if (!theta) return -1;
  int rc = weights_snapshot(ws, theta, 0), rows = d2 ? g->steps : 1;
  if (rc) {
    free(theta);
    return -1;
  }
  for (int j = 0; j < rows && rc == 0; j++)
    for (int i = 0; i < g->steps && rc == 0; i++) {
      landscape_point *p = &out[j * g->steps + i];
      p->a = landscape_coord(-g->span, g->span, i, g->steps);
      p->b = d2 ? landscape_coord(-g->span, g->span, j, g->steps) : 0.0;
      move_to(ws->values, theta, d1, d2, p->a, p->b, ws->n_trained);
      rc = evaluate_at(m, ds, lf, g->batch, p);
    }
  if (weights_snapshot(ws, theta, 1)) rc = -1;
  free(theta);
  return rc;
}

/* 0 if `to` has m's parameters (names, shapes, trained or not), else -1
** naming the first difference. */
static int same_parameters(const model *m, const model *to) {
  if (m->ws.n != to->ws.n) {
    services_error("the two models have %d and %d parameter tensors; expected the same network",
                   m->ws.n, to->ws.n);
    return -1;
  }
  for (int i = 0; i < m->ws.n; i++) {
    const weight *a = &m->ws.w[i], *b = &to->ws.w[i];
    if (strcmp(a->name, b->name) != 0 || !lunet_same_shape(&a->value->shape, &b->value->shape) ||
        !a->grad != !b->grad) {
      char sa[64], sb[64];
      shape_format(&a->value->shape, sa, sizeof sa);
      shape_format(&b->value->shape, sb, sizeof sb);
      services_error("parameter %d differs between the two models ('%s' %s%s against '%s' %s%s); "
                     "expected the same network", i + 1, a->name, sa, a->grad ? "" : " (a buffer)",
                     b->name, sb, b->grad ? "" : " (a buffer)");
      return -1;
    }
  }
  return 0;
}

/* (1 - a) x0 + a x1, exact at a = 0 and a = 1. */
static void mix(float *out, const float *x0, const float *x1, double a, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = (float)((1 - a) * x0[i] + a * x1[i]);
}

int landscape_line(model *m, model *to, dataset *ds, const loss_fn *lf, double lo, double hi,
                   int steps, int batch, landscape_point *out) {
  if (accepts(m, ds, "'from'") || accepts(to, ds, "'to'") || same_parameters(m, to)) return -1;
  weights *ws = &m->ws;
  int64_t n = ws->n_trained, nb = ws->n_buffers;
  float *theta0 = alloc_floats(n + nb, "the first solution"), *theta1 = alloc_floats(n + nb, "the second solution");
  int rc = theta0 && theta1 && !weights_snapshot(ws, theta0, 0) && !weights_snapshot(&to->ws, theta1, 0) ? 0 : -1;
  if (rc == 0) {
    for (int i = 0; i < steps && rc == 0; i++) {
      landscape_point *p = &out[i];
      p->a = landscape_coord(lo, hi, i, steps);
      p->b = 0;
      mix(ws->values, theta0, theta1, p->a, n);
      mix(ws->buffers, theta0 + n, theta1 + n, p->a < 0 ? 0 : p->a > 1 ? 1 : p->a, nb);
      rc = evaluate_at(m, ds, lf, batch, p);
    }
    if (weights_snapshot(ws, theta0, 1)) rc = -1;
  }
  free(theta0);
  free(theta1);
  return rc;
}
