/*
** spool.h -- the files through which the tasks of a Slurm job array hand
** finished trials to the process that submitted it. No Lua here.
**
** A task writes each finished trial to a file of its own in the spool
** folder (OUT.spool/, beside the results file): written under a temporary
** name, fsynced, then renamed to "<trial>.<job>_<task>.trial" and the
** folder fsynced. A rename within a folder is atomic on a local file system
** and on NFS alike, so the submitter sees a whole record or none, and no
** two writers ever share a file: nothing depends on file locks.
**
** The submitter merges a record into the results file by key, then deletes
** it. A row already in the results file is never added again, so a record
** left behind by a kill between the two steps, or a trial that two tasks
** both ran, still gives one row.
*/
#ifndef LUNET_SPOOL_H
#define LUNET_SPOOL_H

#include <stddef.h>

/* One finished trial, as the worker pool reported it. */
typedef struct spool_record {
  const char *key;      /* the trial's key */
  int trial;            /* its index in the sweep */
  int wstatus;          /* as from waitpid */
  double seconds;       /* wall time */
  double timeout;       /* > 0: killed at this timeout */
  const char *task;     /* "<job>_<task>", for messages */
  const char *report;   /* the worker's report (lua_report.c) */
  size_t report_len;
} spool_record;

/* Writes data[0..len) to `path` atomically: "path.tmp.<pid>", fsync,
** rename, fsync of the folder. 0, or -1 with err set. */
int spool_write_file(const char *path, const char *data, size_t len, char *err, size_t sz);

/* Writes r as "<dir>/<trial>.<task>.trial". 0, or -1 with err set. */
int spool_put(const char *dir, const spool_record *r, char *err, size_t sz);

/* Parses the record text[0..len) (text[len] == '\0') in place: r's
** strings point into it. Returns 0, or -1 when it is not a record. */
int spool_parse(char *text, size_t len, spool_record *r);

#endif
