import XCTest
@testable import QuillNumerics

final class BLASTests: XCTestCase {
    /// gemm and gemv against the plain-loop reference on odd shapes, all transpose combinations, both scalars.
    func check<T: QuillScalar>(_: T.Type, tolerance: Double) {
        var rng = SeededGenerator(seed: 42)
        let shapes = [(1, 7, 5), (7, 1, 5), (3, 5, 7), (13, 17, 11), (1, 1, 9), (5, 3, 1), (33, 65, 31)]
        for (m, n, k) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = (0..<(m * k)).map { _ in T(rng.normal()) }
                    let b = (0..<(k * n)).map { _ in T(rng.normal()) }
                    let c0 = (0..<(m * n)).map { _ in T(rng.normal()) }
                    var fast = c0, ref = c0
                    let lda = ta ? m : k, ldb = tb ? k : n
                    for beta in [T(0), T(0.5)] {
                        fast = c0; ref = c0
                        matmul(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1.5, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: &fast, ldc: n)
                        referenceMatmul(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1.5, a: a, lda: lda,
                                        b: b, ldb: ldb, beta: beta, c: &ref, ldc: n)
                        for i in 0..<(m * n) {
                            XCTAssertEqual(Double(fast[i]), Double(ref[i]), accuracy: tolerance * Double(k),
                                           "\(T.self) m\(m) n\(n) k\(k) tA\(ta) tB\(tb) beta\(beta) [\(i)]")
                        }
                    }
                }
            }
        }
    }

    func testMatmulFloatMatchesReference() { check(Float.self, tolerance: 1e-5) }
    func testMatmulDoubleMatchesReference() { check(Double.self, tolerance: 1e-13) }
}

final class FastMathTests: XCTestCase {
    func relErr(_ a: Float, _ b: Double) -> Double { abs(Double(a) - b) / max(abs(b), 1e-30) }

    func testFastExpAccuracy() {
        var worst = 0.0
        var x: Double = -80
        while x <= 80 { worst = max(worst, relErr(Float.fastExp(Float(x)), Double.exp(Double(Float(x))))); x += 0.0137 }
        XCTAssertLessThan(worst, 1e-6)
    }

    func testFastTanhAccuracy() {
        var worst = 0.0
        var x: Double = -12
        while x <= 12 {
            let xf = Float(x)
            worst = max(worst, relErr(Float.fastTanh(xf), Double.tanh(Double(xf)))); x += 0.00173
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertEqual(Float.fastTanh(1e-30), 1e-30)
        XCTAssertEqual(Float.fastTanh(50), 1)
        XCTAssertEqual(Float.fastTanh(-50), -1)
    }

    func testFastSigmoidAccuracy() {
        var worst = 0.0
        var x: Double = -30
        while x <= 30 {
            let xf = Double(Float(x))
            worst = max(worst, relErr(Float.fastSigmoid(Float(xf)), 1 / (1 + Double.exp(-xf)))); x += 0.00311
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertEqual(Float.fastSigmoid(200), 1)
        XCTAssertEqual(Float.fastSigmoid(-200), 0, accuracy: 1e-37)
        XCTAssertTrue(Float.fastSigmoid(-1000).isFinite)
    }

    func testDoubleUsesLibm() {
        XCTAssertEqual(Double.fastTanh(0.3), Double.tanh(0.3))
        XCTAssertEqual(Double.fastSigmoid(-800), 0, accuracy: 1e-300)
    }
}

final class RandomTests: XCTestCase {
    func testSameSeedSameStream() {
        var a = SeededGenerator(seed: 123), b = SeededGenerator(seed: 123), c = SeededGenerator(seed: 124)
        let xa = (0..<100).map { _ in a.next() }, xb = (0..<100).map { _ in b.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, (0..<100).map { _ in c.next() })
    }

    func testStateRoundTripContinuesTheStream() {
        var a = SeededGenerator(seed: 9)
        _ = (0..<10).map { _ in a.next() }
        var b = SeededGenerator(state: a.state)!
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in b.next() })
        XCTAssertNil(SeededGenerator(state: [0, 0, 0, 0]))
        XCTAssertNil(SeededGenerator(state: [1, 2]))
    }

    func testNormalMoments() {
        var g = SeededGenerator(seed: 5)
        let xs = (0..<100_000).map { _ in g.normal() }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
    }

    func testUniformRangeAndCategorical() {
        var g = SeededGenerator(seed: 6)
        for _ in 0..<1000 { let u = g.uniform(); XCTAssert(u >= 0 && u < 1) }
        let w: [Float] = [0, 3, 1]
        var counts = [0, 0, 0]
        w.withUnsafeBufferPointer { buf in for _ in 0..<4000 { counts[g.categorical(buf)] += 1 } }
        XCTAssertEqual(counts[0], 0)
        XCTAssertEqual(Double(counts[1]) / 4000, 0.75, accuracy: 0.03)
    }

    func testBenchTimesTakeTheMedianAndTheBest() {
        let t = BenchTimes([0.3, 0.1, 0.2, 0.5])
        XCTAssertEqual(t.median, 0.3)
        XCTAssertEqual(t.best, 0.1)
        XCTAssertEqual(t.count, 4)
        XCTAssertTrue(BenchTimes([]).median.isNaN)
        var runs = 0
        let measured = BenchTimes.measure(warmUp: 2, repetitions: 3) { runs += 1 }
        XCTAssertEqual(runs, 5)
        XCTAssertEqual(measured.count, 3)
        XCTAssertTrue(measured.best >= 0 && measured.best <= measured.median)
        XCTAssertNil(BenchLimits.problem([("batch", 4, 1...8), ("steps", 8, 1...8)]))
        XCTAssertEqual(BenchLimits.problem([("batch", 4, 1...8), ("steps", 0, 1...8), ("reps", 0, 1...8)]),
                       "--steps must be between 1 and 8, got 0")
    }
}
