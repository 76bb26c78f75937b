// Elementwise activations (tanh, the logistic sigmoid) over float arrays, bit for bit the results of
// QuillNumerics' Float.fastTanh and Float.fastSigmoid: the same Cephes approximations with the same operations in the
// same order, no fused multiply-adds (this file turns contraction off) and true division. Swift's Float
// specialisations of Kernels.tanh/sigmoid call these, so a build of the library without Quill's compiler flags (a
// package dependency resolved by version, issue 18 item 11) still runs them 16 lanes at a time where the CPU has
// AVX-512, 8 where it has AVX2 (chosen at run time, qk_level), and a plain loop elsewhere.
#include "QuillKernels.h"
#include "vector_math.h"

#pragma clang fp contract(off)

// MARK: - Portable scalars (the Swift twins, operation for operation)

static inline float s_exp(float x) {
    // Swift.min(Swift.max(x, -87.3), 88.7): a NaN stays NaN.
    float xc = (-87.3f >= x) ? -87.3f : x;
    xc = (88.7f < xc) ? 88.7f : xc;
    float m = xc * 1.442695041f + 12582912.0f;
    float n = m - 12582912.0f;
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float er = p * r * r + r + 1.0f;
    union { float f; unsigned u; } mb = { m }, e;
    e.u = (mb.u - 0x4B400000u + 127u) << 23;
    return er * e.f;
}

static inline float s_tanh(float x) {
    float ax = __builtin_fabsf(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float e = s_exp(2.0f * ax);
    float bigAbs = 1.0f - 2.0f / (e + 1.0f);
    float big = x < 0.0f ? -bigAbs : bigAbs;
    return ax < 0.625f ? small : big;
}

static inline float s_sigmoid(float x) { return 1.0f / (1.0f + s_exp(-x)); }

#if defined(__x86_64__)

// MARK: - AVX-512, the same operations 16 lanes at a time

/// -x, as Swift negates: the sign bit flipped (0 − x would turn −0 into +0).
QK_TARGET static inline __m512 x_negate(__m512 x) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}

QK_TARGET static inline __m512 x_exp(__m512 x) {
    // max_ps(c, x) is c > x ? c : x and min_ps(c, x) is c < x ? c : x: a NaN x comes through, as in Swift.
    __m512 xc = _mm512_max_ps(_mm512_set1_ps(-87.3f), x);
    xc = _mm512_min_ps(_mm512_set1_ps(88.7f), xc);
    __m512 m = _mm512_add_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.442695041f)), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(m, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_add_ps(_mm512_sub_ps(xc, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f))),
                             _mm512_mul_ps(n, _mm512_set1_ps(2.12194440e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    __m512 er = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, r), r), r), _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(m), _mm512_set1_epi32(0x4B400000)), _mm512_set1_epi32(127)),
        23);
    return _mm512_mul_ps(er, _mm512_castsi512_ps(bits));
}

QK_TARGET static inline __m512 x_tanh(__m512 x) {
    __m512 ax = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7FFFFFFF)));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
    p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(2.06390887954e-2f));
    p = _mm512_sub_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(5.37397155531e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(1.33314422036e-1f));
    p = _mm512_sub_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(3.33332819422e-1f));
    __m512 small = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, z), x), x);
    __m512 e = x_exp(_mm512_mul_ps(_mm512_set1_ps(2.0f), ax));
    __m512 bigAbs = _mm512_sub_ps(_mm512_set1_ps(1.0f),
                                  _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 big = _mm512_mask_blend_ps(negative, bigAbs, x_negate(bigAbs));
    __mmask16 isSmall = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(isSmall, big, small);
}

QK_TARGET static inline __m512 x_sigmoid(__m512 x) {
    return _mm512_div_ps(_mm512_set1_ps(1.0f),
                         _mm512_add_ps(_mm512_set1_ps(1.0f), x_exp(x_negate(x))));
}

// y[i] = f(x[i]) 16 lanes at a time, the tail under a mask (its lanes past n neither read nor written).
#define QK_MAP_AVX512(name, f)                                                                      \
    QK_TARGET static void name(const float *x, float *y, size_t n) {                                \
        size_t i = 0;                                                                               \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));            \
        if (i < n) {                                                                                \
            __mmask16 k = qk_mask((int)(n - i));                                                    \
            _mm512_mask_storeu_ps(y + i, k, f(_mm512_maskz_loadu_ps(k, x + i)));                    \
        }                                                                                           \
    }
QK_MAP_AVX512(tanh_avx512, x_tanh)
QK_MAP_AVX512(sigmoid_avx512, x_sigmoid)

// MARK: - AVX2, the same operations 8 lanes at a time (CPUs without AVX-512: AMD Zen 2, older Intel)

/// AVX2 without FMA: these forms round as the Swift ones, with no fused multiply-adds.
#define QK_TARGET_AVX2_ONLY __attribute__((target("avx2")))

QK_TARGET_AVX2_ONLY static inline __m256 x8_negate(__m256 x) {
    return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(x), _mm256_set1_epi32((int)0x80000000u)));
}

QK_TARGET_AVX2_ONLY static inline __m256 x8_exp(__m256 x) {
    __m256 xc = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);
    xc = _mm256_min_ps(_mm256_set1_ps(88.7f), xc);
    __m256 m = _mm256_add_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.442695041f)), _mm256_set1_ps(12582912.0f));
    __m256 n = _mm256_sub_ps(m, _mm256_set1_ps(12582912.0f));
    __m256 r = _mm256_add_ps(_mm256_sub_ps(xc, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f))),
                             _mm256_mul_ps(n, _mm256_set1_ps(2.12194440e-4f)));
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    __m256 er = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, r), r), r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(m), _mm256_set1_epi32(0x4B400000)), _mm256_set1_epi32(127)),
        23);
    return _mm256_mul_ps(er, _mm256_castsi256_ps(bits));
}

QK_TARGET_AVX2_ONLY static inline __m256 x8_tanh(__m256 x) {
    __m256 ax = _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7FFFFFFF)));
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_sub_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(5.37397155531e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_sub_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(3.33332819422e-1f));
    __m256 small = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, z), x), x);
    __m256 e = x8_exp(_mm256_mul_ps(_mm256_set1_ps(2.0f), ax));
    __m256 bigAbs = _mm256_sub_ps(_mm256_set1_ps(1.0f),
                                  _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 big = _mm256_blendv_ps(bigAbs, x8_negate(bigAbs), negative);
    __m256 isSmall = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_blendv_ps(big, small, isSmall);
}

QK_TARGET_AVX2_ONLY static inline __m256 x8_sigmoid(__m256 x) {
    return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), x8_exp(x8_negate(x))));
}

// y[i] = f(x[i]) 8 lanes at a time; the tail by the scalar form, which gives the same bits.
#define QK_MAP_AVX2(name, f, scalar)                                                                \
    QK_TARGET_AVX2_ONLY static void name(const float *x, float *y, size_t n) {                           \
        size_t i = 0;                                                                               \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));              \
        for (; i < n; i++) y[i] = scalar(x[i]);                                                     \
    }
QK_MAP_AVX2(tanh_avx2, x8_tanh, s_tanh)
QK_MAP_AVX2(sigmoid_avx2, x8_sigmoid, s_sigmoid)
#endif

// MARK: - Entry points

void qk_tanh_portable(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = s_tanh(x[i]);
}

void qk_sigmoid_portable(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = s_sigmoid(x[i]);
}

void qk_tanh(const float *x, float *y, size_t count) {
#if defined(__x86_64__)
    int level = qk_level();
    if (level == 3) { tanh_avx512(x, y, count); return; }
    if (level == 2) { tanh_avx2(x, y, count); return; }
#endif
    qk_tanh_portable(x, y, count);
}

void qk_sigmoid(const float *x, float *y, size_t count) {
#if defined(__x86_64__)
    int level = qk_level();
    if (level == 3) { sigmoid_avx512(x, y, count); return; }
    if (level == 2) { sigmoid_avx2(x, y, count); return; }
#endif
    qk_sigmoid_portable(x, y, count);
}
