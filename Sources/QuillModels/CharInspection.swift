import Foundation
import QuillData
import QuillNN
import QuillNumerics

/// Looking inside a char model (issue 16): its states and gates step by step over a text, through the plain forward
/// pass (no other code path computes them), chunk by chunk with the state carried, so a long text needs memory for one
/// chunk only.
public enum CharInspection {
    /// One layer at one step: views into the forward pass's workspace, valid during the visit only.
    public struct LayerStep {
        public let layer: Int
        public let kind: CellKind
        let ws: RecurrentWorkspace<Float>
        let local: Int

        /// h_t of batch row `b`: H values.
        public func h(_ b: Int) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(start: ws.hStep(local + 1) + b * ws.hidden, count: ws.hidden)
        }
        /// c_t of batch row `b` (LSTM), nil for other cells.
        public func c(_ b: Int) -> UnsafeBufferPointer<Float>? {
            ws.c.map { UnsafeBufferPointer(start: $0.ptr + ((local + 1) * ws.batch + b) * ws.hidden, count: ws.hidden) }
        }
        /// The activated gates of batch row `b`, G = gates·H values in the cell's order: LSTM (i, f, g, o), GRU
        /// (r, z, n); for RNN cells the pre-activation (one block).
        public func gates(_ b: Int) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(start: ws.pre.ptr + (local * ws.batch + b) * ws.gateWidth, count: ws.gateWidth)
        }
    }

    /// Runs `model` over `rows` (token sequences of one length, one batch row each) and calls `visit(t, step)` for
    /// every step t = 0… and layer, after the step's forward pass. Dropout is off.
    /// - Precondition: `rows` is not empty and its sequences have one length. A tcn or nnn model has no recurrent
    ///   layers to visit (`requireRecurrent`); its logits are reported all the same.
    /// `logits`, when given, is called for every step t and batch row b with the output layer's logits (V values,
    /// before the softmax) of the character after t.
    public static func trace(_ model: CharModel<Float>, rows: [[Int32]], chunk: Int = 256,
                             visit: (_ t: Int, _ step: LayerStep) -> Void,
                             logits: ((_ t: Int, _ b: Int, _ logits: UnsafeBufferPointer<Float>) -> Void)? = nil) {
        precondition(!rows.isEmpty && Set(rows.map(\.count)).count == 1, "trace needs rows of one length")
        let T = rows[0].count, B = rows.count
        var state: CharState<Float>?
        var start = 0
        var rng = SeededGenerator(seed: 0)
        while start < T {
            let n = min(chunk, T - start)
            let ws = model.makeWorkspace(steps: n, batch: B)
            if let state { ws.setState(state) } else { ws.resetState() }
            var inputs = [Int32](repeating: 0, count: n * B)
            for t in 0..<n { for b in 0..<B { inputs[t * B + b] = rows[b][start + t] } }
            model.forward(inputs, ws, dropout: 0, rng: &rng)
            for t in 0..<n {
                for (l, lws) in (ws.stack?.layers ?? []).enumerated() {
                    visit(start + t, LayerStep(layer: l, kind: model.config.cell, ws: lws, local: t))
                }
                if let logits {
                    let V = model.config.vocabularySize
                    for b in 0..<B {
                        logits(start + t, b, UnsafeBufferPointer(start: ws.logits.ptr + (t * B + b) * V, count: V))
                    }
                }
            }
            ws.carryState()
            state = ws.state()
            start += n
        }
    }

    /// The typo experiment (note 001): the Euclidean distance between the hidden states of two runs over `text`, one
    /// with the character at `position` replaced by `replacement`, per layer and step: `[layer][t]`, exactly 0 before
    /// `position`.
    /// - Throws: `CharModelError` when the text (or the replacement) has characters the vocabulary lacks, or when the
    ///   position is outside the text or the replacement is the character already there.
    public static func typoDistances(_ model: CharModel<Float>, alphabet: Alphabet, text: String, position: Int,
                                     replacement: Character) throws -> [[Double]] {
        try requireRecurrent(model, "the typo experiment")
        let tokens = try encode(text, alphabet: alphabet, what: "the text")
        guard (0..<tokens.count).contains(position) else {
            throw CharModelError.invalidOption("--at \(position) is outside the text (\(tokens.count) characters; positions 0…\(tokens.count - 1))")
        }
        let r = try encode(String(replacement), alphabet: alphabet, what: "--typo")
        guard r.count == 1 else { throw CharModelError.invalidOption("--typo must be one character") }
        guard r[0] != tokens[position] else {
            throw CharModelError.invalidOption("--typo \(TextPreparation.shown(replacement)) is the character already at position \(position); choose another")
        }
        var typo = tokens
        typo[position] = r[0]
        var distances = [[Double]](repeating: [Double](repeating: 0, count: tokens.count), count: model.config.layers)
        trace(model, rows: [tokens, typo]) { t, step in
            let a = step.h(0), b = step.h(1)
            var d = 0.0
            for j in 0..<a.count { let x = Double(a[j]) - Double(b[j]); d += x * x }
            distances[step.layer][t] = d.squareRoot()
        }
        return distances
    }

    /// How often each gate of each unit is saturated over a text (Karpathy, Johnson and Fei-Fei 2016, Fig. 3).
    public struct Saturation: Codable, Equatable, Sendable {
        public var layer: Int
        /// "input", "forget", "output" (LSTM); "reset", "update" (GRU).
        public var gate: String
        /// Per unit: the fraction of steps the gate was below 0.1 (left-saturated) and above 0.9 (right-saturated).
        public var left: [Double]
        public var right: [Double]
    }

    /// The gates the saturation figure shows, with their block in the cell's gate order.
    static func sigmoidGates(_ kind: CellKind) -> [(name: String, block: Int)] {
        switch kind {
        case .lstm, .phasedLSTM: return [("input", 0), ("forget", 1), ("output", 3)]
        case .gru: return [("reset", 0), ("update", 1)]
        case .rnn, .rnnRelu, .mrnn, .tcn, .nnn: return []
        }
    }

    /// Gate saturation of every LSTM or GRU layer over `text`.
    /// - Throws: `CharModelError` for a text the vocabulary can't read, or a cell without gates (RNN).
    public static func saturation(_ model: CharModel<Float>, alphabet: Alphabet, text: String) throws -> [Saturation] {
        // Gates first: of the cells without them (rnn, mrnn, tcn, …) none can be measured, recurrent or not.
        let gates = sigmoidGates(model.config.cell)
        guard !gates.isEmpty else {
            throw CharModelError.invalidOption("a \(model.config.cell.rawValue) layer has no gates; gate saturation needs an lstm, gru or phased-lstm model")
        }
        try requireRecurrent(model, "gate saturation")
        let tokens = try encode(text, alphabet: alphabet, what: "the text")
        let H = model.config.hidden, L = model.config.layers
        var left = [[[Int]]](repeating: [[Int]](repeating: [Int](repeating: 0, count: H), count: gates.count), count: L)
        var right = left
        trace(model, rows: [tokens]) { _, step in
            let g = step.gates(0)
            for (k, gate) in gates.enumerated() {
                for j in 0..<H {
                    let v = g[gate.block * H + j]
                    if v < 0.1 { left[step.layer][k][j] += 1 } else if v > 0.9 { right[step.layer][k][j] += 1 }
                }
            }
        }
        let n = Double(tokens.count)
        return (0..<L).flatMap { l in
            gates.enumerated().map { k, gate in
                Saturation(layer: l, gate: gate.name, left: left[l][k].map { Double($0) / n },
                           right: right[l][k].map { Double($0) / n })
            }
        }
    }

    /// - Throws: `CharModelError.invalidOption` when `model` is a tcn or nnn model, which has no recurrent units for
    ///   `what` to look at.
    public static func requireRecurrent(_ model: CharModel<Float>, _ what: String) throws {
        guard model.config.cell.isRecurrent else {
            throw CharModelError.invalidOption("\(what) looks at recurrent units; \(model.config.cell.rawValue) models have none (train an lstm, gru, rnn, mrnn or phased-lstm)")
        }
    }

    /// `text` as tokens of `alphabet`.
    /// - Throws: `CharModelError` when the text is empty or has characters the alphabet lacks (named, as `what`).
    public static func encode(_ text: String, alphabet: Alphabet, what: String) throws -> [Int32] {
        guard !text.isEmpty else { throw CharModelError.invalidOption("\(what) is empty") }
        let unknown = alphabet.unknownCharacters(in: text)
        guard unknown.isEmpty else { throw CharModelError.unknownCharacters(what, unknown) }
        return alphabet.encode(text)
    }
}
