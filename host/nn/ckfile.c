/*
** ckfile.c -- the envelope of lunet's state files: little-endian bytes, the
** CRC, atomic saving and checked loading; see ckfile.h.
*/
#include "nn/ckfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/syncdir.h"
#include "runtime/services.h"

#define MIN_FILE_SIZE (CKFILE_HEADER + 4) /* the header and the trailing CRC */

/* ---- little-endian bytes ----------------------------------------------- */

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

static void put_le32(unsigned char *b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *b, uint64_t v) {
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_le64(const unsigned char *b) {
  return (uint64_t)get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

/* zlib's crc32 takes a uInt length; feed it in chunks so any size works. */
uint32_t ck_crc32(uint32_t crc, const void *bytes, size_t n) {
  const unsigned char *p = bytes;
  uLong c = crc;
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)c;
}

/* ---- writing ----------------------------------------------------------- */

void ck_put_bytes(ckwriter *w, const void *p, size_t n) {
  if (w->err || n == 0) return;
  w->n += n;
  if (!w->f) return; /* the sizing pass */
  if (fwrite(p, 1, n, w->f) != n) {
    w->err = errno ? errno : EIO;
    return;
  }
  w->crc = ck_crc32(w->crc, p, n);
}

void ck_put_u32(ckwriter *w, uint32_t v) {
  unsigned char b[4];
  put_le32(b, v);
  ck_put_bytes(w, b, 4);
}

void ck_put_u64(ckwriter *w, uint64_t v) {
  unsigned char b[8];
  put_le64(b, v);
  ck_put_bytes(w, b, 8);
}

void ck_put_f64(ckwriter *w, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  ck_put_u64(w, u);
}

/* n words of `size` bytes (4 or 8): the memory as it is on a little-endian
** host; a big-endian one reverses the bytes of each word. */
static void put_words(ckwriter *w, const void *x, int64_t n, int size) {
  if (host_is_little_endian()) {
    ck_put_bytes(w, x, (size_t)size * (size_t)n);
    return;
  }
  const unsigned char *p = x;
  for (int64_t i = 0; i < n; i++, p += size) {
    unsigned char b[8];
    for (int k = 0; k < size; k++) b[k] = p[size - 1 - k];
    ck_put_bytes(w, b, (size_t)size);
  }
}

void ck_put_floats(ckwriter *w, const float *x, int64_t n) { put_words(w, x, n, 4); }
void ck_put_i64s(ckwriter *w, const int64_t *x, int64_t n) { put_words(w, x, n, 8); }

void ck_put_str(ckwriter *w, const char *s) {
  size_t len = strlen(s);
  ck_put_u32(w, (uint32_t)len);
  ck_put_bytes(w, s, len);
}

/* Header, body, CRC into f, then flush and fsync; 0 or errno. Closes f.
** *written: the bytes put, which must equal `size` (the sizing pass's). */
static int write_file(FILE *f, const ckformat *fmt, uint64_t size, void (*body)(ckwriter *, void *),
                      void *ud, uint64_t *written) {
  ckwriter w = {f, 0, ck_crc32(0, NULL, 0), 0};
  ck_put_bytes(&w, fmt->magic, 8);
  ck_put_u32(&w, fmt->newest);
  ck_put_u64(&w, size);
  body(&w, ud);
  uint32_t crc = w.crc; /* ck_put_u32 would fold its own bytes into w.crc */
  ck_put_u32(&w, crc);
  *written = w.n;
  int err = w.err;
  if (!err && fflush(f) != 0) err = errno;
  if (!err && fsync(fileno(f)) != 0) err = errno;
  if (fclose(f) != 0 && !err) err = errno;
  return err;
}

int ck_path_given(const char *path, const char *verb) {
  if (path && *path) return 1;
  services_error("checkpoint: the path is empty; give the file to %s, such as \"model.ckpt\"", verb);
  return 0;
}

int ck_save(const char *path, const ckformat *fmt, void (*body)(ckwriter *w, void *ud), void *ud) {
  char tmp[4096]; /* the writer's own: two processes saving one path never share it */
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
    services_error("checkpoint %s: path too long (at most %zu bytes)", path, sizeof tmp - 32);
    return -1;
  }
  ckwriter sizing = {0};
  body(&sizing, ud);
  uint64_t size = CKFILE_HEADER + sizing.n + 4;
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    services_error("checkpoint %s: cannot create %s: %s (does the folder exist and is it writable?)",
                   path, tmp, strerror(errno));
    return -1;
  }
  uint64_t written;
  int err = write_file(f, fmt, size, body, ud, &written);
  if (err) {
    remove(tmp);
    services_error("checkpoint %s: writing %s failed: %s (is the disk full?)", path, tmp, strerror(err));
    return -1;
  }
  if (written != size) { /* its header would name another size: a file no load accepts */
    remove(tmp);
    services_error("checkpoint %s: its contents changed while it was written (%llu bytes sized, %llu "
                   "written), so it was not saved and the previous file is kept; a bug: please report it",
                   path, (unsigned long long)size, (unsigned long long)written);
    return -1;
  }
  if (rename(tmp, path) != 0) {
    err = errno;
    remove(tmp);
    services_error("checkpoint %s: cannot rename %s to it: %s", path, tmp, strerror(err));
    return -1;
  }
  if (fmt->sync_dir) sync_dir_of(path);
  return 0;
}

/* ---- reading ----------------------------------------------------------- */

const unsigned char *ck_get_bytes(ckreader *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const unsigned char *at = r->p;
  r->p += n;
  return at;
}

uint32_t ck_get_u32(ckreader *r) {
  const unsigned char *b = ck_get_bytes(r, 4);
  return b ? get_le32(b) : 0;
}

uint64_t ck_get_u64(ckreader *r) {
  const unsigned char *b = ck_get_bytes(r, 8);
  return b ? get_le64(b) : 0;
}

double ck_get_f64(ckreader *r) {
  uint64_t u = ck_get_u64(r);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

/* n words of `size` bytes (4 or 8) into dst, as put_words wrote them. */
static int get_words(ckreader *r, void *dst, int64_t n, int size) {
  const unsigned char *src = ck_get_bytes(r, (size_t)size * (size_t)n);
  if (!src) return -1;
  if (host_is_little_endian()) {
    memcpy(dst, src, (size_t)size * (size_t)n);
    return 0;
  }
  unsigned char *d = dst;
  for (int64_t i = 0; i < n; i++, src += size, d += size)
    for (int k = 0; k < size; k++) d[k] = src[size - 1 - k];
  return 0;
}

int ck_get_floats(ckreader *r, float *dst, int64_t n) { return get_words(r, dst, n, 4); }
int ck_get_i64s(ckreader *r, int64_t *dst, int64_t n) { return get_words(r, dst, n, 8); }

/* The whole file into *buf (caller frees). -1 with an error naming it. */
static int read_file(const char *path, const ckformat *fmt, unsigned char **buf, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    services_error("checkpoint %s: cannot open it: %s (check the path; checkpoints are written by "
                   "%s)", path, strerror(errno), fmt->made_by);
    return -1;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    services_error("checkpoint %s: not a regular file; expected a file written by %s", path, fmt->made_by);
    return -1;
  }
  *size = (size_t)st.st_size;
  *buf = malloc(*size ? *size : 1);
  if (!*buf || fread(*buf, 1, *size, f) != *size) {
    const char *why = !*buf ? "out of memory" : ferror(f) ? strerror(errno) : "it shrank while it was read";
    fclose(f);
    free(*buf);
    *buf = NULL;
    services_error("checkpoint %s: cannot read its %zu bytes: %s", path, *size, why);
    return -1;
  }
  fclose(f);
  return 0;
}

/* Magic, version, size and CRC, in that order. 0, or -1 with the reason. */
static int check_envelope(const char *path, const ckformat *fmt, const unsigned char *buf, size_t size) {
  size_t k = size < 8 ? size : 8;
  if (memcmp(buf, fmt->magic, k) != 0) {
    services_error("checkpoint %s: not a lunet %s (it does not begin with \"%.8s\"); "
                   "expected a file written by %s", path, fmt->kind, fmt->magic, fmt->made_by);
    return -1;
  }
  if (size < MIN_FILE_SIZE) {
    services_error("checkpoint %s: truncated: the file has %zu bytes, expected at least %d "
                   "(header and checksum); was it copied completely?", path, size, MIN_FILE_SIZE);
    return -1;
  }
  uint32_t version = get_le32(buf + 8);
  if (version > fmt->newest) {
    services_error("checkpoint %s: format version %u is newer than this lunet reads (versions "
                   "%u to %u); load it with a newer lunet", path, version, fmt->oldest, fmt->newest);
    return -1;
  }
  if (version < fmt->oldest) {
    services_error("checkpoint %s: corrupt: format version %u does not exist (expected %u..%u)",
                   path, version, fmt->oldest, fmt->newest);
    return -1;
  }
  uint64_t expected = get_le64(buf + 12);
  if (size < expected) {
    services_error("checkpoint %s: truncated: expected %llu bytes as its header records, the file "
                   "has %zu; was it copied completely?", path, (unsigned long long)expected, size);
    return -1;
  }
  if (size > expected) {
    services_error("checkpoint %s: corrupt: the file has %zu bytes, but its header records %llu",
                   path, size, (unsigned long long)expected);
    return -1;
  }
  uint32_t stored = get_le32(buf + size - 4);
  uint32_t actual = ck_crc32(ck_crc32(0, NULL, 0), buf, size - 4);
  if (stored != actual) {
    services_error("checkpoint %s: corrupt: its CRC32 is %08x but the file records %08x; it was "
                   "damaged after it was written (copy it again, or write it again with %s)",
                   path, actual, stored, fmt->made_by);
    return -1;
  }
  return 0;
}

int ck_load(const char *path, const ckformat *fmt, unsigned char **buf, ckreader *r, uint32_t *version) {
  size_t size;
  if (read_file(path, fmt, buf, &size)) return -1;
  if (check_envelope(path, fmt, *buf, size)) {
    free(*buf);
    *buf = NULL;
    return -1;
  }
  *r = (ckreader){*buf + CKFILE_HEADER, *buf + size - 4, 0};
  *version = get_le32(*buf + 8);
  return 0;
}
