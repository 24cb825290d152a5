/*
** syncdir.h -- making a rename survive a power loss: fsync of the folder
** that holds a path. The state files (nn/ckfile.c) and the sweep's files
** (sweep/spool.c, sweep/lua_rows.c) call it after renaming into place.
*/
#ifndef LUNET_SYNCDIR_H
#define LUNET_SYNCDIR_H

/* Fsyncs the folder holding `path` ("." for a bare name), best effort: some
** file systems refuse it on folders, and nothing can be done then. */
void sync_dir_of(const char *path);

#endif
