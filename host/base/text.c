/*
** text.c -- shape text, choice lists and option values; see text.h.
*/
#include "base/text.h"

#include <stdio.h>
#include <string.h>

void shape_format(const lunet_shape *s, char *buf, size_t sz) {
  size_t len = (size_t)snprintf(buf, sz, "(");
  for (int i = 0; i < s->ndim && len < sz; i++)
    len += (size_t)snprintf(buf + len, sz - len, "%s%d", i ? ", " : "", s->dim[i]);
  if (len < sz) snprintf(buf + len, sz - len, ")");
}

int in_choices(const char *choices, const char *s) {
  size_t n = strlen(s);
  for (const char *c = choices; c && *c;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, s, n) == 0) return 1;
    c = bar ? bar + 1 : NULL;
  }
  return 0;
}

const char *option_value(int argc, char **argv, int *i, const char *name, int *missing) {
  size_t len = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, len) != 0) return NULL;
  if (a[len] == '=') return a + len + 1;
  if (a[len] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}
