import QuillNumerics

/// The largest |weight| a checkpoint may hold. Trained Quill models stay below 2 (the bundled ones: 1.65); a weight
/// beyond 1e5 saturates every gate and overflows the mixture's exp(σ̂) to infinity, so it can only come from a corrupt
/// file or a diverged run. (Optimiser state, such as Adam's second moment, is not bounded here.)
public let maxWeightMagnitude: Float = 1e5

extension SafeTensors.File {
    /// Copies the tensors named like `params` (after `prefix`) into them, checking presence, shape, finiteness,
    /// `maxWeightMagnitude` and each parameter's `valueBounds`. Throws `CheckpointError.corrupt` naming `path` and the tensor.
    func restore(_ params: [Parameter<Float>], path: String, prefix: String = "") throws {
        for p in params {
            guard let e = tensors[prefix + p.name] else {
                throw CheckpointError.corrupt(path, "tensor '\(prefix + p.name)' is missing")
            }
            guard e.shape == p.shape else {
                throw CheckpointError.corrupt(path, "tensor '\(prefix + p.name)' has shape \(e.shape), expected \(p.shape)")
            }
            for (i, v) in e.values.enumerated() {
                guard v.isFinite else { throw CheckpointError.corrupt(path, "tensor '\(prefix + p.name)' holds NaN or Inf") }
                guard abs(v) <= maxWeightMagnitude else {
                    throw CheckpointError.corrupt(path, "tensor '\(prefix + p.name)' holds \(v), beyond the plausible "
                        + "|w| ≤ 1e5 of a trained model (a damaged file or a diverged run)")
                }
                if !p.allows(v), let b = p.valueBounds {
                    throw CheckpointError.corrupt(path, "\(prefix + p.name) holds values outside \(b.lowerBound)…\(b.upperBound)")
                }
                p.value[i] = v
            }
        }
    }
}

/// A model that a checkpoint rebuilds from its configuration alone.
protocol CheckpointedModel: AnyObject {
    associatedtype Config
    init(config: Config, rng: inout SeededGenerator)
    var parameters: [Parameter<Float>] { get }
}

extension CharModel: CheckpointedModel where T == Float {}
extension HandwritingModel: CheckpointedModel where T == Float {}

extension SafeTensors.File {
    /// Builds the model `config` describes and copies its weights from this file (`restore`), once the file's
    /// tensors have the shapes the config implies and the model fits the memory budget (`memory`). Throws
    /// `CheckpointError` or `MemoryBudgetError`.
    func model<M: CheckpointedModel>(_ config: M.Config, shapes: [ParameterShape], memory: MemoryEstimate,
                                     budget: MemoryBudget?, path: String) throws -> M {
        try ParameterShape.verify(shapes, in: self, path: path)
        try (budget ?? MemoryBudget.current()).check(memory)
        var rng = SeededGenerator(seed: 0)
        let model = M(config: config, rng: &rng)
        try restore(model.parameters, path: path)
        return model
    }
}
