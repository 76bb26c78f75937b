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
        let model: CharModel<Float> = try file.model(config, shapes: config.parameterShapes,
                                                     memory: MemoryEstimate.charModel(config), budget: budget, path: path)
        return Loaded(model: model, vocabulary: vocab, file: file)
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
