// The pieces Quill's two matrix products share (gemm.c, fp32 operands; gemm_bf16.c, bf16 operands), both
// C = α·op(A)·op(B) + β·C with fp32 sums: the plain loops, the products with nothing to sum, the block-size split,
// the in-register 16 × 16 transpose that packing uses, the start and the write-back of a register tile (MR × 32
// fp32 accumulators), each thread's packing room, and the cut of C into one range of rows (or columns) per thread,
// never of k. Each file keeps its own element type, tile and block sizes (MR, NR, KC, MC, NC), packing,
// micro-kernel loop and blocked loops. Internal to CQuillKernels; everything here is static, so each file that
// includes it has its own copy, and its own packing room per thread. The functions with AVX-512 intrinsics carry
// QK_TARGET (AVX-512F/VL/DQ, FMA), a subset of gemm_bf16.c's QK_TARGET_BF16, so both files can inline them.
#ifndef QUILL_GEMM_SHARED_H
#define QUILL_GEMM_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/// x rounded to the nearest bfloat16 (ties to even), returned as the float it represents; NaN stays NaN (quiet).
static inline float bf16_round(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) b |= 0x00400000u;
    else b += 0x7FFFu + ((b >> 16) & 1u);
    b &= 0xFFFF0000u;
    memcpy(&x, &b, sizeof b);
    return x;
}

/// C = β·C over m × n (β = 0 writes zeros without reading C): the whole product where α = 0 or k = 0.
static void scale_c(int m, int n, float beta, float *C, int ldc) {
    for (int i = 0; i < m; i++) {
        float *row = C + (size_t)i * ldc;
        if (beta == 0) memset(row, 0, sizeof(float) * (size_t)n);
        else for (int j = 0; j < n; j++) row[j] *= beta;
    }
}

/// The products with nothing to sum: returns 1, C done, where m or n ≤ 0 (nothing) or k ≤ 0 or α = 0 (C = β·C);
/// else 0.
static inline int gemm_trivial(int m, int n, int k, float alpha, float beta, float *C, int ldc) {
    if (m <= 0 || n <= 0) return 1;
    if (k <= 0 || alpha == 0) {
        scale_c(m, n, beta, C, ldc);
        return 1;
    }
    return 0;
}

/// The plain-loop product, one dot product per element of C summed in k order; with `bf16`, each operand is
/// rounded by bf16_round first (the products stay exact: two bf16 significands fit in a float's).
static inline __attribute__((always_inline)) void
gemm_loops(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda, const float *B, int ldb,
           float beta, float *C, int ldc, int bf16) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            float s = 0;
            for (int p = 0; p < k; p++) {
                float a = transA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                float b = transB ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                if (bf16) {
                    a = bf16_round(a);
                    b = bf16_round(b);
                }
                s += a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
        }
    }
}

#if defined(__x86_64__)

#include "recurrent_shared.h"
#include "vector_math.h"

static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

/// Splits `length` into the fewest blocks of at most `most`, of equal size rounded up to a multiple of `unit`
/// (the last one shorter): the block size. Depends on `length` only, never on threads.
static int balanced_block(int length, int most, int unit) {
    int blocks = ceil_div(length, most);
    int size = ceil_div(length, blocks);
    return ceil_div(size, unit) * unit;
}

// MARK: - Transpose

/// The 128-bit lane q of both sources, twice each: the immediate of _mm512_shuffle_f32x4.
#define LANE_TWICE(q) ((q) | ((q) << 2) | ((q) << 4) | ((q) << 6))
/// Lanes 0 and 2 of each source: [a.0, a.2, b.0, b.2].
#define LANES_0_2 0x88

/// Loads up to 16 rows of up to 16 floats (row i < count at src + i·stride, `width` floats; zeros elsewhere) and
/// transposes them in registers: t[s] holds float s of every row (lane i = row i).
QK_TARGET static inline void load_transposed16(const float *src, size_t stride, int count, int width, __m512 t[16]) {
    __m512 r[16];
    __mmask16 m = qk_mask(width);
    for (int i = 0; i < 16; i++) r[i] = i < count ? _mm512_maskz_loadu_ps(m, src + i * stride) : _mm512_setzero_ps();
    // Pairs of rows, then pairs of pairs: afterwards r[4g + s] holds, in its 128-bit lane L, the floats 4L + s of
    // rows 4g … 4g + 3.
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
        __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    // Float 4L + s of every row: lane L of r[s], r[4 + s], r[8 + s], r[12 + s], side by side.
#define GATHER_LANE(L)                                                                                            \
    for (int s = 0; s < 4; s++)                                                                                   \
        t[4 * (L) + s] = _mm512_shuffle_f32x4(_mm512_shuffle_f32x4(r[s], r[4 + s], LANE_TWICE(L)),                \
                                              _mm512_shuffle_f32x4(r[8 + s], r[12 + s], LANE_TWICE(L)), LANES_0_2);
    GATHER_LANE(0) GATHER_LANE(1) GATHER_LANE(2) GATHER_LANE(3)
#undef GATHER_LANE
}

// MARK: - Register tile

/// Starts a micro-kernel's tile of `mr` rows × 32 columns: its fp32 accumulators c0 (columns 0–15) and c1 (16–31)
/// at zero, and the lines of the C tile's first `rows` rows fetched, since C is read (β ≠ 0) and written after the
/// loop over k.
QK_TARGET static inline __attribute__((always_inline)) void
tile_start(int mr, __m512 *c0, __m512 *c1, const float *c, size_t ldc, int rows) {
    for (int r = 0; r < rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 31), _MM_HINT_T0);
    }
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < mr; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); }
}

/// Writes a tile's accumulators back: C row r (r < rows ≤ mr), the columns in m0 (0–15) and m1 (16–31),
/// = α·acc + β·C, by one multiply and one FMA per vector; β = 0 gives α·acc and does not read C.
QK_TARGET static inline __attribute__((always_inline)) void
tile_store(int mr, const __m512 *c0, const __m512 *c1, float *c, size_t ldc, int rows, __mmask16 m0, __mmask16 m1,
           float alpha, float beta) {
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (beta == 0) {
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < mr; r++) {
            if (r < rows) {
                _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_mul_ps(c0[r], va));
                _mm512_mask_storeu_ps(c + r * ldc + 16, m1, _mm512_mul_ps(c1[r], va));
            }
        }
    } else {
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < mr; r++) {
            if (r < rows) {
                __m512 o0 = _mm512_maskz_loadu_ps(m0, c + r * ldc), o1 = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);
                _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_fmadd_ps(c0[r], va, _mm512_mul_ps(o0, vb)));
                _mm512_mask_storeu_ps(c + r * ldc + 16, m1, _mm512_fmadd_ps(c1[r], va, _mm512_mul_ps(o1, vb)));
            }
        }
    }
}

// MARK: - Threads

/// One product as its threads see it: the operands, the block sizes and the cut of C into ranges.
typedef struct {
    int transA, transB, m, n, k;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int kc, nc;              // depth and column block sizes, from k and n only
    int splitRows;           // 1: the ranges cut the rows of C; 0: its columns
    int ranges;
    int bounds[QK_MAX_THREADS + 1];
} gemm_args;

/// C[i0..i1, j0..j1] by a file's blocked loops; 0 when the packing room could not be had.
typedef int (*gemm_range_fn)(const gemm_args *g, int i0, int i1, int j0, int j1);
/// A file's plain-loop product (the signature of qk_sgemm without threads).
typedef void (*gemm_loops_fn)(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                              const float *B, int ldb, float beta, float *C, int ldc);

/// This thread's packing room, kept between calls and grown when a call needs more; 64-byte aligned.
static __thread void *packRoom;
static __thread size_t packRoomBytes;

static void *pack_room(size_t bytes) {
    if (bytes > packRoomBytes) {
        bytes = (bytes + 63) / 64 * 64;   // aligned_alloc takes whole multiples of the alignment
        free(packRoom);
        packRoom = aligned_alloc(64, bytes);
        packRoomBytes = packRoom ? bytes : 0;
    }
    return packRoom;
}

/// The body of a qk_job: thread `tid` runs ranges tid, tid + nthreads, … by `range`, and a range whose packing room
/// could not be had by `loops` (slow; the same operands, sums in another order). Inlined into each file's job, so
/// both calls are direct.
static inline __attribute__((always_inline)) void
gemm_ranges(const gemm_args *g, int tid, int nthreads, gemm_range_fn range, gemm_loops_fn loops) {
    for (int s = tid; s < g->ranges; s += nthreads) {
        int lo = g->bounds[s], hi = g->bounds[s + 1];
        if (hi <= lo) continue;
        int ok = g->splitRows ? range(g, lo, hi, 0, g->n) : range(g, 0, g->m, lo, hi);
        if (!ok) {
            if (g->splitRows)
                loops(g->transA, g->transB, hi - lo, g->n, g->k, g->alpha,
                      g->transA ? g->A + lo : g->A + (size_t)lo * g->lda, g->lda, g->B, g->ldb, g->beta,
                      g->C + (size_t)lo * g->ldc, g->ldc);
            else
                loops(g->transA, g->transB, g->m, hi - lo, g->k, g->alpha, g->A, g->lda,
                      g->transB ? g->B + (size_t)lo * g->ldb : g->B + lo, g->ldb, g->beta, g->C + lo, g->ldc);
        }
    }
}

/// C = α·op(A)·op(B) + β·C (the arguments as qk_sgemm's) by `job` on the blocked loops: depth blocks of `kc`,
/// column blocks of `nc`. Cuts C into one range per thread (at most `threads`, ≤ 0 for qk_cpu_threads(), at most
/// QK_MAX_THREADS) at multiples of `mr` rows or `nr` columns: the longer side of C, so the operand every thread
/// packs whole is the smaller one; k is never cut.
static void gemm_run(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc, int threads, int kc, int nc, int mr,
                     int nr, qk_job job) {
    gemm_args g = { .transA = transA, .transB = transB, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
                    .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb, .ldc = ldc, .kc = kc, .nc = nc };
    g.splitRows = m >= n;
    int length = g.splitRows ? m : n, unit = g.splitRows ? mr : nr;
    int units = ceil_div(length, unit);
    if (threads <= 0) threads = qk_cpu_threads();
    if (threads > QK_MAX_THREADS) threads = QK_MAX_THREADS;
    g.ranges = threads < units ? threads : units;
    for (int r = 0; r <= g.ranges; r++) {
        int b = (int)((long)units * r / g.ranges) * unit;
        g.bounds[r] = b < length ? b : length;
    }
    qk_pool_run(job, &g, g.ranges);
}

#endif
#endif
