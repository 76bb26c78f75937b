import CQuillKernels
import XCTest
@testable import QuillNumerics

/// Adam's update in Float runs a C kernel (`qk_adam`: AVX-512 or AVX2 by the CPU, cut over the kernel threads for
/// large arrays, a plain loop elsewhere) that must give the bits of the Swift loop it replaced, so training runs and
/// resume points stay the same bytes.
final class AdamKernelTests: XCTestCase {
    /// The Swift loop Quill ran before the kernel, operation for operation.
    static func swiftAdam(_ w: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float],
                          lr: Float, beta1: Float, beta2: Float, eps: Float) {
        for i in w.indices {
            let gi = g[i]
            let mi = beta1 * m[i] + (1 - beta1) * gi
            let vi = beta2 * v[i] + (1 - beta2) * gi * gi
            m[i] = mi; v[i] = vi
            w[i] -= lr * mi / (vi.squareRoot() + eps)
        }
    }

    /// Gradients and state over a wide range, with zeros, subnormals, huge values, ±∞ and NaN among them.
    static func operands(_ n: Int, seed: UInt64) -> (w: [Float], g: [Float], m: [Float], v: [Float]) {
        var rng = SeededGenerator(seed: seed)
        func spread(_ scale: Float) -> Float { Float(rng.uniform() * 2 - 1) * scale }
        let specials: [Float] = [0, -0.0, .leastNonzeroMagnitude, 1e-30, 3e38, -3e38, .infinity, -.infinity, .nan, 1]
        var w = [Float](), g = [Float](), m = [Float](), v = [Float]()
        for i in 0..<n {
            w.append(spread(2))
            g.append(i % 97 < specials.count ? specials[i % 97] : spread(i % 3 == 0 ? 1e-4 : 5))
            m.append(spread(0.1))
            v.append(i % 89 == 0 ? 0 : Float(rng.uniform()) * 0.01)
        }
        return (w, g, m, v)
    }

    func assertSameBits(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, file: file, line: line)
        for (i, (a, b)) in zip(got, want).enumerated() where !(a.isNaN && b.isNaN) && a.bitPattern != b.bitPattern {
            return XCTFail("\(what): element \(i) gives \(a), the Swift loop \(b)", file: file, line: line)
        }
        for (a, b) in zip(got, want) where a.isNaN || b.isNaN { XCTAssertTrue(a.isNaN && b.isNaN, what, file: file, line: line) }
    }

    func testTheKernelGivesTheSwiftLoopsBitsAtEveryWidthAndLength() {
        let original = qk_level()
        defer { _ = qk_set_level(original) }
        let (lr, b1, b2, eps): (Float, Float, Float, Float) = (2e-3 * 0.031, 0.9, 0.999, 1e-8 * 0.031)
        var widths = 0
        for level: Int32 in [3, 2, 0] where level <= original {
            XCTAssertEqual(qk_set_level(level), level)
            widths += 1
            // Every length to 40 (each tail), lengths around the 64-element blocks, and arrays large enough to be
            // cut over the threads (at least 64 K elements a thread), with an odd tail.
            for n in Array(0...40) + [63, 64, 65, 1_000, 200_003, 300_017] {
                var (w, g, m, v) = Self.operands(n, seed: UInt64(n) + 5)
                var (w2, m2, v2) = (w, m, v)
                Self.swiftAdam(&w, g, &m, &v, lr: lr, beta1: b1, beta2: b2, eps: eps)
                Kernels.adam(&w2, g, &m2, &v2, count: n, lr: lr, beta1: b1, beta2: b2, eps: eps)
                assertSameBits(w2, w, "level \(level) w n=\(n)")
                assertSameBits(m2, m, "level \(level) m n=\(n)")
                assertSameBits(v2, v, "level \(level) v n=\(n)")
                if n <= 1_000 {
                    var (w3, _, m3, v3) = Self.operands(n, seed: UInt64(n) + 5)
                    Kernels.portableAdam(&w3, g, &m3, &v3, count: n, lr: lr, beta1: b1, beta2: b2, eps: eps)
                    assertSameBits(w3, w, "portable w n=\(n)")
                    assertSameBits(m3, m, "portable m n=\(n)")
                    assertSameBits(v3, v, "portable v n=\(n)")
                }
            }
        }
        print("AdamKernelTests: checked \(widths) of the widths (AVX-512, AVX2, plain loops); this CPU runs level \(original)")
    }

    func testTheKernelLeavesMemoryPastTheArraysAlone() {
        let n = 21
        var (w, g, m, v) = Self.operands(n + 11, seed: 3)
        let (w0, m0, v0) = (w, m, v)
        Kernels.adam(&w, g, &m, &v, count: n, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8)
        XCTAssertEqual(Array(w[n...]).map(\.bitPattern), Array(w0[n...]).map(\.bitPattern))
        XCTAssertEqual(Array(m[n...]).map(\.bitPattern), Array(m0[n...]).map(\.bitPattern))
        XCTAssertEqual(Array(v[n...]).map(\.bitPattern), Array(v0[n...]).map(\.bitPattern))
        _ = g
    }

    func testDoubleKeepsTheSwiftLoop() {
        var w: [Double] = [1, -2], m: [Double] = [0, 0.5], v: [Double] = [0, 0.25]
        Kernels.adam(&w, [0.5, -1], &m, &v, count: 2, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8)
        let m0 = 0.9 * 0 + (1 - 0.9) * 0.5, v0 = 0.999 * 0 + (1 - 0.999) * 0.5 * 0.5
        XCTAssertEqual(m[0], m0)
        XCTAssertEqual(v[0], v0)
        XCTAssertEqual(w[0], 1 - 0.1 * m0 / (v0.squareRoot() + 1e-8))
    }
}

/// The global norm of gradient clipping sums squares in Float blocks of 4,096 and the blocks in Double; in Float a C
/// kernel (`qk_sum_of_squares`) sums the blocks side by side in the vector lanes and over the threads, and must give
/// the Swift loop's bits (training runs clip by that norm).
final class SumOfSquaresKernelTests: XCTestCase {
    static func swiftSumOfSquares(_ x: [Float]) -> Double {
        var acc = 0.0, i = 0
        while i < x.count {
            let end = Swift.min(i + 4096, x.count)
            var s: Float = 0
            for j in i..<end { s += x[j] * x[j] }
            acc += Double(s)
            i = end
        }
        return acc
    }

    func testTheKernelGivesTheSwiftLoopsBitsAtEveryWidthAndLength() {
        let original = qk_level()
        defer { _ = qk_set_level(original) }
        var rng = SeededGenerator(seed: 9)
        // Whole blocks and tails; fewer blocks than lanes; one whole group of 1,024 blocks (the stack array's size)
        // and a tail; two groups and part of a third, cut over the threads (at least 64 blocks a thread), with the
        // running Double sum carried from group to group.
        let lengths = Array(0...40) + [4095, 4096, 4097, 3 * 4096 + 1, 16 * 4096, 17 * 4096 + 333, 1024 * 4096 + 7,
                                       300_017, (2 * 1024 + 37) * 4096 + 5]
        let inputs = lengths.map { n in
            (0..<n).map { i -> Float in
                let r = Float(rng.uniform() * 2 - 1)
                return i % 1000 == 7 ? r * 1e18 : i % 3 == 0 ? r * 1e-3 : r * 3
            }
        }
        for level: Int32 in [3, 2, 0] where level <= original {
            XCTAssertEqual(qk_set_level(level), level)
            for x in inputs {
                let want = Self.swiftSumOfSquares(x)
                XCTAssertEqual(Kernels.sumOfSquares(x, count: x.count).bitPattern, want.bitPattern,
                               "level \(level) n=\(x.count)")
                if x.count < 100_000 {
                    XCTAssertEqual(Kernels.portableSumOfSquares(x, count: x.count).bitPattern, want.bitPattern,
                                   "portable n=\(x.count)")
                }
            }
            // Not finite values stay so.
            var x = [Float](repeating: 1, count: 5 * 4096)
            x[4096 * 3 + 5] = .nan
            XCTAssertTrue(Kernels.sumOfSquares(x, count: x.count).isNaN)
            x[4096 * 3 + 5] = .infinity
            XCTAssertEqual(Kernels.sumOfSquares(x, count: x.count), .infinity)
        }
    }
}
