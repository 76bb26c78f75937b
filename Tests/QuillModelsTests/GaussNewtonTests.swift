import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The Gauss–Newton products of Hessian-free optimisation (issue 15 item 2): the R-pass against finite differences
/// in Double, and G symmetric and positive semi-definite.
final class GaussNewtonTests: XCTestCase {
    struct Setup {
        let model: CharModel<Double>
        let ws: CharWorkspace<Double>
        let inputs: [Int32]
        let state: CharState<Double>
    }

    /// A 2-layer model with skips (or not), a carried state from a first window, and a second window to differentiate.
    func setup(_ cell: CellKind, skips: Bool, embedding: Int) -> Setup {
        var rng = SeededGenerator(seed: 11)
        let config = CharModelConfig(cell: cell, layers: 2, hidden: 4, embedding: embedding, skipConnections: skips,
                                     vocabularySize: 5, factors: cell == .mrnn ? 3 : nil)
        let model = CharModel<Double>(config: config, rng: &rng)
        // Non-zero biases, so that no ReLU sits on its kink.
        for p in model.parameters where p.trainable { for i in 0..<p.count { p.value[i] += (rng.uniform() - 0.5) * 0.4 } }
        let T = 3, B = 2
        let ws = model.makeWorkspace(steps: T, batch: B)
        var unused = SeededGenerator(seed: 0)
        let first: [Int32] = (0..<(T * B)).map { _ in Int32(rng.next() % 5) }
        model.forward(first, ws, dropout: 0, rng: &unused)
        ws.carryState()
        let inputs: [Int32] = (0..<(T * B)).map { _ in Int32(rng.next() % 5) }
        return Setup(model: model, ws: ws, inputs: inputs, state: ws.state())
    }

    func randomDirection(_ model: CharModel<Double>, seed: UInt64) -> [Tensor<Double>] {
        var rng = SeededGenerator(seed: seed)
        return model.parameters.map { p in
            let t = Tensor<Double>(p.shape)
            if p.trainable { for i in 0..<t.count { t[i] = rng.uniform() - 0.5 } }
            return t
        }
    }

    /// R{z} is the logits' directional derivative: (z(θ + εv) − z(θ − εv)) / 2ε.
    func testRPassMatchesFiniteDifferences() {
        for (cell, skips, embedding) in [(CellKind.rnn, true, 3), (.rnnRelu, false, 0), (.mrnn, true, 3), (.mrnn, false, 0), (.lstm, true, 3), (.lstm, false, 0)] {
            let s = setup(cell, skips: skips, embedding: embedding)
            let v = randomDirection(s.model, seed: 5)
            s.ws.setState(s.state)
            let rz = GaussNewton.product(s.model, inputs: s.inputs, s.ws, direction: v)
            func logits(_ eps: Double) -> [Double] {
                for (p, d) in zip(s.model.parameters, v) where p.trainable { for i in 0..<p.count { p.value[i] += eps * d[i] } }
                defer { for (p, d) in zip(s.model.parameters, v) where p.trainable { for i in 0..<p.count { p.value[i] -= eps * d[i] } } }
                s.ws.setState(s.state)
                var unused = SeededGenerator(seed: 0)
                s.model.forward(s.inputs, s.ws, dropout: 0, rng: &unused)
                return s.ws.logits.array
            }
            let eps = 1e-6
            let plus = logits(eps), minus = logits(-eps)
            for i in 0..<rz.count {
                let fd = (plus[i] - minus[i]) / (2 * eps)
                XCTAssertEqual(rz[i], fd, accuracy: 1e-7 * max(1, abs(fd)), "\(cell) skips \(skips): logit \(i)")
            }
        }
    }

    /// uᵀ G v = vᵀ G u and vᵀ G v ≥ 0, with and without structural damping, which only adds.
    func testProductIsSymmetricAndPositive() {
        for cell in [CellKind.rnn, .mrnn, .lstm] {
            let s = setup(cell, skips: true, embedding: 3)
            let u = randomDirection(s.model, seed: 1), v = randomDirection(s.model, seed: 2)
            func gv(_ d: [Tensor<Double>], damping: Double) -> [[Double]] {
                s.ws.setState(s.state)
                GaussNewton.product(s.model, inputs: s.inputs, s.ws, direction: d, structuralDamping: damping)
                return s.model.parameters.map(\.grad.array)
            }
            func dot(_ a: [Tensor<Double>], _ b: [[Double]]) -> Double {
                zip(zip(a, b), s.model.parameters).reduce(0.0) { acc, x in
                    x.1.trainable ? acc + zip(x.0.0.array, x.0.1).reduce(0.0) { $0 + $1.0 * $1.1 } : acc
                }
            }
            for damping in [0.0, 0.3] {
                let gu = gv(u, damping: damping), gvv = gv(v, damping: damping)
                XCTAssertEqual(dot(u, gvv), dot(v, gu), accuracy: 1e-12, "\(cell) damping \(damping)")
                XCTAssertGreaterThanOrEqual(dot(v, gvv), 0, "\(cell) damping \(damping)")
                XCTAssertGreaterThanOrEqual(dot(u, gu), 0, "\(cell) damping \(damping)")
            }
            // Structural damping adds a positive amount: vᵀ(G + μ J_hᵀJ_h)v > vᵀ G v.
            XCTAssertGreaterThan(dot(v, gv(v, damping: 0.3)), dot(v, gv(v, damping: 0)))
        }
    }
}
