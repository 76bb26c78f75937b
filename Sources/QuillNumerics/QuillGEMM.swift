import Foundation
import CQuillKernels

/// Quill's own single-precision matrix product (`qk_sgemm` in CQuillKernels: packed, register-blocked, AVX-512 in
/// 14 × 32 tiles or AVX2 + FMA in 6 × 16, split over the kernel threads by rows or columns of C, never along k),
/// and the rule that sends a Float product to it or to OpenBLAS.
///
/// `Float.blasGemm` asks `takes(m:n:k:)` on every call: the large products over whole sequences (the input
/// projection X·W_x, the weight gradients Xᵀ·dG and the input gradient dG·W_xᵀ over T·B rows) run here on CPUs with
/// AVX-512 or AVX2, everything smaller (per-step products, batch-1 sampling) and every `Double` product stays on
/// OpenBLAS. The result does not depend on the thread count, so a run's bytes do not either. `precision = .bf16`
/// (opt-in) sends the large products on CPUs with AVX512_BF16 to `multiplyBF16` instead: bf16 operands, fp32 sums.
public enum QuillGEMM {
    /// Which implementation runs the Float products that reach `Float.blasGemm`.
    public enum Path: String, Sendable, CaseIterable {
        /// Quill's GEMM for the products `isLarge` accepts, on CPUs where it runs; OpenBLAS for the rest.
        case automatic
        /// Quill's GEMM for every product, where it runs (tests and benches).
        case quill
        /// OpenBLAS for every product.
        case openBLAS = "openblas"
    }

    /// The current choice: `.automatic` unless the environment sets `QUILL_GEMM=openblas`. The benches set it to
    /// time both paths in one run; set it before products run, from one thread.
    nonisolated(unsafe) public static var path: Path = qk_sgemm_preferred() != 0 ? .automatic : .openBLAS

    /// Whether this CPU runs Quill's GEMM: AVX-512 F, VL, DQ and FMA (14 × 32 tiles), or AVX2 and FMA (6 × 16
    /// tiles), and `QUILL_KERNELS` not 0 (`qk_level()` at least 2).
    public static var available: Bool { qk_avx2_available() != 0 }

    /// The precision of the large Float products (`isLarge`) in `Float.blasGemm`.
    ///
    /// Saved as its raw value ("fp32", "bf16") in a run's options (`quill.train-options`).
    public enum Precision: String, Sendable, CaseIterable, Codable {
        /// Single precision throughout: the default, and the only choice that keeps a run's bytes as before.
        case fp32
        /// Operands rounded to bfloat16, products summed in fp32 (`multiplyBF16`), where `bf16Available`; opt-in.
        /// Weights and gradients stay fp32 in memory (fp32 master weights): only the products' inputs are rounded.
        case bf16
    }

    /// The precision of the large products: `.fp32` unless a caller opts in. Read only by `Float.blasGemm`, and
    /// only for products `isLarge` accepts, on CPUs where `bf16Available`; elsewhere `.bf16` changes nothing. Set it
    /// before products run, from one thread.
    nonisolated(unsafe) public static var precision: Precision = .fp32

    /// Whether this CPU runs the bf16 product's vector kernel: `available`, AVX512-BW and AVX512_BF16 (CPUID leaf 7,
    /// subleaf 1, EAX bit 5). Where it is false, `multiplyBF16` gives the same rounded operands by plain loops.
    public static var bf16Available: Bool { qk_bf16_available() != 0 }

    /// Why `--precision bf16` cannot run here (this CPU, `QUILL_KERNELS`, `QUILL_GEMM=openblas`), as one line; nil
    /// where it can.
    public static var bf16Problem: String? {
        if path == .openBLAS {
            return "--precision bf16 runs in Quill's GEMM, and QUILL_GEMM=openblas sends every product to OpenBLAS"
        }
        if bf16Available { return nil }
        if let cap = ProcessInfo.processInfo.environment["QUILL_KERNELS"], !cap.isEmpty, qk_level() < 3 {
            return "--precision bf16 needs a CPU with AVX512-BF16 (VDPBF16PS) and Quill's AVX-512 kernels, which "
                + "this CPU lacks or QUILL_KERNELS=\(cap) turns off"
        }
        return "--precision bf16 needs a CPU with AVX512-BF16 (VDPBF16PS), which this one lacks"
    }

    /// Runs `body` with `precision` set to `p` for the large Float products, and sets it back afterwards (also when
    /// `body` throws). Training runs each step's forward and backward pass inside this with the run's precision;
    /// validation, sampling and everything else stay in fp32. Call it from one thread.
    public static func withPrecision<R>(_ p: Precision, _ body: () throws -> R) rethrows -> R {
        let saved = precision
        precision = p
        defer { precision = saved }
        return try body()
    }

    /// Whether a training step's products run OpenBLAS on one thread (`withTrainingProducts`): where Quill's GEMM
    /// takes the large products (`path` not `.openBLAS`, and `available`). OpenBLAS is then left the small ones (the
    /// char model's 65-wide output layer, per-step products under 128 rows), and its second thread, once woken by a
    /// call, spins with `sched_yield` for about 2²⁸ cycles afterwards, taking a core from Quill's kernel threads:
    /// 12.7% of the samples of `perf record` on `quill bench char` (2 cores), whose step ran 10% faster with
    /// OpenBLAS on one thread. On a 2-core AMD Zen 2 (AVX2), where OpenBLAS's Zen kernels had taken the large
    /// products on both threads, Quill's AVX2 GEMM and this took a char step from 5,556 to 7,040 chars/s and a
    /// prediction batch from 1,750 to 1,535 ms (alternated binaries, 2026-12-05).
    public static var trainsWithOneBLASThread: Bool { path != .openBLAS && available }

    /// OpenBLAS's threads inside a training step: 1 where `trainsWithOneBLASThread`, else `BLASInfo.threads`.
    public static var trainingBLASThreads: Int { trainsWithOneBLASThread ? 1 : BLASInfo.threads }

    /// Runs one training step (`body`: its forward and backward passes) in `precision` (`withPrecision`) and, where
    /// `trainsWithOneBLASThread`, with OpenBLAS on one thread and denormal floats (below 2⁻¹²⁶ ≈ 1.18e-38) flushed
    /// to zero (`qk_flush_denormals`, which Quill's kernel threads take from the caller); all restored afterwards,
    /// also when `body` throws. Every thread of such a step is then the caller's or a kernel thread, so its bits
    /// do not depend on the thread count. Denormals arise in the synthesis network's window (exp(−β(κ − u)²) far
    /// from κ) and in the gradients that flow from it, and each costs the CPU a microcode assist of about a hundred
    /// cycles: flushed, the window layer's W_x gradient (83 × 1,600 × 9,600) took 11.3 ms instead of 18.7 and the
    /// step's other passes 52.5 ms instead of 70.5 (`quill bench handwriting --network synthesis --profile`, 2 cores,
    /// Xeon). Validation, sampling and everything outside `body` keep IEEE denormals. Call it from one thread.
    public static func withTrainingProducts<R>(precision p: Precision, _ body: () throws -> R) rethrows -> R {
        try withPrecision(p) {
            guard trainsWithOneBLASThread else { return try body() }
            let flushed = qk_flush_denormals(1)
            defer { _ = qk_flush_denormals(flushed) }
            return try BLASInfo.singleThreaded(body)
        }
    }

    /// Whether a product of op(A) (m × k) and op(B) (k × n) is large enough for Quill's GEMM: at least 128 rows (so
    /// per-step products over a batch of up to 127 rows, and batch-1 sampling, stay on OpenBLAS), or, for a weight
    /// gradient Aᵀ·B (`transA`: A stored k × m, its k the T·B rows of a whole sequence batch), at least 32 rows and
    /// k ≥ 2,048; n and k at least 64, and at least 2²⁴ multiply-adds. Measured (one thread, its CPU time, Xeon with
    /// AVX-512 against OpenBLAS's SkylakeX kernels): Quill's GEMM was ahead on the mixture head's products (121
    /// outputs: 71–83% of the FMA peak against 62–69%) and behind on the char model's 65-wide output layer (58–60%
    /// against 65–66%); but a training step runs OpenBLAS on one thread (`withTrainingProducts`), and there Quill's
    /// GEMM on two took that layer's three products (2,500 × 65 × 512 NN, 512 × 65 × 2,500 TN, 2,500 × 512 × 65 NT)
    /// in 0.70 + 0.78 + 0.50 ms against 1.11 + 1.25 + 1.07 (2-core Xeon, best of 12, side by side).
    /// The synthesis window layer's W_x gradient (83 × 1,600 × 9,600 TN at batch 32 × 300) took
    /// 23 ms a step on OpenBLAS's two threads and takes 11.3 on Quill's GEMM with denormals flushed
    /// (`quill bench handwriting --network synthesis --profile`, 2-core Xeon).
    public static func isLarge(m: Int, n: Int, k: Int, transA: Bool = false) -> Bool {
        (m >= 128 || (transA && m >= 32 && k >= 2048)) && n >= 64 && k >= 64 && m * n * k >= 1 << 24
    }

    /// Whether `Float.blasGemm` sends this product to Quill's GEMM under the current `path`.
    @inlinable
    public static func takes(m: Int, n: Int, k: Int, transA: Bool = false) -> Bool {
        switch path {
        case .openBLAS: return false
        case .quill: return available
        case .automatic: return available && isLarge(m: m, n: n, k: k, transA: transA)
        }
    }

    /// Row-major `C (m, n) = alpha · op(A) · op(B) + beta · C` by Quill's GEMM, whatever `path` says. A is stored
    /// (m, k) with row stride `lda`, or (k, m) when `transA`; B is stored (k, n) with row stride `ldb`, or (n, k)
    /// when `transB`; C has row stride `ldc`. `beta == 0` writes C without reading it. `threads`: how many ranges
    /// of C to cut (the caller's thread included; 0 for the kernels' own count, `QUILL_THREADS` or the online CPUs);
    /// every count gives the same bits. Plain loops on CPUs with neither AVX-512 nor AVX2 (`available` false).
    public static func multiply(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 0) {
        qk_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                 beta, c, Int32(ldc), Int32(threads))
    }

    /// `multiply` with bfloat16 operands (`qk_sgemm_bf16`): row-major `C (m, n) = alpha · op(A) · op(B) + beta · C`
    /// with the same shapes, strides, `beta == 0` rule and `threads` as `multiply`, but every element of op(A) and
    /// op(B) is first rounded to bfloat16 (8 significant bits, round to nearest with ties to even, NaN stays NaN)
    /// and the products are summed in fp32 (VDPBF16PS). A, B and C stay Float in memory. The error per element is
    /// about 2⁻⁸ · Σ|a||b| (the inputs' rounding) against the fp32 product's 2⁻²⁴-scale sums, so this is for the
    /// large products of training that opt in (`precision = .bf16`), never a default. Every thread count gives the
    /// same bits. Plain loops on CPUs without AVX512_BF16 (`bf16Available` false), over the same rounded operands.
    public static func multiplyBF16(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                    b: UnsafePointer<Float>, ldb: Int,
                                    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 0) {
        qk_sgemm_bf16(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b,
                      Int32(ldb), beta, c, Int32(ldc), Int32(threads))
    }

    /// The plain-loop twin of `multiplyBF16` (`qk_sgemm_bf16_loops`), on every CPU: the same bf16 operands, products
    /// summed in fp32 in order of k, one thread. What `multiplyBF16` runs where `bf16Available` is false.
    public static func multiplyBF16Loops(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                         alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                         b: UnsafePointer<Float>, ldb: Int,
                                         beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        qk_sgemm_bf16_loops(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b,
                            Int32(ldb), beta, c, Int32(ldc))
    }

    /// Whether `Float.blasGemm` sends this product to `multiplyBF16`: `precision` is `.bf16`, the CPU has
    /// AVX512_BF16, `path` is not `.openBLAS`, and `isLarge` accepts the shape.
    @inlinable
    public static func takesBF16(m: Int, n: Int, k: Int, transA: Bool = false) -> Bool {
        precision == .bf16 && path != .openBLAS && bf16Available && isLarge(m: m, n: n, k: k, transA: transA)
    }
}
