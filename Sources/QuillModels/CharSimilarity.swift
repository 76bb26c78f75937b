import Foundation
import QuillData
import QuillNN
import QuillNumerics

/// Model similarity (note 003, after Karpathy, Johnson and Fei-Fei 2016, Fig. 5: "t-SNE embedding of character
/// probabilities"): each trained model becomes one point, the vector of its predicted next-character distributions
/// over a shared held-out text, and t-SNE lays the models out so that models that predict alike sit together.
/// `states` maps one model's hidden states over a text instead.
public enum CharSimilarity {
    /// A model of the figure: the network, its vocabulary, and the name it is drawn with.
    public struct Model {
        public var name: String
        public var model: CharModel<Float>
        public var alphabet: Alphabet
        public init(name: String, model: CharModel<Float>, alphabet: Alphabet) {
            self.name = name; self.model = model; self.alphabet = alphabet
        }
    }

    /// One point of the map: what it stands for, its category (cell type, or the next character's class), where it is.
    public struct MapPoint: Codable, Equatable, Sendable {
        public var label: String
        public var category: String
        public var x: Double
        public var y: Double
    }

    /// A finished map and the t-SNE fit.
    public struct Map: Codable, Equatable, Sendable {
        public var points: [MapPoint]
        /// KL(P‖Q) of the map, nats.
        public var divergence: Double
        public var perplexity: Double
        /// Characters of the text each point was computed from.
        public var characters: Int
    }

    /// p(next character | text so far) at every position of `text` under `model`: one row of V probabilities (the
    /// model's own vocabulary order) per character, the softmax of the output layer's logits, computed in Double.
    /// - Throws: `CharModelError` when the text is empty or has characters the vocabulary lacks (named).
    public static func probabilities(_ model: CharModel<Float>, alphabet: Alphabet, text: String) throws -> [[Double]] {
        let tokens = try CharInspection.encode(text, alphabet: alphabet, what: "the text")
        var rows = [[Double]](repeating: [], count: tokens.count)
        CharInspection.trace(model, rows: [tokens], visit: { _, _ in }, logits: { t, _, z in
            var m = -Double.infinity
            for v in z { m = max(m, Double(v)) }
            var e = z.map { Foundation.exp(Double($0) - m) }
            let s = e.reduce(0, +)
            for k in e.indices { e[k] /= s }
            rows[t] = e
        })
        return rows
    }

    /// The models' next-character distributions over `text`, each as one vector: for every position, the
    /// probability of every symbol of the union of the models' vocabularies (0 for a symbol a model lacks), so models
    /// with different vocabularies compare symbol by symbol.
    /// - Throws: `CharModelError` when the text has characters some model lacks (the model and characters named).
    public static func probabilityVectors(_ models: [Model], text: String) throws -> [[Double]] {
        var union = [String]()
        var index = [String: Int]()
        for m in models {
            for s in m.alphabet.symbols where index[s] == nil { index[s] = union.count; union.append(s) }
        }
        return try models.map { m in
            let unknown = m.alphabet.unknownCharacters(in: text)
            guard unknown.isEmpty else { throw CharModelError.unknownCharacters("the text (for model \(m.name))", unknown) }
            let rows = try probabilities(m.model, alphabet: m.alphabet, text: text)
            // Invariant: every symbol of every model is in `index` (built from them above).
            let slots = m.alphabet.symbols.map { index[$0]! }
            var out = [Double](repeating: 0, count: rows.count * union.count)
            for (t, row) in rows.enumerated() {
                for (k, p) in row.enumerated() { out[t * union.count + slots[k]] = p }
            }
            return out
        }
    }

    /// Lays out `models` by their predictions over `text` (one point each, coloured by cell type).
    /// - Throws: `CharModelError` for a text some model can't read; `TSNE.Failure` for fewer than 3 models or a
    ///   perplexity at or above their number.
    public static func modelMap(_ models: [Model], text: String, options: TSNE.Options) throws -> Map {
        let vectors = try probabilityVectors(models, text: text)
        let e = try TSNE.embed(vectors, options: options)
        let points = zip(models, e.points).map { m, p in
            MapPoint(label: m.name, category: cellName(m.model.config), x: p.x, y: p.y)
        }
        return Map(points: points, divergence: e.divergence, perplexity: options.perplexity,
                   characters: text.unicodeScalars.count)
    }

    /// The model's kind as the figure's legend names it ("lstm", "gru", "rnn", "rnn-relu", "mrnn", "phased-lstm").
    static func cellName(_ config: CharModelConfig) -> String { config.cell.rawValue }

    /// The class of a character for the states map's colours.
    public static func characterClass(_ c: Character) -> String {
        if c == "\n" { return "newline" }
        if c == " " { return "space" }
        if c.isLetter { return c.isUppercase ? "upper-case letter" : "lower-case letter" }
        if c.isNumber { return "digit" }
        if c.isPunctuation { return "punctuation" }
        return "other"
    }

    /// Lays out one model's hidden states h_t of `layer` (0-based) over `text`, one point per character, coloured by
    /// the class of the character that follows it (the one the model is about to predict); the last character, with
    /// none after it, is left out.
    /// - Throws: `CharModelError` for an unknown layer or a text the model can't read; `TSNE.Failure` for a text
    ///   under 4 characters or a perplexity too large for it.
    public static func stateMap(_ model: CharModel<Float>, alphabet: Alphabet, text: String, layer: Int,
                                options: TSNE.Options) throws -> Map {
        try CharInspection.requireRecurrent(model, "the state map")
        guard (0..<model.config.layers).contains(layer) else {
            throw CharModelError.invalidOption("--layer \(layer + 1) doesn't exist: the model has \(model.config.layers) layer\(model.config.layers == 1 ? "" : "s") (1…\(model.config.layers))")
        }
        let tokens = try CharInspection.encode(text, alphabet: alphabet, what: "the text")
        let chars = Array(text.unicodeScalars.map(Character.init))
        var states = [[Double]](repeating: [], count: tokens.count)
        CharInspection.trace(model, rows: [tokens], visit: { t, step in
            if step.layer == layer { states[t] = step.h(0).map(Double.init) }
        })
        let kept = Array(states.dropLast())
        let e = try TSNE.embed(kept, options: options)
        let points = e.points.enumerated().map { t, p in
            MapPoint(label: String(chars[t + 1]), category: characterClass(chars[t + 1]), x: p.x, y: p.y)
        }
        return Map(points: points, divergence: e.divergence, perplexity: options.perplexity, characters: chars.count)
    }
}
