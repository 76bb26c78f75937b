import QuillNN
import QuillNumerics
import QuillOptim
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Five Adam steps of whole models against PyTorch (`Tests/Goldens/generate.py`): the loss before each step and
/// every weight after it, in Double to 1e-9 relative and in Float to 1e-4 relative (`GoldenTolerance`). This covers
/// what the layer goldens do not: how the models wire their layers, the loss normalisation, global-norm clipping and
/// Adam's bias correction and ε.
final class GoldenTrainingTests: XCTestCase {
    /// The tolerance for weights after `steps` Adam steps of rate `lr`. Double: the default. Float: 1e-4 relative,
    /// and weights within k·lr of zero compared absolutely to 1e-4 of k·lr, the furthest k steps can move a weight:
    /// Float's error in a weight is its rounding noise in Adam's updates, whose size is lr whatever the weight's.
    /// (Relative to the weight alone, one that passes near zero would be held to 1e-10 of a step.)
    func weightTolerance<T: QuillScalar>(_: T.Type, steps k: Int, lr: Double) -> GoldenTolerance {
        T.self == Double.self ? GoldenTolerance.of(T.self)
            : GoldenTolerance(relative: 1e-4, smallBelow: Double(k) * lr, absolute: 1e-4 * Double(k) * lr)
    }

    /// A one-hot char model (V = 5, 2 LSTM layers × 4), 5 windows of 2 × 3 characters with the state carried
    /// between windows, clipped to a global norm of 0.35 (binding on some steps), Adam at lr 1e-2.
    func checkCharModel<T: QuillScalar>(_: T.Type) throws {
        let g = try GoldenFile("golden-char-adam")
        let inputs = g.indices("inputs"), targets = g.indices("targets")
        guard let shape = g.tensors["inputs"]?.shape, shape.count == 3 else { return XCTFail("inputs: no shape") }
        let (steps, T_, B) = (shape[0], shape[1], shape[2])
        let wx0 = g.tensors["rnn.0.wx"]?.shape ?? [0, 0], wh0 = g.tensors["rnn.0.wh"]?.shape ?? [0, 0]
        var rng = SeededGenerator(seed: 3)
        let model = CharModel<T>(config: CharModelConfig(cell: .lstm, layers: 2, hidden: wh0[0], embedding: 0,
                                                         vocabularySize: wx0[0]), rng: &rng)
        let trainable = model.parameters.filter(\.trainable)
        for p in trainable { g.load(p) }
        let ws = model.makeWorkspace(steps: T_, batch: B)
        let adam = OptimizerConfig(kind: .adam, learningRate: g.scalar("lr")).make(T.self)
        var losses: [Double] = [], norms: [Double] = []
        for s in 0..<steps {
            let window = (s * T_ * B)..<((s + 1) * T_ * B)
            trainable.zeroGradients()
            let loss = Array(inputs[window]).withUnsafeBufferPointer { x in
                Array(targets[window]).withUnsafeBufferPointer { y in
                    // Invariant: both windows hold T·B > 0 tokens.
                    model.trainStep(inputs: x.baseAddress!, targets: y.baseAddress!, ws, dropout: 0, rng: &rng)
                }
            }
            losses.append(loss / Double(T_ * B))
            norms.append(GradientClipping.clipByGlobalNorm(trainable, maxNorm: g.scalar("clip")))
            adam.update(trainable)
            ws.carryState()
            let tolerance = weightTolerance(T.self, steps: s + 1, lr: g.scalar("lr"))
            for p in trainable { g.compare("step\(s + 1).\(p.name)", p.value, tolerance: tolerance) }
        }
        g.compare("loss", losses, as: T.self)
        g.compare("norm", norms, as: T.self)
    }

    func testCharModelAdamStepsMatchPyTorchInDouble() throws { try checkCharModel(Double.self) }
    func testCharModelAdamStepsMatchPyTorchInFloat() throws { try checkCharModel(Float.self) }

    /// A synthesis network (2 LSTM layers × 3, window K = 2 over an alphabet of 4, M = 2), one batch of 2 × 5 steps
    /// with a masked step, 5 Adam steps at lr 1e-2 from zero state each time; Graves's clipping off.
    func checkSynthesis<T: QuillScalar>(_: T.Type) throws {
        let g = try GoldenFile("golden-synthesis-adam")
        let inputs: Tensor<T> = g.tensor("inputs")
        let steps = inputs.shape[0], B = inputs.shape[1]
        let text = g.indices("text"), lengths = g.indices("lengths")
        let U = text.count / B
        let wh0 = g.tensors["lstm.0.wh"]?.shape ?? [0, 0], wx0 = g.tensors["lstm.0.wx"]?.shape ?? [0, 0]
        let H = wh0[0]
        let config = HandwritingConfig(kind: .synthesis, layers: 2, hidden: H,
                                       mixture: MixtureDensity(components: Int(g.scalar("components"))),
                                       windowComponents: Int(g.scalar("window_components")),
                                       kappaScale: g.scalar("kappa_scale"), alphabetSize: wx0[0] - 3)
        var rng = SeededGenerator(seed: 4)
        let model = HandwritingModel<T>(config: config, rng: &rng)
        let parameters = model.parameters
        for p in parameters { g.load(p) }
        let ws = model.makeWorkspace(steps: steps, batch: B, maxTextLength: U)
        let targets: Tensor<T> = g.tensor("targets"), mask: Tensor<T> = g.tensor("mask")
        ws.inputs.copy(from: inputs)
        ws.targets.copy(from: targets)
        ws.mask.copy(from: mask)
        ws.sequenceCount = B
        // Invariant: a synthesis model's workspace has a window workspace.
        for b in 0..<B { ws.window!.setText(row: b, Array(text[(b * U)..<(b * U + Int(lengths[b]))])) }
        let adam = OptimizerConfig(kind: .adam, learningRate: g.scalar("lr")).make(T.self)
        var losses: [Double] = []
        for s in 0..<g.values("loss").count {
            ws.resetState()
            parameters.zeroGradients()
            losses.append(model.trainStep(ws, outputClip: nil).total)
            adam.update(parameters)
            let tolerance = weightTolerance(T.self, steps: s + 1, lr: g.scalar("lr"))
            for p in parameters { g.compare("step\(s + 1).\(p.name)", p.value, tolerance: tolerance) }
        }
        g.compare("loss", losses, as: T.self)
    }

    func testSynthesisAdamStepsMatchPyTorchInDouble() throws { try checkSynthesis(Double.self) }
    func testSynthesisAdamStepsMatchPyTorchInFloat() throws { try checkSynthesis(Float.self) }
}
