// Fused, threaded LSTM, GRU and plain-RNN steps with packed recurrent weights: see include/QuillKernels.h. One
// source for both vector widths: recurrent_steps_body.h is compiled here at 16 lanes (AVX-512) and at 8 (AVX2 + FMA),
// and each public step runs the width qk_level() chooses (none below 2: the caller then takes QuillNN's portable
// path). The slices, the packing and the threads are in recurrent_shared.c, the panel products in panel_product.c.
//
// Forward, per step: each thread computes its units' gate columns G = pre + h_{t−1}·W_h from the whole h_{t−1},
// then the cell maths for its units, and writes its part of the state; the step returns when every thread is done
// (h_t is read whole by the next step). Backward, per step: each thread computes the pre-activation gradients of
// its units, a barrier, then its columns of dh_{t−1} = dG·W_hᵀ, which reads every thread's dG. "Its units" are
// pieces (qk_slicing): its own slice, all rows, and its part of the rows of any 16-unit slice it shares with a
// neighbour, the same pieces in both phases.
#include "QuillKernels.h"

#if defined(__x86_64__)

#include "recurrent_shared.h"
#include "vector_math.h"
#include <string.h>

/// One step's operands as every thread sees them (the union of what the LSTM, GRU and RNN steps take).
typedef struct {
    const float *packed;
    int B, H, relu;
    qk_slicing sl;
    float clip;
    // The backward step's gradients that carry_dh multiplies by W_hᵀ (B, recGates·H)
    const float *dRec;
    int recGates;
    // LSTM (gates and tanhC are read, not written, by the backward step)
    const float *hPrev, *cPrev, *peep, *dhExt;
    float *gates, *c, *tanhC, *h, *dh, *dc, *dGates;
    // GRU and RNN
    const float *biasH, *act, *hgIn, *hOut;
    float *pre, *hg, *dPre, *dhg;
} step_args;

/// A step's work on one piece: rows [r0, r1) of slice s.
typedef void (*piece_fn)(step_args *a, int s, int r0, int r1);

/// Runs `fn` on every piece (a slice of units and its rows, qk_slicing) of planned threads tid, tid + nthreads, …
static void for_pieces(void *p, int tid, int nthreads, piece_fn fn) {
    step_args *a = p;
    for (int t = tid; t < a->sl.threads; t += nthreads)
        for (int s = 0; s < a->sl.count; s++) {
            int r0, r1;
            qk_slice_rows(&a->sl, s, t, a->B, &r0, &r1);
            if (r0 < r1 && a->sl.bounds[s + 1] > a->sl.bounds[s]) fn(a, s, r0, r1);
        }
}

// The panel product of each width.
#define panels_avx512 qk_gemm_panels
#define panels_avx2 qk_gemm_panels_avx2

#define QK_W 16
#include "simd_width.h"
#include "recurrent_steps_body.h"
#include "simd_width_end.h"

#define QK_W 8
#include "simd_width.h"
#include "recurrent_steps_body.h"
#include "simd_width_end.h"

/// Runs the job of the width qk_level() chooses (avx512 at 3, avx2 at 2; nothing below) over the pieces of the
/// step's units.
static void run_step(step_args *a, qk_job avx512, qk_job avx2) {
    int level = qk_level();
    qk_job job = level == 3 ? avx512 : level == 2 ? avx2 : NULL;
    if (!job) return;
    qk_unit_slicing(a->H, &a->sl);
    qk_pool_run(job, a, a->sl.threads);
}

void qk_lstm_forward_step(const float *packed, int batch, int hidden, const float *hPrev, const float *cPrev,
                          float *gates, float *c, float *tanhC, float *h, const float *peepholes) {
    step_args a = { .packed = packed, .B = batch, .H = hidden, .hPrev = hPrev, .cPrev = cPrev, .peep = peepholes,
                    .gates = gates, .c = c, .tanhC = tanhC, .h = h };
    run_step(&a, lstm_forward_job_avx512, lstm_forward_job_avx2);
}

void qk_lstm_backward_step(const float *packed, int batch, int hidden, const float *gates, const float *cPrev,
                           const float *tanhC, float *dh, const float *dhExternal, float *dc, float *dGates,
                           float clip, const float *peepholes) {
    step_args a = { .packed = packed, .B = batch, .H = hidden, .gates = (float *)gates, .cPrev = cPrev,
                    .tanhC = (float *)tanhC, .dh = dh, .dhExt = dhExternal, .dc = dc, .dGates = dGates,
                    .clip = clip, .peep = peepholes, .dRec = dGates, .recGates = 4 };
    run_step(&a, lstm_backward_job_avx512, lstm_backward_job_avx2);
}

void qk_gru_forward_step(const float *packed, int batch, int hidden, const float *hPrev, const float *biasH,
                         float *xg, float *hg, float *h) {
    step_args a = { .packed = packed, .B = batch, .H = hidden, .hPrev = hPrev, .biasH = biasH, .pre = xg, .hg = hg,
                    .h = h };
    run_step(&a, gru_forward_job_avx512, gru_forward_job_avx2);
}

void qk_gru_backward_step(const float *packed, int batch, int hidden, const float *act, const float *hg,
                          const float *hPrev, float *dh, const float *dhExternal, float *dxg, float *dhg,
                          float clip) {
    step_args a = { .packed = packed, .B = batch, .H = hidden, .act = act, .hgIn = hg, .hPrev = hPrev, .dh = dh,
                    .dhExt = dhExternal, .dPre = dxg, .dhg = dhg, .clip = clip, .dRec = dhg, .recGates = 3 };
    run_step(&a, gru_backward_job_avx512, gru_backward_job_avx2);
}

void qk_rnn_forward_step(const float *packed, int batch, int hidden, int relu, const float *hPrev, float *pre,
                         float *h) {
    step_args a = { .packed = packed, .B = batch, .H = hidden, .relu = relu, .hPrev = hPrev, .pre = pre, .h = h };
    run_step(&a, rnn_forward_job_avx512, rnn_forward_job_avx2);
}

void qk_rnn_backward_step(const float *packed, int batch, int hidden, int relu, const float *h, float *dh,
                          const float *dhExternal, float *dPre, float clip) {
    step_args a = { .packed = packed, .B = batch, .H = hidden, .relu = relu, .hOut = h, .dh = dh,
                    .dhExt = dhExternal, .dPre = dPre, .clip = clip, .dRec = dPre, .recGates = 1 };
    run_step(&a, rnn_backward_job_avx512, rnn_backward_job_avx2);
}

#else

void qk_lstm_forward_step(const float *packed, int batch, int hidden, const float *hPrev, const float *cPrev,
                          float *gates, float *c, float *tanhC, float *h, const float *peepholes) {
    (void)packed; (void)batch; (void)hidden; (void)hPrev; (void)cPrev; (void)gates; (void)c; (void)tanhC; (void)h;
    (void)peepholes;
}
void qk_lstm_backward_step(const float *packed, int batch, int hidden, const float *gates, const float *cPrev,
                           const float *tanhC, float *dh, const float *dhExternal, float *dc, float *dGates,
                           float clip, const float *peepholes) {
    (void)packed; (void)batch; (void)hidden; (void)gates; (void)cPrev; (void)tanhC; (void)dh; (void)dhExternal;
    (void)dc; (void)dGates; (void)clip; (void)peepholes;
}
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
