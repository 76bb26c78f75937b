import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// A layer whose input is 3 wide (a pen offset) runs its input projection with the bias and its W_x gradient as thin
/// products (`thinMatmul`) over a whole sequence in Float; the same layer in Double (BLAS products) is the reference.
final class ThinInputLayerTests: XCTestCase {
    func testThinInputProjectionAndGradientMatchDouble() throws {
        for kind in [CellKind.lstm, .gru, .rnn, .mrnn] {
            let (T, B, I, H) = (6, 70, 3, 9)
            var rng = SeededGenerator(seed: 5)
            let f = RecurrentLayer<Float>(kind: kind, inputSize: I, hiddenSize: H, name: "l", rng: &rng)
            let d = RecurrentLayer<Double>(kind: kind, inputSize: I, hiddenSize: H, name: "l", rng: &rng)
            for (pf, pd) in zip(f.parameters, d.parameters) {
                for i in 0..<pf.count {
                    pf.value[i] = Float(rng.uniform() - 0.5)
                    pd.value[i] = Double(pf.value[i])
                }
            }
            let x = (0..<(T * B * I)).map { _ in Float(rng.normal()) }, dh = (0..<(T * B * H)).map { _ in Float(rng.normal()) }
            let wsF = RecurrentWorkspace(layer: f, steps: T, batch: B), wsD = RecurrentWorkspace(layer: d, steps: T, batch: B)
            f.forward(x, wsF)
            d.forward(x.map(Double.init), wsD)
            f.parameters.zeroGradients()
            d.parameters.zeroGradients()
            f.backward(x, wsF, dh: dh, dx: nil)
            d.backward(x.map(Double.init), wsD, dh: dh.map(Double.init), dx: nil)
            let hF = Array(UnsafeBufferPointer(start: wsF.outputs, count: T * B * H))
            let hD = Array(UnsafeBufferPointer(start: wsD.outputs, count: T * B * H))
            XCTAssertLessThanOrEqual(zip(hF, hD).map { abs(Double($0) - $1) }.max()!, 1e-5, "\(kind) h")
            for (pf, pd) in zip(f.parameters, d.parameters) {
                let scale = max(pd.grad.array.map(abs).max() ?? 0, 1)
                let worst = zip(pf.grad.array, pd.grad.array).map { abs(Double($0) - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(kind) \(pf.name) gradient")
            }
        }
    }
}
