import QuillData
import QuillNN
import QuillNumerics

/// Generates text from a char model, one character at a time at batch 1 (gemv), or as a beam.
public final class CharSampler {
    public let model: CharModel<Float>
    /// The model's vocabulary (no unknown symbol) and its text policy for priming texts.
    public let alphabet: Alphabet

    public init(model: CharModel<Float>, alphabet: Alphabet) {
        self.model = model
        self.alphabet = alphabet
    }

    /// Feeds `prime` through a fresh batch-`width` workspace and returns it with the logits of the last character.
    /// With an empty prime the model starts from a newline (or its first character) and zero state.
    func primed(_ prime: String, width: Int) throws -> (CharWorkspace<Float>, Int32) {
        var tokens = try alphabet.userTokens(prime, source: "the priming text")
        if tokens.isEmpty { tokens = [alphabet.index(of: "\n") ?? 0] }
        let ws = model.makeWorkspace(steps: 1, batch: width)
        var unused = SeededGenerator(seed: 0)
        var input = [Int32](repeating: 0, count: width)
        for t in tokens {
            for b in 0..<width { input[b] = t }
            model.forward(input, ws, dropout: 0, rng: &unused)
            ws.carryState()
        }
        // Invariant: tokens is non-empty (an empty prime was replaced by one token above).
        return (ws, tokens.last!)
    }

    /// Samples `length` characters after `prime` at `temperature` (greedy when `greedy`). Returns only the new text.
    ///
    /// Any positive temperature is safe: the distribution is computed in Double from the logits minus their
    /// maximum, so a temperature too low for any other character to survive samples the most likely one (greedy).
    /// - Throws: `NonFiniteOutputError` when the model's logits are NaN or infinite (a broken checkpoint).
    /// `progress`, when given, is told the characters written so far (and `length`) after each.
    public func sample(prime: String, length: Int, temperature: Double = 1, greedy: Bool = false,
                       rng: inout SeededGenerator, progress: ((Int, Int) -> Void)? = nil) throws -> String {
        let V = alphabet.count
        let (ws, _) = try primed(prime, width: 1)
        var probs = [Double](repeating: 0, count: V)
        var out = [Int32]()
        out.reserveCapacity(length)
        var unused = SeededGenerator(seed: 0)
        for _ in 0..<length {
            let next: Int32
            guard (0..<V).allSatisfy({ ws.logits[$0].isFinite }) else { throw NonFiniteOutputError() }
            if greedy {
                var best = 0
                for j in 1..<V where ws.logits[j] > ws.logits[best] { best = j }
                next = Int32(best)
            } else {
                Self.distribution(ws.logits.ptr, count: V, temperature: temperature, into: &probs)
                next = Int32(probs.withUnsafeBufferPointer { rng.categorical($0) })
            }
            out.append(next)
            model.forward([next], ws, dropout: 0, rng: &unused)
            ws.carryState()
            progress?(out.count, length)
        }
        return alphabet.decode(out)
    }

    /// softmax(logits / temperature) into `probs` (V values), for any temperature > 0: exp((l_j − max l) / T) in
    /// Double is exactly 1 for the maximum and underflows to exactly 0 for the others as T → 0 (greedy), where Float
    /// would turn T itself into 0 and the maximum's term into 0/0.
    static func distribution(_ logits: UnsafePointer<Float>, count V: Int, temperature: Double,
                             into probs: inout [Double]) {
        var m = logits[0]
        for j in 1..<V { m = Swift.max(m, logits[j]) }
        var s = 0.0
        for j in 0..<V {
            let d = Double(logits[j]) - Double(m)
            let e = d == 0 ? 1 : Double.exp(d / temperature)
            probs[j] = e; s += e
        }
        for j in 0..<V { probs[j] /= s }
    }

    /// Beam search of width `width`: keeps the `width` most probable continuations (by summed log-probability)
    /// and returns the best one of `length` characters. `progress`, when given, is told the steps done (and
    /// `length`) after each.
    /// - Throws: `NonFiniteOutputError` when the model's logits are NaN or infinite (a broken checkpoint).
    public func beam(prime: String, length: Int, width: Int, progress: ((Int, Int) -> Void)? = nil) throws -> String {
        let V = alphabet.count
        let (ws, _) = try primed(prime, width: width)
        var scores = [Double](repeating: 0, count: width)
        var sequences = [[Int32]](repeating: [], count: width)
        var logp = [Float](repeating: 0, count: V)
        var unused = SeededGenerator(seed: 0)
        for step in 0..<length {
            // At the first step all beams are the same: expand only beam 0.
            let live = step == 0 ? 1 : width
            var candidates = [(score: Double, beam: Int, token: Int32)]()
            candidates.reserveCapacity(live * V)
            for b in 0..<live {
                guard (0..<V).allSatisfy({ ws.logits[b * V + $0].isFinite }) else { throw NonFiniteOutputError() }
                SoftmaxCrossEntropy.logSoftmax(ws.logits.ptr + b * V, count: V, into: &logp)
                for j in 0..<V { candidates.append((scores[b] + Double(logp[j]), b, Int32(j))) }
            }
            candidates.sort { $0.score > $1.score || ($0.score == $1.score && ($0.beam, $0.token) < ($1.beam, $1.token)) }
            let chosen = Array(candidates.prefix(width))
            // Pad with the best candidate if the vocabulary is smaller than the beam.
            let picks = (0..<width).map { chosen[min($0, chosen.count - 1)] }
            ws.reorderState(picks.map(\.beam))
            sequences = picks.map { sequences[$0.beam] + [$0.token] }
            scores = picks.map(\.score)
            model.forward(picks.map(\.token), ws, dropout: 0, rng: &unused)
            ws.carryState()
            progress?(step + 1, length)
        }
        return alphabet.decode(sequences[0])
    }
}
