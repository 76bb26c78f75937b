// The pieces every fused recurrent step shares (defined in recurrent_shared.c and panel_product.c; used by
// recurrent_steps.c, and by gemm.c and gemm_bf16.c through gemm_shared.h): the split of the hidden units into
// per-thread slices, the panel layout of the packed recurrent weights, the worker threads with their barrier, and
// the product of a row block with packed panels at each width. Internal to CQuillKernels.
#ifndef QUILL_RECURRENT_SHARED_H
#define QUILL_RECURRENT_SHARED_H

#if defined(__x86_64__)

#include <stddef.h>

/// Columns per packed panel, and the most threads (so slices) a step uses.
#define QK_NR 32
#define QK_MAX_THREADS 8

#define QK_INTERNAL __attribute__((visibility("hidden")))

/// Panels of QK_NR columns needed for `width` columns (the last one padded with zeros).
static inline int qk_panels(int width) { return (width + QK_NR - 1) / QK_NR; }

/// Splits H hidden units into `qk_threads_for(H)` slices: bounds[0] = 0 … bounds[n] = H, inner bounds multiples
/// of 16. Returns n.
QK_INTERNAL int qk_unit_slices(int H, int *bounds);

/// Slice s's packed weights in a packing of `gates` gate blocks (forward and backward packings take the same room
/// per slice: gates·panels·QK_NR·H floats).
QK_INTERNAL const float *qk_slice_panels(const float *packed, int gates, const int *bounds, int s, int H);

/// A job run on `nthreads` threads: thread `tid` handles slices tid, tid + nthreads, …
typedef void (*qk_job)(void *arg, int tid, int nthreads);

/// Runs `job` on up to `nthreads` threads (the caller's as thread 0) and returns when all are done; alone on the
/// caller's thread when the pool is busy.
QK_INTERNAL void qk_pool_run(qk_job job, void *arg, int nthreads);

/// Threads the kernels use, the caller's included: QUILL_THREADS if set, else the online CPUs, capped at
/// QK_MAX_THREADS. Read once.
QK_INTERNAL int qk_cpu_threads(void);

/// Spin barrier among a job's `nthreads` threads.
QK_INTERNAL void qk_pool_barrier(int nthreads);

/// C[M × width] += A[M × K] · `width` packed columns (panels k-major, QK_NR wide).
QK_INTERNAL void qk_gemm_panels(int M, int width, int K, const float *A, int lda, const float *P, float *C, int ldc);

/// The AVX2 + FMA form of qk_gemm_panels (panel_product.c), for the 8-lane steps.
QK_INTERNAL void qk_gemm_panels_avx2(int M, int width, int K, const float *A, int lda, const float *P, float *C,
                                     int ldc);

#endif
#endif
