/*
** number.h -- the text of a number: the shortest that reads back exactly.
** Results files, parameter values and trial keys all write numbers so.
*/
#ifndef LUNET_NUMBER_H
#define LUNET_NUMBER_H

/* The shortest decimal text that reads back as exactly V ("0.1", "64",
** "1e-300"); "nan", "inf", "-inf" for the non-finite. Returns BUF. */
const char *csv_format_number(double v, char buf[32]);

#endif
