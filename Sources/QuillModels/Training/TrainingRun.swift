import Foundation
import QuillIO
import QuillNumerics
import QuillOptim
import QuillTensorBoard

/// One training run of any task (`CharTask`, `HandwritingTask`), checkpointing atomically and resumably.
///
/// The run owns what every model's training shares: a new start or a resume (`RunFiles`: stale temporaries, a
/// directory that must be fresh or resumable, the repair of a best model whose write failed), the one random
/// generator and the trainer state, the memory check (through the task, before anything is built), the limits on
/// steps and minutes, the loop with its progress events, the metrics lines and the validation cadence, the best and
/// last checkpoints, the guarded update, and interruption through `shouldStop`.
///
/// Training stops with an error, saving nothing more, when the loss or the gradient norm becomes NaN or infinite,
/// or when the run diverges (`DivergenceRule`, the task's); model.safetensors and last.safetensors keep the last good
/// checkpoint. On resume, metrics.jsonl loses the lines logged after that checkpoint, so no step appears twice.
///
/// The run directory is always resumable or cleanly restartable. Every file is complete or absent (`QuillIO`), and
/// each checkpoint writes in one order: the validation line of metrics.jsonl, then last.safetensors (the resume
/// point, which records the best step), then model.safetensors when the model improved. So no checkpoint claims a
/// step whose metrics failed to write, and a failed write at any point (a full disk) or a kill leaves
/// last.safetensors at the previous checkpoint or this one, and model.safetensors the best model up to the step of
/// last.safetensors, or one checkpoint behind it when only its own write failed: a resume then rewrites it from
/// last.safetensors' weights (`RunFiles.bestRepair`). A failed write stops the run with
/// `RunDirectoryError.writeFailed`, naming the last good checkpoint. Every run first removes the temporary files
/// of dead processes from the directory; a new run accepts a directory that holds no checkpoint yet.
public final class TrainingRun {
    private let task: any TrainingTask
    public let resume: Bool
    /// The limits the run is checked against; nil for the process's own (`MemoryBudget.current()`).
    public var budget: MemoryBudget?
    /// A new run (not `resume`) over a directory that holds a run: true replaces that run (`--force`). Its files are
    /// removed only once the new run's data has loaded and its model is built, right before the first write, so a
    /// new run that fails its checks leaves the old one as it was.
    public var replacing = false
    /// In a job of several ranks, whether the gradients are summed in buckets overlapping the backward pass
    /// (`GradientBuckets`) or in one MPI_Allreduce after it; nil reads QUILL_MPI_BUCKETS (on unless set to off,
    /// `DataParallel.bucketsSetting`). Every rank must use the same: the start-up check compares it.
    public var gradientBuckets: Bool?
    /// Asked before every step: true checkpoints and stops the run ("interrupted"). The CLI's Ctrl-C sets it.
    public var shouldStop: () -> Bool = { false }
    /// Diagnostics beyond the loss: histograms every N steps in metrics.jsonl (`--histogram-every`) and TensorBoard
    /// event files (`--tensorboard`); off by default.
    public var diagnostics = TrainingDiagnostics()
    let onEvent: (TrainingEvent) -> Void
    /// The step reached and the step of the last good checkpoint, for the message of a failed write.
    private var reachedStep = 0
    private var savedCheckpoint: Int?

    init(task: any TrainingTask, resume: Bool, onEvent: @escaping (TrainingEvent) -> Void) {
        self.task = task
        self.resume = resume
        self.onEvent = onEvent
    }

    /// Runs training to the step or time limit, or until `shouldStop`. Returns the final trainer step. A failed
    /// write (say, a full disk) throws `RunDirectoryError.writeFailed`; refusals throw `TrainingError`.
    @discardableResult
    public func run() throws -> Int {
        do { return try train(task) } catch let error as FileSystemError where error.operation == .create && savedCheckpoint == nil {
            // The run directory could not be made: nothing was trained, and the path is what to change.
            throw error
        } catch let error as FileSystemError where error.operation != .read {
            throw RunDirectoryError.writeFailed(error, step: reachedStep, dir: task.outDir, checkpoint: savedCheckpoint)
        }
    }

    private func train<Task: TrainingTask>(_ task: Task) throws -> Int {
        if let m = task.options.validate() { throw TrainingError.invalidOption(m) }
        // Data parallelism (`DataParallel`): every rank runs this function in step; rank 0 alone writes files and
        // reports events. Each rank validates its block of the validation set; the sums reach every rank, so all
        // take the same decisions.
        let world = try DataParallel.world()
        let bucketed = world.size > 1 ? try gradientBuckets ?? DataParallel.bucketsSetting() : false
        let writer = world.rank == 0
        task.world = world
        let onEvent: (TrainingEvent) -> Void = writer ? self.onEvent : { _ in }
        let outDir = task.options.outDir
        func path(_ file: String) -> String { RunFiles.path(outDir, file) }
        // One run at a time in a directory: a second would overwrite the first's checkpoints and metrics.
        var lock = writer ? try RunFiles.Lock(outDir) : nil
        defer { withExtendedLifetime(lock) {} }
        if writer { RunFiles.removeStaleTemporaries(outDir) }
        if writer, try RunFiles.restoreInterruptedReplacement(outDir) {
            // Said at once: the run may yet be refused (no --resume or --force), and the user should know why the
            // directory holds a model again.
            onEvent(.note("a --force run in \(outDir) was stopped before its first resume point: its files were deleted and the run it replaced put back" + (resume ? "; that run resumes" : "")))
        }
        let budget = self.budget ?? MemoryBudget.current()
        try task.loadData(resuming: resume, budget: budget)

        // The model: from the resume point, or new from the seed.
        var state = Task.State()
        var rng: SeededGenerator
        var resumedFile: SafeTensors.File?
        if resume {
            // Other ranks may look before rank 0 has put back an interrupted replacement's resume point.
            let point = RunFiles.resumePointPath(outDir)
            if point == path(RunFiles.last) { try RunFiles.ensureResumable(outDir) }
            let file = try task.resume(from: point, budget: budget)
            (state, rng) = try RunFiles.trainerState(Task.State.self, from: file, path: path(RunFiles.last))
            resumedFile = file
            reachedStep = state.step
            savedCheckpoint = state.step
            try task.prepare(resumed: state, path: path(RunFiles.last))
        } else {
            if !replacing && writer { try RunFiles.ensureFresh(outDir) }
            rng = SeededGenerator(seed: task.options.seed)
            try task.startFresh(rng: &rng, budget: budget)
            task.options.weightInit?.apply(to: task.parameters, rng: &rng)
            if let source = task.options.initFrom {
                // A run directory's best model, or a checkpoint file named directly.
                var isDirectory: ObjCBool = false
                let named = FileManager.default.fileExists(atPath: source.dir, isDirectory: &isDirectory)
                guard named else {
                    throw TrainingError.missingInput("--init-from \(source.dir): no such file or directory; give the directory of a training run (its --out) or a checkpoint file")
                }
                let from = named && !isDirectory.boolValue ? source.dir : RunFiles.path(source.dir, RunFiles.best)
                guard FileManager.default.fileExists(atPath: from) else {
                    throw TrainingError.missingInput("--init-from \(source.dir): no \(RunFiles.best) there; give the directory of a training run (its --out) or a checkpoint file")
                }
                let file = try task.initialise(from: from, budget: budget)
                task.options.initFrom?.step = RunFiles.bestStep(file)
            }
            try task.prepare(resumed: nil, path: path(RunFiles.last))
        }
        // Before anything is written: every rank must train the same run on the same data.
        try world.checkSameRun(String(decoding: try JSONEncoder.sorted.encode(task.options), as: UTF8.self)
                               + "\n" + task.dataFingerprint + "\ngradient sum: " + (bucketed ? "buckets" : "one call")
                               + (world.size > 1 ? resumedFile.map { "\nresume point: " + RunFiles.identity(of: $0) } ?? "" : ""))
        // --force: the old run's files are moved aside, not deleted, until this run writes its first resume point;
        // a run that fails before then (diverges, a full disk, bad options found late) puts them back, so a failed
        // replacement never loses the last good model.
        let fm = FileManager.default
        var aside: [String] = []
        if !resume && replacing && writer {
            let existed = RunFiles.all.filter { fm.fileExists(atPath: path($0)) }
            for file in existed {
                let moved = path(file) + RunFiles.replacedSuffix
                try? fm.removeItem(atPath: moved)
                try fm.moveItem(atPath: path(file), toPath: moved)
                aside.append(file)
                // A second Ctrl-C (which exits at once) puts the old run back too: the new run's files, never an
                // old one not yet moved, are deleted first.
                InterruptRestore.set(delete: RunFiles.all.filter { !existed.contains($0) || aside.contains($0) }.map(path),
                                     rename: aside.map { (path($0) + RunFiles.replacedSuffix, path($0)) })
            }
        }
        var replaced = aside.isEmpty, finished = false
        func dropReplaced() {
            InterruptRestore.clear()
            for file in aside { try? fm.removeItem(atPath: path(file) + RunFiles.replacedSuffix) }
            replaced = true
        }
        defer {
            if !replaced && !finished {
                InterruptRestore.clear()
                for file in RunFiles.all { try? fm.removeItem(atPath: path(file)) }
                for file in aside { try? fm.moveItem(atPath: path(file) + RunFiles.replacedSuffix, toPath: path(file)) }
            }
        }
        if writer {
            try FileSystemError.createDirectory(outDir)
            if lock?.held != true { lock = try RunFiles.Lock(outDir) }
        }
        let optimizer: AnyOptimizer<Float> = task.options.optimizer.make()
        if optimizer.base is HessianFree<Float>, task.curvature == nil {
            throw TrainingError.invalidOption("--optimizer hf runs on one process (its curvature products read the whole batch): run it without mpirun")
        }
        let noise = task.options.weightNoise.map {
            WeightNoise($0.adaptive ? .adaptive($0.sigma) : .fixed($0.sigma), parameters: task.parameters)
        }
        // The optimiser trains adaptive noise's σ parameters with the weights.
        let params = task.parameters + (noise?.logSigmas ?? [])
        let trainable = params.filter(\.trainable)
        if let file = resumedFile {
            try RunFiles.restore(optimizer, parameters: params, step: state.step, from: file, path: path(RunFiles.last))
            try task.restoreExtras(from: file, path: path(RunFiles.last))
            try noise?.restore(from: file, path: path(RunFiles.last))
        }
        let started = task.startedData
        onEvent(.started(parameters: started.parameters, data: started.data, resumedAt: resume ? state.step : nil))
        if !resume, let change = task.options.initFrom?.alphabetChange { onEvent(.note(change)) }

        let encoder = JSONEncoder.sorted
        /// Writes model.safetensors at the current step; `trainOptions`: the options JSON to record, nil for the
        /// current options.
        func saveBest(trainOptions: String?, score: Double) throws {
            try task.save(to: path(RunFiles.best), metadata: [
                "quill.train-options": try trainOptions ?? String(decoding: encoder.encode(task.options), as: UTF8.self),
                "quill.best": "{\"step\":\(state.step),\"\(task.bestKey)\":\(score.isFinite ? "\(score)" : "null")}",
            ], extraTensors: [])
        }
        if let file = resumedFile, writer {
            try RunFiles.dropMetrics(after: state.step, in: path(RunFiles.metrics))
            switch RunFiles.bestRepair(outDir: outDir, bestStep: state.bestStep, step: state.step) {
            case .keep: break
            case .forget: state.bestScore = nil; state.bestStep = nil
            case .rewriteFromLast:
                try saveBest(trainOptions: file.metadata["quill.train-options"], score: state.bestScore ?? .nan)
            }
        }
        if resume && world.size > 1 {
            // Rank 0's repair of the best model decides the best score for all.
            let best = world.fromRankZero([state.bestStep.map(Double.init) ?? -1, state.bestScore ?? .nan])
            state.bestStep = best[0] < 0 ? nil : Int(best[0])
            state.bestScore = best[0] < 0 ? nil : best[1]
        }
        let metrics = writer ? try MetricsWriter(path: path(RunFiles.metrics), truncate: !resume) : nil
        // A new event file per invocation: TensorBoard reads every file of the directory, in step order.
        let board = writer ? try diagnostics.tensorBoard.map { try EventFileWriter(directory: $0) } : nil
        let start = Date(), elapsedBefore = state.elapsed
        func elapsed() -> Double { elapsedBefore + Date().timeIntervalSince(start) }
        var window = LogWindow(), windowStart = Date()
        // The steps and units since the last line taken in this invocation (the window may hold a resumed run's
        // steps from before the stop): for the rate and the time spent summing gradients.
        var here = (steps: 0, units: 0)
        if let file = resumedFile { window = try RunFiles.logWindow(from: file, path: path(RunFiles.last), step: state.step) }
        if let file = resumedFile, diagnostics.keepsSavedHistograms,
           let every = try RunFiles.histogramEvery(from: file, path: path(RunFiles.last)) {
            diagnostics.histogramEvery = every
            onEvent(.note("logging histograms every \(every) steps, as the run did before (--histogram-every 0 turns them off)"))
        }
        var complexity = 0.0  // adaptive weight noise's L_C at the last step
        var lastSaved = state.step
        // The step of the checkpoint in last.safetensors, nil until this run (if fresh) writes one.
        var checkpoint: Int? = resume ? state.step : nil
        var divergence = task.divergenceRule()
        var reason = "reached the step limit"

        func saveLast() throws {
            RunFiles.record(rng, in: &state)
            state.elapsed = elapsed()
            // Every rank: the task's extra tensors may gather each rank's share (char's carried state).
            let extras = task.extraTensors()
            if writer { try writeLast(extras) }
            lastSaved = state.step
            checkpoint = state.step
        }
        func writeLast(_ extras: [(String, SafeTensors.Entry)]) throws {
            var metadata = [
                "quill.train-options": String(decoding: try encoder.encode(task.options), as: UTF8.self),
                "quill.trainer": String(decoding: try encoder.encode(state), as: UTF8.self),
            ]
            if window.steps > 0 { metadata[RunFiles.logWindowKey] = String(decoding: try encoder.encode(window), as: UTF8.self) }
            if diagnostics.histogramEvery > 0 { metadata[RunFiles.histogramEveryKey] = String(diagnostics.histogramEvery) }
            try task.save(to: path(RunFiles.last), metadata: metadata, extraTensors: RunFiles.entries(optimizer, parameters: params) + extras + (noise?.entries() ?? []))
            savedCheckpoint = state.step
            if !replaced { dropReplaced() }
        }

        func validateAndCheckpoint() throws {
            let v = task.validate()
            var improved = false
            if let score = v.score {
                // The weights were updated after the last loss the divergence rule saw: judge them before saving.
                guard score.isFinite else {
                    throw TrainingError.nonFinite(step: state.step, what: "the validation loss", dir: outDir,
                                                  checkpoint: checkpoint)
                }
                if let why = divergence.judgeValidation(score) {
                    throw TrainingError.diverged(step: state.step, why: why, dir: outDir, checkpoint: checkpoint)
                }
                improved = score < (state.bestScore ?? .infinity)
            }
            var summaries: [SummaryValue] = []
            if let line = v.line {
                let full = line.merging(["kind": "val", "step": state.step, "elapsed_s": elapsed()]) { $1 }
                try metrics?.append(full)
                if board != nil { summaries = TrainingDiagnostics.scalars(full, prefix: "val/") }
            }
            // Without a validation set every checkpoint is the best model.
            let best = improved || v.score == nil
            if best { state.bestScore = v.score; state.bestStep = state.step }
            // The resume point first: it records the best step, and a resume rewrites a best model whose write failed.
            try saveLast()
            if best && writer { try saveBest(trainOptions: nil, score: v.score ?? .nan) }
            let sample = writer ? task.sample(step: state.step, rng: rng) : ""
            if let board {
                if !sample.isEmpty { summaries.append(.text(tag: "sample", TrainingDiagnostics.verbatim(sample))) }
                if let draw = diagnostics.drawSample, let line = task.sampleStrokes(step: state.step, rng: rng) {
                    // A sample that cannot be drawn (no points, from a model gone wrong) must not stop the run.
                    do {
                        let image = try draw(line.strokes, line.caption)
                        summaries.append(.image(tag: "sample", png: image.png, width: image.width, height: image.height))
                    } catch {
                        summaries.append(.text(tag: "sample", "no image at step \(state.step): \(error)"))
                    }
                }
                try board.write(step: state.step, summaries)
            }
            if v.score != nil || v.line != nil {
                onEvent(.validation(step: state.step, score: v.score ?? .nan, perUnit: v.perUnit, best: improved,
                                    sample: sample))
            }
        }

        let options = task.options
        // The gradients the ranks sum: the model's (weight noise's σ gradients follow from the summed ones).
        let sharded = task.parameters.filter(\.trainable)
        var gradientBuffer: [Float] = []
        let buckets = world.size > 1 && bucketed
            ? GradientBuckets(groups: task.gradientGroups, parameters: sharded, world: world) : nil
        let hooks = buckets?.hooks
        var allReduceSeconds = 0.0  // in the gradient sums since the last metrics line
        let limits = RunLimits(steps: options.steps, minutes: options.minutes, stepAtStart: state.step)
        var hfReport: HessianFree<Float>.Report?
        while true {
            if let s = options.steps, state.step >= s {
                if state.step == limits.stepAtStart {
                    reason = "the run was already at step \(state.step), at or past --steps \(s); give a larger --steps to train on"
                }
                break
            }
            var timeUp = options.minutes.map { Date().timeIntervalSince(start) >= $0 * 60 } ?? false
            var interrupted = shouldStop()
            if world.size > 1 {
                // The ranks stop together: at the first step any of them reaches its time limit or is interrupted.
                var votes = [timeUp ? 1.0 : 0, interrupted ? 1.0 : 0]
                world.sum(&votes)
                (timeUp, interrupted) = (votes[0] > 0, votes[1] > 0)
            }
            if timeUp { reason = "reached the time limit"; break }
            if interrupted { reason = "interrupted"; break }

            params.zeroGradients()
            noise?.perturb(rng: &rng)
            var loss = QuillGEMM.withTrainingProducts(precision: options.precision ?? .fp32) {
                task.trainStep(state, rng: &rng, hooks: hooks)
            }
            if world.size > 1 {
                // Before weight noise adds its complexity gradient: that term is the whole batch's, once.
                if let buckets {
                    allReduceSeconds += buckets.finish()
                } else {
                    allReduceSeconds += world.sumGradients(sharded, buffer: &gradientBuffer)
                }
                var sums = [loss.loss, Double(loss.units), Double(loss.sequences)]
                world.sum(&sums)
                loss = StepLoss(loss: sums[0], perUnit: 0, units: Int(sums[1]), sequences: Int(sums[2]))
                loss.perUnit = task.perUnit(ofSummed: loss)
            }
            complexity = noise?.restore(complexityScale: task.complexityScale) ?? 0
            // The gradients as the backward pass (and the sum over the ranks) left them, before clipping.
            let histogramEvery = diagnostics.histogramEvery
            let histograms = writer && histogramEvery > 0 && (state.step + 1) % histogramEvery == 0
                ? ParameterHistograms.measureGradients(task.parameters, bins: diagnostics.histogramBins) : nil
            if let hf = optimizer.base as? HessianFree<Float>, let access = task.curvature {
                guard loss.loss.isFinite, GradientClipping.globalNorm(trainable).isFinite else {
                    throw TrainingError.nonFinite(step: state.step + 1, what: "the training loss or gradient", dir: outDir,
                                                  checkpoint: checkpoint)
                }
                if let why = divergence.observe(loss.perUnit) {
                    throw TrainingError.diverged(step: state.step + 1, why: why, dir: outDir, checkpoint: checkpoint)
                }
                hfReport = hf.step(trainable, loss0: loss.perUnit, gaussNewton: access.gaussNewton, loss: access.loss)
                access.refresh()
            } else {
                try GuardedUpdate.apply(loss: loss.loss, parameters: trainable, optimizer: optimizer,
                                        schedule: options.lrSchedule, clipNorm: options.clipNorm,
                                        clipValue: options.clipValue, step: state.step, outDir: outDir,
                                        checkpoint: checkpoint, divergence: &divergence, divergenceLoss: loss.perUnit)
            }
            state.step += 1
            reachedStep = state.step
            task.advance(&state)

            window.add(loss)
            here.steps += 1; here.units += loss.units
            let now = Date(), session = now.timeIntervalSince(start)
            let rate = Double(here.units) / max(now.timeIntervalSince(windowStart), 1e-9)
            onEvent(.progress(step: state.step, totalSteps: options.steps, loss: loss.perUnit, rate: rate,
                              elapsed: elapsedBefore + session, eta: limits.eta(step: state.step, elapsed: session)))
            if state.step % options.logEvery == 0 {
                var line = task.trainLine(window, state: state)
                if let noise {
                    // The variational (MDL) loss beside the data loss, per unit of the data loss's average.
                    let data = task.dataLossPerComplexityUnit(window), lc = complexity * task.complexityScale
                    line["weight_noise_sigma"] = noise.meanSigma()
                    if case .adaptive = noise.kind {
                        line["complexity"] = lc
                        line["mdl"] = data.loss + lc
                        line["mdl_unit"] = data.unit
                    }
                }
                if let r = hfReport {
                    // Hessian-free's last step: its damping, reduction ratio, CG iterations and step length.
                    line["hf_lambda"] = r.lambda
                    // null when the model predicted no decrease (a zero gradient).
                    line["hf_rho"] = r.rho.isFinite ? r.rho : NSNull()
                    line["hf_cg_iterations"] = r.cgIterations
                    line["hf_step_length"] = r.stepLength
                }
                if world.size > 1 {
                    // The time this rank spent summing gradients (waiting for the slowest rank included).
                    line["ranks"] = world.size
                    line["allreduce_s_per_step"] = allReduceSeconds / Double(here.steps)
                    line["gradient_sum"] = buckets == nil ? "one call" : "buckets"
                    allReduceSeconds = 0
                }
                var full = line.merging(["kind": "train", "step": state.step, "elapsed_s": elapsedBefore + session,
                                         "lr": optimizer.learningRate, "rate": rate]) { $1 }
                // Hessian-free has no learning rate.
                if hfReport != nil { full["lr"] = nil }
                try metrics?.append(full)
                try board?.write(step: state.step, TrainingDiagnostics.scalars(full, prefix: "train/"))
                window = LogWindow(); windowStart = now; here = (0, 0)
            }
            if var h = histograms {
                h.measureWeights(task.parameters, step: state.step, bins: diagnostics.histogramBins)
                try metrics?.append(h.metricsLine.merging(["step": state.step, "elapsed_s": elapsedBefore + session]) { $1 })
                try board?.write(step: state.step, TrainingDiagnostics.summaries(h))
            }
            if state.step % options.evalEvery == 0 { try validateAndCheckpoint() }
        }
        if lastSaved != state.step || state.bestStep == nil { try validateAndCheckpoint() }
        if !replaced { dropReplaced() }
        finished = true
        onEvent(.finished(step: state.step, reason: reason, best: state.bestScore))
        return state.step
    }
}

extension TrainingTask {
    var outDir: String { options.outDir }
}
