import Foundation
import QuillNumerics

/// How a new run draws its weight matrices (`--init`), in place of each layer's own initialisation (uniform in
/// ±1/√fan-in for the recurrent and linear layers). Biases, the forget-gate bias among them, and tensors that are not
/// trained (the one-hot table) keep the layer's values.
///
/// - `uniform:A`: every weight from U(−A, A) (char-rnn's ±0.08);
/// - `normal:SIGMA`: from N(0, SIGMA²) (note 002 uses SIGMA = 0.1);
/// - `xavier`: Glorot and Bengio (2010)'s uniform, U(±√(6 / (fan-in + fan-out))), fan-in the matrix's rows and
///   fan-out its columns (Quill's matrices are input × output).
public enum WeightInit: Codable, Equatable, Sendable, CustomStringConvertible {
    case uniform(Double)
    case normal(Double)
    case xavier

    /// The largest A or SIGMA accepted: beyond it every gate saturates.
    public static let maximumScale = 10.0

    /// Parses `uniform:A`, `normal:SIGMA` or `xavier`; nil for anything else (a scale must be more than 0 and at most
    /// `maximumScale`).
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count) {
        case ("xavier", 1): self = .xavier
        case ("uniform", 2), ("normal", 2):
            guard let v = Double(parts[1]), v > 0, v <= WeightInit.maximumScale else { return nil }
            self = parts[0] == "uniform" ? .uniform(v) : .normal(v)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .uniform(a): return "uniform:\(a)"
        case let .normal(s): return "normal:\(s)"
        case .xavier: return "xavier"
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let w = WeightInit(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not a weight initialisation: \(text)"))
        }
        self = w
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Redraws every trained matrix (2-D tensor) of `parameters` from `rng`, in order.
    public func apply(to parameters: [Parameter<Float>], rng: inout SeededGenerator) {
        for p in parameters where p.trainable && p.shape.count == 2 {
            let bound = sqrt(6 / Double(p.shape[0] + p.shape[1]))
            for i in 0..<p.value.count {
                switch self {
                case let .uniform(a): p.value[i] = Float((rng.uniform() * 2 - 1) * a)
                case let .normal(s): p.value[i] = Float(rng.normal() * s)
                case .xavier: p.value[i] = Float((rng.uniform() * 2 - 1) * bound)
                }
            }
        }
    }
}
