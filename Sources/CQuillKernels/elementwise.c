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

// MARK: - The same operations 16 lanes at a time (AVX-512) and 8 (AVX2)

#define QK_W 16
#include "simd_width.h"
#include "elementwise_body.h"
#include "simd_width_end.h"

#define QK_W 8
#include "simd_width.h"
#include "elementwise_body.h"
#include "simd_width_end.h"
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
    if (level == 3) { tanh_map_avx512(x, y, count); return; }
    if (level == 2) { tanh_map_avx2(x, y, count); return; }
#endif
    qk_tanh_portable(x, y, count);
}

void qk_sigmoid(const float *x, float *y, size_t count) {
#if defined(__x86_64__)
    int level = qk_level();
    if (level == 3) { sigmoid_map_avx512(x, y, count); return; }
    if (level == 2) { sigmoid_map_avx2(x, y, count); return; }
#endif
    qk_sigmoid_portable(x, y, count);
}
