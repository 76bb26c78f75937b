import Foundation
import QuillData
import QuillIO
import QuillNumerics
import QuillOptim

/// The most steps a run may record: far beyond any real run, and far from Int overflow in step arithmetic.
let maximumTrainerSteps = 1_000_000_000_000

/// A run directory's files and the resume plumbing every `TrainingRun` shares: saved options and trainer state,
/// the optimiser state tensors, the metrics lines of a resumed run, and the repair of a best model.
public enum RunFiles {
    /// The best model by validation loss.
    public static let best = "model.safetensors"
    /// The resume point: weights, optimiser and trainer state, options.
    public static let last = "last.safetensors"
    /// One JSON object per line: training and validation losses.
    public static let metrics = "metrics.jsonl"
    /// Every file a run writes (and `--force` replaces).
    public static let all = [best, last, metrics]
    /// What `--force` appends to the old run's files while the new run has written no resume point yet
    /// (`model.safetensors.replaced`, …): they are deleted when it writes one, and put back if it fails before.
    public static let replacedSuffix = ".replaced"

    static func path(_ outDir: String, _ file: String) -> String {
        URL(fileURLWithPath: outDir).appendingPathComponent(file).path
    }

    /// The options saved in DIR/last.safetensors (for `--resume`). Throws `RunDirectoryError.nothingToResume` when
    /// the directory holds no resume point.
    static func savedOptions<O: Decodable>(_: O.Type, outDir: String) throws -> O {
        let p = resumePointPath(outDir)
        if p == path(outDir, last) { try ensureResumable(outDir) }
        let file = try SafeTensors.read(p)
        guard let j = file.metadata["quill.train-options"],
              let o = try? JSONDecoder().decode(O.self, from: Data(j.utf8)) else {
            // A run of another family (a char run given to `train synthesis`, say) is not a corrupt file.
            if file.metadata["quill.kind"] == "memory-task" {
                throw TrainingError.invalidOption("\(outDir) holds a memory-task run (quill task, which starts its runs afresh: --force replaces them); give this run another --out")
            }
            if let kind = file.metadata["quill.kind"], let command = resumeCommands[kind] {
                throw TrainingError.invalidOption("\(outDir) holds a \(kind) run (\(command)); resume it with that command, or give this run another --out")
            }
            throw CheckpointError.corrupt(p, "no training options of this kind saved; it cannot be resumed")
        }
        return o
    }

    /// The command that resumes a run, by its checkpoints' `quill.kind`.
    static let resumeCommands = ["char-lm": "quill char train", "handwriting-prediction": "quill train prediction",
                                 "handwriting-synthesis": "quill train synthesis", "memory-task": "quill task"]

    /// Refuses to start a new run over a directory that holds a model. A directory with no checkpoint (a run
    /// stopped before its first one: metrics.jsonl, temporary files) holds nothing to lose and is accepted; the new
    /// run starts metrics.jsonl afresh.
    static func ensureFresh(_ outDir: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path(outDir, last)) { throw TrainingError.outputExists(outDir) }
        if fm.fileExists(atPath: path(outDir, best)) { throw RunDirectoryError.bestWithoutResumePoint(outDir) }
    }

    /// Refuses `--resume` over a directory without last.safetensors, saying why and what to do instead.
    static func ensureResumable(_ outDir: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path(outDir, last)) { return }
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: outDir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunDirectoryError.nothingToResume(outDir, .noDirectory)
        }
        // A run that has not written its first resume point yet may be training there now: say so, not "stopped".
        _ = try Lock(outDir)
        throw RunDirectoryError.nothingToResume(outDir, fm.fileExists(atPath: path(outDir, best)) ? .bestOnly : .noCheckpoint)
    }

    /// Removes the temporary files of dead processes (a run killed while writing a checkpoint) from a run directory.
    /// Every training run, fresh or resumed, calls this first.
    static func removeStaleTemporaries(_ outDir: String) {
        Temporaries.removeStale(in: outDir)
    }

    /// An exclusive advisory lock (flock) on a run directory, held while a run trains in it, so that two runs never
    /// write into one directory at once (each would overwrite the other's checkpoints). The directory itself is
    /// locked: no file is added, and the kernel releases the lock when the process ends, however it ends. A
    /// directory that does not exist yet is not locked (`held` false); the run locks it once it has made it.
    final class Lock {
        private var fd: Int32 = -1
        var held: Bool { fd >= 0 }

        /// - Throws: `TrainingError.invalidOption` when another process holds the lock.
        init(_ directory: String) throws {
            let d = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard d >= 0 else { return }
            guard flock(d, LOCK_EX | LOCK_NB) == 0 else {
                close(d)
                throw TrainingError.invalidOption("another quill is training in \(directory); wait for it to finish (or stop it), or give this run another --out")
            }
            fd = d
        }

        deinit { if fd >= 0 { close(fd) } }
    }

    /// Mends a `--force` replacement that was killed (kill -9, a power cut) before the rule "deleted when the new run
    /// writes a resume point, put back if it fails before" could run. Without last.safetensors the new run had
    /// nothing to resume from: its partial files are deleted and the old run's `*.replaced` files put back, as a
    /// failed replacement does (returns true). With last.safetensors, leftover `*.replaced` files belong to a run
    /// already replaced and are deleted. So a second `--force`, a fresh run or `--resume` never works over them.
    @discardableResult
    static func restoreInterruptedReplacement(_ outDir: String) throws -> Bool {
        let fm = FileManager.default
        let aside = all.filter { fm.fileExists(atPath: path(outDir, $0) + replacedSuffix) }
        guard !aside.isEmpty else { return false }
        if fm.fileExists(atPath: path(outDir, last)) {
            for file in aside { try? fm.removeItem(atPath: path(outDir, file) + replacedSuffix) }
            return false
        }
        for file in all where fm.fileExists(atPath: path(outDir, file)) { try fm.removeItem(atPath: path(outDir, file)) }
        for file in aside { try fm.moveItem(atPath: path(outDir, file) + replacedSuffix, toPath: path(outDir, file)) }
        return true
    }

    /// The resume point to read the saved options from: last.safetensors, or, when a `--force` replacement was
    /// killed before its first resume point, the old run's last.safetensors.replaced (which the run puts back,
    /// `restoreInterruptedReplacement`, before it resumes).
    static func resumePointPath(_ outDir: String) -> String {
        let p = path(outDir, last), aside = p + replacedSuffix
        let fm = FileManager.default
        return !fm.fileExists(atPath: p) && fm.fileExists(atPath: aside) ? aside : p
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

    /// The step a best model records in its `quill.best`, or nil when it records none.
    static func bestStep(_ file: SafeTensors.File) -> Int? {
        guard let j = file.metadata["quill.best"],
              let o = (try? JSONSerialization.jsonObject(with: Data(j.utf8))) as? [String: Any],
              let s = o["step"] as? NSNumber else { return nil }
        return s.intValue
    }

    /// Copies the weights of `source` (the model of `path`, for `--init-from`) into `target`, tensor by tensor
    /// (matched by name): the names and shapes must be the same (the same architecture), except that a pair
    /// `remapped` accepts is copied by `remap` instead, whatever its shapes (`AlphabetTransfer`).
    /// - Throws: `TrainingError.invalidOption` naming the first difference (`architectureDifference`), before any
    ///   weight is written.
    static func copyWeights(from source: [Parameter<Float>], into target: [Parameter<Float>], path: String,
                            remapped: (Parameter<Float>, Parameter<Float>) -> Bool = { _, _ in false },
                            remap: (Parameter<Float>, Parameter<Float>) -> Void = { _, _ in }) throws {
        if let problem = architectureDifference(source, target, path: path, compatible: remapped) { throw problem }
        for (s, t) in pairs(source, target) {
            if remapped(s, t) { remap(s, t); continue }
            for i in 0..<t.value.count { t.value[i] = s.value[i] }
        }
    }

    /// The tensors of `target` with the tensor of `source` of the same name, where there is one.
    private static func pairs(_ source: [Parameter<Float>], _ target: [Parameter<Float>])
        -> [(source: Parameter<Float>, target: Parameter<Float>)] {
        let theirs = Dictionary(source.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return target.compactMap { t in theirs[t.name].map { ($0, t) } }
    }

    /// The first way `source` (the model of `path`) and `target` differ as networks, matched by tensor name: a
    /// tensor this run has and the model lacks (another layer count, peepholes), one the model has and this run
    /// lacks, then a shape that differs and that `compatible` does not accept; nil when they correspond.
    static func architectureDifference(_ source: [Parameter<Float>], _ target: [Parameter<Float>], path: String,
                                       compatible: (Parameter<Float>, Parameter<Float>) -> Bool = { _, _ in false })
        -> TrainingError? {
        let theirs = Set(source.map(\.name)), ours = Set(target.map(\.name))
        func named(_ p: Parameter<Float>) -> String { "\(p.name) \(p.shape)" }
        var difference: (theirs: String, ours: String)?
        if let t = target.first(where: { !theirs.contains($0.name) }) {
            difference = ("no \(t.name)", named(t))
        } else if let s = source.first(where: { !ours.contains($0.name) }) {
            difference = (named(s), "none")
        } else if let p = pairs(source, target).first(where: { $0.shape != $1.shape && !compatible($0, $1) }) {
            difference = (named(p.source), named(p.target))
        }
        guard let difference else { return nil }
        return TrainingError.invalidOption("--init-from: the model in \(path) has another architecture (it has "
            + "\(difference.theirs) where this run has \(difference.ours)); give the options of that run's network")
    }

    /// Compares model.safetensors (its `quill.best` step) with the best step recorded in last.safetensors.
    static func bestRepair(outDir: String, bestStep: Int?, step: Int) -> BestRepair {
        var present = false, recorded: Int?
        if let file = try? SafeTensors.read(path(outDir, best)) {
            present = true
            recorded = Self.bestStep(file)
        }
        guard let bestStep, recorded != bestStep else { return present || bestStep == nil ? .keep : .forget }
        if bestStep == step { return .rewriteFromLast }
        return present ? .keep : .forget
    }

    /// The trainer state and random generator saved in a resume checkpoint.
    static func trainerState<S: TrainerState>(_: S.Type, from file: SafeTensors.File,
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

    /// What tells resume points apart, for the ranks of a job to compare (each reads its own `--out`, which may be a
    /// copy): the trainer state (step, random stream) and the checksum of every tensor's values, in name order
    /// (`SafeTensors.checksumText`, as the file records it for its data).
    static func identity(of file: SafeTensors.File) -> String {
        var values = Data()
        for (key, entry) in file.tensors.sorted(by: { $0.key < $1.key }) {
            values.append(contentsOf: Array(key.utf8))
            entry.values.withUnsafeBytes { values.append(contentsOf: $0) }
        }
        return (file.metadata["quill.trainer"] ?? "") + " tensors " + SafeTensors.checksumText(values)
    }

    /// The checkpoint metadata key of the training losses summed since the last `train` line of metrics.jsonl
    /// (written when a resume point falls between two lines), so a resumed run's next line averages the same steps
    /// as the run would have without the stop.
    static let logWindowKey = "quill.log-window"
    /// The resume point's `--histogram-every`, written only when histograms are logged.
    static let histogramEveryKey = "quill.histogram-every"

    /// The histogram interval a resume point records, or nil when it logged none.
    /// - Throws: `CheckpointError.corrupt` for a value that is not a whole number from 1 to 1,000,000.
    static func histogramEvery(from file: SafeTensors.File, path: String) throws -> Int? {
        guard let text = file.metadata[histogramEveryKey] else { return nil }
        guard let n = Int(text), (1...1_000_000).contains(n) else {
            throw CheckpointError.corrupt(path, "\(histogramEveryKey) is not a whole number from 1 to 1000000")
        }
        return n
    }

    /// The losses a resume point holds for the next `train` line (`logWindowKey`); empty when it has none (files
    /// written before 2026-12-05, or saved on a line's step). Every number is checked: a finite loss, counts from 0
    /// up to the trainer's `step`.
    static func logWindow(from file: SafeTensors.File, path: String, step: Int) throws -> LogWindow {
        guard let j = file.metadata[logWindowKey] else { return LogWindow() }
        guard let w = try? JSONDecoder().decode(LogWindow.self, from: Data(j.utf8)) else {
            throw CheckpointError.corrupt(path, "\(logWindowKey) is not a loss and three counts")
        }
        guard w.loss.isFinite, (0...step).contains(w.steps), w.units >= 0, w.sequences >= 0,
              w.units <= Int(Int32.max) * max(w.steps, 1), w.sequences <= Int(Int32.max) * max(w.steps, 1) else {
            throw CheckpointError.corrupt(path, "\(logWindowKey): the loss or a count is out of range")
        }
        return w
    }

    /// Drops the lines of `metrics.jsonl` logged after `step` (by a run killed after its last checkpoint, which the
    /// resumed run logs again), a last line cut short by the kill and any line that is not a JSON object (which no
    /// run writes, and which would stop `quill plot loss` reading the log), rewriting the file atomically. Lines
    /// without a step are kept. A missing file is left missing.
    static func dropMetrics(after step: Int, in path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        var kept: [Data.SubSequence] = []
        var dropped = false
        let lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
        for line in lines {
            if line.isEmpty { continue }
            // Cut short by the kill, or not Quill's.
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else { dropped = true; continue }
            if let s = object["step"] as? NSNumber, s.doubleValue > Double(step) { dropped = true; continue }
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
    static func record<S: TrainerState>(_ rng: SeededGenerator, in state: inout S) {
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
            // Hessian-free's λ lies in its range (0 before the first step), its last step in weights' bounds.
            if name == "hf.lambda", let v = e.values.first, !(v == 0 || HessianFree<Float>.lambdaRange.contains(Double(v))) {
                throw CheckpointError.corrupt(path, "optimizer state 'hf.lambda' is \(v), outside 0 and \(HessianFree<Float>.lambdaRange)")
            }
            if name.hasPrefix("hf.previous."), e.values.contains(where: { !(abs($0) <= 1e5) }) {
                throw CheckpointError.corrupt(path, "optimizer state '\(name)' holds NaN, Inf or values beyond ±10⁵")
            }
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
            return "\(dir) holds no checkpoint yet (the run stopped before it wrote \(RunFiles.last)), so there is nothing to resume; start the run again without --resume"
        case let .nothingToResume(dir, .bestOnly), let .bestWithoutResumePoint(dir):
            return "\(dir) holds \(RunFiles.best) but no \(RunFiles.last) (the resume point), so the run cannot be continued; pass --force to start over (\(RunFiles.best) will be overwritten), or train into a new --out"
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

