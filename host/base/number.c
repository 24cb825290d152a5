/*
** number.c -- csv_format_number(); see number.h.
*/
#include "base/number.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *csv_format_number(double v, char buf[32]) {
  if (isnan(v)) return strcpy(buf, "nan");
  if (isinf(v)) return strcpy(buf, v > 0 ? "inf" : "-inf");
  if (v == floor(v) && fabs(v) <= 9007199254740992.0) { /* 2^53 */
    snprintf(buf, 32, "%.0f", v);
    return buf;
  }
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(buf, 32, "%.*g", digits, v);
    if (strtod(buf, NULL) == v) break;
  }
  return buf;
}
