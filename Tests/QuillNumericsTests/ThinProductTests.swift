import CQuillKernels
import XCTest
@testable import QuillNumerics

/// The thin products (`thinMatmul`, `qk_sgemm_thin`: depth ≤ 8, or ≤ 4 rows) against the plain-loop twin
/// `referenceMatmul` on odd shapes, at each vector width this CPU runs, and their independence from the threads.
final class ThinProductTests: XCTestCase {
    /// The kernel levels this CPU runs the thin products at (3: AVX-512, 2: AVX2), or a skip that says why none.
    func levels() throws -> [Int32] {
        let top = qk_level()
        guard top >= 2 else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA (or QUILL_KERNELS=0): the thin products do "
                          + "not run, products go to OpenBLAS")
        }
        return top == 3 ? [3, 2] : [2]
    }

    func atLevel<R>(_ level: Int32, _ body: () throws -> R) rethrows -> R {
        let saved = qk_level()
        qk_set_level(level)
        defer { qk_set_level(saved) }
        return try body()
    }

    /// (m, n, k): thin depths 1…8 and thin rows 1…4, n with tails of both widths (1, 7, 17, 33, 65, 100), one row,
    /// m past the 64 rows a thread takes.
    static let shapes = [(1, 1, 1), (5, 17, 3), (130, 100, 3), (200, 33, 8), (1, 65, 2), (64, 7, 1), (3, 100, 300),
                         (1, 33, 1000), (4, 129, 77), (2, 64, 9), (3, 1, 500), (129, 17, 5)]

    static let scalings: [(Float, Float)] = [(1, 0), (1.5, 0), (1, 1), (-0.75, 1), (0.5, 0.25)]

    func testMatchesTheReferenceOnOddShapes() throws {
        var rng = SeededGenerator(seed: 41)
        for level in try levels() {
            for (m, n, k) in Self.shapes {
                for transA in [false, true] {
                    let ops = GemmTests.Operands(m: m, n: n, k: k, transA: transA, transB: false, rng: &rng)
                    let biases: [[Float]?] = k <= 8 ? [nil, (0..<n).map { _ in Float(rng.normal()) }] : [nil]
                    for bias in biases {
                        for (alpha, beta) in Self.scalings {
                            var fast = ops.c, ref = ops.c
                            let ran = atLevel(level) {
                                bias.withUnsafeBufferPointerIfSome { b in
                                    thinMatmul(transA: transA, m: m, n: n, k: k, alpha: alpha, a: ops.a, lda: ops.lda,
                                               b: ops.b, ldb: ops.ldb, bias: b, beta: beta, c: &fast, ldc: ops.ldc)
                                }
                            }
                            let what = "level \(level) m\(m) n\(n) k\(k) transA \(transA) bias \(bias != nil) "
                                + "alpha \(alpha) beta \(beta)"
                            XCTAssertTrue(ran, "\(what): did not run")
                            // The reference: C = α·op(A)·B + β·C, then α·bias added to each row.
                            referenceMatmul(transA: transA, m: m, n: n, k: k, alpha: alpha, a: ops.a, lda: ops.lda,
                                            b: ops.b, ldb: ops.ldb, beta: beta, c: &ref, ldc: ops.ldc)
                            if let bias {
                                for i in 0..<m { for j in 0..<n { ref[i * ops.ldc + j] += alpha * bias[j] } }
                            }
                            let (worst, at) = ops.worstError(fast, ref, m: m, n: n, what)
                            XCTAssertLessThanOrEqual(worst, 1e-5 * Double(k + 2), "\(what): worst error at [\(at)]")
                        }
                    }
                }
            }
        }
    }

    /// Shapes that are neither thin in depth nor in rows, and a bias with more than 4 rows and depth > 8, are left
    /// to the caller with C untouched.
    func testOtherShapesAreLeftAlone() throws {
        _ = try levels()
        let a = [Float](repeating: 1, count: 100), b = [Float](repeating: 1, count: 100), bias = [Float](repeating: 1, count: 10)
        var c = [Float](repeating: 7, count: 100)
        XCTAssertFalse(thinMatmul(m: 5, n: 10, k: 9, a: a, lda: 9, b: b, ldb: 10, c: &c, ldc: 10))
        XCTAssertFalse(thinMatmul(m: 3, n: 10, k: 9, a: a, lda: 9, b: b, ldb: 10, bias: bias, c: &c, ldc: 10))
        XCTAssertEqual(c, [Float](repeating: 7, count: 100))
        var d = [Double](repeating: 7, count: 4)
        XCTAssertFalse(thinMatmul(m: 2, n: 2, k: 2, a: [1.0, 2, 3, 4], lda: 2, b: [1.0, 2, 3, 4], ldb: 2, c: &d, ldc: 2),
                       "Double products go to BLAS")
    }

    /// Rows (depth-thin) or column blocks (row-thin) are what the threads split, never k: computing C in two parts
    /// (the first rows, or the first columns, then the rest; each part split over the threads its own way) gives the
    /// same bits as computing it whole.
    func testHowTheWorkIsCutDoesNotChangeTheBits() throws {
        var rng = SeededGenerator(seed: 42)
        for level in try levels() {
            for (m, n, k, transA) in [(1000, 300, 3, false), (777, 129, 8, true), (3, 1000, 2000, true),
                                      (4, 700, 999, false)] {
                let ops = GemmTests.Operands(m: m, n: n, k: k, transA: transA, transB: false, rng: &rng)
                var whole = ops.c, parts = ops.c
                atLevel(level) {
                    _ = thinMatmul(transA: transA, m: m, n: n, k: k, alpha: 0.7, a: ops.a, lda: ops.lda, b: ops.b,
                                   ldb: ops.ldb, beta: 1, c: &whole, ldc: ops.ldc)
                    ops.a.withUnsafeBufferPointer { a in
                        ops.b.withUnsafeBufferPointer { b in
                            parts.withUnsafeMutableBufferPointer { c in
                                let (a, b, c) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                                if k <= 8 {
                                    // Rows [0, 130) and [130, m): op(A)'s rows start 130 rows (or columns) in.
                                    let cut = 130
                                    _ = thinMatmul(transA: transA, m: cut, n: n, k: k, alpha: 0.7, a: a, lda: ops.lda,
                                                   b: b, ldb: ops.ldb, beta: 1, c: c, ldc: ops.ldc)
                                    _ = thinMatmul(transA: transA, m: m - cut, n: n, k: k, alpha: 0.7,
                                                   a: a + (transA ? cut : cut * ops.lda), lda: ops.lda, b: b,
                                                   ldb: ops.ldb, beta: 1, c: c + cut * ops.ldc, ldc: ops.ldc)
                                } else {
                                    // Columns [0, 64) and [64, n).
                                    _ = thinMatmul(transA: transA, m: m, n: 64, k: k, alpha: 0.7, a: a, lda: ops.lda,
                                                   b: b, ldb: ops.ldb, beta: 1, c: c, ldc: ops.ldc)
                                    _ = thinMatmul(transA: transA, m: m, n: n - 64, k: k, alpha: 0.7, a: a,
                                                   lda: ops.lda, b: b + 64, ldb: ops.ldb, beta: 1, c: c + 64,
                                                   ldc: ops.ldc)
                                }
                            }
                        }
                    }
                }
                XCTAssert(whole.map(\.bitPattern) == parts.map(\.bitPattern), "level \(level) m\(m) n\(n) k\(k)")
            }
        }
    }
}

private extension Optional where Wrapped == [Float] {
    func withUnsafeBufferPointerIfSome<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let self else { return body(nil) }
        return self.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
