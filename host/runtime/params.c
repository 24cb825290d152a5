/*
** params.c -- validation of plugin parameters; see params.h.
*/
#include "runtime/params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"
#include "base/text.h"
#include "runtime/services.h"

const char *params_type_name(int type) {
  static const char *const names[] = {"int", "number", "bool", "string"};
  return type >= 0 && type <= 3 ? names[type] : "?";
}

static int find_decl(const lunet_plugin *p, const char *name) {
  for (int i = 0; i < p->n_params; i++)
    if (strcmp(p->params[i].name, name) == 0) return i;
  return -1;
}

static void unknown_param(const lunet_plugin *p, const char *name) {
  char known[512] = "";
  size_t len = 0;
  for (int i = 0; i < p->n_params && len < sizeof known - 32; i++)
    len += snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", p->params[i].name);
  services_error("%s: unknown parameter '%s' (known: %s)", p->name, name,
                 p->n_params ? known : "none, it takes no parameters");
}

void params_range_text(const lunet_param_decl *d, char *buf, size_t sz) {
  if (d->type == LUNET_INT)
    snprintf(buf, sz, "[%.0f, %.0f]", d->min, d->max); /* 16777216, not 1.67772e+07 */
  else if (d->type == LUNET_NUMBER)
    snprintf(buf, sz, "[%g, %g]", d->min, d->max);
  else
    snprintf(buf, sz, "%s", d->type == LUNET_STRING && d->choices ? d->choices : "-");
}

static int expect(const lunet_plugin *p, const lunet_param_decl *d, const char *got) {
  char range[96];
  params_range_text(d, range, sizeof range);
  if (d->type == LUNET_INT || d->type == LUNET_NUMBER)
    services_error("%s: parameter '%s' expects %s %s in %s, got %s", p->name, d->name,
                   d->type == LUNET_INT ? "an" : "a", params_type_name(d->type), range, got);
  else if (d->type == LUNET_STRING && d->choices)
    services_error("%s: parameter '%s' expects one of %s, got %s", p->name, d->name, d->choices, got);
  else
    services_error("%s: parameter '%s' expects a %s, got %s", p->name, d->name,
                   params_type_name(d->type), got);
  return -1;
}

static int set_string(param_values *pv, int i, const char *s) {
  free(pv->strs[i]);
  pv->strs[i] = strdup(s ? s : "");
  pv->v[i].str = pv->strs[i];
  return 0;
}

static int check_one(const lunet_plugin *p, const param_given *g, param_values *pv) {
  int i = find_decl(p, g->name);
  if (i < 0) {
    unknown_param(p, g->name);
    return -1;
  }
  const lunet_param_decl *d = &p->params[i];
  char got[160];
  if (g->type == LUNET_STRING)
    snprintf(got, sizeof got, "'%.120s'", g->str);
  else if (g->type == LUNET_BOOL)
    snprintf(got, sizeof got, "%s", g->num ? "true" : "false");
  else
    csv_format_number(g->num, got);
  switch (d->type) {
  case LUNET_INT:
  case LUNET_NUMBER:
    if (g->type != LUNET_NUMBER || isnan(g->num) || g->num < d->min || g->num > d->max ||
        (d->type == LUNET_INT && g->num != floor(g->num)))
      return expect(p, d, got);
    pv->v[i].num = g->num;
    return 0;
  case LUNET_BOOL:
    if (g->type != LUNET_BOOL) return expect(p, d, got);
    pv->v[i].num = g->num ? 1 : 0;
    return 0;
  default:
    if (g->type != LUNET_STRING || (d->choices && !in_choices(d->choices, g->str)))
      return expect(p, d, got);
    return set_string(pv, i, g->str);
  }
}

int params_resolve(const lunet_plugin *p, const param_given *given, int n, param_values *pv) {
  pv->n = p->n_params;
  pv->v = calloc((size_t)p->n_params + 1, sizeof *pv->v);
  pv->strs = calloc((size_t)p->n_params + 1, sizeof *pv->strs);
  for (int i = 0; i < p->n_params; i++) {
    const lunet_param_decl *d = &p->params[i];
    pv->v[i].num = d->def;
    if (d->type == LUNET_STRING) set_string(pv, i, d->def_str);
  }
  for (int k = 0; k < n; k++)
    if (check_one(p, &given[k], pv)) return -1;
  for (int i = 0; i < p->n_params; i++) {
    const lunet_param_decl *d = &p->params[i];
    if (!(d->flags & LUNET_REQUIRED)) continue;
    int found = 0;
    for (int k = 0; k < n; k++) found |= strcmp(given[k].name, d->name) == 0;
    if (!found) {
      services_error("%s: parameter '%s' is required (%s)", p->name, d->name, d->doc ? d->doc : "");
      return -1;
    }
  }
  return 0;
}

void params_free(param_values *pv) {
  for (int i = 0; pv->strs && i < pv->n; i++) free(pv->strs[i]);
  free(pv->strs);
  free(pv->v);
  pv->strs = NULL;
  pv->v = NULL;
  pv->n = 0;
}

void params_format(const lunet_plugin *p, const param_values *pv, int i, char *buf, size_t sz) {
  switch (p->params[i].type) {
  case LUNET_BOOL: snprintf(buf, sz, "%s", pv->v[i].num ? "true" : "false"); break;
  case LUNET_STRING: snprintf(buf, sz, "%s", pv->v[i].str); break;
  default: {
    char num[32]; /* shortest text that reads back exactly: 0.3, not 0.29999999999999999 */
    snprintf(buf, sz, "%s", csv_format_number(pv->v[i].num, num));
  }
  }
}
