/*
** checkpoint.h -- saving a built model to a file and rebuilding it from one.
**
** A checkpoint holds everything needed to rebuild the model without the
** script that made it: the spec of every node (layer plugin, its version and
** every resolved parameter), the initialisation seed, the per-sample input
** shape, then every parameter tensor (buffers included). The format is
** versioned and checksummed; see checkpoint.c for the byte layout. Loading
** refuses a missing, foreign, newer, truncated or corrupt file, an unknown
** layer plugin and a tensor that does not fit the rebuilt model, each with a
** message that names the file.
*/
#ifndef LUNET_CHECKPOINT_H
#define LUNET_CHECKPOINT_H

#include "nn/model.h"

#define CHECKPOINT_MAGIC "LUNETCKP" /* the first 8 bytes of every checkpoint */
#define CHECKPOINT_VERSION 1u       /* the format version this lunet writes and reads */

/* Writes the built model `m` to `path`, atomically: the bytes go to
** "path.tmp", which is fsync'ed and then renamed over `path`, so a crash
** leaves either the old file or the new one, never half of one.
** 0, or -1 with services_error() set (the tmp file is removed). */
int checkpoint_save(const model *m, const char *path);

/* Rebuilds the model saved in `path` (built, its parameters restored, no
** activation buffers reserved yet). NULL with services_error() set. */
model *checkpoint_load(const char *path);

#endif
