// Quill's single-precision matrix product: see include/QuillKernels.h.
//
// Goto's algorithm, as BLIS writes it. C is computed in MR × NR tiles by a micro-kernel that holds the tile in
// registers (MR = 14 rows of two 16-float vectors: 28 of the 32 zmm registers) and, for each k, loads one row of a
// packed B panel (two aligned vectors) and broadcasts the MR elements of op(A) in that column into the FMAs.
// Around it, the loops:
//
//   for jc over column blocks of nc:        (nc ≤ NC)
//     for pc over depth blocks of kc:       pack op(B)[pc, jc] (kc × nc) into NR-wide panels, each k-major
//       for ic over row blocks of mc:       (mc ≤ MC)
//         for jr over the NR-wide panels:   the B panel (kc × NR, 32 KB at kc = 256) stays in L1
//           for ir over MR-row panels:      micro-kernel: C tile = α·(A panel · B panel) + β·C
//
// The B block (kc × nc, ≤ 1 MB) and the A block (mc × kc, ≤ 56 KB) stay in the core's L2 while they are reused.
// The A block is packed too (MR-row panels, k-major; a last panel of fewer rows padded with zeros), once per block
// and read by every B panel. Reading A in place instead, its MR rows 8 KB apart (dG·Wxᵀ, 2,048 columns) all fall
// in one set of the 12-way L1 and evict each other: side by side on a 2-vCPU Xeon (2026-12-03, two rounds of
// `quill bench kernels`, 2 threads) packing took dG·Wxᵀ from 126 / 93 to 149 / 164 GFLOP/s and X·Wx from 130 / 129
// to 153 / 155, with Xᵀ·dG 146 / 131 against 121 / 168 (noise of ±20% on that machine). B
// panels are padded with zero columns; the micro-kernel writes back only the rows and columns that exist.
//
// Threads. The rows of C (or its columns, where there are more of those) are cut into one contiguous range per
// thread, at multiples of MR (or NR), and each thread runs the loops above on its own range with its own packing
// room. K is never split, and every element of C is computed by the same sequence of operations wherever its tile
// falls (the depth blocks depend on k only; a tile's accumulators start at zero for each depth block and are
// added to C as α·acc + β·C for the first block, α·acc + C for the others), so the result does not depend on the
// number of threads, on which thread ran a range, or on load. The pieces this shares with gemm_bf16.c (the plain
// loops, the transpose, the tile's write-back, the packing room, the cut into ranges) are in gemm_shared.h.
#include "QuillKernels.h"

#include "gemm_shared.h"
#include <stdio.h>
#include <strings.h>

/// The plain-loop product, for CPUs with neither AVX-512 nor AVX2 (the Swift side sends nothing here on those; kept
/// so the function is right on every CPU).
static void sgemm_loops(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_loops(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, 0);
}

int qk_sgemm_preferred(void) {
    static int preferred = -1;
    if (preferred < 0) {
        const char *env = getenv("QUILL_GEMM");
        preferred = !(env && strcasecmp(env, "openblas") == 0);
        if (env && *env && preferred)
            fprintf(stderr, "quill: QUILL_GEMM=\"%s\" is not openblas (the one value it takes); Quill's GEMM takes "
                            "the large products as usual\n", env);
    }
    return preferred;
}

#if defined(__x86_64__)

/// Tile: MR rows × NR columns (NR = two zmm vectors).
#ifndef MR
#define MR 14
#endif
#define NR 32
/// Block sizes: depth KC (the B panel, KC × NR floats, fills two thirds of a 48 KB L1), rows MC (the A block,
/// MC × KC floats = 56 KB), columns NC (the B block, KC × NC floats = 1 MB, in L2). Measured on the products over
/// 2,500 rows (one thread, its CPU time, on a Xeon with 48 KB L1 and 2 MB L2 per core): MC = 56 gave 79–87% of the
/// FMA peak against 74–80% for 168 and 336; KC = 192 lost 2–15%. The #ifndef lets a tuning build try others.
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC (MR * 4)
#endif
#ifndef NC
#define NC 1024
#endif

// MARK: - Packing

/// Transposes up to 16 rows of up to 16 floats: row i (i < count) starts at src + i·stride and holds `width`
/// floats; writes dst[t·dstStride + i] = row i's float t for t < width and the lanes i in `lanes`, with zeros for
/// rows past `count`.
QK_TARGET static void transpose16(const float *src, size_t stride, int count, int width, float *dst,
                                  size_t dstStride, __mmask16 lanes) {
    __m512 t[16];
    load_transposed16(src, stride, count, width, t);
    for (int i = 0; i < width; i++) _mm512_mask_storeu_ps(dst + (size_t)i * dstStride, lanes, t[i]);
}

/// Packs rows [i0, i0 + mc) × depth [p0, p0 + kc) of op(A) into ⌈mc / MR⌉ panels of MR × kc, each stored k-major
/// (panel[k·MR + r]); rows past mc are zeros.
QK_TARGET static void pack_a(int transA, const float *A, int lda, int i0, int mc, int p0, int kc, float *dst) {
    for (int ip = 0; ip < mc; ip += MR, dst += (size_t)MR * kc) {
        int rows = mc - ip < MR ? mc - ip : MR;
        if (transA) {
            // op(A)'s rows are A's columns: for each k, MR consecutive floats of A's row k.
            __mmask16 m = qk_mask(rows);
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(p0 + k) * lda + i0 + ip;
                _mm512_mask_storeu_ps(dst + (size_t)k * MR, (__mmask16)((1u << MR) - 1),
                                      _mm512_maskz_loadu_ps(m, src));
            }
        } else {
            // The panel is the transpose of MR rows of A: 16 × 16 blocks transposed in registers, MR lanes kept.
            const float *src = A + (size_t)(i0 + ip) * lda + p0;
            for (int k = 0; k < kc; k += 16) {
                int width = kc - k < 16 ? kc - k : 16;
                transpose16(src + k, (size_t)lda, rows, width, dst + (size_t)k * MR, MR, (__mmask16)((1u << MR) - 1));
            }
        }
    }
}

/// Packs depth [p0, p0 + kc) × columns [j0, j0 + nc) of op(B) into ⌈nc / NR⌉ panels of kc × NR, each stored
/// k-major (panel[k·NR + j]); columns past nc are zeros.
QK_TARGET static void pack_b(int transB, const float *B, int ldb, int p0, int kc, int j0, int nc, float *dst) {
    for (int jp = 0; jp < nc; jp += NR, dst += (size_t)NR * kc) {
        int cols = nc - jp < NR ? nc - jp : NR;
        if (transB) {
            // op(B)'s columns are B's rows: 16 × 16 blocks, transposed in registers.
            for (int h = 0; h < NR; h += 16) {
                int count = cols - h;
                const float *src = B + (size_t)(j0 + jp + h) * ldb + p0;
                for (int k = 0; k < kc; k += 16) {
                    int width = kc - k < 16 ? kc - k : 16;
                    transpose16(src + k, (size_t)ldb, count, width, dst + (size_t)k * NR + h, NR, 0xFFFF);
                }
            }
        } else {
            __mmask16 m0 = qk_mask(cols), m1 = qk_mask(cols - 16);
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(p0 + k) * ldb + j0 + jp;
                _mm512_store_ps(dst + (size_t)k * NR, _mm512_maskz_loadu_ps(m0, src));
                _mm512_store_ps(dst + (size_t)k * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
            }
        }
    }
}

// MARK: - Micro-kernel

/// C tile (rows × the columns in m0, m1; rows ≤ MR) = α·(a · b) + β·C, where b is a packed kc × NR panel and a a
/// packed MR × kc panel (element (r, k) at a[k·MR + r]). β = 0 does not read C.
QK_TARGET static void tile(int kc, const float *restrict a, const float *restrict b, float *c, size_t ldc, int rows,
                           __mmask16 m0, __mmask16 m1, float alpha, float beta) {
    __m512 c0[MR], c1[MR];
    tile_start(MR, c0, c1, c, ldc, rows);
    _Pragma("clang loop unroll_count(4)")
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b + (size_t)k * NR), b1 = _mm512_load_ps(b + (size_t)k * NR + 16);
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < MR; r++) {
            __m512 x = _mm512_set1_ps(a[(size_t)k * MR + r]);
            c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
        }
    }
    tile_store(MR, c0, c1, c, ldc, rows, m0, m1, alpha, beta);
}

// MARK: - One thread's range

/// C[i0..i1, j0..j1] by the loops of the header comment. Returns 0 when the packing room could not be had. The
/// packing room (pack_room) holds the A block and the B block: at most (MC·KC + KC·NC) floats, about 1.1 MB, per
/// thread that has run a product.
QK_TARGET static int gemm_range(const gemm_args *g, int i0, int i1, int j0, int j1) {
    const int kc0 = g->kc, nc0 = g->nc;
    const int mc0 = MC < ceil_div(i1 - i0, MR) * MR ? MC : ceil_div(i1 - i0, MR) * MR;
    // Room for the A block (its last panel padded to MR rows) and the B block, which starts on a 64-byte boundary:
    // its panels are read with aligned loads.
    const size_t aFloats = ((size_t)mc0 * kc0 + 15) / 16 * 16;
    float *room = pack_room((aFloats + (size_t)kc0 * nc0) * sizeof(float));
    if (!room) return 0;
    float *Ap = room, *Bp = room + aFloats;
    const size_t ldc = (size_t)g->ldc;
    for (int jc = j0; jc < j1; jc += nc0) {
        int nc = j1 - jc < nc0 ? j1 - jc : nc0;
        for (int pc = 0; pc < g->k; pc += kc0) {
            int kc = g->k - pc < kc0 ? g->k - pc : kc0;
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_b(g->transB, g->B, g->ldb, pc, kc, jc, nc, Bp);
            for (int ic = i0; ic < i1; ic += mc0) {
                int mc = i1 - ic < mc0 ? i1 - ic : mc0;
                // Packed once, read by every B panel (the header comment says why A is not read in place).
                pack_a(g->transA, g->A, g->lda, ic, mc, pc, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr;
                    __mmask16 m0 = qk_mask(cols), m1 = qk_mask(cols - 16);
                    const float *b = Bp + (size_t)jr * kc;
                    float *c = g->C + (size_t)ic * ldc + jc + jr;
                    for (int ir = 0; ir < mc; ir += MR)
                        tile(kc, Ap + (size_t)ir * kc, b, c + ir * ldc, ldc, mc - ir < MR ? mc - ir : MR, m0, m1,
                             g->alpha, beta);
                }
            }
        }
    }
    return 1;
}

static void gemm_job(void *p, int tid, int nthreads) {
    gemm_ranges((const gemm_args *)p, tid, nthreads, gemm_range, sgemm_loops);
}

// MARK: - AVX2 + FMA (CPUs without AVX-512)
//
// The same loops with the tile AVX2's 16 registers of 8 lanes allow: MR2 = 6 rows × NR2 = 16 columns (two ymm
// vectors) keep 12 accumulators, two registers for the B row and one for the broadcast, and cover the FMA latency
// of two pipes (5 cycles on a Zen 2: 10 FMAs in flight). Blocks for a 32 KB L1 and a 512 KB L2: the B panel
// (KC2 × 16 floats, 16 KB) stays in L1, the A block (MC2 × KC2 = 144 KB) in L2, the B block (KC2 × NC2 = 1 MB) in
// L3. A is packed by 8 × 8 in-register transposes (by copies where op(A) is Aᵀ), B by copies (by plain loops
// where op(B) is Bᵀ): each reads its operand about once per block.

#ifndef MR2
#define MR2 6
#endif
#define NR2 16
#ifndef KC2
#define KC2 256
#endif
#ifndef MC2
#define MC2 (MR2 * 24)
#endif
#ifndef NC2
#define NC2 1024
#endif

/// Transposes the 8 × 8 block in t: afterwards t[j] holds element j of every former row (lane i = row i).
QK_TARGET_AVX2 static inline void transpose8(__m256 t[8]) {
    __m256 u[8], v[8];
    for (int i = 0; i < 8; i += 2) {
        u[i] = _mm256_unpacklo_ps(t[i], t[i + 1]);
        u[i + 1] = _mm256_unpackhi_ps(t[i], t[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        v[i] = _mm256_shuffle_ps(u[i], u[i + 2], 0x44);
        v[i + 1] = _mm256_shuffle_ps(u[i], u[i + 2], 0xEE);
        v[i + 2] = _mm256_shuffle_ps(u[i + 1], u[i + 3], 0x44);
        v[i + 3] = _mm256_shuffle_ps(u[i + 1], u[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm256_permute2f128_ps(v[i], v[i + 4], 0x20);
        t[i + 4] = _mm256_permute2f128_ps(v[i], v[i + 4], 0x31);
    }
}

/// pack_a with MR2-row panels (panel[k·MR2 + r]; rows past mc zero).
QK_TARGET_AVX2 static void pack_a2(int transA, const float *A, int lda, int i0, int mc, int p0, int kc, float *dst) {
    if (transA) {
        // op(A)'s rows are A's columns: A's row k read once, MR2 floats into each panel, 8 wide (the last two
        // lanes zero, overwritten by the panel's next k; masked at the block's last k, where they would fall into
        // the next panel).
        const int panels = ceil_div(mc, MR2);
        const __m256i six = qk_lanes8(MR2), last = qk_lanes8(mc - (panels - 1) * MR2);
        for (int k = 0; k < kc; k++) {
            const float *src = A + (size_t)(p0 + k) * lda + i0;
            if (k + 4 < kc)
                for (int x = 0; x < mc; x += 16) _mm_prefetch((const char *)(src + 4 * (size_t)lda + x), _MM_HINT_T0);
            float *d = dst + (size_t)k * MR2;
            for (int q = 0; q < panels; q++, src += MR2, d += (size_t)MR2 * kc) {
                const __m256 v = _mm256_maskload_ps(src, q + 1 < panels ? six : last);
                if (k + 1 < kc) _mm256_storeu_ps(d, v);
                else _mm256_maskstore_ps(d, six, v);
            }
        }
        return;
    }
    for (int ip = 0; ip < mc; ip += MR2, dst += (size_t)MR2 * kc) {
        int rows = mc - ip < MR2 ? mc - ip : MR2;
        {
            // 8 × 8 blocks (6 rows and 2 of zeros × 8 k) transposed in registers; column k stored 8 wide at
            // dst + k·MR2, each store's last two floats overwritten by the next (the block's last one masked).
            const float *src = A + (size_t)(i0 + ip) * lda + p0;
            for (int k = 0; k < kc; k += 8) {
                int width = kc - k < 8 ? kc - k : 8;
                const __m256i m = qk_lanes8(width);
                __m256 t[8];
                for (int r = 0; r < rows; r++) _mm_prefetch((const char *)(src + (size_t)r * lda + k + 64), _MM_HINT_T0);
                for (int r = 0; r < 8; r++)
                    t[r] = r < rows ? _mm256_maskload_ps(src + (size_t)r * lda + k, m) : _mm256_setzero_ps();
                transpose8(t);
                const __m256i six = qk_lanes8(MR2);
                for (int q = 0; q < width; q++) {
                    float *d = dst + (size_t)(k + q) * MR2;
                    if (k + q + 1 < kc) _mm256_storeu_ps(d, t[q]);
                    else _mm256_maskstore_ps(d, six, t[q]);
                }
            }
        }
    }
}

/// pack_b with NR2-wide panels (panel[k·NR2 + j]; columns past nc zero).
QK_TARGET_AVX2 static void pack_b2(int transB, const float *B, int ldb, int p0, int kc, int j0, int nc, float *dst) {
    if (!transB) {
        // Row by row, so that B is read in order (its rows are long and often out of the caches).
        const int panels = ceil_div(nc, NR2), tail = nc - (panels - 1) * NR2;
        const __m256i m0 = qk_lanes8(tail), m1 = qk_lanes8(tail - 8);
        for (int k = 0; k < kc; k++) {
            const float *src = B + (size_t)(p0 + k) * ldb + j0;
            float *d = dst + (size_t)k * NR2;
            int q = 0;
            for (; q + 1 < panels; q++, src += NR2, d += (size_t)NR2 * kc) {
                _mm256_store_ps(d, _mm256_loadu_ps(src));
                _mm256_store_ps(d + 8, _mm256_loadu_ps(src + 8));
            }
            _mm256_store_ps(d, _mm256_maskload_ps(src, m0));
            _mm256_store_ps(d + 8, _mm256_maskload_ps(src + 8, m1));
        }
        return;
    }
    // op(B) = Bᵀ: B's rows are op(B)'s columns. Each half panel's 8 columns are read 8 k at a time and transposed
    // in registers (columns past nc zero), so each store writes one k's 8 columns.
    for (int jp = 0; jp < nc; jp += NR2, dst += (size_t)NR2 * kc) {
        for (int h = 0; h < NR2; h += 8) {
            const int cols = nc - jp - h;
            for (int k = 0; k < kc; k += 8) {
                const int width = kc - k < 8 ? kc - k : 8;
                const __m256i m = qk_lanes8(width);
                __m256 t[8];
                for (int j = 0; j < 8; j++)
                    t[j] = j < cols ? _mm256_maskload_ps(B + (size_t)(j0 + jp + h + j) * ldb + p0 + k, m)
                                    : _mm256_setzero_ps();
                transpose8(t);
                for (int q = 0; q < width; q++) _mm256_store_ps(dst + (size_t)(k + q) * NR2 + h, t[q]);
            }
        }
    }
}

/// The AVX2 micro-kernel: C tile (rows ≤ MR2 × cols ≤ NR2) = α·(a · b) + β·C, as `tile` (β = 0 does not read C).
QK_TARGET_AVX2 static void tile2(int kc, const float *restrict a, const float *restrict b, float *c, size_t ldc,
                                 int rows, int cols, float alpha, float beta) {
    __m256 c0[MR2], c1[MR2];
    for (int r = 0; r < rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);
    }
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < MR2; r++) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
    _Pragma("clang loop unroll_count(4)")
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b + (size_t)k * NR2), b1 = _mm256_load_ps(b + (size_t)k * NR2 + 8);
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < MR2; r++) {
            __m256 x = _mm256_broadcast_ss(a + (size_t)k * MR2 + r);
            c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const __m256i m0 = qk_lanes8(cols), m1 = qk_lanes8(cols - 8);
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < MR2; r++) {
        if (r < rows) {
            float *cr = c + r * ldc;
            __m256 o0 = _mm256_mul_ps(c0[r], va), o1 = _mm256_mul_ps(c1[r], va);
            if (beta != 0) {
                o0 = _mm256_fmadd_ps(c0[r], va, _mm256_mul_ps(_mm256_maskload_ps(cr, m0), vb));
                o1 = _mm256_fmadd_ps(c1[r], va, _mm256_mul_ps(_mm256_maskload_ps(cr + 8, m1), vb));
            }
            if (cols == NR2) {
                _mm256_storeu_ps(cr, o0);
                _mm256_storeu_ps(cr + 8, o1);
            } else {
                _mm256_maskstore_ps(cr, m0, o0);
                _mm256_maskstore_ps(cr + 8, m1, o1);
            }
        }
    }
}

/// gemm_range with the AVX2 tile and blocks.
QK_TARGET_AVX2 static int gemm_range2(const gemm_args *g, int i0, int i1, int j0, int j1) {
    const int kc0 = g->kc, nc0 = g->nc;
    const int mc0 = MC2 < ceil_div(i1 - i0, MR2) * MR2 ? MC2 : ceil_div(i1 - i0, MR2) * MR2;
    const size_t aFloats = ((size_t)mc0 * kc0 + 15) / 16 * 16;
    float *room = pack_room((aFloats + (size_t)kc0 * nc0) * sizeof(float));
    if (!room) return 0;
    float *Ap = room, *Bp = room + aFloats;
    const size_t ldc = (size_t)g->ldc;
    for (int jc = j0; jc < j1; jc += nc0) {
        int nc = j1 - jc < nc0 ? j1 - jc : nc0;
        for (int pc = 0; pc < g->k; pc += kc0) {
            int kc = g->k - pc < kc0 ? g->k - pc : kc0;
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_b2(g->transB, g->B, g->ldb, pc, kc, jc, nc, Bp);
            for (int ic = i0; ic < i1; ic += mc0) {
                int mc = i1 - ic < mc0 ? i1 - ic : mc0;
                pack_a2(g->transA, g->A, g->lda, ic, mc, pc, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR2) {
                    int cols = nc - jr < NR2 ? nc - jr : NR2;
                    const float *b = Bp + (size_t)jr * kc;
                    float *c = g->C + (size_t)ic * ldc + jc + jr;
                    for (int ir = 0; ir < mc; ir += MR2)
                        tile2(kc, Ap + (size_t)ir * kc, b, c + ir * ldc, ldc, mc - ir < MR2 ? mc - ir : MR2, cols,
                              g->alpha, beta);
                }
            }
        }
    }
    return 1;
}

static void gemm_job2(void *p, int tid, int nthreads) {
    gemm_ranges((const gemm_args *)p, tid, nthreads, gemm_range2, sgemm_loops);
}

void qk_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc, int threads) {
    if (gemm_trivial(m, n, k, alpha, beta, C, ldc)) return;
    const int level = qk_level();
    if (level == 2) {
        gemm_run(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, threads, balanced_block(k, KC2, 1),
                 balanced_block(n, NC2, NR2), MR2, NR2, gemm_job2);
        return;
    }
    if (level != 3) {
        sgemm_loops(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_run(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, threads, balanced_block(k, KC, 1),
             balanced_block(n, NC, NR), MR, NR, gemm_job);
}

#else

void qk_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc, int threads) {
    (void)threads;
    if (!gemm_trivial(m, n, k, alpha, beta, C, ldc))
        sgemm_loops(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

#endif
