// Fused, threaded GRU and plain-RNN steps with packed recurrent weights: see include/QuillKernels.h.
//
// The AVX2 twins are in recurrent_avx2.c. The same layout as the LSTM step (lstm_step.c, whose slices, packing, threads and panel product these share
// through recurrent_shared.h): each thread owns a slice of hidden units, computes the recurrent product for its
// units' gate columns from the whole h_{t−1}, then their cell maths. Backward: each thread computes its units'
// pre-activation gradients, a barrier, then its columns of dh_{t−1} from every thread's gradients.
//
// The maths follows CellKernels.gruForward/gruBackward and rnnForward/rnnBackward in QuillNN, operation for
// operation where that costs nothing, so both paths agree to Float rounding.
#include "QuillKernels.h"

#if defined(__x86_64__)

#include "recurrent_shared.h"
#include "vector_math.h"
#include <string.h>

typedef struct {
    const float *packed;
    int B, H, relu;
    int bounds[QK_MAX_THREADS + 1];
    int slices;
    // forward
    const float *hPrev, *biasH;
    float *pre, *hg, *h;
    // backward
    const float *act, *hgIn, *hOut, *dhExt;
    float *dh, *dPre, *dhg;
    float clip;
} cell_args;

/// Thread `tid`'s share of a job: `fn` on slices tid, tid + nthreads, …
static void each_slice(cell_args *a, int tid, int nthreads, void (*fn)(cell_args *, int)) {
    for (int s = tid; s < a->slices; s += nthreads) fn(a, s);
}

/// Runs `job` over the slices of `a->H` units.
static void run_slices(cell_args *a, qk_job job) {
    a->slices = qk_unit_slices(a->H, a->bounds);
    qk_pool_run(job, a, a->slices);
}

QK_TARGET static inline __m512 clamp(__m512 v, float limit) {
    return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-limit)), _mm512_set1_ps(limit));
}

/// The gradient reaching h: the carried dh plus the external one (NULL for none).
QK_TARGET static inline __m512 total_dh(__mmask16 m, const float *dh, const float *ext) {
    __m512 d = _mm512_maskz_loadu_ps(m, dh);
    return ext ? _mm512_add_ps(d, _mm512_maskz_loadu_ps(m, ext)) : d;
}

/// Backward, second half: this slice's columns of dh_{t−1} += dRec · W_hᵀ, once every thread's dRec (B, G) is in.
static void carry_dh(cell_args *a, int tid, int nthreads, int gates, const float *dRec) {
    const int H = a->H, G = gates * H;
    qk_pool_barrier(nthreads);
    for (int s = tid; s < a->slices; s += nthreads) {
        int u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
        if (w > 0)
            qk_gemm_panels(a->B, w, G, dRec, G, qk_slice_panels(a->packed, gates, a->bounds, s, H), a->dh + u0, H);
    }
}

// MARK: - GRU (gates r, z, n; n = tanh(x_n + r ⊙ (h·W_hn + b_hn)))

QK_TARGET static void gru_forward_slice(cell_args *a, int s) {
    const int B = a->B, H = a->H, G = 3 * H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    if (w <= 0) return;
    const float *P = qk_slice_panels(a->packed, 3, a->bounds, s, H);
    const size_t gateStride = (size_t)qk_panels(w) * QK_NR * H;
    for (int b = 0; b < B; b++) {
        for (int q = 0; q < 3; q++) memset(a->hg + (size_t)b * G + q * H + u0, 0, (size_t)w * sizeof(float));
    }
    for (int q = 0; q < 3; q++) qk_gemm_panels(B, w, H, a->hPrev, H, P + q * gateStride, a->hg + q * H + u0, G);

    const __m512 one = _mm512_set1_ps(1.0f);
    for (int b = 0; b < B; b++) {
        float *xr = a->pre + (size_t)b * G + u0, *xz = xr + H, *xn = xz + H;
        float *hr = a->hg + (size_t)b * G + u0, *hz = hr + H, *hn = hz + H;
        const float *br = a->biasH + u0, *bz = br + H, *bn = bz + H;
        const float *hp = a->hPrev + (size_t)b * H + u0;
        float *hb = a->h + (size_t)b * H + u0;
        for (int j = 0; j < w; j += 16) {
            __mmask16 m = qk_mask(w - j);
            // hg = h·W_h + b_h, kept for backward.
            __m512 vr = _mm512_add_ps(_mm512_maskz_loadu_ps(m, hr + j), _mm512_maskz_loadu_ps(m, br + j));
            __m512 vz = _mm512_add_ps(_mm512_maskz_loadu_ps(m, hz + j), _mm512_maskz_loadu_ps(m, bz + j));
            __m512 vn = _mm512_add_ps(_mm512_maskz_loadu_ps(m, hn + j), _mm512_maskz_loadu_ps(m, bn + j));
            _mm512_mask_storeu_ps(hr + j, m, vr);
            _mm512_mask_storeu_ps(hz + j, m, vz);
            _mm512_mask_storeu_ps(hn + j, m, vn);
            __m512 r = v_sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, xr + j), vr));
            __m512 z = v_sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, xz + j), vz));
            __m512 n = v_tanh(_mm512_fmadd_ps(r, vn, _mm512_maskz_loadu_ps(m, xn + j)));
            __m512 hNew = _mm512_fmadd_ps(z, _mm512_maskz_loadu_ps(m, hp + j),
                                          _mm512_mul_ps(_mm512_sub_ps(one, z), n));
            _mm512_mask_storeu_ps(xr + j, m, r);
            _mm512_mask_storeu_ps(xz + j, m, z);
            _mm512_mask_storeu_ps(xn + j, m, n);
            _mm512_mask_storeu_ps(hb + j, m, hNew);
        }
    }
}

static void gru_forward_job(void *p, int tid, int nthreads) {
    cell_args *a = (cell_args *)p;
    each_slice(a, tid, nthreads, gru_forward_slice);
}

void qk_gru_forward_step(const float *packed, int batch, int hidden, const float *hPrev, const float *biasH,
                         float *xg, float *hg, float *h) {
    int level = qk_level();
    if (level == 2) qk_gru_forward_step_avx2(packed, batch, hidden, hPrev, biasH, xg, hg, h);
    if (level != 3) return;
    cell_args a = { .packed = packed, .B = batch, .H = hidden, .hPrev = hPrev, .biasH = biasH, .pre = xg, .hg = hg,
                    .h = h };
    run_slices(&a, gru_forward_job);
}

QK_TARGET static void gru_backward_gates(cell_args *a, int s) {
    const int B = a->B, H = a->H, G = 3 * H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    const __m512 one = _mm512_set1_ps(1.0f);
    const int clip = a->clip > 0;
    for (int b = 0; b < B && w > 0; b++) {
        const float *ar = a->act + (size_t)b * G + u0, *az = ar + H, *an = az + H;
        const float *hn = a->hgIn + (size_t)b * G + 2 * H + u0;
        float *dxr = a->dPre + (size_t)b * G + u0, *dhr = a->dhg + (size_t)b * G + u0;
        const float *hp = a->hPrev + (size_t)b * H + u0;
        float *dhb = a->dh + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        for (int j = 0; j < w; j += 16) {
            __mmask16 m = qk_mask(w - j);
            __m512 r = _mm512_maskz_loadu_ps(m, ar + j), z = _mm512_maskz_loadu_ps(m, az + j);
            __m512 n = _mm512_maskz_loadu_ps(m, an + j), d = total_dh(m, dhb + j, ext ? ext + j : NULL);
            __m512 dn = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(one, z)), _mm512_fnmadd_ps(n, n, one));
            __m512 dHn = _mm512_mul_ps(d, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, hp + j), n));
            __m512 dz = _mm512_mul_ps(_mm512_mul_ps(dHn, z), _mm512_sub_ps(one, z));
            __m512 dr = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dn, _mm512_maskz_loadu_ps(m, hn + j)), r),
                                      _mm512_sub_ps(one, r));
            __m512 dhnv = _mm512_mul_ps(dn, r);
            if (clip) {
                dr = clamp(dr, a->clip);
                dz = clamp(dz, a->clip);
                dn = clamp(dn, a->clip);
                dhnv = clamp(dhnv, a->clip);
            }
            // Both sides share the r and z gradients; the recurrent side's n gradient is r ⊙ dn.
            const __m512 dx[3] = { dr, dz, dn }, dRec[3] = { dr, dz, dhnv };
            for (int q = 0; q < 3; q++) {
                _mm512_mask_storeu_ps(dxr + q * H + j, m, dx[q]);
                _mm512_mask_storeu_ps(dhr + q * H + j, m, dRec[q]);
            }
            // The part of dh_{t−1} that skips the weights, z ⊙ dh; carry_dh adds dhg · W_hᵀ to it.
            _mm512_mask_storeu_ps(dhb + j, m, _mm512_mul_ps(d, z));
        }
    }
}

static void gru_backward_job(void *p, int tid, int nthreads) {
    cell_args *a = (cell_args *)p;
    each_slice(a, tid, nthreads, gru_backward_gates);
    carry_dh(a, tid, nthreads, 3, a->dhg);
}

void qk_gru_backward_step(const float *packed, int batch, int hidden, const float *act, const float *hg,
                          const float *hPrev, float *dh, const float *dhExternal, float *dxg, float *dhg,
                          float clip) {
    int level = qk_level();
    if (level == 2) qk_gru_backward_step_avx2(packed, batch, hidden, act, hg, hPrev, dh, dhExternal, dxg, dhg, clip);
    if (level != 3) return;
    cell_args a = { .packed = packed, .B = batch, .H = hidden, .act = act, .hgIn = hg, .hPrev = hPrev, .dh = dh,
                    .dhExt = dhExternal, .dPre = dxg, .dhg = dhg, .clip = clip };
    run_slices(&a, gru_backward_job);
}

// MARK: - Plain RNN (h = tanh or relu of x·W_x + b + h·W_h)

QK_TARGET static void rnn_forward_slice(cell_args *a, int s) {
    const int B = a->B, H = a->H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    if (w <= 0) return;
    qk_gemm_panels(B, w, H, a->hPrev, H, qk_slice_panels(a->packed, 1, a->bounds, s, H), a->pre + u0, H);
    const __m512 zero = _mm512_setzero_ps();
    for (int b = 0; b < B; b++) {
        float *pb = a->pre + (size_t)b * H + u0, *hb = a->h + (size_t)b * H + u0;
        for (int j = 0; j < w; j += 16) {
            __mmask16 m = qk_mask(w - j);
            __m512 v = _mm512_maskz_loadu_ps(m, pb + j);
            v = a->relu ? _mm512_max_ps(v, zero) : v_tanh(v);
            _mm512_mask_storeu_ps(pb + j, m, v);
            _mm512_mask_storeu_ps(hb + j, m, v);
        }
    }
}

static void rnn_forward_job(void *p, int tid, int nthreads) {
    cell_args *a = (cell_args *)p;
    each_slice(a, tid, nthreads, rnn_forward_slice);
}

void qk_rnn_forward_step(const float *packed, int batch, int hidden, int relu, const float *hPrev, float *pre,
                         float *h) {
    int level = qk_level();
    if (level == 2) qk_rnn_forward_step_avx2(packed, batch, hidden, relu, hPrev, pre, h);
    if (level != 3) return;
    cell_args a = { .packed = packed, .B = batch, .H = hidden, .relu = relu, .hPrev = hPrev, .pre = pre, .h = h };
    run_slices(&a, rnn_forward_job);
}

QK_TARGET static void rnn_backward_slice(cell_args *a, int s) {
    const int B = a->B, H = a->H, u0 = a->bounds[s], w = a->bounds[s + 1] - u0;
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const int clip = a->clip > 0;
    for (int b = 0; b < B && w > 0; b++) {
        const float *hb = a->hOut + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        float *dhb = a->dh + (size_t)b * H + u0, *dp = a->dPre + (size_t)b * H + u0;
        for (int j = 0; j < w; j += 16) {
            __mmask16 m = qk_mask(w - j);
            __m512 d = total_dh(m, dhb + j, ext ? ext + j : NULL), hv = _mm512_maskz_loadu_ps(m, hb + j);
            __m512 g = a->relu ? _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(hv, zero, _CMP_GT_OQ), d)
                               : _mm512_mul_ps(d, _mm512_fnmadd_ps(hv, hv, one));
            if (clip) g = clamp(g, a->clip);
            _mm512_mask_storeu_ps(dp + j, m, g);
            // Rewritten by carry_dh once every thread's dPre is in.
            _mm512_mask_storeu_ps(dhb + j, m, zero);
        }
    }
}

static void rnn_backward_job(void *p, int tid, int nthreads) {
    cell_args *a = (cell_args *)p;
    each_slice(a, tid, nthreads, rnn_backward_slice);
    carry_dh(a, tid, nthreads, 1, a->dPre);
}

void qk_rnn_backward_step(const float *packed, int batch, int hidden, int relu, const float *h, float *dh,
                          const float *dhExternal, float *dPre, float clip) {
    int level = qk_level();
    if (level == 2) qk_rnn_backward_step_avx2(packed, batch, hidden, relu, h, dh, dhExternal, dPre, clip);
    if (level != 3) return;
    cell_args a = { .packed = packed, .B = batch, .H = hidden, .relu = relu, .hOut = h, .dh = dh,
                    .dhExt = dhExternal, .dPre = dPre, .clip = clip };
    run_slices(&a, rnn_backward_job);
}

#else

void qk_gru_forward_step(const float *packed, int batch, int hidden, const float *hPrev, const float *biasH,
                         float *xg, float *hg, float *h) {
    (void)packed; (void)batch; (void)hidden; (void)hPrev; (void)biasH; (void)xg; (void)hg; (void)h;
}
void qk_gru_backward_step(const float *packed, int batch, int hidden, const float *act, const float *hg,
                          const float *hPrev, float *dh, const float *dhExternal, float *dxg, float *dhg,
                          float clip) {
    (void)packed; (void)batch; (void)hidden; (void)act; (void)hg; (void)hPrev; (void)dh; (void)dhExternal;
    (void)dxg; (void)dhg; (void)clip;
}
void qk_rnn_forward_step(const float *packed, int batch, int hidden, int relu, const float *hPrev, float *pre,
                         float *h) {
    (void)packed; (void)batch; (void)hidden; (void)relu; (void)hPrev; (void)pre; (void)h;
}
void qk_rnn_backward_step(const float *packed, int batch, int hidden, int relu, const float *h, float *dh,
                          const float *dhExternal, float *dPre, float clip) {
    (void)packed; (void)batch; (void)hidden; (void)relu; (void)h; (void)dh; (void)dhExternal; (void)dPre;
    (void)clip;
}

#endif
