import QuillData
import QuillNN
import QuillNumerics

/// One line of generated handwriting.
public struct GeneratedLine: Sendable {
    /// Offsets in the dataset's raw units (normalisation undone), one row per kept point: (dx, dy, eos).
    public var dx: [Double]
    public var dy: [Double]
    public var eos: [Bool]
    /// Every row the network was fed after the prime up to the line's last kept point, normalised as in training:
    /// the material to prime another line with this one's hand. Includes rows that were not kept.
    public var inputs: [OffsetRow]
    /// The window's focus for every kept point: the symbol u (0-based, in the requested text's encoding) where
    /// φ(t, u) is largest; the text length when φ(t, U+1) is, that is when the window has left the text.
    public var focus: [Int]
    /// The length of the requested text in symbols of the alphabet, Unicode scalars (prime excluded).
    public var textLength: Int
    /// φ(t, u) for every kept point (rows) and character u = 1…U of the whole text (columns); with `record` only.
    public var phi: [[Double]]
    /// The window weights w_t over the alphabet for every kept point; with `record` only.
    public var windowWeights: [[Double]]
    /// The mixture weights π_1…π_M (Graves eq. 19, after the bias of eq. 60) of the distribution each kept point was
    /// drawn from, one row per kept point; with `record` only.
    public var pi: [[Double]]
    /// True when the window left the text (Graves's rule); false when the line hit the step cap.
    public var finished: Bool
    /// True when the network's output was NaN or infinite at some step (a broken or diverged checkpoint); the line
    /// stops there.
    public var brokeDown = false
    /// True when sampling was stopped by `SamplingObserver.shouldStop` before the line ended (a cancelled request,
    /// a time limit): the line is cut short and is not a result.
    public var stopped = false

    public init(textLength: Int = 0) {
        dx = []; dy = []; eos = []; inputs = []; focus = []; phi = []; windowWeights = []; pi = []
        self.textLength = textLength
        finished = false
    }

    /// Whether the network's output stayed finite and every offset is a finite number.
    public var isFinite: Bool { !brokeDown && dx.allSatisfy(\.isFinite) && dy.allSatisfy(\.isFinite) }

    /// The line as absolute strokes (pen-down segments), starting at the origin; y as in the dataset (down).
    public var strokes: [Stroke] {
        var out = [Stroke](), cur = Stroke()
        var x = 0.0, y = 0.0
        for i in 0..<dx.count {
            x += dx[i]; y += dy[i]
            cur.append(Point(x: x, y: y))
            if eos[i] { out.append(cur); cur = [] }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// The line as a sample (absolute coordinates, y down), for the geometry of `StrokeGeometry`.
    public var sample: HandwritingSample { HandwritingSample(id: "generated", strokes: strokes) }

    /// The kept points (indices into `dx`, `focus`) where a stroke begins: the first, and each after a pen-up.
    public var strokeStarts: [Int] { eos.indices.filter { $0 == 0 || eos[$0 - 1] } }

    /// How many of `inputs` came before the window left the text (all of them when it never did).
    public var inputsWhenFinished: Int?

    /// Priming material that continues in this line's hand: the rows it was fed and its text (Graves section 5.5).
    /// The last row is marked as a pen-up so the primed line starts with a new stroke.
    ///
    /// - Parameter cutAtFinish: stop at the step where the window left the text. In the finishing steps the
    ///   window goes on moving; a prime that includes them hands the next line a window already past the space
    ///   that follows the prime's text and into its first letter, which the network then skips. Cut there, the
    ///   network finishes the prime's last letter itself (not kept, see `write`) with the window where it was.
    public func prime(text: String, cutAtFinish: Bool = false) -> Prime {
        let n = cutAtFinish ? min(inputs.count, inputsWhenFinished ?? inputs.count) : inputs.count
        var rows = [OffsetRow.start] + inputs.prefix(n)
        rows[rows.count - 1].eos = 1
        return Prime(rows: rows, text: text)
    }
}

/// Priming material (Graves section 5.5), the one form every source of a hand takes (a style, a prepared sample,
/// the user's InkML, a line written before): strokes in the model's normalised offset form and their text.
public struct Prime: Equatable, Sendable {
    /// Rows normalised like the training data; row 0 is (0, 0, eos).
    public var rows: [OffsetRow]
    /// The prime's transcription.
    public var text: String

    public init(rows: [OffsetRow], text: String) { self.rows = rows; self.text = text }

    /// The prime as absolute strokes in the dataset's units (y down), its offsets denormalised with `stats`:
    /// each row moves the pen, and a row with eos 1 ends its stroke.
    public func strokes(stats: OffsetStatistics) -> [Stroke] {
        var out: [Stroke] = [], current: Stroke = [], pen = Point(x: 0, y: 0)
        // Row 0 is the start row, (0, 0) before normalising: no offset and no point of its own.
        for row in rows.dropFirst() {
            pen = pen + stats.denormalise(Point(x: Double(row.dx), y: Double(row.dy)))
            current.append(pen)
            if row.eos >= 0.5 { out.append(current); current = [] }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// A prime from raw offsets in any units (a user's InkML, a prepared dataset's sample), normalised with the
    /// model's statistics; with `rescale`, first scaled so their overall spread matches the model's training data
    /// (`OffsetStatistics.scaleMatchingSpread`).
    public init(raw: OffsetSequence, text: String, stats: OffsetStatistics, rescale: Bool) {
        self.init(rows: stats.rows(raw, scale: rescale ? stats.scaleMatchingSpread(of: raw) : 1), text: text)
    }
}

/// How the sampler writes a line: Graves's bias and stopping rule, and what Quill does around them.
public struct WriteOptions: Sendable {
    /// Graves's sampling bias b (eqs. 60–61): 0 samples the model's own distribution, 1 or more writes neatly.
    public var bias: Double = 1
    /// The step cap is this × (the text's length + 1) + `finishingSteps` (prime excluded).
    public var stepsPerCharacter: Int = 40
    /// Steps a line may go on after the window has left its text (Graves's rule: φ(t, U+1) above every
    /// φ(t, u ≤ U), eqs. 46–51), so the last character's strokes are complete: the pen finishes its stroke and may
    /// add delayed strokes over the written letters (t-crosses, i-dots); the line ends when a stroke starts right of
    /// all ink (by more than one mean step), when any stroke starts after a text ending in one of
    /// `oneStrokeMarks`, or after this many steps. IAM-OnDB at decimation 2 has 11.4 points per
    /// character, so 20 is under twice the mean time a character takes.
    public var finishingSteps: Int = 20
    /// Keep φ(t, u) and w_t of every kept point (for `quill plot window`).
    public var record: Bool = false
    /// A stroke that starts more than this many mean pen steps (the data's mean dx, 15.6 units on IAM-OnDB, about a
    /// twelfth of a letter's width) right of all ink is a new word: once the last character has ink, it ends the
    /// line even a step before the window leaves the text. After the window has left the text, only strokes that
    /// start at most one mean step right of the ink (t-crosses, i-dots over the last word) are kept.
    public var newWordMargin: Double = 6
    /// Marks written in one stroke: when a text ends in one of them, a stroke started after the window has left
    /// the text ends the line (the finishing steps only complete the stroke under way). Measured with the bundled
    /// model (2026-12-06, the benchmark's 36 sentences at three seed sets): every stroke started then after a
    /// full stop was the first stroke of a next word ("died.T", "hole.t"), which OCR read as a last word.
    public static let oneStrokeMarks: Set<Unicode.Scalar> = [".", ",", "'", ")", "-"]
    /// After a text ending in a full stop, the finishing steps keep points within this many letter heights
    /// (`HandwritingSampler.typicalLetterHeight`) of where the window left the text: the dot, not a letter the
    /// pen goes on to write from it without lifting.
    public static let fullStopReach = 0.1

    public init(bias: Double = 1, stepsPerCharacter: Int = 40, finishingSteps: Int = 20, record: Bool = false) {
        self.bias = bias; self.stepsPerCharacter = stepsPerCharacter; self.finishingSteps = finishingSteps
        self.record = record
    }
}

/// One point the sampler keeps, as it is kept: what `SamplingObserver.point` is told.
public struct KeptPoint: Sendable {
    /// The line's index in the batch of texts given to `HandwritingSampler.write`.
    public var line: Int
    /// The offset from the line's previous kept point in the dataset's raw units (normalisation undone), y down, and
    /// whether the pen lifts after this point. The line's last point may still be marked a pen-up afterwards
    /// (`GeneratedLine.eos`).
    public var dx: Double, dy: Double, eos: Bool
    /// φ(t, u) for u = 1…U of the line's own text (a prime's text left out), and the mixture weights π_1…π_M
    /// after the bias; empty unless `WriteOptions.record` is on.
    public var phi: [Double], pi: [Double]
}

/// What a caller of `HandwritingSampler.write` may watch and steer while the lines are sampled: each kept point as
/// it is kept, and a check, asked before every pen step, that stops sampling early (a client that went away, a time
/// limit). Neither changes what is sampled: a line sampled to its end is the same with or without an observer.
public struct SamplingObserver {
    /// Called on the sampling thread for every kept point, in the order the points are kept.
    public var point: ((KeptPoint) -> Void)?
    /// Asked before every pen step (and every row of a prime); true stops every line of the batch there
    /// (`GeneratedLine.stopped`).
    public var shouldStop: (() -> Bool)?

    public init(point: ((KeptPoint) -> Void)? = nil, shouldStop: (() -> Bool)? = nil) {
        self.point = point; self.shouldStop = shouldStop
    }
}

/// Samples handwriting from a trained network, a batch of lines at a time.
public final class HandwritingSampler {
    public let model: HandwritingModel<Float>
    /// The model's alphabet (index 0 the unknown symbol) and text policy: texts are encoded scalar by scalar, as
    /// the training data's transcriptions were.
    public let alphabet: Alphabet
    public let stats: OffsetStatistics

    public init(model: HandwritingModel<Float>, alphabet: Alphabet, stats: OffsetStatistics) {
        self.model = model
        self.alphabet = alphabet
        self.stats = stats
    }

    /// The letter height (`StrokeGeometry.letterHeight`, twice the interquartile range of a line's levelled y) a
    /// line in the training data's hand has, in the dataset's raw units: `letterHeightPerStdDy` times the
    /// standard deviation of the data's dy. For laying out a page that has no letter to measure (a lone ".").
    public var typicalLetterHeight: Double { Self.letterHeightPerStdDy * stats.stdDy }

    /// Letter height over the standard deviation of dy, measured on IAM-OnDB at decimation 2 (the first 1,500
    /// lines of `iam_ondb_lines.jsonl`: median letter height 204 raw units, standard deviation of dy 57.5).
    public static let letterHeightPerStdDy = 3.5

    /// Whether priming material is finished: by the step that reads its last row (a pen-up), the window has left
    /// its text (Graves's rule, φ(t, U+1) above every φ(t, u ≤ U)) or its peak sits on the last character, with
    /// the network clamped to the prime's strokes. (A sample can end on its last character: the sampler ends a
    /// line when the pen sets off into a new word a step before the window leaves.) A prime cut short would make
    /// the network finish its last letters before writing anything new.
    public func primeIsFinished(_ prime: Prime) -> Bool {
        guard let window = model.window,
              let lastPenUp = prime.rows.indices.last(where: { $0 > 0 && prime.rows[$0].penUp }) else { return false }
        let encoded = encode(prime.text)
        let U = max(1, encoded.count)
        let ws = model.makeWorkspace(steps: 1, batch: 1, maxTextLength: U)
        // Invariant: a workspace has a window part whenever its model has a window (checked by the guard above).
        let wws = ws.window!
        wws.setText(row: 0, encoded)
        ws.resetState()
        ws.activeSteps = 1
        for t in 0...lastPenUp {
            advance(ws, inputs: [prime.rows[t]])
            if window.finished(0, row: 0, wws) { return true }
        }
        return window.focus(0, row: 0, wws) >= encoded.count - 1
    }

    /// Encodes text scalar by scalar; unknown characters become the alphabet's unknown symbol (index 0). Text a
    /// user gives is checked against the alphabet's policy first (`TextPreparation.prepare` or `line`).
    public func encode(_ text: String) -> [Int32] { alphabet.encode(text) }

    /// Where a line is in its life while it is sampled.
    private enum Phase {
        /// After a prime: the network may still be finishing the prime's last letters; nothing is kept until a
        /// stroke starts that is not a delayed stroke of the prime's letters.
        case skipping
        case writing
        /// The window has left the text; `left` steps remain to finish the last stroke.
        case finishing(left: Int)
        case done
    }

    /// Writes each line of `texts` (synthesis). Lines run together as one batch; line i draws from `rngs[i]` only,
    /// so a line's strokes do not depend on which other lines share its batch (up to the rounding of batched
    /// products).
    ///
    /// - Parameters:
    ///   - prime: strokes and text to imitate (Graves section 5.5); the network reads prime.text + " " + line,
    ///     is clamped to the prime's strokes, and what it writes is kept from the first stroke that does not start
    ///     back over the prime's ink (a delayed stroke finishing the prime's letters).
    /// - Returns: one line per text. A line ends when its writing ends after the window has left its text (see
    ///   `WriteOptions.finishingSteps`), or at the step cap (`finished` false).
    /// `progress`, when given, is called after each pen step with the number of lines finished so far; `observer`
    /// is told each kept point and may stop sampling before any step, the prime's included (every line then has
    /// `stopped` set).
    public func write(_ texts: [String], options: WriteOptions, rngs: inout [SeededGenerator],
                      prime: Prime? = nil, progress: ((Int) -> Void)? = nil,
                      observer: SamplingObserver? = nil) -> [GeneratedLine] {
        // Programmer invariants: callers load synthesis checkpoints only (`expecting: .synthesis`), and make one
        // generator per line.
        guard let window = model.window else {
            preconditionFailure("write needs a synthesis model (one with a window)")
        }
        precondition(rngs.count == texts.count, "write needs one generator per line")
        let B = texts.count
        guard B > 0 else { return [] }
        let start = prime.map { encode($0.text).count + 1 } ?? 0
        let encoded = conditioningTexts(texts, prime: prime)
        // Lengths in the unit of the encoding, scalars: a character of several scalars is several symbols.
        let lengths = encoded.map { $0.count - start }
        var lines = lengths.map { GeneratedLine(textLength: $0) }
        // Reading a style's few hundred rows takes as long as writing as many points: stop there too.
        guard let ws = primedWorkspace(encoded, prime: prime, shouldStop: observer?.shouldStop) else {
            for b in 0..<B { lines[b].stopped = true }
            return lines
        }
        let U = max(1, encoded.map(\.count).max() ?? 1)
        // Invariant: a workspace has a window part whenever its model has a window (the guard above).
        let wws = ws.window!
        var phase = [Phase](repeating: prime == nil ? .writing : .skipping, count: B)
        // Every training sequence starts with the row (0, 0, 0); a prime is fed row by row (clamped), and its last
        // row is the input of the first sampled step.
        let x0 = prime?.rows.last ?? .start
        var x = [OffsetRow](repeating: x0, count: B)
        // Pen lifted before the next point: true at the start of a line and after every sampled pen-up.
        var penUp = [Bool](repeating: prime.map { $0.rows.last?.penUp ?? true } ?? true, count: B)
        // The pen's x (raw units, 0 where sampling starts) and the rightmost ink so far, the prime's included: a
        // stroke that starts more than `margin` right of all ink is new writing; one that starts over the ink is a
        // delayed stroke (a t-cross, an i-dot) of what is written already.
        var penX = [Double](repeating: 0, count: B), penY = [Double](repeating: 0, count: B)
        // Where the pen was when the window left the text (the finishing steps' first point).
        var finishedAt = [Point](repeating: Point(x: 0, y: 0), count: B)
        var inputsUsed = [Int](repeating: 0, count: B)
        // Kept points written with the window on the last character.
        var wroteLast = [Int](repeating: 0, count: B)
        var rightmost = [Double](repeating: prime.map { primeReach($0) } ?? -Double.infinity, count: B)
        // A text that ends in a mark of one stroke (a full stop, a comma) has nothing left to add once the window
        // has left it: its last word's delayed strokes come before the mark, and a stroke started after it is the
        // beginning of a next sentence ("died." written "died.T").
        let endsInOneStroke = texts.map { $0.unicodeScalars.last.map(WriteOptions.oneStrokeMarks.contains) ?? false }
        // After a full stop the stroke under way is the dot: once the pen goes farther than `fullStopReach` letter
        // heights from where the window left the text, it is writing a next letter without lifting ("died.l").
        let endsInFullStop = texts.map { $0.unicodeScalars.last == "." }
        let dotReach = WriteOptions.fullStopReach * typicalLetterHeight
        // A text ending in a dash (a line `--wrap` hyphenated, "ok -"): the dash is a flat stroke begun right of the
        // ink after the last letter, often written before the window leaves the text; a stroke begun after it is a
        // letter of a next word ("machine-r", "then -1"), which the one-stroke rule above, waiting for the window
        // to leave, let through in 14 of 48 lines (2026-12-06, 6 texts × 8 seeds): it ends the line.
        let endsInDash = texts.map { $0.unicodeScalars.last == "-" }
        let afterLastLetter = texts.map { LineCheck.finalMarks(of: $0) ?? 0 }
        var dashStroke = [DashStroke?](repeating: nil, count: B)   // the stroke under way, while it may be the dash
        var dashWritten = [Bool](repeating: false, count: B)
        func fromFinish(_ b: Int) -> Double {
            let dx = penX[b] - finishedAt[b].x, dy = penY[b] - finishedAt[b].y
            return (dx * dx + dy * dy).squareRoot()
        }
        let step1 = max(stats.meanDx, 0.1 * stats.stdDx), margin = options.newWordMargin * step1
        let caps = lengths.map { options.stepsPerCharacter * ($0 + 1) + options.finishingSteps }
        for step in 0..<(caps.max() ?? 0) {
            if let stop = observer?.shouldStop, stop() {
                for b in 0..<B { lines[b].stopped = true }
                break
            }
            advance(ws, inputs: x)
            for b in 0..<B {
                if case .done = phase[b] { continue }
                if !outputIsFinite(ws, row: b) { lines[b].brokeDown = true; phase[b] = .done; continue }
                let (ndx, ndy, eos) = model.mixture.sample(ws.y.ptr + b * model.mixture.outputSize,
                                                           bias: options.bias, rng: &rngs[b])
                x[b] = OffsetRow(dx: Float(ndx), dy: Float(ndy), eos: eos ? 1 : 0)
                lines[b].inputs.append(x[b])
                let len = wws.lengths[b]
                let best = window.focus(0, row: b, wws)
                // Graves's rule: the window has moved past the text.
                let ruleFired = best == len
                let focus = best - start
                let raw = stats.denormalise(Point(x: ndx, y: ndy)), rawDx = raw.x, rawDy = raw.y
                let startsStroke = penUp[b]
                penUp[b] = eos
                penX[b] += rawDx
                penY[b] += rawDy
                let newWriting = startsStroke && penX[b] > rightmost[b] + margin
                // Once the text is written, a stroke is the last letters' only when it starts back over them.
                let beyondInk = startsStroke && penX[b] > rightmost[b] + step1
                switch phase[b] {
                case .writing where newWriting && wroteLast[b] >= 4, .writing where startsStroke && dashWritten[b]:
                    // The pen starts a new word: just before the window leaves the text, once the last character
                    // has ink (4 points or more), or after the dash of a text ending in one. (Where the window leaves
                    // the text at this step too, its case below would end the line the same way: a new word starts
                    // beyond the ink.)
                    lines[b].finished = true
                    lines[b].inputsWhenFinished = lines[b].inputs.count - 1
                    phase[b] = .done
                    continue
                case .skipping:
                    // The requested text begins with the first stroke that is not a delayed stroke of the prime's
                    // letters (those start back over its ink). The window's peak is not asked to have left the
                    // prime's text: it often still sits on its last character when the pen sets off into the first
                    // word, and the first letter would be lost.
                    if !(startsStroke && penX[b] > rightmost[b] - 2 * step1) {
                        rightmost[b] = max(rightmost[b], penX[b])
                        if step + 1 >= caps[b] { phase[b] = .done }
                        continue
                    }
                    phase[b] = .writing
                case .writing where ruleFired:
                    lines[b].finished = true
                    lines[b].inputsWhenFinished = lines[b].inputs.count - 1
                    // The window left the text as the pen started something new: the line is complete.
                    if beyondInk { phase[b] = .done; continue }
                    finishedAt[b] = Point(x: penX[b], y: penY[b])
                    phase[b] = options.finishingSteps > 0 ? .finishing(left: options.finishingSteps + 1) : .done
                case .finishing where beyondInk || (startsStroke && endsInOneStroke[b])
                        || (endsInFullStop[b] && fromFinish(b) > dotReach):
                    // The window has left the text and the pen starts something new (after a full stop, any new
                    // stroke, or the dot's stroke going on as a letter): the line is complete.
                    phase[b] = .done
                    continue
                default: break
                }
                let inkBefore = rightmost[b]
                rightmost[b] = max(rightmost[b], penX[b])
                lines[b].dx.append(rawDx)
                lines[b].dy.append(rawDy)
                lines[b].eos.append(eos)
                inputsUsed[b] = lines[b].inputs.count
                if focus >= lines[b].textLength - 1 { wroteLast[b] += 1 }
                if endsInDash[b] {
                    if startsStroke {
                        // Not begun back over the ink, as a t-cross would be.
                        dashStroke[b] = penX[b] > inkBefore - step1 ? DashStroke(x: penX[b], y: penY[b]) : nil
                    } else {
                        dashStroke[b]?.extend(x: penX[b], y: penY[b])
                    }
                    // Written, at least in part, once the window had passed the last letter.
                    if focus >= afterLastLetter[b] { dashStroke[b]?.pastLastLetter = true }
                    if eos, let d = dashStroke[b], d.isDash(letterHeight: typicalLetterHeight) { dashWritten[b] = true }
                }
                // Past the text φ is vanishingly small everywhere and its peak means nothing.
                lines[b].focus.append(lines[b].finished ? lines[b].textLength : focus)
                if options.record {
                    let phi = wws.phi.ptr + b * (U + 1)
                    lines[b].phi.append((0..<len).map { Double(phi[$0]) })
                    let w = window.window(at: 0, wws) + b * alphabet.count
                    lines[b].windowWeights.append((0..<alphabet.count).map { Double(w[$0]) })
                    // The same weights `sample` drew the component from (no random numbers are drawn here).
                    lines[b].pi.append(model.mixture.parameters(ws.y.ptr + b * model.mixture.outputSize,
                                                                bias: options.bias).weights)
                }
                if let observe = observer?.point {
                    observe(KeptPoint(line: b, dx: rawDx, dy: rawDy, eos: eos,
                                      phi: Array((lines[b].phi.last ?? []).suffix(lines[b].textLength)),
                                      pi: lines[b].pi.last ?? []))
                }
                if case let .finishing(left) = phase[b] {
                    phase[b] = left > 1 ? .finishing(left: left - 1) : .done
                }
                if step + 1 >= caps[b] { phase[b] = .done }
            }
            let done = phase.reduce(0) { n, p in if case .done = p { return n + 1 } else { return n } }
            progress?(done)
            if done == B { break }
        }
        for b in 0..<B {
            if let last = lines[b].eos.indices.last { lines[b].eos[last] = true }
            // What came after the last kept point (the start of new writing) is not part of the line.
            lines[b].inputs.removeLast(lines[b].inputs.count - inputsUsed[b])
        }
        return lines
    }

    /// How far right of its last point a prime's ink reaches, in raw units (≥ 0).
    private func primeReach(_ prime: Prime) -> Double {
        var x = 0.0, reach = 0.0
        for row in prime.rows.dropFirst() {
            x += stats.denormalise(row.offset).x
            reach = max(reach, x)
        }
        return reach - x
    }

    /// Writes each line of `texts` with one generator: line i draws from `SeededGenerator(seed:
    /// SeededGenerator.derivedSeed(seed, i))`.
    public func write(_ texts: [String], options: WriteOptions, seed: UInt64, prime: Prime? = nil) -> [GeneratedLine] {
        var rngs = texts.indices.map { SeededGenerator(seed: SeededGenerator.derivedSeed(seed, UInt64($0))) }
        return write(texts, options: options, rngs: &rngs, prime: prime)
    }

    /// Unconditional handwriting from the prediction network, with the mixture parameters of every step.
    public func sample(steps: Int, bias: Double, rng: inout SeededGenerator)
        -> (line: GeneratedLine, parameters: [MixtureDensity.Parameters]) {
        var params = [MixtureDensity.Parameters]()
        let ws = model.makeWorkspace(steps: 1, batch: 1)
        ws.resetState()
        ws.activeSteps = 1
        var line = GeneratedLine()
        line.finished = true
        var x = OffsetRow.start
        for _ in 0..<steps {
            advance(ws, inputs: [x])
            if !outputIsFinite(ws, row: 0) { line.brokeDown = true; break }
            params.append(model.mixture.parameters(ws.y.ptr, bias: bias))
            let (dx, dy, eos) = model.mixture.sample(ws.y.ptr, bias: bias, rng: &rng)
            x = OffsetRow(dx: Float(dx), dy: Float(dy), eos: eos ? 1 : 0)
            let raw = stats.denormalise(Point(x: dx, y: dy))
            line.dx.append(raw.x)
            line.dy.append(raw.y)
            line.eos.append(eos)
            line.inputs.append(x)
        }
        if !line.eos.isEmpty { line.eos[line.eos.count - 1] = true }
        return (line, params)
    }

    /// Whether the mixture outputs of batch row `row` (the last step's) are all finite numbers.
    private func outputIsFinite(_ ws: HandwritingWorkspace<Float>, row: Int) -> Bool {
        let W = model.mixture.outputSize, y = ws.y.ptr + row * W
        return (0..<W).allSatisfy { y[$0].isFinite }
    }

    /// Each line's text as the window reads it: `prime.text + " " + text` (the text alone without a prime), encoded.
    func conditioningTexts(_ texts: [String], prime: Prime?) -> [[Int32]] {
        texts.map { line in prime.map { encode($0.text + " " + line) } ?? encode(line) }
    }

    /// A batch-1-step workspace for `encoded.count` lines, its window over `encoded`, reset and fed every row of
    /// `prime` but the last (the input of the first step after it), or nil when `shouldStop`, asked before each
    /// row, returned true.
    func primedWorkspace(_ encoded: [[Int32]], prime: Prime?,
                         shouldStop: (() -> Bool)?) -> HandwritingWorkspace<Float>? {
        let B = encoded.count
        let ws = model.makeWorkspace(steps: 1, batch: B, maxTextLength: max(1, encoded.map(\.count).max() ?? 1))
        // Invariant: callers hold a synthesis model, and its workspaces have a window part.
        let wws = ws.window!
        for (b, chars) in encoded.enumerated() { wws.setText(row: b, chars) }
        ws.resetState()
        ws.activeSteps = 1
        for row in prime?.rows.dropLast() ?? [] {
            if let stop = shouldStop, stop() { return nil }
            // A prime row's mixture outputs are never read: only the state moves on (the same state, so the same
            // samples after it, as with the head run).
            advance(ws, inputs: [OffsetRow](repeating: row, count: B), output: false)
        }
        return ws
    }

    /// Feeds one step of inputs and moves the state on. The outputs are in `ws.y`; without `output` they are not
    /// computed (`HandwritingModel.forwardState`) and `ws.y` keeps the last ones.
    @discardableResult
    func advance(_ ws: HandwritingWorkspace<Float>, inputs: [OffsetRow], output: Bool = true) -> UnsafeMutablePointer<Float> {
        for (b, v) in inputs.enumerated() {
            ws.inputs[3 * b] = v.dx; ws.inputs[3 * b + 1] = v.dy; ws.inputs[3 * b + 2] = v.eos
        }
        if output { model.forward(ws) } else { model.forwardState(ws) }
        ws.stack.carryState()
        return ws.y.ptr
    }
}

/// The extent of a stroke that may be a dash (`HandwritingSampler.write`), in raw units.
struct DashStroke {
    var minX, maxX, minY, maxY: Double
    var pastLastLetter = false

    init(x: Double, y: Double) { minX = x; maxX = x; minY = y; maxY = y }

    mutating func extend(x: Double, y: Double) {
        minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
    }

    /// A dash: written, at least in part, once the window had passed the last letter, at most 0.2 letter heights
    /// high and at least 0.04 wide. Measured with the bundled model (2026-12-06, 48 lines ending in "-"): dashes
    /// 0.06–1.0 wide and at most 0.08 high, the letters written after them 0.53–1.05 high.
    func isDash(letterHeight h: Double) -> Bool {
        pastLastLetter && maxY - minY <= 0.2 * h && maxX - minX >= 0.04 * h
    }
}
