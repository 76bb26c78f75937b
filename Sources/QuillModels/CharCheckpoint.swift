import Foundation
import QuillNumerics

/// Char-model checkpoints in safetensors form.
///
/// Tensors (float32, row-major, for `x·W` products): `embedding.table` (V, E), per layer n
/// `rnn.n.wx` (inputSize, gates·H), `rnn.n.wh` (H, gates·H), `rnn.n.b` (gates·H) and for GRU `rnn.n.bh`,
/// then `output.w` (stack output, V) and `output.b` (V). Gate order is LSTM (i, f, g, o), GRU (r, z, n).
/// Metadata: `quill.kind` = "char-lm", `quill.format` = "1", `quill.config` (CharModelConfig JSON),
/// `quill.vocabulary` (JSON array of one-character strings), and free-form JSON under other `quill.*` keys.
public enum CharCheckpoint {
    public static let kind = "char-lm"
    public static let formatVersion = "1"

    /// Metadata every char checkpoint carries.
    static func baseMetadata(config: CharModelConfig, vocabulary: CharVocabulary) throws -> [String: String] {
        let cfg = String(decoding: try JSONEncoder.sorted.encode(config), as: UTF8.self)
        return ["quill.kind": kind, "quill.format": formatVersion, "quill.config": cfg,
                "quill.vocabulary": vocabulary.json]
    }

    /// Weights as safetensors entries.
    static func weightEntries(_ model: CharModel<Float>) -> [(String, SafeTensors.Entry)] {
        model.parameters.map { ($0.name, SafeTensors.Entry(shape: $0.shape, values: $0.value.array)) }
    }

    /// Saves weights, config and vocabulary, plus extra metadata and tensors, atomically.
    public static func save(_ model: CharModel<Float>, vocabulary: CharVocabulary, to path: String,
                            metadata extra: [String: String] = [:],
                            extraTensors: [(String, SafeTensors.Entry)] = []) throws {
        var meta = try baseMetadata(config: model.config, vocabulary: vocabulary)
        meta.merge(extra) { _, b in b }
        try SafeTensors.write(weightEntries(model) + extraTensors, metadata: meta, to: path)
    }

    /// A loaded char checkpoint.
    public struct Loaded {
        public let model: CharModel<Float>
        public let vocabulary: CharVocabulary
        public let file: SafeTensors.File
    }

    /// Rebuilds the model from a checkpoint alone. The tensors' shapes are compared with those the config implies,
    /// and the memory the model needs with the process's limits (`MemoryBudget`), before the model is built.
    /// Throws `CheckpointError` or `MemoryBudgetError`.
    public static func load(_ path: String, budget: MemoryBudget? = nil) throws -> Loaded {
        let file = try SafeTensors.read(path)
        guard let k = file.metadata["quill.kind"] else {
            throw CheckpointError.corrupt(path, "no quill.kind metadata: not a Quill checkpoint")
        }
        guard k == kind else { throw CheckpointError.wrongKind(path, expected: kind, found: k) }
        guard let cfgJSON = file.metadata["quill.config"],
              let config = try? JSONDecoder().decode(CharModelConfig.self, from: Data(cfgJSON.utf8)) else {
            throw CheckpointError.corrupt(path, "missing or unreadable quill.config")
        }
        if let why = config.validate() { throw CheckpointError.corrupt(path, "bad config: \(why)") }
        guard let vj = file.metadata["quill.vocabulary"], let vocab = CharVocabulary(json: vj),
              vocab.count == config.vocabularySize else {
            throw CheckpointError.corrupt(path, "missing vocabulary, or its size differs from the config's")
        }
        try ParameterShape.verify(config.parameterShapes, in: file, path: path)
        try (budget ?? MemoryBudget.current()).check(MemoryEstimate.charModel(config))
        var rng = SeededGenerator(seed: 0)
        let model = CharModel<Float>(config: config, rng: &rng)
        try restore(model.parameters, from: file, path: path)
        return Loaded(model: model, vocabulary: vocab, file: file)
    }

    /// The largest |weight| a checkpoint may hold. Trained Quill models stay below 2 (the bundled ones: 1.65); a
    /// weight beyond 1e5 saturates every gate and overflows the mixture's exp(σ̂) to infinity, so it can only come
    /// from a corrupt file or a diverged run. (Optimiser state, such as Adam's second moment, is not bounded here.)
    public static let maxWeightMagnitude: Float = 1e5

    /// Copies named tensors into parameters, checking presence, shape, finiteness and `maxWeightMagnitude`
    /// (char and handwriting checkpoints alike).
    static func restore(_ params: [Parameter<Float>], from file: SafeTensors.File, path: String,
                        prefix: String = "") throws {
        for p in params {
            guard let e = file.tensors[prefix + p.name] else {
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
                p.value[i] = v
            }
        }
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, so saved JSON is stable.
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
