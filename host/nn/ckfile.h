/*
** ckfile.h -- the envelope every lunet state file shares: a model
** checkpoint (checkpoint.c) and a training checkpoint (resume.c).
**
**   offset  size  field
**   0       8     magic ("LUNETCKP", "LUNETRUN")
**   8       4     format version
**   12      8     size of the whole file in bytes, checksum included, so
**                 that a truncated file is told apart from a damaged one
**   20      ...   the body, written by the format's own code
**   size-4  4     CRC32 (zlib's crc32) of every byte before it
**
** Integers are unsigned little-endian, floats IEEE little-endian (the
** in-memory bytes on the hosts lunet runs on; a big-endian host swaps).
** Saving writes "path.tmp.PID", fsyncs it and renames it over `path`: a
** crash leaves the old file or the new one, never half of one, and two
** processes saving one path (two runs of one trial) each rename a whole file
** of their own. A format with
** sync_dir also fsyncs the folder, so that the rename itself survives a
** power loss once ck_save returns.
** Loading reads the whole file and checks magic, version, size and CRC, in
** that order, before a byte of the body is parsed.
*/
#ifndef LUNET_CKFILE_H
#define LUNET_CKFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CKFILE_HEADER 20 /* magic, version, file size */

typedef struct ckformat {
  const char *magic;       /* 8 bytes */
  uint32_t oldest, newest; /* versions read; `newest` is the one written */
  const char *kind;        /* for messages: "checkpoint" */
  const char *made_by;     /* for messages: "model:save()" */
  int sync_dir;            /* fsync the folder after the rename (see ck_save) */
} ckformat;

/* Bytes out, into the running CRC. With f NULL it only counts them (the
** sizing pass). The first failed write is kept in err and later ones skip. */
typedef struct ckwriter {
  FILE *f;
  uint64_t n;   /* bytes put so far */
  uint32_t crc;
  int err;      /* errno of the first failed write, 0 while all is well */
} ckwriter;

void ck_put_bytes(ckwriter *w, const void *p, size_t n);
void ck_put_u32(ckwriter *w, uint32_t v);
void ck_put_u64(ckwriter *w, uint64_t v);
void ck_put_f64(ckwriter *w, double v);
void ck_put_floats(ckwriter *w, const float *x, int64_t n);
void ck_put_i64s(ckwriter *w, const int64_t *x, int64_t n);
void ck_put_str(ckwriter *w, const char *s); /* u32 length, then the bytes */

/* Writes `path` atomically: header, body(w, ud), CRC. body is called twice,
** once to size the file and once to write it, and must put the same bytes
** both times. 0, or -1 with services_error() naming the file. */
int ck_save(const char *path, const ckformat *fmt, void (*body)(ckwriter *w, void *ud), void *ud);

/* A cursor over a body. Reading past its end sets `bad` and yields zeros,
** so a caller checks once after a group of reads. */
typedef struct ckreader {
  const unsigned char *p, *end;
  int bad;
} ckreader;

const unsigned char *ck_get_bytes(ckreader *r, size_t n);
uint32_t ck_get_u32(ckreader *r);
uint64_t ck_get_u64(ckreader *r);
double ck_get_f64(ckreader *r);
int ck_get_floats(ckreader *r, float *dst, int64_t n); /* -1 past the end */
int ck_get_i64s(ckreader *r, int64_t *dst, int64_t n);  /* -1 past the end */

/* Reads `path` whole and checks its envelope. On success *buf (the caller
** frees it) holds the file, *r is a cursor over its body and *version its
** format version. -1 with services_error() naming the file and the fault. */
int ck_load(const char *path, const ckformat *fmt, unsigned char **buf, ckreader *r, uint32_t *version);

/* The running CRC32 (zlib's) of n more bytes; ck_crc32(0, NULL, 0) starts one. */
uint32_t ck_crc32(uint32_t crc, const void *bytes, size_t n);

/* Whether `path` is set; if not, says so: "give the file to `verb`". */
int ck_path_given(const char *path, const char *verb);

#endif
