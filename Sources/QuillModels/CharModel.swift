import QuillNN
import QuillNumerics
import QuillOptim

/// The architecture of a char-level language model, saved in every checkpoint.
public struct CharModelConfig: Codable, Equatable, Sendable {
    /// Cell: lstm, gru, rnn (tanh), rnn-relu, mrnn or phased-lstm; or the feed-forward tcn or nnn
    /// (`ConvolutionStack`).
    public var cell: CellKind
    /// Number of stacked recurrent layers (n-NN: layers, the first over the context; TCN: blocks, one per dilation).
    public var layers: Int
    /// Units per layer.
    public var hidden: Int
    /// Embedding width; 0 means a one-hot input (char-rnn's choice). The default, a learned embedding twice as wide as a
    /// typical vocabulary, learns several times faster per step than a one-hot input under Adam: the input weights of a
    /// one-hot input move by about the learning rate per step, while an embedding's product with the input weights moves
    /// by about `embedding` times that (measured on tiny Shakespeare: README, "Learning per step").
    public var embedding: Int
    /// Dropout between layers and before the output layer (0 turns it off).
    public var dropout: Double
    /// Graves's skip connections: the input feeds every layer and every layer feeds the output.
    public var skipConnections: Bool
    /// Vocabulary size (the vocabulary itself is stored beside the config).
    public var vocabularySize: Int
    /// Graves's peephole connections (LSTM only).
    public var peepholes: Bool
    /// The LSTM forget gates' initial bias (the other biases start at 0). 0, PyTorch's mean, learns faster per step
    /// on tiny Shakespeare than Gers et al.'s 1 (README, "Learning per step"); checkpoints written before this field
    /// existed were initialised with 1.
    public var forgetBias: Double
    /// The MRNN's factors F as given (`--factors`); nil means as many as `hidden`, and for other cells it stays nil
    /// (checkpoints of other cells have no such field).
    public var factors: Int?
    /// Whether a Phased LSTM trains its periods τ (`--learn-periods`; `TimeGate`); nil (not written) means no.
    public var learnPeriods: Bool?
    /// Layer-normalised LSTM layers (`--layer-norm`; `LayerNormParameters`); nil (not written) means no.
    public var layerNorm: Bool?
    /// The n-NN's context N, the characters its first layer reads (`--context`); nil for other cells.
    public var context: Int?
    /// The TCN's dilations, one block each, strictly increasing (`--dilations`); nil for other cells.
    public var dilations: [Int]?

    public init(cell: CellKind = .lstm, layers: Int = 2, hidden: Int = 512, embedding: Int = CharModelConfig.defaultEmbedding, dropout: Double = 0,
                skipConnections: Bool = false, vocabularySize: Int, peepholes: Bool = false,
                forgetBias: Double = CharModelConfig.defaultForgetBias, factors: Int? = nil, learnPeriods: Bool? = nil,
                layerNorm: Bool? = nil, context: Int? = nil, dilations: [Int]? = nil) {
        self.cell = cell; self.layers = layers; self.hidden = hidden; self.embedding = embedding
        self.dropout = dropout; self.skipConnections = skipConnections; self.vocabularySize = vocabularySize
        self.peepholes = peepholes; self.forgetBias = forgetBias; self.factors = factors
        self.learnPeriods = learnPeriods; self.layerNorm = layerNorm; self.context = context; self.dilations = dilations
    }

    /// The feed-forward architecture of a tcn or nnn model, nil for recurrent cells. Call after `validate()`.
    public var convolutionArchitecture: ConvolutionArchitecture? {
        switch cell {
        case .nnn: return .nnn(context: context ?? Self.defaultContext)
        case .tcn: return .tcn(dilations: dilations ?? Self.defaultDilations)
        default: return nil
        }
    }

    /// The n-NN's context when `--context` is not given.
    public static let defaultContext = 5
    /// The TCN's dilations when `--dilations` is not given: receptive field 128 characters.
    public static let defaultDilations = [1, 2, 4, 8, 16, 32, 64]

    /// Whether the layers are layer-normalised.
    public var normalizesLayers: Bool { layerNorm == true }

    /// Whether Phased LSTM layers train their periods.
    public var learnsPeriods: Bool { cell == .phasedLSTM && learnPeriods == true }

    /// Each layer's F: `factors`, or `hidden` when not given, for an MRNN; 0 for other cells.
    public var factorCount: Int { cell == .mrnn ? (factors ?? hidden) : 0 }

    /// The default embedding width: on tiny Shakespeare, 128 learns faster per step than PyTorch's reference
    /// (`nn.Embedding(65, 65)` before its LSTM), 64 about as fast (README, "Learning per step").
    public static let defaultEmbedding = 128
    /// The default initial forget-gate bias.
    public static let defaultForgetBias = 0.0

    private enum CodingKeys: String, CodingKey {
        case cell, layers, hidden, embedding, dropout, skipConnections, vocabularySize, peepholes, forgetBias, factors,
             learnPeriods, layerNorm, context, dilations
    }

    /// Checkpoints written before peepholes existed have no `peepholes` field, and those written before the forget
    /// bias was an option have no `forgetBias` (they used 1).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cell = try c.decode(CellKind.self, forKey: .cell)
        layers = try c.decode(Int.self, forKey: .layers)
        hidden = try c.decode(Int.self, forKey: .hidden)
        embedding = try c.decode(Int.self, forKey: .embedding)
        dropout = try c.decode(Double.self, forKey: .dropout)
        skipConnections = try c.decode(Bool.self, forKey: .skipConnections)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        peepholes = try c.decodeIfPresent(Bool.self, forKey: .peepholes) ?? false
        forgetBias = try c.decodeIfPresent(Double.self, forKey: .forgetBias) ?? 1
        factors = try c.decodeIfPresent(Int.self, forKey: .factors)
        learnPeriods = try c.decodeIfPresent(Bool.self, forKey: .learnPeriods)
        layerNorm = try c.decodeIfPresent(Bool.self, forKey: .layerNorm)
        context = try c.decodeIfPresent(Int.self, forKey: .context)
        dilations = try c.decodeIfPresent([Int].self, forKey: .dilations)
    }

    /// A message naming the first nonsensical field, or nil.
    public func validate() -> String? {
        if !(1...32).contains(layers) { return "--layers must be between 1 and 32, got \(layers)" }
        if !(1...16384).contains(hidden) { return "--hidden must be between 1 and 16384, got \(hidden)" }
        if !(0...16384).contains(embedding) { return "--embedding must be between 0 (one-hot) and 16384, got \(embedding)" }
        if !(dropout >= 0 && dropout < 1) { return "--dropout must be in [0, 1), got \(dropout)" }
        if vocabularySize < 1 { return "the vocabulary is empty" }
        // Unicode has 1,114,112 code points; a larger vocabulary cannot come from text.
        if vocabularySize > 1_114_112 { return "the vocabulary size \(vocabularySize) exceeds the number of Unicode code points" }
        if !(forgetBias.isFinite && abs(forgetBias) <= 10) { return "--forget-bias must be between -10 and 10, got \(forgetBias)" }
        if peepholes && cell != .lstm { return "--peepholes needs --cell lstm (only LSTM cells have peepholes)" }
        if let factors {
            if cell != .mrnn { return "--factors needs --cell mrnn (only the MRNN has factors)" }
            if !(1...16384).contains(factors) { return "--factors must be between 1 and 16384, got \(factors)" }
        }
        if layerNorm == true && cell != .lstm {
            return "--layer-norm needs --cell lstm (Quill normalises LSTM layers only)"
        }
        if layerNorm == true && peepholes { return "--layer-norm and --peepholes don't go together: choose one" }
        if learnPeriods == true && cell != .phasedLSTM {
            return "--learn-periods needs --cell phased-lstm (only the Phased LSTM has periods)"
        }
        if let context {
            if cell != .nnn { return "--context needs --cell nnn (only the n-NN reads a fixed context)" }
            if !(1...256).contains(context) { return "--context must be between 1 and 256 characters, got \(context)" }
        }
        if let dilations {
            if cell != .tcn { return "--dilations needs --cell tcn (only the TCN has dilations)" }
            if dilations.isEmpty { return "--dilations is empty: give at least one, for example 1,2,4,8" }
            if let d = dilations.first(where: { !(1...65536).contains($0) }) {
                return "--dilations must each be between 1 and 65536, got \(d)"
            }
            if zip(dilations, dilations.dropFirst()).contains(where: { $0 >= $1 }) {
                return "--dilations must increase strictly, got \(dilations.map(String.init).joined(separator: ","))"
            }
        }
        if !cell.isRecurrent {
            if cell == .tcn, layers != (dilations ?? Self.defaultDilations).count {
                return "a TCN has one block per dilation: --layers \(layers) but \((dilations ?? Self.defaultDilations).count) dilations"
            }
            if dropout > 0 { return "--dropout: Quill's \(cell.rawValue) models have no dropout; leave it at 0" }
            if skipConnections {
                return cell == .tcn ? "--skip: a TCN always has WaveNet's skip connections; leave the flag out"
                    : "--skip: the n-NN has no skip connections"
            }
        }
        return nil
    }
}

/// A char-level language model: embedding (or one-hot) → recurrent stack (or, for tcn and nnn, a convolution stack)
/// → linear → softmax.
public final class CharModel<T: QuillScalar> {
    public let config: CharModelConfig
    public let embedding: Embedding<T>
    /// The recurrent layers; nil for tcn and nnn models.
    public let stack: RecurrentStack<T>?
    /// The feed-forward layers of tcn and nnn models; nil for recurrent ones.
    public let convolution: ConvolutionStack<T>?
    public let output: Linear<T>
    /// When set, `trainStep` adds the time of each of its phases here (`quill bench char --profile`).
    public var profile: PhaseProfile? { didSet { stack?.profile = profile } }

    @_specialize(exported: true, where T == Float)
    public init(config: CharModelConfig, rng: inout SeededGenerator) {
        self.config = config
        let V = config.vocabularySize
        embedding = Embedding(vocabularySize: V, dimension: config.embedding > 0 ? config.embedding : nil,
                              name: "embedding", rng: &rng)
        if let architecture = config.convolutionArchitecture {
            stack = nil
            let conv = ConvolutionStack<T>(architecture: architecture, inputSize: embedding.dimension,
                                           hiddenSize: config.hidden, layers: config.layers, name: "conv", rng: &rng)
            convolution = conv
            output = Linear(inputSize: conv.outputSize, outputSize: V, name: "output", rng: &rng)
        } else {
            let rnn = RecurrentStack<T>(kind: config.cell, inputSize: embedding.dimension, hiddenSize: config.hidden,
                                        layers: config.layers, skipConnections: config.skipConnections,
                                        peepholes: config.peepholes, forgetBias: config.forgetBias,
                                        factors: config.factorCount, learnPeriods: config.learnsPeriods,
                                        layerNorm: config.normalizesLayers, name: "rnn", rng: &rng)
            stack = rnn
            convolution = nil
            output = Linear(inputSize: rnn.outputSize, outputSize: V, name: "output", rng: &rng)
        }
    }

    /// Every tensor, in checkpoint order (the one-hot identity table included, marked not trainable).
    public var parameters: [Parameter<T>] { [embedding.table] + bodyParameters + output.parameters }

    /// The recurrent or convolution stack's parameters.
    var bodyParameters: [Parameter<T>] { stack?.parameters ?? convolution?.parameters ?? [] }

    /// Width of the recurrent or convolution stack's output, the output layer's input.
    public var bodyOutputSize: Int { output.inputSize }

    public var trainableScalarCount: Int { parameters.filter(\.trainable).scalarCount() }

    /// The groups of `parameters` whose gradients `trainStep` reports final to its hooks, in that order: the output
    /// layer, the recurrent layers from the top (`RecurrentStack.gradientGroups`) or the convolution stack, the
    /// embedding.
    public var gradientGroups: [[Parameter<T>]] {
        [output.parameters] + (stack?.gradientGroups ?? convolution?.gradientGroups ?? []) + [[embedding.table]]
    }

    @_specialize(exported: true, where T == Float)
    public func makeWorkspace(steps: Int, batch: Int) -> CharWorkspace<T> {
        CharWorkspace(model: self, steps: steps, batch: batch)
    }

    /// Forward pass over a window. inputs: (T, B) tokens, time-major. Leaves logits (T·B, V) in `ws.logits`.
    @_specialize(exported: true, where T == Float)
    public func forward(_ inputs: UnsafePointer<Int32>, _ ws: CharWorkspace<T>, dropout: Double,
                        rng: inout SeededGenerator) {
        let rows = ws.steps * ws.batch
        profile?.begin()
        embedding.forward(inputs, count: rows, into: ws.embedded.ptr)
        profile?.lap("embedding")
        let body = forwardBody(inputs, ws, dropout: dropout, rng: &rng)
        profile?.lap("forward stack output")
        output.forward(body, rows: rows, into: ws.logits.ptr)
        profile?.lap("forward output")
    }

    /// The recurrent or convolution stack's forward pass over `ws.embedded`, the table rows of `inputs`; returns its
    /// output (T·B, width).
    private func forwardBody(_ inputs: UnsafePointer<Int32>, _ ws: CharWorkspace<T>, dropout: Double,
                             rng: inout SeededGenerator) -> UnsafeMutablePointer<T> {
        if let stack, let sws = ws.stack {
            let tokens = TokenRows(tokens: inputs, table: embedding.table)
            stack.forward(ws.embedded.ptr, tokens: tokens, sws, dropout: dropout, rng: &rng)
            return stack.output(sws)
        }
        // Invariant: a model without a recurrent stack has a convolution stack, and its workspace one too (init).
        let conv = convolution!, cws = ws.convolution!
        conv.forward(ws.embedded.ptr, cws)
        return conv.output(cws)
    }

    /// The stack's output of the last forward pass: (T·B, `bodyOutputSize`).
    @_specialize(exported: true, where T == Float)
    public func bodyOutput(_ ws: CharWorkspace<T>) -> UnsafeMutablePointer<T> {
        if let stack, let sws = ws.stack { return stack.output(sws) }
        // Invariant: a model without a recurrent stack has a convolution stack, and its workspace one too (init).
        return convolution!.output(ws.convolution!)
    }

    /// One training window: forward, loss, and backward into the parameters' gradients (which accumulate; zero them
    /// first). Returns the summed loss in nats; gradients are of the mean loss per character, over `lossRows`
    /// characters when given (a data-parallel rank's share of a larger batch), else over this window's. `hooks`
    /// hears of each of `gradientGroups` as soon as its gradients are final.
    @_specialize(exported: true, where T == Float)
    public func trainStep(inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, _ ws: CharWorkspace<T>,
                          dropout: Double, rng: inout SeededGenerator, lossRows: Int? = nil,
                          hooks: GradientHooks<T>? = nil) -> Double {
        let rows = ws.steps * ws.batch, V = config.vocabularySize
        forward(inputs, ws, dropout: dropout, rng: &rng)
        let loss = SoftmaxCrossEntropy.loss(logits: ws.logits.ptr, targets: targets, rows: rows, classes: V,
                                            dLogits: ws.dLogits.ptr, scale: T(1) / T(lossRows ?? rows))
        profile?.lap("softmax loss + gradient")
        output.backward(bodyOutput(ws), rows: rows, dy: ws.dLogits.ptr, dx: ws.dStackOut.ptr)
        hooks?.ready(output.parameters)
        profile?.lap("backward output")
        let dx = embedding.isOneHot ? nil : ws.dEmbedded?.ptr
        var wroteDx = dx != nil
        if let stack, let sws = ws.stack {
            let tokens = TokenRows(tokens: inputs, table: embedding.table)
            wroteDx = stack.backward(ws.embedded.ptr, tokens: tokens, sws, dOut: ws.dStackOut.ptr, dx: dx, hooks: hooks)
        } else if let conv = convolution, let cws = ws.convolution {
            conv.backward(cws, dOut: ws.dStackOut.ptr, dx: dx)
            for group in conv.gradientGroups { hooks?.ready(group) }
            profile?.lap("backward body")
        }
        if let dx, wroteDx { embedding.backward(inputs, count: rows, dOut: dx) }
        hooks?.ready([embedding.table])
        profile?.lap("embedding backward")
        return loss
    }

    /// Summed loss in nats of a window, without gradients or dropout.
    @_specialize(exported: true, where T == Float)
    public func evaluate(inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, _ ws: CharWorkspace<T>) -> Double {
        var unused = SeededGenerator(seed: 0)
        forward(inputs, ws, dropout: 0, rng: &unused)
        return SoftmaxCrossEntropy.loss(logits: ws.logits.ptr, targets: targets, rows: ws.steps * ws.batch,
                                        classes: config.vocabularySize, dLogits: nil)
    }
}

/// The state a `CharModel` carries from one step or window to the next, per stream: every recurrent layer's
/// (`RecurrentState`), or every convolution's last inputs (`ConvolutionStackWorkspace.states`).
public enum CharState<T: QuillScalar> {
    case recurrent([RecurrentState<T>])
    case convolution([[T]])
}

/// Activations of a `CharModel` for one (steps, batch) shape.
public final class CharWorkspace<T: QuillScalar> {
    public let steps: Int
    public let batch: Int
    /// The recurrent stack's activations; nil for tcn and nnn models.
    public let stack: StackWorkspace<T>?
    /// The convolution stack's; nil for recurrent models.
    public let convolution: ConvolutionStackWorkspace<T>?
    /// (T·B, E)
    let embedded: Tensor<T>
    let dEmbedded: Tensor<T>?
    /// (T·B, V)
    public let logits: Tensor<T>
    let dLogits: Tensor<T>
    /// (T·B, stack output width)
    let dStackOut: Tensor<T>

    init(model: CharModel<T>, steps: Int, batch: Int) {
        self.steps = steps
        self.batch = batch
        let rows = steps * batch
        stack = model.stack?.makeWorkspace(steps: steps, batch: batch)
        convolution = model.convolution?.makeWorkspace(steps: steps, batch: batch)
        embedded = Tensor([rows, model.embedding.dimension])
        dEmbedded = model.embedding.isOneHot ? nil : Tensor([rows, model.embedding.dimension])
        logits = Tensor([rows, model.config.vocabularySize])
        dLogits = Tensor([rows, model.config.vocabularySize])
        dStackOut = Tensor([rows, model.bodyOutputSize])
    }

    /// Carries the state to the next window of steps.
    @_specialize(exported: true, where T == Float)
    public func carryState() { stack?.carryState(); convolution?.carryState() }
    /// Every stream starts over: zero state.
    @_specialize(exported: true, where T == Float)
    public func resetState() { stack?.resetState(); convolution?.resetState() }
    /// Stream b starts over.
    @_specialize(exported: true, where T == Float)
    public func resetState(row b: Int) { stack?.resetState(row: b); convolution?.resetState(row: b) }
    /// Stream b takes stream order[b]'s state (beam search).
    @_specialize(exported: true, where T == Float)
    public func reorderState(_ order: [Int]) { stack?.reorderState(order); convolution?.reorderState(order) }
    /// A copy of the state the next step starts from.
    @_specialize(exported: true, where T == Float)
    public func state() -> CharState<T> {
        if let stack { return .recurrent(stack.states()) }
        return .convolution(convolution?.states() ?? [])
    }
    /// Sets the state from `state()` of a workspace of the same model and batch.
    @_specialize(exported: true, where T == Float)
    public func setState(_ s: CharState<T>) {
        switch s {
        case .recurrent(let states): stack?.setStates(states)
        case .convolution(let states): convolution?.setStates(states)
        }
    }
}
