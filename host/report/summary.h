/*
** summary.h -- `lunet summary`: mean and spread of a results file per group.
*/
#ifndef LUNET_SUMMARY_H
#define LUNET_SUMMARY_H

/* Runs `lunet summary CSV --by COL[,COL...] [--csv]`. ARGV[0] is the
** subcommand's name ("summary"). Returns the exit status: 0 done, 1 an error
** (message on stderr), 2 a usage error (usage on stderr). */
int summary_main(int argc, char **argv);

#endif
