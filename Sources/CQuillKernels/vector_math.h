// Vector maths shared by the kernels, single precision, at both widths: vm_exp/vm_reciprocal/vm_sigmoid/vm_tanh
// with the suffix _avx512 (16 lanes) or _avx2 (8 lanes), from one body (vector_math_body.h); and the helpers the
// width-generic bodies use for partial vectors (masks, tail loads and stores, a horizontal sum).
#ifndef QUILL_VECTOR_MATH_H
#define QUILL_VECTOR_MATH_H

#if defined(__x86_64__)
#include <immintrin.h>

/// The target attributes of AVX-512 (with FMA) and of AVX2 + FMA functions.
#define QK_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,fma,avx2")))
#define QK_TARGET_AVX2 __attribute__((target("avx2,fma")))

/// Lanes [0, count) of 16, as a mask.
static inline __mmask16 qk_mask(int count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/// Lanes [0, count) of 8, as the mask vector of maskload/maskstore.
QK_TARGET_AVX2 static inline __m256i qk_lanes8(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// The `rem` floats at p (all 8 when rem ≥ 8), zeros in the other lanes, which are not read.
QK_TARGET_AVX2 static inline __m256 qk_ld8(const float *p, int rem) {
    return rem >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, qk_lanes8(rem));
}

/// Stores the first `rem` lanes of v at p (all 8 when rem ≥ 8).
QK_TARGET_AVX2 static inline void qk_st8(float *p, int rem, __m256 v) {
    if (rem >= 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, qk_lanes8(rem), v);
}

/// The sum of v's 8 lanes: halves, then pairs, then the last two.
QK_TARGET_AVX2 static inline float qk_sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define QK_W 16
#include "simd_width.h"
#include "vector_math_body.h"
#include "simd_width_end.h"

#define QK_W 8
#include "simd_width.h"
#include "vector_math_body.h"
#include "simd_width_end.h"

#endif
#endif
