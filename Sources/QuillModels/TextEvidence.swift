import QuillData
import QuillNN
import QuillNumerics

/// How clearly a written line's strokes say its text, by the synthesis network itself: the log-likelihood of the
/// line's pen rows given its text minus their log-likelihood given a contrast text, the same letters in another
/// order (`contrast`), both under the model's own distribution (bias 0, Graves eq. 26 without its minus sign), in
/// nats. Strokes that could be any letters score near 0; strokes whose letters are the text's and no others score
/// high. `PageWriter.candidates` keeps, of several tries of a line, the one that scores highest: a selection of
/// samples, not a change to any sample (each is drawn as `HandwritingSampler.write` draws it, with its own seed).
///
/// Why not the likelihood alone: over the legibility benchmark's 36 sentences at nine seed sets (324 lines, bias 1),
/// keeping the likeliest of four tries took the OCR character error rate from 0.069 to 0.063–0.072 (by how the
/// likelihood was scored), keeping the one with the most evidence for its text to 0.061, or 0.062 among tries in
/// the first one's hand (README, "Several tries of a line").
public enum TextEvidence {
    /// The contrast text: the text's non-space Unicode scalars shuffled among their places by a fixed permutation
    /// (a seeded Fisher–Yates shuffle, seed 1), spaces where they were, so the contrast has the text's length,
    /// letters and word lengths. Deterministic. When the shuffle leaves the letters as they were (a text of one
    /// repeated letter is the only one it must), they are rotated by one place instead; a text whose non-space
    /// scalars are all the same is its own contrast (every try then scores 0).
    public static func contrast(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        let places = scalars.indices.filter { scalars[$0] != " " }
        let letters = places.map { scalars[$0] }
        var shuffled = letters
        var rng = SeededGenerator(seed: 1)
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
            shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        if shuffled == letters, letters.count > 1 { shuffled = Array(letters.dropFirst()) + [letters[0]] }
        for (n, i) in places.enumerated() { scalars[i] = shuffled[n] }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Lines scored in one batch (each twice, under its text and its contrast), so that the workspace of a long
    /// page's many tries stays small.
    public static let linesPerBatch = 128

    /// The evidence of each line for its text (see `TextEvidence`): log Pr(rows | text) − log Pr(rows | contrast),
    /// in nats, over every row the line was fed after the prime (`GeneratedLine.inputs`); `linesPerBatch` lines at a
    /// time.
    /// - Returns: one value per line, or nil when `shouldStop` stopped the scoring.
    public static func scores(_ lines: [GeneratedLine], texts: [String], prime: Prime?,
                              sampler: HandwritingSampler, shouldStop: (() -> Bool)? = nil) -> [Double]? {
        precondition(lines.count == texts.count, "scores needs one text per line")
        var out = [Double]()
        out.reserveCapacity(lines.count)
        for start in stride(from: 0, to: lines.count, by: linesPerBatch) {
            let part = start..<min(lines.count, start + linesPerBatch)
            let rows = part.map { lines[$0].inputs }, own = part.map { texts[$0] }
            guard let ll = sampler.logLikelihoods(rows + rows, texts: own + own.map(contrast), prime: prime,
                                                  shouldStop: shouldStop) else { return nil }
            out += rows.indices.map { ll[$0] - ll[rows.count + $0] }
        }
        return out
    }
}

extension HandwritingSampler {
    /// The log-likelihood of pen rows under the model given a text, in nats: Σ_t log Pr(x_{t+1} | y_t), the model's
    /// own mixture and end-of-stroke probability (bias 0; Graves eqs. 23–26, the training loss without its minus
    /// sign), the network fed the rows themselves (teacher forcing) after `prime`'s rows, its window over
    /// `prime.text + " " + texts[b]` (`texts[b]` alone without a prime), as `write` conditions a line.
    /// - rows[b]: the rows line b was fed after the prime, in order (`GeneratedLine.inputs`); row t is what step t
    ///   predicts, and the input of step t + 1. Lines may have different lengths; an empty line scores 0.
    /// - Returns: one sum per line (all lines in one batch), or nil when `shouldStop`, asked before every step,
    ///   returned true.
    public func logLikelihoods(_ rows: [[OffsetRow]], texts: [String], prime: Prime?,
                               shouldStop: (() -> Bool)? = nil) -> [Double]? {
        // Programmer invariants, as in `write`: a synthesis model, one text per line.
        precondition(model.window != nil, "logLikelihoods needs a synthesis model (one with a window)")
        precondition(rows.count == texts.count, "logLikelihoods needs one text per line")
        let B = rows.count
        guard B > 0 else { return [] }
        guard let ws = primedWorkspace(conditioningTexts(texts, prime: prime), prime: prime, shouldStop: shouldStop)
        else { return nil }
        var x = [OffsetRow](repeating: prime?.rows.last ?? .start, count: B)
        var total = [Double](repeating: 0, count: B)
        let W = model.mixture.outputSize
        let target = UnsafeMutablePointer<Float>.allocate(capacity: 3)
        defer { target.deallocate() }
        for t in 0..<(rows.map(\.count).max() ?? 0) {
            if let stop = shouldStop, stop() { return nil }
            advance(ws, inputs: x)
            for b in 0..<B where t < rows[b].count {
                let r = rows[b][t]
                target[0] = r.dx; target[1] = r.dy; target[2] = r.eos
                total[b] -= model.mixture.loss(ws.y.ptr + b * W, targets: target, mask: nil, rows: 1, dy: nil).total
                x[b] = r
            }
        }
        return total
    }
}
