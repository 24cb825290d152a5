/*
** bad_data.c -- a test dataset with a defect that `lunet check` must
** report, chosen by the parameter `defect`:
**
**   nondet   every open() reads and bumps a counter, so two opens with the
**            same parameters give different samples (a dataset that draws
**            from an unseeded or shared stream);
**   inputs   open() declares n_inputs = 9, more than LUNET_MAX_INPUTS;
**   dtype    open() declares input 0 of dtype 2 (float16), which no
**            dataset may hand over;
**   tokens   token data (ids (2) from a vocab of 3, next-id targets (2))
**            whose decode writes id k as the letter 'a' + k but whose
**            encode gives id 0 for every byte: decode(encode(s)) != s.
**
** Otherwise 4 samples of input (2) and a regression target (1).
*/
#include <lunet/helpers.h>

enum { P_DEFECT };

static const lunet_param_decl params[] = {
  [P_DEFECT] = {"defect", LUNET_STRING, 0, 0, 0, "nondet", "nondet|inputs|dtype|tokens",
                "which defect to show", 0},
};

typedef struct bad_data {
  float offset; /* added to every value: the open counter for nondet, else 0 */
  int tokens;   /* the defect "tokens" */
} bad_data;

static void *bad_data_open(const lunet_value *p, lunet_dataset_info *info) {
  static int opens; /* WRONG on purpose for nondet: state shared by every open */
  const char *defect = p[P_DEFECT].str;
  bad_data *d = host->alloc(sizeof *d);
  if (!d) return NULL;
  d->offset = strcmp(defect, "nondet") == 0 ? (float)opens++ : 0.0f;
  d->tokens = strcmp(defect, "tokens") == 0;
  info->n = 4;
  info->n_inputs = strcmp(defect, "inputs") == 0 ? 9 : 1;
  info->input[0] = (lunet_shape){1, {2}};
  info->input_dtype[0] = strcmp(defect, "dtype") == 0 ? LUNET_F16 : LUNET_F32;
  info->target = (lunet_shape){1, {d->tokens ? 2 : 1}};
  info->classes = d->tokens ? 3 : 0;
  if (d->tokens) info->input_dtype[0] = LUNET_I32, info->vocab = 3;
  return d;
}

static void bad_data_close(void *self) { host->free(self); }

/* x[i] = (idx, -idx) + offset, y[i] = idx + offset */
static int bad_data_get(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  bad_data *d = self;
  for (int i = 0; d->tokens && i < n; i++) { /* ids idx, idx + 1, idx + 2 (mod 3) */
    for (int t = 0; t < 2; t++) {
      x[0].i32[2 * i + t] = (int32_t)((idx[i] + t) % 3);
      y->f32[2 * i + t] = (float)((idx[i] + t + 1) % 3);
    }
  }
  for (int i = 0; !d->tokens && i < n; i++) {
    x[0].f32[2 * i] = (float)idx[i] + d->offset;
    x[0].f32[2 * i + 1] = -(float)idx[i] + d->offset;
    y->f32[i] = (float)idx[i] + d->offset;
  }
  return 0;
}

/* WRONG on purpose: every byte encodes as id 0. */
static int64_t bad_data_encode(void *self, const char *text, size_t len, int32_t *ids, int64_t cap) {
  (void)self, (void)text;
  for (int64_t i = 0; i < (int64_t)len && i < cap; i++) ids[i] = 0;
  return (int64_t)len;
}

/* id k as the letter 'a' + k */
static int64_t bad_data_decode(void *self, const int32_t *ids, int64_t n, char *text, int64_t cap) {
  (void)self;
  for (int64_t i = 0; i < n && i < cap; i++) text[i] = (char)('a' + ids[i]);
  if (n < cap) text[n] = '\0';
  return n;
}

static const lunet_dataset_api api = {
  .size = sizeof(lunet_dataset_api),
  .open = bad_data_open,
  .close = bad_data_close,
  .get = bad_data_get,
  .encode = bad_data_encode,
  .decode = bad_data_decode,
};

LUNET_DATASET_PLUGIN(api, "bad_data", "2.0.0",
                     "test dataset: different samples per open, or a bad description",
                     LUNET_PARAMS(params))
