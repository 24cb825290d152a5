/*
** runner.c -- main() of the ThreadSanitizer runs of Criterion test files
** (see criterion/criterion.h beside it): runs every registered test in a
** forked child, with its suite's init and fini around it, and exits 1 if
** any failed. A TSan report fails the child (TSAN_OPTIONS exitcode, or
** halt_on_error), hence the test. Arguments name tests to skip.
*/
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 64
#define MAX_SUITES 8

static struct { const char *suite, *name; void (*fn)(void); } tests[MAX_TESTS];
static struct { const char *name; const tsan_suite *s; } suites[MAX_SUITES];
static int n_tests, n_suites, failed_here;

void tsan_add_test(const char *suite, const char *name, void (*fn)(void)) {
  if (n_tests == MAX_TESTS) abort();
  tests[n_tests].suite = suite, tests[n_tests].name = name, tests[n_tests++].fn = fn;
}

void tsan_add_suite(const char *suite, const tsan_suite *s) {
  if (n_suites == MAX_SUITES) abort();
  suites[n_suites].name = suite, suites[n_suites++].s = s;
}

void tsan_fail(int fatal, const char *file, int line, const char *cond, const char *fmt, ...) {
  fprintf(stderr, "%s:%d: failed: %s", file, line, cond);
  if (*fmt) {
    va_list ap;
    va_start(ap, fmt);
    fputs(": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
  }
  fputc('\n', stderr);
  failed_here = 1;
  if (fatal) exit(1);
}

static const tsan_suite *suite_of(const char *name) {
  for (int i = 0; i < n_suites; i++)
    if (strcmp(suites[i].name, name) == 0) return suites[i].s;
  return NULL;
}

/* The test in this (child) process: 0 when it passed. */
static int run_here(int i) {
  const tsan_suite *s = suite_of(tests[i].suite);
  if (s && s->init) s->init();
  tests[i].fn();
  if (s && s->fini) s->fini();
  return failed_here;
}

static int skipped(const char *name, int argc, char **argv) {
  for (int k = 1; k < argc; k++)
    if (strcmp(argv[k], name) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  int failed = 0;
  for (int i = 0; i < n_tests; i++) {
    if (skipped(tests[i].name, argc, argv)) {
      printf("[SKIP] %s::%s\n", tests[i].suite, tests[i].name);
      continue;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) exit(run_here(i));
    int st;
    waitpid(pid, &st, 0);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("[%s] %s::%s\n", ok ? "PASS" : "FAIL", tests[i].suite, tests[i].name);
    failed += !ok;
  }
  printf("%d tests, %d failed\n", n_tests, failed);
  return failed != 0;
}
