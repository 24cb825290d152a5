/*
** tests/tsan/criterion/criterion.h -- a stand-in for Criterion's header, so
** that Criterion test files (tests/test_pool.c, tests/test_sweep.c) run
** unchanged under ThreadSanitizer, which Criterion itself cannot: its
** boxfort arena fails to map under TSan ("Could not initialize inheritable
** arena", Criterion issue #274). tests/tsan/meson.build puts this folder
** first on the include path; runner.c is the main().
**
** What it keeps of Criterion: Test(suite, name) and TestSuite(suite,
** .init, .fini) register functions that runner.c runs, each test in a
** forked child as Criterion does; the cr_assert and cr_expect macros the
** tests use, with their optional printf-style message. A failed assert
** ends the test, a failed expect marks it failed and goes on.
*/
#ifndef LUNET_TSAN_CRITERION_H
#define LUNET_TSAN_CRITERION_H

#include <stdio.h>
#include <string.h>

typedef struct tsan_suite {
  void (*init)(void), (*fini)(void);
  double timeout; /* accepted, not used: the CI step has its own limit */
} tsan_suite;

void tsan_add_test(const char *suite, const char *name, void (*fn)(void));
void tsan_add_suite(const char *suite, const tsan_suite *s);
void tsan_fail(int fatal, const char *file, int line, const char *cond, const char *fmt, ...);

#define Test(suite, name, ...)                                                            \
  static void suite##_##name(void);                                                       \
  __attribute__((constructor)) static void tsan_reg_##suite##_##name(void) {              \
    tsan_add_test(#suite, #name, suite##_##name);                                         \
  }                                                                                       \
  static void suite##_##name(void)

#define TestSuite(suite, ...)                                                             \
  static const tsan_suite tsan_suite_##suite = {__VA_ARGS__};                             \
  __attribute__((constructor)) static void tsan_reg_suite_##suite(void) {                 \
    tsan_add_suite(#suite, &tsan_suite_##suite);                                          \
  }

/* The message, when given, is printf-style after the condition. */
#define TSAN_CHECK_(fatal, cond, text, ...) \
  do { if (!(cond)) tsan_fail(fatal, __FILE__, __LINE__, text, "" __VA_ARGS__); } while (0)

#define cr_assert(c, ...) TSAN_CHECK_(1, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...) TSAN_CHECK_(0, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) TSAN_CHECK_(1, !(c), "!" #c, __VA_ARGS__)
#define cr_expect_not(c, ...) TSAN_CHECK_(0, !(c), "!" #c, __VA_ARGS__)
#define cr_assert_fail(...) TSAN_CHECK_(1, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_assert_null(p, ...) TSAN_CHECK_(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) TSAN_CHECK_(0, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) TSAN_CHECK_(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) TSAN_CHECK_(0, (p) != NULL, #p " != NULL", __VA_ARGS__)

/* The comparisons: cr_assert_OP and cr_expect_OP for OP in eq, neq, lt,
** leq, gt, geq, and for C strings str_eq and str_neq. */
#define TSAN_CMP_(fatal, a, op, b, ...) TSAN_CHECK_(fatal, (a) op (b), #a " " #op " " #b, __VA_ARGS__)
#define cr_assert_eq(a, b, ...) TSAN_CMP_(1, a, ==, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) TSAN_CMP_(0, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) TSAN_CMP_(1, a, !=, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) TSAN_CMP_(0, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) TSAN_CMP_(1, a, <, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) TSAN_CMP_(0, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) TSAN_CMP_(1, a, <=, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) TSAN_CMP_(0, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) TSAN_CMP_(1, a, >, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) TSAN_CMP_(0, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) TSAN_CMP_(1, a, >=, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) TSAN_CMP_(0, a, >=, b, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) TSAN_CHECK_(1, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) TSAN_CHECK_(0, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) TSAN_CHECK_(1, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) TSAN_CHECK_(0, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)

#endif
