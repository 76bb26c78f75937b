import Foundation
import QuillNumerics
import QuillOptim

/// The part of a training step every training run shares once the gradients are in: the NaN guard on the loss and on the
/// gradient norm, the divergence rule, clipping, the optimiser step at the scheduled learning rate, and the bounds of
/// bounded parameters (`Parameter.valueBounds`).
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
            throw TrainingError.nonFinite(step: step + 1, what: "the training loss", dir: outDir, checkpoint: checkpoint)
        }
        if let why = divergence.observe(divergenceLoss ?? loss) {
            throw TrainingError.diverged(step: step + 1, why: why, dir: outDir, checkpoint: checkpoint)
        }
        let norm = clipNorm.map { GradientClipping.clipByGlobalNorm(parameters, maxNorm: $0) }
            ?? GradientClipping.globalNorm(parameters)
        guard norm.isFinite else {
            throw TrainingError.nonFinite(step: step + 1, what: "the gradient norm", dir: outDir, checkpoint: checkpoint)
        }
        if let v = clipValue { GradientClipping.clipByValue(parameters, limit: v) }
        optimizer.learningRate = schedule.rate(at: step)
        optimizer.update(parameters)
        for p in parameters where p.valueBounds != nil { p.clampToBounds() }
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
    /// Whether the ceiling also applies to the validation loss (char models: both are nats/char).
    let judgesValidation: Bool
    private var recent: [Double] = []
    private var next = 0
    private var sum = 0.0
    private(set) var best: Double?

    init(window: Int, minimumSteps: Int, factor: Double?, margin: Double, ceiling: Double?, startMargin: Double, unit: String,
         judgesValidation: Bool = false) {
        self.window = max(window, 1); self.minimumSteps = max(1, min(minimumSteps, window))
        self.factor = factor; self.margin = margin; self.ceiling = ceiling; self.startMargin = startMargin; self.unit = unit
        self.judgesValidation = judgesValidation
    }

    /// The rule for a char model: K covers at least 2,000 characters (20 steps or more), the ceiling at least 100.
    static func char(vocabularySize V: Int, charactersPerStep rows: Int) -> DivergenceRule {
        let rows = max(rows, 1)
        return DivergenceRule(window: max(20, (2000 + rows - 1) / rows), minimumSteps: (100 + rows - 1) / rows,
                              factor: 2, margin: 1, ceiling: max(3 * log(Double(max(V, 1))), 1), startMargin: 0,
                              unit: "nats/char", judgesValidation: true)
    }

    /// The rule for a handwriting model, on the loss in nats per point (which can be negative).
    static func handwriting() -> DivergenceRule {
        DivergenceRule(window: 20, minimumSteps: 1, factor: nil, margin: 5, ceiling: nil, startMargin: 20,
                       unit: "nats/point")
    }

    /// Why a (finite) validation loss shows divergence, or nil: above the ceiling, for rules that judge validation.
    func judgeValidation(_ loss: Double) -> String? {
        guard judgesValidation, let c = ceiling, loss > c else { return nil }
        return String(format: "the validation loss, %.4g %@, is above the ceiling of %.4g", loss, unit, c)
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
