// Quill's hand-written CPU kernels (single precision): the per-step work of the recurrent networks (the LSTM, GRU
// and plain-RNN steps and Graves's soft window) and the large matrix products over whole sequences (qk_sgemm).
//
// One timestep of an LSTM over a batch is a small product h_{t−1}·W_h (B × H by H × 4H) followed by the gate
// maths; OpenBLAS repacks W_h on every such call and runs the gate maths on one core. Here W_h is packed once per
// pass into panels that each thread keeps hot in its cache, and each thread owns a slice of the hidden units: it
// computes the product for its units' four gate columns, then their gate maths, with one barrier per step.
//
// Two vector widths, chosen at run time (qk_level): AVX-512 (16 lanes) and, on CPUs with AVX2 and FMA but no
// AVX-512 (AMD Zen 2, older Intel), AVX2 (8 lanes). The recurrent steps, the window and the elementwise activations
// are each one width-generic source (recurrent_steps_body.h, window_body.h, elementwise_body.h over simd_width.h)
// compiled at both widths; only the panel products' register tiles differ (panel_product.c). The recurrent steps
// and the window are no-ops where qk_level() is below 2; callers then take the portable path. qk_sgemm, qk_sgemm_bf16,
// qk_parallel_ranges and qk_fma_peak_gflops work on every CPU.
#ifndef QUILL_KERNELS_H
#define QUILL_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The widest kernels this process runs: 3 for AVX-512 (F, VL, DQ with FMA), 2 for AVX2 with FMA, 0 for neither (or
/// not x86-64), capped by QUILL_KERNELS in the environment (0, off, none or portable: none; avx2: at most the AVX2
/// kernels; avx512 or all: no cap; case ignored; a width the CPU lacks, or any other value, is named in one line on
/// standard error) or by qk_set_level. The CPU is read once.
int qk_level(void);

/// The vector kernels this CPU runs (3, 2 or 0 as qk_level()), whatever QUILL_KERNELS or qk_set_level allow.
int qk_cpu_kernel_level(void);

/// Caps the kernels at `level` (0: none, 2: AVX2 at most, 3: all the CPU runs; 1 counts as 0) for tests and
/// benches that hold one width to another on the same machine; returns qk_level() afterwards. Call it between
/// passes, from one thread: packed weights keep their layout, which does not depend on the level.
int qk_set_level(int level);

/// 1 when qk_level() is 3 (the AVX-512 kernels: the GEMMs, the 16-lane steps and window), else 0.
int qk_available(void);

/// 1 when qk_level() is at least 2 (the fused recurrent steps and the window run, 16 or 8 lanes), else 0.
int qk_avx2_available(void);

/// y = tanh(x) and y = sigmoid(x) over `count` floats (x and y may be the same array), bit for bit Float.fastTanh
/// and Float.fastSigmoid of QuillNumerics: AVX-512 where qk_level() is 3, AVX2 where it is 2, a plain loop elsewhere.
void qk_tanh(const float *x, float *y, size_t count);
void qk_sigmoid(const float *x, float *y, size_t count);
/// The plain loops qk_tanh and qk_sigmoid fall back to (for tests on CPUs that take the vector path).
void qk_tanh_portable(const float *x, float *y, size_t count);
void qk_sigmoid_portable(const float *x, float *y, size_t count);

/// Adam's update (Kingma & Ba 2015, the bias correction folded into lr and eps by the caller) over `count`
/// floats: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g·g, w −= lr·m / (√v + eps), bit for bit QuillOptim's Swift loop
/// (the same operations in its order, no fused multiply-adds, IEEE square root and division). w, m, v are updated
/// in place; g is read. Arrays must not overlap. AVX-512 or AVX2 by qk_level(), a plain loop elsewhere; large
/// arrays are cut over the kernel threads (each element by one thread, so the bits do not depend on them).
void qk_adam(float *w, const float *g, float *m, float *v, size_t count, float lr, float beta1, float beta2,
             float eps);
/// The plain loop qk_adam falls back to (for tests on CPUs that take the vector path).
void qk_adam_portable(float *w, const float *g, float *m, float *v, size_t count, float lr, float beta1,
                      float beta2, float eps);

/// Σ x² over `count` floats, bit for bit QuillNumerics' Kernels.sumOfSquares (the squares of each block of 4,096
/// summed in float, in order; the blocks' sums in double, in order): blocks side by side in the lanes (AVX-512 or
/// AVX2 by qk_level(), a plain loop elsewhere) and over the kernel threads.
double qk_sum_of_squares(const float *x, size_t count);
/// The plain loop qk_sum_of_squares falls back to (for tests on CPUs that take the vector path).
double qk_sum_of_squares_portable(const float *x, size_t count);

/// Threads the fused steps use (the caller's thread included): QUILL_THREADS if set, else the online CPUs, capped
/// at 8 and so that each thread owns at least 32 hidden units.
int qk_threads_for(int hidden);

/// For tests: plans the fused steps for `threads` threads (1…8; 0 restores the default) whatever the CPUs, so a
/// test can hold the results of one cut of the units to another's; the pool's threads run the planned ones in turn.
/// Packed recurrent weights depend on the plan: pack after calling it, and call it between passes, from one thread.
/// Returns the previous setting.
int qk_set_step_threads(int threads);

/// Floats needed for the packed forward (W_h) or backward (W_hᵀ) weights of one recurrent layer of `hidden` units
/// and `gates` gate blocks (LSTM 4, GRU 3, RNN 1).
size_t qk_recurrent_packed_count(int gates, int hidden);

/// Packs W_h (hidden × gates·hidden, row-major, gate blocks in Quill's order) for the forward steps
/// (`qk_lstm_forward_step`, `qk_gru_forward_step`, `qk_rnn_forward_step`), on the kernel threads (both packings: a
/// panel a work item; alone on the caller's thread when the pool is busy).
void qk_recurrent_pack_forward(const float *wh, int gates, int hidden, float *packed);

/// Packs W_hᵀ, read straight from W_h, for the backward steps.
void qk_recurrent_pack_backward(const float *wh, int gates, int hidden, float *packed);

/// Products with weights packed once and used at every step of a pass (the per-step input products of a layer fed
/// by Graves's window): op(B) (K × N) in QK_NR-column panels, k-major, the last padded with zeros.
/// qk_panel_count: floats the packing takes (the room must be 64-byte aligned). qk_panel_pack: packs B (row stride ldb), or with `transposed` its
/// transpose (element (k, n) is B[n·ldb + k]). qk_panel_multiply: C (M × N, row stride ldc) += A (M × K, row stride
/// lda) · op(B), each element summed over k in order with fused multiply-adds onto C's value, the columns cut over
/// the kernel threads by panels (the bits do not depend on the threads); returns 0, doing nothing, where qk_level()
/// is below 2 (the caller then takes its portable product), else 1.
size_t qk_panel_count(int K, int N);
void qk_panel_pack(const float *B, int ldb, int transposed, int K, int N, float *packed);
int qk_panel_multiply(const float *packed, int K, int N, int M, const float *A, int lda, float *C, int ldc);

/// One forward LSTM step over a batch, Graves's eqs. 7–11 (peepholes optional).
/// - gates: (B, 4H) input-side pre-activations in; activated gates (i, f, g, o) out.
/// - hPrev, cPrev: (B, H) state in; c, tanhC, h: (B, H) out.
/// - peepholes: NULL or (3H) w_ci, w_cf, w_co.
void qk_lstm_forward_step(const float *packed, int batch, int hidden, const float *hPrev, const float *cPrev,
                          float *gates, float *c, float *tanhC, float *h, const float *peepholes);

/// One backward LSTM step over a batch.
/// - gates, cPrev, tanhC: the forward step's activated gates, c_{t−1} and tanh(c_t).
/// - dh: (B, H) gradient carried from step t+1 in; gradient reaching h_{t−1} out. dhExternal: NULL or (B, H),
///   added to dh first.
/// - dc: (B, H) gradient reaching c_t in; reaching c_{t−1} out.
/// - dGates: (B, 4H) gradients of the pre-activations out, clamped to ±clip when clip > 0.
void qk_lstm_backward_step(const float *packed, int batch, int hidden, const float *gates, const float *cPrev,
                           const float *tanhC, float *dh, const float *dhExternal, float *dc, float *dGates,
                           float clip, const float *peepholes);

/// Graves's soft window, forward through one step for `batch` rows (eqs. 46–51): α = exp α̂, β = exp β̂,
/// κ_t = κ_{t−1} + s·exp κ̂; φ(t, u) for u = 1 … len_b + 1 (zero beyond, up to U + 1); w_t = Σ_u φ(t, u) c_u.
/// params: (B, 3K); kappaPrevious, alpha, beta, kappa: (B, K); phi: (B, U + 1); w: (B, V); text: (B, U) character
/// indices < V; lengths: (B). AVX-512 or AVX2 by qk_level(); a no-op where it is below 2.
void qk_window_forward(const float *params, const float *kappaPrevious, float *alpha, float *beta, float *kappa,
                       float *phi, float *w, const int *text, const long *lengths, int batch, int K, int U, int V,
                       float kappaScale);

/// The window's backward through one step for `batch` rows: ∂L/∂(α̂, β̂, κ̂) into dParams (B, 3K) from ∂L/∂w_t
/// (dw: B, V), with κ's gradient carried to the step before in kappaCarry (B, K), read and rewritten. AVX-512 or
/// AVX2 by qk_level(); a no-op where it is below 2.
void qk_window_backward(const float *dw, const float *params, const float *alpha, const float *beta,
                        const float *kappa, float *kappaCarry, float *dParams, const int *text, const long *lengths,
                        int batch, int K, int U, int V, float kappaScale);

/// The machine's single-precision FMA peak in GFLOP/s, measured on `threads` threads (1…256) for `seconds`
/// (0.001…10, after a warm-up of a quarter of that, at least 50 ms): 12 independent FMA chains per thread in the widest vectors the
/// CPU runs, chosen at run time (AVX-512, else AVX2 + FMA, else 128-bit vectors). Turbo clocks included; counts an
/// FMA as 2 FLOPs. Writes the vector width in bits (512, 256 or 128) to `vectorBits` when not NULL. Returns 0 when
/// a thread could not be started. Works on every CPU; measurements run one at a time.
double qk_fma_peak_gflops(int threads, double seconds, int *vectorBits);

/// The rate, in GB/s (10⁹ bytes a second), at which `threads` threads (1…256) read a buffer of `bytes` bytes
/// (4 KB…4 GB), each streaming its own contiguous share again and again with the widest vector loads the CPU has, for
/// `seconds` (0.001…10) after a warm-up of a quarter of that (at least 50 ms): the yardstick of batch-1 sampling, which reads every
/// weight once a step. 0 when a thread could not be started, the buffer could not be allocated, or a thread's share
/// is empty.
double qk_read_bandwidth_gbs(int threads, size_t bytes, double seconds);

/// Quill's single-precision matrix product, row-major: C = α·op(A)·op(B) + β·C, where op(A) is (m × k) and op(B)
/// is (k × n). A is stored (m × k) with row stride lda, or (k × m) when transA is 1; B is stored (k × n) with row
/// stride ldb, or (n × k) when transB is 1; C is (m × n) with row stride ldc. β = 0 sets C without reading it;
/// α = 0 or k = 0 only scales C by β. Any m, n, k ≥ 0.
///
/// A packed, register-blocked product (Goto's algorithm; see gemm.c): AVX-512 in 14 × 32 tiles where qk_level()
/// is 3, AVX2 + FMA in 6 × 16 tiles where it is 2 (the two round differently), on `threads` threads, the caller's
/// included (≤ 0: the kernels' thread count, QUILL_THREADS or the online CPUs, at most 8): the rows of C, or its
/// columns where there are more of those, are cut into one range per thread; k is never split, so every thread
/// count gives the same bits. Plain loops where qk_level() is below 2. Each thread keeps about 1 MB of packing
/// room between calls.
void qk_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc, int threads);

/// A thin product, `C (m, n) = alpha · (bias + op(A) · B) + beta · C` with B stored (k, n) row-major, A stored
/// (m, k) or, when transA, (k, m); bias: NULL or (n), added to every row. Runs it and returns 1 where the depth k is
/// at most 8, or where m is at most 4 and bias is NULL, on a CPU with AVX-512 or AVX2 (qk_level() ≥ 2); else
/// returns 0 and leaves C alone (the caller's BLAS runs it). Each element sums over k in order (thin_product.c).
int qk_sgemm_thin(int transA, int m, int n, int k, float alpha, const float *A, int lda, const float *B, int ldb,
                  const float *bias, float beta, float *C, int ldc);

/// 1 when this CPU runs qk_sgemm_bf16's vector kernel: qk_available() (AVX-512 F, VL, DQ, FMA, the OS saving their
/// state, not capped by QUILL_KERNELS or qk_set_level), AVX512-BW and AVX512_BF16 (CPUID leaf 7, subleaf 1, EAX
/// bit 5); else 0. The CPU is read once.
int qk_bf16_available(void);

/// qk_sgemm with bfloat16 operands, opt-in for the large products: C = α·op(A)·op(B) + β·C with the shapes,
/// strides and β = 0 / α = 0 / k = 0 rules of qk_sgemm, but every element of op(A) and op(B) is first rounded to
/// bfloat16 (8 significant bits: round to nearest, ties to even; ±∞ kept, finite values past the largest bf16
/// become ±∞, NaN stays NaN), and the products are summed in fp32 (VDPBF16PS, pairs of k interleaved in packed
/// panels; see gemm_bf16.c). A, B and C stay fp32 in memory: nothing is stored in bf16 outside the packing room.
/// Relative error per element about 2⁻⁸ of Σ|a||b| from the rounding of the inputs, plus fp32 summation.
///
/// Threads as qk_sgemm: `threads` ranges of C's rows or columns (≤ 0: the kernels' thread count), never k, so
/// every thread count gives the same bits. Where qk_bf16_available() is 0, the same rounded operands by
/// qk_sgemm_bf16_loops. Each thread keeps about 1.1 MB of packing room between calls.
void qk_sgemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc, int threads);

/// The plain-loop twin of qk_sgemm_bf16, on every CPU (and what qk_sgemm_bf16 runs without AVX512_BF16): the same
/// bf16 rounding of both operands, products summed in fp32 in order of k, one thread. Same arguments, less
/// `threads`.
void qk_sgemm_bf16_loops(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc);

/// 0 when the environment sets QUILL_GEMM=openblas (every Float product then goes to OpenBLAS, for comparisons),
/// else 1. Read once.
int qk_sgemm_preferred(void);

/// A function over the index range [begin, end) of some work, with its context.
typedef void (*qk_range_fn)(void *context, int begin, int end);

/// Splits [0, count) into contiguous ranges of at least `minimumPerThread` indices over the kernel threads (the
/// caller's included), runs `fn` on each, and returns when all are done. Runs `fn(context, 0, count)` on the
/// caller's thread where there is one thread, or where the pool is busy. Works on every CPU.
void qk_parallel_ranges(int count, int minimumPerThread, qk_range_fn fn, void *context);

/// Sets (on ≠ 0) or clears the calling thread's flush-to-zero and denormals-are-zero modes (MXCSR bits FTZ and
/// DAZ: floats below 2⁻¹²⁶ ≈ 1.18e-38 read and written as zero, where the CPU would otherwise spend a microcode
/// assist of about a hundred cycles on each) and returns 1 if both were set before, else 0. The kernel threads take
/// the caller's modes with each job (qk_pool_run), so a product's bits do not depend on which thread ran a range.
/// Returns 0 and changes nothing off x86-64.
int qk_flush_denormals(int on);

// MARK: - GRU and plain-RNN steps (recurrent_steps.c)
//
// The same scheme as the LSTM step: W_h packed once per pass (`qk_recurrent_pack_forward` / `_backward` with 3 or
// 1 gate blocks), each thread owning a slice of hidden units, product and cell maths fused per slice. The maths is
// QuillNN's CellKernels.gruForward/gruBackward and rnnForward/rnnBackward.

/// One forward GRU step over a batch: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ h_n),
/// h = (1 − z) ⊙ n + z ⊙ h_{t−1}, where (h_r, h_z, h_n) = h_{t−1}·W_h + b_h.
/// - hPrev: (B, H); biasH: (3H) the recurrent-side bias.
/// - xg: (B, 3H) input-side pre-activations in, activated (r, z, n) out.
/// - hg: (B, 3H) out: the recurrent-side pre-activations h_{t−1}·W_h + b_h (backward reads h_n).
/// - h: (B, H) out.
void qk_gru_forward_step(const float *packed, int batch, int hidden, const float *hPrev, const float *biasH,
                         float *xg, float *hg, float *h);

/// One backward GRU step over a batch.
/// - act, hg, hPrev: the forward step's activated (r, z, n), its recurrent-side pre-activations, and h_{t−1}.
/// - dh: (B, H) gradient carried from step t+1 in; gradient reaching h_{t−1} out. dhExternal: NULL or (B, H), added
///   to dh first.
/// - dxg, dhg: (B, 3H) gradients of the input-side and recurrent-side pre-activations out, each clamped to ±clip
///   when clip > 0.
void qk_gru_backward_step(const float *packed, int batch, int hidden, const float *act, const float *hg,
                          const float *hPrev, float *dh, const float *dhExternal, float *dxg, float *dhg,
                          float clip);

/// One forward plain-RNN step over a batch: h = tanh(pre + h_{t−1}·W_h), or max(·, 0) when `relu` is 1.
/// - pre: (B, H) input-side pre-activations in, h out; h: (B, H) out.
void qk_rnn_forward_step(const float *packed, int batch, int hidden, int relu, const float *hPrev, float *pre,
                         float *h);

/// One backward plain-RNN step over a batch.
/// - h: (B, H) the forward step's output.
/// - dh: (B, H) gradient carried from step t+1 in; gradient reaching h_{t−1} out. dhExternal: NULL or (B, H).
/// - dPre: (B, H) gradient of the pre-activations out, clamped to ±clip when clip > 0.
void qk_rnn_backward_step(const float *packed, int batch, int hidden, int relu, const float *h, float *dh,
                          const float *dhExternal, float *dPre, float clip);

#ifdef __cplusplus
}
#endif

#endif
