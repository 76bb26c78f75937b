// The kernels' thread pool: see thread_pool.h.
//
// The caller's thread is thread 0; the others are workers that spin on a generation counter for a short while after
// each job (a recurrent loop posts jobs every few tens of microseconds) and then sleep on a condition variable, so
// they leave the cores to OpenBLAS between passes.
#include "QuillKernels.h"
#include "thread_pool.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

int qk_cpu_threads(void) {
    static int n = 0;
    if (n == 0) {
        const char *env = getenv("QUILL_THREADS");
        int v = env ? atoi(env) : 0;
        if (v <= 0) v = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (v < 1) v = 1;
        if (v > MAX_THREADS) v = MAX_THREADS;
        n = v;
    }
    return n;
}

// MARK: - Thread pool

static struct {
    pthread_t threads[MAX_THREADS];
    int workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic unsigned long generation;
    _Atomic int sleepers;
    _Atomic int done;
    qk_job job;
    void *arg;
    int nthreads;
    // Barrier inside a job.
    _Atomic int arrived;
    _Atomic unsigned long barrierGeneration;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static pthread_once_t poolOnce = PTHREAD_ONCE_INIT;

static void *worker_main(void *p) {
    int tid = (int)(long)p;
    unsigned long seen = 0;
    for (;;) {
        unsigned long g;
        int spins = 0;
        while ((g = atomic_load(&pool.generation)) == seen && spins < 20000) {
            _mm_pause();
            spins++;
        }
        if (g == seen) {
            pthread_mutex_lock(&pool.lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while ((g = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = g;
        if (tid < pool.nthreads) pool.job(pool.arg, tid, pool.nthreads);
        atomic_fetch_add(&pool.done, 1);
    }
    return NULL;
}

static void pool_start(void) {
    pool.workers = qk_cpu_threads() - 1;
    for (int i = 0; i < pool.workers; i++) {
        if (pthread_create(&pool.threads[i], NULL, worker_main, (void *)(long)(i + 1)) != 0) {
            pool.workers = i;
            break;
        }
    }
}

/// One round of waiting in a spin loop: pause, and after a few thousand rounds also yield the core, so that a
/// partner thread that the OS has descheduled (more busy threads than cores) gets to run.
static inline void spin_wait(int *rounds) {
    _mm_pause();
    if (++*rounds > 4096) sched_yield();
}

/// Spin barrier among the job's threads.
void qk_pool_barrier(int nthreads) {
    if (nthreads == 1) return;
    unsigned long g = atomic_load(&pool.barrierGeneration);
    if (atomic_fetch_add(&pool.arrived, 1) == nthreads - 1) {
        atomic_store(&pool.arrived, 0);
        atomic_fetch_add(&pool.barrierGeneration, 1);
    } else {
        int rounds = 0;
        while (atomic_load(&pool.barrierGeneration) == g) spin_wait(&rounds);
    }
}

static pthread_mutex_t runLock = PTHREAD_MUTEX_INITIALIZER;

/// Runs `job` on up to `nthreads` threads (the caller's as thread 0) and returns when all are done. A job run on
/// fewer threads than it has slices loops over them; a caller that finds the pool busy (another thread's model)
/// runs its job alone.
void qk_pool_run(qk_job job, void *arg, int nthreads) {
    pthread_once(&poolOnce, pool_start);
    if (nthreads > pool.workers + 1) nthreads = pool.workers + 1;
    if (nthreads <= 1 || pthread_mutex_trylock(&runLock) != 0) {
        job(arg, 0, 1);
        return;
    }
    pool.job = job;
    pool.arg = arg;
    pool.nthreads = nthreads;
    atomic_store(&pool.done, 0);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    job(arg, 0, nthreads);
    int rounds = 0;
    while (atomic_load(&pool.done) < pool.workers) spin_wait(&rounds);
    pthread_mutex_unlock(&runLock);
}

// MARK: - Parallel ranges for Swift kernels

typedef struct {
    qk_range_fn fn;
    void *context;
    int count;
} range_args;

static void range_job(void *p, int tid, int nthreads) {
    range_args *a = (range_args *)p;
    int begin = (int)((long)a->count * tid / nthreads), end = (int)((long)a->count * (tid + 1) / nthreads);
    if (end > begin) a->fn(a->context, begin, end);
}

void qk_parallel_ranges(int count, int minimumPerThread, qk_range_fn fn, void *context) {
    if (count <= 0) return;
    int n = qk_cpu_threads();
    if (minimumPerThread < 1) minimumPerThread = 1;
    if (n > count / minimumPerThread) n = count / minimumPerThread;
    if (n <= 1) {
        fn(context, 0, count);
        return;
    }
    range_args a = { .fn = fn, .context = context, .count = count };
    qk_pool_run(range_job, &a, n);
}

#else

void qk_parallel_ranges(int count, int minimumPerThread, qk_range_fn fn, void *context) {
    (void)minimumPerThread;
    if (count > 0) fn(context, 0, count);
}

#endif
