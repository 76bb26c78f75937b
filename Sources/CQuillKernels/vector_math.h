// Vector maths shared by the kernels (AVX-512 and AVX2, single precision): the same Cephes approximations as
// Float.fastExp / fastTanh in QuillNumerics, so the kernels and the portable Swift path agree to rounding.
#ifndef QUILL_VECTOR_MATH_H
#define QUILL_VECTOR_MATH_H

#if defined(__x86_64__)
#include <immintrin.h>

#define QK_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,fma,avx2")))

QK_TARGET static inline __m512 v_exp(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
    __m512 m = _mm512_fmadd_ps(x, _mm512_set1_ps(1.442695041f), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(m, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 er = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(m), _mm512_set1_epi32(0x4B400000)), _mm512_set1_epi32(127)),
        23);
    return _mm512_mul_ps(er, _mm512_castsi512_ps(bits));
}

/// 1/d: the 14-bit hardware reciprocal and one Newton step (relative error about 1e-7, like the division it
/// replaces, at a quarter of its cost). d ≥ 1 wherever it is used here, and may be +∞ (v_exp overflows above
/// 88.38, as Float.fastExp does): d is capped at 1e30 first, since the Newton step would turn 1/∞ into ∞·0 = NaN.
QK_TARGET static inline __m512 v_reciprocal(__m512 d) {
    d = _mm512_min_ps(d, _mm512_set1_ps(1e30f));
    __m512 r = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
}

QK_TARGET static inline __m512 v_sigmoid(__m512 x) {
    return v_reciprocal(_mm512_add_ps(_mm512_set1_ps(1.0f), v_exp(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

QK_TARGET static inline __m512 v_tanh(__m512 x) {
    __m512 ax = _mm512_abs_ps(x), z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    __m512 e = v_exp(_mm512_add_ps(ax, ax));
    __m512 bigAbs = _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), v_reciprocal(_mm512_add_ps(e, _mm512_set1_ps(1.0f))),
                                     _mm512_set1_ps(1.0f));
    // Copy x's sign onto bigAbs.
    __m512 sign = _mm512_and_ps(x, _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u)));
    __m512 big = _mm512_or_ps(bigAbs, sign);
    __mmask16 isSmall = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(isSmall, big, small);
}

// MARK: - AVX2 (8 lanes), for CPUs with AVX2 and FMA but no AVX-512

#define QK_TARGET_AVX2 __attribute__((target("avx2,fma")))

// The same approximations with the same fused multiply-adds as the 16-lane forms above; the reciprocal is the 12-bit
// hardware one with one Newton step (relative error about 1e-7) in place of AVX-512's 14-bit one.

QK_TARGET_AVX2 static inline __m256 v8_exp(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
    __m256 m = _mm256_fmadd_ps(x, _mm256_set1_ps(1.442695041f), _mm256_set1_ps(12582912.0f));
    __m256 n = _mm256_sub_ps(m, _mm256_set1_ps(12582912.0f));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 er = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(m), _mm256_set1_epi32(0x4B400000)), _mm256_set1_epi32(127)),
        23);
    return _mm256_mul_ps(er, _mm256_castsi256_ps(bits));
}

/// 1/d for d ≥ 1, capped at 1e30 first (d may be +∞ where exp overflowed; Newton's step would make 1/∞ a NaN).
QK_TARGET_AVX2 static inline __m256 v8_reciprocal(__m256 d) {
    d = _mm256_min_ps(d, _mm256_set1_ps(1e30f));
    __m256 r = _mm256_rcp_ps(d);
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
}

QK_TARGET_AVX2 static inline __m256 v8_sigmoid(__m256 x) {
    return v8_reciprocal(_mm256_add_ps(_mm256_set1_ps(1.0f), v8_exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

QK_TARGET_AVX2 static inline __m256 v8_tanh(__m256 x) {
    const __m256 signBit = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    __m256 ax = _mm256_andnot_ps(signBit, x), z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    __m256 e = v8_exp(_mm256_add_ps(ax, ax));
    __m256 bigAbs = _mm256_fnmadd_ps(_mm256_set1_ps(2.0f), v8_reciprocal(_mm256_add_ps(e, _mm256_set1_ps(1.0f))),
                                     _mm256_set1_ps(1.0f));
    __m256 big = _mm256_or_ps(bigAbs, _mm256_and_ps(x, signBit));
    return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

/// Lanes [0, count) of 8, as the mask vector of maskload/maskstore.
QK_TARGET_AVX2 static inline __m256i lanes8(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// The `rem` floats at p (all 8 when rem ≥ 8), zeros in the other lanes, which are not read.
QK_TARGET_AVX2 static inline __m256 ld8(const float *p, int rem) {
    return rem >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes8(rem));
}

/// Stores the first `rem` lanes of v at p (all 8 when rem ≥ 8).
QK_TARGET_AVX2 static inline void st8(float *p, int rem, __m256 v) {
    if (rem >= 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, lanes8(rem), v);
}

/// Lanes [0, count) of 16, as a mask.
static inline __mmask16 qk_mask(int count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

#endif
#endif
