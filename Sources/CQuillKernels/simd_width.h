// One vector width for the width-generic kernel bodies (vector_math_body.h, recurrent_steps_body.h,
// window_body.h, elementwise_body.h): define QK_W as 16 (AVX-512, zmm) or 8 (AVX2 + FMA, ymm), include this file,
// then a body, then simd_width_end.h, which takes every name defined here away again, so one translation unit can
// hold both widths. No include guard, on purpose.
//
// Each operation below is one instruction (or a fixed, short sequence) of the chosen width, so a body compiled at
// 16 lanes gives, lane for lane, the bits that the same body gives at 8 lanes wherever the instructions round alike.
// The one operation that does not: vrcp_estimate (AVX-512's rcp14 is exact to 14 bits, AVX2's rcpps to 12 and
// differs between vendors), refined by one Newton step in vector_math_body.h.
#if !defined(QK_W) || (QK_W != 16 && QK_W != 8)
#error "define QK_W as 16 or 8 before including simd_width.h"
#endif

#include <immintrin.h>

#define QK_CAT_(a, b) a##b
#define QK_CAT(a, b) QK_CAT_(a, b)

#if QK_W == 16

/// The target attribute of a function of this width.
#define VTARGET __attribute__((target("avx512f,avx512vl,avx512dq,fma,avx2")))
/// `name` for this width: name_avx512.
#define VNAME(name) QK_CAT(name, _avx512)
#define VF __m512
#define VI __m512i

#define vset1 _mm512_set1_ps
#define vzero _mm512_setzero_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vdiv _mm512_div_ps
#define vsqrt _mm512_sqrt_ps
#define vmin _mm512_min_ps
#define vmax _mm512_max_ps
#define vfmadd _mm512_fmadd_ps
#define vfnmadd _mm512_fnmadd_ps
#define vand _mm512_and_ps
#define vor _mm512_or_ps
#define vxor _mm512_xor_ps
#define vloadu _mm512_loadu_ps
#define vstoreu _mm512_storeu_ps
#define vset1_i _mm512_set1_epi32
#define vadd_i _mm512_add_epi32
#define vsub_i _mm512_sub_epi32
#define vslli_i _mm512_slli_epi32
#define vas_i _mm512_castps_si512
#define vas_f _mm512_castsi512_ps
/// a < b ? yes : no, lane by lane (ordered, quiet: a NaN gives no).
#define vselect_lt(a, b, yes, no) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ), (no), (yes))
/// a > b ? v : 0, lane by lane.
#define vkeep_gt(a, b, v) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask((a), (b), _CMP_GT_OQ), (v))
/// The hardware reciprocal estimate (14 bits).
#define vrcp_estimate _mm512_rcp14_ps
/// The sum of the lanes.
#define vsum _mm512_reduce_add_ps
/// 0, 1, …, 15.
#define viota() _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

/// The `rem` floats at p (all 16 when rem ≥ 16), zeros in the other lanes, which are not read.
#define vld(p, rem) _mm512_maskz_loadu_ps(qk_mask(rem), (p))
/// Stores the first `rem` lanes of v at p (all 16 when rem ≥ 16); memory past them is not touched.
#define vst(p, rem, v) _mm512_mask_storeu_ps((p), qk_mask(rem), (v))
/// Asks for the cache line at p in a writable state ahead of a store (PREFETCHW; every AVX-512 CPU has it): a
/// fresh output line's read for ownership then overlaps the work before the store instead of stalling it.
#define vprefetch_write(p) __asm__ volatile("prefetchw %0" : : "m"(*(const char *)(p)))
/// v with lanes [rem, 16) zero.
#define vkeep_first(v, rem) _mm512_maskz_mov_ps(qk_mask(rem), (v))
/// base[idx[u]] for the first `rem` lanes (idx read only there), zeros in the others.
#define vgather_first(base, idx, rem)                                                                              \
    _mm512_mask_i32gather_ps(_mm512_setzero_ps(), qk_mask(rem), _mm512_maskz_loadu_epi32(qk_mask(rem), (idx)),     \
                             (base), 4)

#else

#define VTARGET __attribute__((target("avx2,fma")))
#define VNAME(name) QK_CAT(name, _avx2)
#define VF __m256
#define VI __m256i

#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vdiv _mm256_div_ps
#define vsqrt _mm256_sqrt_ps
#define vmin _mm256_min_ps
#define vmax _mm256_max_ps
#define vfmadd _mm256_fmadd_ps
#define vfnmadd _mm256_fnmadd_ps
#define vand _mm256_and_ps
#define vor _mm256_or_ps
#define vxor _mm256_xor_ps
#define vloadu _mm256_loadu_ps
#define vstoreu _mm256_storeu_ps
#define vset1_i _mm256_set1_epi32
#define vadd_i _mm256_add_epi32
#define vsub_i _mm256_sub_epi32
#define vslli_i _mm256_slli_epi32
#define vas_i _mm256_castps_si256
#define vas_f _mm256_castsi256_ps
#define vselect_lt(a, b, yes, no) _mm256_blendv_ps((no), (yes), _mm256_cmp_ps((a), (b), _CMP_LT_OQ))
#define vkeep_gt(a, b, v) _mm256_and_ps(_mm256_cmp_ps((a), (b), _CMP_GT_OQ), (v))
/// The hardware reciprocal estimate (12 bits).
#define vrcp_estimate _mm256_rcp_ps
#define vsum qk_sum8
#define viota() _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7)

#define vld(p, rem) qk_ld8((p), (rem))
#define vst(p, rem, v) qk_st8((p), (rem), (v))
/// Nothing at this width: on a Zen 2, PREFETCHW two rows ahead left the backward step as it was (C harness, 300
/// steps of 32 × 400, 2 threads: 306–324 µs a step with and without, 2026-12-05).
#define vprefetch_write(p) ((void)(p))
#define vkeep_first(v, rem) _mm256_and_ps((v), _mm256_castsi256_ps(qk_lanes8(rem)))
#define vgather_first(base, idx, rem)                                                                              \
    _mm256_mask_i32gather_ps(_mm256_setzero_ps(), (base), _mm256_maskload_epi32((idx), qk_lanes8(rem)),            \
                             _mm256_castsi256_ps(qk_lanes8(rem)), 4)

#endif

/// Lanes of this width.
#define VW QK_W

// The vector maths of vector_math_body.h, at this width.
#define vexp VNAME(vm_exp)
#define vreciprocal VNAME(vm_reciprocal)
#define vsigmoid VNAME(vm_sigmoid)
#define vtanh VNAME(vm_tanh)
