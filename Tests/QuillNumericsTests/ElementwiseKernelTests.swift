import CQuillKernels
import XCTest
@testable import QuillNumerics

/// The Float forms of `Kernels.tanh`/`sigmoid` (and in place) run C kernels (`qk_tanh`, `qk_sigmoid`: AVX-512 where
/// the CPU has it, AVX2 where it has that, plain loops elsewhere) that must give the bits of `Float.fastTanh`/`fastSigmoid`, the Swift code
/// they replace: committed models sample the same bytes for a seed whichever path runs.
final class ElementwiseKernelTests: XCTestCase {
    /// Inputs over the whole range: the polynomial/exponential switch at |x| = 0.625, the clamps at −87.3 and 88.7,
    /// ±0, subnormals, ±∞, NaN, large magnitudes, and a seeded spread.
    func inputs() -> [Float] {
        var xs: [Float] = [0, -0.0, 0.625, -0.625, Float(0.625).nextDown, Float(-0.625).nextUp, 87.3, -87.3, 88.7, -88.7, 44.35, -44.35,
                           100, -100, 1e-30, -1e-30, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .infinity,
                           -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1, 9, -9]
        var rng = SeededGenerator(seed: 11)
        for scale: Float in [0.01, 0.7, 3, 12, 50, 120] {
            for _ in 0..<400 { xs.append(Float(rng.uniform() * 2 - 1) * scale) }
        }
        var x: Float = -12
        while x < 12 { xs.append(x); x += 0.0137 }
        return xs
    }

    func assertSameBits(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, file: file, line: line)
        for (i, (g, w)) in zip(got, want).enumerated() where !(g.isNaN && w.isNaN) && g.bitPattern != w.bitPattern {
            return XCTFail("\(what): element \(i) gives \(g) (0x\(String(g.bitPattern, radix: 16))), Swift "
                           + "\(w) (0x\(String(w.bitPattern, radix: 16)))", file: file, line: line)
        }
        for (g, w) in zip(got, want) where g.isNaN || w.isNaN { XCTAssertTrue(g.isNaN && w.isNaN, what, file: file, line: line) }
    }

    func testTanhAndSigmoidGiveTheSwiftBitsOnEveryPathAndLength() {
        // Every width this CPU runs: AVX-512, AVX2, none (qk_set_level caps the kernels; the level is put back).
        let original = qk_level()
        defer { _ = qk_set_level(original) }
        var widths = 0
        for level: Int32 in [3, 2, 0] where level <= original {
            XCTAssertEqual(qk_set_level(level), level)
            checkEveryLength(level)
            widths += 1
        }
        print("ElementwiseKernelTests: checked \(widths) of the widths (AVX-512, AVX2, plain loops); this CPU runs level \(original)")
    }

    func checkEveryLength(_ level: Int32) {
        let all = inputs()
        let tanh = all.map { Float.fastTanh($0) }, sigmoid = all.map { Float.fastSigmoid($0) }
        // Every length up to 40 (whole vectors and every tail), then the whole set.
        for n in Array(0...40) + [all.count] {
            let x = Array(all.suffix(n)), wantT = Array(tanh.suffix(n)), wantS = Array(sigmoid.suffix(n))
            var y = [Float](repeating: 7, count: n)
            Kernels.tanh(x, into: &y, count: n); assertSameBits(y, wantT, "level \(level) tanh n=\(n)")
            Kernels.sigmoid(x, into: &y, count: n); assertSameBits(y, wantS, "level \(level) sigmoid n=\(n)")
            Kernels.portableTanh(x, into: &y, count: n); assertSameBits(y, wantT, "portable tanh n=\(n)")
            Kernels.portableSigmoid(x, into: &y, count: n); assertSameBits(y, wantS, "portable sigmoid n=\(n)")
            var z = x
            Kernels.tanhInPlace(&z, count: n)
            assertSameBits(z, wantT, "tanh in place n=\(n)")
            z = x
            Kernels.sigmoidInPlace(&z, count: n)
            assertSameBits(z, wantS, "sigmoid in place n=\(n)")
        }
        // The lanes past a tail are not written.
        var y = [Float](repeating: 7, count: 20)
        Kernels.tanh(all, into: &y, count: 5)
        XCTAssertEqual(Array(y[5...]), [Float](repeating: 7, count: 15))
    }

    func testDoubleKeepsItsLibmForms() {
        var y = [Double](repeating: 0, count: 3)
        Kernels.tanh([0.5, -2, 30], into: &y, count: 3)
        XCTAssertEqual(y, [Double.tanh(0.5), Double.tanh(-2), Double.tanh(30)])
    }
}
