/*
** cuda_services.h -- the CUDA device, as the host's C code sees it
** (cuda_services.cu): its lunet_device_services table once a device is
** found, a caching allocator behind it, copies through pinned staging
** memory, cuBLAS GEMMs, and the few device kernels the host itself needs.
** Only runtime/devices.c includes this, and only in a CUDA build.
**
** Streams: the .cu files are compiled with nvcc --default-stream
** per-thread, and cuBLAS runs on cudaStreamPerThread: all work a thread
** queues (a model's forward, backward, step, copies) runs in that order on
** one stream, and a thread waits only where it reads device memory back.
*/
#ifndef LUNET_CUDA_SERVICES_H
#define LUNET_CUDA_SERVICES_H

#include <stddef.h>
#include <stdint.h>

#include <lunet/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opens GPU `index` (0-based) once: the device's services, or NULL with the
** reason in services_error() ("cuda: no CUDA device found ..."). Later calls
** return the same table; another index after the first is an error. */
const lunet_device_services *cuda_open(int index);

/* GPUs this machine has (0 when none or no driver). */
int cuda_device_count(void);

/* The name of GPU `index` into buf ("NVIDIA H200"); "" when unknown. */
void cuda_device_name(int index, char *buf, size_t n);

/* dst[i] += src[i], i < n, device memory, queued on the stream. */
int cuda_accumulate(float *dst, const float *src, int64_t n);

/* Waits for the work queued so far; 0, or -1 with services_error(). */
int cuda_synchronize(void);

/* "CUDA 13.0 (runtime), cuBLAS 13.0.0, cuDNN 9.19.0 (found at build; no
** layer uses it yet)": what this build holds. */
void cuda_build_info(char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
