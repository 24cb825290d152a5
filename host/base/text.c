/*
** text.c -- shape text and choice lists; see text.h.
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
