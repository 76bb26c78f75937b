// The kernels' thread pool, shared by the fused LSTM steps (lstm_step.c), Quill's GEMM (gemm.c) and
// qk_parallel_ranges: internal to CQuillKernels (the Swift side sees only include/QuillKernels.h).
#ifndef QUILL_THREAD_POOL_H
#define QUILL_THREAD_POOL_H

/// Most threads any kernel uses, the caller's included.
#define MAX_THREADS 8

#if defined(__x86_64__)

/// One piece of a job: thread `tid` of `nthreads` (0 is the caller's thread).
typedef void (*qk_job)(void *arg, int tid, int nthreads);

/// Threads the kernels use, the caller's included: QUILL_THREADS if set, else the online CPUs, capped at
/// MAX_THREADS. Read once.
__attribute__((visibility("hidden"))) int qk_cpu_threads(void);

/// Runs `job` on up to `nthreads` threads (the caller's as thread 0) and returns when all are done. A job may be
/// given fewer threads than asked (fewer workers, or the pool busy with another caller's job: then it runs alone,
/// as `job(arg, 0, 1)`), so jobs loop over their pieces with `for (s = tid; s < pieces; s += nthreads)`.
__attribute__((visibility("hidden"))) void qk_pool_run(qk_job job, void *arg, int nthreads);

/// Spin barrier among the `nthreads` threads of the running job.
__attribute__((visibility("hidden"))) void qk_pool_barrier(int nthreads);

#endif
#endif
