import QuillModels
import QuillNN
import QuillNumerics
import XCTest

/// Gradient flow through time: the norms of ∂L_T/∂hˡ_t equal central finite differences of the loss with respect to
/// hˡ_t, in Double on tiny networks, with the forward pass run step by step as a plain reference.
final class GradientFlowTests: XCTestCase {
    /// L_T (mean cross-entropy of the prediction after the last step) with hˡ_t of batch row `b` moved by `eps` along
    /// unit `j`: the layers' own steps, one at a time, the perturbation added right after step t of layer l, so the
    /// layer above (at t) and the layer itself (at t + 1) both read the moved state.
    func loss(_ model: CharModel<Double>, rows: [[Int32]], perturb: (layer: Int, t: Int, b: Int, j: Int, eps: Double)?) -> Double {
        let S = rows[0].count - 1, B = rows.count, E = model.embedding.dimension, V = model.config.vocabularySize
        let stack = model.stack!, H = stack.hiddenSize, N = stack.layers.count
        var tokens = [Int32](repeating: 0, count: S * B)
        for t in 0..<S { for b in 0..<B { tokens[t * B + b] = rows[b][t] } }
        let x = Tensor<Double>([S * B, E])
        model.embedding.forward(tokens, count: S * B, into: x.ptr)
        let wss = stack.layers.map { RecurrentWorkspace(layer: $0, steps: S, batch: B) }
        for (n, l) in stack.layers.enumerated() { wss[n].resetState(); l.beginForward(wss[n], steps: S) }
        for t in 0..<S {
            for n in 0..<N {
                let layer = stack.layers[n], W = layer.inputSize
                let input = Tensor<Double>([B, W])
                for b in 0..<B {
                    if n == 0 {
                        for k in 0..<E { input[b * W + k] = x[(t * B + b) * E + k] }
                    } else {
                        let off = stack.skipConnections ? E : 0
                        if stack.skipConnections { for k in 0..<E { input[b * W + k] = x[(t * B + b) * E + k] } }
                        for k in 0..<H { input[b * W + off + k] = wss[n - 1].hStep(t + 1)[b * H + k] }
                    }
                }
                layer.forwardStep(t, input.ptr, wss[n])
                if let p = perturb, p.layer == n, p.t == t { wss[n].hStep(t + 1)[p.b * H + p.j] += p.eps }
            }
        }
        let width = stack.outputSize
        let out = Tensor<Double>([B, width])
        for b in 0..<B {
            for n in 0..<N where stack.skipConnections || n == N - 1 {
                let off = stack.skipConnections ? n * H : 0
                for k in 0..<H { out[b * width + off + k] = wss[n].hStep(S)[b * H + k] }
            }
        }
        let logits = Tensor<Double>([B, V])
        model.output.forward(out.ptr, rows: B, into: logits.ptr)
        let targets = rows.map { $0[S] }
        return SoftmaxCrossEntropy.loss(logits: logits.ptr, targets: targets, rows: B, classes: V, dLogits: nil) / Double(B)
    }

    func check(_ cell: CellKind, skip: Bool) {
        var rng = SeededGenerator(seed: 21)
        let config = CharModelConfig(cell: cell, layers: 2, hidden: 3, embedding: 4, skipConnections: skip, vocabularySize: 5,
                                     forgetBias: 0.5)
        let model = CharModel<Double>(config: config, rng: &rng)
        // Biases away from 0: with zero biases, a ReLU layer reading zero states sits exactly on its kink, where a
        // central difference measures neither one-sided derivative.
        for layer in model.stack!.layers {
            for i in 0..<layer.bias.value.count { layer.bias.value[i] = rng.uniform() * 0.4 - 0.2 }
        }
        let rows: [[Int32]] = [[0, 3, 1, 4, 2, 2], [4, 4, 0, 1, 3, 0]]
        let norms = GradientFlow.charModel(model, rows: rows)
        let S = 5, eps = 1e-5
        XCTAssertEqual(norms.count, 2)
        var worst = (error: 0.0, what: "")
        for l in 0..<2 {
            XCTAssertEqual(norms[l].count, S)
            for t in 0..<S {
                var mean = 0.0
                for b in 0..<2 {
                    var s = 0.0
                    for j in 0..<3 {
                        let g = (loss(model, rows: rows, perturb: (l, t, b, j, eps))
                                 - loss(model, rows: rows, perturb: (l, t, b, j, -eps))) / (2 * eps)
                        s += g * g
                    }
                    mean += s.squareRoot() / 2
                }
                // Below 10⁻⁴ the central difference itself is only good to about 10⁻¹¹: compare absolutely there.
                let error = abs(norms[l][t] - mean) / max(mean, 1e-4)
                if error > worst.error { worst = (error, "layer \(l + 1), t = \(t + 1): \(norms[l][t]) vs \(mean)") }
            }
        }
        XCTAssertLessThan(worst.error, 1e-6, "\(cell.rawValue)\(skip ? " with skips" : ""): worst at \(worst.what)")
        // The loss at T depends on the top layer's last state directly: its norm is far from 0.
        XCTAssertGreaterThan(norms[1][S - 1], 1e-3)
    }

    func testNormsMatchFiniteDifferences() {
        for cell in [CellKind.lstm, .gru, .rnn, .rnnRelu, .mrnn, .phasedLSTM] { check(cell, skip: false) }
        check(.lstm, skip: true)
        check(.gru, skip: true)
    }

    func testRowsFromTextAreWindowsOfIt() throws {
        var rng = SeededGenerator(seed: 2)
        let text: [Int32] = (0..<40).map { Int32($0 % 7) }
        let rows = try GradientFlow.rows(text: text, vocabularySize: 7, steps: 9, batch: 5, rng: &rng)
        XCTAssertEqual(rows.count, 5)
        for r in rows {
            XCTAssertEqual(r.count, 10)
            // Consecutive characters of the text.
            for k in 1..<r.count { XCTAssertEqual(r[k], (r[k - 1] + 1) % 7) }
        }
        XCTAssertThrowsError(try GradientFlow.rows(text: Array(text.prefix(9)), vocabularySize: 7, steps: 9, batch: 1, rng: &rng)) {
            XCTAssertTrue("\($0)".contains("needs at least 10"), "\($0)")
        }
    }
}
