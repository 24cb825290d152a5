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

#include "nn/model.h"

#define CHECKPOINT_MAGIC "LUNETCKP" /* the first 8 bytes of every checkpoint */
#define CHECKPOINT_VERSION 2u       /* the format version written: the newest this lunet reads */

/* Writes the built model `m` to `path`, atomically: the bytes go to
** "path.tmp", which is fsync'ed and then renamed over `path`, so a crash
** leaves either the old file or the new one, never half of one. An empty
** path is refused as such. 0, or -1 with services_error() set (the tmp
** file is removed). */
int checkpoint_save(const model *m, const char *path);

/* Rebuilds the model saved in `path` (built, its parameters restored, no
** activation buffers reserved yet). NULL with services_error() set. */
model *checkpoint_load(const char *path);

#endif
