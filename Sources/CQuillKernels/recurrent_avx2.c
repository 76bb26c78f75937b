// The AVX2 twins of the fused recurrent steps (LSTM in lstm_step.c, GRU and plain RNN in cell_steps.c), for CPUs
// with AVX2 and FMA but no AVX-512 (AMD Zen 2, Intel before Skylake-SP): the same slices of hidden units per
// thread, the same packed panels of W_h and W_hᵀ (32 columns, k-major), the same thread pool and barrier, and the
// same maths as the 16-lane kernels, 8 lanes at a time. The entry points of lstm_step.c and cell_steps.c send a step
// here where qk_level() is 2.
//
// Panel product. A panel's 32 columns are taken as two halves of 16 (two ymm vectors); a register tile is 6 or 5
// rows × 16 columns (12 or 10 of the 16 ymm registers accumulate, two hold the panel row, one the broadcast), then
// 4, 2 and 1 rows for batches that are no sum of 6s and 5s. Each tile runs over the whole depth: cutting it into
// blocks of 128 or 256 so that the half panel stays in a 32 KB L1 was slower on a Zen 2 (`quill bench kernels`,
// 50 × 512: forward 773 / 755 µs and backward 713 / 697 µs against 750 and 672 µs unblocked; 32 × 400 backward 312
// against 293–298 µs), since L2 feeds the panel fast enough and C was read and written once a block. Lanes past a
// slice's last unit are neither read nor written (masked loads and stores).
//
// Vector maths: vector_math.h's 8-lane forms. Like the 16-lane kernels, these agree with the portable path (QuillNN's
// CellKernels) to Float rounding, not bit for bit.
#include "QuillKernels.h"

#if defined(__x86_64__)

#include "recurrent_shared.h"
#include "vector_math.h"
#include <string.h>

#define NR QK_NR

QK_TARGET_AVX2 static inline __m256 clamp(__m256 v, float limit) {
    return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-limit)), _mm256_set1_ps(limit));
}

// MARK: - Panel product: C[M × width] += A[M × K] · packed panels

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

/// C[M × width] += A[M × K] (row stride lda) · `width` packed columns (panels of K × NR, k-major; the last one
/// padded with zeros). C has row stride ldc.
QK_TARGET_AVX2 static void gemm_panels(int M, int width, int K, const float *A, int lda, const float *P, float *C,
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
            const __m256i m0 = lanes8(cols), m1 = lanes8(cols - 8);
            const int full = cols == 16;
            float *Ch = C + p * NR + h;
            const float *Ph = Pp + h;
            int r = 0;
            for (int t = 0; t < sixes; t++, r += 6)
                tile_6(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            for (int t = 0; t < fives; t++, r += 5)
                tile_5(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            for (; r + 4 <= M; r += 4) tile_4(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            for (; r + 2 <= M; r += 2) tile_2(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
            for (; r < M; r++) tile_1(K, A + (size_t)r * lda, lda, Ph, Ch + (size_t)r * ldc, ldc, m0, m1, full);
        }
    }
}

// MARK: - Steps

/// One step's operands as every thread sees them (the union of what the LSTM, GRU and RNN steps take).
typedef struct {
    const float *packed;
    int B, H, relu;
    int bounds[QK_MAX_THREADS + 1];
    int slices;
    float clip;
    // LSTM
    const float *hPrev, *cPrev, *peep, *tanhCIn, *dhExt;
    float *gates, *c, *tanhC, *h, *dh, *dc, *dGates;
    // GRU and RNN
    const float *biasH, *act, *hgIn, *hOut;
    float *pre, *hg, *dPre, *dhg;
} step2;

typedef void (*slice_fn)(step2 *a, int s);

/// Runs `job` over the slices of `a->H` units.
static void run_slices(step2 *a, qk_job job) {
    a->slices = qk_unit_slices(a->H, a->bounds);
    qk_pool_run(job, a, a->slices);
}

/// Backward, second half: once every thread's gradients dRec (B, gates·H) are in, this thread's columns of dh_{t−1}
/// += dRec · W_hᵀ.
static void carry_dh(step2 *a, int tid, int nthreads, int gates, const float *dRec) {
    const int H = a->H, G = gates * H;
    qk_pool_barrier(nthreads);
    for (int s = tid; s < a->slices; s += nthreads) {
        int u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
        if (w > 0) gemm_panels(a->B, w, G, dRec, G, qk_slice_panels(a->packed, gates, a->bounds, s, H), a->dh + u0, H);
    }
}

/// The gradient reaching h: the carried dh plus the external one (NULL for none).
QK_TARGET_AVX2 static inline __m256 total_dh(const float *dh, const float *ext, int rem) {
    __m256 d = ld8(dh, rem);
    return ext ? _mm256_add_ps(d, ld8(ext, rem)) : d;
}

// MARK: LSTM (Graves eqs. 7–11, peepholes optional)

QK_TARGET_AVX2 static void lstm_forward_slice(step2 *a, int s) {
    const int B = a->B, H = a->H, G = 4 * H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    if (w <= 0) return;
    const float *P = qk_slice_panels(a->packed, 4, a->bounds, s, H);
    const size_t gateStride = (size_t)qk_panels(w) * NR * H;
    for (int q = 0; q < 4; q++) gemm_panels(B, w, H, a->hPrev, H, P + q * gateStride, a->gates + q * H + u0, G);
    for (int b = 0; b < B; b++) {
        float *gi = a->gates + (size_t)b * G + u0, *gf = gi + H, *gg = gf + H, *go = gg + H;
        const float *cp = a->cPrev + (size_t)b * H + u0;
        float *cb = a->c + (size_t)b * H + u0, *tb = a->tanhC + (size_t)b * H + u0, *hb = a->h + (size_t)b * H + u0;
        for (int j = 0; j < w; j += 8) {
            const int n = w - j;
            __m256 vc = ld8(cp + j, n), xi = ld8(gi + j, n), xf = ld8(gf + j, n), xg = ld8(gg + j, n), xo = ld8(go + j, n);
            if (a->peep) {
                const float *pp = a->peep + u0 + j;
                xi = _mm256_fmadd_ps(ld8(pp, n), vc, xi);
                xf = _mm256_fmadd_ps(ld8(pp + H, n), vc, xf);
            }
            __m256 i = v8_sigmoid(xi), f = v8_sigmoid(xf), g = v8_tanh(xg);
            __m256 cn = _mm256_fmadd_ps(f, vc, _mm256_mul_ps(i, g));
            if (a->peep) xo = _mm256_fmadd_ps(ld8(a->peep + 2 * H + u0 + j, n), cn, xo);
            __m256 o = v8_sigmoid(xo), tc = v8_tanh(cn);
            st8(gi + j, n, i);
            st8(gf + j, n, f);
            st8(gg + j, n, g);
            st8(go + j, n, o);
            st8(cb + j, n, cn);
            st8(tb + j, n, tc);
            st8(hb + j, n, _mm256_mul_ps(o, tc));
        }
    }
}

QK_TARGET_AVX2 static void lstm_backward_gates(step2 *a, int s) {
    const int B = a->B, H = a->H, G = 4 * H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    const __m256 one = _mm256_set1_ps(1.0f);
    const int clip = a->clip > 0;
    for (int b = 0; b < B && w > 0; b++) {
        const float *gi = a->gates + (size_t)b * G + u0, *gf = gi + H, *gg = gf + H, *go = gg + H;
        float *di = a->dGates + (size_t)b * G + u0, *df = di + H, *dg = df + H, *dout = dg + H;
        const float *cp = a->cPrev + (size_t)b * H + u0, *tb = a->tanhCIn + (size_t)b * H + u0;
        float *dhb = a->dh + (size_t)b * H + u0, *dcb = a->dc + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        for (int j = 0; j < w; j += 8) {
            const int n = w - j;
            __m256 i = ld8(gi + j, n), f = ld8(gf + j, n), g = ld8(gg + j, n), o = ld8(go + j, n);
            __m256 tc = ld8(tb + j, n), c0 = ld8(cp + j, n), d = total_dh(dhb + j, ext ? ext + j : NULL, n);
            __m256 dO = _mm256_mul_ps(_mm256_mul_ps(d, tc), _mm256_mul_ps(o, _mm256_sub_ps(one, o)));
            __m256 dcs = _mm256_fmadd_ps(_mm256_mul_ps(d, o), _mm256_fnmadd_ps(tc, tc, one), ld8(dcb + j, n));
            if (a->peep) dcs = _mm256_fmadd_ps(dO, ld8(a->peep + 2 * H + u0 + j, n), dcs);
            __m256 dI = _mm256_mul_ps(_mm256_mul_ps(dcs, g), _mm256_mul_ps(i, _mm256_sub_ps(one, i)));
            __m256 dF = _mm256_mul_ps(_mm256_mul_ps(dcs, c0), _mm256_mul_ps(f, _mm256_sub_ps(one, f)));
            __m256 dG = _mm256_mul_ps(_mm256_mul_ps(dcs, i), _mm256_fnmadd_ps(g, g, one));
            __m256 dcn = _mm256_mul_ps(dcs, f);
            if (a->peep) {
                dcn = _mm256_fmadd_ps(dI, ld8(a->peep + u0 + j, n), dcn);
                dcn = _mm256_fmadd_ps(dF, ld8(a->peep + H + u0 + j, n), dcn);
            }
            if (clip) {
                dI = clamp(dI, a->clip);
                dF = clamp(dF, a->clip);
                dG = clamp(dG, a->clip);
                dO = clamp(dO, a->clip);
            }
            st8(di + j, n, dI);
            st8(df + j, n, dF);
            st8(dg + j, n, dG);
            st8(dout + j, n, dO);
            st8(dcb + j, n, dcn);
            // This thread's columns of dh are rewritten by carry_dh, after every thread's dG is in.
            st8(dhb + j, n, _mm256_setzero_ps());
        }
    }
}

// MARK: GRU (gates r, z, n; n = tanh(x_n + r ⊙ (h·W_hn + b_hn)))

QK_TARGET_AVX2 static void gru_forward_slice(step2 *a, int s) {
    const int B = a->B, H = a->H, G = 3 * H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    if (w <= 0) return;
    const float *P = qk_slice_panels(a->packed, 3, a->bounds, s, H);
    const size_t gateStride = (size_t)qk_panels(w) * NR * H;
    for (int b = 0; b < B; b++)
        for (int q = 0; q < 3; q++) memset(a->hg + (size_t)b * G + q * H + u0, 0, (size_t)w * sizeof(float));
    for (int q = 0; q < 3; q++) gemm_panels(B, w, H, a->hPrev, H, P + q * gateStride, a->hg + q * H + u0, G);
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int b = 0; b < B; b++) {
        float *xr = a->pre + (size_t)b * G + u0, *xz = xr + H, *xn = xz + H;
        float *hr = a->hg + (size_t)b * G + u0, *hz = hr + H, *hn = hz + H;
        const float *br = a->biasH + u0, *bz = br + H, *bn = bz + H;
        const float *hp = a->hPrev + (size_t)b * H + u0;
        float *hb = a->h + (size_t)b * H + u0;
        for (int j = 0; j < w; j += 8) {
            const int n = w - j;
            // hg = h·W_h + b_h, kept for backward.
            __m256 vr = _mm256_add_ps(ld8(hr + j, n), ld8(br + j, n));
            __m256 vz = _mm256_add_ps(ld8(hz + j, n), ld8(bz + j, n));
            __m256 vn = _mm256_add_ps(ld8(hn + j, n), ld8(bn + j, n));
            st8(hr + j, n, vr);
            st8(hz + j, n, vz);
            st8(hn + j, n, vn);
            __m256 r = v8_sigmoid(_mm256_add_ps(ld8(xr + j, n), vr));
            __m256 z = v8_sigmoid(_mm256_add_ps(ld8(xz + j, n), vz));
            __m256 nn = v8_tanh(_mm256_fmadd_ps(r, vn, ld8(xn + j, n)));
            __m256 hNew = _mm256_fmadd_ps(z, ld8(hp + j, n), _mm256_mul_ps(_mm256_sub_ps(one, z), nn));
            st8(xr + j, n, r);
            st8(xz + j, n, z);
            st8(xn + j, n, nn);
            st8(hb + j, n, hNew);
        }
    }
}

QK_TARGET_AVX2 static void gru_backward_gates(step2 *a, int s) {
    const int B = a->B, H = a->H, G = 3 * H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    const __m256 one = _mm256_set1_ps(1.0f);
    const int clip = a->clip > 0;
    for (int b = 0; b < B && w > 0; b++) {
        const float *ar = a->act + (size_t)b * G + u0, *az = ar + H, *an = az + H;
        const float *hn = a->hgIn + (size_t)b * G + 2 * H + u0;
        float *dxr = a->dPre + (size_t)b * G + u0, *dhr = a->dhg + (size_t)b * G + u0;
        const float *hp = a->hPrev + (size_t)b * H + u0;
        float *dhb = a->dh + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        for (int j = 0; j < w; j += 8) {
            const int n = w - j;
            __m256 r = ld8(ar + j, n), z = ld8(az + j, n), nv = ld8(an + j, n);
            __m256 d = total_dh(dhb + j, ext ? ext + j : NULL, n);
            __m256 dn = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_sub_ps(one, z)), _mm256_fnmadd_ps(nv, nv, one));
            __m256 dHn = _mm256_mul_ps(d, _mm256_sub_ps(ld8(hp + j, n), nv));
            __m256 dz = _mm256_mul_ps(_mm256_mul_ps(dHn, z), _mm256_sub_ps(one, z));
            __m256 dr = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dn, ld8(hn + j, n)), r), _mm256_sub_ps(one, r));
            __m256 dhnv = _mm256_mul_ps(dn, r);
            if (clip) {
                dr = clamp(dr, a->clip);
                dz = clamp(dz, a->clip);
                dn = clamp(dn, a->clip);
                dhnv = clamp(dhnv, a->clip);
            }
            // Both sides share the r and z gradients; the recurrent side's n gradient is r ⊙ dn.
            st8(dxr + j, n, dr);
            st8(dxr + H + j, n, dz);
            st8(dxr + 2 * H + j, n, dn);
            st8(dhr + j, n, dr);
            st8(dhr + H + j, n, dz);
            st8(dhr + 2 * H + j, n, dhnv);
            // The part of dh_{t−1} that skips the weights, z ⊙ dh; carry_dh adds dhg · W_hᵀ to it.
            st8(dhb + j, n, _mm256_mul_ps(d, z));
        }
    }
}

// MARK: Plain RNN (h = tanh or relu of x·W_x + b + h·W_h)

QK_TARGET_AVX2 static void rnn_forward_slice(step2 *a, int s) {
    const int B = a->B, H = a->H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    if (w <= 0) return;
    gemm_panels(B, w, H, a->hPrev, H, qk_slice_panels(a->packed, 1, a->bounds, s, H), a->pre + u0, H);
    const __m256 zero = _mm256_setzero_ps();
    for (int b = 0; b < B; b++) {
        float *pb = a->pre + (size_t)b * H + u0, *hb = a->h + (size_t)b * H + u0;
        for (int j = 0; j < w; j += 8) {
            const int n = w - j;
            __m256 v = ld8(pb + j, n);
            v = a->relu ? _mm256_max_ps(v, zero) : v8_tanh(v);
            st8(pb + j, n, v);
            st8(hb + j, n, v);
        }
    }
}

QK_TARGET_AVX2 static void rnn_backward_slice(step2 *a, int s) {
    const int B = a->B, H = a->H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const int clip = a->clip > 0;
    for (int b = 0; b < B && w > 0; b++) {
        const float *hb = a->hOut + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        float *dhb = a->dh + (size_t)b * H + u0, *dp = a->dPre + (size_t)b * H + u0;
        for (int j = 0; j < w; j += 8) {
            const int n = w - j;
            __m256 d = total_dh(dhb + j, ext ? ext + j : NULL, n), hv = ld8(hb + j, n);
            __m256 g = a->relu ? _mm256_and_ps(_mm256_cmp_ps(hv, zero, _CMP_GT_OQ), d)
                               : _mm256_mul_ps(d, _mm256_fnmadd_ps(hv, hv, one));
            if (clip) g = clamp(g, a->clip);
            st8(dp + j, n, g);
            // Rewritten by carry_dh once every thread's dPre is in.
            st8(dhb + j, n, zero);
        }
    }
}

// MARK: - Jobs and entry points

static void lstm_forward_job(void *p, int tid, int n) {
    step2 *a = p;
    for (int s = tid; s < a->slices; s += n) lstm_forward_slice(a, s);
}
static void lstm_backward_job(void *p, int tid, int n) {
    step2 *a = p;
    for (int s = tid; s < a->slices; s += n) lstm_backward_gates(a, s);
    carry_dh(a, tid, n, 4, a->dGates);
}
static void gru_forward_job(void *p, int tid, int n) {
    step2 *a = p;
    for (int s = tid; s < a->slices; s += n) gru_forward_slice(a, s);
}
static void gru_backward_job(void *p, int tid, int n) {
    step2 *a = p;
    for (int s = tid; s < a->slices; s += n) gru_backward_gates(a, s);
    carry_dh(a, tid, n, 3, a->dhg);
}
static void rnn_forward_job(void *p, int tid, int n) {
    step2 *a = p;
    for (int s = tid; s < a->slices; s += n) rnn_forward_slice(a, s);
}
static void rnn_backward_job(void *p, int tid, int n) {
    step2 *a = p;
    for (int s = tid; s < a->slices; s += n) rnn_backward_slice(a, s);
    carry_dh(a, tid, n, 1, a->dPre);
}

void qk_lstm_forward_step_avx2(const float *packed, int batch, int hidden, const float *hPrev, const float *cPrev,
                               float *gates, float *c, float *tanhC, float *h, const float *peepholes) {
    step2 a = { .packed = packed, .B = batch, .H = hidden, .hPrev = hPrev, .cPrev = cPrev, .peep = peepholes,
                .gates = gates, .c = c, .tanhC = tanhC, .h = h };
    run_slices(&a, lstm_forward_job);
}

void qk_lstm_backward_step_avx2(const float *packed, int batch, int hidden, const float *gates, const float *cPrev,
                                const float *tanhC, float *dh, const float *dhExternal, float *dc, float *dGates,
                                float clip, const float *peepholes) {
    step2 a = { .packed = packed, .B = batch, .H = hidden, .gates = (float *)gates, .cPrev = cPrev,
                .tanhCIn = tanhC, .dh = dh, .dhExt = dhExternal, .dc = dc, .dGates = dGates, .clip = clip,
                .peep = peepholes };
    run_slices(&a, lstm_backward_job);
}

void qk_gru_forward_step_avx2(const float *packed, int batch, int hidden, const float *hPrev, const float *biasH,
                              float *xg, float *hg, float *h) {
    step2 a = { .packed = packed, .B = batch, .H = hidden, .hPrev = hPrev, .biasH = biasH, .pre = xg, .hg = hg,
                .h = h };
    run_slices(&a, gru_forward_job);
}

void qk_gru_backward_step_avx2(const float *packed, int batch, int hidden, const float *act, const float *hg,
                               const float *hPrev, float *dh, const float *dhExternal, float *dxg, float *dhg,
                               float clip) {
    step2 a = { .packed = packed, .B = batch, .H = hidden, .act = act, .hgIn = hg, .hPrev = hPrev, .dh = dh,
                .dhExt = dhExternal, .dPre = dxg, .dhg = dhg, .clip = clip };
    run_slices(&a, gru_backward_job);
}

void qk_rnn_forward_step_avx2(const float *packed, int batch, int hidden, int relu, const float *hPrev, float *pre,
                              float *h) {
    step2 a = { .packed = packed, .B = batch, .H = hidden, .relu = relu, .hPrev = hPrev, .pre = pre, .h = h };
    run_slices(&a, rnn_forward_job);
}

void qk_rnn_backward_step_avx2(const float *packed, int batch, int hidden, int relu, const float *h, float *dh,
                               const float *dhExternal, float *dPre, float clip) {
    step2 a = { .packed = packed, .B = batch, .H = hidden, .relu = relu, .hOut = h, .dh = dh,
                .dhExt = dhExternal, .dPre = dPre, .clip = clip };
    run_slices(&a, rnn_backward_job);
}

#endif
