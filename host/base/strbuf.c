/*
** strbuf.c -- the growable string and percent-encoding; see strbuf.h.
** Used for the checkpoint's spec text (nn/checkpoint.c) and for sweep
** keys and trial reports (sweep/lua_keys.c, sweep/lua_report.c).
*/
#include "base/strbuf.h"

#include <stdlib.h>
#include <string.h>

void sb_add(strbuf *b, const char *s, size_t n) {
  if (b->nomem) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->nomem = 1;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static int is_plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '+' || c == '-';
}

/* special == NULL: escape every byte that is not plain. */
static void escape(strbuf *b, const char *s, const char *special) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    int esc = special ? *c == '%' || strchr(special, *c) : !is_plain(*c);
    if (esc) {
      char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
      sb_add(b, e, 3);
    } else {
      sb_add(b, (const char *)c, 1);
    }
  }
}

void sb_escaped(strbuf *b, const char *s, const char *special) { escape(b, s, special); }
void sb_word(strbuf *b, const char *s) { escape(b, s, NULL); }

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int percent_decode(char *s) {
  char *out = s;
  int rc = 0;
  for (; *s; s++) {
    int hi = *s == '%' ? hex_digit(s[1]) : -1, lo = hi < 0 ? -1 : hex_digit(s[2]);
    if (lo < 0) {
      if (*s == '%') rc = -1;
      *out++ = *s;
      continue;
    }
    *out++ = (char)(hi * 16 + lo);
    s += 2;
  }
  *out = '\0';
  return rc;
}
