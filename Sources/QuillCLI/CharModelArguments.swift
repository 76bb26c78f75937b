import ArgumentParser
import QuillModels
import QuillNN

/// The architecture flags of `char train`, left out on --resume (the checkpoint's are kept); defaults are
/// `CharModelConfig`'s.
struct CharModelArguments: ParsableArguments {
    static let defaults = CharTrainOptions.defaults.model

    @Option(help: .text("Cell: lstm, gru, rnn, rnn-relu, mrnn (Sutskever et al.'s multiplicative RNN), phased-lstm (Neil et al.'s time-gated LSTM); or the feed-forward baselines tcn (WaveNet-style dilated causal convolutions, see --dilations) and nnn (a network over the last --context characters).",
                        default: defaults.cell.rawValue))
    var cell: CellKind?
    @Option(help: .text("Number of layers (1…32); for tcn, one block per dilation, so it defaults to their count.",
                        default: defaults.layers)) var layers: Int?
    @Option(help: .text("Units per layer (1…16384).", default: defaults.hidden)) var hidden: Int?
    @Option(help: .text("Embedding size (0…16384); 0 for one-hot input.",
                        default: defaults.embedding)) var embedding: Int?
    @Option(help: .text("Dropout between layers and before the output, at least 0 and less than 1.",
                        default: defaults.dropout)) var dropout: Double?
    @Flag(name: .customLong("skip"), help: "Graves's skip connections (input to every layer, every layer to the output).") var skip = false
    @Flag(help: "Graves's peephole connections in the LSTM cells (eqs. 7–11).") var peepholes = false
    @Option(help: .text("Initial bias of the LSTM forget gates (-10…10); the other biases start at 0.",
                        default: defaults.forgetBias)) var forgetBias: Double?
    @Option(help: "The MRNN's factors F per layer (1…16384); default: as many as --hidden.") var factors: Int?
    @Flag(help: "Train the Phased LSTM's periods τ too (its shifts and open ratios are always trained).")
    var learnPeriods = false
    @Flag(help: "Layer-normalised LSTM layers (Ba et al. 2016): the input and recurrent products and the cell state.")
    var layerNorm = false
    @Option(help: .text("The n-NN's context: the characters its first layer reads (1…256).",
                        default: CharModelConfig.defaultContext)) var context: Int?
    @Option(help: .text("The TCN's dilations, one gated block each (kernel 2), strictly increasing, each 1…65536; the receptive field is 1 + their sum.",
                        default: CharModelConfig.defaultDilations.map(String.init).joined(separator: ",")))
    var dilations: String?

    /// `--dilations` as numbers.
    var dilationList: [Int]? {
        get throws {
            try dilations.map { text in
                if text.trimmingCharacters(in: .whitespaces).isEmpty {
                    throw ValidationError("--dilations is empty: give at least one, for example 1,2,4,8")
                }
                return try text.split(separator: ",", omittingEmptySubsequences: false).map {
                    let part = $0.trimmingCharacters(in: .whitespaces)
                    guard let d = Int(part) else {
                        throw ValidationError("--dilations \(text): '\(part)' is not a whole number; give them like 1,2,4,8")
                    }
                    return d
                }
            }
        }
    }

    func validate() throws {
        try OptionRange.check("layers", layers, 1...32)
        try OptionRange.check("hidden", hidden, 1...16384)
        try OptionRange.check("embedding", embedding, 0...16384)
        try OptionRange.check("dropout", dropout, 0...1, belowUpper: true)
        try OptionRange.check("forget-bias", forgetBias, -10...10)
        try OptionRange.check("factors", factors, 1...16384)
        try OptionRange.check("context", context, 1...256)
        if factors != nil, let cell, cell != .mrnn {
            throw ValidationError("--factors needs --cell mrnn (only the MRNN has factors)")
        }
        if forgetBias != nil, let cell, !cell.hasCell {
            throw ValidationError("--forget-bias sets the LSTM's forget-gate bias; --cell \(cell.rawValue) has no forget gate")
        }
        if learnPeriods, let cell, cell != .phasedLSTM {
            throw ValidationError("--learn-periods needs --cell phased-lstm (only the Phased LSTM has periods)")
        }
        if context != nil, let cell, cell != .nnn {
            throw ValidationError("--context needs --cell nnn (only the n-NN reads a fixed context)")
        }
        if dilations != nil, let cell, cell != .tcn {
            throw ValidationError("--dilations needs --cell tcn (only the TCN has dilations)")
        }
        // Without --cell, --factors or --learn-periods may continue a run (--resume checks them against its cell);
        // a new run's architecture is checked when `config` builds it.
        if cell != nil || (factors == nil && !learnPeriods) { _ = try config }
    }

    /// The architecture of a new run (its vocabulary size comes from the data), checked: a cell's own options
    /// without that cell are refused.
    var config: CharModelConfig {
        get throws {
            if let m = try newConfig(vocabularySize: 1).validate() { throw ValidationError(m) }
            return try newConfig(vocabularySize: Self.defaults.vocabularySize)
        }
    }

    private func newConfig(vocabularySize: Int) throws -> CharModelConfig {
        var c = Self.defaults
        c.vocabularySize = vocabularySize
        c.cell = cell ?? c.cell
        c.layers = layers ?? c.layers
        c.hidden = hidden ?? c.hidden
        c.embedding = embedding ?? c.embedding
        c.dropout = dropout ?? c.dropout
        c.forgetBias = forgetBias ?? c.forgetBias
        c.skipConnections = skip
        c.peepholes = peepholes
        c.factors = factors
        c.learnPeriods = learnPeriods ? true : nil
        c.layerNorm = layerNorm ? true : nil
        if c.cell == .nnn { c.context = context ?? CharModelConfig.defaultContext }
        if c.cell == .tcn {
            let d = try dilationList ?? CharModelConfig.defaultDilations
            c.dilations = d
            c.layers = layers ?? d.count
        }
        return c
    }

    /// Refuses, on --resume, a flag that differs from the saved architecture.
    func checkResumed<O: RunOptions>(_ saved: CharModelConfig, _ run: RunArguments<O>) throws {
        try run.same("cell", cell?.rawValue, saved.cell.rawValue)
        try run.same("layers", layers, saved.layers)
        try run.same("hidden", hidden, saved.hidden)
        try run.same("embedding", embedding, saved.embedding)
        try run.same("dropout", dropout, saved.dropout)
        try run.same("forget-bias", forgetBias, saved.forgetBias)
        try run.same("skip", given: skip, saved: saved.skipConnections, what: "skip connections")
        try run.same("peepholes", given: peepholes, saved: saved.peepholes, what: "peepholes")
        if factors != nil && saved.cell != .mrnn {
            throw CLIError("--factors needs --cell mrnn; the checkpoint's cell is \(saved.cell.rawValue)", status: .usage)
        }
        try run.same("factors", factors, saved.factorCount)
        try run.same("learn-periods", given: learnPeriods, saved: saved.learnsPeriods, what: "learnt periods")
        try run.same("layer-norm", given: layerNorm, saved: saved.normalizesLayers, what: "layer normalisation")
        if context != nil && saved.cell != .nnn {
            throw CLIError("--context needs --cell nnn; the checkpoint's cell is \(saved.cell.rawValue)", status: .usage)
        }
        if dilations != nil && saved.cell != .tcn {
            throw CLIError("--dilations needs --cell tcn; the checkpoint's cell is \(saved.cell.rawValue)", status: .usage)
        }
        try run.same("context", context, saved.context ?? 0)
        if let d = try dilationList, d != saved.dilations {
            throw CLIError("--dilations \(d.map(String.init).joined(separator: ",")) differs from the checkpoint's (\(saved.dilations.map { $0.map(String.init).joined(separator: ",") } ?? "none")); leave it out on --resume", status: .usage)
        }
    }
}
