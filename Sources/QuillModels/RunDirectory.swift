import Foundation
import QuillData
import QuillIO
import QuillNumerics
import QuillOptim

/// Trainer state that travels in last.safetensors: whatever the trainer needs, plus its random stream.
protocol ResumableTrainerState: Codable {
    /// The generator's four state words, in hex (JSON numbers cannot hold 64-bit words exactly).
    var rng: [String] { get set }
    /// Optimiser steps taken.
    var step: Int { get }
    /// Seconds of training before this invocation.
    var elapsed: Double { get }
    /// A message naming the first field that is out of range, or nil (checked on resume, beyond step and elapsed).
    func invalidField() -> String?
}

/// The most steps a run may record: far beyond any real run, and far from Int overflow in step arithmetic.
let maximumTrainerSteps = 1_000_000_000_000

/// The resume plumbing both trainers share: a run directory's files, saved options and trainer state, and the
/// optimiser state tensors.
enum RunDirectory {
    static func path(_ outDir: String, _ file: String) -> String {
        URL(fileURLWithPath: outDir).appendingPathComponent(file).path
    }

    /// The options saved in DIR/last.safetensors (for `--resume`). Throws `RunDirectoryError.nothingToResume` when
    /// the directory holds no resume point.
    static func savedOptions<O: Decodable>(_: O.Type, outDir: String) throws -> O {
        try ensureResumable(outDir)
        let p = path(outDir, CharTrainer.lastFile)
        let file = try SafeTensors.read(p)
        guard let j = file.metadata["quill.train-options"],
              let o = try? JSONDecoder().decode(O.self, from: Data(j.utf8)) else {
            throw CheckpointError.corrupt(p, "no training options of this kind saved; it cannot be resumed")
        }
        return o
    }

    /// Refuses to start a new run over a directory that holds a model. A directory with no checkpoint (a run
    /// stopped before its first one: metrics.jsonl, temporary files) holds nothing to lose and is accepted; the new
    /// run starts metrics.jsonl afresh.
    static func ensureFresh(_ outDir: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path(outDir, CharTrainer.lastFile)) { throw CharModelError.outputExists(outDir) }
        if fm.fileExists(atPath: path(outDir, CharTrainer.bestFile)) { throw RunDirectoryError.bestWithoutResumePoint(outDir) }
    }

    /// Refuses `--resume` over a directory without last.safetensors, saying why and what to do instead.
    static func ensureResumable(_ outDir: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path(outDir, CharTrainer.lastFile)) { return }
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: outDir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunDirectoryError.nothingToResume(outDir, .noDirectory)
        }
        throw RunDirectoryError.nothingToResume(outDir, fm.fileExists(atPath: path(outDir, CharTrainer.bestFile)) ? .bestOnly : .noCheckpoint)
    }

    /// Removes the temporary files of dead processes (a run killed while writing a checkpoint) from a run directory.
    /// Every training run, fresh or resumed, calls this first.
    static func removeStaleTemporaries(_ outDir: String) {
        Temporaries.removeStale(in: outDir)
    }

    /// What a resumed run does with model.safetensors so that it holds the best model up to the resume point.
    enum BestRepair: Equatable {
        /// It holds the best step that last.safetensors records (or a model the run cannot tell apart): keep it.
        case keep
        /// The best step is the resume point itself and its write failed or was killed: rewrite it from
        /// last.safetensors' weights.
        case rewriteFromLast
        /// It is missing and the best weights are gone: forget the recorded best, so the next validation saves one.
        case forget
    }

    /// Compares model.safetensors (its `quill.best` step) with the best step recorded in last.safetensors.
    static func bestRepair(outDir: String, bestStep: Int?, step: Int) -> BestRepair {
        var present = false, recorded: Int?
        if let file = try? SafeTensors.read(path(outDir, CharTrainer.bestFile)) {
            present = true
            if let j = file.metadata["quill.best"],
               let o = (try? JSONSerialization.jsonObject(with: Data(j.utf8))) as? [String: Any],
               let s = o["step"] as? NSNumber {
                recorded = s.intValue
            }
        }
        guard let bestStep, recorded != bestStep else { return present || bestStep == nil ? .keep : .forget }
        if bestStep == step { return .rewriteFromLast }
        return present ? .keep : .forget
    }

    /// The trainer state and random generator saved in a resume checkpoint.
    static func trainerState<S: ResumableTrainerState>(_: S.Type, from file: SafeTensors.File,
                                                       path: String) throws -> (S, SeededGenerator) {
        guard let sj = file.metadata["quill.trainer"],
              let s = try? JSONDecoder().decode(S.self, from: Data(sj.utf8)) else {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer) missing or unreadable")
        }
        let words = s.rng.map { UInt64($0, radix: 16) }
        guard words.count == 4, words.allSatisfy({ $0 != nil }), let r = SeededGenerator(state: words.compactMap { $0 }) else {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer): the random generator's state is not four non-zero hex words")
        }
        guard (0...maximumTrainerSteps).contains(s.step) else {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer): step \(s.step) is out of range")
        }
        guard s.elapsed.isFinite, s.elapsed >= 0 else {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer): elapsed time \(s.elapsed) is not a non-negative number")
        }
        if let why = s.invalidField() { throw CheckpointError.corrupt(path, "trainer state (quill.trainer): \(why)") }
        return (s, r)
    }

    /// Drops the lines of `metrics.jsonl` logged after `step` (by a run killed after its last checkpoint, which the
    /// resumed run logs again), and a last line cut short by the kill, rewriting the file atomically. Lines without
    /// a step are kept. A missing file is left missing.
    static func dropMetrics(after step: Int, in path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        var kept: [Data.SubSequence] = []
        var dropped = false
        let lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            if line.isEmpty { continue }
            let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
            if object == nil && i == lines.count - 1 { dropped = true; continue }  // cut short by the kill
            if let s = object?["step"] as? NSNumber, s.doubleValue > Double(step) { dropped = true; continue }
            kept.append(line)
        }
        guard dropped else { return }
        var out = Data()
        for line in kept { out.append(line); out.append(0x0a) }
        try replaceAtomically(path, with: out)
    }

    /// Replaces `path` with `data`, completely or not at all (`QuillIO.AtomicOutput`).
    private static func replaceAtomically(_ path: String, with data: Data) throws {
        try AtomicOutput.write(data, to: path)
    }

    /// Records the generator's state in the trainer state.
    static func record<S: ResumableTrainerState>(_ rng: SeededGenerator, in state: inout S) {
        state.rng = rng.state.map { String($0, radix: 16) }
    }

    /// Restores the optimiser's state tensors and step count from a resume checkpoint.
    static func restore(_ optimizer: AnyOptimizer<Float>, parameters: [Parameter<Float>], step: Int,
                        from file: SafeTensors.File, path: String) throws {
        optimizer.step = step
        for (name, t) in optimizer.stateTensors(for: parameters) {
            guard let e = file.tensors[name] else {
                throw CheckpointError.corrupt(path, "optimizer state '\(name)' is missing (was the run trained with another optimizer?)")
            }
            guard e.shape == t.shape, e.values.count == t.count else {
                throw CheckpointError.corrupt(path, "optimizer state '\(name)' has shape \(e.shape), expected \(t.shape)")
            }
            // Running means of squares (RMSProp's n, Adam's v) must not be negative: their square roots divide.
            let squares = name.hasPrefix("adam.v.") || name.hasPrefix("rmsprop.n.") || name.hasPrefix("graves.n.")
            for v in e.values where !v.isFinite || (squares && v < 0) {
                throw CheckpointError.corrupt(path, "optimizer state '\(name)' holds \(v.isFinite ? "a negative mean square" : "NaN or Inf")")
            }
            for i in 0..<t.count { t[i] = e.values[i] }
        }
    }

    /// The optimiser's state tensors as checkpoint entries.
    static func entries(_ optimizer: AnyOptimizer<Float>, parameters: [Parameter<Float>]) -> [(String, SafeTensors.Entry)] {
        optimizer.stateTensors(for: parameters).map { ($0.0, SafeTensors.Entry(shape: $0.1.shape, values: $0.1.array)) }
    }
}

/// A run directory that cannot be used as asked, or a write that stopped a run.
public enum RunDirectoryError: Error, CustomStringConvertible, Equatable {
    /// What `--resume` found instead of last.safetensors.
    public enum Found: Equatable, Sendable {
        case noDirectory, noCheckpoint, bestOnly
    }
    /// `--resume` over a directory without last.safetensors.
    case nothingToResume(String, Found)
    /// A new run over a directory holding model.safetensors but no last.safetensors.
    case bestWithoutResumePoint(String)
    /// A write failed during training (a full disk, say). `step`: the step the run had reached; `checkpoint`: the
    /// step of the last good checkpoint in `dir`, nil when there is none.
    case writeFailed(FileSystemError, step: Int, dir: String, checkpoint: Int?)

    /// The underlying file-system error of a failed write.
    public var fileSystemError: FileSystemError? {
        if case let .writeFailed(e, _, _, _) = self { return e }
        return nil
    }

    /// One line, with any invisible or control character (from a path) shown by code point.
    public var description: String { TextPreparation.shown(text: message) }

    var message: String {
        switch self {
        case let .nothingToResume(dir, .noDirectory):
            return "\(dir): no such run directory, so there is nothing to resume; check --out, or start a new run without --resume"
        case let .nothingToResume(dir, .noCheckpoint):
            return "\(dir) holds no checkpoint yet (the run stopped before it wrote \(CharTrainer.lastFile)), so there is nothing to resume; start the run again without --resume"
        case let .nothingToResume(dir, .bestOnly), let .bestWithoutResumePoint(dir):
            return "\(dir) holds \(CharTrainer.bestFile) but no \(CharTrainer.lastFile) (the resume point), so the run cannot be continued; pass --force to start over (\(CharTrainer.bestFile) will be overwritten), or train into a new --out"
        case let .writeFailed(e, step, dir, checkpoint):
            let what = e.isOutOfSpace
                ? "\(e.path): cannot \(e.operation == .append ? "append to" : "write") it: no space left on the device" : e.description
            guard let checkpoint else {
                return "\(what); training stopped at step \(step), before its first checkpoint, so \(dir) holds no model from this run; \(e.isOutOfSpace ? "free some space and " : "")start the run again without --resume"
            }
            return "\(what); training stopped at step \(step) and the last good checkpoint in \(dir) (step \(checkpoint)) is intact; \(e.isOutOfSpace ? "free some space and " : "")continue it with --resume"
        }
    }
}

/// The part of a training step both trainers share once the gradients are in: the NaN guard on the loss and on the
/// gradient norm, the divergence rule, clipping, and the optimiser step at the scheduled learning rate.
///
/// Every refusal throws before the weights change and before anything is saved, so the run directory keeps the
/// last good checkpoint (`checkpoint`: its step, or nil when this run has written none). `step` counts the steps
/// already taken; errors name the step being taken (step + 1), as the progress line counts.
enum GuardedUpdate {
    static func apply(loss: Double, parameters: [Parameter<Float>], optimizer: AnyOptimizer<Float>,
                      schedule: LearningRateSchedule, clipNorm: Double?, clipValue: Double? = nil,
                      step: Int, outDir: String, checkpoint: Int?, divergence: inout DivergenceRule,
                      divergenceLoss: Double? = nil) throws {
        guard loss.isFinite else {
            throw CharModelError.nonFinite(step: step + 1, what: "the training loss", dir: outDir, checkpoint: checkpoint)
        }
        if let why = divergence.observe(divergenceLoss ?? loss) {
            throw CharModelError.diverged(step: step + 1, why: why, dir: outDir, checkpoint: checkpoint)
        }
        let norm = clipNorm.map { GradientClipping.clipByGlobalNorm(parameters, maxNorm: $0) }
            ?? GradientClipping.globalNorm(parameters)
        guard norm.isFinite else {
            throw CharModelError.nonFinite(step: step + 1, what: "the gradient norm", dir: outDir, checkpoint: checkpoint)
        }
        if let v = clipValue { GradientClipping.clipByValue(parameters, limit: v) }
        optimizer.learningRate = schedule.rate(at: step)
        optimizer.update(parameters)
    }
}

/// Time left in a run limited by a step count, minutes, or both (the sooner wins).
struct RunLimits {
    let steps: Int?
    let minutes: Double?
    let stepAtStart: Int

    /// Seconds until the run stops, from `elapsed` seconds of this session at `step`; nil when unlimited.
    func eta(step: Int, elapsed: Double) -> Double? {
        var eta: Double?
        if let s = steps, step > stepAtStart { eta = Double(s - step) * elapsed / Double(step - stepAtStart) }
        if let m = minutes { eta = min(eta ?? .infinity, m * 60 - elapsed) }
        return eta
    }
}

/// Divergence that has not (yet) become NaN: a training loss far above the best this run has reached.
///
/// The rule looks at m, the mean training loss of the last K steps (fewer at the start of a session), and b, the
/// lowest such mean over a full window of K steps. A run has diverged when
///
/// 1. the window holds K steps and m > max(F · b, b + M) (F only when b > 0): the loss has doubled, or risen by M
///    nats, over its best; or
/// 2. m > C, a ceiling: for char models C = max(3 · ln V, 1) nats/char, three times the loss of guessing uniformly
///    among V characters (a fresh model starts at about ln V); for handwriting C = L₁ + 20 nats/point, with L₁ the
///    loss of the session's first step. The ceiling applies once the window holds `minimumSteps`.
///
/// The constants leave normal runs alone: early in training the loss falls from its starting value, so m stays
/// below the first full window's mean and below C; later, noise in a window's mean is a small fraction of a nat.
/// A diverged run (say `--lr 1e3`) passes C within a few steps. The state is not saved: a resumed run starts afresh.
struct DivergenceRule {
    /// K, steps per window.
    let window: Int
    /// Steps the window must hold before the ceiling applies.
    let minimumSteps: Int
    /// F (nil: additive rule only, for losses that can be negative).
    let factor: Double?
    /// M, nats.
    let margin: Double
    /// C for char models; nil to use the first step's loss plus `startMargin`.
    var ceiling: Double?
    let startMargin: Double
    let unit: String
    private var recent: [Double] = []
    private var next = 0
    private var sum = 0.0
    private(set) var best: Double?

    init(window: Int, minimumSteps: Int, factor: Double?, margin: Double, ceiling: Double?, startMargin: Double, unit: String) {
        self.window = max(window, 1); self.minimumSteps = max(1, min(minimumSteps, window))
        self.factor = factor; self.margin = margin; self.ceiling = ceiling; self.startMargin = startMargin; self.unit = unit
    }

    /// The rule for a char model: K covers at least 2,000 characters (20 steps or more), the ceiling at least 100.
    static func char(vocabularySize V: Int, charactersPerStep rows: Int) -> DivergenceRule {
        let rows = max(rows, 1)
        return DivergenceRule(window: max(20, (2000 + rows - 1) / rows), minimumSteps: (100 + rows - 1) / rows,
                              factor: 2, margin: 1, ceiling: max(3 * log(Double(max(V, 1))), 1), startMargin: 0,
                              unit: "nats/char")
    }

    /// The rule for a handwriting model, on the loss in nats per point (which can be negative).
    static func handwriting() -> DivergenceRule {
        DivergenceRule(window: 20, minimumSteps: 1, factor: nil, margin: 5, ceiling: nil, startMargin: 20,
                       unit: "nats/point")
    }

    /// Adds one step's (finite) loss; returns why the run has diverged, or nil.
    mutating func observe(_ loss: Double) -> String? {
        if ceiling == nil { ceiling = loss + startMargin }
        if recent.count < window { recent.append(loss); sum += loss } else {
            sum += loss - recent[next]; recent[next] = loss; next = (next + 1) % window
        }
        let n = recent.count, m = sum / Double(n)
        let what = n == 1 ? "the training loss" : "the mean training loss of the last \(n) steps"
        if let c = ceiling, n >= minimumSteps, m > c {
            return String(format: "%@, %.4g %@, is above the ceiling of %.4g", what, m, unit, c)
        }
        if n == window {
            if let b = best {
                var limit = b + margin
                if let f = factor, b > 0 { limit = max(limit, f * b) }
                if m > limit {
                    return String(format: "%@, %.4g %@, is far above the best such mean, %.4g", what, m, unit, b)
                }
            }
            best = min(best ?? m, m)
        }
        return nil
    }
}
