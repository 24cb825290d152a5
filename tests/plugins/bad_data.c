/*
** bad_data.c -- a test dataset with a defect that `lunet check` must
** report, chosen by the parameter `defect`:
**
**   nondet   every open() reads and bumps a counter, so two opens with the
**            same parameters give different samples (a dataset that draws
**            from an unseeded or shared stream);
**   inputs   open() declares n_inputs = 9, more than LUNET_MAX_INPUTS;
**   dtype    open() declares input 0 of dtype 2 (float16), which no
**            dataset may hand over.
**
** Otherwise 4 samples of input (2) and a regression target (1).
*/
#include <lunet/helpers.h>

enum { P_DEFECT };

static const lunet_param_decl params[] = {
  [P_DEFECT] = {"defect", LUNET_STRING, 0, 0, 0, "nondet", "nondet|inputs|dtype",
                "which defect to show", 0},
};

typedef struct bad_data {
  float offset; /* added to every value: the open counter for nondet, else 0 */
} bad_data;

static void *bad_data_open(const lunet_value *p, lunet_dataset_info *info) {
  static int opens; /* WRONG on purpose for nondet: state shared by every open */
  const char *defect = p[P_DEFECT].str;
  bad_data *d = host->alloc(sizeof *d);
  if (!d) return NULL;
  d->offset = strcmp(defect, "nondet") == 0 ? (float)opens++ : 0.0f;
  info->n = 4;
  info->n_inputs = strcmp(defect, "inputs") == 0 ? 9 : 1;
  info->input[0] = (lunet_shape){1, {2}};
  info->input_dtype[0] = strcmp(defect, "dtype") == 0 ? LUNET_F16 : LUNET_F32;
  info->target = (lunet_shape){1, {1}};
  info->classes = 0;
  return d;
}

static void bad_data_close(void *self) { host->free(self); }

/* x[i] = (idx, -idx) + offset, y[i] = idx + offset */
static int bad_data_get(void *self, const int64_t *idx, int n, lunet_tensor *x, lunet_tensor *y) {
  bad_data *d = self;
  for (int i = 0; i < n; i++) {
    x[0].f32[2 * i] = (float)idx[i] + d->offset;
    x[0].f32[2 * i + 1] = -(float)idx[i] + d->offset;
    y->f32[i] = (float)idx[i] + d->offset;
  }
  return 0;
}

static const lunet_dataset_api api = {
  .size = sizeof(lunet_dataset_api),
  .open = bad_data_open,
  .close = bad_data_close,
  .get = bad_data_get,
};

LUNET_DATASET_PLUGIN(api, "bad_data", "2.0.0",
                     "test dataset: different samples per open, or a bad description",
                     LUNET_PARAMS(params))
