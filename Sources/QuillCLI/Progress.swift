import Foundation
import QuillModels
#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on standard error: redrawn in place on a terminal, a plain line every few seconds otherwise.
final class ProgressBar {
    private let tty = isatty(2) != 0
    /// Draws nothing when standard error is not a terminal (commands other than training, whose logs want the
    /// plain lines).
    private let quiet: Bool
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(quietWhenNotTerminal: Bool = false) { quiet = quietWhenNotTerminal && !tty }

    func update(step: Int, total: Int?, fields: String, elapsed: Double, eta: Double?) {
        if quiet { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= (tty ? 0.2 : 10) else { return }
        lastDraw = now
        var s = ""
        if let total, total > 0 {
            let frac = min(1, Double(step) / Double(total))
            let width = 24, filled = Int(frac * Double(width))
            s += "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "] "
            s += "\(step)/\(total)"
        } else {
            s += "step \(step)"
        }
        s += "  " + fields + "  " + formatDuration(elapsed)
        if let eta, eta.isFinite { s += "  ETA " + formatDuration(max(0, eta)) }
        if tty {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + s).utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data((s + "\n").utf8))
        }
    }

    /// Clears the bar from a terminal line (nothing to clear when not a terminal).
    func finish() {
        if tty && drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }

    /// Prints a full line above the bar.
    func line(_ text: String) {
        let prefix = tty && drawn ? "\r\u{1B}[K" : ""
        drawn = false
        FileHandle.standardError.write(Data((prefix + text + "\n").utf8))
    }
}

/// Progress of a command's own work: `update(done, total)` as it goes, `finish()` at the end. Drawn only on a
/// terminal, and only after the first `after` seconds (a command that finishes sooner shows none), with the fraction
/// done and an estimate of the time left.
final class WorkProgress {
    private let bar = ProgressBar(quietWhenNotTerminal: true)
    private let start = Date()
    private let delay: Double

    init(after seconds: Double = 2) { delay = seconds }

    /// `unit`: what is counted ("windows", "lines").
    func update(_ done: Int, _ total: Int, unit: String) {
        let elapsed = Date().timeIntervalSince(start)
        guard elapsed >= delay else { return }
        bar.update(step: done, total: total, fields: unit, elapsed: elapsed,
                   eta: done > 0 ? elapsed * Double(total - done) / Double(done) : nil)
    }

    func finish() { bar.finish() }
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%d:%02d", t / 60, t % 60)
}

func formatCount(_ n: Int) -> String {
    if n >= 10_000_000 { return String(format: "%.1fM", Double(n) / 1e6) }
    if n >= 10_000 { return String(format: "%.1fk", Double(n) / 1e3) }
    return "\(n)"
}
