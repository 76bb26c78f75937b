// The machine's single-precision FMA peak, measured: see include/QuillKernels.h.
//
// Each thread runs 12 independent chains x = x·b + c of the widest FMA this CPU has (chosen at run time), enough
// to hide the FMA latency on two ports; the chains converge to 1, so no denormals slow them. The threads start
// together, warm up (a quarter of the time asked, at least 50 ms), then count blocks of iterations in one window of
// the time asked, the same for every thread (timed_window.h). Turbo clocks included, as the benches see them.
#include "QuillKernels.h"

#include "timed_window.h"

#include <pthread.h>
#include <stdatomic.h>

#define CHAINS 12
#define MAX_PEAK_THREADS 256
/// Iterations between clock reads: a fraction of a millisecond on any of the paths.
#define BLOCK 20000

/// One block of BLOCK iterations over the chains in `state` (CHAINS vectors of `lanes` floats, read and rewritten).
typedef void (*peak_block)(float *state);

// MARK: - Blocks, widest first

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void block_avx512(float *state) {
    __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f), x[CHAINS];
    for (int j = 0; j < CHAINS; j++) x[j] = _mm512_loadu_ps(state + 16 * j);
    for (long i = 0; i < BLOCK; i++) {
        x[0] = _mm512_fmadd_ps(x[0], b, c); x[1] = _mm512_fmadd_ps(x[1], b, c); x[2] = _mm512_fmadd_ps(x[2], b, c);
        x[3] = _mm512_fmadd_ps(x[3], b, c); x[4] = _mm512_fmadd_ps(x[4], b, c); x[5] = _mm512_fmadd_ps(x[5], b, c);
        x[6] = _mm512_fmadd_ps(x[6], b, c); x[7] = _mm512_fmadd_ps(x[7], b, c); x[8] = _mm512_fmadd_ps(x[8], b, c);
        x[9] = _mm512_fmadd_ps(x[9], b, c); x[10] = _mm512_fmadd_ps(x[10], b, c); x[11] = _mm512_fmadd_ps(x[11], b, c);
    }
    for (int j = 0; j < CHAINS; j++) _mm512_storeu_ps(state + 16 * j, x[j]);
}

__attribute__((target("avx2,fma"))) static void block_avx2(float *state) {
    __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f), x[CHAINS];
    for (int j = 0; j < CHAINS; j++) x[j] = _mm256_loadu_ps(state + 8 * j);
    for (long i = 0; i < BLOCK; i++) {
        x[0] = _mm256_fmadd_ps(x[0], b, c); x[1] = _mm256_fmadd_ps(x[1], b, c); x[2] = _mm256_fmadd_ps(x[2], b, c);
        x[3] = _mm256_fmadd_ps(x[3], b, c); x[4] = _mm256_fmadd_ps(x[4], b, c); x[5] = _mm256_fmadd_ps(x[5], b, c);
        x[6] = _mm256_fmadd_ps(x[6], b, c); x[7] = _mm256_fmadd_ps(x[7], b, c); x[8] = _mm256_fmadd_ps(x[8], b, c);
        x[9] = _mm256_fmadd_ps(x[9], b, c); x[10] = _mm256_fmadd_ps(x[10], b, c); x[11] = _mm256_fmadd_ps(x[11], b, c);
    }
    for (int j = 0; j < CHAINS; j++) _mm256_storeu_ps(state + 8 * j, x[j]);
}
#endif

/// 128-bit vectors through the compiler's vector extension (NEON on ARM, SSE elsewhere); fused where the target
/// has an FMA (the C default -ffp-contract=on contracts x·b + c within the statement).
typedef float v4f __attribute__((vector_size(16)));

static void block_v128(float *state) {
    v4f b = { 0.9999f, 0.9999f, 0.9999f, 0.9999f }, c = { 1e-4f, 1e-4f, 1e-4f, 1e-4f }, x[CHAINS];
    for (int j = 0; j < CHAINS; j++) __builtin_memcpy(&x[j], state + 4 * j, sizeof(v4f));
    for (long i = 0; i < BLOCK; i++) {
        for (int j = 0; j < CHAINS; j++) x[j] = x[j] * b + c;
    }
    for (int j = 0; j < CHAINS; j++) __builtin_memcpy(state + 4 * j, &x[j], sizeof(v4f));
}

/// The widest block this CPU runs, and its vector width in bits.
static peak_block choose_block(int *bits) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) { *bits = 512; return block_avx512; }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { *bits = 256; return block_avx2; }
#endif
    *bits = 128;
    return block_v128;
}

// MARK: - Threads

typedef struct {
    peak_block block;
    qk_window window;   // start written before `go`
    _Atomic int ready;
    _Atomic int go;
} peak_shared;

typedef struct {
    peak_shared *shared;
    qk_window_count count;   // iterations in the common window
    float state[CHAINS * 16];
} peak_thread;

static void peak_work(void *p) {
    peak_thread *t = (peak_thread *)p;
    t->shared->block(t->state);
}

static void *peak_main(void *p) {
    peak_thread *t = (peak_thread *)p;
    peak_shared *s = t->shared;
    for (int j = 0; j < CHAINS * 16; j++) t->state[j] = 0.1f;
    atomic_fetch_add(&s->ready, 1);
    while (!atomic_load(&s->go)) { }
    t->count = qk_window_run(&s->window, peak_work, t, BLOCK);
    return NULL;
}

double qk_fma_peak_gflops(int threads, double seconds, int *vectorBits) {
    int bits = 0;
    peak_block block = choose_block(&bits);
    if (vectorBits) *vectorBits = bits;
    if (threads < 1) threads = 1;
    if (threads > MAX_PEAK_THREADS) threads = MAX_PEAK_THREADS;
    if (!(seconds >= 0.001)) seconds = 0.001;   // also catches NaN
    if (seconds > 10) seconds = 10;
    peak_shared shared = { .block = block, .window = { .warmup = qk_window_warmup(seconds), .seconds = seconds } };
    static peak_thread slots[MAX_PEAK_THREADS];
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_t ids[MAX_PEAK_THREADS];
    pthread_mutex_lock(&lock);   // one measurement at a time: the slots are shared, and two would halve each other
    int started = 0;
    for (int i = 1; i < threads; i++) {
        slots[i] = (peak_thread){ .shared = &shared };
        if (pthread_create(&ids[i], NULL, peak_main, &slots[i]) != 0) break;
        started++;
    }
    slots[0] = (peak_thread){ .shared = &shared };
    while (atomic_load(&shared.ready) < started) { }
    shared.window.start = qk_window_now();
    atomic_store(&shared.go, 1);
    peak_main(&slots[0]);
    for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
    qk_window_count all = { 0, 0 };
    for (int i = 0; i <= started; i++) qk_window_join(&all, slots[i].count);
    const double iterationsPerSecond = qk_window_rate(&shared.window, all);
    pthread_mutex_unlock(&lock);
    // A thread that could not be started leaves the figure short of the peak asked for: report none.
    if (started != threads - 1) return 0;
    return iterationsPerSecond * CHAINS * (bits / 32) * 2 / 1e9;
}
