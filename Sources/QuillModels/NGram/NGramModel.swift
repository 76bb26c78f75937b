import Foundation
import QuillData
import QuillNumerics

/// How an n-gram model gives probability to continuations it has not seen.
public enum NGramSmoothing: String, Codable, CaseIterable, Sendable {
    /// Interpolated modified Kneser–Ney (Chen & Goodman 1998, "An empirical study of smoothing techniques for
    /// language modeling", §3 and eqs. 17–19 of §4.1.6): each order's estimate is interpolated with the next lower
    /// order's, with three discounts per order (for counts 1, 2 and 3+) estimated from that order's count-of-counts;
    /// lower orders count distinct left extensions (continuation counts), the lowest is interpolated with uniform.
    case kneserNey = "kn"
    /// Add-k (Lidstone): (c(h w) + k) / (c(h) + k·V) with h the whole context; an unseen context gives 1/V.
    case addK = "add-k"
}

/// The configuration of an n-gram model, saved in its file.
public struct NGramOptions: Codable, Equatable, Sendable {
    /// n: a character is predicted from the n − 1 before it (1…`maxOrder`).
    public var order: Int
    public var smoothing: NGramSmoothing
    /// Add-k's k, more than 0 and at most 100 (unused by Kneser–Ney).
    public var k: Double
    /// The fraction of the text, at its end, left out of the counts and held out for evaluation: the split of
    /// `quill char train` (`CharTrainOptions.validationStart`), so the figures compare. 0…0.5.
    public var valFraction: Double
    /// The training text's fingerprint (`CharCorpus.fingerprint`), for the record.
    public var dataFingerprint: String

    public static let maxOrder = 64

    public init(order: Int, smoothing: NGramSmoothing = .kneserNey, k: Double = 0.5,
                valFraction: Double = CharTrainOptions.defaults.valFraction, dataFingerprint: String = "") {
        self.order = order; self.smoothing = smoothing; self.k = k; self.valFraction = valFraction
        self.dataFingerprint = dataFingerprint
    }

    /// A message naming the first out-of-range field, or nil.
    public func validate() -> String? {
        if !(1...Self.maxOrder).contains(order) { return "order must be between 1 and \(Self.maxOrder), got \(order)" }
        if !(k.isFinite && k > 0 && k <= 100) { return "k must be more than 0 and at most 100, got \(k)" }
        if !(valFraction.isFinite && valFraction >= 0 && valFraction <= 0.5) {
            return "val-fraction must be between 0 and 0.5, got \(valFraction)"
        }
        return nil
    }
}

/// A character n-gram language model over a char model's vocabulary (`Alphabet`, no unknown symbol), counted from a
/// text's training part and smoothed by `NGramSmoothing`.
///
/// Storage (`NGramTrie`): every n-gram of length 1…n of the training text is a node with one value. For Kneser–Ney
/// the value of a length-n node is its count c(h w) and that of a shorter one its continuation count N₁₊(• h w),
/// the number of distinct characters seen before it; for add-k every value is a count. Each node also keeps, as a
/// context, the sum of its children's values and how many of them are 1, 2 and 3 or more.
///
/// A context shorter than n − 1 (the start of a text) is used as it is: its longest suffix that fits is the top
/// level. Probabilities are computed in Double; for every context they sum to one over the vocabulary.
public final class NGramModel {
    public let options: NGramOptions
    /// The vocabulary: every character of the training file (all of it, held-out part included, as `char train`).
    public let alphabet: Alphabet
    /// discounts[k][j]: Kneser–Ney's discount D_j (j = 1, 2, 3 for counts 1, 2, 3+; index 0 is 0) of level k = 1…n.
    public private(set) var discounts: [[Double]] = []

    var trie: NGramTrie
    /// Per node, as a context: the sum of its children's values, and how many children have value 1, 2 and ≥ 3.
    private var totals: [UInt32] = [], ones: [UInt32] = [], twos: [UInt32] = [], threes: [UInt32] = []

    /// The length of the text the counts came from.
    public internal(set) var trainingCharacters = 0
    /// The number of n-grams (of all lengths 1…n) stored.
    public var ngramCount: Int { trie.count - 1 }
    var V: Int { alphabet.count }

    // MARK: - Training

    /// Counts the n-grams of `tokens` (the training part, every token < `alphabet.count`).
    /// - Throws: `CharModelError.invalidOption` for bad options, or an order above the text's length.
    public init(tokens: [Int32], alphabet: Alphabet, options: NGramOptions) throws {
        if let why = options.validate() { throw CharModelError.invalidOption("--\(why)") }
        guard options.order <= tokens.count else {
            throw CharModelError.invalidOption("--order \(options.order) is above the length of the training text (\(tokens.count) characters); lower --order or use more text")
        }
        self.options = options
        self.alphabet = alphabet
        trainingCharacters = tokens.count
        trie = NGramTrie()
        let n = options.order
        let kn = options.smoothing == .kneserNey
        // prev[k]: the node of the k-gram ending at the previous position; cur[k]: at this one (k = 0: the root).
        var prev = [UInt32](repeating: 0, count: n + 1), cur = prev
        for i in 0..<tokens.count {
            let t = UInt32(tokens[i])
            for k in 1...min(n, i + 1) {
                let (id, added) = trie.insert(prev[k - 1], t)
                cur[k] = id
                if !kn || k == n { trie.values[Int(id)] += 1 }
                // A new k-gram x·g is one more distinct left extension of its suffix g (a (k−1)-gram).
                if kn && added && k >= 2 { trie.values[Int(cur[k - 1])] += 1 }
            }
            swap(&prev, &cur)
        }
        finish()
    }

    /// A model from stored nodes (`NGramFile`): `trie` holds every node and its value.
    init(trie: NGramTrie, alphabet: Alphabet, options: NGramOptions) {
        self.options = options
        self.alphabet = alphabet
        self.trie = trie
        finish()
    }

    /// Sums each context's children and estimates the discounts.
    private func finish() {
        let m = trie.count
        totals = [UInt32](repeating: 0, count: m)
        ones = totals; twos = totals; threes = totals
        // countOfCounts[k][c]: level-k nodes with value c, for c = 1…4.
        var countOfCounts = [[Double]](repeating: [0, 0, 0, 0, 0], count: options.order + 1)
        for id in 1..<m {
            let p = trie.parent(id), v = trie.values[id]
            totals[p] += v
            switch v {
            case 0: break
            case 1: ones[p] += 1
            case 2: twos[p] += 1
            default: threes[p] += 1
            }
            if v >= 1 && v <= 4 { countOfCounts[Int(trie.depths[id])][Int(v)] += 1 }
        }
        discounts = countOfCounts.map(Self.modifiedKneserNeyDiscounts)
    }

    /// D₁, D₂, D₃₊ from the count-of-counts n₁…n₄ of one level (Chen & Goodman 1998, eq. 26):
    /// Y = n₁ / (n₁ + 2 n₂), D_j = j − (j + 1) Y n_{j+1} / n_j. Returned as [0, D₁, D₂, D₃₊].
    ///
    /// Each D_j is kept within [0.1·j, j]: D_j ≤ j keeps every discounted count non-negative (so probabilities sum
    /// to one), and D_j > 0 keeps some mass for unseen characters. A tiny text can lack the counts (n_j = 0) or
    /// give an estimate outside that range; such a discount is clamped, or is j/2 where it is undefined.
    static func modifiedKneserNeyDiscounts(_ n: [Double]) -> [Double] {
        let y = n[1] + 2 * n[2] > 0 ? n[1] / (n[1] + 2 * n[2]) : 0.5
        var d = [0.0]
        for j in 1...3 {
            let raw = n[j] > 0 ? Double(j) - Double(j + 1) * y * n[j + 1] / n[j] : Double(j) / 2
            d.append(min(max(raw.isFinite ? raw : Double(j) / 2, 0.1 * Double(j)), Double(j)))
        }
        return d
    }

    // MARK: - Probabilities

    /// The nodes of the context's suffixes: nodes[j] is that of its last j tokens (j = 0: the root), for j up to
    /// min(n − 1, context length), stopping before the first suffix never seen in training.
    func contextNodes(_ context: ArraySlice<Int32>) -> [UInt32] {
        let longest = min(options.order - 1, context.count)
        var nodes: [UInt32] = [0]
        nodes.reserveCapacity(longest + 1)
        for j in stride(from: 1, through: longest, by: 1) {
            var node: UInt32? = 0
            for t in context.suffix(j) { node = node.flatMap { trie.child($0, UInt32(t)) } }
            guard let found = node else { break }
            nodes.append(found)
        }
        return nodes
    }

    /// P(w | context) from the context's suffix nodes (`contextNodes`); `used` is how many tokens of context the
    /// model read (min(n − 1, context length)), which for add-k decides whether the whole context was seen.
    @inline(__always) func probability(_ w: Int32, nodes: UnsafeBufferPointer<UInt32>, used: Int) -> Double {
        let token = UInt32(w)
        switch options.smoothing {
        case .kneserNey:
            var p = 1.0 / Double(V)
            // From the empty context (level 1) up: p_k = (max(c − D_c, 0) + γ·p_{k−1}) / total, where the
            // back-off mass γ = D₁N₁ + D₂N₂ + D₃N₃₊ is what the discounts took (eq. 19, times the total).
            for j in 0..<nodes.count {
                let h = nodes[j]
                let total = totals[Int(h)]
                guard total > 0 else { continue }
                let d = discounts[j + 1]
                let c = trie.child(h, token).map { trie.values[Int($0)] } ?? 0
                let discounted = c == 0 ? 0 : max(Double(c) - d[Int(min(c, 3))], 0)
                let gamma = d[1] * Double(ones[Int(h)]) + d[2] * Double(twos[Int(h)]) + d[3] * Double(threes[Int(h)])
                p = (discounted + gamma * p) / Double(total)
            }
            return p
        case .addK:
            // The whole context, or uniform when it was never seen.
            guard nodes.count == used + 1 else { return 1.0 / Double(V) }
            let h = nodes[used]
            let c = trie.child(h, token).map { Double(trie.values[Int($0)]) } ?? 0
            return (c + options.k) / (Double(totals[Int(h)]) + options.k * Double(V))
        }
    }

    /// P(w | context) for w = 0…V − 1, given the characters before it (only the last n − 1 are read).
    public func distribution(after context: ArraySlice<Int32>) -> [Double] {
        let nodes = contextNodes(context)
        let used = min(options.order - 1, context.count)
        return nodes.withUnsafeBufferPointer { buf in
            (0..<V).map { probability(Int32($0), nodes: buf, used: used) }
        }
    }

    /// P(w | context); see `distribution(after:)`.
    public func probability(of w: Int32, after context: ArraySlice<Int32>) -> Double {
        let nodes = contextNodes(context)
        return nodes.withUnsafeBufferPointer { probability(w, nodes: $0, used: min(options.order - 1, context.count)) }
    }

    // MARK: - Evaluation and sampling

    /// The loss on `tokens` (a part of a text: every token < V): each token but the first is predicted from up to
    /// n − 1 tokens before it in `tokens`, as `CharEvaluation.evaluate` predicts all but the first. Nats per character.
    public func evaluate(_ tokens: [Int32]) -> CharEvaluation {
        guard tokens.count >= 2 else { return CharEvaluation(natsPerChar: .nan, characters: 0) }
        let n = options.order
        // nodes[k]: the node of the k-gram ending just before the predicted position, while seen (k = 0: the root).
        var nodes: [UInt32] = [0], next: [UInt32] = [0]
        nodes.reserveCapacity(n); next.reserveCapacity(n)
        var total = 0.0
        for i in 1..<tokens.count {
            // Extend every seen (k−1)-gram ending at i − 2 by tokens[i − 1], keeping the k-grams seen (k ≤ n − 1).
            next.removeAll(keepingCapacity: true)
            next.append(0)
            let t = UInt32(tokens[i - 1])
            for k in stride(from: 1, through: min(n - 1, i), by: 1) {
                guard k - 1 < nodes.count, let id = trie.child(nodes[k - 1], t) else { break }
                next.append(id)
            }
            swap(&nodes, &next)
            let p = nodes.withUnsafeBufferPointer { probability(tokens[i], nodes: $0, used: min(n - 1, i)) }
            total -= Double.log(p)
        }
        let count = tokens.count - 1
        return CharEvaluation(natsPerChar: total / Double(count), characters: count)
    }

    /// Draws `length` tokens after `prime`, each from P(· | the tokens before it)^(1/temperature), renormalised.
    /// Any temperature > 0 is safe: the powers are taken in log space relative to the most likely token.
    public func sample(prime: [Int32], length: Int, temperature: Double = 1, rng: inout SeededGenerator) -> [Int32] {
        var text = prime
        text.reserveCapacity(prime.count + length)
        let keep = options.order - 1
        for _ in 0..<length {
            var p = distribution(after: text[max(0, text.count - keep)...])
            if temperature != 1 {
                let logs = p.map { $0 > 0 ? Double.log($0) / temperature : -Double.infinity }
                // Invariant: V ≥ 1, so there is a maximum.
                let top = logs.max()!
                p = logs.map { $0 == top ? 1 : Double.exp($0 - top) }
            }
            text.append(Int32(p.withUnsafeBufferPointer { rng.categorical($0) }))
        }
        return Array(text[prime.count...])
    }
}
