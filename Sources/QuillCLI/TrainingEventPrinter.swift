import Foundation
import QuillIO
import QuillModels
import QuillNN
import QuillNumerics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Draws a training run's events on standard error: a first line, a progress bar, a line per validation (with the
/// sample of a char model) and a last line.
final class TrainingEventPrinter {
    private let bar = ProgressBar()
    /// Whether the run trains a char model (nats/char) rather than a handwriting network (nats/sequence).
    private var text = true

    /// The threads a training step computes on: OpenBLAS's (one where Quill's GEMM takes the large products,
    /// `QuillGEMM.trainsWithOneBLASThread`) and Quill's kernels' where they run, with their width unless AVX-512:
    /// "BLAS SkylakeX × 1, Quill's kernels × 2", "BLAS SkylakeX × 2, Quill's kernels (AVX2) × 2", "BLAS Haswell × 2".
    static var threadsLine: String {
        let blas = "BLAS \(BLASInfo.coreName) × \(QuillGEMM.trainingBLASThreads)"
        guard FusedKernels.available else { return blas }
        let width = FusedKernels.level == .avx512 ? "" : " (\(FusedKernels.level))"
        return blas + ", Quill's kernels\(width) × \(FusedKernels.threads(hidden: 1 << 20))"
    }

    /// A char model's sample as one line of terminal text: newlines as "⏎ ", other control characters (C0 and DEL)
    /// as their Unicode control pictures (ESC as ␛, NUL as ␀), so a sample cannot move the cursor or recolour the
    /// terminal.
    static func oneLine(_ sample: String) -> String {
        var out = String.UnicodeScalarView()
        for u in sample.unicodeScalars {
            switch u.value {
            case 0x0A: out.append(contentsOf: "⏎ ".unicodeScalars)
            case 0x00..<0x20: if let picture = Unicode.Scalar(0x2400 + u.value) { out.append(picture) }
            case 0x7F: out.append("\u{2421}")
            default: out.append(u)
            }
        }
        return String(out)
    }

    func draw(_ event: TrainingEvent) {
        switch event {
        case let .started(parameters, data, resumedAt):
            let what = resumedAt.map { "resuming at step \($0)" } ?? "starting"
            switch data {
            case let .text(trainChars, valChars, vocabulary):
                text = true
                bar.line("\(what): \(formatCount(parameters)) parameters; \(formatCount(trainChars)) training and \(formatCount(valChars)) validation characters; vocabulary \(vocabulary); \(Self.threadsLine)")
            case let .strokes(kind, trainSeq, valSeq, batches):
                text = false
                bar.line("\(what): \(kind.rawValue) network, \(formatCount(parameters)) parameters; \(trainSeq) training sequences in \(batches) batch\(batches == 1 ? "" : "es"), \(valSeq) validation sequences; \(Self.threadsLine)")
            case let .generated(task, length, heldOut):
                text = false
                bar.line("\(what): \(task.rawValue) at T = \(length), \(formatCount(parameters)) parameters; a fresh batch every step, \(heldOut) held-out sequences")
            }
        case let .note(text):
            bar.line(text)
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
            if !sample.isEmpty { bar.line("  sample: " + Self.oneLine(sample)) }
        case let .finished(step, reason, best):
            let format = text ? "; best validation %.4f nats/char" : "; best validation %.1f nats/sequence"
            bar.line("stopped at step \(step): \(reason)" + (best.map { String(format: format, $0) } ?? ""))
        }
    }

    /// Prints a full line above the bar; in an MPI job, on rank 0 only (rank 0 alone reports).
    func line(_ s: String) { if DataParallel.launcherRank == 0 { bar.line(s) } }
}

/// Set by SIGINT; read through the closure `installInterruptHandler` returns.
nonisolated(unsafe) private var interruptRequested: Int32 = 0

/// What the first Ctrl-C prints, from the signal handler (write(2) only, which is safe there).
private let interruptNotice = Array("\nquill: Ctrl-C: checkpointing and stopping after this step; Ctrl-C again quits at once, keeping the last checkpoint written (if any)\n".utf8)

/// Ctrl-C asks training to checkpoint and stop after the current step, and says so; a second Ctrl-C exits at once
/// (status 130) without that checkpoint, leaving the last one written as it was (a `--force` run that has written none
/// yet puts the run it replaces back, `InterruptRestore`). Returns the run's stop check.
func installInterruptHandler() -> () -> Bool {
    interruptRequested = 0
    _ = interruptNotice.count   // initialised here, not lazily inside the handler
    InterruptRestore.clear()    // likewise (no plan yet: the run makes one when it moves files aside)
    signal(SIGINT) { _ in
        if interruptRequested != 0 {
            // A --force run before its first resume point puts the run it replaces back (unlink and rename only).
            InterruptRestore.perform()
            _exit(130)
        }
        interruptRequested = 1
        interruptNotice.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
    return { interruptRequested != 0 }
}
