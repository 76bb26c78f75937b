import ArgumentParser
import Foundation
import QuillModels
import QuillNumerics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The flags every training command shares (`char train`, `train prediction`, `train synthesis`): where the run
/// lives, when it stops, its seed, and whether it continues or replaces what --out holds. Also the steps every
/// training command takes with them: the conflict check of --resume against the saved options, the --force
/// deletion, and running with Ctrl-C and the event printer.
struct RunArguments: ParsableArguments {
    @Option(help: "Output directory for checkpoints and metrics.")
    var out: String
    @Option(help: "Stop after N steps in all (1…100000000).")
    var steps: Int?
    @Option(help: "Stop after M minutes of this run (more than 0, at most 1000000).")
    var minutes: Double?
    @Option(help: "Random seed, 0…18446744073709551615. (default: 1)")
    var seed: UInt64?
    @Flag(help: "Continue the run in --out exactly where it stopped.")
    var resume = false
    @Flag(help: "Start a new run even if --out holds a model (overwrites it).")
    var force = false

    /// The ranges of --steps and --minutes, --resume against --force, and an --out that would write over (or with
    /// --force delete) one of the `data` files.
    func check(data: [String]) throws {
        try OptionRange.check("steps", steps, TrainingRanges.steps)
        try OptionRange.check("minutes", minutes, TrainingRanges.minutes, aboveLower: true)
        if resume && force { throw ValidationError("--resume and --force contradict each other") }
        try refuseEmptyOutput("out", out, directory: true)
        try refuseRunDirectoryOverInputs(data: data, out: out)
    }

    /// The options saved in --out's resume point, for --resume; a --seed that differs from the saved one is refused.
    func saved<O: RunOptions>(_: O.Type) throws -> O {
        let o = try O.saved(outDir: out)
        try same("seed", seed, o.seed)
        return o
    }

    /// Refuses a flag given on --resume whose value differs from the saved run's.
    func same<V: Equatable>(_ flag: String, _ given: V?, _ saved: V) throws {
        if let g = given, g != saved {
            throw CLIError("--\(flag) \(g) differs from the checkpoint's \(saved); a resumed run keeps its architecture and batching. Drop --\(flag), or train into a new --out")
        }
    }

    /// Refuses an on/off flag given on --resume that the saved run lacks (`what`: the saved run's feature).
    func same(_ flag: String, given: Bool, saved: Bool, what: String) throws {
        if given && !saved { throw CLIError("--\(flag) differs from the checkpoint, which has no \(what)") }
    }

    /// Applies the limits and the directory to a run's options.
    func apply<O: RunOptions>(to o: inout O) {
        o.outDir = out
        o.steps = steps
        o.minutes = minutes
    }

    /// Runs training: with --force first deletes the run's files in --out (never an input: `check` refused that),
    /// then trains with Ctrl-C checkpointing and stopping the run, drawing its events.
    @discardableResult
    func train(_ makeRun: (@escaping (TrainingEvent) -> Void) -> TrainingRun) throws -> TrainingEventPrinter {
        if force && !resume {
            for f in RunFiles.all {
                try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: out).appendingPathComponent(f).path)
            }
        }
        let printer = TrainingEventPrinter()
        let run = makeRun(printer.draw)
        run.shouldStop = installInterruptHandler()
        try run.run()
        return printer
    }
}

/// Draws a training run's events on standard error: a first line, a progress bar, a line per validation (with the
/// sample of a char model) and a last line.
final class TrainingEventPrinter {
    private let bar = ProgressBar()
    /// Whether the run trains a char model (nats/char) rather than a handwriting network (nats/sequence).
    private var text = true

    func draw(_ event: TrainingEvent) {
        switch event {
        case let .started(parameters, data, resumedAt):
            let what = resumedAt.map { "resuming at step \($0)" } ?? "starting"
            switch data {
            case let .text(trainChars, valChars, vocabulary):
                text = true
                bar.line("\(what): \(formatCount(parameters)) parameters; \(formatCount(trainChars)) training and \(formatCount(valChars)) validation characters; vocabulary \(vocabulary); BLAS \(BLASInfo.coreName) × \(BLASInfo.threads)")
            case let .strokes(kind, trainSeq, valSeq, batches):
                text = false
                bar.line("\(what): \(kind.rawValue) network, \(formatCount(parameters)) parameters; \(trainSeq) training sequences in \(batches) batches, \(valSeq) validation sequences")
            }
        case let .progress(step, total, loss, rate, elapsed, eta):
            let fields = text ? String(format: "loss %.3f  %@ chars/s", loss, formatCount(Int(rate)))
                : String(format: "loss %.3f nats/point  %@ sample-steps/s", loss, formatCount(Int(rate)))
            bar.update(step: step, total: total, fields: fields, elapsed: elapsed, eta: eta)
        case let .validation(step, score, perUnit, best, sample):
            let saved = best ? "  ★ best, saved" : ""
            if text {
                bar.line(String(format: "step %d  validation %.4f nats/char (%.3f bits/char)%@", step, score, score / log(2.0), saved))
            } else {
                bar.line(String(format: "step %d  validation %.1f nats/sequence (%.4f nats/point)%@", step, score, perUnit, saved))
            }
            if !sample.isEmpty { bar.line("  sample: " + sample.replacingOccurrences(of: "\n", with: "⏎ ")) }
        case let .finished(step, reason, best):
            let format = text ? "; best validation %.4f nats/char" : "; best validation %.1f nats/sequence"
            bar.line("stopped at step \(step): \(reason)" + (best.map { String(format: format, $0) } ?? ""))
        }
    }

    /// Prints a full line above the bar.
    func line(_ s: String) { bar.line(s) }
}

/// Set by SIGINT; read through the closure `installInterruptHandler` returns.
nonisolated(unsafe) private var interruptRequested: Int32 = 0

/// Ctrl-C asks training to checkpoint and stop after the current step; a second Ctrl-C exits at once. Returns the
/// run's stop check.
func installInterruptHandler() -> () -> Bool {
    interruptRequested = 0
    signal(SIGINT) { _ in
        if interruptRequested != 0 { _exit(130) }
        interruptRequested = 1
    }
    return { interruptRequested != 0 }
}
