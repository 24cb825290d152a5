/*
** spool.c -- a Slurm task's finished trials, one file each; see spool.h.
**
** A record is a few "name<TAB>value" lines (values percent-escaped), an
** empty line, then the worker's report as it came through the pipe:
**
**   lunet-trial 1
**   key     lr=0.1,seed=1
**   trial   3
**   wait    0
**   seconds 1.25
**   timeout 0
**   task    4711_3
**
**   T  1.250000 ...
*/
#include "sweep/spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/syncdir.h"

#define MAGIC "lunet-trial 1\n"

int spool_write_file(const char *path, const char *data, size_t len, char *err, size_t sz) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    snprintf(err, sz, "cannot create %s: %s", tmp, strerror(errno));
    return -1;
  }
  int bad = fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0;
  int e = errno;
  if (fclose(f) != 0 && !bad) bad = 1, e = errno; /* a late write error (NFS) shows here */
  if (!bad && rename(tmp, path) == 0) {
    sync_dir_of(path);
    return 0;
  }
  if (!bad) e = errno;
  unlink(tmp);
  snprintf(err, sz, "cannot write %s: %s", path, strerror(e));
  return -1;
}

static void put_field(strbuf *b, const char *name, const char *value) {
  sb_str(b, name);
  sb_str(b, "\t");
  sb_escaped(b, value, "\t\n\r");
  sb_str(b, "\n");
}

int spool_put(const char *dir, const spool_record *r, char *err, size_t sz) {
  char num[5][64], path[4200];
  snprintf(num[0], 64, "%d", r->trial);
  snprintf(num[1], 64, "%d", r->wstatus);
  snprintf(num[2], 64, "%.6f", r->seconds);
  snprintf(num[3], 64, "%g", r->timeout);
  strbuf b = {0};
  sb_str(&b, MAGIC);
  put_field(&b, "key", r->key);
  put_field(&b, "trial", num[0]);
  put_field(&b, "wait", num[1]);
  put_field(&b, "seconds", num[2]);
  put_field(&b, "timeout", num[3]);
  put_field(&b, "task", r->task);
  sb_str(&b, "\n");
  sb_add(&b, r->report, r->report_len);
  snprintf(path, sizeof path, "%s/%d.%s.trial", dir, r->trial, r->task);
  int rc = b.nomem ? -1 : spool_write_file(path, b.p, b.len, err, sz);
  if (b.nomem) snprintf(err, sz, "out of memory");
  free(b.p);
  return rc;
}

/* Sets the field of r that `name` names from its (decoded) value. */
static int set_field(spool_record *r, const char *name, char *value) {
  if (percent_decode(value)) return -1;
  if (strcmp(name, "key") == 0) r->key = value;
  else if (strcmp(name, "task") == 0) r->task = value;
  else if (strcmp(name, "trial") == 0) r->trial = atoi(value);
  else if (strcmp(name, "wait") == 0) r->wstatus = atoi(value);
  else if (strcmp(name, "seconds") == 0) r->seconds = strtod(value, NULL);
  else if (strcmp(name, "timeout") == 0) r->timeout = strtod(value, NULL);
  return 0;
}

int spool_parse(char *text, size_t len, spool_record *r) {
  char *p = text, *end = text + len;
  *r = (spool_record){0};
  int ok = strncmp(p, MAGIC, strlen(MAGIC)) == 0;
  if (ok) p += strlen(MAGIC);
  while (ok && p < end && *p != '\n') {
    char *nl = memchr(p, '\n', (size_t)(end - p)), *tab = strchr(p, '\t');
    if (!nl || !tab || tab > nl) ok = 0;
    else {
      *nl = *tab = '\0';
      ok = set_field(r, p, tab + 1) == 0;
      p = nl + 1;
    }
  }
  if (!ok || p >= end || !r->key || !r->task) return -1;
  r->report = p + 1;
  r->report_len = (size_t)(end - p - 1);
  return 0;
}
