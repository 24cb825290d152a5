/*
** workers.c -- memory sizes, key text and the progress display behind
** lunet.sweep; see workers.h. The worker processes themselves are
** runtime/children.c's pool.
*/
#include "sweep/workers.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/csvfile.h"
#include "base/number.h"

/* ---- limits ------------------------------------------------------------------ */

int sweep_parse_memory(const char *text, size_t *bytes) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  const char *units = "KMGT", *unit = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
  double scale = 1;
  if (unit) {
    scale = pow(1024, (double)(unit - units + 1));
    end++;
  }
  if (end == text || *end || errno || !(v > 0) || v * scale > 9.0e18) return -1;
  *bytes = (size_t)(v * scale);
  return 0;
}

/* ---- trial keys ------------------------------------------------------------ */

const char *sweep_canon(const char *text, char buf[32]) {
  char *end;
  double v;
  if (!*text) return text;
  errno = 0;
  long long i = strtoll(text, &end, 10);
  if (*end == '\0' && errno == 0) {
    snprintf(buf, 32, "%lld", i);
    return buf;
  }
  if (!csv_cell_number(text, &v)) return text;
  if (v == floor(v) && fabs(v) <= 9007199254740992.0) { /* 2^53: exact as an integer */
    snprintf(buf, 32, "%lld", (long long)v);
    return buf;
  }
  return csv_format_number(v, buf);
}

/* ---- progress ---------------------------------------------------------------- */

static void format_duration(double t, char *buf, size_t sz) {
  if (t < 60) snprintf(buf, sz, "%.0fs", t);
  else if (t < 3600) snprintf(buf, sz, "%dm%02ds", (int)t / 60, (int)t % 60);
  else snprintf(buf, sz, "%dh%02dm", (int)t / 3600, (int)t % 3600 / 60);
}

/* elapsed and ETA (from the mean time per finished trial) */
static void times(const sweep_progress *p, char el[32], char eta[32]) {
  double t = now_seconds() - p->t0;
  format_duration(t, el, 32);
  if (p->done > 0) format_duration(t / p->done * (p->total - p->done), eta, 32);
  else snprintf(eta, 32, "?");
}

static void status_line(const sweep_progress *p) {
  char el[32], eta[32];
  times(p, el, eta);
  fprintf(stderr, "\r\033[K[%d/%d] %d failed  %s elapsed  ETA %s%s%s", p->done, p->total, p->failed, el, eta,
          *p->last ? "  last " : "", p->last);
  fflush(stderr);
}

void sweep_progress_trial(sweep_progress *p, const char *key, const char *status) {
  if (p->tty) {
    status_line(p);
    return;
  }
  char el[32], eta[32];
  times(p, el, eta);
  fprintf(stderr, "[%d/%d] %s %s%s%s  (%s elapsed, ETA %s)\n", p->done, p->total, key, status, *p->last ? "  " : "",
          p->last, el, eta);
  fflush(stderr);
}

void sweep_progress_failure(const sweep_progress *p, const char *key, const char *status, const char *msg) {
  fprintf(stderr, "%ssweep: trial %s %s: %s\n", p->tty ? "\r\033[K" : "", key, status, msg);
  fflush(stderr);
}

void sweep_progress_tick(const sweep_progress *p) {
  if (p->tty) status_line(p);
}

void sweep_progress_end(const sweep_progress *p) {
  if (p->tty) {
    status_line(p);
    fputc('\n', stderr);
  }
}
