/*
** services.h -- the host side of the plugin ABI: the lunet_host table that
** every plugin receives, the last-error buffer plugins write to, and the
** thread count of the BLAS backend.
*/
#ifndef LUNET_SERVICES_H
#define LUNET_SERVICES_H

#include <lunet/plugin.h>

/* The service table handed to every plugin (and used by the host itself). */
const lunet_host *services_host(void);

/* Fills host->device[device] once that device is opened (runtime/devices.c). */
void services_set_device(int device, const lunet_device_services *s);

/* The message of the last error reported through host->error() or
** services_error(); "" when none. Cleared by services_clear_error(). */
const char *services_last_error(void);
void services_clear_error(void);
void services_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Threads of the BLAS backend: LUNET_THREADS if set, else all cores. */
void services_set_threads(int n);
int services_threads(void);
void services_init_threads(void);

/* The generator itself, for host code. */
void rng_seed(lunet_rng *rng, uint64_t seed);
uint64_t rng_u64(lunet_rng *rng);
double rng_uniform(lunet_rng *rng);
double rng_normal(lunet_rng *rng);

#endif
