import QuillNN
import QuillNumerics
import QuillOptim

/// The architecture of a char-level language model, saved in every checkpoint.
public struct CharModelConfig: Codable, Equatable, Sendable {
    /// Recurrent cell: lstm, gru, rnn (tanh), rnn-relu, mrnn or phased-lstm.
    public var cell: CellKind
    /// Number of stacked recurrent layers.
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

    public init(cell: CellKind = .lstm, layers: Int = 2, hidden: Int = 512, embedding: Int = CharModelConfig.defaultEmbedding, dropout: Double = 0,
                skipConnections: Bool = false, vocabularySize: Int, peepholes: Bool = false,
                forgetBias: Double = CharModelConfig.defaultForgetBias, factors: Int? = nil, learnPeriods: Bool? = nil,
                layerNorm: Bool? = nil) {
        self.cell = cell; self.layers = layers; self.hidden = hidden; self.embedding = embedding
        self.dropout = dropout; self.skipConnections = skipConnections; self.vocabularySize = vocabularySize
        self.peepholes = peepholes; self.forgetBias = forgetBias; self.factors = factors
        self.learnPeriods = learnPeriods; self.layerNorm = layerNorm
    }

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
             learnPeriods, layerNorm
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
        return nil
    }
}

/// A char-level language model: embedding (or one-hot) → recurrent stack → linear → softmax.
public final class CharModel<T: QuillScalar> {
    public let config: CharModelConfig
    public let embedding: Embedding<T>
    public let stack: RecurrentStack<T>
    public let output: Linear<T>

    @_specialize(exported: true, where T == Float)
    public init(config: CharModelConfig, rng: inout SeededGenerator) {
        self.config = config
        let V = config.vocabularySize
        embedding = Embedding(vocabularySize: V, dimension: config.embedding > 0 ? config.embedding : nil,
                              name: "embedding", rng: &rng)
        stack = RecurrentStack(kind: config.cell, inputSize: embedding.dimension, hiddenSize: config.hidden,
                               layers: config.layers, skipConnections: config.skipConnections,
                               peepholes: config.peepholes, forgetBias: config.forgetBias, factors: config.factorCount,
                               learnPeriods: config.learnsPeriods, layerNorm: config.normalizesLayers, name: "rnn",
                               rng: &rng)
        output = Linear(inputSize: stack.outputSize, outputSize: V, name: "output", rng: &rng)
    }

    /// Every tensor, in checkpoint order (the one-hot identity table included, marked not trainable).
    public var parameters: [Parameter<T>] { [embedding.table] + stack.parameters + output.parameters }

    public var trainableScalarCount: Int { parameters.filter(\.trainable).scalarCount() }

    /// The groups of `parameters` whose gradients `trainStep` reports final to its hooks, in that order: the output
    /// layer, the recurrent layers from the top (`RecurrentStack.gradientGroups`), the embedding.
    public var gradientGroups: [[Parameter<T>]] { [output.parameters] + stack.gradientGroups + [[embedding.table]] }

    @_specialize(exported: true, where T == Float)
    public func makeWorkspace(steps: Int, batch: Int) -> CharWorkspace<T> {
        CharWorkspace(model: self, steps: steps, batch: batch)
    }

    /// Forward pass over a window. inputs: (T, B) tokens, time-major. Leaves logits (T·B, V) in `ws.logits`.
    @_specialize(exported: true, where T == Float)
    public func forward(_ inputs: UnsafePointer<Int32>, _ ws: CharWorkspace<T>, dropout: Double,
                        rng: inout SeededGenerator) {
        let rows = ws.steps * ws.batch
        embedding.forward(inputs, count: rows, into: ws.embedded.ptr)
        stack.forward(ws.embedded.ptr, ws.stack, dropout: dropout, rng: &rng)
        output.forward(stack.output(ws.stack), rows: rows, into: ws.logits.ptr)
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
        let stackOut = stack.output(ws.stack)
        output.backward(stackOut, rows: rows, dy: ws.dLogits.ptr, dx: ws.dStackOut.ptr)
        hooks?.ready(output.parameters)
        let dx = embedding.isOneHot ? nil : ws.dEmbedded?.ptr
        stack.backward(ws.embedded.ptr, ws.stack, dOut: ws.dStackOut.ptr, dx: dx, hooks: hooks)
        if let dx { embedding.backward(inputs, count: rows, dOut: dx) }
        hooks?.ready([embedding.table])
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

/// Activations of a `CharModel` for one (steps, batch) shape.
public final class CharWorkspace<T: QuillScalar> {
    public let steps: Int
    public let batch: Int
    public let stack: StackWorkspace<T>
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
        stack = model.stack.makeWorkspace(steps: steps, batch: batch)
        embedded = Tensor([rows, model.embedding.dimension])
        dEmbedded = model.embedding.isOneHot ? nil : Tensor([rows, model.embedding.dimension])
        logits = Tensor([rows, model.config.vocabularySize])
        dLogits = Tensor([rows, model.config.vocabularySize])
        dStackOut = Tensor([rows, model.stack.outputSize])
    }
}
