/*
** command.h -- runs a program (sbatch, squeue, scancel) and collects what
** it prints, without a shell. No Lua here.
*/
#ifndef LUNET_COMMAND_H
#define LUNET_COMMAND_H

#include "base/strbuf.h"

/* Runs argv[0], found on PATH, with argv (NULL-terminated) and stdin from
** /dev/null; its stdout goes to out, its stderr to err (both start as {0},
** the caller frees them). Returns its exit status, 128 + N when signal N
** ended it, or 127 when it could not be started (err then says why). */
int sweep_command(char *const argv[], strbuf *out, strbuf *err);

/* "sbatch --parsable --array=0-9 job.sh": argv as one line, for messages. */
void sweep_command_line(char *const argv[], strbuf *line);

#endif
