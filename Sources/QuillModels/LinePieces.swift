import QuillData

/// A long line written in pieces: the text cut at spaces into pieces of at most a given number of characters, each
/// sampled as a line of its own, and the pieces' ink joined on one line.
///
/// The synthesis network learned from IAM-OnDB lines of 29 characters on average (90% of them up to 38, 99% up to 47,
/// 0.4% over 50, 0.03% over 60); a page line of 60 characters asks it for twice what it has seen. Written whole, such lines are
/// where it falters (Graves section 5 conditions on the whole line; the window and the state run far past the lengths
/// of training). Written in pieces of at most `PageWriter.defaultPieceCharacters` and joined, a page of the
/// legibility benchmark's 60-character lines reads better (page CER over 30 pages 0.069 → 0.066, README
/// "Long lines in pieces").
public enum LinePieces {
    /// `text` cut at spaces into the fewest pieces of at most `maxCharacters` Unicode scalars, as even in length as
    /// the spaces allow; the space at each cut belongs to no piece. One piece (the text itself) when it is no longer
    /// than `maxCharacters`, when `maxCharacters` is 0, or when it has no space to cut at; a word longer than
    /// `maxCharacters` stays whole, in a piece longer than that.
    /// - Returns: each piece with `start`, the index of its first scalar in `text`.
    public static func split(_ text: String, maxCharacters: Int) -> [(text: String, start: Int)] {
        let scalars = Array(text.unicodeScalars)
        let n = scalars.count
        guard maxCharacters > 0, n > maxCharacters else { return [(text, 0)] }
        // Cut points: a space with a non-space on each side (so no piece is empty or begins or ends with the cut).
        let spaces = (1..<max(n - 1, 1)).filter { scalars[$0] == " " && scalars[$0 - 1] != " " && scalars[$0 + 1] != " " }
        guard !spaces.isEmpty else { return [(text, 0)] }
        func pieces(_ cuts: [Int]) -> [(text: String, start: Int)] {
            var out: [(text: String, start: Int)] = []
            var start = 0
            for c in cuts + [n] {
                out.append((String(String.UnicodeScalarView(scalars[start..<c])), start))
                start = c + 1
            }
            return out
        }
        // Fewest pieces first; for a count, the cut nearest each even share of the length, in order.
        for count in 2...(spaces.count + 1) {
            var cuts: [Int] = []
            for j in 1..<count {
                let target = Double(n) * Double(j) / Double(count)
                let candidates = spaces.filter { $0 > (cuts.last ?? -1) }
                guard let best = candidates.min(by: { abs(Double($0) - target) < abs(Double($1) - target) }) else { break }
                cuts.append(best)
            }
            guard cuts.count == count - 1 else { continue }
            let split = pieces(cuts)
            if split.allSatisfy({ $0.text.unicodeScalars.count <= maxCharacters }) { return split }
        }
        // Some word is longer than maxCharacters: cut at every space where the piece would grow past it.
        var cuts: [Int] = []
        var start = 0
        for (i, s) in spaces.enumerated() {
            let next = i + 1 < spaces.count ? spaces[i + 1] : n
            if next - start > maxCharacters { cuts.append(s); start = s + 1 }
        }
        return pieces(cuts)
    }

    /// The gaps between the words of `sample`, in its units: the `words − 1` widest of `StrokeGeometry.strokeGaps`;
    /// fewer when the sample shows fewer.
    static func wordGaps(_ sample: HandwritingSample, words: Int) -> [Double] {
        Array(StrokeGeometry.strokeGaps(sample.strokes).map(\.gap).sorted(by: >).prefix(max(words - 1, 0)))
    }

    /// The most a piece is scaled up or down to the first piece's x-height: a piece of 25 characters measures its
    /// letter height roughly (capitals, a long descender), so a larger measured difference is taken as the
    /// measure's error. With the bound, without it, and without scaling, pages read the same (README "Long lines in
    /// pieces"); unscaled, a piece's size can jump at the join.
    static let maxScale = 1.25

    /// Word gap, in x-heights of the first piece, when no piece of a line has two words to measure one from
    /// (IAM-OnDB's writers leave about one x-height between words).
    static let defaultWordGap = 1.0

    /// The pieces' ink on one line, in the first piece's units and place: each piece levelled, scaled towards the
    /// first piece's x-height (letter height over `StrokeGeometry.letterHeightFactor` of its text) by at most
    /// `maxScale` either way, moved to the first piece's midline and set one word gap (the median of the gaps
    /// between words measured in the pieces, `wordGaps`) to the right of the ink before it. Points are absolute,
    /// y down; the result's strokes are the pieces' strokes in order, so the pen lifts between pieces.
    /// - Parameters:
    ///   - pieces: the pieces' ink (absolute coordinates, y down), in reading order; empty pieces are skipped.
    ///   - texts: each piece's text (its number of words and its letter height factor).
    public static func joined(_ pieces: [HandwritingSample], texts: [String]) -> HandwritingSample {
        precondition(pieces.count == texts.count, "one text per piece")
        var placed: [HandwritingSample] = []
        var reference: (xHeight: Double, midline: Double)?
        var gaps: [Double] = []
        for (piece, text) in zip(pieces, texts) where piece.pointCount > 0 {
            let level = StrokeGeometry.levelled(piece)
            let (h, mid) = StrokeGeometry.band(ofLevel: level)
            let xHeight = h / StrokeGeometry.letterHeightFactor(of: text)
            let ref = reference ?? (xHeight > 0 && xHeight.isFinite ? xHeight : 0, mid)
            reference = reference ?? ref
            var s = level
            let scale = ref.xHeight > 0 && xHeight > 0 && xHeight.isFinite
                ? min(max(ref.xHeight / xHeight, 1 / maxScale), maxScale) : 1
            for i in 0..<s.pointCount { s.x[i] *= scale; s.y[i] = (s.y[i] - mid) * scale + ref.midline }
            gaps += wordGaps(s, words: text.split(separator: " ").count)
            placed.append(s)
        }
        guard let reference, !placed.isEmpty else { return HandwritingSample(id: "joined", strokes: []) }
        let sorted = gaps.sorted()
        let gap = sorted.isEmpty ? defaultWordGap * reference.xHeight
            : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
        var strokes: [Stroke] = []
        var right = 0.0
        for (k, p) in placed.enumerated() {
            let shift = k == 0 ? 0 : right + gap - (p.x.min() ?? 0)
            for stroke in p.strokes {
                strokes.append(stroke.map { Point(x: $0.x + shift, y: $0.y) })
            }
            right = (p.x.max() ?? 0) + shift
        }
        return HandwritingSample(id: "joined", strokes: strokes)
    }
}

extension LinePieces {
    /// The pieces of one line, sampled as lines of their own, as one line of `lineLength` scalars: the ink joined
    /// (`joined(_:texts:)`) and turned back into offsets, each piece's focus and φ(t, u) moved to its characters'
    /// place in the whole line (φ zero over the other pieces' characters), π and the window weights in order.
    /// The line is finished when every piece is; `inputs` are the first piece's (priming material stays one
    /// piece of the network's own writing, as `GeneratedLine.prime` expects).
    /// - Parameter pieces: each piece's line and its place in the whole line (`split`), in order.
    public static func joined(_ pieces: [(line: GeneratedLine, text: String, start: Int)], lineLength: Int) -> GeneratedLine {
        guard pieces.count > 1 else { return pieces.first?.line ?? GeneratedLine(textLength: lineLength) }
        var out = GeneratedLine(textLength: lineLength)
        let ink = joined(pieces.map(\.line.sample), texts: pieces.map(\.text))
        var pen = Point(x: 0, y: 0)
        for r in ink.strokeRanges {
            for i in r {
                out.dx.append(ink.x[i] - pen.x)
                out.dy.append(ink.y[i] - pen.y)
                out.eos.append(i == r.upperBound - 1)
                pen = Point(x: ink.x[i], y: ink.y[i])
            }
        }
        let first = pieces[0].line
        out.inputs = first.inputs
        out.inputsWhenFinished = first.inputsWhenFinished
        out.finished = pieces.allSatisfy(\.line.finished)
        out.brokeDown = pieces.contains { $0.line.brokeDown }
        out.stopped = pieces.contains { $0.line.stopped }
        for (k, piece) in pieces.enumerated() where piece.line.sample.pointCount > 0 {
            let g = piece.line, length = g.textLength
            let past = k == pieces.count - 1 ? lineLength : piece.start + length
            out.focus += g.focus.map { $0 >= length ? past : piece.start + $0 }
            for row in g.phi {
                // A row holds the prime's characters, then the piece's.
                let primeColumns = max(row.count - length, 0)
                var full = [Double](repeating: 0, count: primeColumns + lineLength)
                for u in 0..<primeColumns { full[u] = row[u] }
                for u in 0..<min(length, row.count - primeColumns) where piece.start + u < lineLength {
                    full[primeColumns + piece.start + u] = row[primeColumns + u]
                }
                out.phi.append(full)
            }
            out.windowWeights += g.windowWeights
            out.pi += g.pi
        }
        return out
    }
}
