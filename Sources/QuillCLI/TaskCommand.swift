import ArgumentParser
import Foundation
import QuillData
import QuillIO
import QuillModels
import QuillNN
import QuillOptim
import QuillRender

extension MemoryTask: ExpressibleByArgument {}

/// `quill task`: the memory tasks of the lecture notes (issue 16 item 4).
public struct TaskCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Train recurrent cells on palindromes, copying or adding, and score their memory against length.",
        discussion: """
        palindrome (note 002): read the first T − 1 digits of a palindrome of T digits and predict the last; scored by \
        the accuracy of that digit. copy (note 003): read T symbols 1…8, a marker and T blanks, and output the symbols \
        during the blanks; scored by the accuracy per symbol. adding (note 003): read T steps of (value, marker) with \
        two marked steps, one in each half, and output the sum of the marked values; scored by the mean squared \
        error (always answering 1 scores about 0.167). Every step draws a fresh batch; the score is on --eval-sequences \
        held-out sequences, every --eval-every steps. With --length T, each cell of --cell trains at T and the score \
        is printed against the step (-o: a figure of it); with --lengths, each cell trains at each length and the \
        final score is printed and drawn against T, with the longest T at which each cell reaches 99% accuracy (MSE \
        at most 0.01 for adding). The same options give the same numbers. Each (cell, length) is one training run, \
        like every model's: with --out DIR it keeps its checkpoints and metrics.jsonl in DIR/CELL-TLENGTH, and \
        --tensorboard writes its event files to a folder of that name.
        """)

    @Argument(help: "The task: palindrome, copy or adding.") var task: MemoryTask
    @Option(help: "Cells, comma-separated: lstm, gru, rnn, rnn-relu, mrnn (with as many factors as units), phased-lstm.") var cell = "rnn,lstm,gru"
    @Option(help: "T: the palindrome's digits, the symbols copied, or the adding steps (2…10000).") var length: Int?
    @Option(help: "Lengths to sweep, comma-separated (each 2…10000), e.g. 5,10,15,20.") var lengths: String?
    @Option(help: "Training steps per cell and length (1…100000000).") var steps = 3000
    @Option(help: "Recurrent layers (1…32).") var layers = 1
    @Option(help: "Units per layer (1…16384).") var hidden = 128
    @Option(help: "Sequences per step (1…100000).") var batch = 128
    @Option(help: "RMSProp's learning rate, more than 0 and at most 1000.") var lr = 1e-3
    @Option(help: "Clip the gradient's global norm to this (more than 0, at most 1000000).") var clip = 10.0
    @Option(help: "Score the held-out sequences every N steps (1…1000000).") var evalEvery = 100
    @Option(help: "Held-out sequences (1…100000).") var evalSequences = 1000
    @Option(help: "Random seed, 0…18446744073709551615.") var seed: UInt64 = 1
    @Option(name: .shortAndLong, help: "Figure: .png, .svg or .pdf (score against step, or with --lengths against T).")
    var output: String?
    @Option(help: ArgumentHelp("Keep every run: its checkpoints (model.safetensors, the best by held-out score; last.safetensors) and metrics.jsonl in a folder per cell and length (CELL-TLENGTH) in this directory. Default: nothing is saved.", valueName: "dir"))
    var out: String?
    @Flag(help: "Replace the runs --out already holds for these cells and lengths.") var force = false
    @OptionGroup var diagnostics: DiagnosticsArguments

    public init() {}

    /// The folder of `cell`'s run at length `t`, under --out and --tensorboard.
    static func runName(_ cell: CellKind, _ t: Int) -> String { "\(cell.rawValue)-T\(t)" }

    func cells() throws -> [CellKind] {
        let recurrent = CellKind.allCases.filter(\.isRecurrent)
        let cells = try CharSweepCommand.cells("cell", cell, among: recurrent)
        try refuseRepeats("cell", cells) { $0.rawValue }
        if let c = cells.first(where: { !$0.isRecurrent }) {
            throw ValidationError("--cell \(c.rawValue): the memory tasks train recurrent cells (\(recurrent.map(\.rawValue).joined(separator: ", ")))")
        }
        return cells
    }

    func sweepLengths() throws -> [Int]? {
        guard let lengths else { return nil }
        let ts = try CharSweepCommand.wholeNumbers("lengths", lengths)
        for t in ts { try Self.checkLength("lengths", t) }
        try refuseRepeats("lengths", ts) { "\($0)" }
        return ts
    }

    static func checkLength(_ flag: String, _ t: Int?) throws {
        guard let t else { return }
        if t < MemoryTask.minimumLength {
            throw ValidationError("--\(flag) must be at least \(MemoryTask.minimumLength) (a task needs a step to read and one to score), got \(t)")
        }
        try OptionRange.check(flag, t, MemoryTask.minimumLength...10_000)
    }

    func options(cell: CellKind, length: Int) -> MemoryTaskOptions {
        var o = MemoryTaskOptions(task: task)
        o.cell = cell; o.length = length; o.layers = layers; o.hidden = hidden; o.batch = batch; o.steps = steps
        o.optimizer = OptimizerConfig(kind: .rmsprop, learningRate: lr)
        o.clipNorm = clip; o.evalEvery = evalEvery; o.evalSequences = evalSequences; o.seed = seed
        o.outDir = out.map { ($0 as NSString).appendingPathComponent(Self.runName(cell, length)) } ?? ""
        return o
    }

    public func validate() throws {
        try Self.checkLength("length", length)
        try OptionRange.check("steps", steps, TrainingRanges.steps)
        try OptionRange.check("layers", layers, 1...32)
        try OptionRange.check("hidden", hidden, 1...16384)
        try OptionRange.check("batch", batch, 1...100_000)
        try OptionRange.check("lr", lr, TrainingRanges.learningRate, aboveLower: true)
        try OptionRange.check("clip", clip, TrainingRanges.clip, aboveLower: true)
        try OptionRange.check("eval-every", evalEvery, TrainingRanges.evalEvery)
        try OptionRange.check("eval-sequences", evalSequences, 1...100_000)
        _ = try cells()
        let ts = try sweepLengths()
        if (length == nil) == (ts == nil) { throw ValidationError("give --length T or --lengths T1,T2,…, one of them") }
        try diagnostics.check()
        try refuseEmptyOutput("out", out, directory: true)
        if let out, FileManager.default.fileExists(atPath: out), !isDirectory(out) {
            throw CLIError("\(TextPreparation.shown(text: out)): is a file, not a directory; give --out a directory for the runs (one folder per cell and length)", status: .usage)
        }
        if force && out == nil { throw ValidationError("--force replaces runs in --out; give --out DIR") }
        if diagnostics.histogramEvery ?? 0 > 0 && out == nil && diagnostics.tensorBoard == nil {
            throw ValidationError("--histogram-every logs to the runs' metrics.jsonl or TensorBoard files; give --out DIR or --tensorboard DIR")
        }
        if let output {
            try refuseEmptyOutput("output", output)
            do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        }
    }

    /// Whether a final score counts as solved: 99% accuracy, or an MSE of at most 0.01.
    func solved(_ score: Double) -> Bool { task.isRegression ? score <= 0.01 : score >= 0.99 }

    func format(_ score: Double) -> String {
        task.isRegression ? String(format: "MSE %.4f", score) : String(format: "accuracy %.4f", score)
    }

    /// Trains `cell` at length `t`, the run in --out's folder for it when --out is given.
    func train(_ cell: CellKind, _ t: Int, stop: @escaping () -> Bool,
               onPoint: @escaping (MemoryTaskPoint) -> Void = { _ in }) throws -> [MemoryTaskPoint] {
        try MemoryTaskTraining.train(options(cell: cell, length: t),
                                     diagnostics: diagnostics.diagnostics(evalEvery: evalEvery, run: Self.runName(cell, t)),
                                     replacing: force, shouldStop: stop, onPoint: onPoint)
    }

    /// What Ctrl-C leaves: the runs' lines printed so far, their checkpoints in --out, and no figure.
    func interrupted(_ cell: CellKind, _ t: Int) {
        note("interrupted during \(cell.rawValue) T=\(t): the lines above are what finished\(out.map { "; the runs' checkpoints are in \(TextPreparation.shown(text: $0))" } ?? ""); no figure was drawn")
    }

    public func run() throws {
        let cells = try cells()
        let ts = try sweepLengths()
        if let output {
            // The figure is written after training: what would stop it is refused before the run, not after.
            try refuseUnwritableOutput(output)
            for dir in [out, diagnostics.tensorBoard].compactMap({ $0 }) where sameFile(dir, output) {
                throw ValidationError("-o \(output): is also the directory of the runs; give the figure another path")
            }
        }
        if out != nil, !force {
            // Every run's folder, before the first run trains.
            for c in cells {
                for t in ts ?? length.map({ [$0] }) ?? [] { try MemoryTaskTraining.refuseExistingRun(options(cell: c, length: t).outDir) }
            }
        }
        // Ctrl-C stops the run after its step (checkpointed) and the sweep with it; a second quits at once.
        let stop = installInterruptHandler()
        if let ts {
            var curves = [InspectionFigures.Curve]()
            for (k, c) in cells.enumerated() {
                var scores = [Double]()
                for t in ts {
                    let points = try train(c, t, stop: stop)
                    // A run scores at its last step; one stopped before its first step has no score.
                    guard !stop(), let last = points.last else { return interrupted(c, t) }
                    scores.append(last.score)
                    print("\(c.rawValue) T=\(t): \(format(last.score)) after \(last.step) steps (training loss \(String(format: "%.4f", last.trainLoss)))")
                }
                curves.append(.init(name: c.rawValue, xs: ts.map(Double.init), ys: scores, colorIndex: k))
                let longest = zip(ts, scores).filter { solved($0.1) }.map(\.0).max()
                print("\(c.rawValue): longest T reaching \(task.isRegression ? "MSE ≤ 0.01" : "99% accuracy"): \(longest.map(String.init) ?? "none")")
            }
            if let output {
                try InspectionFigures.scores(curves, xLabel: "sequence length T", yLabel: task.scoreName,
                                             yRange: task.isRegression ? nil : 0...1,
                                             title: "\(task.rawValue): \(layers)×\(hidden), \(steps) steps per length", to: output)
                print("wrote \(TextPreparation.shown(text: output))")
            }
            return
        }
        // Invariant: validate() requires --length when --lengths is absent.
        let t = length!
        var curves = [InspectionFigures.Curve]()
        for (k, c) in cells.enumerated() {
            let points = try train(c, t, stop: stop) { p in
                print("\(c.rawValue) T=\(t) step \(p.step): training loss \(String(format: "%.4f", p.trainLoss)), \(format(p.score))")
            }
            if stop() { return interrupted(c, t) }
            curves.append(.init(name: c.rawValue, xs: points.map { Double($0.step) }, ys: points.map(\.score), colorIndex: k))
        }
        if let output {
            try InspectionFigures.scores(curves, xLabel: "training step", yLabel: task.scoreName,
                                         yRange: task.isRegression ? nil : 0...1,
                                         title: "\(task.rawValue), T = \(t): \(layers)×\(hidden)", to: output)
            print("wrote \(TextPreparation.shown(text: output))")
        }
    }
}
