/*
** strbuf.h -- a growable string, and percent-encoding into it (and back).
**
** On out of memory a strbuf stops growing and sets `nomem`: the caller
** checks it once, after the last addition, and reports the failure.
*/
#ifndef LUNET_STRBUF_H
#define LUNET_STRBUF_H

#include <stddef.h>

/* Start it as {0}; free(p) when done. p is NUL-terminated once anything
** was added. */
typedef struct strbuf {
  char *p;
  size_t len, cap;
  int nomem;
} strbuf;

void sb_add(strbuf *b, const char *s, size_t n);
void sb_str(strbuf *b, const char *s);

/* Appends s with '%' and the bytes in `special` written as %XX. */
void sb_escaped(strbuf *b, const char *s, const char *special);
/* Appends s with every byte outside [A-Za-z0-9._+-] written as %XX, so
** the result is one word of plain characters. */
void sb_word(strbuf *b, const char *s);

/* Undoes either encoding in place. Returns -1 on a malformed escape ('%'
** not followed by two hex digits), which it copies as it stands. */
int percent_decode(char *s);

#endif
