import QuillNumerics

/// An optimiser updates trainable parameters from their accumulated gradients.
///
/// Optimisers keep their state as named tensors (`state`), so a checkpoint can save it and `--resume` can restore
/// it exactly; `step` counts updates.
public protocol Optimizer: AnyObject {
    associatedtype Scalar: QuillScalar
    var learningRate: Double { get set }
    var step: Int { get set }
    /// Applies one update to every trainable parameter.
    func update(_ parameters: [Parameter<Scalar>])
    /// State tensors by name (for checkpoints), created on first use.
    func stateTensors(for parameters: [Parameter<Scalar>]) -> [(String, Tensor<Scalar>)]
}

/// The optimiser families Quill offers, as written in configurations.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case adam
    case rmsprop
    /// Graves (2013) eqs. 38–45: RMSProp with a running mean of the gradient and momentum.
    case gravesRMSProp = "graves-rmsprop"
    case sgd
    /// Martens's (2010) Hessian-free optimisation with Martens and Sutskever's (2011) structural damping
    /// (`HessianFree`); char models of rnn, rnn-relu, mrnn and lstm cells only.
    case hf
}

/// Hyperparameters shared by the optimiser families; each uses the fields that apply to it.
public struct OptimizerConfig: Codable, Equatable, Sendable {
    public var kind: OptimizerKind
    public var learningRate: Double
    /// Adam β1; SGD and Graves-RMSProp momentum (ℶ).
    public var momentum: Double
    /// Adam β2; RMSProp and Graves-RMSProp decay (ℵ).
    public var decay: Double
    /// ε added under the square root (Graves's ℷ) or to the denominator.
    public var epsilon: Double
    /// Hessian-free only (nil otherwise, and not written): its conjugate-gradient iterations per step, initial
    /// Levenberg–Marquardt damping λ and structural damping μ (`HessianFree`).
    public var cgIterations: Int?
    public var damping: Double?
    public var structuralDamping: Double?
    /// Hessian-free only: the fraction of the batch's streams its curvature products read (Martens 2010 §4.3
    /// computes G on a subset of the gradient's batch); nil means all.
    public var curvatureFraction: Double?

    public init(kind: OptimizerKind, learningRate: Double, momentum: Double? = nil, decay: Double? = nil,
                epsilon: Double? = nil) {
        self.kind = kind
        self.learningRate = learningRate
        switch kind {
        case .adam:
            self.momentum = momentum ?? 0.9; self.decay = decay ?? 0.999; self.epsilon = epsilon ?? 1e-8
        case .rmsprop:
            self.momentum = momentum ?? 0; self.decay = decay ?? 0.99; self.epsilon = epsilon ?? 1e-8
        case .gravesRMSProp:
            self.momentum = momentum ?? 0.9; self.decay = decay ?? 0.95; self.epsilon = epsilon ?? 1e-4
        case .sgd:
            self.momentum = momentum ?? 0.9; self.decay = decay ?? 0; self.epsilon = epsilon ?? 0
        case .hf:
            self.momentum = momentum ?? 0; self.decay = decay ?? 0; self.epsilon = epsilon ?? 0
            cgIterations = HessianFree<Double>.defaultIterations
            damping = HessianFree<Double>.defaultDamping
            structuralDamping = HessianFree<Double>.defaultStructuralDamping
        }
    }

    /// Checks the values make sense; returns a message naming the bad field.
    public func validate() -> String? {
        if !(learningRate > 0 && learningRate.isFinite) { return "learning rate must be positive, got \(learningRate)" }
        if !(momentum >= 0 && momentum < 1) { return "momentum must be in [0, 1), got \(momentum)" }
        if kind == .hf {
            if let n = cgIterations, !(1...10_000).contains(n) { return "--cg-iterations must be between 1 and 10000, got \(n)" }
            if let d = damping, !(d > 0 && d <= 1e6) { return "--damping must be more than 0 and at most 1000000, got \(d)" }
            if let m = structuralDamping, !(m >= 0 && m <= 1e6) { return "--structural-damping must be between 0 and 1000000, got \(m)" }
            if let f = curvatureFraction, !(f > 0 && f <= 1) { return "--curvature-fraction must be more than 0 and at most 1, got \(f)" }
            return nil
        }
        if kind != .sgd && !(decay > 0 && decay < 1) { return "decay must be in (0, 1), got \(decay)" }
        if !(epsilon >= 0 && epsilon.isFinite) { return "epsilon must be non-negative, got \(epsilon)" }
        return nil
    }

    /// Builds the optimiser.
    @_specialize(exported: true, where T == Float)
    public func make<T: QuillScalar>(_: T.Type = T.self) -> AnyOptimizer<T> {
        switch kind {
        case .adam: return AnyOptimizer(Adam<T>(config: self))
        case .rmsprop: return AnyOptimizer(RMSProp<T>(config: self))
        case .gravesRMSProp: return AnyOptimizer(GravesRMSProp<T>(config: self))
        case .sgd: return AnyOptimizer(SGD<T>(config: self))
        case .hf: return AnyOptimizer(HessianFree<T>(config: self))
        }
    }
}

/// A type-erased optimiser over scalar T.
public final class AnyOptimizer<T: QuillScalar> {
    private let _update: ([Parameter<T>]) -> Void
    private let _state: ([Parameter<T>]) -> [(String, Tensor<T>)]
    private let _getLR: () -> Double
    private let _setLR: (Double) -> Void
    private let _getStep: () -> Int
    private let _setStep: (Int) -> Void

    /// The optimiser itself (`HessianFree` is driven through it, not through `update`).
    public let base: AnyObject

    public init<O: Optimizer>(_ o: O) where O.Scalar == T {
        base = o
        _update = { o.update($0) }
        _state = { o.stateTensors(for: $0) }
        _getLR = { o.learningRate }
        _setLR = { o.learningRate = $0 }
        _getStep = { o.step }
        _setStep = { o.step = $0 }
    }

    @_specialize(exported: true, where T == Float)
    public func update(_ p: [Parameter<T>]) { _update(p) }
    @_specialize(exported: true, where T == Float)
    public func stateTensors(for p: [Parameter<T>]) -> [(String, Tensor<T>)] { _state(p) }
    public var learningRate: Double { get { _getLR() } set { _setLR(newValue) } }
    public var step: Int { get { _getStep() } set { _setStep(newValue) } }
}

/// Per-parameter state tensors keyed by parameter name.
final class SlotStore<T: QuillScalar> {
    private var slots: [String: Tensor<T>] = [:]
    func slot(_ name: String, like p: Parameter<T>) -> Tensor<T> {
        if let s = slots[name] { return s }
        let t = Tensor<T>(p.shape)
        slots[name] = t
        return t
    }
}
