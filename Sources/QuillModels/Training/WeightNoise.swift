import Foundation
import QuillNumerics

/// Weight noise for a training run (`--weight-noise SIGMA`, `--adaptive-weight-noise`), after Graves (2011),
/// "Practical Variational Inference for Neural Networks", as Graves (2013) uses it (sections 3 and 4.2; the regularised
/// rows of Tables 1, 3 and 4).
///
/// Each step the trained weights (the means μ) are set aside, the step's forward and backward passes run on noisy
/// weights w = μ + σ ⊙ ε, ε ~ N(0, 1) drawn from the run's generator (one draw per batch, where Graves draws one per
/// sequence), and μ is put back before the update, which applies the gradient taken at w. Validation, checkpoints and
/// sampling see μ.
///
/// - Fixed (`.fixed(σ)`): σ is the same for every weight (Graves 2013: 0.075).
/// - Adaptive (`.adaptive(σ₀)`): every weight has its own σ_i = exp(s_i), trained with the weights (s_i starts at
///   ln σ₀), under one Gaussian prior N(μ_p, σ_p²) over all weights set to its optimum each step (Graves 2011, eq. 18:
///   μ_p the mean of μ_i, σ_p² the mean of σ_i² + (μ_i − μ_p)²). The loss is the minimum description length
///   L = L_E + L_C, the expected data loss plus the complexity
///   L_C = Σ_i [ln(σ_p/σ_i) + (σ_i² + (μ_i − μ_p)²)/(2σ_p²) − 1/2]  (the KL divergence of the posterior from the prior).
///   Gradients: ∂L_E/∂μ_i = ∂L/∂w_i and ∂L_E/∂s_i = ∂L/∂w_i · ε_i σ_i (the reparameterisation estimate, where Graves
///   2011 uses a diagonal Gauss–Newton one); ∂L_C/∂μ_i = (μ_i − μ_p)/σ_p², ∂L_C/∂s_i = σ_i²/σ_p² − 1. A step covers a
///   share of the training data, so L_C's gradients are scaled by `complexityScale` (1 / the number of units the
///   data loss is averaged over in the whole training set: its characters or sequences).
///
/// Every trained tensor gets noise (weights and biases); tensors that are not trained (a one-hot table) do not.
final class WeightNoise {
    enum Kind: Equatable {
        case fixed(Double)
        case adaptive(Double)
    }

    let kind: Kind
    /// The trained tensors, holding μ between steps.
    let means: [Parameter<Float>]
    /// Adaptive only: s = ln σ per weight, named "noise.<tensor>", trained and checkpointed with the run.
    let logSigmas: [Parameter<Float>]
    private var saved: [[Float]] = []
    private var drawn: [[Float]] = []

    init(_ kind: Kind, parameters: [Parameter<Float>]) {
        self.kind = kind
        means = parameters.filter(\.trainable)
        if case let .adaptive(s0) = kind {
            logSigmas = means.map { p in
                let s = Parameter<Float>("noise." + p.name, Tensor<Float>(p.shape))
                for i in 0..<s.count { s.value[i] = Float(log(s0)) }
                return s
            }
        } else {
            logSigmas = []
        }
    }

    /// Sets every trained tensor to μ + σ ⊙ ε, keeping μ (and, adaptive, ε) for `restore`.
    func perturb(rng: inout SeededGenerator) {
        saved = means.map { $0.value.array }
        drawn = []
        for (k, p) in means.enumerated() {
            var eps = [Float](repeating: 0, count: p.count)
            for i in 0..<p.count {
                eps[i] = Float(rng.normal())
                let sigma: Float
                if case let .fixed(s) = kind { sigma = Float(s) } else { sigma = exp(logSigmas[k].value[i]) }
                p.value[i] = saved[k][i] + sigma * eps[i]
            }
            if case .adaptive = kind { drawn.append(eps) }
        }
    }

    /// Puts μ back. Adaptive: adds ∂L/∂s (data and complexity, the latter × `complexityScale`) to the σ parameters'
    /// gradients and ∂L_C/∂μ × `complexityScale` to the weights'; returns L_C (nats, whole network), 0 for fixed noise.
    @discardableResult
    func restore(complexityScale: Double) -> Double {
        for (k, p) in means.enumerated() { for i in 0..<p.count { p.value[i] = saved[k][i] } }
        guard case .adaptive = kind else { return 0 }
        let prior = self.prior()
        let varP = prior.variance, c = complexityScale
        for (k, p) in means.enumerated() {
            let s = logSigmas[k]
            for i in 0..<p.count {
                let sigma = Double(exp(s.value[i])), mu = Double(p.value[i])
                // The data term through w = μ + σε: ∂L/∂s = g ε σ (g, the gradient at w, is already in p.grad).
                let g = Double(p.grad[i])
                s.grad[i] += Float(g * Double(drawn[k][i]) * sigma + c * (sigma * sigma / varP - 1))
                p.grad[i] += Float(c * (mu - prior.mean) / varP)
            }
        }
        return complexity(prior: prior)
    }

    /// The optimal prior of the current posterior: the mean of μ, and the mean of σ² + (μ − μ_p)².
    func prior() -> (mean: Double, variance: Double) {
        var n = 0.0, sum = 0.0
        for p in means { for i in 0..<p.count { sum += Double(p.value[i]); n += 1 } }
        let mean = sum / max(n, 1)
        var v = 0.0
        for (k, p) in means.enumerated() {
            for i in 0..<p.count {
                let sigma = Double(exp(logSigmas[k].value[i])), d = Double(p.value[i]) - mean
                v += sigma * sigma + d * d
            }
        }
        return (mean, max(v / max(n, 1), 1e-30))
    }

    /// L_C, the KL divergence of the posterior N(μ_i, σ_i²) from the prior, summed over every weight (nats).
    func complexity(prior: (mean: Double, variance: Double)? = nil) -> Double {
        guard case .adaptive = kind else { return 0 }
        let p0 = prior ?? self.prior()
        let sdP = p0.variance.squareRoot()
        var total = 0.0
        for (k, p) in means.enumerated() {
            for i in 0..<p.count {
                let sigma = Double(exp(logSigmas[k].value[i])), d = Double(p.value[i]) - p0.mean
                total += log(sdP / sigma) + (sigma * sigma + d * d) / (2 * p0.variance) - 0.5
            }
        }
        return total
    }

    /// The mean σ over all weights (the fixed σ for fixed noise).
    func meanSigma() -> Double {
        if case let .fixed(s) = kind { return s }
        var sum = 0.0, n = 0.0
        for s in logSigmas { for i in 0..<s.count { sum += Double(exp(s.value[i])); n += 1 } }
        return sum / max(n, 1)
    }

    /// The σ parameters as checkpoint entries (adaptive; their optimiser state travels with the optimiser's).
    func entries() -> [(String, SafeTensors.Entry)] {
        logSigmas.map { ($0.name, SafeTensors.Entry(shape: $0.shape, values: $0.value.array)) }
    }

    /// Reads the σ parameters back from a resume point, checking shapes and finiteness (σ within e^±30).
    func restore(from file: SafeTensors.File, path: String) throws {
        for s in logSigmas {
            guard let e = file.tensors[s.name] else {
                throw CheckpointError.corrupt(path, "tensor '\(s.name)' is missing (was the run trained without adaptive weight noise?)")
            }
            guard e.shape == s.shape, e.values.count == s.count else {
                throw CheckpointError.corrupt(path, "tensor '\(s.name)' has shape \(e.shape), expected \(s.shape)")
            }
            for (i, v) in e.values.enumerated() {
                guard v.isFinite, abs(v) <= 30 else { throw CheckpointError.corrupt(path, "tensor '\(s.name)' holds \(v), not a log σ") }
                s.value[i] = v
            }
        }
    }
}
