import QuillNN
import QuillNumerics

/// Which of Graves's handwriting networks a model is.
public enum HandwritingKind: String, Codable, Sendable {
    /// Section 4: unconditional handwriting prediction.
    case prediction
    /// Section 5: handwriting conditioned on text through a soft window.
    case synthesis
}

/// The architecture of a handwriting network, saved in every checkpoint.
public struct HandwritingConfig: Codable, Equatable, Sendable {
    public var kind: HandwritingKind
    /// Stacked LSTM layers (Graves: 3).
    public var layers: Int
    /// Units per layer (Graves: 400).
    public var hidden: Int
    /// The mixture-density output: M components, σ floor, ρ bound.
    public var mixture: MixtureDensity
    /// Synthesis: Gaussians in the soft window (Graves: K = 10).
    public var windowComponents: Int
    /// Synthesis: scale s of the window step, κ_t = κ_{t−1} + s·exp κ̂ (see `SoftWindow`).
    public var kappaScale: Double
    /// Synthesis: the alphabet size (characters are one-hot inside the window); 0 until the data sets it.
    public var alphabetSize: Int
    /// Graves's peephole connections in every LSTM layer (eqs. 7–11); off by default, as in most reimplementations.
    public var peepholes: Bool

    public init(kind: HandwritingKind, layers: Int = 3, hidden: Int = 400, mixture: MixtureDensity = MixtureDensity(),
                windowComponents: Int = 10, kappaScale: Double = 1.0 / 25, alphabetSize: Int = 0,
                peepholes: Bool = false) {
        self.kind = kind; self.layers = layers; self.hidden = hidden; self.mixture = mixture
        self.windowComponents = windowComponents; self.kappaScale = kappaScale; self.alphabetSize = alphabetSize
        self.peepholes = peepholes
    }

    private enum CodingKeys: String, CodingKey {
        case kind, layers, hidden, mixture, windowComponents, kappaScale, alphabetSize, peepholes
    }

    /// Checkpoints written before peepholes existed have no `peepholes` field: they are plain LSTMs.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(HandwritingKind.self, forKey: .kind)
        layers = try c.decode(Int.self, forKey: .layers)
        hidden = try c.decode(Int.self, forKey: .hidden)
        mixture = try c.decode(MixtureDensity.self, forKey: .mixture)
        windowComponents = try c.decode(Int.self, forKey: .windowComponents)
        kappaScale = try c.decode(Double.self, forKey: .kappaScale)
        alphabetSize = try c.decode(Int.self, forKey: .alphabetSize)
        peepholes = try c.decodeIfPresent(Bool.self, forKey: .peepholes) ?? false
    }

    public func validate() -> String? {
        if !(1...16).contains(layers) { return "--layers must be between 1 and 16, got \(layers)" }
        if !(1...8192).contains(hidden) { return "--hidden must be between 1 and 8192, got \(hidden)" }
        if let m = mixture.validate() { return m }
        if kind == .synthesis {
            if !(1...100).contains(windowComponents) { return "--window must be between 1 and 100, got \(windowComponents)" }
            if !(kappaScale > 0 && kappaScale <= 10) { return "kappa scale must be in (0, 10], got \(kappaScale)" }
            if !(0...1_114_112).contains(alphabetSize) { return "the alphabet size must be between 0 and 1114112, got \(alphabetSize)" }
        }
        return nil
    }
}

/// Graves's handwriting networks: a `RecurrentStack` of LSTMs with skip connections (eqs. 1–3) — with a soft window
/// over the text for synthesis (eqs. 46–53) — composed with a `MixtureHead` (eqs. 17–26).
///
/// Layer 1 reads (dx, dy, eos), and for synthesis the window vector w_{t−1}; layer n > 1 reads (dx, dy, eos), hⁿ⁻¹_t
/// and w_t. The window reads h¹_t. The mixture head reads every layer's output.
public final class HandwritingModel<T: QuillScalar> {
    public let config: HandwritingConfig
    /// The LSTM layers `lstm.0` … and, for synthesis, the window `window`.
    public let stack: RecurrentStack<T>
    /// The mixture head `output`, over all layers' outputs.
    public let output: MixtureHead<T>
    public var window: SoftWindow<T>? { stack.window }
    public var mixture: MixtureDensity { config.mixture }
    /// When set, `trainStep` adds the time of each of its phases here (`quill bench handwriting --profile`).
    public var profile: PhaseProfile? { didSet { stack.profile = profile } }

    @_specialize(exported: true, where T == Float)
    public init(config: HandwritingConfig, rng: inout SeededGenerator) {
        self.config = config
        let window = config.kind == .synthesis
            ? SoftWindowShape(components: config.windowComponents, vocabularySize: config.alphabetSize,
                              kappaScale: config.kappaScale, name: "window")
            : nil
        stack = RecurrentStack(kind: .lstm, inputSize: 3, hiddenSize: config.hidden, layers: config.layers,
                               skipConnections: true, peepholes: config.peepholes, window: window, name: "lstm",
                               rng: &rng)
        output = MixtureHead(inputSize: stack.outputSize, density: config.mixture, name: "output", rng: &rng)
    }

    /// Every tensor, in checkpoint order: the layers, the window, the mixture head.
    public var parameters: [Parameter<T>] { stack.parameters + output.parameters }

    /// The groups of `parameters` whose gradients `trainStep` reports final to its hooks, in that order: the mixture
    /// head, then the LSTM layers from the top, layer 1 with the window (`RecurrentStack.gradientGroups`).
    public var gradientGroups: [[Parameter<T>]] { [output.parameters] + stack.gradientGroups }

    /// Graves's clip of the LSTM pre-activation derivatives (he uses 10); nil for none.
    @_specialize(exported: true, where T == Float)
    public func setPreactivationGradientClip(_ clip: T?) { stack.setPreactivationGradientClip(clip) }

    @_specialize(exported: true, where T == Float)
    public func makeWorkspace(steps: Int, batch: Int, maxTextLength: Int = 1) -> HandwritingWorkspace<T> {
        HandwritingWorkspace(model: self, steps: steps, batch: batch, maxTextLength: maxTextLength)
    }

    // MARK: - Forward

    /// Forward over `ws.activeSteps` steps from the workspace's current state. Inputs are `ws.inputs` (T, B, 3);
    /// the raw mixture outputs land in `ws.y` (T, B, 1 + 6M).
    @_specialize(exported: true, where T == Float)
    public func forward(_ ws: HandwritingWorkspace<T>) {
        stack.forward(ws.inputs.ptr, ws.stack)
        output.forward(stack.output(ws.stack), rows: ws.activeSteps * ws.batch, into: ws.y.ptr)
        profile?.lap("forward output")
    }

    /// `forward` without the mixture head: the recurrent stack (window included) over `ws.activeSteps` steps, its
    /// state moved on exactly as `forward` moves it (the head feeds nothing back), `ws.y` left as it was. For steps
    /// whose outputs nobody reads, such as a prime's rows; the head is 768 × 121 of the bundled model's 1.65 M
    /// weights (3 × 256 LSTM with skip connections, M = 20).
    @_specialize(exported: true, where T == Float)
    public func forwardState(_ ws: HandwritingWorkspace<T>) {
        stack.forward(ws.inputs.ptr, ws.stack)
    }

    // MARK: - Loss and backward

    /// Forward, the mixture NLL of `ws.targets` under `ws.mask`, and backward into the gradients (which accumulate).
    /// Gradients are of the NLL summed over time and averaged over the batch's sequences (Graves's per-sequence
    /// loss). `outputClip` clamps ∂L/∂ŷ (Graves: 100). Returns the summed NLL (nats) and its parts.
    /// `sequencesInBatch`: the sequences the gradient is averaged over, when this workspace holds a data-parallel
    /// rank's share of a larger batch (nil: the workspace's own `sequenceCount`). `hooks` hears of each of
    /// `gradientGroups` as soon as its gradients are final.
    @_specialize(exported: true, where T == Float)
    public func trainStep(_ ws: HandwritingWorkspace<T>, outputClip: T?, sequencesInBatch: Int? = nil,
                          hooks: GradientHooks<T>? = nil) -> (total: Double, offsets: Double, endOfStroke: Double) {
        forward(ws)
        let rows = ws.activeSteps * ws.batch
        let loss = output.loss(ws.y.ptr, targets: ws.targets.ptr, mask: ws.mask.ptr, rows: rows, dy: ws.dy.ptr,
                               scale: 1 / Swift.max(T(sequencesInBatch ?? ws.sequenceCount), 1))
        if let c = outputClip { Kernels.clamp(ws.dy.ptr, count: rows * output.outputSize, limit: c) }
        profile?.lap("mixture loss + gradient")
        output.backward(stack.output(ws.stack), rows: rows, dy: ws.dy.ptr, dx: ws.dStackOutput.ptr)
        hooks?.ready(output.parameters)
        profile?.lap("backward output")
        stack.backward(ws.inputs.ptr, ws.stack, dOut: ws.dStackOutput.ptr, dx: nil, hooks: hooks)
        return loss
    }

    /// The NLL of a batch without gradients.
    @_specialize(exported: true, where T == Float)
    public func evaluate(_ ws: HandwritingWorkspace<T>) -> (total: Double, offsets: Double, endOfStroke: Double) {
        forward(ws)
        return output.loss(ws.y.ptr, targets: ws.targets.ptr, mask: ws.mask.ptr, rows: ws.activeSteps * ws.batch,
                           dy: nil)
    }
}

/// Activations of a `HandwritingModel` for up to `steps` steps of `batch` sequences.
public final class HandwritingWorkspace<T: QuillScalar> {
    /// The stack's activations, the window's text and state among them.
    public let stack: StackWorkspace<T>
    /// Sequences in the batch with at least one unmasked step (the loss is averaged over these).
    public var sequenceCount: Int
    /// (T, B, 3) inputs x_t and targets x_{t+1} as (dx, dy, eos); (T, B) mask.
    public let inputs: Tensor<T>
    public let targets: Tensor<T>
    public let mask: Tensor<T>
    /// (T, B, 1 + 6M) raw mixture outputs, and their gradient.
    public let y: Tensor<T>
    let dy: Tensor<T>
    /// (T, B, N·H) the gradient reaching the stack's output.
    let dStackOutput: Tensor<T>

    init(model: HandwritingModel<T>, steps: Int, batch: Int, maxTextLength: Int) {
        stack = model.stack.makeWorkspace(steps: steps, batch: batch, maxTextLength: maxTextLength)
        sequenceCount = batch
        let rows = steps * batch
        inputs = Tensor([steps, batch, 3])
        targets = Tensor([steps, batch, 3])
        mask = Tensor([steps, batch])
        y = Tensor([rows, model.output.outputSize])
        dy = Tensor([rows, model.output.outputSize])
        dStackOutput = Tensor([rows, model.stack.outputSize])
    }

    /// Capacity in steps, and the batch size.
    public var steps: Int { stack.steps }
    public var batch: Int { stack.batch }
    /// Steps the next pass runs (≤ `steps`).
    public var activeSteps: Int {
        get { stack.activeSteps }
        set { stack.activeSteps = newValue }
    }
    /// The window's text and state (synthesis).
    public var window: WindowWorkspace<T>? { stack.window }

    /// Starts every sequence from zero state (and the window before the first character).
    @_specialize(exported: true, where T == Float)
    public func resetState() { stack.resetState() }
}
