import QuillNumerics

/// Adam (Kingma & Ba 2015) with bias correction.
public final class Adam<T: QuillScalar>: Optimizer {
    public var learningRate: Double
    public var step = 0
    let beta1: Double, beta2: Double, epsilon: Double
    private let slots = SlotStore<T>()

    @_specialize(exported: true, where T == Float)
    public init(config: OptimizerConfig) {
        learningRate = config.learningRate; beta1 = config.momentum; beta2 = config.decay; epsilon = config.epsilon
    }

    public func update(_ parameters: [Parameter<T>]) {
        step += 1
        let c1 = 1 - Double.pow(beta1, Double(step)), c2 = 1 - Double.pow(beta2, Double(step))
        // lr_t = lr · √(1−β2^t) / (1−β1^t), with ε scaled to match the textbook form m̂ / (√v̂ + ε).
        let lrT = T(learningRate * c2.squareRoot() / c1)
        let epsT = T(epsilon * c2.squareRoot())
        for p in parameters where p.trainable {
            let m = slots.slot("\(p.name).m", like: p), v = slots.slot("\(p.name).v", like: p)
            Kernels.adam(p.value.ptr, p.grad.ptr, m.ptr, v.ptr, count: p.count,
                         lr: lrT, beta1: T(beta1), beta2: T(beta2), eps: epsT)
        }
    }

    public func stateTensors(for parameters: [Parameter<T>]) -> [(String, Tensor<T>)] {
        parameters.filter(\.trainable).flatMap { p in
            [("adam.m.\(p.name)", slots.slot("\(p.name).m", like: p)),
             ("adam.v.\(p.name)", slots.slot("\(p.name).v", like: p))]
        }
    }
}

/// RMSProp (Tieleman & Hinton): n ← ρn + (1−ρ)g², w ← w − lr·g/(√n + ε), with optional momentum.
public final class RMSProp<T: QuillScalar>: Optimizer {
    public var learningRate: Double
    public var step = 0
    let decay: Double, momentum: Double, epsilon: Double
    private let slots = SlotStore<T>()

    @_specialize(exported: true, where T == Float)
    public init(config: OptimizerConfig) {
        learningRate = config.learningRate; decay = config.decay; momentum = config.momentum; epsilon = config.epsilon
    }

    public func update(_ parameters: [Parameter<T>]) {
        step += 1
        for p in parameters where p.trainable {
            let n = slots.slot("\(p.name).n", like: p), d = slots.slot("\(p.name).delta", like: p)
            OptimizerKernels.rmsprop(p.value.ptr, p.grad.ptr, n.ptr, d.ptr, count: p.count,
                                     lr: T(learningRate), decay: T(decay), momentum: T(momentum), eps: T(epsilon))
        }
    }

    public func stateTensors(for parameters: [Parameter<T>]) -> [(String, Tensor<T>)] {
        parameters.filter(\.trainable).flatMap { p in
            [("rmsprop.n.\(p.name)", slots.slot("\(p.name).n", like: p)),
             ("rmsprop.delta.\(p.name)", slots.slot("\(p.name).delta", like: p))]
        }
    }
}

/// Graves (2013) eqs. 38–45:
/// n ← ℵn + (1−ℵ)ε², g ← ℵg + (1−ℵ)ε, Δ ← ℶΔ − ג·ε/√(n − g² + ℷ), w ← w + Δ.
/// The paper's values are ℵ = 0.95 (`decay`), ℶ = 0.9 (`momentum`), ג = 1e-4 (learning rate), ℷ = 1e-4 (`epsilon`).
public final class GravesRMSProp<T: QuillScalar>: Optimizer {
    public var learningRate: Double
    public var step = 0
    let decay: Double, momentum: Double, epsilon: Double
    private let slots = SlotStore<T>()

    @_specialize(exported: true, where T == Float)
    public init(config: OptimizerConfig) {
        learningRate = config.learningRate; decay = config.decay; momentum = config.momentum; epsilon = config.epsilon
    }

    public func update(_ parameters: [Parameter<T>]) {
        step += 1
        for p in parameters where p.trainable {
            let n = slots.slot("\(p.name).n", like: p), g = slots.slot("\(p.name).g", like: p)
            let d = slots.slot("\(p.name).delta", like: p)
            OptimizerKernels.gravesRMSProp(p.value.ptr, p.grad.ptr, n.ptr, g.ptr, d.ptr, count: p.count,
                                           lr: T(learningRate), decay: T(decay), momentum: T(momentum),
                                           eps: T(epsilon))
        }
    }

    public func stateTensors(for parameters: [Parameter<T>]) -> [(String, Tensor<T>)] {
        parameters.filter(\.trainable).flatMap { p in
            [("graves.n.\(p.name)", slots.slot("\(p.name).n", like: p)),
             ("graves.g.\(p.name)", slots.slot("\(p.name).g", like: p)),
             ("graves.delta.\(p.name)", slots.slot("\(p.name).delta", like: p))]
        }
    }
}

/// SGD with momentum (PyTorch form): v ← μv + g, w ← w − lr·v.
public final class SGD<T: QuillScalar>: Optimizer {
    public var learningRate: Double
    public var step = 0
    let momentum: Double
    private let slots = SlotStore<T>()

    @_specialize(exported: true, where T == Float)
    public init(config: OptimizerConfig) { learningRate = config.learningRate; momentum = config.momentum }

    public func update(_ parameters: [Parameter<T>]) {
        step += 1
        for p in parameters where p.trainable {
            let v = slots.slot("\(p.name).v", like: p)
            OptimizerKernels.sgd(p.value.ptr, p.grad.ptr, v.ptr, count: p.count, lr: T(learningRate),
                                 momentum: T(momentum))
        }
    }

    public func stateTensors(for parameters: [Parameter<T>]) -> [(String, Tensor<T>)] {
        parameters.filter(\.trainable).map { p in ("sgd.v.\(p.name)", slots.slot("\(p.name).v", like: p)) }
    }
}

/// The update loops, pre-specialised for Float and Double.
enum OptimizerKernels {
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func rmsprop<T: QuillScalar>(_ w: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>,
                                        _ nAcc: UnsafeMutablePointer<T>, _ d: UnsafeMutablePointer<T>, count n: Int,
                                        lr: T, decay: T, momentum: T, eps: T) {
        for i in 0..<n {
            let gi = g[i]
            let ni = decay * nAcc[i] + (1 - decay) * gi * gi
            nAcc[i] = ni
            let step = momentum * d[i] + gi / (ni.squareRoot() + eps)
            d[i] = step
            w[i] -= lr * step
        }
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func gravesRMSProp<T: QuillScalar>(_ w: UnsafeMutablePointer<T>, _ e: UnsafePointer<T>,
                                              _ nAcc: UnsafeMutablePointer<T>, _ gAcc: UnsafeMutablePointer<T>,
                                              _ d: UnsafeMutablePointer<T>, count n: Int,
                                              lr: T, decay: T, momentum: T, eps: T) {
        for i in 0..<n {
            let ei = e[i]
            let ni = decay * nAcc[i] + (1 - decay) * ei * ei
            let gi = decay * gAcc[i] + (1 - decay) * ei
            nAcc[i] = ni; gAcc[i] = gi
            let di = momentum * d[i] - lr * ei / (ni - gi * gi + eps).squareRoot()
            d[i] = di
            w[i] += di
        }
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func sgd<T: QuillScalar>(_ w: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>,
                                    _ v: UnsafeMutablePointer<T>, count n: Int, lr: T, momentum: T) {
        for i in 0..<n {
            let vi = momentum * v[i] + g[i]
            v[i] = vi
            w[i] -= lr * vi
        }
    }
}
