/*
** fashion_mnist.c -- Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from its
** IDX files.
**
** The data is the one of Debian's package `dataset-fashion-mnist`:
** /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-
** ubyte.gz, found through host->find_data() so that $LUNET_DATA_DIR can hold
** another copy. A file may also be stored uncompressed under the same name
** without ".gz"; zlib reads both.
**
** Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
** 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
**
** open() validates both files (magic numbers, 28x28 images, matching counts,
** no truncation, no trailing bytes), picks the samples asked for, and keeps
** them as float32 in memory, so get() is a copy of rows. The order of work:
**   1. keep the samples of `classes` (file order), relabelled 0..K-1 in the
**      order the classes are listed;
**   2. take n of those starting at `offset` (n = 0: all after offset);
**   3. replace the label of exactly round(label_noise * n) of them, chosen
**      without replacement from the seeded stream, by a uniformly random
**      different class among the K;
**   4. scale pixels to [0, 1] and average-pool by `downsample` = f:
**      28x28 -> floor(28/f) x floor(28/f), i.e. 28, 14, 9 or 7 a side; for
**      f = 3 the last row and column of the image are dropped.
** Inputs are {1, H, W} ({H*W} with flatten); targets are {1} holding the
** class index as a float, or {K} one-hot (1/0) with targets = "onehot".
**
** Augmentation (training split only; ABI 2.2 get_train): as epoch e of
** training reads sample i, it is mirrored left-right with probability 1/2
** (flip), then moved by (dy, dx), each uniform in [-shift, shift], the
** pixels moved in from outside being 0: out(y, x) = img(y - dy, x - dx);
** then N(0, noise^2) is added to every pixel, without clipping. All on the
** image as the model sees it (after downsample). The draws come from a
** stream seeded by a hash of (seed, e, i) alone: the same sample in the same
** epoch gets the same image whatever the batch, the shuffle or a resumption,
** and nothing carries from call to call. Evaluation and ds:sample(i) read
** the images as stored (get); ds:sample(i, e) shows epoch e's.
*/
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include <lunet/helpers.h>

#define SIDE 28               /* images are SIDE x SIDE bytes */
#define PIXELS (SIDE * SIDE)
#define NCLASS 10
#define IMAGES_MAGIC 2051u    /* IDX: unsigned byte, 3 dimensions */
#define LABELS_MAGIC 2049u    /* IDX: unsigned byte, 1 dimension */
#define MAX_ITEMS 100000000u  /* sanity bound on a header's item count */

enum { P_SPLIT, P_N, P_OFFSET, P_SEED, P_NOISE, P_DOWNSAMPLE, P_CLASSES, P_TARGETS, P_FLATTEN,
       P_SHIFT, P_FLIP, P_PIXEL_NOISE };

static const lunet_param_decl params[] = {
  [P_SPLIT] = {"split", LUNET_STRING, 0, 0, 0, "train", "train|test",
               "train: the 60000 training images, test: the 10000 test images", 0},
  [P_N] = {"n", LUNET_INT, 0, 0, 1e9, NULL, NULL,
           "number of samples to keep after offset (0: all the rest)", 0},
  [P_OFFSET] = {"offset", LUNET_INT, 0, 0, 1e9, NULL, NULL,
                "samples skipped first (after the classes filter)", 0},
  [P_SEED] = {"seed", LUNET_INT, 1, 0, 9007199254740992.0, NULL, NULL,
              "seed of the noisy labels and of the augmentation", 0},
  [P_NOISE] = {"label_noise", LUNET_NUMBER, 0, 0, 1, NULL, NULL,
               "fraction of samples whose label becomes a random different class", 0},
  [P_DOWNSAMPLE] = {"downsample", LUNET_INT, 1, 1, 4, NULL, NULL,
                    "average-pool factor f: 28x28 -> floor(28/f) a side (28, 14, 9, 7)", 0},
  [P_CLASSES] = {"classes", LUNET_STRING, 0, 0, 0, "", NULL,
                 "comma list of classes to keep, relabelled 0..K-1 in that order (\"\": all)",
                 0},
  [P_TARGETS] = {"targets", LUNET_STRING, 0, 0, 0, "index", "index|onehot",
                 "index: target {1} holds the class; onehot: target {K} of 1/0 (for MSE)", 0},
  [P_FLATTEN] = {"flatten", LUNET_BOOL, 0, 0, 1, NULL, NULL,
                 "input shape {H*W} instead of {1, H, W}", 0},
  [P_SHIFT] = {"shift", LUNET_INT, 0, 0, 13, NULL, NULL,
               "augmentation (train split, each epoch): move each image by whole pixels dy, dx "
               "uniform in [-shift, shift], zeros moved in (as RandomAffine's translate)", 0},
  [P_FLIP] = {"flip", LUNET_BOOL, 0, 0, 1, NULL, NULL,
              "augmentation (train split, each epoch): mirror left-right with probability 1/2 "
              "(RandomHorizontalFlip)", 0},
  [P_PIXEL_NOISE] = {"noise", LUNET_NUMBER, 0, 0, 10, NULL, NULL,
                     "augmentation (train split, each epoch): add N(0, noise^2) to every pixel, "
                     "not clipped (noise injection)", 0},
};

/* The parameters, checked and decoded. */
typedef struct config {
  const char *split;        /* "train" or "test" */
  const char *images_file;  /* file names within the fashion-mnist folder */
  const char *labels_file;
  int64_t n, offset;
  uint64_t seed;
  double noise;
  int f;                    /* downsample factor */
  int side;                 /* SIDE / f */
  int k;                    /* classes kept */
  int relabel[NCLASS];      /* relabel[original class] = new label, or -1 */
  const char *classes;      /* as written, for messages */
  int onehot, flatten;
  int shift, flip;          /* augmentation */
  double pixel_noise;
} config;

typedef struct fmnist {
  int64_t n;        /* samples held */
  int side;         /* pixels a side */
  uint64_t seed;    /* of the augmentation, with shift, flip and noise */
  int shift, flip;
  double noise;
  size_t in_size;   /* floats per input row */
  size_t tgt_size;  /* floats per target row */
  uint16_t *x;      /* (n, in_size): pixel sums of each f x f block, a quarter
                       of the memory of floats; get() scales them to [0, 1] */
  double scale;     /* 1 / (255 f^2) */
  float *y;         /* (n, tgt_size) */
} fmnist;

/* ---- Parameters -------------------------------------------------------- */

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Parses `classes`: "" keeps all ten in their order, else a comma list of
** distinct digits 0..9 such as "0,1" or "9, 7, 5". */
static int parse_classes(const char *s, config *c) {
  for (int i = 0; i < NCLASS; i++) c->relabel[i] = -1;
  c->k = 0;
  const char *p = s;
  while (is_blank(*p)) p++;
  if (*p == '\0') {
    for (int i = 0; i < NCLASS; i++) c->relabel[i] = i;
    c->k = NCLASS;
    return 0;
  }
  for (;;) {
    while (is_blank(*p)) p++;
    if (*p < '0' || *p > '9' || (p[1] >= '0' && p[1] <= '9')) {
      host->error("fashion_mnist: classes \"%s\" is not a comma list of classes 0..9, "
                  "expected e.g. \"0,1\" (or \"\" for all ten)", s);
      return 1;
    }
    int cls = *p++ - '0';
    if (c->relabel[cls] >= 0) {
      host->error("fashion_mnist: classes \"%s\" lists class %d twice, expected distinct classes",
                  s, cls);
      return 1;
    }
    c->relabel[cls] = c->k++;
    while (is_blank(*p)) p++;
    if (*p == '\0') return 0;
    if (*p++ != ',') {
      host->error("fashion_mnist: classes \"%s\" is not a comma list of classes 0..9, "
                  "expected e.g. \"0,1\" (or \"\" for all ten)", s);
      return 1;
    }
  }
}

static int read_config(const lunet_value *p, config *c) {
  memset(c, 0, sizeof *c);
  c->split = p[P_SPLIT].str;
  if (strcmp(c->split, "train") == 0) {
    c->images_file = "train-images-idx3-ubyte.gz";
    c->labels_file = "train-labels-idx1-ubyte.gz";
  } else if (strcmp(c->split, "test") == 0) {
    c->images_file = "t10k-images-idx3-ubyte.gz";
    c->labels_file = "t10k-labels-idx1-ubyte.gz";
  } else {
    host->error("fashion_mnist: split \"%s\" is unknown, expected \"train\" or \"test\"", c->split);
    return 1;
  }
  c->n = (int64_t)p[P_N].num;
  c->offset = (int64_t)p[P_OFFSET].num;
  c->seed = (uint64_t)p[P_SEED].num;
  c->noise = p[P_NOISE].num;
  c->f = (int)p[P_DOWNSAMPLE].num;
  c->classes = p[P_CLASSES].str ? p[P_CLASSES].str : "";
  c->onehot = strcmp(p[P_TARGETS].str, "onehot") == 0;
  c->flatten = p[P_FLATTEN].num != 0;
  c->shift = (int)p[P_SHIFT].num;
  c->flip = p[P_FLIP].num != 0;
  c->pixel_noise = p[P_PIXEL_NOISE].num;
  if (c->n < 0 || c->offset < 0) {
    host->error("fashion_mnist: n = %lld and offset = %lld, expected both >= 0",
                (long long)c->n, (long long)c->offset);
    return 1;
  }
  if (!(c->noise >= 0 && c->noise <= 1)) {
    host->error("fashion_mnist: label_noise = %g, expected a fraction in [0, 1]", c->noise);
    return 1;
  }
  if (c->f < 1 || c->f > 4) {
    host->error("fashion_mnist: downsample = %d, expected 1, 2, 3 or 4", c->f);
    return 1;
  }
  c->side = SIDE / c->f;
  if ((c->shift || c->flip || c->pixel_noise > 0) && strcmp(c->split, "train") != 0) {
    host->error("fashion_mnist: shift = %d, flip = %s, noise = %g augment the training split, "
                "but split = \"%s\"; hint: leave them out, test data is read as it is",
                c->shift, c->flip ? "true" : "false", c->pixel_noise, c->split);
    return 1;
  }
  if (c->shift >= c->side) {
    host->error("fashion_mnist: shift = %d, expected less than the image's %d pixels a side",
                c->shift, c->side);
    return 1;
  }
  if (parse_classes(c->classes, c)) return 1;
  if (c->noise > 0 && c->k < 2) {
    host->error("fashion_mnist: label_noise = %g needs at least 2 classes, but classes = \"%s\" "
                "keeps one; hint: list more classes or set label_noise = 0", c->noise, c->classes);
    return 1;
  }
  return 0;
}

/* ---- Finding and reading IDX files ------------------------------------- */

/* Finds `file` (a .gz name), else the same name without ".gz". When neither
** exists, replaces find_data's message with one that also says how to get
** the data. */
static int locate(const char *file, char *out, size_t outsz) {
  char plain[64];
  if (host->find_data("fashion-mnist", file, out, outsz) == 0) return 0;
  snprintf(plain, sizeof plain, "%.*s", (int)(strlen(file) - 3), file);
  if (host->find_data("fashion-mnist", plain, out, outsz) == 0) return 0;
  const char *dir = getenv("LUNET_DATA_DIR");
  if (dir && *dir)
    host->error("fashion_mnist: cannot find %s (or %s); looked in %s/fashion-mnist, %s and "
                "/usr/share/datasets/fashion-mnist; hint: install the data with "
                "`apt-get install dataset-fashion-mnist`, or copy the IDX files to "
                "$LUNET_DATA_DIR/fashion-mnist", file, plain, dir, dir);
  else
    host->error("fashion_mnist: cannot find %s (or %s); looked in "
                "/usr/share/datasets/fashion-mnist ($LUNET_DATA_DIR is not set); hint: install "
                "the data with `apt-get install dataset-fashion-mnist`, or set LUNET_DATA_DIR to "
                "a folder holding fashion-mnist/%s", file, plain, file);
  return 1;
}

static gzFile open_idx(const char *path) {
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f) {
    host->error("fashion_mnist: cannot open %s: %s", path,
                errno ? strerror(errno) : "out of memory");
    return NULL;
  }
  gzbuffer(f, 1u << 17);
  return f;
}

/* zlib's message for the last failure, without the "path: " it starts with. */
static const char *zlib_message(gzFile f, const char *path, int *zerr) {
  const char *msg = gzerror(f, zerr);
  size_t n = strlen(path);
  if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
  return msg;
}

/* Reads exactly `len` bytes of `what` (item number `item`, or -1 when it
** is not one of the items); a short read means the file is truncated, a
** negative one that the gzip stream is corrupt. */
static int read_exact(gzFile f, const char *path, void *buf, unsigned len, const char *what,
                      long long item) {
  int got = gzread(f, buf, len);
  if (got == (int)len) return 0;
  char part[64];
  if (item >= 0) snprintf(part, sizeof part, "%s %lld", what, item);
  else snprintf(part, sizeof part, "%s", what);
  int zerr;
  const char *msg = zlib_message(f, path, &zerr);
  if (got < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
    host->error("fashion_mnist: %s is corrupt: reading %s failed (%s); hint: reinstall "
                "dataset-fashion-mnist or fetch the file again", path, part, msg);
  else
    host->error("fashion_mnist: %s is truncated: %s has %d of its %u bytes; hint: reinstall "
                "dataset-fashion-mnist or fetch the file again", path, part, got, len);
  return 1;
}

/* The file must end where its header says the data ends. */
static int expect_end(gzFile f, const char *path, uint32_t items) {
  unsigned char extra;
  int got = gzread(f, &extra, 1);
  if (got == 0) return 0;
  if (got < 0) {
    int zerr;
    host->error("fashion_mnist: %s is corrupt after its last item (%s); hint: reinstall "
                "dataset-fashion-mnist or fetch the file again", path, zlib_message(f, path, &zerr));
  } else {
    host->error("fashion_mnist: %s has bytes after the %u items its header announces, "
                "expected the file to end there", path, (unsigned)items);
  }
  return 1;
}

static uint32_t big_endian32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads an IDX header: the magic number, then `ndim` sizes. */
static int read_header(gzFile f, const char *path, uint32_t magic, int ndim, uint32_t *dims) {
  unsigned char b[16];
  if (read_exact(f, path, b, 4u + 4u * (unsigned)ndim, "the header", -1)) return 1;
  uint32_t got = big_endian32(b);
  if (got != magic) {
    host->error("fashion_mnist: %s has magic number %u, expected %u (an IDX %s file); hint: "
                "is it the right file?", path, (unsigned)got, (unsigned)magic,
                magic == IMAGES_MAGIC ? "images" : "labels");
    return 1;
  }
  for (int i = 0; i < ndim; i++) dims[i] = big_endian32(b + 4 + 4 * i);
  if (dims[0] == 0 || dims[0] > MAX_ITEMS) {
    host->error("fashion_mnist: %s announces %u items, expected 1..%u; the header is corrupt",
                path, (unsigned)dims[0], MAX_ITEMS);
    return 1;
  }
  return 0;
}

/* Loads all labels of a labels file; *count receives how many. */
static unsigned char *read_labels(const char *path, uint32_t *count) {
  gzFile f = open_idx(path);
  if (!f) return NULL;
  unsigned char *labels = NULL;
  if (read_header(f, path, LABELS_MAGIC, 1, count)) goto fail;
  labels = host->alloc(*count);
  if (!labels) goto fail;
  if (read_exact(f, path, labels, *count, "the labels", -1) || expect_end(f, path, *count))
    goto fail;
  for (uint32_t i = 0; i < *count; i++) {
    if (labels[i] >= NCLASS) {
      host->error("fashion_mnist: %s has label %d at item %u, expected a class 0..9; the file "
                  "is corrupt", path, labels[i], (unsigned)i);
      goto fail;
    }
  }
  gzclose(f);
  return labels;
fail:
  host->free(labels);
  gzclose(f);
  return NULL;
}

/* Sums f x f blocks of a 28x28 byte image into a side x side image (at most
** 16 * 255, so 16 bits hold it); rows and columns past side*f are dropped. */
static void pool_image(const unsigned char *px, int f, int side, uint16_t *dst) {
  for (int oy = 0; oy < side; oy++) {
    for (int ox = 0; ox < side; ox++) {
      unsigned sum = 0;
      for (int dy = 0; dy < f; dy++)
        for (int dx = 0; dx < f; dx++) sum += px[(oy * f + dy) * SIDE + ox * f + dx];
      dst[oy * side + ox] = (uint16_t)sum;
    }
  }
}

/* Streams every image of the file (so that truncation anywhere is caught)
** and pools the selected ones, sel[0..nsel) in increasing order, into x. */
static int read_images(const char *path, uint32_t expect_count, const int64_t *sel,
                       int64_t nsel, const config *c, uint16_t *x) {
  gzFile f = open_idx(path);
  if (!f) return 1;
  uint32_t dims[3];
  unsigned char px[PIXELS];
  int64_t row = (int64_t)c->side * c->side, j = 0;
  if (read_header(f, path, IMAGES_MAGIC, 3, dims)) goto fail;
  if (dims[1] != SIDE || dims[2] != SIDE) {
    host->error("fashion_mnist: %s holds %ux%u images, expected %dx%d", path,
                (unsigned)dims[1], (unsigned)dims[2], SIDE, SIDE);
    goto fail;
  }
  if (dims[0] != expect_count) {
    host->error("fashion_mnist: %s holds %u images but its labels file %u labels, expected "
                "the same count; hint: are both files of the same split?", path,
                (unsigned)dims[0], (unsigned)expect_count);
    goto fail;
  }
  for (uint32_t i = 0; i < dims[0]; i++) {
    if (read_exact(f, path, px, PIXELS, "image", i)) goto fail;
    if (j < nsel && sel[j] == (int64_t)i) pool_image(px, c->f, c->side, x + row * j++);
  }
  if (expect_end(f, path, dims[0])) goto fail;
  gzclose(f);
  return 0;
fail:
  gzclose(f);
  return 1;
}

/* ---- Choosing samples -------------------------------------------------- */

/* File positions of the samples kept: those of the chosen classes, then
** the slice [offset, offset + n). */
static int64_t *select_samples(const unsigned char *labels, uint32_t count, const config *c,
                               int64_t *nsel) {
  int64_t avail = 0;
  for (uint32_t i = 0; i < count; i++) avail += c->relabel[labels[i]] >= 0;
  const char *which = c->k == NCLASS ? "" : " of classes ";
  const char *list = c->k == NCLASS ? "" : c->classes;
  if (c->n == 0 && c->offset >= avail) {
    host->error("fashion_mnist: offset = %lld leaves no samples: the %s split has %lld samples%s%s",
                (long long)c->offset, c->split, (long long)avail, which, list);
    return NULL;
  }
  if (c->n > 0 && c->offset + c->n > avail) {
    host->error("fashion_mnist: n + offset = %lld + %lld = %lld exceeds the %lld samples%s%s of "
                "the %s split", (long long)c->n, (long long)c->offset,
                (long long)(c->n + c->offset), (long long)avail, which, list, c->split);
    return NULL;
  }
  *nsel = c->n ? c->n : avail - c->offset;
  int64_t *sel = host->alloc(sizeof *sel * (size_t)*nsel);
  if (!sel) return NULL;
  int64_t seen = 0, j = 0;
  for (uint32_t i = 0; i < count && j < *nsel; i++) {
    if (c->relabel[labels[i]] < 0) continue;
    if (seen++ >= c->offset) sel[j++] = i;
  }
  return sel;
}

/* Uniform integer in [0, m), without modulo bias. */
static uint64_t draw_below(lunet_rng *rng, uint64_t m) {
  uint64_t reject = (0 - m) % m; /* 2^64 mod m lowest values would favour small results */
  uint64_t r;
  do r = host->rng_u64(rng);
  while (r < reject);
  return r % m;
}

/* Gives exactly round(noise * n) samples, chosen without replacement, a
** uniformly random label different from their own (partial Fisher-Yates). */
static int add_label_noise(int *label, int64_t n, const config *c) {
  int64_t m = (int64_t)(c->noise * (double)n + 0.5); /* round half up; noise*n >= 0 */
  if (m == 0) return 0;
  int64_t *perm = host->alloc(sizeof *perm * (size_t)n);
  if (!perm) return 1;
  lunet_rng rng;
  host->rng_seed(&rng, c->seed);
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = 0; i < m; i++) {
    int64_t j = i + (int64_t)draw_below(&rng, (uint64_t)(n - i));
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
    int *l = &label[perm[i]];
    *l = (*l + 1 + (int)draw_below(&rng, (uint64_t)c->k - 1)) % c->k;
  }
  host->free(perm);
  return 0;
}

static void write_targets(const int *label, int64_t n, const config *c, float *y) {
  if (!c->onehot) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)label[i];
    return;
  }
  for (int64_t i = 0; i < n; i++) y[i * c->k + label[i]] = 1.0f; /* y is zero-filled */
}

/* ---- The dataset ------------------------------------------------------- */

static void fm_close(void *self) {
  fmnist *d = self;
  if (!d) return;
  host->free(d->x);
  host->free(d->y);
  host->free(d);
}

static void describe(const fmnist *d, const config *c, lunet_dataset_info *info) {
  info->n = d->n;
  info->n_inputs = 1;
  info->input[0] = c->flatten ? (lunet_shape){1, {c->side * c->side}}
                              : (lunet_shape){3, {1, c->side, c->side}};
  info->input_dtype[0] = LUNET_F32;
  info->target = (lunet_shape){1, {c->onehot ? c->k : 1}};
  info->classes = c->k;
}

static void *fm_open(const lunet_value *p, lunet_dataset_info *info) {
  config c;
  char images_path[4096], labels_path[4096];
  unsigned char *labels = NULL;
  int64_t *sel = NULL;
  int *label = NULL;
  fmnist *d = NULL;
  uint32_t count = 0;
  int64_t nsel = 0;

  if (read_config(p, &c) || locate(c.labels_file, labels_path, sizeof labels_path) ||
      locate(c.images_file, images_path, sizeof images_path))
    return NULL;
  if (!(labels = read_labels(labels_path, &count))) goto fail;
  if (!(sel = select_samples(labels, count, &c, &nsel))) goto fail;
  if (!(label = host->alloc(sizeof *label * (size_t)nsel))) goto fail;
  for (int64_t i = 0; i < nsel; i++) label[i] = c.relabel[labels[sel[i]]];
  if (add_label_noise(label, nsel, &c)) goto fail;

  if (!(d = host->alloc(sizeof *d))) goto fail;
  d->n = nsel;
  d->side = c.side;
  d->seed = c.seed;
  d->shift = c.shift;
  d->flip = c.flip;
  d->noise = c.pixel_noise;
  d->in_size = (size_t)(c.side * c.side);
  d->tgt_size = (size_t)(c.onehot ? c.k : 1);
  d->x = host->alloc(sizeof(uint16_t) * (size_t)nsel * d->in_size);
  d->scale = 1.0 / (255.0 * c.f * c.f);
  d->y = host->alloc(sizeof(float) * (size_t)nsel * d->tgt_size);
  if (!d->x || !d->y) goto fail;
  if (read_images(images_path, count, sel, nsel, &c, d->x)) goto fail;
  write_targets(label, nsel, &c, d->y);
  describe(d, &c, info);

  host->free(labels);
  host->free(sel);
  host->free(label);
  return d;
fail:
  host->free(labels);
  host->free(sel);
  host->free(label);
  fm_close(d);
  return NULL;
}

/* Copies rows idx[0..n) into x and y; every index is checked first. */
static int fm_get(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  const fmnist *d = self;
  if (lunet_check_samples("fashion_mnist", idx, n, d->n)) return -1;
  for (int i = 0; i < n; i++) {
    size_t from = (size_t)idx[i], to = (size_t)i;
    const uint16_t *src = d->x + from * d->in_size;
    float *dst = x[0].f32 + to * d->in_size;
    for (size_t k = 0; k < d->in_size; k++) dst[k] = (float)(src[k] * d->scale); /* in [0, 1] */
    memcpy(y->f32 + to * d->tgt_size, d->y + from * d->tgt_size, sizeof(float) * d->tgt_size);
  }
  return 0;
}

/* ---- Augmentation ------------------------------------------------------ */

/* splitmix64's finaliser: a bijection of 64-bit words that mixes every
** input bit into every output bit. */
static uint64_t mix64(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9u;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebu;
  return h ^ (h >> 31);
}

/* The stream of sample i in epoch e: a pure function of (seed, e, i). The
** constant keeps it apart from the label-noise stream of the same seed. */
static void sample_stream(const fmnist *d, int64_t epoch, int64_t i, lunet_rng *rng) {
  uint64_t h = mix64(d->seed ^ 0x61756738666d6e73u); /* "aug8fmns" */
  h = mix64(h + (uint64_t)epoch);
  host->rng_seed(rng, mix64(h + (uint64_t)i));
}

/* Row `from` (stored sums) as epoch e sees it, into dst (side x side):
** flipped, shifted by (dy, dx) with zeros moved in, then noisy. */
static void augment_row(const fmnist *d, int64_t from, int64_t epoch, float *dst) {
  lunet_rng rng;
  sample_stream(d, epoch, from, &rng);
  int s = d->side, dy = 0, dx = 0, flip = 0;
  if (d->shift) {
    dy = (int)draw_below(&rng, 2u * (unsigned)d->shift + 1) - d->shift;
    dx = (int)draw_below(&rng, 2u * (unsigned)d->shift + 1) - d->shift;
  }
  if (d->flip) flip = (int)draw_below(&rng, 2);
  const uint16_t *src = d->x + (size_t)from * d->in_size;
  for (int y = 0; y < s; y++) {
    for (int x = 0; x < s; x++) {
      int sy = y - dy, sx = x - dx; /* out(y, x) = flipped(y - dy, x - dx) */
      int inside = sy >= 0 && sy < s && sx >= 0 && sx < s;
      dst[y * s + x] = inside ? (float)(src[sy * s + (flip ? s - 1 - sx : sx)] * d->scale) : 0.0f;
    }
  }
  for (int k = 0; d->noise > 0 && k < s * s; k++) dst[k] += (float)(d->noise * host->rng_normal(&rng));
}

/* As fm_get, the inputs as epoch `epoch` of training sees them. */
static int fm_get_train(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y,
                        int64_t epoch) {
  const fmnist *d = self;
  if (fm_get(self, idx, n, x, y)) return -1;
  if (!d->shift && !d->flip && !(d->noise > 0)) return 0;
  for (int i = 0; i < n; i++) augment_row(d, idx[i], epoch, x[0].f32 + (size_t)i * d->in_size);
  return 0;
}

static const lunet_dataset_api api = {
  .size = sizeof(lunet_dataset_api),
  .open = fm_open,
  .close = fm_close,
  .get = fm_get,
  .get_train = fm_get_train,
};

LUNET_DATASET_PLUGIN(api, "fashion_mnist", "2.1.0",
                     "Fashion-MNIST 28x28 clothing images, 10 classes "
                     "(Debian dataset-fashion-mnist)",
                     LUNET_PARAMS(params))
