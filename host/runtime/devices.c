/*
** devices.c -- device names and services; see devices.h. Without CUDA
** (LUNET_WITH_CUDA unset) the CUDA calls become the SPEC's error.
*/
#include "runtime/devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/services.h"
#ifdef LUNET_WITH_CUDA
#include "cuda/cuda_services.h"
#endif

/* "cuda" -> 0, "cuda:3" -> 3; -1 when `name` is not a CUDA device's. */
static int cuda_index(const char *name) {
  if (strcmp(name, "cuda") == 0) return 0;
  if (strncmp(name, "cuda:", 5) != 0 || !name[5]) return -1;
  char *end;
  long i = strtol(name + 5, &end, 10);
  return *end || i < 0 || i > 1024 ? -1 : (int)i;
}

int device_open(const char *name, int *index) {
  if (index) *index = 0;
  if (strcmp(name, "cpu") == 0) return LUNET_CPU;
  int gpu = cuda_index(name);
  if (gpu < 0) {
    services_error("device '%s' is unknown; expected \"cpu\", \"cuda\" or \"cuda:N\"", name);
    return -1;
  }
#ifdef LUNET_WITH_CUDA
  const lunet_device_services *s = cuda_open(gpu);
  if (!s) return -1;
  services_set_device(LUNET_CUDA, s);
  if (index) *index = gpu;
  return LUNET_CUDA;
#else
  services_error("cuda: lunet was built without CUDA");
  return -1;
#endif
}

const lunet_device_services *device_services(int device) {
  return services_host()->device[device];
}

const char *device_name(int device) { return device == LUNET_CUDA ? "cuda" : "cpu"; }

int device_cuda_built(void) {
#ifdef LUNET_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

int device_gpu_count(void) {
#ifdef LUNET_WITH_CUDA
  return cuda_device_count();
#else
  return 0;
#endif
}

void device_gpu_name(int index, char *buf, size_t n) {
#ifdef LUNET_WITH_CUDA
  cuda_device_name(index, buf, n);
#else
  (void)index;
  snprintf(buf, n, "%s", "");
#endif
}

int device_accumulate(int device, float *restrict dst, const float *restrict src, int64_t n) {
#ifdef LUNET_WITH_CUDA
  if (device == LUNET_CUDA) return cuda_accumulate(dst, src, n);
#endif
  (void)device;
  for (int64_t k = 0; k < n; k++) dst[k] += src[k];
  return 0;
}

void device_build_info(char *buf, size_t n) {
#ifdef LUNET_WITH_CUDA
  cuda_build_info(buf, n);
#else
  snprintf(buf, n, "%s", "no (built without CUDA)");
#endif
}
