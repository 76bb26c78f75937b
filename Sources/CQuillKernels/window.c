// Graves's soft window (section 5, eqs. 46–51), one step over a range of batch rows: see include/QuillKernels.h.
// One source, window_body.h, compiled at 16 lanes (AVX-512) and at 8 (AVX2 + FMA); qk_level() chooses at run time.
#include "QuillKernels.h"

#if defined(__x86_64__)

#include "vector_math.h"

#define QK_W 16
#include "simd_width.h"
#include "window_body.h"
#include "simd_width_end.h"

#define QK_W 8
#include "simd_width.h"
#include "window_body.h"
#include "simd_width_end.h"

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
