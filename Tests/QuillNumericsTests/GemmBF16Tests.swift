import XCTest
@testable import QuillNumerics

/// The opt-in bf16 product (`QuillGEMM.multiplyBF16`, `qk_sgemm_bf16`) and its plain-loop twin
/// (`multiplyBF16Loops`) against `referenceBF16`, which rounds the operands to bf16 the same way and sums in Double;
/// the rounding itself; thread-count independence; and the dispatch in `Float.blasGemm`.
final class GemmBF16Tests: XCTestCase {
    func requireBF16() throws {
        guard QuillGEMM.bf16Available else {
            throw XCTSkip("this CPU has no AVX512-BF16 (or no AVX-512, or QUILL_KERNELS=0): the bf16 vector kernel "
                          + "does not run; its plain-loop fallback is tested on its own")
        }
    }

    /// x rounded to the nearest bfloat16 (ties to even), as the Float it represents; NaN stays NaN.
    static func bf16(_ x: Float) -> Float {
        if x.isNaN { return x }
        var bits = x.bitPattern
        bits &+= 0x7FFF &+ ((bits >> 16) & 1)
        return Float(bitPattern: bits & 0xFFFF_0000)
    }

    /// The algorithmic reference: op(A) · op(B) over bf16-rounded operands, summed in Double, as (m × n) sums and
    /// Σ|a||b| per element (the scale of the fp32 summation error).
    static func referenceBF16(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: [Float], lda: Int,
                              b: [Float], ldb: Int) -> (sums: [Double], magnitudes: [Double]) {
        var sums = [Double](repeating: 0, count: m * n), magnitudes = sums
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, size = 0.0
                for p in 0..<k {
                    let x = Double(bf16(transA ? a[p * lda + i] : a[i * lda + p]))
                    let y = Double(bf16(transB ? b[j * ldb + p] : b[p * ldb + j]))
                    s += x * y
                    size += abs(x * y)
                }
                sums[i * n + j] = s
                magnitudes[i * n + j] = size
            }
        }
        return (sums, magnitudes)
    }

    /// Shapes with tails in every dimension: one row, one column, k = 1 and other odd depths (the last pair padded),
    /// exact tiles (14 × 32), widths that are not multiples of 16 or 32, two and three depth blocks (k > 512, odd),
    /// row and column splits over the threads, two column blocks (n > 1024).
    static let shapes = [(1, 1, 1), (1, 37, 20), (37, 1, 21), (17, 33, 1), (14, 32, 512), (15, 33, 257),
                         (29, 65, 300), (40, 70, 1025), (3, 200, 41), (300, 45, 131), (45, 300, 130), (130, 1050, 5),
                         (57, 129, 3), (28, 64, 1100)]

    /// Runs `product` against `referenceBF16` on every shape, transposition and scaling of `GemmTests`; fails with
    /// the shape, the element and its error. Tolerance: the fp32 summation, 1e-5 of Σ|a||b| (plus |β·c|) per element.
    func checkAgainstReference(_ label: String,
                               _ product: (Bool, Bool, Int, Int, Int, Float, [Float], Int, [Float], Int, Float,
                                           inout [Float], Int) -> Void) {
        var rng = SeededGenerator(seed: 41)
        for (m, n, k) in Self.shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    let ops = GemmTests.Operands(m: m, n: n, k: k, transA: transA, transB: transB, rng: &rng)
                    let ref = Self.referenceBF16(transA: transA, transB: transB, m: m, n: n, k: k, a: ops.a,
                                                 lda: ops.lda, b: ops.b, ldb: ops.ldb)
                    for (alpha, beta) in GemmTests.scalings {
                        var fast = ops.c
                        product(transA, transB, m, n, k, alpha, ops.a, ops.lda, ops.b, ops.ldb, beta, &fast, ops.ldc)
                        let what = "\(label): m\(m) n\(n) k\(k) transA \(transA) transB \(transB) alpha \(alpha) beta \(beta)"
                        var worst = 0.0, at = (0, 0)
                        for i in 0..<m {
                            for j in 0..<ops.ldc {
                                if j >= n {
                                    XCTAssertEqual(fast[i * ops.ldc + j], ops.c[i * ops.ldc + j],
                                                   "\(what): wrote past the row's n columns at (\(i), \(j))")
                                    continue
                                }
                                // C = α·s + β·c in Double; the scale: |α|·Σ|a||b| + |β·c|.
                                let old = Double(ops.c[i * ops.ldc + j])
                                let expected = Double(alpha) * ref.sums[i * n + j] + (beta == 0 ? 0 : Double(beta) * old)
                                let scale = abs(Double(alpha)) * ref.magnitudes[i * n + j] + abs(Double(beta) * old)
                                let e = abs(Double(fast[i * ops.ldc + j]) - expected)
                                let relative = e / (scale + 1e-30)
                                if relative > worst { worst = relative; at = (i, j) }
                            }
                        }
                        XCTAssertLessThanOrEqual(worst, 1e-5, "\(what): worst error / Σ|a||b| at \(at)")
                    }
                }
            }
        }
    }

    func testVectorKernelMatchesTheReferenceOnOddShapes() throws {
        try requireBF16()
        checkAgainstReference("multiplyBF16") { tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            QuillGEMM.multiplyBF16(transA: tA, transB: tB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                                   ldb: ldb, beta: beta, c: &c, ldc: ldc)
        }
    }

    /// The fallback for CPUs without AVX512-BF16 runs everywhere; where the CPU lacks it, `multiplyBF16` is checked
    /// too (it runs the loops).
    func testPlainLoopsMatchTheReferenceOnOddShapes() {
        checkAgainstReference("multiplyBF16Loops") { tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            QuillGEMM.multiplyBF16Loops(transA: tA, transB: tB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                        b: b, ldb: ldb, beta: beta, c: &c, ldc: ldc)
        }
        if !QuillGEMM.bf16Available {
            checkAgainstReference("multiplyBF16 without AVX512-BF16") { tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
                QuillGEMM.multiplyBF16(transA: tA, transB: tB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                       b: b, ldb: ldb, beta: beta, c: &c, ldc: ldc)
            }
        }
    }

    /// Round to nearest, ties to even, at 8 significant bits; ±∞ kept, overflow to ∞, NaN stays NaN; checked in the
    /// reference's rounding and through 1 × 1 × 1 products (x · 1, exact in fp32) in the loops and the vector kernel.
    func testRoundingToBF16() {
        let one: Float = 1
        let cases: [(Float, Float, String)] = [
            (one + 0x1p-8, 1, "a tie rounds to the even neighbour below"),
            (one + 3 * 0x1p-8, one + 0x1p-6, "a tie rounds to the even neighbour above"),
            (one + 3 * 0x1p-9, one + 0x1p-7, "above half an ulp rounds up"),
            (one + 0x1p-9, 1, "below half an ulp rounds down"),
            (one + 0x1p-8 + 0x1p-20, one + 0x1p-7, "just above a tie rounds up"),
            (-(one + 3 * 0x1p-9), -(one + 0x1p-7), "the sign is kept"),
            (one + 0x1p-7, one + 0x1p-7, "a bf16 value is kept"),
            (0x1.fep-100, 0x1.fep-100, "a small bf16 value is kept"),
            (.infinity, .infinity, "∞ is kept"),
            (-.infinity, -.infinity, "−∞ is kept"),
            (.greatestFiniteMagnitude, .infinity, "past the largest bf16 rounds to ∞"),
            (0, 0, "zero"),
        ]
        var products: [(String, (Float) -> Float)] = [("reference", Self.bf16), ("loops", { x in
            var c: [Float] = [0]
            QuillGEMM.multiplyBF16Loops(m: 1, n: 1, k: 1, a: [x], lda: 1, b: [1], ldb: 1, c: &c, ldc: 1)
            return c[0]
        })]
        if QuillGEMM.bf16Available {
            products.append(("vector kernel", { x in
                var c: [Float] = [0]
                QuillGEMM.multiplyBF16(m: 1, n: 1, k: 1, a: [x], lda: 1, b: [1], ldb: 1, c: &c, ldc: 1)
                return c[0]
            }))
        }
        for (name, round) in products {
            for (x, expected, why) in cases {
                XCTAssertEqual(round(x).bitPattern, expected.bitPattern, "\(name): \(x) → \(round(x)): \(why)")
            }
            XCTAssertTrue(round(.nan).isNaN, "\(name): NaN stays NaN")
            XCTAssertTrue(round(Float(bitPattern: 0x7FFF_FFFF)).isNaN, "\(name): a NaN with every payload bit set")
        }
        // Both operands are rounded: (1 + 3·2⁻⁹)² in bf16 is (1 + 2⁻⁷)², exact in fp32.
        let x = one + 3 * 0x1p-9, expected = (one + 0x1p-7) * (one + 0x1p-7)
        var c: [Float] = [0]
        QuillGEMM.multiplyBF16Loops(m: 1, n: 1, k: 1, a: [x], lda: 1, b: [x], ldb: 1, c: &c, ldc: 1)
        XCTAssertEqual(c[0], expected, "loops: both operands rounded")
        if QuillGEMM.bf16Available {
            QuillGEMM.multiplyBF16(m: 1, n: 1, k: 1, a: [x], lda: 1, b: [x], ldb: 1, c: &c, ldc: 1)
            XCTAssertEqual(c[0], expected, "vector kernel: both operands rounded")
        }
    }

    func testEmptyDepthAndZeroAlphaOnlyScaleC() {
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 2, 3, 4, 5, 6]
        for vector in [false, true] where !vector || QuillGEMM.bf16Available {
            func product(k: Int, alpha: Float, beta: Float, _ c: inout [Float]) {
                if vector {
                    QuillGEMM.multiplyBF16(m: 2, n: 2, k: k, alpha: alpha, a: a, lda: 3, b: b, ldb: 2, beta: beta,
                                           c: &c, ldc: 2)
                } else {
                    QuillGEMM.multiplyBF16Loops(m: 2, n: 2, k: k, alpha: alpha, a: a, lda: 3, b: b, ldb: 2,
                                                beta: beta, c: &c, ldc: 2)
                }
            }
            var c: [Float] = [1, 2, 3, 4]
            product(k: 0, alpha: 1, beta: 0.5, &c)
            XCTAssertEqual(c, [0.5, 1, 1.5, 2], "vector \(vector)")
            product(k: 3, alpha: 0, beta: 2, &c)
            XCTAssertEqual(c, [1, 2, 3, 4], "vector \(vector)")
            // β = 0 never reads C: NaN there does not survive. Small integers are exact in bf16.
            c = [.nan, .nan, .nan, .nan]
            product(k: 3, alpha: 1, beta: 0, &c)
            XCTAssertEqual(c, [22, 28, 49, 64], "vector \(vector)")
        }
    }

    /// The rows (or columns) of C are cut into one range per thread, never k: any thread count gives the same bits.
    func testThreadCountDoesNotChangeTheBits() throws {
        try requireBF16()
        var rng = SeededGenerator(seed: 42)
        for (m, n, k) in [(300, 45, 601), (45, 300, 600), (333, 257, 1025)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let ops = GemmTests.Operands(m: m, n: n, k: k, transA: transA, transB: transB, rng: &rng)
                    var one = ops.c
                    QuillGEMM.multiplyBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: ops.a,
                                           lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1, c: &one, ldc: ops.ldc,
                                           threads: 1)
                    for threads in [2, 3, 8] {
                        var many = ops.c
                        QuillGEMM.multiplyBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7,
                                               a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1, c: &many,
                                               ldc: ops.ldc, threads: threads)
                        XCTAssert(one.map(\.bitPattern) == many.map(\.bitPattern),
                                  "m\(m) n\(n) k\(k) transA \(transA) transB \(transB): \(threads) threads differ from 1")
                    }
                }
            }
        }
    }

    /// `precision = .bf16` sends the large Float products (and only those) to `multiplyBF16`; `.fp32`, the default,
    /// leaves `matmul` on Quill's fp32 GEMM; `path = .openBLAS` keeps every product on OpenBLAS.
    func testMatmulDispatch() throws {
        XCTAssertEqual(QuillGEMM.precision, .fp32, "fp32 is the default")
        let savedPrecision = QuillGEMM.precision, savedPath = QuillGEMM.path
        defer { QuillGEMM.precision = savedPrecision; QuillGEMM.path = savedPath }
        QuillGEMM.path = .automatic
        QuillGEMM.precision = .fp32
        XCTAssertFalse(QuillGEMM.takesBF16(m: 2500, n: 1600, k: 400), "fp32 never takes the bf16 product")
        QuillGEMM.precision = .bf16
        XCTAssertFalse(QuillGEMM.takesBF16(m: 50, n: 2048, k: 512), "a per-step product stays as it was")
        XCTAssertEqual(QuillGEMM.takesBF16(m: 2500, n: 1600, k: 400), QuillGEMM.bf16Available)
        QuillGEMM.path = .openBLAS
        XCTAssertFalse(QuillGEMM.takesBF16(m: 2500, n: 1600, k: 400), "QUILL_GEMM=openblas keeps OpenBLAS")
        try requireBF16()
        QuillGEMM.path = .automatic
        var rng = SeededGenerator(seed: 43)
        let (m, n, k) = (260, 300, 271)
        XCTAssertTrue(QuillGEMM.isLarge(m: m, n: n, k: k))
        let ops = GemmTests.Operands(m: m, n: n, k: k, transA: true, transB: false, rng: &rng)
        var bf16 = ops.c, fp32 = ops.c, viaBF16 = ops.c, viaFP32 = ops.c
        QuillGEMM.multiplyBF16(transA: true, m: m, n: n, k: k, a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb,
                               beta: 1, c: &bf16, ldc: ops.ldc)
        QuillGEMM.multiply(transA: true, m: m, n: n, k: k, a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1,
                           c: &fp32, ldc: ops.ldc)
        QuillGEMM.precision = .bf16
        matmul(transA: true, m: m, n: n, k: k, a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1,
               c: &viaBF16, ldc: ops.ldc)
        XCTAssert(bf16.map(\.bitPattern) == viaBF16.map(\.bitPattern), "precision bf16: matmul did not take the bf16 product")
        QuillGEMM.precision = .fp32
        matmul(transA: true, m: m, n: n, k: k, a: ops.a, lda: ops.lda, b: ops.b, ldb: ops.ldb, beta: 1,
               c: &viaFP32, ldc: ops.ldc)
        XCTAssert(fp32.map(\.bitPattern) == viaFP32.map(\.bitPattern), "precision fp32: matmul left Quill's fp32 GEMM")
        XCTAssert(bf16.map(\.bitPattern) != fp32.map(\.bitPattern), "bf16 and fp32 products gave the same bits")
    }
}
