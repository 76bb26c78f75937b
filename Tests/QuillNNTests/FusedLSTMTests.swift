import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// The fused LSTM kernels (packed weights, threaded steps) against the portable path of OpenBLAS products and
/// `CellKernels`, which the Double gradient checks cover: same outputs, states and gradients in Float.
final class FusedLSTMTests: XCTestCase {
    override func tearDown() { FusedKernels.enabled = true }

    struct Run {
        var outputs: [Float], cells: [Float], dPre: [Float], dx: [Float], dh0: [Float], dc0: [Float]
        var grads: [String: [Float]]
        var fusedForward: Bool, fusedBackward: Bool
    }

    func run(fused: Bool, batch B: Int, hidden H: Int, steps T: Int, peepholes: Bool, clip: Float?,
             saturate: Bool = false) -> Run {
        FusedKernels.enabled = fused
        var rng = SeededGenerator(seed: 11)
        let I = 7
        let layer = RecurrentLayer<Float>(kind: .lstm, inputSize: I, hiddenSize: H, name: "l", peepholes: peepholes,
                                          rng: &rng)
        if let p = layer.peephole { for i in 0..<p.count { p.value[i] = Float(rng.uniform() - 0.5) } }
        for p in layer.parameters { for i in 0..<p.count { p.value[i] *= 3 } }
        layer.preactivationGradientClip = clip
        let ws = RecurrentWorkspace(layer: layer, steps: T, batch: B)
        let x = Tensor<Float>.randomFloat([T, B, I], &rng, scale: saturate ? 150 : 1)
        let r = Tensor<Float>.randomFloat([T, B, H], &rng)
        let h0 = Tensor<Float>.randomFloat([B, H], &rng, scale: 0.5)
        let c0 = Tensor<Float>.randomFloat([B, H], &rng, scale: saturate ? 200 : 2)
        ws.h.ptr.update(from: h0.ptr, count: B * H)
        ws.c!.ptr.update(from: c0.ptr, count: B * H)
        layer.forward(x.ptr, ws)
        let fusedForward = ws.fusedForward
        layer.parameters.zeroGradients()
        let dx = Tensor<Float>([T, B, I])
        layer.backward(x.ptr, ws, dh: r.ptr, dx: dx.ptr)
        var grads = [String: [Float]]()
        for p in layer.parameters { grads[p.name] = p.grad.array }
        return Run(outputs: Array(UnsafeBufferPointer(start: ws.outputs, count: T * B * H)), cells: ws.c!.array,
                   dPre: ws.dPre.array, dx: dx.array, dh0: ws.dhCarry.array, dc0: ws.dcCarry!.array, grads: grads,
                   fusedForward: fusedForward, fusedBackward: ws.fusedBackward)
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, tolerance: Float,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = Swift.max(b.map(abs).max() ?? 0, 1)
        var worst: Float = 0, at = 0
        for i in 0..<Swift.min(a.count, b.count) where abs(a[i] - b[i]) > worst { worst = abs(a[i] - b[i]); at = i }
        XCTAssertLessThanOrEqual(worst / scale, tolerance, "\(what)[\(at)]: \(a[at]) vs \(b[at])", file: file, line: line)
    }

    func compare(batch: Int, hidden: Int, steps: Int = 10, peepholes: Bool = false, clip: Float? = nil,
                 saturate: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        // Inputs of ±150 and cells of ±200 make Float rounding itself larger: there both paths differ from a Double
        // reference by about 5e-4 (measured), so they are held to each other within 2e-3 rather than 2e-4.
        let tolerance: Float = saturate ? 2e-3 : 2e-4
        guard FusedKernels.available else { throw XCTSkip("this CPU has no AVX-512: the fused LSTM kernels do not run") }
        let f = run(fused: true, batch: batch, hidden: hidden, steps: steps, peepholes: peepholes, clip: clip,
                    saturate: saturate)
        let p = run(fused: false, batch: batch, hidden: hidden, steps: steps, peepholes: peepholes, clip: clip,
                    saturate: saturate)
        for (name, v) in [("h", f.outputs), ("c", f.cells), ("dPre", f.dPre), ("dx", f.dx)] {
            XCTAssertTrue(v.allSatisfy(\.isFinite), "fused \(name) has NaN or ∞", file: file, line: line)
        }
        XCTAssertTrue(f.fusedForward && f.fusedBackward, "the fused path did not run", file: file, line: line)
        XCTAssertFalse(p.fusedForward || p.fusedBackward, "the portable path was not taken", file: file, line: line)
        assertClose(f.outputs, p.outputs, "h", tolerance: tolerance, file: file, line: line)
        assertClose(f.cells, p.cells, "c", tolerance: tolerance, file: file, line: line)
        assertClose(f.dPre, p.dPre, "dPre", tolerance: tolerance, file: file, line: line)
        assertClose(f.dx, p.dx, "dx", tolerance: tolerance, file: file, line: line)
        assertClose(f.dh0, p.dh0, "dh0", tolerance: tolerance, file: file, line: line)
        assertClose(f.dc0, p.dc0, "dc0", tolerance: tolerance, file: file, line: line)
        for (name, g) in p.grads {
            assertClose(f.grads[name] ?? [], g, name, tolerance: tolerance, file: file, line: line)
        }
    }

    /// Two slices of units (32 + 40: a full panel, then a panel with an 8-wide tail); 13 rows: 12 + 1.
    func testMatchesPortablePathWithTails() throws { try compare(batch: 13, hidden: 72) }

    /// Peepholes and Graves's clip of the pre-activation gradients; 30 rows: 12 + 12 + 4 + 2.
    func testMatchesPortablePathWithPeepholesAndClip() throws {
        try compare(batch: 30, hidden: 100, peepholes: true, clip: 0.05)
    }

    /// One slice of 40 units (below 64 units a layer runs on one thread); the smallest batch that fuses.
    func testMatchesPortablePathSingleSlice() throws { try compare(batch: 4, hidden: 40) }

    /// The benchmark shape's width: 400 units in slices of 192 and 208.
    func testMatchesPortablePathAtHandwritingWidth() throws { try compare(batch: 8, hidden: 400, steps: 9) }

    /// Saturated gates and huge cells (pre-activations of hundreds, |c| ≫ 44, where exp overflows to ∞ inside
    /// sigmoid and tanh): finite, and the same as the portable path. A trained network gets there.
    func testSaturatedGatesStayFinite() throws {
        try compare(batch: 12, hidden: 72, peepholes: true, clip: 10, saturate: true)
    }

    /// Short passes and tiny batches (sampling) keep the portable path.
    func testSamplingShapesStayPortable() throws {
        guard FusedKernels.available else { throw XCTSkip("this CPU has no AVX-512: the fused LSTM kernels do not run") }
        XCTAssertFalse(run(fused: true, batch: 1, hidden: 72, steps: 10, peepholes: false, clip: nil).fusedForward)
        XCTAssertFalse(run(fused: true, batch: 8, hidden: 72, steps: 3, peepholes: false, clip: nil).fusedForward)
    }
}
