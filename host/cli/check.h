/*
** check.h -- plugin conformance checks and finite-difference gradient
** checks: what `lunet check FILE.so [NAME=VALUE ...]` runs, and what the
** tests reuse.
**
** The gradient check compares what a plugin's backward (or a loss's
** gradient) says with central finite differences of its forward (or its loss
** value). A pass means: for every element compared,
**
**     |analytic - numeric| <= GRADCHECK_ATOL * scale
**                             + GRADCHECK_RTOL * max(|analytic|, |numeric|)
**
** where scale = max(1, largest |numeric| of that tensor). check.c explains
** the choice of the step and of the tolerances.
*/
#ifndef LUNET_CHECK_H
#define LUNET_CHECK_H

#include <stdio.h>

#include <lunet/plugin.h>

#include "runtime/params.h"
#include "runtime/registry.h"

#define GRADCHECK_BATCH 3            /* rows of the random batch */
#define GRADCHECK_OUTPUTS 4          /* P: loss predictions per row */
#define GRADCHECK_SEED 0x6c756e6574u /* inputs, projection, init, dropout */
#define GRADCHECK_MAX_ELEMS 200      /* elements compared per tensor at most */
#define GRADCHECK_STEP 1e-3          /* h, relative: h = STEP * max(1, |x|) */
#define GRADCHECK_ATOL 1e-3          /* absolute tolerance, times scale */
#define GRADCHECK_RTOL 1e-2          /* relative tolerance */

typedef struct gradcheck_report {
  int tensors;          /* tensors whose elements were compared */
  int checked;          /* elements compared */
  int failed;           /* elements outside the tolerance */
  int skipped;          /* elements at a kink (e.g. relu at 0), see check.c */
  double max_abs;       /* largest |analytic - numeric| */
  double max_rel;       /* largest |a - n| / max(|a|, |n|), over elements above atol */
  char worst[128];      /* element nearest to (or furthest past) its tolerance */
  double worst_analytic, worst_numeric;
  double worst_ratio;   /* its |a - n| / tolerance: above 1 means it failed */
} gradcheck_report;

/* `lunet check FILE.so [NAME=VALUE ...] [--timeout S]` (argv[0] =
** FILE.so; the rest replace example parameter values): prints one line per
** check, "ok", "warn" or "FAIL", then a summary. 0 when everything passed,
** 1 when something failed, 2 on a usage error (a wrong NAME or VALUE
** included). The file is first loaded in a child process, and each probe
** runs in one, with S seconds each (default: registry_load_timeout()). */
int check_main(int argc, char **argv);

/* Every conformance check of one loaded plugin with its example
** parameters, printed to `out` (NULL: silent; else a stream on a file, as
** the probes' child processes write to it too). Each probe that runs the
** plugin's code does so in a child process, without a time limit: a probe
** that crashes is one failed check, and the probes after it are not run.
** Returns the number of failed checks; *warnings (if not NULL) gets the
** number of warnings. */
int check_plugin(const plugin_entry *pe, FILE *out, int *warnings);

/* The same with over[0..n_over) replacing example values (a name or value
** the plugin refuses fails the checks that build it). */
int check_plugin_params(const plugin_entry *pe, const param_given *over, int n_over, FILE *out,
                        int *warnings);

/* One entry per declared parameter holding its default (for a required
** one, its example value), so that every plugin can be built. Strings point
** into the descriptor. Caller frees the array; *n gets its length. */
param_given *check_example_params(const lunet_plugin *p, int *n);

/* The per-sample input shapes `lunet check` builds a layer for, into
** in[0..count): one input unless the layer declares n_inputs k > 1 (k) or
** -1 (2 to LUNET_MAX_INPUTS: as many as its check_input lists, at least 2).
** Each is the layer's check_input entry, or {5} when that is empty; a
** variadic layer that lists fewer than two gets two {5}. Returns the count,
** or -1 with services_error() when `p` is not a layer. */
int check_layer_inputs(const lunet_plugin *p, lunet_shape in[LUNET_MAX_INPUTS]);

/* Gradient check of a layer built from `given` for per-sample input `in`,
** the same shape for each of its inputs (NULL: check_layer_inputs()). The
** gradient of every float input and every trained parameter is compared;
** token ids (LUNET_TAKES_IDS) are fed as valid random ids and have none.
** Comparing nothing fails, except for a layer that takes only ids and
** trains nothing (pad_mask): it has nothing to differentiate. A layer with
** LUNET_MASK_LAST is checked with its mask, whose gradient is compared too.
** Fills *rep; 0 when it passed, -1 when it failed or could not run, with
** services_error() saying why. */
int gradcheck_layer(const plugin_entry *pe, const param_given *given, int n,
                    const lunet_shape *in, gradcheck_report *rep);

/* Gradient check of a loss on (B, P) predictions, with class-index targets
** and with regression targets, whichever create() accepts (both if both).
** Fails if create() accepts neither. Same results as gradcheck_layer(). */
int gradcheck_loss(const plugin_entry *pe, const param_given *given, int n,
                   gradcheck_report *rep);

/* "63 elements in 3 tensors, max abs error 2e-06, max rel error 3e-05,
** worst weight[3]: analytic 0.12, numeric 0.12" */
void gradcheck_describe(const gradcheck_report *rep, char *buf, size_t sz);

#endif
