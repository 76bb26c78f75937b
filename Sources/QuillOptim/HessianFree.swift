import QuillNumerics

/// Hessian-free optimisation (Martens 2010, "Deep learning via Hessian-free optimization"; Martens and Sutskever
/// 2011, "Learning recurrent neural networks with Hessian-free optimization"): each step minimises the damped quadratic
/// model q(p) = gᵀp + ½ pᵀ(G + λI)p of the batch's loss by conjugate gradient (`ConjugateGradient`), G the
/// Gauss–Newton matrix (its products, with structural damping μ, come from the model), starting from ζ = 0.95 times
/// the previous step; then
/// - backtracking (§4.6): of the kept CG iterates, from the last one back, the one with the lowest loss;
/// - Levenberg–Marquardt damping (§4.1): with ρ = (L(θ + p) − L(θ)) / q(p), λ ← 3/2 λ when ρ < 1/4 and λ ← 2/3 λ when
///   ρ > 3/4;
/// - a backtracking line search on the step's length α (from 1, ×0.8, Armijo's condition with c = 10⁻²); no step
///   when none lowers the loss.
///
/// State (checkpointed like any optimiser's): the previous step per parameter (`hf.previous.NAME`) and λ
/// (`hf.lambda`, one value). `update` does nothing: the training run calls `step` with the model's products.
public final class HessianFree<T: QuillScalar>: Optimizer {
    public static var defaultIterations: Int { 50 }
    public static var defaultDamping: Double { 1 }
    /// Martens and Sutskever's μ = 1/30 for RNNs.
    public static var defaultStructuralDamping: Double { 1.0 / 30 }

    /// Unused (the step's length comes from the line search); kept for the interface.
    public var learningRate: Double
    public var step = 0
    public let iterations: Int
    public let initialDamping: Double
    public let structuralDamping: Double
    private let slots = SlotStore<T>()
    private let lambdaTensor = Tensor<T>([1])

    /// What one step did, for the log.
    public struct Report: Equatable, Sendable {
        public var loss: Double
        public var lambda: Double
        public var rho: Double
        public var cgIterations: Int
        public var cgReason: String
        public var stepLength: Double
    }

    @_specialize(exported: true, where T == Float)
    public init(config: OptimizerConfig) {
        learningRate = config.learningRate
        iterations = config.cgIterations ?? Self.defaultIterations
        initialDamping = config.damping ?? Self.defaultDamping
        structuralDamping = config.structuralDamping ?? Self.defaultStructuralDamping
    }

    /// The range λ is kept in, so that long runs of poor or good steps can neither overflow nor underflow it.
    public static var lambdaRange: ClosedRange<Double> { 1e-8...1e6 }

    /// λ now (the initial damping before the first step).
    public var lambda: Double {
        step == 0 ? initialDamping : min(max(Double(lambdaTensor[0]), Self.lambdaRange.lowerBound), Self.lambdaRange.upperBound)
    }

    public func update(_ parameters: [Parameter<T>]) {}

    public func stateTensors(for parameters: [Parameter<T>]) -> [(String, Tensor<T>)] {
        [("hf.lambda", lambdaTensor)] + parameters.filter(\.trainable).map { ("hf.previous.\($0.name)", slots.slot($0.name, like: $0)) }
    }

    /// One step from the gradient in the parameters' `grad` (of the batch's mean loss `loss0`).
    /// - Parameters:
    ///   - gaussNewton: writes G·d (with structural damping μ·λ) into the `grad` of every trainable parameter, for a
    ///     direction given per trainable parameter (same shapes, same order).
    ///   - loss: the batch's mean loss at the parameters' current values.
    /// - Returns: what the step did; the parameters hold θ + αp, their `grad` is overwritten.
    @_specialize(exported: true, where T == Float)
    public func step(_ parameters: [Parameter<T>], loss0: Double, gaussNewton: ([Tensor<T>], Double) -> Void,
                     loss: () -> Double) -> Report {
        let ps = parameters.filter(\.trainable)
        let sizes = ps.map(\.count), n = sizes.reduce(0, +)
        func flatten(_ ts: [Tensor<T>]) -> [Double] {
            var out = [Double](); out.reserveCapacity(n)
            for t in ts { for i in 0..<t.count { out.append(Double(t[i])) } }
            return out
        }
        func tensors(_ x: [Double], scale: Double = 1) -> [Tensor<T>] {
            var k = 0
            return ps.map { p in
                let t = Tensor<T>(p.shape)
                for i in 0..<p.count { t[i] = T(scale * x[k]); k += 1 }
                return t
            }
        }
        let g = flatten(ps.map(\.grad))
        let theta = ps.map { $0.value.array }
        func set(_ x: [Double], _ alpha: Double) {
            var k = 0
            for (j, p) in ps.enumerated() {
                for i in 0..<p.count { p.value[i] = T(Double(theta[j][i]) + alpha * x[k]); k += 1 }
            }
        }
        let lam = lambda, mu = structuralDamping * lam
        let previous = flatten(ps.map { slots.slot($0.name, like: $0) })
        let start = step == 0 ? nil : previous.map { 0.95 * $0 }
        func solve(from x0: [Double]?) -> ConjugateGradient.Result {
            ConjugateGradient.minimize(apply: { d in
                gaussNewton(tensors(d), mu)
                var out = flatten(ps.map(\.grad))
                for i in 0..<n { out[i] += lam * d[i] }
                return out
            }, b: g.map { -$0 }, x0: x0, maxIterations: iterations)
        }
        var cg = solve(from: start)
        // A warm start that the model does not find better than zero (or whose products are not finite) is dropped.
        if start != nil && !(cg.q < 0) { cg = solve(from: nil) }
        // Backtracking over the kept iterates, from the last.
        var best = cg.iterates[cg.iterates.count - 1]
        set(best.x, 1)
        var bestLoss = loss()
        for it in cg.iterates.dropLast().reversed() {
            set(it.x, 1)
            let l = loss()
            guard l < bestLoss else { break }
            (best, bestLoss) = (it, l)
        }
        // ρ is undefined when the model predicts no decrease (a zero gradient): λ stays.
        let rho = best.q < 0 ? (bestLoss - loss0) / best.q : Double.nan
        var newLambda = lam
        if rho < 0.25 { newLambda *= 1.5 } else if rho > 0.75 { newLambda *= 2.0 / 3 }
        newLambda = min(max(newLambda, Self.lambdaRange.lowerBound), Self.lambdaRange.upperBound)
        lambdaTensor[0] = T(newLambda)
        // Line search on the length.
        var gp = 0.0
        for i in 0..<n { gp += g[i] * best.x[i] }
        var alpha = 1.0, l = bestLoss
        while !(l <= loss0 + 0.01 * alpha * gp) && alpha > 1e-3 {
            alpha *= 0.8
            set(best.x, alpha)
            l = loss()
        }
        if !(l < loss0) { alpha = 0; l = loss0 }
        set(best.x, alpha)
        let chosen = tensors(best.x)
        for (p, t) in zip(ps, chosen) { slots.slot(p.name, like: p).ptr.update(from: t.ptr, count: p.count) }
        step += 1
        return Report(loss: l, lambda: newLambda, rho: rho, cgIterations: best.iteration, cgReason: cg.reason,
                      stepLength: alpha)
    }
}
