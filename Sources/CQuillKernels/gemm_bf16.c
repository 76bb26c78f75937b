// Quill's bfloat16 matrix product, opt-in for the large products: see include/QuillKernels.h.
//
// The same product as qk_sgemm (gemm.c), C = α·op(A)·op(B) + β·C in fp32, but both operands are rounded to
// bfloat16 (round to nearest even; NaN stays NaN, quietened) while they are packed, and the products are summed in
// fp32 by VDPBF16PS, which multiplies two pairs of bf16 per 32-bit lane and adds both products to an fp32
// accumulator: twice the multiply-adds of an fp32 FMA per instruction. A product of two bf16 values is exact in
// fp32 (8 + 8 significant bits), so the only roundings are the inputs' and the fp32 sums'.
//
// Layout. Pairs of k are interleaved: a packed element is 32 bits holding bf16(x[2p]) in its low half and
// bf16(x[2p + 1]) in its high half (a depth block of odd length is padded with a zero). Both operands are packed:
//
//   B panel (NR = 32 columns): pair-row p holds the 32 columns' pairs, panel[p·NR + j], 128 bytes = two vectors;
//   A panel (MR = 14 rows):    panel[p·MR + r], one 32-bit pair per row, broadcast into the instruction.
//
// The micro-kernel holds an MR × NR tile of fp32 accumulators in 28 zmm registers, as gemm.c does, and for each
// pair p loads two vectors of B and broadcasts MR pairs of A. Unlike gemm.c, A is packed too: the rounding and the
// pair interleave have to happen somewhere, and packing an A block (mc × kc) once per column block of nc ≤ 1,024
// columns is one pass over it against nc / NR passes of the micro-kernels that read it.
//
// Blocking, threads and bits: gemm.c's loops (jc over NC columns, pc over KC depth, ic over MC rows, jr, ir), with
// KC = 512 k values (256 pairs: a B panel is 32 KB, as gemm.c's at KC = 256 floats). Depth blocks depend on k only
// and are even except the last. The rows (or columns) of C are cut into one range per thread, never k; each tile
// starts from zero for each depth block and is added to C as α·acc + β·C for the first block, α·acc + C for the
// others; so every element is the same sequence of operations whatever the number of threads.
//
// Speed. Whether this beats the fp32 product depends on the CPU's VDPBF16PS. Measured on a Xeon (family 6, model
// 207: Emerald Rapids, AVX512_BF16 but no AMX exposed), one thread, 12–24 independent chains: VDPBF16PS zmm issues
// about 0.47 per cycle (1.31 G/s) against 2 per cycle for VFMADD231PS (5.3–5.7 G/s), with latency about 2.5 times
// the FMA's; so its multiply-add peak is half the fp32 FMA peak (84 against 169–181 GFLOP/s), and this product runs
// at about half the fp32 Quill GEMM (72–77 against 130–150 GFLOP/s on the 2,500-row products, 2 threads), about 90%
// of the VDPBF16PS peak. It pays only where VDPBF16PS runs at the FMA's rate (two multiply-adds per lane per FMA
// slot), hence opt-in. The inner loop is 28 VDPBF16PS, 2 aligned loads and 14 broadcasts per pair of k.
//
// The rounding is done with integer arithmetic (bits + 0x7FFF + lsb, the high 16 bits kept), the same in the
// vector packing and in the plain-loop twin, so both see the same bf16 operands; VDPBF16PS itself treats bf16
// denormals as zero and flushes denormal results, which the plain loops do not (a difference below 2⁻¹²⁶).
//
// The pieces shared with gemm.c (the plain loops, bf16_round, the transpose, the tile's write-back, the packing
// room, the cut into ranges) are in gemm_shared.h.
#include "QuillKernels.h"

#include "gemm_shared.h"

void qk_sgemm_bf16_loops(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc) {
    if (!gemm_trivial(m, n, k, alpha, beta, C, ldc))
        gemm_loops(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, 1);
}

#if defined(__x86_64__)

#include <cpuid.h>

#define QK_TARGET_BF16 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,fma,avx2")))

int qk_bf16_available(void) {
    static int ok = -1;
    if (ok < 0) {
        int has = 0;
        unsigned eax, ebx, ecx, edx;
        // Leaf 7 must exist and report at least subleaf 1; AVX512_BF16 is leaf 7, subleaf 1, EAX bit 5. The compiler
        // takes avx512bf16 to imply AVX512-BW, which every CPU with BF16 has; it is checked all the same.
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) &&
            eax >= 1) {
            __cpuid_count(7, 1, eax, ebx, ecx, edx);
            has = (eax >> 5) & 1u;
        }
        ok = has;
    }
    // The CPU's answer is read once; the cap on the kernels (QUILL_KERNELS, qk_set_level) every time.
    return ok && qk_available();
}

/// Tile: MR rows × NR columns (NR = two zmm vectors of fp32 accumulators).
#define MR 14
#define NR 32
/// Block sizes in k values (KC, even) and rows and columns of C (MC, NC); the #ifndef lets a tuning build try others.
#ifndef KC
#define KC 512
#endif
#ifndef MC
#define MC (MR * 4)
#endif
#ifndef NC
#define NC 1024
#endif

// MARK: - Rounding and packing

/// The floats' bits rounded to bfloat16 in their high halves (ties to even; NaN quietened, sign kept); the low
/// halves are left over.
QK_TARGET_BF16 static inline __m512i round_high(__m512 x) {
    __m512i b = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(b, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF)));
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_or_epi32(r, nan, b, _mm512_set1_epi32(0x00400000));
}

/// Lane-wise pairs: bf16(even) in the low half, bf16(odd) in the high half.
QK_TARGET_BF16 static inline __m512i pair(__m512 even, __m512 odd) {
    __m512i lo = _mm512_srli_epi32(round_high(even), 16);
    // (odd & 0xFFFF0000) | lo: ternary-logic table of (a & c) | b with a = odd, b = lo, c = mask.
    return _mm512_ternarylogic_epi32(round_high(odd), lo, _mm512_set1_epi32((int)0xFFFF0000u), 0xEC);
}

/// Packs up to 16 rows whose k runs along memory (row i < count at src + i·stride, depth [0, kc)) as pairs:
/// dst[p·dstStride + i] for the lanes in `lanes`, p < ⌈kc / 2⌉, with zeros past count and kc.
QK_TARGET_BF16 static void pack_rows_along_k(const float *src, size_t stride, int count, int kc, uint32_t *dst,
                                             size_t dstStride, __mmask16 lanes) {
    for (int k = 0; k < kc; k += 16) {
        __m512 t[16];
        int width = kc - k < 16 ? kc - k : 16;
        load_transposed16(src + k, stride, count, width, t);
        for (int s = 0; s < width; s += 2)
            _mm512_mask_storeu_epi32(dst + (size_t)((k + s) / 2) * dstStride, lanes, pair(t[s], t[s + 1]));
    }
}

/// Packs depth rows whose columns run along memory (depth row p0 + q at src + q·stride, `count` ≤ 16 columns) as
/// pairs: dst[p·dstStride + i] for the lanes in `lanes`, p < ⌈kc / 2⌉, with zeros past count and kc.
QK_TARGET_BF16 static void pack_rows_along_columns(const float *src, size_t stride, int count, int kc,
                                                   uint32_t *dst, size_t dstStride, __mmask16 lanes) {
    __mmask16 m = qk_mask(count);
    for (int q = 0; q < kc; q += 2) {
        __m512 even = _mm512_maskz_loadu_ps(m, src + (size_t)q * stride);
        __m512 odd = q + 1 < kc ? _mm512_maskz_loadu_ps(m, src + (size_t)(q + 1) * stride) : _mm512_setzero_ps();
        _mm512_mask_storeu_epi32(dst + (size_t)(q / 2) * dstStride, lanes, pair(even, odd));
    }
}

/// Packs rows [i0, i0 + mc) × depth [p0, p0 + kc) of op(A) into ⌈mc / MR⌉ panels of ⌈kc / 2⌉ × MR pairs
/// (panel[p·MR + r]); rows past mc are zeros.
QK_TARGET_BF16 static void pack_a(int transA, const float *A, int lda, int i0, int mc, int p0, int kc,
                                  uint32_t *dst) {
    const size_t kp = (size_t)ceil_div(kc, 2);
    const __mmask16 lanes = (__mmask16)((1u << MR) - 1);
    for (int ip = 0; ip < mc; ip += MR, dst += MR * kp) {
        int rows = mc - ip < MR ? mc - ip : MR;
        if (transA) pack_rows_along_columns(A + (size_t)p0 * lda + i0 + ip, (size_t)lda, rows, kc, dst, MR, lanes);
        else pack_rows_along_k(A + (size_t)(i0 + ip) * lda + p0, (size_t)lda, rows, kc, dst, MR, lanes);
    }
}

/// Packs depth [p0, p0 + kc) × columns [j0, j0 + nc) of op(B) into ⌈nc / NR⌉ panels of ⌈kc / 2⌉ × NR pairs
/// (panel[p·NR + j]); columns past nc are zeros.
QK_TARGET_BF16 static void pack_b(int transB, const float *B, int ldb, int p0, int kc, int j0, int nc,
                                  uint32_t *dst) {
    const size_t kp = (size_t)ceil_div(kc, 2);
    for (int jp = 0; jp < nc; jp += NR, dst += NR * kp) {
        int cols = nc - jp < NR ? nc - jp : NR;
        for (int h = 0; h < NR; h += 16) {
            int count = cols - h < 0 ? 0 : cols - h;
            if (transB)
                pack_rows_along_k(B + (size_t)(j0 + jp + h) * ldb + p0, (size_t)ldb, count, kc, dst + h, NR, 0xFFFF);
            else
                pack_rows_along_columns(B + (size_t)p0 * ldb + j0 + jp + h, (size_t)ldb, count, kc, dst + h, NR,
                                        0xFFFF);
        }
    }
}

// MARK: - Micro-kernel

/// C tile (rows × the columns in m0, m1; rows ≤ MR) = α·(a · b) + β·C over kp pairs of k, where a is a packed
/// A panel (kp × MR pairs) and b a packed B panel (kp × NR pairs, 64-byte aligned). β = 0 does not read C.
QK_TARGET_BF16 static void tile(int kp, const uint32_t *restrict a, const uint32_t *restrict b, float *c,
                                size_t ldc, int rows, __mmask16 m0, __mmask16 m1, float alpha, float beta) {
    __m512 c0[MR], c1[MR];
    tile_start(MR, c0, c1, c, ldc, rows);
    _Pragma("clang loop unroll_count(4)")
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR);
        __m512bh b1 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR + 16);
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < MR; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[(size_t)p * MR + r]);
            c0[r] = _mm512_dpbf16_ps(c0[r], x, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], x, b1);
        }
    }
    tile_store(MR, c0, c1, c, ldc, rows, m0, m1, alpha, beta);
}

// MARK: - One thread's range

/// C[i0..i1, j0..j1] by the loops of the header comment. Returns 0 when the packing room could not be had. The
/// packing room (pack_room) holds the A block and the B block: at most (MC·KC/2 + KC/2·NC) pairs, about 1.1 MB, per
/// thread that has run a product.
QK_TARGET_BF16 static int gemm_range(const gemm_args *g, int i0, int i1, int j0, int j1) {
    const int kc0 = g->kc, nc0 = g->nc;
    const int mc0 = MC < ceil_div(i1 - i0, MR) * MR ? MC : ceil_div(i1 - i0, MR) * MR;
    const size_t kp0 = (size_t)ceil_div(kc0, 2);
    // The A block, then the B block on a 64-byte boundary (its panels are read with aligned loads).
    const size_t aWords = ((size_t)mc0 * kp0 + 15) / 16 * 16;
    uint32_t *room = pack_room((aWords + kp0 * (size_t)ceil_div(nc0, NR) * NR) * sizeof(uint32_t));
    if (!room) return 0;
    uint32_t *Ap = room, *Bp = room + aWords;
    const size_t ldc = (size_t)g->ldc;
    for (int jc = j0; jc < j1; jc += nc0) {
        int nc = j1 - jc < nc0 ? j1 - jc : nc0;
        for (int pc = 0; pc < g->k; pc += kc0) {
            int kc = g->k - pc < kc0 ? g->k - pc : kc0, kp = ceil_div(kc, 2);
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_b(g->transB, g->B, g->ldb, pc, kc, jc, nc, Bp);
            for (int ic = i0; ic < i1; ic += mc0) {
                int mc = i1 - ic < mc0 ? i1 - ic : mc0;
                pack_a(g->transA, g->A, g->lda, ic, mc, pc, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr;
                    __mmask16 m0 = qk_mask(cols), m1 = qk_mask(cols - 16);
                    const uint32_t *b = Bp + (size_t)jr * kp;
                    float *c = g->C + (size_t)ic * ldc + jc + jr;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        tile(kp, Ap + (size_t)ir * kp, b, c + ir * ldc, ldc, rows, m0, m1, g->alpha, beta);
                    }
                }
            }
        }
    }
    return 1;
}

static void gemm_job(void *p, int tid, int nthreads) {
    gemm_ranges((const gemm_args *)p, tid, nthreads, gemm_range, qk_sgemm_bf16_loops);
}

void qk_sgemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc, int threads) {
    if (gemm_trivial(m, n, k, alpha, beta, C, ldc)) return;
    if (!qk_bf16_available()) {
        qk_sgemm_bf16_loops(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_run(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, threads, balanced_block(k, KC, 2),
             balanced_block(n, NC, NR), MR, NR, gemm_job);
}

#else

int qk_bf16_available(void) { return 0; }

void qk_sgemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc, int threads) {
    (void)threads;
    qk_sgemm_bf16_loops(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

#endif
