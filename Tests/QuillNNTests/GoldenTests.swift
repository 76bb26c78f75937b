import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// Quill's layers against PyTorch: the float64 references of `Tests/Goldens/generate.py` (nn.LSTM, nn.GRU, Graves's
/// mixture density and soft window written out in torch), compared output by output and gradient by gradient, in
/// Double to 1e-9 relative and in Float to 1e-4 relative (`GoldenTolerance`). Finite differences prove that
/// backward matches forward; these prove that forward is the network PyTorch and the paper define.
final class GoldenTests: XCTestCase {
    // MARK: - Recurrent layers

    /// One layer from a non-zero initial state; loss Σ h_t ⊙ r_t. Parameters are read in Quill's layout: the
    /// fixture's PyTorch side loaded them into nn.LSTM / nn.GRU through `quill_rnn_to_torch` (transposes, same gate
    /// order), so agreement here is the README's claim that PyTorch loads Quill's recurrent weights.
    func checkRecurrent<T: QuillScalar>(_ kind: CellKind, _: T.Type, layerNorm: Bool = false) throws {
        let g = try GoldenFile("golden-\(kind.rawValue)" + (layerNorm ? "-layer-norm" : ""))
        let x: Tensor<T> = g.tensor("x"), r: Tensor<T> = g.tensor("r")
        let steps = x.shape[0], B = x.shape[1], I = x.shape[2], H = r.shape[2]
        var rng = SeededGenerator(seed: 1)
        let factors = kind == .mrnn ? (g.tensor("mrnn.0.wf") as Tensor<T>).shape[0] : 0
        let layer = RecurrentLayer<T>(kind: kind, inputSize: I, hiddenSize: H, name: "\(kind.rawValue).0",
                                      factors: factors, learnPeriods: kind == .phasedLSTM, layerNorm: layerNorm, rng: &rng)
        for p in layer.parameters { g.load(p) }
        let ws = RecurrentWorkspace(layer: layer, steps: steps, batch: B)
        if kind == .phasedLSTM {
            var s = ws.initialState()
            s.time = (g.tensor("times") as Tensor<T>).array.map { Int(Double($0)) }
            ws.setInitialState(s)
        }
        let h0: Tensor<T> = g.tensor("h0")
        ws.h.ptr.update(from: h0.ptr, count: B * H)
        if let c = ws.c {
            let c0: Tensor<T> = g.tensor("c0")
            c.ptr.update(from: c0.ptr, count: B * H)
        }
        layer.forward(x.ptr, ws)
        g.compare("out.h", ws.outputs, count: steps * B * H)
        if let c = ws.c { g.compare("out.cT", c.ptr + steps * B * H, count: B * H) }
        var loss = 0.0
        for i in 0..<(steps * B * H) { loss += Double(ws.outputs[i]) * Double(r[i]) }
        g.compare("loss", [loss], as: T.self)

        layer.parameters.zeroGradients()
        let dx = Tensor<T>([steps, B, I])
        layer.backward(x.ptr, ws, dh: r.ptr, dx: dx.ptr)
        // The normalisations' backward subtracts each row's means from its terms: in float32 the input gradient,
        // and the weight gradients summed from the same terms, lose about two more bits to the cancellation (Double
        // agrees to 1e-9 all the same; grad.wx was 1.6e-7 of its largest magnitude off on an Emerald Rapids Xeon).
        let cancelling = layerNorm && T.self == Float.self
            ? GoldenTolerance(relative: 4e-4, smallBelow: -1e-3, absolute: -4e-7) : nil
        g.compare("grad.x", dx, tolerance: cancelling)
        g.compare("grad.h0", ws.dhCarry)
        if let dc = ws.dcCarry { g.compare("grad.c0", dc) }
        for p in layer.parameters { g.compare("grad.\(p.name)", p.grad, tolerance: cancelling) }
    }

    func testLSTMMatchesPyTorchInDouble() throws { try checkRecurrent(.lstm, Double.self) }
    func testLSTMMatchesPyTorchInFloat() throws { try checkRecurrent(.lstm, Float.self) }
    func testGRUMatchesPyTorchInDouble() throws { try checkRecurrent(.gru, Double.self) }
    func testGRUMatchesPyTorchInFloat() throws { try checkRecurrent(.gru, Float.self) }
    /// The MRNN against its equations written out in torch (PyTorch has no MRNN module), F = 5 ≠ H = 4.
    func testMRNNMatchesPyTorchInDouble() throws { try checkRecurrent(.mrnn, Double.self) }
    func testMRNNMatchesPyTorchInFloat() throws { try checkRecurrent(.mrnn, Float.self) }
    /// The Phased LSTM against its equations written out in torch, two streams at different times, periods learnt.
    func testPhasedLSTMMatchesPyTorchInDouble() throws { try checkRecurrent(.phasedLSTM, Double.self) }
    func testPhasedLSTMMatchesPyTorchInFloat() throws { try checkRecurrent(.phasedLSTM, Float.self) }
    /// The layer-normalised LSTM against one written with PyTorch's F.layer_norm, gains and cell bias trained.
    func testLayerNormalizedLSTMMatchesPyTorchInDouble() throws { try checkRecurrent(.lstm, Double.self, layerNorm: true) }
    func testLayerNormalizedLSTMMatchesPyTorchInFloat() throws { try checkRecurrent(.lstm, Float.self, layerNorm: true) }

    // MARK: - Mixture density

    /// Graves eqs. 23–26 with Quill's transforms (σ floor, ρ bound, e = sigmoid ê), a masked row, a collapsed
    /// component and a saturated correlation: the loss, its two parts and the scaled gradient w.r.t. the raw outputs.
    func checkMixture<T: QuillScalar>(_: T.Type) throws {
        let g = try GoldenFile("golden-mixture")
        let mixture = MixtureDensity(components: Int(g.scalar("components")), sigmaFloor: g.scalar("sigma_floor"),
                                     rhoMax: g.scalar("rho_max"))
        let y: Tensor<T> = g.tensor("y"), targets: Tensor<T> = g.tensor("targets"), mask: Tensor<T> = g.tensor("mask")
        let N = y.shape[0]
        XCTAssertEqual(y.shape[1], mixture.outputSize)
        let dy = Tensor<T>(y.shape)
        let loss = mixture.loss(y.ptr, targets: targets.ptr, mask: mask.ptr, rows: N, dy: dy.ptr,
                                scale: T(g.scalar("scale")))
        g.compare("loss", [loss.total], as: T.self)
        g.compare("loss.offsets", [loss.offsets], as: T.self)
        g.compare("loss.eos", [loss.endOfStroke], as: T.self)
        g.compare("grad.y", dy)
        // Without a gradient buffer, the same loss.
        let plain = mixture.loss(y.ptr, targets: targets.ptr, mask: mask.ptr, rows: N, dy: nil)
        g.compare("loss", [plain.total], as: T.self)
    }

    func testMixtureDensityMatchesPyTorchInDouble() throws { try checkMixture(Double.self) }
    func testMixtureDensityMatchesPyTorchInFloat() throws { try checkMixture(Float.self) }

    // MARK: - Soft window

    /// Graves eqs. 46–51 with κ's step scaled by s = 1/25, over 4 steps of two texts of different lengths:
    /// w_t, κ_t and φ(t, u) (u = 1…U_b + 1, zero beyond) forward; loss Σ w_t ⊙ r_t backward to h and the weights.
    func checkWindow<T: QuillScalar>(_: T.Type) throws {
        let g = try GoldenFile("golden-window")
        let h: Tensor<T> = g.tensor("h"), r: Tensor<T> = g.tensor("r")
        let steps = h.shape[0], B = h.shape[1], I = h.shape[2], V = r.shape[2]
        let K = Int(g.scalar("components"))
        let text = g.indices("text"), lengths = g.indices("lengths")
        let U = text.count / B
        var rng = SeededGenerator(seed: 2)
        let window = SoftWindow<T>(components: K, inputSize: I, vocabularySize: V,
                                   kappaScale: g.scalar("kappa_scale"), name: "window", rng: &rng)
        for p in window.parameters { g.load(p) }
        let ws = WindowWorkspace(window: window, steps: steps, batch: B, maxTextLength: U)
        for b in 0..<B { ws.setText(row: b, Array(text[(b * U)..<(b * U + Int(lengths[b]))])) }
        ws.resetState()
        for t in 0..<steps { window.forwardStep(t, h: h.ptr + t * B * I, ws) }
        g.compare("out.w", ws.w.ptr + B * V, count: steps * B * V)
        g.compare("out.kappa", ws.kappa.ptr + B * K, count: steps * B * K)
        g.compare("out.phi", ws.phi)
        var loss = 0.0
        for i in 0..<(steps * B * V) { loss += Double(ws.w[B * V + i]) * Double(r[i]) }
        g.compare("loss", [loss], as: T.self)

        window.parameters.zeroGradients()
        let dh = Tensor<T>([steps, B, I])
        window.beginBackward(ws)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            window.backwardStep(t, dw: r.ptr + t * B * V, h: h.ptr + t * B * I, dh: dh.ptr + t * B * I, ws)
        }
        window.finishBackward(h: h.ptr, ws, steps: steps)
        g.compare("grad.h", dh)
        for p in window.parameters { g.compare("grad.\(p.name)", p.grad) }
    }

    func testSoftWindowMatchesPyTorchInDouble() throws { try checkWindow(Double.self) }
    func testSoftWindowMatchesPyTorchInFloat() throws { try checkWindow(Float.self) }
}
