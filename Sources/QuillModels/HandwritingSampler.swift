import QuillData
import QuillNN
import QuillNumerics

/// One line of generated handwriting.
public struct GeneratedLine: Sendable {
    /// Offsets in the dataset's raw units (normalisation undone), one row per point: (dx, dy, eos).
    public var dx: [Double]
    public var dy: [Double]
    public var eos: [Bool]
    /// φ(t, u) for every generated step (rows) and character u = 1…U (columns), synthesis only.
    public var phi: [[Double]]
    /// The window weights w_t over the alphabet for every generated step, synthesis only.
    public var windowWeights: [[Double]]
    /// True when Graves's stopping rule ended the line; false when it hit the step cap.
    public var finished: Bool

    /// The line as absolute strokes (pen-down segments), starting at the origin; y as in the dataset (down).
    public var strokes: [[(x: Double, y: Double)]] {
        var out = [[(x: Double, y: Double)]](), cur = [(x: Double, y: Double)]()
        var x = 0.0, y = 0.0
        for i in 0..<dx.count {
            x += dx[i]; y += dy[i]
            cur.append((x, y))
            if eos[i] { out.append(cur); cur = [] }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }
}

/// Priming material (Graves section 5.5): strokes in the model's normalised offset form and their text.
public struct Prime: Sendable {
    /// Rows (dx, dy, eos), normalised like the training data; row 0 is (0, 0, eos).
    public var rows: [(Float, Float, Float)]
    /// The prime's transcription.
    public var text: String

    public init(rows: [(Float, Float, Float)], text: String) { self.rows = rows; self.text = text }
}

/// Samples handwriting from a trained network, a batch of lines at a time.
public final class HandwritingSampler {
    public let model: HandwritingModel<Float>
    public let alphabet: [String]
    public let stats: OffsetStatistics
    private let index: [String: Int32]

    public init(model: HandwritingModel<Float>, alphabet: [String], stats: OffsetStatistics) {
        self.model = model
        self.alphabet = alphabet
        self.stats = stats
        var idx = [String: Int32]()
        for (i, s) in alphabet.enumerated() where idx[s] == nil { idx[s] = Int32(i) }
        index = idx
    }

    /// The characters of `text` the alphabet lacks, in order of first appearance.
    public func unknownCharacters(in text: String) -> [Character] {
        var seen = Set<Character>(), out = [Character]()
        for c in text where index[String(c)] == nil && !seen.contains(c) { seen.insert(c); out.append(c) }
        return out
    }

    /// Encodes text; unknown characters become the alphabet's unknown symbol (index 0).
    public func encode(_ text: String) -> [Int32] { text.map { index[String($0)] ?? 0 } }

    /// Writes each line of `texts` (synthesis). Lines run together as one batch.
    /// - Parameters:
    ///   - bias: Graves's sampling bias b (0: unbiased; 1 or more: neat).
    ///   - stepsPerCharacter: the step cap is this × the text length (prime excluded).
    ///   - prime: strokes and text to imitate; the text written is prime.text + " " + line.
    public func write(_ texts: [String], bias: Double, rng: inout SeededGenerator, stepsPerCharacter: Int = 40,
                      prime: Prime? = nil, record: Bool = true) -> [GeneratedLine] {
        precondition(model.window != nil, "write needs a synthesis model")
        let B = texts.count
        let fullTexts = texts.map { line in prime.map { $0.text + " " + line } ?? line }
        let encoded = fullTexts.map(encode)
        let U = max(1, encoded.map(\.count).max() ?? 1)
        let ws = model.makeWorkspace(steps: 1, batch: B, maxTextLength: U)
        for (b, chars) in encoded.enumerated() { ws.window!.setText(row: b, chars) }
        ws.resetState()
        ws.activeSteps = 1
        var lines = [GeneratedLine](repeating: GeneratedLine(dx: [], dy: [], eos: [], phi: [], windowWeights: [], finished: false),
                                    count: B)
        var done = [Bool](repeating: false, count: B)
        // Every training sequence starts with the row (0, 0, 0); a prime is fed row by row (clamped), and its last
        // row is the input of the first sampled step.
        var x = [(Float, Float, Float)](repeating: (0, 0, 0), count: B)
        if let prime, let last = prime.rows.last {
            for row in prime.rows.dropLast() { advance(ws, inputs: [(Float, Float, Float)](repeating: row, count: B)) }
            x = [(Float, Float, Float)](repeating: last, count: B)
        }
        let cap = stepsPerCharacter * max(1, texts.map(\.count).max() ?? 1)
        for _ in 0..<cap {
            advance(ws, inputs: x)
            for b in 0..<B where !done[b] {
                let (dx, dy, eos) = model.mixture.sample(ws.y.ptr + b * model.mixture.outputSize, bias: bias, rng: &rng)
                x[b] = (Float(dx), Float(dy), eos ? 1 : 0)
                lines[b].dx.append(dx * stats.stdDx + stats.meanDx)
                lines[b].dy.append(dy * stats.stdDy + stats.meanDy)
                lines[b].eos.append(eos)
                if record, let wws = ws.window {
                    let len = wws.lengths[b]
                    let phi = wws.phi.ptr + b * (U + 1)
                    lines[b].phi.append((0..<len).map { Double(phi[$0]) })
                    let w = model.window!.window(at: 0, wws) + b * alphabet.count
                    lines[b].windowWeights.append((0..<alphabet.count).map { Double(w[$0]) })
                }
                if model.window!.finished(0, row: b, ws.window!) {
                    done[b] = true
                    lines[b].finished = true
                    lines[b].eos[lines[b].eos.count - 1] = true
                }
            }
            if done.allSatisfy({ $0 }) { break }
        }
        for b in 0..<B where !lines[b].eos.isEmpty { lines[b].eos[lines[b].eos.count - 1] = true }
        return lines
    }

    /// Unconditional handwriting from the prediction network, with the mixture parameters of every step.
    public func sample(steps: Int, bias: Double, rng: inout SeededGenerator)
        -> (line: GeneratedLine, parameters: [MixtureDensity.Parameters]) {
        var params = [MixtureDensity.Parameters]()
        let ws = model.makeWorkspace(steps: 1, batch: 1)
        ws.resetState()
        ws.activeSteps = 1
        var line = GeneratedLine(dx: [], dy: [], eos: [], phi: [], windowWeights: [], finished: true)
        var x: (Float, Float, Float) = (0, 0, 0)
        for _ in 0..<steps {
            advance(ws, inputs: [x])
            params.append(model.mixture.parameters(ws.y.ptr, bias: bias))
            let (dx, dy, eos) = model.mixture.sample(ws.y.ptr, bias: bias, rng: &rng)
            x = (Float(dx), Float(dy), eos ? 1 : 0)
            line.dx.append(dx * stats.stdDx + stats.meanDx)
            line.dy.append(dy * stats.stdDy + stats.meanDy)
            line.eos.append(eos)
        }
        if !line.eos.isEmpty { line.eos[line.eos.count - 1] = true }
        return (line, params)
    }

    /// Feeds one step of inputs and moves the state on. The outputs are in `ws.y`.
    @discardableResult
    func advance(_ ws: HandwritingWorkspace<Float>, inputs: [(Float, Float, Float)]) -> UnsafeMutablePointer<Float> {
        for (b, v) in inputs.enumerated() {
            ws.inputs[3 * b] = v.0; ws.inputs[3 * b + 1] = v.1; ws.inputs[3 * b + 2] = v.2
        }
        model.forward(ws)
        ws.layers.forEach { $0.carryState(after: 1) }
        ws.window?.carryState(after: 1)
        return ws.y.ptr
    }
}
