/*
** checkpoint.h -- saving a built model to a file and rebuilding it from one.
**
** A checkpoint holds everything needed to rebuild the model without the
** script that made it: the initialisation seed, the model's inputs (per-
** sample shape and dtype of each), its graph (every node's label, inputs,
** layer plugin, plugin version and resolved parameters; the output node),
** then every parameter tensor (buffers included). The format is versioned
** and checksummed; see checkpoint.c for the byte layout. Loading reads
** every version from 1 on (version 1 files, from before the graph model,
** are lowered into the graph as lunet.sequential does) and refuses a
** missing, foreign, newer, truncated or corrupt file, an unknown layer
** plugin and a tensor that does not fit the rebuilt model, each with a
** message that names the file.
*/
#ifndef LUNET_CHECKPOINT_H
#define LUNET_CHECKPOINT_H

#include "base/strbuf.h"
#include "nn/ckfile.h"
#include "nn/model.h"

#define CHECKPOINT_MAGIC "LUNETCKP" /* the first 8 bytes of every checkpoint */
#define CHECKPOINT_VERSION 2u       /* the format version written: the newest this lunet reads */

/* Writes the built model `m` to `path`, atomically: the bytes go to
** "path.tmp.PID", which is fsync'ed and then renamed over `path`, so a crash
** leaves either the old file or the new one, never half of one. An empty
** path is refused as such. 0, or -1 with services_error() set (the tmp
** file is removed). */
int checkpoint_save(const model *m, const char *path);

/* Rebuilds the model saved in `path` (built, its parameters restored, no
** activation buffers reserved yet). NULL with services_error() set. */
model *checkpoint_load(const char *path);

/* The pieces a training checkpoint (resume.c) reuses: the model's spec
** text (what a file must match), and its tensor records, written and read
** back by name into a built model of the same spec; a plugin's resolved
** parameters as the spec writes them. */
void checkpoint_spec(const model *m, strbuf *spec);
/* " name=value" for each of p's parameters pv, in declaration order. */
void checkpoint_spec_params(strbuf *sb, const lunet_plugin *p, const param_values *pv);
void checkpoint_put_tensors(ckwriter *w, const model *m);
int checkpoint_get_tensors(ckreader *r, const char *path, model *m);

#endif
