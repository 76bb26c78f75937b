import Foundation
import QuillNN
import QuillNumerics
import QuillOptim

/// The synthetic memory tasks of the lecture notes (issue 16 item 4): note 002's palindromes and note 003's copy and
/// adding problems (Hochreiter and Schmidhuber 1997; Bai, Kolter and Koltun 2018). Each is a sequence whose answer
/// depends on something seen `length` steps earlier, so the length at which a cell stops learning it measures how far
/// back its memory reaches.
public enum MemoryTask: String, CaseIterable, Codable, Sendable {
    /// A palindrome of `length` digits 0…9: the network reads the first length − 1 and predicts the last, which is the
    /// first (note 002). Scored by the accuracy of that last digit.
    case palindrome
    /// `length` symbols 1…8, a marker 9, then `length` blanks 0 during which the network must output the symbols in
    /// order (the copy-memory task without a delay). Scored by the accuracy per copied symbol.
    case copy
    /// `length` steps of two inputs, a value drawn uniformly from [0, 1) and a marker that is 1 at exactly two steps,
    /// one in each half; the target, read at the last step, is the sum of the two marked values. Scored by the mean
    /// squared error (predicting 1 always scores about 1/6).
    case adding

    /// The shortest length a task is defined for: a palindrome needs a digit to read and one to predict.
    public static let minimumLength = 2
    /// The digits of the palindrome and copy tasks, one-hot: 0…9.
    public static let digits = 10
    /// Copy: the symbols to remember are 1…`copySymbols`; 0 is the blank and 9 the marker.
    public static let copySymbols = 8
    public static let copyMarker = 9

    /// Width of the input at one step: one-hot digits, or (value, marker) for adding.
    public var inputWidth: Int { self == .adding ? 2 : Self.digits }
    /// Width of the output at a scored step: logits over the digits, or the predicted sum.
    public var outputWidth: Int { self == .adding ? 1 : Self.digits }
    /// Whether the output is a regression (MSE) rather than a class (cross-entropy, accuracy).
    public var isRegression: Bool { self == .adding }
    /// Steps the network reads for a task of `length`: length − 1 (palindrome), 2·length + 1 (copy), length (adding).
    public func steps(length: Int) -> Int {
        switch self {
        case .palindrome: return length - 1
        case .copy: return 2 * length + 1
        case .adding: return length
        }
    }
    /// The scored steps, always the last ones: 1, except `length` for copy.
    public func scoredSteps(length: Int) -> Int { self == .copy ? length : 1 }
    /// What the score is called in output and figures.
    public var scoreName: String { isRegression ? "MSE" : "accuracy" }
}

// MARK: - Generators

/// Seeded generators of single examples, and batches of them encoded for the network.
public enum MemoryTaskData {
    /// A palindrome of `length` digits 0…9: the first ⌈length/2⌉ drawn, the rest their mirror.
    public static func palindrome(length: Int, rng: inout SeededGenerator) -> [Int] {
        var d = [Int](repeating: 0, count: length)
        for i in 0..<(length + 1) / 2 {
            let v = Int(rng.next() % UInt64(MemoryTask.digits))
            d[i] = v
            d[length - 1 - i] = v
        }
        return d
    }

    /// One copy example: `input` (2·length + 1 tokens: the symbols, the marker, blanks) and `symbols` (the length
    /// symbols 1…8 the network must output at the last length steps).
    public static func copy(length: Int, rng: inout SeededGenerator) -> (input: [Int], symbols: [Int]) {
        let symbols = (0..<length).map { _ in 1 + Int(rng.next() % UInt64(MemoryTask.copySymbols)) }
        return (symbols + [MemoryTask.copyMarker] + [Int](repeating: 0, count: length), symbols)
    }

    /// One adding example: `values` in [0, 1), `markers` 1 at one step of the first half (⌊length/2⌋ steps) and one of
    /// the second, 0 elsewhere, and `sum`, the two marked values' sum.
    public static func adding(length: Int, rng: inout SeededGenerator) -> (values: [Double], markers: [Int], sum: Double) {
        let values = (0..<length).map { _ in rng.uniform() }
        let half = length / 2
        let first = Int(rng.next() % UInt64(max(half, 1)))
        let second = half + Int(rng.next() % UInt64(length - half))
        var markers = [Int](repeating: 0, count: length)
        markers[first] = 1
        markers[second] = 1
        return (values, markers, values[first] + values[second])
    }

    /// `batch` examples of `task` at `length`, encoded time-major.
    public static func batch(_ task: MemoryTask, length: Int, batch B: Int, rng: inout SeededGenerator) -> MemoryTaskBatch {
        let S = task.steps(length: length), K = task.scoredSteps(length: length), I = task.inputWidth
        var out = MemoryTaskBatch(task: task, length: length, batch: B,
                                  inputs: [Float](repeating: 0, count: S * B * I),
                                  classes: [Int32](repeating: 0, count: task.isRegression ? 0 : K * B),
                                  values: [Float](repeating: 0, count: task.isRegression ? B : 0))
        for b in 0..<B {
            switch task {
            case .palindrome:
                let d = palindrome(length: length, rng: &rng)
                for t in 0..<S { out.inputs[(t * B + b) * I + d[t]] = 1 }
                out.classes[b] = Int32(d[length - 1])
            case .copy:
                let e = copy(length: length, rng: &rng)
                for t in 0..<S { out.inputs[(t * B + b) * I + e.input[t]] = 1 }
                for k in 0..<K { out.classes[k * B + b] = Int32(e.symbols[k]) }
            case .adding:
                let e = adding(length: length, rng: &rng)
                for t in 0..<S {
                    out.inputs[(t * B + b) * I] = Float(e.values[t])
                    out.inputs[(t * B + b) * I + 1] = Float(e.markers[t])
                }
                out.values[b] = Float(e.sum)
            }
        }
        return out
    }
}

/// A batch of a memory task, time-major.
public struct MemoryTaskBatch: Sendable {
    public var task: MemoryTask
    public var length: Int
    public var batch: Int
    /// (steps, B, inputWidth).
    public var inputs: [Float]
    /// Classification: the target class of each scored step, (scoredSteps, B); empty for adding.
    public var classes: [Int32]
    /// Adding: the target sum of each row, (B); empty otherwise.
    public var values: [Float]
}

// MARK: - Model

/// The network of the memory tasks: a recurrent stack (`RecurrentStack`, the layers every model uses) reading the
/// task's inputs, and a linear head on its output at the scored steps: softmax cross-entropy over the digits, or the
/// squared error of the predicted sum.
public final class MemoryTaskModel {
    public let task: MemoryTask
    public let stack: RecurrentStack<Float>
    public let head: Linear<Float>

    /// An MRNN (`cell` mrnn) has as many factors as `hidden`.
    public init(task: MemoryTask, cell: CellKind, layers: Int, hidden: Int, rng: inout SeededGenerator) {
        self.task = task
        // Forget bias 1 (Gers et al. 2000), the usual choice for long-memory tasks.
        stack = RecurrentStack(kind: cell, inputSize: task.inputWidth, hiddenSize: hidden, layers: layers,
                               skipConnections: false, forgetBias: 1, factors: cell == .mrnn ? hidden : 0, name: "rnn",
                               rng: &rng)
        head = Linear(inputSize: hidden, outputSize: task.outputWidth, name: "head", rng: &rng)
    }

    public var parameters: [Parameter<Float>] { stack.parameters + head.parameters }

    /// One batch's loss (mean cross-entropy in nats per scored step, or mean squared error) and score (fraction
    /// right, or the MSE again); with `gradients`, backward into the parameters' gradients (which accumulate).
    public func run(_ data: MemoryTaskBatch, _ ws: MemoryTaskWorkspace, gradients: Bool) -> (loss: Double, score: Double) {
        let B = data.batch, H = stack.hiddenSize, O = task.outputWidth
        let S = task.steps(length: data.length), K = task.scoredSteps(length: data.length)
        precondition(ws.steps == S && ws.batch == B, "the workspace was made for another shape")
        ws.stack.resetState()
        let rows = K * B
        var loss = 0.0, score = 0.0
        data.inputs.withUnsafeBufferPointer { x in
            // Invariant: a batch has at least one step and row (lengths ≥ 2, batches ≥ 1).
            let xp = x.baseAddress!
            stack.forward(xp, ws.stack)
            let scored = stack.output(ws.stack) + (S - K) * B * H
            head.forward(scored, rows: rows, into: ws.out.ptr)
            if task.isRegression {
                var sum = 0.0
                for b in 0..<B {
                    let e = Double(ws.out[b]) - Double(data.values[b])
                    sum += e * e
                    ws.dOut[b] = Float(2 * e / Double(B))
                }
                loss = sum / Double(B)
                score = loss
            } else {
                loss = data.classes.withUnsafeBufferPointer {
                    // Invariant: classification batches hold K·B ≥ 1 classes.
                    SoftmaxCrossEntropy.loss(logits: ws.out.ptr, targets: $0.baseAddress!, rows: rows, classes: O,
                                             dLogits: ws.dOut.ptr, scale: 1 / Float(rows))
                } / Double(rows)
                var right = 0
                for r in 0..<rows {
                    let row = ws.out.ptr + r * O
                    var best = 0
                    for j in 1..<O where row[j] > row[best] { best = j }
                    if best == Int(data.classes[r]) { right += 1 }
                }
                score = Double(right) / Double(rows)
            }
            guard gradients else { return }
            head.backward(scored, rows: rows, dy: ws.dOut.ptr, dx: ws.dStack.ptr + (S - K) * B * H)
            stack.backward(xp, ws.stack, dOut: ws.dStack.ptr, dx: nil)
        }
        return (loss, score)
    }
}

/// Activations of a `MemoryTaskModel` for one (length, batch).
public final class MemoryTaskWorkspace {
    let steps: Int
    let batch: Int
    let stack: StackWorkspace<Float>
    /// (scoredSteps·B, outputWidth): the head's output and its gradient.
    let out: Tensor<Float>
    let dOut: Tensor<Float>
    /// (steps·B, H): the gradient of the stack's output, zero but at the scored steps.
    let dStack: Tensor<Float>

    public init(model: MemoryTaskModel, length: Int, batch: Int) {
        steps = model.task.steps(length: length)
        self.batch = batch
        stack = model.stack.makeWorkspace(steps: steps, batch: batch)
        let rows = model.task.scoredSteps(length: length) * batch
        out = Tensor([rows, model.task.outputWidth])
        dOut = Tensor([rows, model.task.outputWidth])
        dStack = Tensor([steps * batch, model.stack.hiddenSize])
    }
}

// MARK: - Training

/// A memory-task experiment: the task, the network, and how it trains. Every field has a default but the task; saved
/// in every checkpoint of the run (quill.train-options), like every run's options.
public struct MemoryTaskOptions: RunOptions {
    public var task: MemoryTask
    public var cell: CellKind = .lstm
    /// T: palindrome digits, copied symbols, or adding steps (at least `MemoryTask.minimumLength`).
    public var length: Int = 5
    public var layers: Int = 1
    public var hidden: Int = 128
    /// Sequences per step, each freshly drawn.
    public var batch: Int = 128
    /// Optimiser steps.
    public var steps: Int? = 3000
    /// Stop after this many minutes (nil: no time limit).
    public var minutes: Double?
    /// RMSProp at 10⁻³, note 002's optimiser and rate.
    public var optimizer = OptimizerConfig(kind: .rmsprop, learningRate: MemoryTaskOptions.defaultLearningRate(for: .rmsprop)) {
        didSet { lrSchedule.initial = optimizer.learningRate }
    }
    /// The learning rate's schedule; its initial rate follows `optimizer`'s.
    public var lrSchedule = LearningRateSchedule(initial: MemoryTaskOptions.defaultLearningRate(for: .rmsprop))
    /// Clip the gradient's global norm to this (note 002's max_norm 10); nil for none.
    public var clipNorm: Double? = 10
    /// No value clipping.
    public var clipValue: Double? { nil }
    /// Score the held-out sequences (and checkpoint) every this many steps, and at the last.
    public var evalEvery: Int = 100
    /// The training loss is logged at every score.
    public var logEvery: Int { evalEvery }
    /// Held-out sequences, drawn once from a stream of their own.
    public var evalSequences: Int = 1000
    public var seed: UInt64 = 1
    /// The run directory (`RunFiles`); empty for a temporary one that `MemoryTaskTraining.train` removes.
    public var outDir: String = ""
    public var precision: QuillGEMM.Precision?
    public var initFrom: InitSource?
    public var weightInit: WeightInit?
    /// Not offered: weight noise needs a training set of known size, and these tasks draw theirs afresh.
    public var weightNoise: WeightNoiseOption?

    public init(task: MemoryTask) { self.task = task }

    /// Palindromes of length 5 with a 1×128 LSTM.
    public static var defaults: MemoryTaskOptions { MemoryTaskOptions(task: .palindrome) }
    /// 10⁻³ for every optimiser (note 002's RMSProp rate).
    public static func defaultLearningRate(for kind: OptimizerKind) -> Double { 1e-3 }

    /// A message naming the first nonsensical field, or nil.
    public func validate() -> String? {
        if optimizer.kind == .hf { return "--optimizer hf trains char models (quill char train), not the memory tasks" }
        if !cell.isRecurrent { return "--cell \(cell.rawValue): the memory tasks train recurrent cells (lstm, gru, rnn, rnn-relu, mrnn, phased-lstm)" }
        if length < MemoryTask.minimumLength { return "--length must be at least \(MemoryTask.minimumLength) (a task needs a step to read and one to score), got \(length)" }
        if length > 10_000 { return "--length must be at most 10000, got \(length)" }
        if !(1...32).contains(layers) { return "--layers must be between 1 and 32, got \(layers)" }
        if !(1...16384).contains(hidden) { return "--hidden must be between 1 and 16384, got \(hidden)" }
        if !(1...100_000).contains(batch) { return "--batch must be between 1 and 100000, got \(batch)" }
        if let s = steps, !(1...100_000_000).contains(s) { return "--steps must be between 1 and 100000000, got \(s)" }
        if let m = minutes, !(m > 0 && m.isFinite) { return "--minutes must be positive, got \(m)" }
        if steps == nil && minutes == nil { return "give --steps N or --minutes M (or both) to say when to stop" }
        if !(1...100_000_000).contains(evalEvery) { return "--eval-every must be between 1 and 100000000, got \(evalEvery)" }
        if !(1...100_000).contains(evalSequences) { return "--eval-sequences must be between 1 and 100000, got \(evalSequences)" }
        if let c = clipNorm, !(c > 0 && c.isFinite) { return "--clip must be more than 0, got \(c)" }
        if weightNoise != nil { return "weight noise is not offered for memory tasks (their training set is drawn afresh at every step)" }
        if let m = optimizer.validate() { return "--lr: \(m)" }
        return precisionProblem
    }
}

/// One evaluation of a memory-task run.
public struct MemoryTaskPoint: Codable, Equatable, Sendable {
    public var step: Int
    /// The mean training loss of the steps since the last point (nats per scored step, or MSE).
    public var trainLoss: Double
    /// The held-out score: accuracy (palindrome: the last digit; copy: per symbol), or MSE (adding).
    public var score: Double
}

/// Trains a memory task as one `TrainingRun` (the run every model trains in: the guarded update with its NaN guards
/// and clipping, checkpoints, metrics.jsonl, histograms and TensorBoard files).
public enum MemoryTaskTraining {
    /// Trains to `options.steps` (or `options.minutes`) on fresh batches and scores the held-out set every
    /// `evalEvery` steps and at the end; `onPoint` hears of each score as it is made. Returns the points.
    ///
    /// The run directory is `options.outDir` (model.safetensors: the best model by held-out error or MSE;
    /// last.safetensors; metrics.jsonl), which must be new or hold no run unless `replacing`; with an empty
    /// `outDir`, a temporary directory removed at the end, so nothing is saved. `diagnostics`: histograms and
    /// TensorBoard event files, as for every run. `resume` continues the run in `outDir` exactly where its
    /// last.safetensors left it (the points made before are not returned again). `shouldStop` (Ctrl-C) ends the run
    /// after the current step, checkpointed, as every run's.
    /// - Throws: `TrainingError.invalidOption` for bad options, `MemoryBudgetError` when the model and batches would not
    ///   fit in memory, `MemoryTaskDivergence` when the loss or gradient becomes NaN or infinite, `RunDirectoryError`
    ///   for a directory that holds a run or a failed write.
    @discardableResult
    public static func train(_ options: MemoryTaskOptions, budget: MemoryBudget? = nil,
                             diagnostics: TrainingDiagnostics = TrainingDiagnostics(), replacing: Bool = false,
                             resume: Bool = false, shouldStop: @escaping () -> Bool = { false },
                             onPoint: @escaping (MemoryTaskPoint) -> Void = { _ in }) throws -> [MemoryTaskPoint] {
        if let m = options.validate() { throw TrainingError.invalidOption(m) }
        if resume && options.outDir.isEmpty {
            throw TrainingError.invalidOption("resuming a memory task needs the directory of its run")
        }
        if !resume && !replacing && !options.outDir.isEmpty { try refuseExistingRun(options.outDir) }
        var options = options
        var temporary: String?
        if options.outDir.isEmpty {
            let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("quill-task-\(UUID().uuidString)")
            options.outDir = dir
            temporary = dir
        }
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        let task = MemoryTaskTrainer(options: options, onPoint: onPoint)
        let run = TrainingRun(task: task, resume: resume) { _ in }
        run.budget = budget
        run.diagnostics = diagnostics
        run.replacing = replacing
        run.shouldStop = shouldStop
        do {
            try run.run()
        } catch TrainingError.nonFinite(let at, let what, _, _) {
            // A run that diverged before its first checkpoint leaves nothing behind (its metrics lines and all).
            if temporary == nil, !FileManager.default.fileExists(atPath: RunFiles.path(options.outDir, RunFiles.last)) {
                for file in RunFiles.all { try? FileManager.default.removeItem(atPath: RunFiles.path(options.outDir, file)) }
                _ = rmdir(options.outDir)  // only when empty: a folder that held other files keeps them
            }
            throw MemoryTaskDivergence(message: "\(options.task.rawValue) with \(options.cell.rawValue), length \(options.length): \(what) became NaN or infinite at step \(at); try a lower --lr")
        }
        return task.points
    }

    /// Throws when `dir` holds any of a run's files (model.safetensors, last.safetensors, metrics.jsonl): a memory
    /// task starts its runs afresh and replaces one only when asked to.
    /// - Throws: `TrainingError.invalidOption` naming the directory and its files.
    public static func refuseExistingRun(_ dir: String) throws {
        let held = RunFiles.all.filter { FileManager.default.fileExists(atPath: RunFiles.path(dir, $0)) }
        guard !held.isEmpty else { return }
        throw TrainingError.invalidOption("\(dir) already holds a run (\(held.joined(separator: ", "))); give --force to replace it, or another --out")
    }
}

/// A memory-task run whose loss or gradient became NaN or infinite (the run diverged; nothing was saved).
public struct MemoryTaskDivergence: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { message }
}
