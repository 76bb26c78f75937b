import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillNN

/// `quill char sweep`: char models of every combination of cells, depths and widths, trained with one budget and
/// tabulated (issue 15 item 11; note 003's table).
public struct CharSweepCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train a char model for every combination of --cell, --layers and --hidden, and tabulate them.",
        discussion: """
        Every run trains on the same text with the same options and the same budget (--steps, --minutes or both), \
        in DIR/<cell>-<layers>x<hidden>, and the table of best validation losses (bits and nats per character) is \
        printed as Markdown and saved with the sweep's options in DIR/sweep.json. Run the same command again to \
        continue an interrupted sweep: finished runs are kept, an interrupted one resumes exactly with what is left \
        of its budget (Ctrl-C checkpoints the current run and stops the sweep).
        """)
    static let defaults = CharTrainOptions.defaults

    @Option(help: "Text file (UTF-8) to train on; repeat to concatenate several.") var data: [String] = []
    @Option(help: "The sweep's directory: a run directory per combination, and sweep.json.") var out: String
    @Option(help: "Cells, comma-separated: lstm, gru, rnn, rnn-relu, mrnn (with as many factors as units), phased-lstm; tcn, nnn (context 5).") var cell = "lstm"
    @Option(help: "Layer counts, comma-separated (each 1…32; a tcn of L blocks gets dilations 1, 2, …, 2^(L−1), so at most 17).") var layers = "1"
    @Option(help: "Widths, comma-separated (each 1…16384).") var hidden = "128"
    @Option(help: "Steps per run (1…100000000). Give --steps, --minutes or both.") var steps: Int?
    @Option(help: "Minutes of training per run (more than 0, at most 1000000).") var minutes: Double?
    @Option(help: .text("Streams per batch (1…10000).", default: defaults.batch)) var batch: Int?
    @Option(help: .text("Truncated-BPTT length (1…10000).", default: defaults.seq)) var seq: Int?
    @Option(help: .text("Adam's learning rate, more than 0 and at most 1000.", default: defaults.optimizer.learningRate))
    var lr: Double?
    @Option(help: .text("Embedding size (0…16384); 0 for one-hot input.", default: defaults.model.embedding)) var embedding: Int?
    @Option(help: .text("Dropout between layers and before the output, at least 0 and less than 1.",
                        default: defaults.model.dropout)) var dropout: Double?
    @Option(help: .text("Validate and checkpoint every N steps (1…1000000).", default: defaults.evalEvery)) var evalEvery: Int?
    @Option(help: .text("Fraction of the text, at its end, held out (0…0.5).", default: defaults.valFraction)) var valFraction: Double?
    @Option(help: "Random seed of every run, 0…18446744073709551615. (default: 1)") var seed: UInt64?
    @OptionGroup var diagnostics: DiagnosticsArguments

    public init() {}

    /// A comma-separated list; `expected` says what each item may be when one is not.
    static func list<T>(_ flag: String, _ text: String, expected: String, _ parse: (String) -> T?) throws -> [T] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map {
            guard let v = parse($0) else {
                throw ValidationError("--\(flag) \(text): '\($0)' is not \(expected); give a comma-separated list")
            }
            return v
        }
    }

    /// A comma-separated list of cells (`--cell lstm,gru`).
    /// `among`: the cells the command takes (every kind unless said), the ones an unknown name is told of.
    static func cells(_ flag: String, _ text: String, among: [CellKind] = CellKind.allCases) throws -> [CellKind] {
        try list(flag, text, expected: "a cell (" + among.map(\.rawValue).joined(separator: ", ") + ")") {
            CellKind(rawValue: $0)
        }
    }

    /// A comma-separated list of whole numbers (`--layers 1,2,3`).
    static func wholeNumbers(_ flag: String, _ text: String) throws -> [Int] {
        try list(flag, text, expected: "a whole number") { Int($0) }
    }

    func plan() throws -> CharSweep.Plan {
        let cells = try Self.cells("cell", cell)
        let depths = try Self.wholeNumbers("layers", layers)
        let widths = try Self.wholeNumbers("hidden", hidden)
        for d in depths { try OptionRange.check("layers", d, 1...32) }
        if cells.contains(.tcn), let d = depths.first(where: { $0 > 17 }) {
            throw ValidationError("--layers \(d) with --cell tcn: a tcn of L blocks gets dilations 1, 2, …, 2^(L−1), at most 65536, so at most 17 layers")
        }
        for w in widths { try OptionRange.check("hidden", w, 1...16384) }
        var base = CharTrainOptions(dataPaths: data, outDir: out, model: CharModelConfig(vocabularySize: 1))
        base.batch = batch ?? base.batch
        base.seq = seq ?? base.seq
        if let lr { base.optimizer.learningRate = lr; base.lrSchedule.initial = lr }
        base.model.embedding = embedding ?? base.model.embedding
        base.model.dropout = dropout ?? base.model.dropout
        base.evalEvery = evalEvery ?? base.evalEvery
        base.valFraction = valFraction ?? base.valFraction
        base.seed = seed ?? base.seed
        base.sampleLength = 0
        let plan = CharSweep.Plan(base: base, cells: cells, layers: depths, hidden: widths, steps: steps, minutes: minutes)
        if let m = plan.problem { throw ValidationError(m) }
        return plan
    }

    public func validate() throws {
        if data.isEmpty { throw ValidationError("--data FILE is required") }
        try refuseEmptyOutput("out", out, directory: true)
        try OptionRange.check("steps", steps, TrainingRanges.steps)
        try OptionRange.check("minutes", minutes, TrainingRanges.minutes, aboveLower: true)
        try OptionRange.check("batch", batch, 1...10_000)
        try OptionRange.check("seq", seq, 1...10_000)
        try OptionRange.check("lr", lr, TrainingRanges.learningRate, aboveLower: true)
        try OptionRange.check("embedding", embedding, 0...16384)
        try OptionRange.check("dropout", dropout, 0...1, belowUpper: true)
        try OptionRange.check("eval-every", evalEvery, TrainingRanges.evalEvery)
        try OptionRange.check("val-fraction", valFraction, 0...0.5)
        try diagnostics.check()
        _ = try plan()
        try refuseNonFiles(data.map { (what: "--data", path: Optional($0)) })
        try refuseRunDirectoryOverInputs(data: data, out: out)
    }

    public func run() throws {
        let sweep = CharSweep(plan: try plan(), outDir: out)
        let stop = installInterruptHandler()
        let rows = try sweep.run(onEvent: { event in
            switch event {
            case let .starting(p, i, n, resumed):
                note("run \(i) of \(n): \(p.name)" + (resumed.map { ", resuming at step \($0)" } ?? ""))
            case let .alreadyDone(p, i, n):
                note("run \(i) of \(n): \(p.name) has used its budget; kept")
            }
        }, makeRun: { options, resume in
            let printer = TrainingEventPrinter()
            let run = TrainingRun(options: options, resume: resume, onEvent: printer.draw)
            run.shouldStop = stop
            run.diagnostics = diagnostics.diagnostics(evalEvery: options.evalEvery, run: (options.outDir as NSString).lastPathComponent)
            return run
        }, shouldStop: stop)
        print(CharSweep.markdown(rows))
        print("table and options in \(TextPreparation.shown(text: (out as NSString).appendingPathComponent(CharSweep.file)))")
        if stop() {
            note("interrupted: the table holds what the runs reached; the same command continues the sweep where it stopped")
        }
    }
}
