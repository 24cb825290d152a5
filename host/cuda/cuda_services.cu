/*
** cuda_services.cu -- the CUDA device's services (lunet_device_services):
** a caching allocator, copies through pinned staging memory, cuBLAS GEMM
** and strided batched GEMM with the CPU's row-major semantics, and the
** host's own accumulate kernel. See cuda_services.h and docs/cuda.md.
**
** Allocator: device memory is never given back to the driver while lunet
** runs. A freed block goes on the free list of its size class (four classes
** per power of two: at most 25% waste) and the next request of that class
** takes it, so after the first batch no cudaMalloc happens (as PyTorch's
** caching allocator). Blocks are reused in stream order: every kernel runs
** on the one per-thread stream, so work queued on a block before its free
** finishes before work queued after its reuse. When cudaMalloc fails, the
** cached blocks are released and it is tried once more.
**
** Determinism: cuBLAS in pedantic fp32 (CUBLAS_PEDANTIC_MATH: no TF32, no
** reduced-precision reductions) unless LUNET_CUDA_TF32=1, and
** CUBLAS_WORKSPACE_CONFIG=:4096:8 (set unless the user set it), which
** cuBLAS needs to pick the same algorithm, with the same reduction order,
** on every run.
*/
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_services.h"
extern "C" {
#include "runtime/services.h"
}

#ifndef LUNET_CUDNN_VERSION
#define LUNET_CUDNN_VERSION ""
#endif

static const cudaStream_t stream = cudaStreamPerThread;

/* Whether `e` is success; else an error naming `what` and 0. */
static int cuda_ok(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return 1;
  services_error("cuda: %s failed: %s", what, cudaGetErrorString(e));
  return 0;
}

/* ---- the caching allocator --------------------------------------------- */

#define N_CLASSES 256 /* 4 per power of two up to 2^63 */

typedef struct block_list {
  void **p;
  int n, cap;
} block_list;

/* Live blocks: pointer -> class, open addressing, linear probing. */
typedef struct live_map {
  void **key;
  int *cls;
  size_t cap, n;
} live_map;

static struct {
  pthread_mutex_t lock;
  block_list free_[N_CLASSES];
  live_map live;
} pool = {PTHREAD_MUTEX_INITIALIZER, {}, {}};

/* The class of a request and its rounded size: 512 bytes at least, then
** multiples of a quarter of the power of two below the size. */
static int size_class(size_t bytes, size_t *rounded) {
  if (bytes <= 512) {
    *rounded = 512;
    return 0;
  }
  int lg = 63 - __builtin_clzll((unsigned long long)bytes); /* 2^lg <= bytes */
  size_t step = ((size_t)1 << lg) / 4, q = (bytes + step - 1) / step; /* q in 4..8 */
  *rounded = q * step;
  return lg * 4 + (int)(q - 4) < N_CLASSES ? lg * 4 + (int)(q - 4) : N_CLASSES - 1;
}

static size_t hash_ptr(const void *p, size_t cap) {
  return (size_t)(((uintptr_t)p >> 8) * 0x9e3779b97f4a7c15ULL) & (cap - 1);
}

static int live_grow(void) {
  live_map old = pool.live, m = {0};
  m.cap = old.cap ? 2 * old.cap : 1024;
  m.key = (void **)calloc(m.cap, sizeof *m.key);
  m.cls = (int *)calloc(m.cap, sizeof *m.cls);
  if (!m.key || !m.cls) {
    free(m.key), free(m.cls);
    return -1;
  }
  for (size_t i = 0; i < old.cap; i++) {
    if (!old.key[i]) continue;
    size_t h = hash_ptr(old.key[i], m.cap);
    while (m.key[h]) h = (h + 1) & (m.cap - 1);
    m.key[h] = old.key[i], m.cls[h] = old.cls[i], m.n++;
  }
  free(old.key), free(old.cls);
  pool.live = m;
  return 0;
}

static int live_put(void *p, int cls) {
  if (2 * (pool.live.n + 1) > pool.live.cap && live_grow()) return -1;
  size_t h = hash_ptr(p, pool.live.cap);
  while (pool.live.key[h]) h = (h + 1) & (pool.live.cap - 1);
  pool.live.key[h] = p, pool.live.cls[h] = cls, pool.live.n++;
  return 0;
}

/* Removes p; its class, or -1 when p is not a live block. Deletion moves
** the later entries of the probe run back (no tombstones). */
static int live_take(void *p) {
  live_map *m = &pool.live;
  if (!m->cap) return -1;
  size_t h = hash_ptr(p, m->cap);
  while (m->key[h] && m->key[h] != p) h = (h + 1) & (m->cap - 1);
  if (!m->key[h]) return -1;
  int cls = m->cls[h];
  m->key[h] = NULL, m->n--;
  for (size_t j = (h + 1) & (m->cap - 1); m->key[j]; j = (j + 1) & (m->cap - 1)) {
    void *k = m->key[j];
    int c = m->cls[j];
    m->key[j] = NULL, m->n--;
    size_t g = hash_ptr(k, m->cap);
    while (m->key[g]) g = (g + 1) & (m->cap - 1);
    m->key[g] = k, m->cls[g] = c, m->n++;
  }
  return cls;
}

static int list_push(block_list *l, void *p) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    void **q = (void **)realloc(l->p, sizeof *q * (size_t)cap);
    if (!q) return -1;
    l->p = q, l->cap = cap;
  }
  l->p[l->n++] = p;
  return 0;
}

/* Gives every cached block back to the driver (after a failed cudaMalloc). */
static void release_cached(void) {
  cudaStreamSynchronize(stream);
  for (int c = 0; c < N_CLASSES; c++) {
    for (int i = 0; i < pool.free_[c].n; i++) cudaFree(pool.free_[c].p[i]);
    pool.free_[c].n = 0;
  }
}

static void dev_free(void *p);

static void *dev_alloc(size_t bytes) {
  size_t rounded;
  int cls = size_class(bytes, &rounded);
  void *p = NULL;
  pthread_mutex_lock(&pool.lock);
  block_list *l = &pool.free_[cls];
  if (l->n) p = l->p[--l->n];
  if (!p && cudaMalloc(&p, rounded) != cudaSuccess) {
    cudaGetLastError(); /* clear it, then retry with the cache emptied */
    release_cached();
    if (cudaMalloc(&p, rounded) != cudaSuccess) p = NULL;
  }
  if (p && live_put(p, cls)) {
    cudaFree(p);
    p = NULL;
  }
  pthread_mutex_unlock(&pool.lock);
  if (!p) {
    cudaGetLastError();
    services_error("cuda: out of device memory allocating %zu bytes", bytes);
    return NULL;
  }
  if (!cuda_ok(cudaMemsetAsync(p, 0, rounded, stream), "zero-filling new device memory")) {
    dev_free(p); /* back to its free list: it was in the live map */
    return NULL;
  }
  return p;
}

static void dev_free(void *p) {
  if (!p) return;
  pthread_mutex_lock(&pool.lock);
  int cls = live_take(p);
  if (cls < 0 || list_push(&pool.free_[cls], p)) cudaFree(p); /* not ours, or no room: give back */
  pthread_mutex_unlock(&pool.lock);
}

/* ---- copies through pinned staging memory ------------------------------ */

#define STAGING_MAX ((size_t)64 << 20) /* bytes of pinned memory at most */

static struct {
  pthread_mutex_t lock;
  void *p;
  size_t bytes;
} staging = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

/* Pinned memory of at least min(want, STAGING_MAX) bytes; its size, 0 on failure. */
static size_t staging_reserve(size_t want) {
  if (want > STAGING_MAX) want = STAGING_MAX;
  if (staging.bytes >= want) return staging.bytes;
  if (staging.p) cudaFreeHost(staging.p);
  staging.p = NULL, staging.bytes = 0;
  if (!cuda_ok(cudaMallocHost(&staging.p, want), "allocating pinned staging memory")) return 0;
  staging.bytes = want;
  return want;
}

/* Host <-> device through the staging buffer, in chunks of its size; each
** chunk waits for the stream (the staging buffer is then free again, and a
** copy to the host has landed when this returns). Pageable memory would
** be staged by the driver all the same, with a synchronisation per copy. */
static int staged_copy(char *dst, const char *src, size_t bytes, int to_device) {
  size_t chunk = staging_reserve(bytes);
  if (!chunk) return -1;
  for (size_t off = 0; off < bytes; off += chunk) {
    size_t n = bytes - off < chunk ? bytes - off : chunk;
    if (to_device) memcpy(staging.p, src + off, n);
    cudaError_t e = cudaMemcpyAsync(to_device ? dst + off : staging.p, to_device ? staging.p : src + off, n,
                                    to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
    if (!cuda_ok(e, to_device ? "copy to the device" : "copy from the device")) return -1;
    if (!to_device) memcpy(dst + off, staging.p, n);
  }
  return 0;
}

/* The first cuBLAS failure not yet reported by a copy (see dev_gemm). */
static thread_local char blas_failure[256];

static int dev_copy(void *dst, const void *src, size_t bytes, int kind) {
  if (blas_failure[0]) {
    services_error("%s", blas_failure);
    blas_failure[0] = '\0';
    return -1;
  }
  if (!bytes) return 0;
  if (kind == LUNET_COPY_ON_DEVICE)
    return cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "copy on the device") ? 0 : -1;
  if (kind != LUNET_COPY_TO_DEVICE && kind != LUNET_COPY_FROM_DEVICE) {
    services_error("cuda: copy of kind %d, expected 0 (to), 1 (from) or 2 (on the device)", kind);
    return -1;
  }
  pthread_mutex_lock(&staging.lock);
  int rc = staged_copy((char *)dst, (const char *)src, bytes, kind == LUNET_COPY_TO_DEVICE);
  pthread_mutex_unlock(&staging.lock);
  return rc;
}

/* ---- cuBLAS ------------------------------------------------------------ */

static cublasHandle_t blas;

/* cuBLAS is column-major, and a row-major (r, c) matrix is the column-major
** (c, r) matrix X^T. So row-major C = op(A) op(B) is column-major
** C^T = op(B)^T op(A)^T: the same call with A and B (and m and n) swapped,
** each keeping its own transpose flag. Errors cannot be returned (the ABI's
** gemm is void, as BLAS's), and a plugin's entry goes on to return 0: so a
** failure is kept (blas_failure) and the next copy on this thread, at the
** latest the step's copy of the output to the host, fails with it, rather
** than the step going on with C left as it was. */
static void blas_failed(const char *call, int batch, int m, int n, int k, cublasStatus_t s) {
  if (!blas_failure[0])
    snprintf(blas_failure, sizeof blas_failure, "cuda: %s (%d of %d x %d x %d) failed: %s", call, batch, m, n, k,
             cublasGetStatusString(s));
  services_error("%s", blas_failure);
}

static void dev_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                     const float *b, int ldb, float beta, float *c, int ldc) {
  cublasStatus_t s = cublasSgemm(blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc);
  if (s != CUBLAS_STATUS_SUCCESS) blas_failed("cublasSgemm", 1, m, n, k, s);
}

static void dev_gemm_batched(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                             int64_t sa, const float *b, int ldb, int64_t sb, float beta, float *c,
                             int ldc, int64_t sc, int batch) {
  cublasStatus_t s = cublasSgemmStridedBatched(blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                               ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb,
                                               sb, a, lda, sa, &beta, c, ldc, sc, batch);
  if (s != CUBLAS_STATUS_SUCCESS) blas_failed("cublasSgemmStridedBatched", batch, m, n, k, s);
}

/* ---- opening the device ------------------------------------------------ */

static const lunet_device_services cuda_table = {
  sizeof(lunet_device_services), LUNET_CUDA, dev_alloc, dev_free, dev_copy, dev_gemm, dev_gemm_batched,
};

int cuda_device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

void cuda_device_name(int index, char *buf, size_t n) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, index) == cudaSuccess) snprintf(buf, n, "%s", prop.name);
  else snprintf(buf, n, "%s", "");
}

static int opened = -1; /* the GPU in use, once opened */

static int start_blas(void) {
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
  if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) {
    services_error("cuda: cuBLAS could not start (cublasCreate failed)");
    return -1;
  }
  const char *tf32 = getenv("LUNET_CUDA_TF32");
  int fast = tf32 && strcmp(tf32, "1") == 0;
  /* both matter: another math mode loses determinism, another stream the order of the work */
  if (cublasSetMathMode(blas, fast ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH) != CUBLAS_STATUS_SUCCESS ||
      cublasSetStream(blas, stream) != CUBLAS_STATUS_SUCCESS) {
    services_error("cuda: cuBLAS could not be set up (cublasSetMathMode or cublasSetStream failed)");
    cublasDestroy(blas);
    return -1;
  }
  return 0;
}

const lunet_device_services *cuda_open(int index) {
  if (opened >= 0 && opened != index) {
    services_error("cuda: this process uses cuda:%d already; one process runs on one GPU", opened);
    return NULL;
  }
  if (opened >= 0) return &cuda_table;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    cudaGetLastError();
    if (e == cudaSuccess || e == cudaErrorNoDevice) services_error("cuda: no CUDA device found");
    else services_error("cuda: no CUDA device found (%s)", cudaGetErrorString(e));
    return NULL;
  }
  if (index >= n) {
    services_error("cuda: no device cuda:%d; this machine has cuda:0 to cuda:%d", index, n - 1);
    return NULL;
  }
  if (!cuda_ok(cudaSetDevice(index), "selecting the device") || start_blas()) return NULL;
  opened = index;
  return &cuda_table;
}

/* ---- the host's kernels ------------------------------------------------ */

/* dst += src    (n) -> (n) */
__global__ void accumulate_kernel(float *dst, const float *src, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] += src[i];
}

int cuda_accumulate(float *dst, const float *src, int64_t n) {
  if (n <= 0) return 0;
  int64_t blocks = (n + 255) / 256;
  accumulate_kernel<<<(unsigned)(blocks < 65535 ? blocks : 65535), 256, 0, stream>>>(dst, src, n);
  return cuda_ok(cudaGetLastError(), "adding gradients") ? 0 : -1;
}

int cuda_synchronize(void) {
  return cuda_ok(cudaStreamSynchronize(stream), "waiting for the device") ? 0 : -1;
}

void cuda_build_info(char *buf, size_t n) {
  const char *dnn = LUNET_CUDNN_VERSION;
  snprintf(buf, n, "CUDA %d.%d (runtime), cuBLAS %d.%d.%d, cuDNN %s", CUDART_VERSION / 1000,
           CUDART_VERSION % 1000 / 10, CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH,
           *dnn ? dnn : "not found at build");
  if (*dnn) snprintf(buf + strlen(buf), n - strlen(buf), " (found at build; no layer uses it yet)");
}
