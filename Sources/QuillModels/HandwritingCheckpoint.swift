import Foundation
import QuillData
import QuillNumerics

/// Handwriting-model checkpoints in safetensors form.
///
/// Tensors: per layer n `lstm.n.wx` (input width, 4H), `lstm.n.wh` (H, 4H), `lstm.n.b` (4H), gates (i, f, g, o);
/// synthesis adds `window.w` (H, 3K) and `window.b` (3K) with columns (α̂, β̂, κ̂); then `output.w` (N·H, 1 + 6M)
/// and `output.b`, columns (ê, π̂, μ̂₁, μ̂₂, σ̂₁, σ̂₂, ρ̂) in blocks of M. Layer 1's input is (dx, dy, eos) and, for
/// synthesis, the window vector; layer n > 1's input is (dx, dy, eos, hⁿ⁻¹, window).
/// Metadata: `quill.kind` (`handwriting-prediction` or `handwriting-synthesis`), `quill.format`, `quill.config`
/// (HandwritingConfig JSON), `quill.alphabet` (JSON array of symbols, index order; index 0 is the unknown symbol),
/// `quill.stats` (the offset normalisation: mean and std of dx and dy), and `quill.text-policy` (TextPolicy JSON)
/// when the alphabet's text policy is not `TextPolicy.substituting` (absent, as in every checkpoint written before
/// it existed, it is `substituting`).
public enum HandwritingCheckpoint {
    public static let formatVersion = "1"

    public static func kindName(_ k: HandwritingKind) -> String { "handwriting-\(k.rawValue)" }

    /// Everything needed to use a trained handwriting model.
    public struct Loaded {
        public typealias Stats = OffsetStatistics
        public let model: HandwritingModel<Float>
        /// The alphabet (index 0 the unknown symbol) with the model's text policy.
        public let alphabet: Alphabet
        public let stats: OffsetStatistics
        public let file: SafeTensors.File
    }

    public static func save(_ model: HandwritingModel<Float>, alphabet: Alphabet, stats: OffsetStatistics,
                            to path: String, metadata extra: [String: String] = [:],
                            extraTensors: [(String, SafeTensors.Entry)] = []) throws {
        let enc = JSONEncoder.sorted
        var meta: [String: String] = [
            "quill.kind": kindName(model.config.kind), "quill.format": formatVersion,
            "quill.config": String(decoding: try enc.encode(model.config), as: UTF8.self),
            "quill.alphabet": String(decoding: try JSONSerialization.data(withJSONObject: alphabet.symbols), as: UTF8.self),
            "quill.stats": String(decoding: try enc.encode(stats), as: UTF8.self),
        ]
        meta[TextPolicyMetadata.key] = try TextPolicyMetadata.value(alphabet.textPolicy, default: .substituting)
        meta.merge(extra) { _, b in b }
        let weights = model.parameters.map { ($0.name, SafeTensors.Entry(shape: $0.shape, values: $0.value.array)) }
        try SafeTensors.write(weights + extraTensors, metadata: meta, to: path)
    }

    /// Loads a handwriting model; `expecting` names the kind the command needs.
    /// The tensors' shapes are compared with those the config implies, and the memory the model needs with the
    /// process's limits (`MemoryBudget`), before the model is built. Throws `CheckpointError` or `MemoryBudgetError`.
    public static func load(_ path: String, expecting kind: HandwritingKind? = nil, budget: MemoryBudget? = nil) throws -> Loaded {
        let file = try SafeTensors.read(path)
        guard let k = file.metadata["quill.kind"] else {
            throw CheckpointError.corrupt(path, "no quill.kind metadata: not a Quill checkpoint")
        }
        if let kind, k != kindName(kind) { throw CheckpointError.wrongKind(path, expected: kindName(kind), found: k) }
        guard k.hasPrefix("handwriting-") else {
            throw CheckpointError.wrongKind(path, expected: kind.map(kindName) ?? "handwriting", found: k)
        }
        guard [HandwritingKind.prediction, .synthesis].map(kindName).contains(k) else {
            throw CheckpointError.corrupt(path, "unknown model kind '\(k)' (quill.kind)")
        }
        guard let cj = file.metadata["quill.config"],
              let config = try? JSONDecoder().decode(HandwritingConfig.self, from: Data(cj.utf8)) else {
            throw CheckpointError.corrupt(path, "missing or unreadable quill.config")
        }
        if let why = config.validate() { throw CheckpointError.corrupt(path, "bad config: \(why)") }
        guard kindName(config.kind) == k else {
            throw CheckpointError.corrupt(path, "quill.kind says \(k) but quill.config describes a \(config.kind.rawValue) network")
        }
        let policy = try TextPolicyMetadata.read(file, path: path, default: .substituting)
        guard let aj = file.metadata["quill.alphabet"],
              let symbols = (try? JSONSerialization.jsonObject(with: Data(aj.utf8))) as? [String],
              config.kind == .prediction || (symbols.count == config.alphabetSize && symbols.count > 0) else {
            throw CheckpointError.corrupt(path, "missing alphabet, or its size differs from the config's")
        }
        let alphabet: Alphabet
        do {
            alphabet = try Alphabet(storedSymbols: symbols, unknownSymbol: true, textPolicy: policy)
        } catch let e as AlphabetError {
            throw CheckpointError.corrupt(path, "the alphabet (quill.alphabet) \(e)")
        }
        if let why = policy.problem(with: alphabet) { throw CheckpointError.corrupt(path, "quill.text-policy \(why)") }
        guard let sj = file.metadata["quill.stats"],
              let stats = try? JSONDecoder().decode(OffsetStatistics.self, from: Data(sj.utf8)) else {
            throw CheckpointError.corrupt(path, "missing normalisation statistics (quill.stats)")
        }
        if let why = stats.problem() {
            throw CheckpointError.corrupt(path, "the normalisation statistics (quill.stats) \(why)")
        }
        let model: HandwritingModel<Float> = try file.model(config, shapes: config.parameterShapes,
                                                            memory: MemoryEstimate.handwritingModel(config),
                                                            budget: budget, path: path)
        return Loaded(model: model, alphabet: alphabet, stats: stats, file: file)
    }
}
