// What every fused recurrent step shares (recurrent_shared.h): the kernel level (qk_level, QUILL_KERNELS), the split
// of the hidden units into one slice per thread, the packing of W_h into panels, and the thread pool with its
// barrier. The steps are in recurrent_steps.c, the panel products in panel_product.c; the packing takes any number
// of gate blocks (LSTM 4, GRU 3, RNN 1).
//
// Layout. The hidden units are split into one slice per thread, a multiple of 16 units each. Slice s holds units
// [u_s, u_{s+1}): the columns of those units in each gate block, and the same columns of h, c and dh. Its weights
// are packed in panels of 32 columns, each panel stored k-major (panel[k][0..31]), so a microkernel reads one panel
// row per k with two aligned loads (four at 8 lanes). A slice's last panel may be partly padding (zeros).
//
// Threads: the caller's thread is thread 0; the others are workers that spin on a generation counter for a short
// while after each job (a recurrent loop posts jobs every few tens of microseconds) and then sleep on a condition
// variable, so they leave the cores to OpenBLAS between passes.
#include "QuillKernels.h"

#if defined(__x86_64__)

#include "recurrent_shared.h"
#include "vector_math.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define NR QK_NR
#define MAX_THREADS QK_MAX_THREADS

// MARK: - Configuration

/// The vector kernels this CPU runs (3: AVX-512 F/VL/DQ with FMA; 2: AVX2 with FMA; 0: neither), read once, and
/// the cap on them (env_cap, from QUILL_KERNELS); qk_set_level changes it.
static int qk_cpu_level = -1;
static int qk_level_cap = -1;

static int cpu_level(void) {
    if (qk_cpu_level < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                     __builtin_cpu_supports("avx512dq");
        qk_cpu_level = avx512 ? 3 : avx2 ? 2 : 0;
    }
    return qk_cpu_level;
}

/// The cap QUILL_KERNELS asks for: 0, off, none or portable give 0; avx2 gives 2; unset, empty, avx512 or all give 3
/// (case ignored). Any other value gives 3 and one line on standard error, once. A width the CPU lacks (avx512 on an
/// AVX2 CPU, avx2 or avx512 on one with neither) is taken as a cap, with one line saying what runs instead.
static int env_cap(void) {
    const char *env = getenv("QUILL_KERNELS");
    if (!env || !*env) return 3;
    static const char *const off[] = { "0", "off", "none", "portable" };
    for (size_t i = 0; i < sizeof off / sizeof *off; i++) if (strcasecmp(env, off[i]) == 0) return 0;
    if (strcasecmp(env, "all") == 0) return 3;
    const int asked = strcasecmp(env, "avx2") == 0 ? 2 : strcasecmp(env, "avx512") == 0 ? 3 : 0;
    if (asked) {
        const int cpu = cpu_level();
        if (cpu < asked)
            fprintf(stderr, "quill: QUILL_KERNELS=%s asks for kernels this CPU cannot run (it has %s); running %s\n",
                    env, cpu == 2 ? "AVX2 and FMA, no AVX-512" : "neither AVX2 with FMA nor AVX-512",
                    cpu == 2 ? "the AVX2 kernels" : "the portable code");
        return asked;
    }
    fprintf(stderr, "quill: QUILL_KERNELS=\"%s\" is not one of 0 (or off, none, portable), avx2, avx512 (or all); "
                    "running every kernel this CPU runs\n", env);
    return 3;
}

int qk_level(void) {
    if (qk_level_cap < 0) qk_level_cap = env_cap();
    int cpu = cpu_level();
    return cpu < qk_level_cap ? cpu : qk_level_cap;
}

int qk_cpu_kernel_level(void) { return cpu_level(); }

int qk_set_level(int cap) {
    qk_level();
    qk_level_cap = cap < 0 ? 0 : cap > 3 ? 3 : cap == 1 ? 0 : cap;
    return qk_level();
}

int qk_available(void) { return qk_level() == 3; }

int qk_avx2_available(void) { return qk_level() >= 2; }

int qk_cpu_threads(void) {
    static int n = 0;
    if (n == 0) {
        const char *env = getenv("QUILL_THREADS");
        char *end = NULL;
        long asked = env && *env ? strtol(env, &end, 10) : 0;
        int online = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (online < 1) online = 1;
        int v = online;
        if (env && *env) {
            if (*end != 0 || asked <= 0 || *env < '0' || *env > '9') {
                fprintf(stderr, "quill: QUILL_THREADS=\"%s\" is not a whole number of threads from 1; using the %d "
                                "online CPUs\n", env, online);
            } else if (asked > MAX_THREADS) {
                // One line, also where the 8 taken are more than the online CPUs.
                v = MAX_THREADS;
                if (v > online)
                    fprintf(stderr, "quill: QUILL_THREADS=%s is more than the kernels' %d threads and the %d online "
                                    "CPUs; using %d, which take turns on the CPUs and wait for each other, so steps "
                                    "run slower\n", env, MAX_THREADS, online, MAX_THREADS);
                else
                    fprintf(stderr, "quill: QUILL_THREADS=%s is more than the kernels' %d threads; using %d\n", env,
                            MAX_THREADS, MAX_THREADS);
            } else {
                v = (int)asked;
                if (v > online)
                    fprintf(stderr, "quill: QUILL_THREADS=%s is more than the %d online CPUs; the kernel threads will "
                                    "take turns on them and wait for each other, so steps run slower\n", env, online);
            }
        }
        n = v < MAX_THREADS ? v : MAX_THREADS;
    }
    return n;
}

static int plannedThreads = 0;

int qk_set_step_threads(int threads) {
    int old = plannedThreads;
    plannedThreads = threads >= 1 && threads <= MAX_THREADS ? threads : 0;
    return old;
}

int qk_threads_for(int hidden) {
    int n = plannedThreads > 0 ? plannedThreads : qk_cpu_threads();
    int byUnits = hidden / 32;
    if (byUnits < 1) byUnits = 1;
    return n < byUnits ? n : byUnits;
}

void qk_unit_slicing(int H, qk_slicing *sl) {
    const int n = qk_threads_for(H);
    int c = 0;
    sl->threads = n;
    sl->bounds[0] = 0;
    for (int p = 0; p < n; p++) {
        // Thread p's own slice runs to the 16-unit block that holds the boundary (p + 1)·H/n …
        const long x = (long)(p + 1) * H;                    // the boundary, in units of 1/n
        const int block = p == n - 1 ? H : (int)(x / (16L * n)) * 16;
        const int rem = p == n - 1 ? 0 : (int)(x - (long)block * n);
        sl->left[c] = sl->right[c] = p;
        sl->leftNths[c] = 0;
        sl->bounds[++c] = block;
        // … and shares that block by rows with thread p + 1 when the boundary falls inside it.
        if (rem != 0) {
            sl->left[c] = p;
            sl->right[c] = p + 1;
            sl->leftNths[c] = rem;
            sl->bounds[c + 1] = block + 16;
            c++;
        }
    }
    sl->count = c;
}

#define panels qk_panels

/// Floats before slice s in a packing of `gates` gate blocks.
static size_t slice_offset(int gates, const int *bounds, int s, int H) {
    size_t off = 0;
    for (int r = 0; r < s; r++) off += (size_t)gates * panels(bounds[r + 1] - bounds[r]) * NR * H;
    return off;
}

const float *qk_slice_panels(const float *packed, int gates, const int *bounds, int s, int H) {
    return packed + slice_offset(gates, bounds, s, H);
}

size_t qk_recurrent_packed_count(int gates, int H) {
    qk_slicing sl;
    qk_unit_slicing(H, &sl);
    return slice_offset(gates, sl.bounds, sl.count, H);
}

/// Packs columns [c0, c0+width) of B (K rows, row stride ldb) into panels; `transposed` reads B's transpose, that is
/// element (k, c) is B[c·ldb + k].
static void pack_columns(const float *B, int K, int ldb, int c0, int width, int transposed, float *P) {
    int np = panels(width);
    for (int p = 0; p < np; p++) {
        float *dst = P + (size_t)p * K * NR;
        int w = width - p * NR < NR ? width - p * NR : NR;
        if (transposed) {
            // Column j of the panel is a row of B, written with stride NR: in blocks of 64 k, so the block of the
            // panel being written (8 KB) stays in L1 while the 32 rows are read.
            for (int k0 = 0; k0 < K; k0 += 64) {
                int k1 = k0 + 64 < K ? k0 + 64 : K;
                for (int j = 0; j < NR; j++) {
                    const float *src = B + (size_t)(c0 + p * NR + j) * ldb;
                    if (j < w) for (int k = k0; k < k1; k++) dst[(size_t)k * NR + j] = src[k];
                    else for (int k = k0; k < k1; k++) dst[(size_t)k * NR + j] = 0;
                }
            }
        } else {
            // Row k of the panel is a piece of row k of B: both contiguous.
            for (int k = 0; k < K; k++) {
                const float *src = B + (size_t)k * ldb + c0 + p * NR;
                float *row = dst + (size_t)k * NR;
                for (int j = 0; j < w; j++) row[j] = src[j];
                for (int j = w; j < NR; j++) row[j] = 0;
            }
        }
    }
}

/// A packing of W_h (forward: slice by slice, each slice's gate blocks, each block's panels, K = H rows; backward:
/// slice by slice, each slice's panels of W_hᵀ, K = gates·H rows), cut into one work item per panel so that the
/// kernel threads share it (a training step repacks every layer after each update).
typedef struct {
    const float *wh;
    float *packed;
    int gates, H, backward;
    qk_slicing sl;
} pack_job;

/// Packs the panels numbered [begin, end) in the order of the layout above.
static void pack_range(void *p, int begin, int end) {
    const pack_job *j = p;
    const int H = j->H, G = j->gates * H, K = j->backward ? G : H, blocks = j->backward ? 1 : j->gates;
    int item = 0;
    float *dst = j->packed;
    for (int r = 0; r < j->sl.count && item < end; r++) {
        const int u0 = j->sl.bounds[r], w = j->sl.bounds[r + 1] - u0;
        for (int q = 0; q < blocks; q++)
            for (int c = 0; c < w; c += NR, item++, dst += (size_t)NR * K) {
                if (item < begin || item >= end) continue;
                const int width = w - c < NR ? w - c : NR;
                // Backward: W_hᵀ is (gates·H, H), its column u is row u of W_h.
                if (j->backward) pack_columns(j->wh, G, G, u0 + c, width, 1, dst);
                else pack_columns(j->wh, H, G, q * H + u0 + c, width, 0, dst);
            }
    }
}

/// Both packings, on the kernel threads: panels are independent copies, so the layout and its bits do not depend
/// on which thread packed what.
static void pack_recurrent(const float *wh, int gates, int H, float *packed, int backward) {
    pack_job j = { .wh = wh, .packed = packed, .gates = gates, .H = H, .backward = backward };
    qk_unit_slicing(H, &j.sl);
    int items = 0;
    for (int r = 0; r < j.sl.count; r++) items += panels(j.sl.bounds[r + 1] - j.sl.bounds[r]) * (backward ? 1 : gates);
    qk_parallel_ranges(items, 2, pack_range, &j);
}

void qk_recurrent_pack_forward(const float *wh, int gates, int H, float *packed) {
    pack_recurrent(wh, gates, H, packed, 0);
}

void qk_recurrent_pack_backward(const float *wh, int gates, int H, float *packed) {
    pack_recurrent(wh, gates, H, packed, 1);
}

// MARK: - Products with packed weights (qk_panel_*)

size_t qk_panel_count(int K, int N) { return K > 0 && N > 0 ? (size_t)panels(N) * NR * K : 0; }

void qk_panel_pack(const float *B, int ldb, int transposed, int K, int N, float *packed) {
    if (K > 0 && N > 0) pack_columns(B, K, ldb, 0, N, transposed, packed);
}

/// One product with packed panels as its threads see it.
typedef struct {
    const float *packed, *A;
    float *C;
    int K, N, M, lda, ldc, level;
} panel_multiply_args;

/// Panels [begin, end) of the product: their columns of C.
static void panel_multiply_range(void *context, int begin, int end) {
    const panel_multiply_args *a = context;
    const int c0 = begin * NR, c1 = end * NR < a->N ? end * NR : a->N;
    const float *P = a->packed + (size_t)begin * a->K * NR;
    if (a->level == 3) qk_gemm_panels(a->M, c1 - c0, a->K, a->A, a->lda, P, a->C + c0, a->ldc);
    else qk_gemm_panels_avx2(a->M, c1 - c0, a->K, a->A, a->lda, P, a->C + c0, a->ldc);
}

int qk_panel_multiply(const float *packed, int K, int N, int M, const float *A, int lda, float *C, int ldc) {
    const int level = qk_level();
    if (level < 2) return 0;
    if (M <= 0 || N <= 0 || K <= 0) return 1;
    panel_multiply_args a = { .packed = packed, .A = A, .C = C, .K = K, .N = N, .M = M, .lda = lda, .ldc = ldc,
                              .level = level };
    qk_parallel_ranges(panels(N), 1, panel_multiply_range, &a);
    return 1;
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
    // The caller's MXCSR control bits (rounding, FTZ, DAZ, masks) for the job: workers take them.
    unsigned csr;
    // Barrier inside a job.
    _Atomic int arrived;
    _Atomic unsigned long barrierGeneration;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static pthread_once_t poolOnce = PTHREAD_ONCE_INIT;

/// MXCSR's status flags (the sticky exception bits), kept per thread; the rest are control bits.
#define CSR_FLAGS 0x3Fu
/// FTZ (bit 15) and DAZ (bit 6).
#define CSR_FLUSH 0x8040u

/// Gives this thread the control bits `csr` (keeping its own status flags).
static inline void adopt_csr(unsigned csr) {
    unsigned mine = _mm_getcsr();
    if ((mine & ~CSR_FLAGS) != (csr & ~CSR_FLAGS)) _mm_setcsr((mine & CSR_FLAGS) | (csr & ~CSR_FLAGS));
}

int qk_flush_denormals(int on) {
    unsigned csr = _mm_getcsr();
    _mm_setcsr(on ? csr | CSR_FLUSH : csr & ~CSR_FLUSH);
    return (csr & CSR_FLUSH) == CSR_FLUSH;
}

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
        if (tid < pool.nthreads) {
            adopt_csr(pool.csr);
            pool.job(pool.arg, tid, pool.nthreads);
        }
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

/// A job run on fewer threads than it plans for loops over the planned ones; a caller that finds the pool busy (another
/// thread's model) runs its job alone.
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
    pool.csr = _mm_getcsr();
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

int qk_level(void) { return 0; }
int qk_cpu_kernel_level(void) { return 0; }
int qk_set_level(int level) { (void)level; return 0; }
int qk_available(void) { return 0; }
int qk_avx2_available(void) { return 0; }
void qk_parallel_ranges(int count, int minimumPerThread, qk_range_fn fn, void *context) {
    (void)minimumPerThread;
    if (count > 0) fn(context, 0, count);
}
int qk_threads_for(int hidden) { (void)hidden; return 1; }
int qk_set_step_threads(int threads) { (void)threads; return 0; }
int qk_flush_denormals(int on) { (void)on; return 0; }
size_t qk_recurrent_packed_count(int gates, int hidden) { (void)gates; (void)hidden; return 0; }
size_t qk_panel_count(int K, int N) { (void)K; (void)N; return 0; }
void qk_panel_pack(const float *B, int ldb, int transposed, int K, int N, float *packed) {
    (void)B; (void)ldb; (void)transposed; (void)K; (void)N; (void)packed;
}
int qk_panel_multiply(const float *packed, int K, int N, int M, const float *A, int lda, float *C, int ldc) {
    (void)packed; (void)K; (void)N; (void)M; (void)A; (void)lda; (void)C; (void)ldc;
    return 0;
}
void qk_recurrent_pack_forward(const float *wh, int gates, int hidden, float *packed) {
    (void)wh; (void)gates; (void)hidden; (void)packed;
}
void qk_recurrent_pack_backward(const float *wh, int gates, int hidden, float *packed) {
    (void)wh; (void)gates; (void)hidden; (void)packed;
}

#endif
