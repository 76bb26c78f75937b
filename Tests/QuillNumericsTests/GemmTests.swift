import CQuillKernels
import XCTest
@testable import QuillNumerics

/// Quill's own SGEMM (`QuillGEMM`, `qk_sgemm`) against the plain-loop twin `referenceMatmul` on odd shapes, at each
/// vector width this CPU runs (AVX-512: 14 × 32 tiles; AVX2: 6 × 16), its independence from the thread count, and
/// the dispatch in `Float.blasGemm`.
final class GemmTests: XCTestCase {
    func requireKernel() throws {
        guard QuillGEMM.available else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA (or QUILL_KERNELS=0): Quill's GEMM does not "
                          + "run, products go to OpenBLAS")
        }
    }

    /// Runs `body` at each kernel level this CPU runs Quill's GEMM at (3: AVX-512, 2: AVX2), with the level in its
    /// argument, and restores the level; skips where there is none.
    func atEachWidth(_ body: (String) throws -> Void) throws {
        try requireKernel()
        let saved = qk_level()
        defer { qk_set_level(saved) }
        for level: Int32 in saved == 3 ? [3, 2] : [2] {
            XCTAssertEqual(qk_set_level(level), level)
            try body(level == 3 ? "AVX-512" : "AVX2")
        }
    }

    /// Random operands for op(A) (m × k) and op(B) (k × n), stored with leading dimensions wider than the rows.
    struct Operands {
        var a: [Float], b: [Float], c: [Float]
        let lda: Int, ldb: Int, ldc: Int

        init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, rng: inout SeededGenerator) {
            lda = (transA ? m : k) + 3
            ldb = (transB ? k : n) + 5
            ldc = n + 2
            a = (0..<((transA ? k : m) * lda)).map { _ in Float(rng.normal()) }
            b = (0..<((transB ? n : k) * ldb)).map { _ in Float(rng.normal()) }
            c = (0..<(m * ldc)).map { _ in Float(rng.normal()) }
        }

        /// The largest difference between `fast` and `ref` in the m × n block of C, and where; asserts that `fast`
        /// kept `c` in the columns past n.
        func worstError(_ fast: [Float], _ ref: [Float], m: Int, n: Int, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) -> (Double, Int) {
            var worst = 0.0, at = 0
            for i in 0..<m {
                for j in 0..<ldc {
                    let e = abs(Double(fast[i * ldc + j]) - Double(ref[i * ldc + j]))
                    if j >= n {
                        XCTAssertEqual(fast[i * ldc + j], c[i * ldc + j],
                                       "\(what): wrote past the row's n columns at (\(i), \(j))", file: file, line: line)
                    } else if e > worst { worst = e; at = i * ldc + j }
                }
            }
            return (worst, at)
        }
    }

    /// Shapes with tails in every dimension: one row, one column, k = 1, exact tiles (14 × 32 and 6 × 16), one past
    /// them, widths that are not multiples of 8 or 16, several depth blocks (k > 256), row and column splits over
    /// the threads, two column blocks (n > 1024), an A block of more than 144 rows.
    static let shapes = [(1, 1, 1), (1, 37, 20), (37, 1, 20), (17, 33, 1), (14, 32, 256), (15, 33, 257), (6, 16, 256),
                         (7, 17, 257), (29, 65, 300), (40, 70, 513), (3, 200, 40), (300, 45, 130), (45, 300, 130),
                         (130, 1050, 5), (151, 9, 19)]

    /// (α, β): β = 0 (C not read) and 1 (accumulate), α = 1 and others.
    static let scalings: [(Float, Float)] = [(1, 0), (1.5, 0), (1, 1), (-0.75, 1), (0.5, 0.25)]

    func testMatchesTheReferenceOnOddShapes() throws {
        var rng = SeededGenerator(seed: 14)
        try atEachWidth { width in
            for (m, n, k) in Self.shapes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let ops = Operands(m: m, n: n, k: k, transA: transA, transB: transB, rng: &rng)
                        for (alpha, beta) in Self.scalings {
                            var fast = ops.c, ref = ops.c
                            QuillGEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                               a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: beta,
                                               c: &fast, ldc: ops.ldc)
                            referenceMatmul(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                            a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: beta,
                                            c: &ref, ldc: ops.ldc)
                            let what = "\(width): m\(m) n\(n) k\(k) transA \(transA) transB \(transB) "
                                + "alpha \(alpha) beta \(beta)"
                            // Both sum k products of unit normals in Float, in different orders.
                            let tolerance = 1e-5 * Double(k)
                            let (worst, at) = ops.worstError(fast, ref, m: m, n: n, what)
                            XCTAssertLessThanOrEqual(worst, tolerance, "\(what): worst error at [\(at)]")
                        }
                    }
                }
            }
        }
    }

    func testEmptyDepthAndZeroAlphaOnlyScaleC() throws {
        try atEachWidth { _ in
            let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 2, 3, 4, 5, 6]
            var c: [Float] = [1, 2, 3, 4]
            QuillGEMM.multiply(m: 2, n: 2, k: 0, a: a, lda: 3, b: b, ldb: 2, beta: 0.5, c: &c, ldc: 2)
            XCTAssertEqual(c, [0.5, 1, 1.5, 2])
            QuillGEMM.multiply(m: 2, n: 2, k: 3, alpha: 0, a: a, lda: 3, b: b, ldb: 2, beta: 2, c: &c, ldc: 2)
            XCTAssertEqual(c, [1, 2, 3, 4])
            // β = 0 never reads C: NaN there does not survive.
            c = [.nan, .nan, .nan, .nan]
            QuillGEMM.multiply(m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: &c, ldc: 2)
            XCTAssertEqual(c, [22, 28, 49, 64])
        }
    }

    /// The rows (or columns) of C are cut into one range per thread, never k: any thread count gives the same bits.
    func testThreadCountDoesNotChangeTheBits() throws {
        var rng = SeededGenerator(seed: 15)
        try atEachWidth { width in
            for (m, n, k) in [(300, 45, 600), (45, 300, 600), (333, 257, 513)] {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let ops = Operands(m: m, n: n, k: k, transA: transA, transB: transB, rng: &rng)
                        var one = ops.c
                        QuillGEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: ops.a,
                                           lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1, c: &one, ldc: ops.ldc,
                                           threads: 1)
                        for threads in [2, 3, 5, 8] {
                            var many = ops.c
                            QuillGEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: ops.a,
                                               lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1, c: &many, ldc: ops.ldc,
                                               threads: threads)
                            XCTAssert(one.map(\.bitPattern) == many.map(\.bitPattern),
                                      "\(width): m\(m) n\(n) k\(k) transA \(transA) transB \(transB): "
                                          + "\(threads) threads differ from 1")
                        }
                    }
                }
            }
        }
    }

    /// `matmul` in Float sends large products to Quill's GEMM and small ones (per-step, batch 1) to OpenBLAS;
    /// `QuillGEMM.path = .openBLAS` (QUILL_GEMM=openblas) sends everything to OpenBLAS.
    func testMatmulDispatch() throws {
        XCTAssertTrue(QuillGEMM.isLarge(m: 2500, n: 1600, k: 400))
        XCTAssertTrue(QuillGEMM.isLarge(m: 400, n: 1600, k: 2500))
        XCTAssertTrue(QuillGEMM.isLarge(m: 2500, n: 400, k: 1600))
        XCTAssertFalse(QuillGEMM.isLarge(m: 50, n: 2048, k: 512), "a per-step product at batch 50")
        XCTAssertFalse(QuillGEMM.isLarge(m: 2500, n: 1600, k: 3), "an input projection of pen offsets")
        XCTAssertFalse(QuillGEMM.isLarge(m: 128, n: 128, k: 128), "below 2²⁴ multiply-adds")
        XCTAssertTrue(QuillGEMM.isLarge(m: 9600, n: 121, k: 1200), "the mixture head over 32 × 300 rows")
        XCTAssertTrue(QuillGEMM.isLarge(m: 9600, n: 1200, k: 121), "the mixture head's input gradient")
        XCTAssertTrue(QuillGEMM.isLarge(m: 2500, n: 65, k: 512), "the char model's output layer")
        XCTAssertTrue(QuillGEMM.isLarge(m: 2500, n: 512, k: 65), "the char model's output layer's input gradient")
        XCTAssertFalse(QuillGEMM.isLarge(m: 2500, n: 30, k: 400), "the window's 3K = 30 parameters")
        XCTAssertTrue(QuillGEMM.isLarge(m: 83, n: 1600, k: 9600, transA: true),
                      "the window layer's W_x gradient over 32 × 300 rows")
        XCTAssertFalse(QuillGEMM.isLarge(m: 83, n: 1600, k: 9600), "83 rows not transposed")
        XCTAssertFalse(QuillGEMM.isLarge(m: 83, n: 1600, k: 1200, transA: true), "a gradient over 1,200 rows")
        XCTAssertFalse(QuillGEMM.isLarge(m: 16, n: 1600, k: 9600, transA: true), "16 rows")
        try requireKernel()
        let saved = QuillGEMM.path
        defer { QuillGEMM.path = saved }
        var rng = SeededGenerator(seed: 16)
        let (m, n, k) = (260, 300, 270)
        XCTAssertTrue(QuillGEMM.isLarge(m: m, n: n, k: k))
        let ops = Operands(m: m, n: n, k: k, transA: true, transB: false, rng: &rng)
        var quill = ops.c, viaMatmul = ops.c, openBLAS = ops.c
        QuillGEMM.multiply(transA: true, m: m, n: n, k: k, a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1,
                           c: &quill, ldc: ops.ldc)
        QuillGEMM.path = .automatic
        matmul(transA: true, m: m, n: n, k: k, a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1,
               c: &viaMatmul, ldc: ops.ldc)
        XCTAssert(quill.map(\.bitPattern) == viaMatmul.map(\.bitPattern), "matmul did not take Quill's GEMM")
        QuillGEMM.path = .openBLAS
        matmul(transA: true, m: m, n: n, k: k, a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1,
               c: &openBLAS, ldc: ops.ldc)
        XCTAssertFalse(QuillGEMM.takes(m: m, n: n, k: k))
        var worst: Float = 0
        for i in 0..<quill.count { worst = max(worst, abs(quill[i] - openBLAS[i])) }
        XCTAssertLessThanOrEqual(Double(worst), 1e-5 * Double(k), "Quill's GEMM against OpenBLAS")
    }
}
