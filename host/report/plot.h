/*
** plot.h -- `lunet plot`: a figure from a results file, drawn by gnuplot.
*/
#ifndef LUNET_PLOT_H
#define LUNET_PLOT_H

/* Runs `lunet plot CSV --x COL --y COL[,COL...] [--group COL] [--logx]
** [--logy] [--err std|minmax] [--title T] [-o FILE.png|FILE.svg]`.
** ARGV[0] is the subcommand's name ("plot"). Returns the exit status: 0 the
** figure is written, 1 an error (message on stderr), 2 a usage error. */
int plot_main(int argc, char **argv);

#endif
