/*
** lua_lunet.h -- what the files of the Lua binding share: userdata types,
** argument helpers and the registration function of each part.
*/
#ifndef LUNET_LUA_LUNET_H
#define LUNET_LUA_LUNET_H

#include <lauxlib.h>
#include <lua.h>

#include "nn/dataset.h"
#include "nn/eval.h"
#include "nn/model.h"
#include "runtime/params.h"
#include "runtime/registry.h"

#define MT_MODEL "lunet.model"
#define MT_DATASET "lunet.dataset"
#define MT_CSV "lunet.csv"
#define MT_SPEC "lunet.spec"

typedef struct lmodel { model *m; } lmodel;
typedef struct ldataset { dataset *ds; } ldataset;

/* Raises a Lua error with services_last_error() (position prefixed). */
int lerror_services(lua_State *L);

/* Converts the parameter table at `idx` (nil: none) into (name, value)
** pairs for params_resolve; the strings stay valid while the table is on
** the stack. Raises on a non-string key or an unsupported value type. */
param_given *lparams_given(lua_State *L, int idx, const char *plugin, int *n);

/* Resolves a spec table (from lunet.layer/loss/optimizer) at `idx` of the
** given kind into its plugin and parameters; raises on mismatch. */
const plugin_entry *lspec_resolve(lua_State *L, int idx, int kind, param_values *out);

/* Checks that every key of the options table at `idx` is in `known`
** (NULL-terminated); raises naming the function and the unknown key. */
void lcheck_options(lua_State *L, int idx, const char *fn, const char *const *known);

/* The whole number t[key] (def when absent) in min..LOPT_COUNT_MAX; raises
** naming fn and key, saying whether the value is not whole, too small or too
** large. A float with a whole value (1e3) is taken. */
#define LOPT_COUNT_MAX (1 << 30)
int lopt_count(lua_State *L, int t, const char *key, int def, int min, const char *fn);

/* Creates the metatable `name` in the registry, with event (say "__gc") set
** to fn unless event is NULL; leaves the stack as it was. */
void lnew_metatable(lua_State *L, const char *name, const char *event, lua_CFunction fn);

/* The dataset at idx, or a Lua error: "WHAT: expected a dataset ..., got T"
** (lcheck_dataset: without the WHAT). */
dataset *lcheck_dataset(lua_State *L, int idx);
dataset *lcheck_dataset_as(lua_State *L, int idx, const char *what);
lmodel *lcheck_model(lua_State *L, int idx);
model *lbuilt_model(lua_State *L, int idx); /* raises unless built */
void lpush_model(lua_State *L, model *m);
void lpush_shape(lua_State *L, const lunet_shape *s);
void lpush_floats(lua_State *L, const float *v, int64_t n); /* an array */
void lpush_metrics(lua_State *L, const metrics *mt);        /* { loss =, error = } */
int lmodel_gradients(lua_State *L);                         /* model:gradients */
int llayer(lua_State *L);                                   /* lunet.layer(name, params) */
int lget_shape(lua_State *L, int idx, lunet_shape *s, const char *what);

/* Token ids: ids[0..n) (C ids, from 0) pushed as an array of ids from 1;
** and the array of ids from 1 at `idx` read into C ids, in a userdata left
** on the stack, *n of them, each checked to be an integer 1..vocab (no upper
** bound when vocab <= 0), else an error naming fn and the element. */
void lpush_ids(lua_State *L, const int32_t *ids, int64_t n);
int32_t *lcheck_ids(lua_State *L, int idx, int64_t vocab, const char *fn, int64_t *n);

/* Pushes the module table with layer, loss, optimizer, threads, clock. */
void lbase_newlib(lua_State *L);

void lmodel_register(lua_State *L);   /* sequential, residual, graph, load */
void ltrain_register(lua_State *L);   /* train, trainer */
void ldata_register(lua_State *L);    /* dataset, data */
void lcsv_register(lua_State *L);     /* csv, read_csv */
void loptions_register(lua_State *L); /* options */
/* Whether the error value at idx is the end of a script after --help. */
int lis_help_done(lua_State *L, int idx);
void lanalysis_register(lua_State *L); /* bias_variance, plot */
void lbpe_register(lua_State *L);      /* bpe.train, bpe.load */
void ltext_register(lua_State *L);     /* ngram, word2vec */
void llandscape_register(lua_State *L); /* landscape, interpolate */

#endif
