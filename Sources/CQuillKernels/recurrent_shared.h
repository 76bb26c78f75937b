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

/// Most slices a step's units are cut into: one per thread, and one shared 16-unit slice between neighbours.
#define QK_MAX_SLICES (2 * QK_MAX_THREADS - 1)

/// How a step's H hidden units are shared among its `threads = qk_threads_for(H)` planned threads. Thread p's
/// share is units [p·H/threads, (p + 1)·H/threads). The units are cut into `count` slices at multiples of 16
/// (bounds[0] = 0 < … ≤ bounds[count] = H), packed one after another: one slice of its own per thread and, where a
/// boundary p·H/threads is not a multiple of 16, the 16-unit slice around it, shared by rows between the two
/// neighbours: left[s] takes the first rows, in proportion to its units there (leftNths[s]: those units times
/// `threads`, out of 16·threads), right[s] the rest. An unshared slice has left[s] = right[s]. So at H = 400 on 2
/// threads each thread takes 192 units and half the rows of units 192…207, rather than 208 units against 192: the
/// same work for both (a prediction step 2.5–3% faster). No element's operations depend on the cut (each output
/// element sums over k in order whichever tile, rows or thread it falls in), so the results do not depend on the
/// number of threads.
typedef struct {
    int threads, count;
    int bounds[QK_MAX_SLICES + 1];
    int left[QK_MAX_SLICES], right[QK_MAX_SLICES], leftNths[QK_MAX_SLICES];
} qk_slicing;

/// The slicing of H hidden units (see qk_slicing).
QK_INTERNAL void qk_unit_slicing(int H, qk_slicing *sl);

/// Rows [*r0, *r1) of slice s, out of B, that planned thread p takes (*r0 == *r1: none). A shared slice's left
/// thread takes its units' share of the rows, rounded to nearest: B · leftNths / (16 · threads).
static inline void qk_slice_rows(const qk_slicing *sl, int s, int p, int B, int *r0, int *r1) {
    const int l = sl->left[s], r = sl->right[s];
    const int cut = l == r ? B : (int)(((long)sl->leftNths[s] * B + 8L * sl->threads) / (16L * sl->threads));
    *r0 = p == l ? 0 : p == r ? cut : 0;
    *r1 = p == l ? cut : p == r ? B : 0;
}

/// Slice s's packed weights in a packing of `gates` gate blocks (forward and backward packings take the same room
/// per slice: gates·panels·QK_NR·H floats).
QK_INTERNAL const float *qk_slice_panels(const float *packed, int gates, const int *bounds, int s, int H);

/// A job run on `nthreads` threads: thread `tid` handles the work of planned threads tid, tid + nthreads, …
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
