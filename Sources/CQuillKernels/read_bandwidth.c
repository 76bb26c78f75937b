// The machine's read bandwidth for a buffer of a given size, measured: see include/QuillKernels.h.
//
// Batch-1 sampling reads every weight once per step and does two FLOPs with each: its speed is set by how fast the
// cores can stream the weights (13 MB for the 3 × 400 network, more than the L2 caches hold), not by the FMA peak.
// This measures that yardstick the way sampling reads: the buffer is cut into one contiguous range per thread, and
// each thread streams its range again and again with vector loads feeding four independent FMA chains (so the
// loads, not the FMAs, are the limit). The threads start together, warm up (a quarter of the time asked, at least
// 50 ms), then count whole passes in one window of the time asked, the same for every thread (timed_window.h).
#include "QuillKernels.h"

#include "timed_window.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BW_THREADS 256

/// One pass over `count` floats (a multiple of 64) at `p`; returns a value that depends on every float read.
typedef float (*bw_pass)(const float *p, size_t count);

typedef float v4f __attribute__((vector_size(16)));

static float pass_v128(const float *p, size_t count) {
    v4f a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, s = { 1e-3f, 1e-3f, 1e-3f, 1e-3f };
    for (size_t i = 0; i < count; i += 16) {
        v4f x0, x1, x2, x3;
        __builtin_memcpy(&x0, p + i, 16); __builtin_memcpy(&x1, p + i + 4, 16);
        __builtin_memcpy(&x2, p + i + 8, 16); __builtin_memcpy(&x3, p + i + 12, 16);
        a0 = a0 + x0 * s; a1 = a1 + x1 * s; a2 = a2 + x2 * s; a3 = a3 + x3 * s;
    }
    v4f t = a0 + a1 + a2 + a3;
    return t[0] + t[1] + t[2] + t[3];
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static float pass_avx512(const float *p, size_t count) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, s = _mm512_set1_ps(1e-3f);
    for (size_t i = 0; i < count; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_load_ps(p + i), s, a0);
        a1 = _mm512_fmadd_ps(_mm512_load_ps(p + i + 16), s, a1);
        a2 = _mm512_fmadd_ps(_mm512_load_ps(p + i + 32), s, a2);
        a3 = _mm512_fmadd_ps(_mm512_load_ps(p + i + 48), s, a3);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx2,fma"))) static float pass_avx2(const float *p, size_t count) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, s = _mm256_set1_ps(1e-3f);
    for (size_t i = 0; i < count; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_load_ps(p + i), s, a0);
        a1 = _mm256_fmadd_ps(_mm256_load_ps(p + i + 8), s, a1);
        a2 = _mm256_fmadd_ps(_mm256_load_ps(p + i + 16), s, a2);
        a3 = _mm256_fmadd_ps(_mm256_load_ps(p + i + 24), s, a3);
    }
    __m256 t = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    float out[8];
    _mm256_storeu_ps(out, t);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
#endif

static bw_pass choose_pass(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return pass_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return pass_avx2;
#endif
    return pass_v128;
}

typedef struct {
    bw_pass pass;
    qk_window window;   // start written before `go`
    _Atomic int ready, go;
} bw_shared;

typedef struct {
    bw_shared *shared;
    const float *begin;
    size_t count;
    qk_window_count bytes;   // bytes read in the common window
    volatile float sink;
} bw_thread;

/// What a pass needs, on the thread's own stack: the threads' slots sit side by side, and a sum written into a
/// slot after every pass would bounce its cache line between the cores (2 KB passes read half as fast).
typedef struct {
    bw_pass pass;
    const float *begin;
    size_t count;
    float sum;
} bw_local;

static void bw_work(void *p) {
    bw_local *l = (bw_local *)p;
    l->sum += l->pass(l->begin, l->count);
}

static void *bw_main(void *p) {
    bw_thread *t = (bw_thread *)p;
    bw_shared *s = t->shared;
    bw_local local = { .pass = s->pass, .begin = t->begin, .count = t->count };
    atomic_fetch_add(&s->ready, 1);
    while (!atomic_load(&s->go)) { }
    t->bytes = qk_window_run(&s->window, bw_work, &local, (double)t->count * sizeof(float));
    t->sink = local.sum;
    return NULL;
}

double qk_read_bandwidth_gbs(int threads, size_t bytes, double seconds) {
    if (threads < 1) threads = 1;
    if (threads > MAX_BW_THREADS) threads = MAX_BW_THREADS;
    if (!(seconds >= 0.001)) seconds = 0.001;   // also catches NaN
    if (seconds > 10) seconds = 10;
    if (bytes < 4096) bytes = 4096;
    if (bytes > ((size_t)1 << 32)) bytes = (size_t)1 << 32;
    size_t count = bytes / sizeof(float) / 64 * 64;
    float *buffer = aligned_alloc(64, count * sizeof(float));
    if (!buffer) return 0;
    for (size_t i = 0; i < count; i++) buffer[i] = (float)(i % 7) * 0.25f;
    bw_shared shared = { .pass = choose_pass(), .window = { .warmup = qk_window_warmup(seconds), .seconds = seconds } };
    bw_thread *slots = calloc((size_t)threads, sizeof(bw_thread));
    pthread_t *ids = calloc((size_t)threads, sizeof(pthread_t));
    if (!slots || !ids) { free(buffer); free(slots); free(ids); return 0; }
    // Ranges of whole 64-float blocks, as even as they come.
    size_t blocks = count / 64;
    for (int i = 0; i < threads; i++) {
        size_t b0 = blocks * (size_t)i / (size_t)threads, b1 = blocks * (size_t)(i + 1) / (size_t)threads;
        slots[i] = (bw_thread){ .shared = &shared, .begin = buffer + b0 * 64, .count = (b1 - b0) * 64 };
    }
    int started = 0;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&ids[i], NULL, bw_main, &slots[i]) != 0) break;
        started++;
    }
    while (atomic_load(&shared.ready) < started) { }
    shared.window.start = qk_window_now();
    atomic_store(&shared.go, 1);
    bw_main(&slots[0]);
    for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
    int complete = started == threads - 1;
    qk_window_count all = { 0, 0 };
    for (int i = 0; i <= started; i++) qk_window_join(&all, slots[i].bytes);
    const double bytesPerSecond = qk_window_rate(&shared.window, all);
    for (int i = 0; i < threads; i++) if (slots[i].count == 0) complete = 0;
    free(buffer); free(slots); free(ids);
    // A thread that could not be started, or had nothing to read, leaves the figure short: report none.
    return complete ? bytesPerSecond / 1e9 : 0;
}
