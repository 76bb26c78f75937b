import QuillData
import QuillNumerics

/// A page of handwriting, ready to lay out: one hand, one letter height, level lines.
public struct WrittenPage: Sendable {
    /// One entry per line of the page: the line's ink (levelled, scaled to the page's letter height, leftmost point
    /// at x = 0, midline at y = 0, y down), or nil for a blank line (a paragraph gap).
    public var lines: [HandwritingSample?]
    /// The network's output for each written line (nil for blank lines), as sampled.
    public var generated: [GeneratedLine?]
    /// Lines (page indices) written again because the first try broke down, with how many tries each took and
    /// what was wrong with the first.
    public var resampled: [Resample]
    /// The page's letter height, in the dataset's raw units: the median x-height of its lines times the median of
    /// their texts' `StrokeGeometry.letterHeightFactor` (each line is scaled to the x-height times its own factor).
    public var letterHeight: Double

    public struct Resample: Sendable, Equatable {
        public var line: Int
        /// Tries in all, the first included.
        public var tries: Int
        public var firstProblems: [LineProblem]
        /// What is still wrong with the kept try, when every try broke down (the least broken one is kept).
        public var remaining: [LineProblem]
        /// Of a line written in pieces (`PageWriter.pieceCharacters`), the piece written again (0-based) and how
        /// many pieces the line has; 0 and 1 for a line written whole.
        public var piece = 0, pieceCount = 1
    }
}

extension WrittenPage {
    /// Lines of fewer letters and digits than this are not scaled by their own letter height: measured over a word
    /// or two ("today.", "Short line."), a letter height says more about which letters the line has than about its
    /// size, and such lines came out visibly larger or smaller than the page's other lines.
    public static let minLettersToScale = 10

    /// A page of lines as sampled (nil: a blank line) with their texts: each levelled and scaled so that its
    /// x-height, its letter height over `StrokeGeometry.letterHeightFactor` of its text, is the median of them
    /// all (`StrokeGeometry.normalisedLine`); so a line in capitals keeps capitals twice the others' small
    /// letters. A line of fewer than `minLettersToScale` letters and digits is scaled by the median of the other
    /// lines' scales instead, and left out of the median x-height (unless every line is that short). A line
    /// without letters or digits ("." or "--") is never measured: the height of a dot or a dash is no letter
    /// height. `letterHeight` is the median x-height times the median factor (a one-line page keeps its own
    /// size and its measured letter height); a page with no letter or digit at all keeps its lines as sampled and
    /// has `typicalLetterHeight` (0 without it). Pages written in parts (a job's groups of lines, each in
    /// its own hand) are put together this way, so they too have one letter size.
    /// - Parameter typicalLetterHeight: the model's letter height in the dataset's raw units
    ///   (`HandwritingSampler.typicalLetterHeight`), for a page of punctuation only.
    public init(generated: [GeneratedLine?], texts: [String?], resampled: [Resample], typicalLetterHeight: Double? = nil) {
        let samples = generated.map { $0.map(\.sample) }
        let text = samples.indices.map { i in texts.indices.contains(i) ? texts[i] : nil }
        let factors = text.map { $0.map(StrokeGeometry.letterHeightFactor) ?? 1 }
        let measured = samples.map { $0.map(StrokeGeometry.letterHeight) ?? 0 }
        let letters = text.map { $0?.unicodeScalars.count(where: StrokeGeometry.isLetterOrDigit) ?? 0 }
        let written = samples.indices.filter {
            samples[$0] != nil && measured[$0] > 0 && measured[$0].isFinite && letters[$0] > 0
        }
        let long = written.filter { letters[$0] >= Self.minLettersToScale }
        let sized = long.isEmpty ? written : long
        var ownScale = [Bool](repeating: false, count: samples.count)
        for i in sized { ownScale[i] = true }
        func median(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.sorted()[v.count / 2] }
        let height = median(sized.map { measured[$0] / factors[$0] }) ?? 0
        // The scale a line of enough letters gets, for the lines too short to be measured (1, as sampled, when no
        // line has a letter).
        let shared = median(sized.map { height * factors[$0] / measured[$0] }) ?? 1
        let usedFactors = samples.indices.filter { samples[$0] != nil }.map { factors[$0] }.sorted()
        let fallback = typicalLetterHeight.flatMap { $0.isFinite && $0 > 0 ? $0 : nil } ?? 0
        self.init(lines: samples.indices.map { i in
                      samples[i].map {
                          StrokeGeometry.normalisedLine($0, letterHeight: ownScale[i] ? height * factors[i] : shared * measured[i])
                      }
                  },
                  generated: generated, resampled: resampled.sorted { ($0.line, $0.piece) < ($1.line, $1.piece) },
                  letterHeight: sized.isEmpty ? fallback
                      : height * (usedFactors.isEmpty ? 1 : usedFactors[usedFactors.count / 2]))
    }
}

/// Writes pages: lines sampled in one batch, in one hand, each checked and written again when it breaks down.
///
/// One hand: with a prime (a style, a prepared sample or the user's ink) every line is primed with it (Graves
/// section 5.5); without one, the first line (its first piece, when written in pieces) is written unprimed and the
/// rest of the page is primed with its strokes and text.
/// Broken lines (`LineCheck`) are written again with seeds derived from the page's seed, the line and the try, so
/// a page is the same for the same seed. Finally every line is levelled and scaled to the page's median letter
/// height (`StrokeGeometry.normalisedLine`).
public struct PageWriter {
    public let sampler: HandwritingSampler
    public var options: WriteOptions
    public var check = LineCheck()
    /// Tries per line when it breaks down, the first included (with `candidates` > 1, the candidates' round counts
    /// as the first).
    public var maxTries = PageWriter.defaultMaxTries
    /// The default of `maxTries` (`quill write --tries`).
    public static let defaultMaxTries = 6
    /// Tries drawn of every line (piece) before it is checked, the one with the most evidence for its text kept
    /// (`TextEvidence`; fewest `LineCheck` problems first): 1 writes each line once, as before; N samples N tries
    /// and scores each by two teacher-forced passes (4 took about 6 times as long as 1 on a 2-core machine). Try k
    /// has the seed a line's k-th try has always had, so the first is the line written with 1; tries again of
    /// broken lines come after (`quill write --candidates`).
    public var candidates = 1
    /// Of `candidates` tries of a line, the first and those whose width per character in letter heights
    /// (`widthPerCharacter`) is within this range of the first's compete: a try in a much smaller or larger hand
    /// than the line written once is not kept, so a page keeps one hand.
    public var candidateWidthRange: ClosedRange<Double> = 0.87...1.15

    /// The x-extent of a line's ink over its text's length, in letter heights (`StrokeGeometry.letterHeight`): how
    /// wide the line's characters come out once the page has scaled it to its letter height (0 for a line without
    /// ink or without height).
    public static func widthPerCharacter(_ g: GeneratedLine) -> Double {
        let xs = g.strokes.flatMap { $0.map(\.x) }
        let height = StrokeGeometry.letterHeight(g.sample)
        guard let lo = xs.min(), let hi = xs.max(), height > 0, height.isFinite else { return 0 }
        return (hi - lo) / Double(max(1, g.textLength)) / height
    }
    /// Lines longer than this many characters (Unicode scalars) are written in pieces of at most this many, cut at
    /// spaces and joined (`LinePieces`); 0 writes every line whole.
    public var pieceCharacters = PageWriter.defaultPieceCharacters
    /// The default of `pieceCharacters` (`quill write --piece-chars`): longer than 99.6% of IAM-OnDB's lines, so
    /// what the bundled model learned from is written whole and a page's 60-character lines in two pieces.
    public static let defaultPieceCharacters = 50
    /// Called as the first try of each line is written, with (lines written, lines on the page); the tries again
    /// of broken lines come after and do not move it. Lines written in pieces count in proportion to the pieces
    /// written (the page's lines times pieces written over pieces on the page, rounded down); with several
    /// `candidates`, each try of a line counts as a share of it (the scoring after them does not move it).
    public var progress: ((Int, Int) -> Void)?
    /// Told the kept points of each line's first try as they are sampled (`KeptPoint.line` is the page's line
    /// index; of a line written in pieces, its first piece's only), and asked before every pen step of every try
    /// whether to stop: `write` then throws `SamplingStopped`.
    public var observer: SamplingObserver?

    public init(sampler: HandwritingSampler, options: WriteOptions) {
        self.sampler = sampler
        self.options = options
    }

    /// Writes `lines` (nil: a blank line) with `seed`; `prime` gives the hand (nil: the first line's own). A line
    /// longer than `pieceCharacters` is written in pieces (`LinePieces`), each checked and written again on its own,
    /// and joined; a line no longer than that is written as before, with the same seeds.
    /// - Throws: `NonFiniteOutputError` when the network's output becomes NaN or infinite (a broken checkpoint);
    ///   `SamplingStopped` when `observer.shouldStop` stopped it.
    public func write(_ lines: [String?], seed: UInt64, prime: Prime? = nil) throws -> WrittenPage {
        var pieces: [Piece] = []
        var piecesOfLine = [[Int]](repeating: [], count: lines.count)
        for (i, line) in lines.enumerated() {
            guard let line else { continue }
            let split = LinePieces.split(line, maxCharacters: pieceCharacters)
            for (k, p) in split.enumerated() {
                piecesOfLine[i].append(pieces.count)
                pieces.append(Piece(line: i, index: k, text: p.text, start: p.start, count: split.count))
            }
        }
        var generated = [GeneratedLine?](repeating: nil, count: pieces.count)
        var resampled = [WrittenPage.Resample]()
        var finished = 0
        let lineCount = lines.count(where: { $0 != nil })
        func run(_ rows: [Int], prime: Prime?) throws {
            let before = finished, total = pieces.count
            let (out, redone) = try writeChecked(rows.map { pieces[$0] }, seed: seed, prime: prime,
                                                 firstTry: progress.map { report in
                                                     { done, rounds in
                                                         report((before * rounds + done) * lineCount / (total * rounds), lineCount)
                                                     }
                                                 })
            finished += rows.count
            for (r, g) in zip(rows, out) { generated[r] = g }
            resampled += redone
        }
        if let prime {
            try run(Array(pieces.indices), prime: prime)
        } else if !pieces.isEmpty {
            try run([0], prime: nil)
            if pieces.count > 1, let g = generated[0] {
                try run(Array(pieces.indices.dropFirst()), prime: g.prime(text: pieces[0].text, cutAtFinish: true))
            }
        }
        let joined: [GeneratedLine?] = lines.indices.map { i in
            guard let line = lines[i] else { return nil }
            let parts = piecesOfLine[i].compactMap { r in generated[r].map { (line: $0, text: pieces[r].text, start: pieces[r].start) } }
            return LinePieces.joined(parts, lineLength: line.unicodeScalars.count)
        }
        return WrittenPage(generated: joined, texts: lines, resampled: resampled,
                           typicalLetterHeight: sampler.typicalLetterHeight)
    }

    /// A piece of a page line (`LinePieces.split`): the line's index on the page, the piece's index in the line,
    /// its text and where that starts in the line (Unicode scalars).
    struct Piece {
        /// `count`: how many pieces the line has.
        var line: Int, index: Int, text: String, start: Int, count: Int

        /// The seed of try `attempt`: a line's first piece has the seed the whole line had before lines were
        /// written in pieces, so lines short enough to be one piece come out as they did.
        func seed(_ page: UInt64, attempt: Int) -> UInt64 {
            index == 0 ? SeededGenerator.derivedSeed(page, UInt64(line), attempt: UInt64(attempt))
                : SeededGenerator.derivedSeed(SeededGenerator.derivedSeed(page, UInt64(line)), UInt64(index),
                                              attempt: UInt64(attempt))
        }
    }

    /// Writes the pieces as one batch (`candidates` batches, each piece keeping its try with the fewest problems and
    /// the most evidence for its text), then writes each broken piece again (the broken ones of a try as one batch),
    /// up to `maxTries` tries; a piece that never comes out sound keeps its least broken try.
    /// - Throws: `NonFiniteOutputError` as soon as a try's output is not finite (no point in trying again).
    /// `firstTry` is told (pieces finished, tries per piece) as the first round is written: with several
    /// `candidates`, the pieces finished of try k (0-based) count after the k·(pieces) of the tries before it, out
    /// of pieces × `candidates`.
    func writeChecked(_ pieces: [Piece], seed: UInt64, prime: Prime?,
                      firstTry: ((Int, Int) -> Void)? = nil) throws -> ([GeneratedLine], [WrittenPage.Resample]) {
        let texts = pieces.map(\.text)
        // A text that is its own contrast (one letter, or one letter repeated) gives no evidence either way.
        let rounds = candidates > 1 && texts.contains(where: { TextEvidence.contrast($0) != $0 }) ? candidates : 1
        func attempt(_ rows: [Int], _ k: Int) throws -> [GeneratedLine] {
            var rngs = rows.map { SeededGenerator(seed: pieces[$0].seed(seed, attempt: k)) }
            let told = k < rounds ? firstTry.map { report in { report(k * rows.count + $0, rounds) } } : nil
            let out = sampler.write(rows.map { texts[$0] }, options: options, rngs: &rngs, prime: prime,
                                    progress: told, observer: observer(rows, pieces: pieces, firstTry: k == 0))
            if out.contains(where: \.stopped) { throw SamplingStopped() }
            guard out.allSatisfy(\.isFinite) else { throw NonFiniteOutputError() }
            return out
        }
        let lastLetters = texts.map(LineCheck.lastLetter), finalMarks = texts.map(LineCheck.finalMarks)
        func problems(_ g: GeneratedLine, _ r: Int) -> [LineProblem] {
            check.problems(focus: g.focus, textLength: g.textLength, finished: g.finished, lastLetter: lastLetters[r],
                           finalMarks: finalMarks[r], strokeStarts: g.strokeStarts, line: g.sample)
        }
        var best = try attempt(Array(texts.indices), 0)
        var bestProblems = best.indices.map { problems(best[$0], $0) }
        if rounds > 1 {
            var drawn = [best]
            for k in 1..<candidates { drawn.append(try attempt(Array(texts.indices), k)) }
            // All tries of all pieces scored together (`TextEvidence.linesPerBatch` lines a batch).
            let lines = drawn.flatMap { $0 }
            guard let scores = TextEvidence.scores(lines, texts: drawn.flatMap { _ in texts }, prime: prime,
                                                   sampler: sampler, shouldStop: observer?.shouldStop)
            else { throw SamplingStopped() }
            let n = texts.count
            for r in texts.indices {
                // A try in a hand much smaller or larger than the first's (the evidence tends to favour compact,
                // print-like tries) would not match the page's other lines: only tries whose width per character is
                // within `candidateWidthRange` of the first try's (the line `candidates` = 1 writes) compete with it.
                let widths = drawn.map { Self.widthPerCharacter($0[r]) }
                var kept = 0
                for k in 1..<candidates where candidateWidthRange.contains(widths[k] / widths[0]) {
                    let p = problems(drawn[k][r], r)
                    if p.count < bestProblems[r].count
                        || (p.count == bestProblems[r].count && scores[k * n + r] > scores[kept * n + r]) {
                        kept = k
                        best[r] = drawn[k][r]
                        bestProblems[r] = p
                    }
                }
            }
        }
        let first = bestProblems
        var tries = [Int](repeating: 1, count: texts.count)
        var broken = texts.indices.filter { !bestProblems[$0].isEmpty }
        // Retries take seeds after the candidates'; with one candidate, tries 1, 2, … as always.
        var k = candidates
        let lastTry = maxTries + candidates - 1
        while !broken.isEmpty && k < lastTry {
            let again = try attempt(broken, k)
            for (r, g) in zip(broken, again) {
                tries[r] += 1
                let p = problems(g, r)
                if p.count < bestProblems[r].count || (p.count == bestProblems[r].count && g.finished && !best[r].finished) {
                    best[r] = g
                    bestProblems[r] = p
                }
            }
            broken = broken.filter { !bestProblems[$0].isEmpty }
            k += 1
        }
        // A primed line that never got past the prime (an untrained or mismatched model) is written without it.
        if prime != nil {
            for r in texts.indices where bestProblems[r].contains(.empty) {
                var rng = [SeededGenerator(seed: pieces[r].seed(seed, attempt: lastTry))]
                best[r] = sampler.write([texts[r]], options: options, rngs: &rng, prime: nil,
                                        observer: observer([r], pieces: pieces, firstTry: false))[0]
                if best[r].stopped { throw SamplingStopped() }
                guard best[r].isFinite else { throw NonFiniteOutputError() }
                bestProblems[r] = problems(best[r], r)
                tries[r] += 1
            }
        }
        let redone = texts.indices.filter { tries[$0] > 1 }.map {
            WrittenPage.Resample(line: pieces[$0].line, tries: tries[$0], firstProblems: first[$0],
                                 remaining: bestProblems[$0], piece: pieces[$0].index, pieceCount: pieces[$0].count)
        }
        return (best, redone)
    }

    /// `observer` for a batch of `rows` (indices into `pieces`): points are passed on with their page line, for a
    /// first try of a line's first piece only (the other pieces are drawn from the origin of their own, and land in
    /// the line when it is joined); `shouldStop` always.
    private func observer(_ rows: [Int], pieces: [Piece], firstTry: Bool) -> SamplingObserver? {
        guard let observer else { return nil }
        var passed = SamplingObserver(shouldStop: observer.shouldStop)
        if firstTry, let point = observer.point {
            passed.point = { p in
                let piece = pieces[rows[p.line]]
                guard piece.index == 0 else { return }
                var p = p
                p.line = piece.line
                point(p)
            }
        }
        return passed
    }
}

/// Sampling was stopped before the page was written, because `SamplingObserver.shouldStop` said so.
public struct SamplingStopped: Error, CustomStringConvertible, Equatable {
    public init() {}
    public var description: String { "sampling was stopped before the page was written" }
}
