// The products of a row block with packed panels, C[M × width] += A[M × K] · panels (recurrent_shared.h: the
// panel layout), that every fused recurrent step runs, once per width: AVX-512 (also used by gemm.c and
// gemm_bf16.c) and AVX2 + FMA. The two are tiled differently because their register files differ: AVX-512 has 32
// registers of 16 lanes, so a tile of 12 rows × the 32 columns of a whole panel keeps 24 accumulators; AVX2 has 16
// registers of 8 lanes, so its tile is 6 or 5 rows × 16 columns (12 or 10 accumulators, two registers for the panel
// row, one for the broadcast). Both sum over k in order, one fused multiply-add per k, so for the same operands
// they give the same bits.
//
// AVX2 tiling. Each tile runs over the whole depth: cutting it into blocks of 128 or 256 so that the half panel
// stays in a 32 KB L1 was slower on a Zen 2 (`quill bench kernels`, 50 × 512: forward 773 / 755 µs and backward
// 713 / 697 µs against 750 and 672 µs unblocked; 32 × 400 backward 312 against 293–298 µs), since L2 feeds the
// panel fast enough and C was read and written once a block. Lanes past a slice's last unit are neither read nor
// written (masked loads and stores).
#include "QuillKernels.h"

#if defined(__x86_64__)

#include "recurrent_shared.h"
#include "vector_math.h"

#define NR QK_NR

// MARK: - AVX-512 microkernels: C[MR × width] += A[MR × K] · panel (width ≤ 32, or ≤ 16 for the one-vector forms)

#define KERNEL2(MR)                                                                                               \
    QK_TARGET static void k2_##MR(int K, const float *A, int lda, const float *P, float *C, int ldc,            \
                                  __mmask16 m1) {                                                                 \
        __m512 c0[MR], c1[MR];                                                                                    \
        _Pragma("clang loop unroll(full)")                                                                        \
        for (int r = 0; r < MR; r++) {                                                                            \
            c0[r] = _mm512_loadu_ps(C + r * ldc);                                                                 \
            c1[r] = _mm512_maskz_loadu_ps(m1, C + r * ldc + 16);                                                  \
        }                                                                                                         \
        for (int k = 0; k < K; k++) {                                                                             \
            __m512 b0 = _mm512_load_ps(P + (size_t)k * NR), b1 = _mm512_load_ps(P + (size_t)k * NR + 16);         \
            _Pragma("clang loop unroll(full)")                                                                    \
            for (int r = 0; r < MR; r++) {                                                                        \
                __m512 a = _mm512_set1_ps(A[r * lda + k]);                                                        \
                c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);                                                            \
                c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);                                                            \
            }                                                                                                     \
        }                                                                                                         \
        _Pragma("clang loop unroll(full)")                                                                        \
        for (int r = 0; r < MR; r++) {                                                                            \
            _mm512_storeu_ps(C + r * ldc, c0[r]);                                                                 \
            _mm512_mask_storeu_ps(C + r * ldc + 16, m1, c1[r]);                                                   \
        }                                                                                                         \
    }

#define KERNEL1(MR)                                                                                               \
    QK_TARGET static void k1_##MR(int K, const float *A, int lda, const float *P, float *C, int ldc,            \
                                  __mmask16 m0) {                                                                 \
        __m512 c0[MR];                                                                                            \
        _Pragma("clang loop unroll(full)")                                                                        \
        for (int r = 0; r < MR; r++) c0[r] = _mm512_maskz_loadu_ps(m0, C + r * ldc);                              \
        for (int k = 0; k < K; k++) {                                                                             \
            __m512 b0 = _mm512_load_ps(P + (size_t)k * NR);                                                       \
            _Pragma("clang loop unroll(full)")                                                                    \
            for (int r = 0; r < MR; r++) c0[r] = _mm512_fmadd_ps(_mm512_set1_ps(A[r * lda + k]), b0, c0[r]);      \
        }                                                                                                         \
        _Pragma("clang loop unroll(full)")                                                                        \
        for (int r = 0; r < MR; r++) _mm512_mask_storeu_ps(C + r * ldc, m0, c0[r]);                               \
    }

KERNEL2(12) KERNEL2(11) KERNEL2(10) KERNEL2(9) KERNEL2(8) KERNEL2(7) KERNEL2(6) KERNEL2(4) KERNEL2(2) KERNEL2(1)
KERNEL1(24) KERNEL1(8) KERNEL1(4) KERNEL1(2) KERNEL1(1)

/// One tile of MR rows (6 to 12) of the two-vector kernel.
QK_TARGET static void k2_rows(int MR, int K, const float *A, int lda, const float *P, float *C, int ldc, __mmask16 m1) {
    switch (MR) {
    case 12: k2_12(K, A, lda, P, C, ldc, m1); break;
    case 11: k2_11(K, A, lda, P, C, ldc, m1); break;
    case 10: k2_10(K, A, lda, P, C, ldc, m1); break;
    case 9: k2_9(K, A, lda, P, C, ldc, m1); break;
    case 8: k2_8(K, A, lda, P, C, ldc, m1); break;
    case 7: k2_7(K, A, lda, P, C, ldc, m1); break;
    default: k2_6(K, A, lda, P, C, ldc, m1); break;
    }
}

QK_TARGET void qk_gemm_panels(int M, int width, int K, const float *A, int lda, const float *P, float *C,
                                  int ldc) {
    for (int p = 0; p * NR < width; p++) {
        int w = width - p * NR;
        const float *Pp = P + (size_t)p * K * NR;
        float *Cp = C + p * NR;
        int r = 0;
        if (w > 16) {
            __mmask16 m1 = qk_mask(w - 16);
            if (M >= 6) {
                // ⌈M / 12⌉ tiles of as equal a size as M allows (6 to 12 rows, each ≥ 12 accumulators, enough for
                // the FMA latency of two pipes): 50 = 5 · 10 and 32 = 11 + 11 + 10 rather than 12s and a 2- or
                // 8-row tail. Each row sums over k in the same order whatever its tile, so the bits do not depend on
                // the tiling.
                const int tiles = (M + 11) / 12, base = M / tiles, larger = M % tiles;
                for (int t = 0; t < tiles; t++) {
                    const int mr = base + (t < larger);
                    k2_rows(mr, K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m1);
                    r += mr;
                }
            }
            for (; r + 4 <= M; r += 4) k2_4(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m1);
            for (; r + 2 <= M; r += 2) k2_2(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m1);
            for (; r < M; r++) k2_1(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m1);
        } else {
            __mmask16 m0 = qk_mask(w);
            for (; r + 24 <= M; r += 24) k1_24(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m0);
            for (; r + 8 <= M; r += 8) k1_8(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m0);
            for (; r + 4 <= M; r += 4) k1_4(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m0);
            for (; r + 2 <= M; r += 2) k1_2(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m0);
            for (; r < M; r++) k1_1(K, A + (size_t)r * lda, lda, Pp, Cp + (size_t)r * ldc, ldc, m0);
        }
    }
}

// MARK: - AVX2 tiles

/// C tile (MR rows × the 16 columns of a half panel, those in m0 / m1) += A rows · the half panel over depth K.
/// P: the half panel's first row (rows NR floats apart, 32-byte aligned). `full`: all 16 columns exist.
#define TILE(MR)                                                                                                  \
    QK_TARGET_AVX2 static void tile_##MR(int K, const float *A, int lda, const float *P, float *C, int ldc,      \
                                         __m256i m0, __m256i m1, int full) {                                      \
        __m256 c0[MR], c1[MR];                                                                                    \
        _Pragma("clang loop unroll(full)")                                                                        \
        for (int r = 0; r < MR; r++) {                                                                            \
            c0[r] = _mm256_maskload_ps(C + r * ldc, m0);                                                          \
            c1[r] = _mm256_maskload_ps(C + r * ldc + 8, m1);                                                      \
        }                                                                                                         \
        _Pragma("clang loop unroll_count(2)")                                                                     \
        for (int k = 0; k < K; k++) {                                                                             \
            __m256 b0 = _mm256_load_ps(P + (size_t)k * NR), b1 = _mm256_load_ps(P + (size_t)k * NR + 8);         \
            _Pragma("clang loop unroll(full)")                                                                    \
            for (int r = 0; r < MR; r++) {                                                                        \
                __m256 a = _mm256_broadcast_ss(A + (size_t)r * lda + k);                                          \
                c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);                                                            \
                c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);                                                            \
            }                                                                                                     \
        }                                                                                                         \
        _Pragma("clang loop unroll(full)")                                                                        \
        for (int r = 0; r < MR; r++) {                                                                            \
            if (full) {                                                                                           \
                _mm256_storeu_ps(C + r * ldc, c0[r]);                                                             \
                _mm256_storeu_ps(C + r * ldc + 8, c1[r]);                                                         \
            } else {                                                                                              \
                _mm256_maskstore_ps(C + r * ldc, m0, c0[r]);                                                      \
                _mm256_maskstore_ps(C + r * ldc + 8, m1, c1[r]);                                                  \
            }                                                                                                     \
        }                                                                                                         \
    }

TILE(6) TILE(5) TILE(4) TILE(2) TILE(1)

/// Asks for the C lines of the tile after the current one (rows [r, r + rows) of these 16 columns, or, past the
/// last row, the first rows of the next 16 columns when `more` columns follow) while the current tile computes: a
/// forward step's C is the input projection of that timestep, written long before and out of the caches, and its
/// loads at a tile's start otherwise stall the tile (C harness, 300 steps of 32 × 400 on a Zen 2, medians of 10
/// alternated runs: a forward step 391 → 344 µs, the backward step as it was).
QK_TARGET_AVX2 static inline void prefetch_next_tile(const float *C, int ldc, int r, int rows, int M, int more) {
    for (int q = r; q < r + rows; q++) {
        const float *c = q < M ? C + (size_t)q * ldc : more ? C + (size_t)(q - M) * ldc + 16 : NULL;
        if (!c) break;
        _mm_prefetch((const char *)c, _MM_HINT_T0);
        _mm_prefetch((const char *)(c + 15), _MM_HINT_T0);
    }
}

/// C[M × width] += A[M × K] (row stride lda) · `width` packed columns (panels of K × NR, k-major; the last one
/// padded with zeros). C has row stride ldc.
QK_TARGET_AVX2 void qk_gemm_panels_avx2(int M, int width, int K, const float *A, int lda, const float *P, float *C,
                                       int ldc) {
    // Rows in tiles of 6 and 5 where M allows (each keeps at least 10 accumulators, enough to cover the FMA latency
    // of two pipes; a tile of 2 rows keeps 4), else 6s and then 4, 2 and 1: 50 = 5·6 + 4·5, 32 = 2·6 + 4·5.
    int sixes = M / 6, fives = 0;
    while (sixes > 0 && (M - 6 * sixes) % 5 != 0) sixes--;
    if ((M - 6 * sixes) % 5 == 0) fives = (M - 6 * sixes) / 5;
    else sixes = M / 6;
    for (int p = 0; p * NR < width; p++) {
        const float *Pp = P + (size_t)p * K * NR;
        for (int h = 0; h < NR; h += 16) {
            int cols = width - p * NR - h;
            if (cols <= 0) break;
            if (cols > 16) cols = 16;
            const __m256i m0 = qk_lanes8(cols), m1 = qk_lanes8(cols - 8);
            const int full = cols == 16;
            float *Ch = C + p * NR + h;
            const float *Ph = Pp + h;
            int r = 0;
            for (int t = 0; t < sixes; t++, r += 6) {
                prefetch_next_tile(Ch, ldc, r + 6, 6, M, width - p * NR - h > 16);
                tile_6(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            }
            for (int t = 0; t < fives; t++, r += 5) {
                prefetch_next_tile(Ch, ldc, r + 5, 5, M, width - p * NR - h > 16);
                tile_5(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            }
            for (; r + 4 <= M; r += 4) tile_4(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            for (; r + 2 <= M; r += 2) tile_2(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            for (; r < M; r++) tile_1(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
        }
    }
}

#endif
