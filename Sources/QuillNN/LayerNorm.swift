import QuillNumerics

/// Layer normalisation of rows (Ba, Kiros and Hinton 2016, "Layer normalization", eq. 4; note 003): each row v of
/// width n becomes v̂ = (v − μ)/σ, with μ and σ² = mean((v − μ)²) + ε over the row. Gains and biases are applied by
/// the caller.
public enum LayerNorm {
    /// ε inside the square root, as PyTorch's `nn.LayerNorm`.
    public static let epsilon = 1e-5

    /// Normalises `rows` rows of `width` in place (row stride `stride`), writing each row's 1/σ to `inverseSigma`.
    /// Internal, unlike Quill's other kernels: Swift 6.3 would not emit an exported float specialisation of it (a link
    /// error in release builds), and its callers are all in QuillNN, where whole-module optimisation specialises it.
    static func normalize<T: QuillScalar>(_ v: UnsafeMutablePointer<T>, rows: Int, width n: Int, stride: Int,
                                                 inverseSigma: UnsafeMutablePointer<T>) {
        for r in 0..<rows {
            let row = v + r * stride
            var mean = 0.0
            for j in 0..<n { mean += Double(row[j]) }
            mean /= Double(n)
            var variance = 0.0
            for j in 0..<n { let d = Double(row[j]) - mean; variance += d * d }
            let inv = 1 / (variance / Double(n) + epsilon).squareRoot()
            for j in 0..<n { row[j] = T((Double(row[j]) - mean) * inv) }
            inverseSigma[r] = T(inv)
        }
    }

    /// The gradient through the normalisation of one row: given v̂ (`normalized`), 1/σ and ∂L/∂v̂ (`dNormalized`),
    /// writes ∂L/∂v = (1/σ)(∂L/∂v̂ − mean(∂L/∂v̂) − v̂ · mean(∂L/∂v̂ ⊙ v̂)) into `dv` (which may be `dNormalized`).
    static func backward<T: QuillScalar>(normalized: UnsafePointer<T>, inverseSigma: T,
                                                dNormalized: UnsafePointer<T>, into dv: UnsafeMutablePointer<T>,
                                                width n: Int) {
        var mean = 0.0, meanProduct = 0.0
        for j in 0..<n {
            mean += Double(dNormalized[j])
            meanProduct += Double(dNormalized[j]) * Double(normalized[j])
        }
        mean /= Double(n)
        meanProduct /= Double(n)
        let inv = Double(inverseSigma)
        for j in 0..<n {
            dv[j] = T(inv * (Double(dNormalized[j]) - mean - Double(normalized[j]) * meanProduct))
        }
    }
}

/// The gains and bias of a layer-normalised LSTM layer (Ba et al. 2016, §3.1 and eqs. 20–22): the input and
/// recurrent products are normalised apart, each with its own gain over the 4H gates (the layer's bias b stands for
/// both of their biases), and the cell state before its tanh with a gain and a bias over H:
///
///     (i, f, g, o) = LN(x·W_x; g_x) + LN(h_{t−1}·W_h; g_h) + b
///     h_t = o ⊙ tanh(LN(c_t; g_c, b_c))
public final class LayerNormParameters<T: QuillScalar> {
    /// (4H), (4H), (H), (H). Gains start at 1, the bias at 0.
    public let inputGain: Parameter<T>
    public let recurrentGain: Parameter<T>
    public let cellGain: Parameter<T>
    public let cellBias: Parameter<T>

    @_specialize(exported: true, where T == Float)
    public init(hidden H: Int, name: String) {
        func ones(_ n: Int) -> Tensor<T> {
            let t = Tensor<T>([n])
            for i in 0..<n { t[i] = 1 }
            return t
        }
        inputGain = Parameter("\(name).ln.gx", ones(4 * H))
        recurrentGain = Parameter("\(name).ln.gh", ones(4 * H))
        cellGain = Parameter("\(name).ln.gc", ones(H))
        cellBias = Parameter("\(name).ln.bc", Tensor<T>([H]))
    }

    public var parameters: [Parameter<T>] { [inputGain, recurrentGain, cellGain, cellBias] }
}
