// Adam's update over float arrays (see include/QuillKernels.h), bit for bit the Swift loop of QuillNumerics'
// Kernels.adam, which calls this for Float: the same operations in the same order, no fused multiply-adds
// (contraction is off in this file), IEEE square root and true division, 16 lanes at a time where the CPU has
// AVX-512, 8 where it has AVX2, a plain loop elsewhere. Each element is updated by exactly one thread, so the
// result does not depend on the thread count. It reads w, g, m, v and writes w, m, v once: bound by memory, so
// the arrays are cut over the kernel threads.
#include "QuillKernels.h"
#include "recurrent_shared.h"
#include "vector_math.h"

#pragma clang fp contract(off)

/// The operands of one update, as every thread sees them.
typedef struct {
    float *w, *m, *v;
    const float *g;
    size_t count;
    float lr, beta1, beta2, eps;
} adam_args;

/// The block of Kernels.sumOfSquares: each block's squares are summed in Float, in order, and the blocks' sums
/// in Double, in order.
#define SUMSQ_BLOCK 4096

/// Elements per unit of qk_parallel_ranges' index (so that counts past 2^31 elements still fit an int).
#define ADAM_BLOCK 64

/// Elements [i0, i1) by the plain loop: the Swift loop's operations, in its order.
static void adam_loop(const adam_args *a, size_t i0, size_t i1) {
    const float b1 = a->beta1, b2 = a->beta2, c1 = 1 - b1, c2 = 1 - b2;
    for (size_t i = i0; i < i1; i++) {
        const float gi = a->g[i];
        const float mi = b1 * a->m[i] + c1 * gi;
        const float vi = b2 * a->v[i] + c2 * gi * gi;
        a->m[i] = mi;
        a->v[i] = vi;
        a->w[i] -= a->lr * mi / (__builtin_sqrtf(vi) + a->eps);
    }
}

#if defined(__x86_64__)

#define QK_W 16
#include "simd_width.h"
#include "optimizer_body.h"
#include "simd_width_end.h"

#define QK_W 8
#include "simd_width.h"
#include "optimizer_body.h"
#include "simd_width_end.h"

#endif

/// One sum of squares as its threads see it: the whole blocks' Float sums go to `sums`.
typedef struct {
    const float *x;
    int blocks;
    float *sums;
} sumsq_args;

/// The Float sums of blocks [first, first + count), one at a time: the Swift loop's operations.
static void sumsq_loop(const float *x, int first, int count, float *out) {
    for (int b = first; b < first + count; b++) {
        const float *p = x + (size_t)b * SUMSQ_BLOCK;
        float s = 0;
        for (int j = 0; j < SUMSQ_BLOCK; j++) s += p[j] * p[j];
        out[b] = s;
    }
}

/// Units of 16 blocks (the widest vector's lanes): [begin, end).
static void sumsq_range(void *context, int begin, int end) {
    const sumsq_args *a = context;
    int first = begin * 16, last = end * 16 < a->blocks ? end * 16 : a->blocks;
#if defined(__x86_64__)
    int level = qk_level();
    if (level == 3) { sumsq_blocks_avx512(a->x, first, last - first, a->sums); return; }
    if (level == 2) { sumsq_blocks_avx2(a->x, first, last - first, a->sums); return; }
#endif
    sumsq_loop(a->x, first, last - first, a->sums);
}

/// Σ x² of `n` floats as QuillNumerics' Kernels.sumOfSquares sums it; `vector`: the whole blocks by the kernels
/// (else all by the plain loop).
static double sum_of_squares(const float *x, size_t n, int vector) {
    double acc = 0;
    // Whole blocks in groups that one index range and a stack array hold, in order.
    enum { GROUP = 1024 };
    size_t whole = n / SUMSQ_BLOCK;
    for (size_t g0 = 0; g0 < whole; g0 += GROUP) {
        int blocks = whole - g0 < GROUP ? (int)(whole - g0) : GROUP;
        float sums[GROUP];
        sumsq_args a = { .x = x + g0 * SUMSQ_BLOCK, .blocks = blocks, .sums = sums };
        if (vector) qk_parallel_ranges((blocks + 15) / 16, 4, sumsq_range, &a);
        else sumsq_loop(a.x, 0, blocks, sums);
        for (int b = 0; b < blocks; b++) acc += (double)sums[b];
    }
    const float *p = x + whole * SUMSQ_BLOCK;
    float s = 0;
    for (size_t j = 0; j < n % SUMSQ_BLOCK; j++) s += p[j] * p[j];
    if (n % SUMSQ_BLOCK) acc += (double)s;
    return acc;
}

double qk_sum_of_squares(const float *x, size_t n) { return sum_of_squares(x, n, 1); }

double qk_sum_of_squares_portable(const float *x, size_t n) { return sum_of_squares(x, n, 0); }

static void adam_range(void *context, int begin, int end) {
    const adam_args *a = context;
    size_t i0 = (size_t)begin * ADAM_BLOCK, i1 = (size_t)end * ADAM_BLOCK;
    if (i1 > a->count) i1 = a->count;
#if defined(__x86_64__)
    int level = qk_level();
    if (level == 3) { adam_span_avx512(a, i0, i1); return; }
    if (level == 2) { adam_span_avx2(a, i0, i1); return; }
#endif
    adam_loop(a, i0, i1);
}

void qk_adam(float *w, const float *g, float *m, float *v, size_t count, float lr, float beta1, float beta2,
             float eps) {
    if (count == 0) return;
    adam_args a = { .w = w, .m = m, .v = v, .g = g, .count = count, .lr = lr, .beta1 = beta1, .beta2 = beta2,
                    .eps = eps };
    size_t blocks = (count + ADAM_BLOCK - 1) / ADAM_BLOCK;
    if (blocks > (size_t)0x7FFFFFFF) {
        // Past what one index range holds: in pieces of 2^31 − 1 blocks.
        for (size_t done = 0; done < count; done += (size_t)0x7FFFFFFF * ADAM_BLOCK) {
            size_t n = count - done < (size_t)0x7FFFFFFF * ADAM_BLOCK ? count - done : (size_t)0x7FFFFFFF * ADAM_BLOCK;
            qk_adam(w + done, g + done, m + done, v + done, n, lr, beta1, beta2, eps);
        }
        return;
    }
    // Below about 64 K elements a thread, waking another costs more than it saves.
    qk_parallel_ranges((int)blocks, 1024, adam_range, &a);
}

void qk_adam_portable(float *w, const float *g, float *m, float *v, size_t count, float lr, float beta1,
                      float beta2, float eps) {
    adam_args a = { .w = w, .m = m, .v = v, .g = g, .count = count, .lr = lr, .beta1 = beta1, .beta2 = beta2,
                    .eps = eps };
    adam_loop(&a, 0, count);
}
