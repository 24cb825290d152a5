/*
** params.h -- checking what a user wrote against what a plugin declares.
**
** Values arrive as (name, typed value) pairs from Lua tables, checkpoints or
** `lunet check`; params_resolve() validates names, types and ranges, fills in
** defaults and produces the lunet_value array the plugin reads in declaration
** order. Every error names the plugin, the parameter and what was expected.
*/
#ifndef LUNET_PARAMS_H
#define LUNET_PARAMS_H

#include <stddef.h>

#include <lunet/plugin.h>

typedef struct param_given {
  const char *name;
  int type;        /* LUNET_NUMBER (integers included), LUNET_BOOL or LUNET_STRING */
  double num;
  const char *str;
} param_given;

typedef struct param_values {
  int n;
  lunet_value *v; /* n values in declaration order */
  char **strs;    /* owned copies of the string values */
} param_values;

/* 0 on success; -1 with services_error() set. *out must be freed with
** params_free() in both cases. */
int params_resolve(const lunet_plugin *p, const param_given *given, int n, param_values *out);
void params_free(param_values *pv);

/* Writes value i as text: "0.1", "true", "he". */
void params_format(const lunet_plugin *p, const param_values *pv, int i, char *buf, size_t sz);

/* "int", "number", "bool", "string". */
const char *params_type_name(int type);

/* A parameter's range as text: "[1, 16777216]" for an int, "[0, 1]" for a
** number, the choices of a string, else "-". */
void params_range_text(const lunet_param_decl *d, char *buf, size_t sz);

#endif
