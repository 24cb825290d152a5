/*
** test_landscape.c -- what tests/lua/landscape.lua cannot reach without a
** GPU: lunet.landscape and lunet.interpolate refuse a model that runs on
** one, naming it and the way out, instead of drawing every point at the
** solution (a point is written into the host's flat buffer, which a model
** on a GPU does not read) or laying directions out by device addresses.
*/
#include <string.h>

#include <criterion/criterion.h>

#include "nn/landscape.h"
#include "runtime/services.h"

/* One sample of one float: enough for the model to be asked to take it. */
static dataset one_sample(void) {
  dataset ds = {.info = {.size = sizeof(lunet_dataset_info), .n = 1, .n_inputs = 1}};
  ds.info.input[0] = (lunet_shape){1, {1}};
  ds.info.target = (lunet_shape){1, {1}};
  strcpy(ds.name, "data");
  return ds;
}

static void assert_refused(int rc, const char *which) {
  const char *msg = services_last_error();
  cr_assert_eq(rc, -1);
  cr_assert(strstr(msg, which) && strstr(msg, "GPU") && strstr(msg, "model:to(\"cpu\")"),
            "message: %s", msg);
}

Test(landscape, a_plane_around_a_model_on_a_gpu_is_refused) {
  /* only the device field is read: no GPU is needed to see the refusal */
  model *m = model_new(1, 1);
  m->device = LUNET_CUDA;
  dataset ds = one_sample();
  landscape_grid g = {1.0, 3, 1};
  landscape_point p[9];
  float d[1] = {0};
  assert_refused(landscape_accepts(m, &ds), "the model");
  assert_refused(landscape_plane(m, &ds, NULL, d, d, &g, p), "the model");
  m->device = LUNET_CPU; /* it holds nothing on a GPU to free */
  model_free(m);
}

Test(landscape, a_line_from_a_model_on_a_gpu_is_refused) {
  model *from = model_new(1, 1), *to = model_new(1, 1);
  from->device = LUNET_CUDA;
  dataset ds = one_sample();
  landscape_point p[3];
  assert_refused(landscape_line(from, to, &ds, NULL, 0, 1, 3, 1, p), "'from'");
  from->device = LUNET_CPU;
  model_free(from);
  model_free(to);
}
