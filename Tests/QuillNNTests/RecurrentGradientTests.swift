import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// Finite-difference checks in Double of every recurrent cell, in sequence and step mode.
final class RecurrentGradientTests: XCTestCase {
    /// L = Σ h_t ⊙ R_t over a sequence, from a non-zero initial state.
    func checkLayer(_ kind: CellKind, peepholes: Bool = false, factors: Int = 0, learnPeriods: Bool = false,
                    layerNorm: Bool = false, file: StaticString = #filePath,
                    line: UInt = #line,
                    prepare: (RecurrentLayer<Double>, RecurrentWorkspace<Double>) -> Void = { _, _ in }) {
        var rng = SeededGenerator(seed: 7)
        let T = 4, B = 3, I = 5, H = 4
        let layer = RecurrentLayer<Double>(kind: kind, inputSize: I, hiddenSize: H, name: "l", peepholes: peepholes,
                                           factors: factors, learnPeriods: learnPeriods, layerNorm: layerNorm,
                                           rng: &rng)
        // Peepholes start at zero: give them values so their paths through c are exercised.
        if let p = layer.peephole { for i in 0..<p.count { p.value[i] = rng.uniform() - 0.5 } }
        // Larger weights so the non-linearities are exercised.
        for p in layer.parameters { for i in 0..<p.count { p.value[i] *= 2 } }
        let ws = RecurrentWorkspace(layer: layer, steps: T, batch: B)
        prepare(layer, ws)
        let x = Tensor.random([T, B, I], &rng)
        let r = Tensor.random([T, B, H], &rng)
        let h0 = Tensor.random([B, H], &rng, scale: 0.5)
        let c0 = Tensor.random([B, H], &rng, scale: 0.5)

        func loss() -> Double {
            ws.h.ptr.update(from: h0.ptr, count: B * H)
            if let c = ws.c { c.ptr.update(from: c0.ptr, count: B * H) }
            layer.forward(x.ptr, ws)
            var s = 0.0
            for i in 0..<(T * B * H) { s += ws.outputs[i] * r[i] }
            return s
        }
        _ = loss()
        layer.parameters.zeroGradients()
        let dx = Tensor<Double>([T, B, I])
        layer.backward(x.ptr, ws, dh: r.ptr, dx: dx.ptr)
        // Gradient with respect to the initial state is what the carry holds after the last step.
        let dh0 = ws.dhCarry.clone()
        let dc0 = ws.dcCarry?.clone()
        for p in layer.parameters where p.trainable { GradientCheck.check(p, loss: loss, file: file, line: line) }
        if let dc0 {
            GradientCheck.check(name: "\(kind).c0", values: c0.ptr, grads: dc0.ptr, count: c0.count, loss: loss,
                                file: file, line: line)
        }
        GradientCheck.check(name: "\(kind).x", values: x.ptr, grads: dx.ptr, count: x.count, loss: loss,
                            file: file, line: line)
        GradientCheck.check(name: "\(kind).h0", values: h0.ptr, grads: dh0.ptr, count: h0.count, loss: loss,
                            file: file, line: line)
    }

    func testLSTMGradients() { checkLayer(.lstm) }
    func testLSTMWithPeepholesGradients() { checkLayer(.lstm, peepholes: true) }

    func testPeepholesAreOptionalAndStartAtZero() {
        var rng = SeededGenerator(seed: 2)
        let plain = RecurrentLayer<Float>(kind: .lstm, inputSize: 3, hiddenSize: 4, name: "l", rng: &rng)
        XCTAssertNil(plain.peephole)
        XCTAssertEqual(plain.parameters.count, 3)
        let peep = RecurrentLayer<Float>(kind: .lstm, inputSize: 3, hiddenSize: 4, name: "l", peepholes: true, rng: &rng)
        XCTAssertEqual(peep.peephole?.value.array, [Float](repeating: 0, count: 12))
        XCTAssertEqual(peep.parameters.map(\.name), ["l.wx", "l.wh", "l.b", "l.peep"])
        // Only LSTM cells have peepholes.
        XCTAssertNil(RecurrentLayer<Float>(kind: .gru, inputSize: 3, hiddenSize: 4, name: "g", peepholes: true,
                                           rng: &rng).peephole)
    }
    func testGRUGradients() { checkLayer(.gru) }
    func testRNNTanhGradients() { checkLayer(.rnn) }
    func testRNNReLUGradients() { checkLayer(.rnnRelu) }
    /// Periods of 1.5–4 steps open for 30–80% of each, so that every unit's gate rises, falls and leaks within the
    /// four steps; the streams start at different times (0, 2 and 7 steps read). With the periods learnt, so that
    /// their gradient is checked too.
    func testPhasedLSTMGradients() {
        checkLayer(.phasedLSTM, learnPeriods: true) { layer, ws in
            var rng = SeededGenerator(seed: 21)
            // Invariant: a Phased LSTM layer has its periods and time gate.
            let logPeriod = layer.periods!.value, gate = layer.timeGate!.value, H = layer.hiddenSize
            for j in 0..<H {
                let tau = 1.5 + 2.5 * rng.uniform(), r = 0.3 + 0.5 * rng.uniform()
                logPeriod[j] = Double.log(tau)
                gate[j] = tau * rng.uniform()
                gate[H + j] = Double.log(r / (1 - r))
            }
            var s = ws.initialState()
            s.time = [0, 2, 7]
            ws.setInitialState(s)
        }
    }

    /// The gate's shape: rising, falling and leaking over a period, with derivatives against finite differences.
    func testTimeGateMatchesNeilEtAlAndItsDerivatives() {
        // τ = 6, s = 3, r_on = 0.2 (note 002's figure 3): k rises from 0 at t = 3 to 1 at 3.6, back to 0 at 4.2.
        let rho = Double.log(6), q = Double.log(0.2 / 0.8)
        func k(_ t: Double) -> Double { TimeGate.value(time: t, logPeriod: rho, shift: 3, openLogit: q).k }
        XCTAssertEqual(k(3), 0, accuracy: 1e-12)
        XCTAssertEqual(k(3.3), 0.5, accuracy: 1e-12)
        XCTAssertEqual(k(3.6), 1, accuracy: 1e-12)
        XCTAssertEqual(k(3.9), 0.5, accuracy: 1e-12)
        XCTAssertEqual(k(5), TimeGate.leak * 2 / 6, accuracy: 1e-12)
        XCTAssertEqual(k(9.3), 0.5, accuracy: 1e-12, "periodic")
        XCTAssertEqual(k(-2.7), 0.5, accuracy: 1e-12, "before the shift too")
        for t in [3.2, 3.8, 5.0, 17.4, 0.5] {
            let g = TimeGate.value(time: t, logPeriod: rho, shift: 3, openLogit: q), e = 1e-6
            func fd(_ f: (Double) -> Double) -> Double { (f(e) - f(-e)) / (2 * e) }
            XCTAssertEqual(g.dLogPeriod, fd { TimeGate.value(time: t, logPeriod: rho + $0, shift: 3, openLogit: q).k },
                           accuracy: 1e-6)
            XCTAssertEqual(g.dShift, fd { TimeGate.value(time: t, logPeriod: rho, shift: 3 + $0, openLogit: q).k },
                           accuracy: 1e-6)
            XCTAssertEqual(g.dOpenLogit, fd { TimeGate.value(time: t, logPeriod: rho, shift: 3, openLogit: q + $0).k },
                           accuracy: 1e-6)
        }
    }

    /// The layer-normalised LSTM, with gains and the cell bias away from their initial 1 and 0.
    func testLayerNormalizedLSTMGradients() {
        checkLayer(.lstm, layerNorm: true) { layer, _ in
            var rng = SeededGenerator(seed: 23)
            // Invariant: a layer built with layerNorm has its parameters.
            for p in layer.layerNorm!.parameters { for i in 0..<p.count { p.value[i] = 0.5 + rng.uniform() } }
        }
    }

    func testLayerNormRows() {
        let v = Tensor<Double>([2, 4])
        for (i, x) in [1.0, 2, 3, 4, -2, 0, 0, 2].enumerated() { v[i] = x }
        let inv = Tensor<Double>([2])
        LayerNorm.normalize(v.ptr, rows: 2, width: 4, stride: 4, inverseSigma: inv.ptr)
        let s = 1 / (1.25 + LayerNorm.epsilon).squareRoot()
        XCTAssertEqual(inv[0], s, accuracy: 1e-12)
        XCTAssertEqual(v[0], -1.5 * s, accuracy: 1e-12)
        XCTAssertEqual(v[3], 1.5 * s, accuracy: 1e-12)
        XCTAssertEqual((4..<8).reduce(0.0) { $0 + v[$1] }, 0, accuracy: 1e-12)
    }

    /// Fewer and more factors than units, so that no F×H shape can stand in for another.
    func testMRNNGradients() {
        checkLayer(.mrnn, factors: 3)
        checkLayer(.mrnn, factors: 6)
    }

    /// The MRNN's tensors and its step against eqs. 4–6 of Sutskever, Martens and Hinton (2011) written out:
    /// f = (x·W_fx) ⊙ (h·W_fh), h' = tanh(f·W_hf + x·W_hx + b).
    func testMRNNStepIsTheFactoredRecurrence() {
        var rng = SeededGenerator(seed: 8)
        let I = 3, H = 4, F = 5, B = 2
        let layer = RecurrentLayer<Double>(kind: .mrnn, inputSize: I, hiddenSize: H, name: "m", factors: F, rng: &rng)
        XCTAssertEqual(layer.parameters.map(\.name), ["m.wx", "m.wh", "m.b", "m.wf"])
        XCTAssertEqual(layer.parameters.map(\.value.shape), [[I, H + F], [H, F], [H], [F, H]])
        XCTAssertEqual(layer.gateWidth, H + F)
        for i in 0..<layer.bias.count { layer.bias.value[i] = rng.uniform() - 0.5 }
        let ws = RecurrentWorkspace(layer: layer, steps: 1, batch: B)
        let x = Tensor<Double>.random([1, B, I], &rng), h0 = Tensor<Double>.random([B, H], &rng)
        ws.h.ptr.update(from: h0.ptr, count: B * H)
        layer.forward(x.ptr, ws)
        let wx = layer.wx.value, wfh = layer.wh.value, whf = layer.wf!.value, b = layer.bias.value
        for r in 0..<B {
            var f = [Double](repeating: 0, count: F)
            for k in 0..<F {
                var fx = 0.0, fh = 0.0
                for i in 0..<I { fx += x[r * I + i] * wx[i * (H + F) + H + k] }
                for j in 0..<H { fh += h0[r * H + j] * wfh[j * F + k] }
                f[k] = fx * fh
            }
            for j in 0..<H {
                var a = b[j]
                for i in 0..<I { a += x[r * I + i] * wx[i * (H + F) + j] }
                for k in 0..<F { a += f[k] * whf[k * H + j] }
                XCTAssertEqual(ws.outputs[r * H + j], tanh(a), accuracy: 1e-12)
            }
        }
    }

    func testLSTMForgetBiasStartsAtOne() {
        var rng = SeededGenerator(seed: 1)
        let l = RecurrentLayer<Float>(kind: .lstm, inputSize: 3, hiddenSize: 5, name: "l", rng: &rng)
        XCTAssertEqual(Array(l.bias.value.array[5..<10]), [1, 1, 1, 1, 1])
        XCTAssertEqual(Array(l.bias.value.array[0..<5]), [0, 0, 0, 0, 0])
    }

    /// Step mode (input projected outside, one step at a time) gives the same outputs as sequence mode.
    func testStepModeMatchesSequenceMode() {
        for (kind, layerNorm) in CellKind.allCases.filter(\.isRecurrent).map({ ($0, false) }) + [(.lstm, true)] {
            var rng = SeededGenerator(seed: 3)
            let T = 5, B = 2, I = 3, H = 4
            let layer = RecurrentLayer<Double>(kind: kind, inputSize: I, hiddenSize: H, name: "l", layerNorm: layerNorm,
                                               rng: &rng)
            let x = Tensor.random([T, B, I], &rng)
            let a = RecurrentWorkspace(layer: layer, steps: T, batch: B)
            layer.forward(x.ptr, a)
            let b = RecurrentWorkspace(layer: layer, steps: 1, batch: B)
            for t in 0..<T {
                layer.forwardStep(0, x.ptr + t * B * I, b)
                for i in 0..<(B * H) { XCTAssertEqual(b.outputs[i], a.outputs[t * B * H + i], accuracy: 1e-12) }
                b.carryState()
            }
        }
    }

    /// Step-mode backward with the input gradient taken per step (`inputGradient(at:)`, as the window's feedback
    /// needs it) against finite differences, for every cell.
    func testPerStepInputGradients() {
        for (kind, layerNorm) in CellKind.allCases.filter(\.isRecurrent).map({ ($0, false) }) + [(.lstm, true)] {
            var rng = SeededGenerator(seed: 6)
            let T = 4, B = 2, I = 3, H = 4
            let layer = RecurrentLayer<Double>(kind: kind, inputSize: I, hiddenSize: H, name: "l", layerNorm: layerNorm,
                                               rng: &rng)
            let ws = RecurrentWorkspace(layer: layer, steps: T, batch: B)
            let x = Tensor.random([T, B, I], &rng)
            let r = Tensor.random([T, B, H], &rng)
            func loss() -> Double {
                ws.resetState()
                layer.beginForward(ws, steps: T)
                for t in 0..<T { layer.forwardStep(t, x.ptr + t * B * I, ws) }
                return (0..<r.count).reduce(0) { $0 + ws.outputs[$1] * r[$1] }
            }
            _ = loss()
            layer.parameters.zeroGradients()
            let dx = Tensor<Double>([T, B, I])
            layer.beginBackward(ws)
            for t in stride(from: T - 1, through: 0, by: -1) {
                layer.backwardStep(t, ws, dhExternal: r.ptr + t * B * H)
                layer.inputGradient(at: t, ws, into: dx.ptr + t * B * I)
            }
            layer.finishBackward(x.ptr, ws, dx: nil)
            for p in layer.parameters where p.trainable { GradientCheck.check(p, loss: loss) }
            GradientCheck.check(name: "\(kind).x", values: x.ptr, grads: dx.ptr, count: x.count, loss: loss)
        }
    }

    /// Two windows with carried state equal one long window.
    func testStateCarriesAcrossWindows() {
        var rng = SeededGenerator(seed: 4)
        let T = 6, B = 2, I = 3, H = 4
        let layer = RecurrentLayer<Double>(kind: .lstm, inputSize: I, hiddenSize: H, name: "l", rng: &rng)
        let x = Tensor.random([T, B, I], &rng)
        let whole = RecurrentWorkspace(layer: layer, steps: T, batch: B)
        layer.forward(x.ptr, whole)
        let half = RecurrentWorkspace(layer: layer, steps: T / 2, batch: B)
        layer.forward(x.ptr, half)
        half.carryState()
        layer.forward(x.ptr + (T / 2) * B * I, half)
        for i in 0..<((T / 2) * B * H) {
            XCTAssertEqual(half.outputs[i], whole.outputs[(T / 2) * B * H + i], accuracy: 1e-12)
        }
    }

    /// Graves's clip of the pre-activation derivatives bounds every dPre.
    func testPreactivationGradientClip() {
        var rng = SeededGenerator(seed: 5)
        let layer = RecurrentLayer<Double>(kind: .lstm, inputSize: 2, hiddenSize: 3, name: "l", rng: &rng)
        layer.preactivationGradientClip = 0.01
        let ws = RecurrentWorkspace(layer: layer, steps: 3, batch: 2)
        let x = Tensor.random([3, 2, 2], &rng)
        layer.forward(x.ptr, ws)
        let dh = Tensor.random([3, 2, 3], &rng, scale: 100)
        layer.backward(x.ptr, ws, dh: dh.ptr, dx: nil)
        XCTAssertLessThanOrEqual(ws.dPre.array.map(abs).max()!, 0.01)
    }
}
