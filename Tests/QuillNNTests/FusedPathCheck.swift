import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// One recurrent layer run forward and backward over a few steps on the fused or the portable path, for the tests
/// that hold the fused step kernels (`FusedKernels`) to the portable path of OpenBLAS products and `CellKernels`.
struct FusedPathCheck {
    var kind: CellKind
    var batch: Int, hidden: Int, steps = 10
    var peepholes = false
    var clip: Float?
    /// Inputs of ±150 and cells of ±200: saturated gates, where exp overflows inside sigmoid and tanh.
    var saturate = false

    /// Everything a pass produces: outputs, LSTM cells, pre-activation gradients, input gradient, the dh (and dc)
    /// carried out of step 0, and every parameter gradient.
    struct Run {
        var tensors: [(name: String, values: [Float])]
        var grads: [String: [Float]]
        var fusedForward: Bool, fusedBackward: Bool
    }

    func run(fused: Bool) -> Run {
        FusedKernels.enabled = fused
        let B = batch, H = hidden, T = steps
        var rng = SeededGenerator(seed: 11)
        let I = 7
        let layer = RecurrentLayer<Float>(kind: kind, inputSize: I, hiddenSize: H, name: "l", peepholes: peepholes,
                                          rng: &rng)
        if let p = layer.peephole { for i in 0..<p.count { p.value[i] = Float(rng.uniform() - 0.5) } }
        // Non-zero biases (GRU's b_h included) and weights three times PyTorch's range.
        for p in layer.parameters {
            for i in 0..<p.count { p.value[i] = p.value[i] * 3 + (p.name.hasSuffix("wx") ? 0 : Float(rng.uniform() - 0.5) * 0.2) }
        }
        layer.preactivationGradientClip = clip
        let ws = RecurrentWorkspace(layer: layer, steps: T, batch: B)
        let x = Tensor<Float>.randomFloat([T, B, I], &rng, scale: saturate ? 150 : 1)
        let r = Tensor<Float>.randomFloat([T, B, H], &rng)
        let h0 = Tensor<Float>.randomFloat([B, H], &rng, scale: 0.5)
        let c0 = Tensor<Float>.randomFloat([B, H], &rng, scale: saturate ? 200 : 2)
        ws.h.ptr.update(from: h0.ptr, count: B * H)
        ws.c?.ptr.update(from: c0.ptr, count: B * H)
        layer.forward(x.ptr, ws)
        let fusedForward = ws.fusedForward
        layer.parameters.zeroGradients()
        let dx = Tensor<Float>([T, B, I])
        layer.backward(x.ptr, ws, dh: r.ptr, dx: dx.ptr)
        var grads = [String: [Float]]()
        for p in layer.parameters { grads[p.name] = p.grad.array }
        var tensors: [(name: String, values: [Float])] = [
            ("h", Array(UnsafeBufferPointer(start: ws.outputs, count: T * B * H))), ("activated gates", ws.pre.array),
            ("dPre", ws.dPre.array), ("dx", dx.array), ("dh0", ws.dhCarry.array),
        ]
        if let c = ws.c, let dc = ws.dcCarry { tensors += [("c", c.array), ("dc0", dc.array)] }
        if let hg = ws.hg, let dhg = ws.dhg { tensors += [("hg", hg.array), ("dhg", dhg.array)] }
        return Run(tensors: tensors, grads: grads, fusedForward: fusedForward, fusedBackward: ws.fusedBackward)
    }

    static func assertClose(_ a: [Float], _ b: [Float], _ what: String, tolerance: Float,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = Swift.max(b.map(abs).max() ?? 0, 1)
        var worst: Float = 0, at = 0
        for i in 0..<Swift.min(a.count, b.count) where abs(a[i] - b[i]) > worst { worst = abs(a[i] - b[i]); at = i }
        XCTAssertLessThanOrEqual(worst / scale, tolerance, "\(what)[\(at)]: \(a[at]) vs \(b[at])", file: file, line: line)
    }

    /// Runs both paths and holds every tensor and gradient of the fused one to the portable one, at every vector
    /// width this CPU runs (AVX-512 and its AVX2 twins on AVX-512 CPUs; AVX2 alone on AVX2 CPUs). Throws XCTSkip on
    /// CPUs with neither.
    func compare(file: StaticString = #filePath, line: UInt = #line) throws {
        // Saturated inputs make Float rounding itself larger: there both paths differ from a Double reference by
        // about 5e-4 (measured on the LSTM), so they are held to each other within 2e-3 rather than 2e-4.
        let tolerance: Float = saturate ? 2e-3 : 2e-4
        guard FusedKernels.available else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA (or QUILL_KERNELS=0): the fused "
                          + "\(kind.rawValue) kernels do not run")
        }
        let original = FusedKernels.level
        defer { FusedKernels.cap(at: original) }
        let p = run(fused: false)
        XCTAssertFalse(p.fusedForward || p.fusedBackward, "the portable path was not taken", file: file, line: line)
        for level in [FusedKernels.Level.avx512, .avx2] where level.rawValue <= original.rawValue {
            XCTAssertEqual(FusedKernels.cap(at: level), level, file: file, line: line)
            let f = run(fused: true)
            let what = "\(kind) \(level)"
            for (name, v) in f.tensors {
                XCTAssertTrue(v.allSatisfy(\.isFinite), "fused \(what) \(name) has NaN or ∞", file: file, line: line)
            }
            XCTAssertTrue(f.fusedForward && f.fusedBackward, "the fused \(what) path did not run", file: file, line: line)
            XCTAssertEqual(f.tensors.map(\.name), p.tensors.map(\.name), file: file, line: line)
            for (a, b) in zip(f.tensors, p.tensors) {
                Self.assertClose(a.values, b.values, "\(what) \(a.name)", tolerance: tolerance, file: file, line: line)
            }
            XCTAssertEqual(Set(f.grads.keys), Set(p.grads.keys), file: file, line: line)
            for (name, g) in p.grads {
                Self.assertClose(f.grads[name] ?? [], g, "\(what) \(name)", tolerance: tolerance, file: file, line: line)
            }
        }
    }
}
