import Foundation
import QuillData
import QuillNN
import QuillNumerics

// MARK: - Per-unit values over a text (`quill char cells`, issue 16 item 1)

extension CharInspection {
    /// What a unit shows at a step: its cell state, hidden state or one of its gates (after the gate's nonlinearity).
    public enum CellValue: String, CaseIterable, Codable, Sendable {
        /// c_t (LSTM only).
        case cell
        /// h_t (every cell).
        case hidden
        /// LSTM input gate i_t.
        case input
        /// LSTM forget gate f_t.
        case forget
        /// LSTM candidate g_t = tanh(…), GRU candidate n_t.
        case candidate
        /// LSTM output gate o_t.
        case output
        /// GRU reset gate r_t.
        case reset
        /// GRU update gate z_t.
        case update

        /// The values a layer of `kind` has, in this order.
        public static func available(for kind: CellKind) -> [CellValue] {
            switch kind {
            case .lstm, .phasedLSTM: return [.cell, .hidden, .input, .forget, .candidate, .output]
            case .gru: return [.hidden, .reset, .update, .candidate]
            case .rnn, .rnnRelu, .mrnn: return [.hidden]
            case .tcn, .nnn: return []
            }
        }

        /// The gate block in the cell's gate order (LSTM i, f, g, o; GRU r, z, n), nil for states.
        func gateBlock(_ kind: CellKind) -> Int? {
            switch (kind, self) {
            case (.lstm, .input), (.phasedLSTM, .input): return 0
            case (.lstm, .forget), (.phasedLSTM, .forget): return 1
            case (.lstm, .candidate), (.phasedLSTM, .candidate): return 2
            case (.lstm, .output), (.phasedLSTM, .output): return 3
            case (.gru, .reset): return 0
            case (.gru, .update): return 1
            case (.gru, .candidate): return 2
            default: return nil
            }
        }

        /// The range its values take: gates in [0, 1], tanh outputs in [−1, 1], nil for an unbounded cell state (and
        /// a ReLU RNN's hidden state).
        public func bounds(_ kind: CellKind) -> ClosedRange<Double>? {
            switch self {
            case .cell: return nil
            case .hidden: return kind == .rnnRelu ? nil : -1...1
            case .candidate: return -1...1
            case .input, .forget, .output, .reset, .update: return 0...1
            }
        }
    }

    /// Checks that `layer` (counted from 0) and `unit` (from 0) exist in `config` and that its cell has `value`.
    /// - Throws: `CharModelError.invalidOption` naming the option (`--layer` counts from 1 on the command line) and
    ///   the valid range or values.
    public static func checkUnit(_ config: CharModelConfig, layer: Int?, unit: Int?, value: CellValue) throws {
        guard config.cell.isRecurrent else {
            throw CharModelError.invalidOption("the char inspection commands look at recurrent units; \(config.cell.rawValue) models have none (train an lstm, gru, rnn, mrnn or phased-lstm)")
        }
        if let layer, !(0..<config.layers).contains(layer) {
            throw CharModelError.invalidOption("--layer \(layer + 1) doesn't exist: the model has \(config.layers) layer\(config.layers == 1 ? "" : "s") (1…\(config.layers))")
        }
        if let unit, !(0..<config.hidden).contains(unit) {
            throw CharModelError.invalidOption("--unit \(unit) doesn't exist: each layer has \(config.hidden) units (0…\(config.hidden - 1))")
        }
        let values = CellValue.available(for: config.cell)
        guard values.contains(value) else {
            throw CharModelError.invalidOption("--value \(value.rawValue): a \(config.cell.rawValue) layer has no such value; choose \(values.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Every unit's `value` at every step of `text`, for each layer in `layers` (counted from 0): `[layer][unit][t]`,
    /// the layers in the order given, t the step that has just read character t. Recorded through `trace`, the plain
    /// forward pass.
    /// - Throws: `CharModelError` for an empty text, characters the vocabulary lacks (named), a layer that doesn't
    ///   exist or a value the cell lacks.
    public static func unitValues(_ model: CharModel<Float>, alphabet: Alphabet, text: String, layers: [Int],
                                  value: CellValue) throws -> [[[Float]]] {
        for l in layers { try checkUnit(model.config, layer: l, unit: nil, value: value) }
        let tokens = try encode(text, alphabet: alphabet, what: "the text")
        let H = model.config.hidden, kind = model.config.cell, T = tokens.count
        var slot = [Int](repeating: -1, count: model.config.layers)
        for (k, l) in layers.enumerated() { slot[l] = k }
        var out = [[[Float]]](repeating: [[Float]](repeating: [Float](repeating: 0, count: T), count: H),
                              count: layers.count)
        let block = value.gateBlock(kind)
        trace(model, rows: [tokens]) { t, step in
            let k = slot[step.layer]
            guard k >= 0 else { return }
            let source: UnsafeBufferPointer<Float>
            if let block {
                source = UnsafeBufferPointer(rebasing: step.gates(0)[(block * H)..<((block + 1) * H)])
            } else if value == .cell, let c = step.c(0) {
                source = c
            } else {
                source = step.h(0)
            }
            for j in 0..<H { out[k][j][t] = source[j] }
        }
        return out
    }
}

// MARK: - Features of the text

/// Simple per-character features of a text that interpretable units track (Karpathy, Johnson and Fei-Fei 2016,
/// "Visualizing and understanding recurrent networks", Sec. 4.2). Each is a number per character, describing the
/// text as read up to and including that character, so it lines up with the state after that step.
public enum TextFeature: String, CaseIterable, Codable, Sendable {
    /// 1 between an opening quote and its closing one: `"` toggles, `“` opens, `”` closes; the opening quote itself
    /// is inside, the closing one is not.
    case insideQuotes = "inside quotes"
    /// 1 while more `(` than `)` have been read (unmatched `)` are ignored); `(` is inside, the last `)` is not.
    case insideParentheses = "inside parentheses"
    /// The column of the character in its line, from 0 (the newline ending a line has the line's length).
    case positionInLine = "position in line"
    /// 1 for the first character of every line but the first (the character just after a newline).
    case afterNewline = "after a newline"

    /// The feature's value per character of `chars`.
    public func values(_ chars: [Character]) -> [Double] {
        var out = [Double](repeating: 0, count: chars.count)
        switch self {
        case .insideQuotes:
            var inside = false
            for (t, ch) in chars.enumerated() {
                switch ch {
                case "\"": inside.toggle()
                case "“": inside = true
                case "”": inside = false
                default: break
                }
                out[t] = inside ? 1 : 0
            }
        case .insideParentheses:
            var depth = 0
            for (t, ch) in chars.enumerated() {
                if ch == "(" { depth += 1 } else if ch == ")" { depth = max(0, depth - 1) }
                out[t] = depth > 0 ? 1 : 0
            }
        case .positionInLine:
            var column = 0
            for (t, ch) in chars.enumerated() {
                out[t] = Double(column)
                column = ch == "\n" ? 0 : column + 1
            }
        case .afterNewline:
            for t in chars.indices.dropFirst() where chars[t - 1] == "\n" { out[t] = 1 }
        }
        return out
    }
}

// MARK: - Ranking units by correlation

/// One unit's Pearson correlation with a feature.
public struct UnitCorrelation: Codable, Equatable, Sendable {
    /// Counted from 0.
    public var layer: Int
    /// Counted from 0.
    public var unit: Int
    /// Pearson's r, in [−1, 1].
    public var r: Double

    public init(layer: Int, unit: Int, r: Double) {
        self.layer = layer
        self.unit = unit
        self.r = r
    }
}

extension CharInspection {
    /// Pearson's correlation coefficient of `x` and `y` (equal lengths), accumulated in Double in two passes (means,
    /// then centred sums); nil when either is constant (or there are fewer than 2 values), where r is undefined.
    public static func pearson(_ x: [Float], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "pearson needs equal lengths")
        let n = x.count
        guard n >= 2 else { return nil }
        var mx = 0.0, my = 0.0
        for i in 0..<n { mx += Double(x[i]); my += y[i] }
        mx /= Double(n)
        my /= Double(n)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in 0..<n {
            let a = Double(x[i]) - mx, b = y[i] - my
            sxy += a * b
            sxx += a * a
            syy += b * b
        }
        guard sxx > 0, syy > 0 else { return nil }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// The `top` units of `values` (`[layer][unit][t]`, layer k standing for `layers[k]`) with the largest |r| with
    /// `feature` (one value per step), best first; ties go to the lower layer, then unit. Constant units are skipped;
    /// a constant feature gives none.
    public static func rankUnits(_ values: [[[Float]]], layers: [Int], feature: [Double], top: Int) -> [UnitCorrelation] {
        var all = [UnitCorrelation]()
        for (k, layer) in values.enumerated() {
            for (j, unit) in layer.enumerated() {
                if let r = pearson(unit, feature) { all.append(UnitCorrelation(layer: layers[k], unit: j, r: r)) }
            }
        }
        all.sort { a, b in
            abs(a.r) != abs(b.r) ? abs(a.r) > abs(b.r) : (a.layer, a.unit) < (b.layer, b.unit)
        }
        return Array(all.prefix(max(0, top)))
    }

    /// The `top` units of one layer's `values` (`[unit][t]`) that vary most over the text (largest standard
    /// deviation), best first, ties to the lower unit.
    public static func mostVariable(_ values: [[Float]], top: Int) -> [Int] {
        let sd = values.map { v -> Double in
            let m = v.reduce(0.0) { $0 + Double($1) } / Double(max(v.count, 1))
            return v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) }
        }
        return Array(sd.indices.sorted { sd[$0] != sd[$1] ? sd[$0] > sd[$1] : $0 < $1 }.prefix(max(0, top)))
    }
}
