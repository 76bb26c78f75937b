#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

// All BLAS calls in Quill go through this file. Matrices are row-major.

extension Float {
    /// Row-major `C = alpha · op(A) · op(B) + beta · C` (`QuillScalar.blasGemm`): the bf16 product where
    /// `QuillGEMM.takesBF16` says so (opt-in `QuillGEMM.precision = .bf16`, large products, AVX512_BF16), else
    /// Quill's own GEMM where `QuillGEMM.takes` says so (large products on AVX-512 CPUs), else OpenBLAS's
    /// `cblas_sgemm`.
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if QuillGEMM.takesBF16(m: m, n: n, k: k, transA: transA) {
            QuillGEMM.multiplyBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if QuillGEMM.takes(m: m, n: n, k: k, transA: transA) {
            QuillGEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static func blasGemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                x: UnsafePointer<Float>, incx: Int, beta: Float,
                                y: UnsafeMutablePointer<Float>, incy: Int) {
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, Int32(incy))
    }
}

extension Double {
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                alpha: Double, a: UnsafePointer<Double>, lda: Int,
                                b: UnsafePointer<Double>, ldb: Int,
                                beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static func blasGemv(trans: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                                x: UnsafePointer<Double>, incx: Int, beta: Double,
                                y: UnsafeMutablePointer<Double>, incy: Int) {
        cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, Int32(incy))
    }
}

/// BLAS threading and identification.
public enum BLASInfo {
    /// The kernel family OpenBLAS picked at load time (for example "Haswell" or "SkylakeX").
    public static var coreName: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
        #endif
    }

    /// Sets the number of BLAS threads.
    public static func setThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(n))
        #endif
    }

    /// Runs `body` with BLAS on one thread, then restores the thread count: for loops of small products that run
    /// beside Quill's own threaded kernels, whose cores OpenBLAS's workers would otherwise contend for.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        let n = threads
        if n > 1 { setThreads(1) }
        defer { if n > 1 { setThreads(n) } }
        return try body()
    }

    public static var threads: Int {
        #if canImport(Accelerate)
        return 1
        #else
        return Int(openblas_get_num_threads())
        #endif
    }
}
