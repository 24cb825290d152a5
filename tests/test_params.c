/*
** test_params.c -- parameter validation: defaults, and errors that name the
** plugin, the parameter and what was expected.
*/
#include <criterion/criterion.h>
#include <string.h>

#include "params.h"
#include "registry.h"
#include "services.h"

static const lunet_plugin *dense(void) {
  registry_init();
  const plugin_entry *e = registry_find(LUNET_LAYER, "dense");
  cr_assert_not_null(e, "dense plugin not found: %s", services_last_error());
  return e->desc;
}

static void expect_error(const param_given *g, int n, const char *const *needles) {
  param_values pv;
  int rc = params_resolve(dense(), g, n, &pv);
  params_free(&pv);
  cr_assert_neq(rc, 0, "params_resolve accepted bad input");
  for (int i = 0; needles[i]; i++)
    cr_expect(strstr(services_last_error(), needles[i]), "error '%s' lacks '%s'", services_last_error(),
              needles[i]);
}

Test(params, defaults_fill_what_is_not_given) {
  param_given g[] = {{"out", LUNET_NUMBER, 7, NULL}};
  param_values pv;
  cr_assert_eq(params_resolve(dense(), g, 1, &pv), 0, "%s", services_last_error());
  cr_expect_eq(pv.v[0].num, 7);           /* out */
  cr_expect_str_eq(pv.v[1].str, "he");    /* init */
  cr_expect_eq(pv.v[3].num, 1);           /* bias */
  params_free(&pv);
}

Test(params, unknown_name_lists_the_known_ones) {
  param_given g[] = {{"out", LUNET_NUMBER, 7, NULL}, {"outs", LUNET_NUMBER, 7, NULL}};
  expect_error(g, 2, (const char *const[]){"dense", "unknown parameter 'outs'", "known: out", NULL});
}

Test(params, wrong_type_names_the_expected_type) {
  param_given g[] = {{"out", LUNET_STRING, 0, "wide"}};
  expect_error(g, 1, (const char *const[]){"dense", "'out'", "expects an int", "'wide'", NULL});
  param_given b[] = {{"out", LUNET_NUMBER, 3, NULL}, {"bias", LUNET_NUMBER, 1, NULL}};
  expect_error(b, 2, (const char *const[]){"dense", "'bias'", "expects a bool", NULL});
}

Test(params, non_integral_int_is_refused) {
  param_given g[] = {{"out", LUNET_NUMBER, 2.5, NULL}};
  expect_error(g, 1, (const char *const[]){"dense", "'out'", "2.5", NULL});
}

Test(params, out_of_range_names_the_range) {
  param_given g[] = {{"out", LUNET_NUMBER, 0, NULL}};
  expect_error(g, 1, (const char *const[]){"dense", "'out'", "[1, 16777216]", "got 0", NULL}); /* not 1.67772e+07 */
}

Test(params, string_outside_choices_lists_them) {
  param_given g[] = {{"out", LUNET_NUMBER, 3, NULL}, {"init", LUNET_STRING, 0, "glorot"}};
  expect_error(g, 2, (const char *const[]){"dense", "'init'", "he|xavier|normal", "'glorot'", NULL});
}

Test(params, required_parameter_must_be_given) {
  expect_error(NULL, 0, (const char *const[]){"dense", "'out'", "required", NULL});
}
