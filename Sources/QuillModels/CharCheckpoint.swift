import Foundation
import QuillData
import QuillNumerics

/// Char-model checkpoints in safetensors form.
///
/// Tensors (float32, row-major, for `x·W` products): `embedding.table` (V, E), per layer n
/// `rnn.n.wx` (inputSize, gates·H), `rnn.n.wh` (H, gates·H), `rnn.n.b` (gates·H) and for GRU `rnn.n.bh`,
/// then `output.w` (stack output, V) and `output.b` (V). Gate order is LSTM (i, f, g, o), GRU (r, z, n). A tcn or
/// nnn model has `conv.*` tensors in place of `rnn.*` (`CausalConvolution`: `.w` (k·I, O), `.b` (O); n-NN
/// `conv.n`, TCN `conv.in`, `conv.n.gate`, `conv.n.skip`, `conv.n.res`; `CharModelConfig.parameterShapes`).
/// Metadata: `quill.kind` = "char-lm", `quill.format` = "1", `quill.config` (CharModelConfig JSON),
/// `quill.vocabulary` (JSON array of one-character strings, index order), `quill.text-policy` (TextPolicy JSON) when
/// the vocabulary's text policy is not `TextPolicy.strict` (absent, as in every checkpoint written before it existed,
/// it is `strict`), and free-form JSON under other `quill.*` keys.
public enum CharCheckpoint {
    public static let kind = "char-lm"
    public static let formatVersion = "1"

    /// Metadata every char checkpoint carries.
    static func baseMetadata(config: CharModelConfig, alphabet: Alphabet) throws -> [String: String] {
        let cfg = String(decoding: try JSONEncoder.sorted.encode(config), as: UTF8.self)
        var meta = ["quill.kind": kind, "quill.format": formatVersion, "quill.config": cfg,
                    "quill.vocabulary": alphabet.symbolsJSON]
        meta[TextPolicyMetadata.key] = try TextPolicyMetadata.value(alphabet.textPolicy, default: .strict)
        return meta
    }

    /// Weights as safetensors entries.
    static func weightEntries(_ model: CharModel<Float>) -> [(String, SafeTensors.Entry)] {
        model.parameters.map { ($0.name, SafeTensors.Entry(shape: $0.shape, values: $0.value.array)) }
    }

    /// Saves weights, config and vocabulary (`alphabet`, one without an unknown symbol), plus extra metadata and
    /// tensors, atomically.
    public static func save(_ model: CharModel<Float>, alphabet: Alphabet, to path: String,
                            metadata extra: [String: String] = [:],
                            extraTensors: [(String, SafeTensors.Entry)] = []) throws {
        var meta = try baseMetadata(config: model.config, alphabet: alphabet)
        meta.merge(extra) { _, b in b }
        try SafeTensors.write(weightEntries(model) + extraTensors, metadata: meta, to: path)
    }

    /// A loaded char checkpoint.
    public struct Loaded {
        public let model: CharModel<Float>
        /// The vocabulary: every index a character of the training text, no unknown symbol.
        public let alphabet: Alphabet
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
        let policy = try TextPolicyMetadata.read(file, path: path, default: .strict)
        guard let vj = file.metadata["quill.vocabulary"],
              let vocab = try? Alphabet(json: vj, unknownSymbol: false, textPolicy: policy),
              vocab.count == config.vocabularySize else {
            throw CheckpointError.corrupt(path, "missing vocabulary, or its size differs from the config's")
        }
        if let why = policy.problem(with: vocab) { throw CheckpointError.corrupt(path, "quill.text-policy \(why)") }
        let model: CharModel<Float> = try file.model(config, shapes: config.parameterShapes,
                                                     memory: MemoryEstimate.charModel(config), budget: budget, path: path)
        return Loaded(model: model, alphabet: vocab, file: file)
    }
}

/// The text policy in a checkpoint's metadata (`quill.text-policy`): written only when it differs from the model
/// family's default, so checkpoints with the default keep the bytes they always had, and read as the default when
/// absent, as in every checkpoint written before the field existed.
enum TextPolicyMetadata {
    static let key = "quill.text-policy"

    /// The metadata value for `policy`, or nil when it is the family's default.
    static func value(_ policy: TextPolicy, default: TextPolicy) throws -> String? {
        policy == `default` ? nil : String(decoding: try JSONEncoder.sorted.encode(policy), as: UTF8.self)
    }

    /// The checkpoint's text policy, `default` when it records none.
    /// - Throws: `CheckpointError.corrupt` when the entry is not a text policy.
    static func read(_ file: SafeTensors.File, path: String, default: TextPolicy) throws -> TextPolicy {
        guard let json = file.metadata[key] else { return `default` }
        guard let policy = try? JSONDecoder().decode(TextPolicy.self, from: Data(json.utf8)) else {
            throw CheckpointError.corrupt(path, "unreadable \(key) (expected {\"substitutes\": true|false, \"unknown\": \"refuse\"|\"unknown-symbol\"})")
        }
        return policy
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
