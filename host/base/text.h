/*
** text.h -- small text helpers: a shape as "(1, 28, 28)", and a word looked
** up in a "|"-separated list of choices, and a command-line option's value.
*/
#ifndef LUNET_TEXT_H
#define LUNET_TEXT_H

#include <stddef.h>

#include <lunet/plugin.h>

/* "(1, 28, 28)" */
void shape_format(const lunet_shape *s, char *buf, size_t sz);

/* Is `s` one of the "|"-separated words of `choices` (NULL: none)? */
int in_choices(const char *choices, const char *s);

/* The value of option NAME at argv[*i], given as "NAME V" or "NAME=V"
** (advancing *i past V); NULL if argv[*i] is another option. *MISSING is
** set when the value is absent. */
const char *option_value(int argc, char **argv, int *i, const char *name, int *missing);

#endif
