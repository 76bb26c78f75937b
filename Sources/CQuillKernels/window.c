// Graves's soft window (section 5, eqs. 46–51), one step over a range of batch rows, in AVX-512 and, for CPUs
// without it, AVX2 (chosen at run time by qk_level): see include/QuillKernels.h. The loops over characters u run
// 16 (or 8) lanes at a time with the K Gaussians inside; the backward sums gather ∂L/∂w at each character's index.
#include "QuillKernels.h"

#if defined(__x86_64__)

#include "vector_math.h"

/// u + 1 for lanes u0 … u0 + 15: the character positions.
QK_TARGET static inline __m512 positions(int u0) {
    return _mm512_add_ps(_mm512_set1_ps((float)(u0 + 1)),
                         _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

QK_TARGET static void window_forward_avx512(const float *params, const float *kappaPrevious, float *alpha, float *beta,
                                 float *kappa, float *phi, float *w, const int *text, const long *lengths,
                                 int batch, int K, int U, int V, float kappaScale) {
    for (int b = 0; b < batch; b++) {
        const float *p = params + (size_t)b * 3 * K, *kp = kappaPrevious + (size_t)b * K;
        float *a = alpha + (size_t)b * K, *be = beta + (size_t)b * K, *k = kappa + (size_t)b * K;
        for (int j = 0; j < K; j += 16) {
            __mmask16 m = qk_mask(K - j);
            _mm512_mask_storeu_ps(a + j, m, v_exp(_mm512_maskz_loadu_ps(m, p + j)));
            _mm512_mask_storeu_ps(be + j, m, v_exp(_mm512_maskz_loadu_ps(m, p + K + j)));
            __m512 step = _mm512_mul_ps(_mm512_set1_ps(kappaScale), v_exp(_mm512_maskz_loadu_ps(m, p + 2 * K + j)));
            _mm512_mask_storeu_ps(k + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, kp + j), step));
        }
        int len = (int)lengths[b];
        float *ph = phi + (size_t)b * (U + 1);
        // φ(t, u) at u = 1 … len + 1 (the last for the stopping rule), zero beyond.
        for (int u0 = 0; u0 <= U; u0 += 16) {
            __mmask16 m = qk_mask(len + 1 - u0);
            __m512 pos = positions(u0), acc = _mm512_setzero_ps();
            if (m) {
                for (int j = 0; j < K; j++) {
                    __m512 d = _mm512_sub_ps(_mm512_set1_ps(k[j]), pos);
                    __m512 e = v_exp(_mm512_mul_ps(_mm512_set1_ps(-be[j]), _mm512_mul_ps(d, d)));
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(a[j]), e, acc);
                }
            }
            _mm512_mask_storeu_ps(ph + u0, qk_mask(U + 1 - u0), _mm512_maskz_mov_ps(m, acc));
        }
        float *wb = w + (size_t)b * V;
        for (int v = 0; v < V; v++) wb[v] = 0;
        const int *chars = text + (size_t)b * U;
        for (int u = 0; u < len; u++) wb[chars[u]] += ph[u];
    }
}

QK_TARGET static void window_backward_avx512(const float *dw, const float *params, const float *alpha, const float *beta,
                                  const float *kappa, float *kappaCarry, float *dParams, const int *text,
                                  const long *lengths, int batch, int K, int U, int V, float kappaScale) {
    for (int b = 0; b < batch; b++) {
        const float *a = alpha + (size_t)b * K, *be = beta + (size_t)b * K, *k = kappa + (size_t)b * K;
        const float *p = params + (size_t)b * 3 * K, *dwb = dw + (size_t)b * V;
        float *dp = dParams + (size_t)b * 3 * K, *carry = kappaCarry + (size_t)b * K;
        const int *chars = text + (size_t)b * U;
        int len = (int)lengths[b];
        for (int j = 0; j < K; j++) {
            // Over the characters: e = ∂L/∂φ(t,u)·exp(−β_j d²) with d = κ_j − u, and its sums with d and d².
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0;
            __m512 kj = _mm512_set1_ps(k[j]), nb = _mm512_set1_ps(-be[j]);
            for (int u0 = 0; u0 < len; u0 += 16) {
                __mmask16 m = qk_mask(len - u0);
                __m512i idx = _mm512_maskz_loadu_epi32(m, chars + u0);
                __m512 g = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, dwb, 4);
                __m512 d = _mm512_sub_ps(kj, positions(u0));
                __m512 e = _mm512_mul_ps(g, v_exp(_mm512_mul_ps(nb, _mm512_mul_ps(d, d))));
                e = _mm512_maskz_mov_ps(m, e);
                s0 = _mm512_add_ps(s0, e);
                __m512 ed = _mm512_mul_ps(e, d);
                s1 = _mm512_add_ps(s1, ed);
                s2 = _mm512_fmadd_ps(ed, d, s2);
            }
            float sE = _mm512_reduce_add_ps(s0), sE1 = _mm512_reduce_add_ps(s1), sE2 = _mm512_reduce_add_ps(s2);
            carry[j] += -2 * a[j] * be[j] * sE1;
            dp[j] = sE * a[j];
            dp[K + j] = -a[j] * sE2 * be[j];
        }
        // ∂L/∂κ̂ = ∂L/∂κ_t · s·exp κ̂, for all K at once (carry now holds ∂L/∂κ_t).
        for (int j = 0; j < K; j += 16) {
            __mmask16 m = qk_mask(K - j);
            __m512 step = _mm512_mul_ps(_mm512_set1_ps(kappaScale), v_exp(_mm512_maskz_loadu_ps(m, p + 2 * K + j)));
            _mm512_mask_storeu_ps(dp + 2 * K + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, carry + j), step));
        }
    }
}

// MARK: - AVX2: the same loops, 8 lanes at a time

/// u + 1 for lanes u0 … u0 + 7: the character positions.
QK_TARGET_AVX2 static inline __m256 positions8(int u0) {
    return _mm256_add_ps(_mm256_set1_ps((float)(u0 + 1)), _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
}

/// The sum of v's 8 lanes.
QK_TARGET_AVX2 static inline float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

QK_TARGET_AVX2 static void window_forward_avx2(const float *params, const float *kappaPrevious, float *alpha,
                                               float *beta, float *kappa, float *phi, float *w, const int *text,
                                               const long *lengths, int batch, int K, int U, int V,
                                               float kappaScale) {
    for (int b = 0; b < batch; b++) {
        const float *p = params + (size_t)b * 3 * K, *kp = kappaPrevious + (size_t)b * K;
        float *a = alpha + (size_t)b * K, *be = beta + (size_t)b * K, *k = kappa + (size_t)b * K;
        for (int j = 0; j < K; j += 8) {
            const int n = K - j;
            st8(a + j, n, v8_exp(ld8(p + j, n)));
            st8(be + j, n, v8_exp(ld8(p + K + j, n)));
            __m256 step = _mm256_mul_ps(_mm256_set1_ps(kappaScale), v8_exp(ld8(p + 2 * K + j, n)));
            st8(k + j, n, _mm256_add_ps(ld8(kp + j, n), step));
        }
        int len = (int)lengths[b];
        float *ph = phi + (size_t)b * (U + 1);
        // φ(t, u) at u = 1 … len + 1 (the last for the stopping rule), zero beyond.
        for (int u0 = 0; u0 <= U; u0 += 8) {
            const int live = len + 1 - u0;
            __m256 acc = _mm256_setzero_ps();
            if (live > 0) {
                __m256 pos = positions8(u0);
                for (int j = 0; j < K; j++) {
                    __m256 d = _mm256_sub_ps(_mm256_set1_ps(k[j]), pos);
                    __m256 e = v8_exp(_mm256_mul_ps(_mm256_set1_ps(-be[j]), _mm256_mul_ps(d, d)));
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[j]), e, acc);
                }
                if (live < 8) acc = _mm256_and_ps(acc, _mm256_castsi256_ps(lanes8(live)));
            }
            st8(ph + u0, U + 1 - u0, acc);
        }
        float *wb = w + (size_t)b * V;
        for (int v = 0; v < V; v++) wb[v] = 0;
        const int *chars = text + (size_t)b * U;
        for (int u = 0; u < len; u++) wb[chars[u]] += ph[u];
    }
}

QK_TARGET_AVX2 static void window_backward_avx2(const float *dw, const float *params, const float *alpha,
                                                const float *beta, const float *kappa, float *kappaCarry,
                                                float *dParams, const int *text, const long *lengths, int batch,
                                                int K, int U, int V, float kappaScale) {
    for (int b = 0; b < batch; b++) {
        const float *a = alpha + (size_t)b * K, *be = beta + (size_t)b * K, *k = kappa + (size_t)b * K;
        const float *p = params + (size_t)b * 3 * K, *dwb = dw + (size_t)b * V;
        float *dp = dParams + (size_t)b * 3 * K, *carry = kappaCarry + (size_t)b * K;
        const int *chars = text + (size_t)b * U;
        int len = (int)lengths[b];
        for (int j = 0; j < K; j++) {
            // Over the characters: e = ∂L/∂φ(t,u)·exp(−β_j d²) with d = κ_j − u, and its sums with d and d².
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0;
            __m256 kj = _mm256_set1_ps(k[j]), nb = _mm256_set1_ps(-be[j]);
            for (int u0 = 0; u0 < len; u0 += 8) {
                const __m256i m = lanes8(len - u0);
                __m256i idx = _mm256_maskload_epi32(chars + u0, m);
                __m256 g = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), dwb, idx, _mm256_castsi256_ps(m), 4);
                __m256 d = _mm256_sub_ps(kj, positions8(u0));
                __m256 e = _mm256_mul_ps(g, v8_exp(_mm256_mul_ps(nb, _mm256_mul_ps(d, d))));
                e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
                s0 = _mm256_add_ps(s0, e);
                __m256 ed = _mm256_mul_ps(e, d);
                s1 = _mm256_add_ps(s1, ed);
                s2 = _mm256_fmadd_ps(ed, d, s2);
            }
            float sE = sum8(s0), sE1 = sum8(s1), sE2 = sum8(s2);
            carry[j] += -2 * a[j] * be[j] * sE1;
            dp[j] = sE * a[j];
            dp[K + j] = -a[j] * sE2 * be[j];
        }
        // ∂L/∂κ̂ = ∂L/∂κ_t · s·exp κ̂, for all K at once (carry now holds ∂L/∂κ_t).
        for (int j = 0; j < K; j += 8) {
            const int n = K - j;
            __m256 step = _mm256_mul_ps(_mm256_set1_ps(kappaScale), v8_exp(ld8(p + 2 * K + j, n)));
            st8(dp + 2 * K + j, n, _mm256_mul_ps(ld8(carry + j, n), step));
        }
    }
}

// MARK: - Entry points

void qk_window_forward(const float *params, const float *kappaPrevious, float *alpha, float *beta, float *kappa,
                       float *phi, float *w, const int *text, const long *lengths, int batch, int K, int U, int V,
                       float kappaScale) {
    int level = qk_level();
    if (level == 3)
        window_forward_avx512(params, kappaPrevious, alpha, beta, kappa, phi, w, text, lengths, batch, K, U, V,
                              kappaScale);
    else if (level == 2)
        window_forward_avx2(params, kappaPrevious, alpha, beta, kappa, phi, w, text, lengths, batch, K, U, V,
                            kappaScale);
}

void qk_window_backward(const float *dw, const float *params, const float *alpha, const float *beta,
                        const float *kappa, float *kappaCarry, float *dParams, const int *text, const long *lengths,
                        int batch, int K, int U, int V, float kappaScale) {
    int level = qk_level();
    if (level == 3)
        window_backward_avx512(dw, params, alpha, beta, kappa, kappaCarry, dParams, text, lengths, batch, K, U, V,
                               kappaScale);
    else if (level == 2)
        window_backward_avx2(dw, params, alpha, beta, kappa, kappaCarry, dParams, text, lengths, batch, K, U, V,
                             kappaScale);
}

#else

void qk_window_forward(const float *params, const float *kappaPrevious, float *alpha, float *beta, float *kappa,
                       float *phi, float *w, const int *text, const long *lengths, int batch, int K, int U, int V,
                       float kappaScale) {
    (void)params; (void)kappaPrevious; (void)alpha; (void)beta; (void)kappa; (void)phi; (void)w; (void)text;
    (void)lengths; (void)batch; (void)K; (void)U; (void)V; (void)kappaScale;
}
void qk_window_backward(const float *dw, const float *params, const float *alpha, const float *beta,
                        const float *kappa, float *kappaCarry, float *dParams, const int *text, const long *lengths,
                        int batch, int K, int U, int V, float kappaScale) {
    (void)dw; (void)params; (void)alpha; (void)beta; (void)kappa; (void)kappaCarry; (void)dParams; (void)text;
    (void)lengths; (void)batch; (void)K; (void)U; (void)V; (void)kappaScale;
}

#endif
