/*
** devices.h -- which devices this build and machine have, by name ("cpu",
** "cuda", "cuda:1"), and their services. The CPU is always there; the CUDA
** device is opened on first use (host/cuda, in a CUDA build only), so that
** a process that never asks for it never starts the CUDA runtime.
*/
#ifndef LUNET_DEVICES_H
#define LUNET_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include <lunet/plugin.h>

/* The device named `name` ("cpu", "cuda" = "cuda:0", "cuda:N"): its
** lunet_device (and GPU index in *index, may be NULL), opened. -1 with
** services_error() saying why: "cuda: lunet was built without CUDA",
** "cuda: no CUDA device found", or an unknown name. */
int device_open(const char *name, int *index);

/* The services of an opened device (LUNET_CPU: always). */
const lunet_device_services *device_services(int device);

/* "cpu" or "cuda". */
const char *device_name(int device);

/* 1 when this build has the CUDA backend. */
int device_cuda_built(void);

/* How many GPUs this machine has (0 without CUDA). */
int device_gpu_count(void);

/* dst[i] += src[i] for i < n, memory of `device`. 0, or -1 with an error. */
int device_accumulate(int device, float *dst, const float *src, int64_t n);

/* What the build holds: "no" or "CUDA 13.0 (runtime), cuBLAS ..., cuDNN ...". */
void device_build_info(char *buf, size_t n);

/* The name of GPU `index` ("NVIDIA H200"), "" when unknown. */
void device_gpu_name(int index, char *buf, size_t n);

#endif
