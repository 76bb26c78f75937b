import Foundation
import QuillNumerics
import QuillOptim

/// Trainer state that travels in last.safetensors: whatever the trainer needs, plus its random stream.
protocol ResumableTrainerState: Codable {
    /// The generator's four state words, in hex (JSON numbers cannot hold 64-bit words exactly).
    var rng: [String] { get set }
}

/// The resume plumbing both trainers share: a run directory's files, saved options and trainer state, and the
/// optimiser state tensors.
enum RunDirectory {
    static func path(_ outDir: String, _ file: String) -> String {
        URL(fileURLWithPath: outDir).appendingPathComponent(file).path
    }

    /// The options saved in DIR/last.safetensors (for `--resume`).
    static func savedOptions<O: Decodable>(_: O.Type, outDir: String) throws -> O {
        let p = path(outDir, CharTrainer.lastFile)
        let file = try SafeTensors.read(p)
        guard let j = file.metadata["quill.train-options"],
              let o = try? JSONDecoder().decode(O.self, from: Data(j.utf8)) else {
            throw CheckpointError.corrupt(p, "no training options of this kind saved; it cannot be resumed")
        }
        return o
    }

    /// Refuses to start a new run over a directory that holds a model.
    static func ensureFresh(_ outDir: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path(outDir, CharTrainer.lastFile)) || fm.fileExists(atPath: path(outDir, CharTrainer.bestFile)) {
            throw CharModelError.outputExists(outDir)
        }
    }

    /// The trainer state and random generator saved in a resume checkpoint.
    static func trainerState<S: ResumableTrainerState>(_: S.Type, from file: SafeTensors.File,
                                                       path: String) throws -> (S, SeededGenerator) {
        guard let sj = file.metadata["quill.trainer"],
              let s = try? JSONDecoder().decode(S.self, from: Data(sj.utf8)),
              let r = SeededGenerator(state: s.rng.compactMap { UInt64($0, radix: 16) }) else {
            throw CheckpointError.corrupt(path, "trainer state missing or unreadable")
        }
        return (s, r)
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
            guard let e = file.tensors[name], e.values.count == t.count else {
                throw CheckpointError.corrupt(path, "optimizer state '\(name)' is missing (was the run trained with another optimizer?)")
            }
            for i in 0..<t.count { t[i] = e.values[i] }
        }
    }

    /// The optimiser's state tensors as checkpoint entries.
    static func entries(_ optimizer: AnyOptimizer<Float>, parameters: [Parameter<Float>]) -> [(String, SafeTensors.Entry)] {
        optimizer.stateTensors(for: parameters).map { ($0.0, SafeTensors.Entry(shape: $0.1.shape, values: $0.1.array)) }
    }
}

/// The part of a training step both trainers share once the gradients are in: the NaN guard on the loss and on the
/// gradient norm, clipping, and the optimiser step at the scheduled learning rate.
enum GuardedUpdate {
    static func apply(loss: Double, parameters: [Parameter<Float>], optimizer: AnyOptimizer<Float>,
                      schedule: LearningRateSchedule, clipNorm: Double?, clipValue: Double? = nil,
                      step: Int, outDir: String) throws {
        guard loss.isFinite else {
            throw CharModelError.nonFinite(step: step, what: "the training loss", dir: outDir)
        }
        let norm = clipNorm.map { GradientClipping.clipByGlobalNorm(parameters, maxNorm: $0) }
            ?? GradientClipping.globalNorm(parameters)
        guard norm.isFinite else {
            throw CharModelError.nonFinite(step: step, what: "the gradient norm", dir: outDir)
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
