import Foundation
import QuillNumerics

/// The distribution of one tensor's values: counts in equal-width bins spanning its finite minimum to maximum, with
/// the moments TensorBoard's `HistogramProto` records beside them.
///
/// Bin `i` of `b` holds the values in [min + i·w, min + (i+1)·w), w = (max − min) / b, the last bin closed on the
/// right so that max falls in it. A tensor whose finite values are all equal (w = 0) has them all in bin 0. NaN and
/// ±inf are left out of the bins and the moments and counted in `nonFinite`.
public struct ValueHistogram: Equatable, Sendable {
    /// The smallest and largest finite value (0 and 0 when there is none).
    public var min: Double
    public var max: Double
    /// Values per bin, `bins` of them.
    public var counts: [Int]
    /// Σx and Σx² over the finite values.
    public var sum: Double
    public var sumOfSquares: Double
    /// NaN and ±inf values, counted apart.
    public var nonFinite: Int

    public init(min: Double, max: Double, counts: [Int], sum: Double, sumOfSquares: Double, nonFinite: Int = 0) {
        self.min = min
        self.max = max
        self.counts = counts
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.nonFinite = nonFinite
    }

    /// The number of finite values.
    public var count: Int { counts.reduce(0, +) }
    /// √(Σx²): the tensor's L2 norm over its finite values.
    public var norm: Double { sumOfSquares.squareRoot() }

    /// The right edge of every bin (`bins` values, the last = max): TensorBoard's `bucket_limit`.
    public var upperEdges: [Double] {
        let b = counts.count, w = (max - min) / Double(Swift.max(b, 1))
        return (0..<b).map { $0 == b - 1 ? max : min + Double($0 + 1) * w }
    }

    /// The histogram of `count` values at `values` in `bins` bins (bins ≥ 1). Two passes over the values: min and
    /// max, then the bins.
    public static func of(_ values: UnsafePointer<Float>, count n: Int, bins: Int) -> ValueHistogram {
        precondition(bins >= 1, "a histogram needs at least one bin")
        var lo = Float.infinity, hi = -Float.infinity, bad = 0
        for i in 0..<n {
            let v = values[i]
            if v.isFinite { lo = Swift.min(lo, v); hi = Swift.max(hi, v) } else { bad += 1 }
        }
        var counts = [Int](repeating: 0, count: bins)
        guard lo <= hi else { return ValueHistogram(min: 0, max: 0, counts: counts, sum: 0, sumOfSquares: 0, nonFinite: bad) }
        let min = Double(lo), max = Double(hi), width = (max - min) / Double(bins)
        var sum = 0.0, squares = 0.0
        for i in 0..<n {
            let v = Double(values[i])
            guard v.isFinite else { continue }
            sum += v
            squares += v * v
            let bin = width > 0 ? Swift.min(bins - 1, Int((v - min) / width)) : 0
            counts[bin] += 1
        }
        return ValueHistogram(min: min, max: max, counts: counts, sum: sum, sumOfSquares: squares, nonFinite: bad)
    }

    /// The histogram of a whole array (for tests and small tensors).
    public static func of(_ values: [Float], bins: Int) -> ValueHistogram {
        values.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else {
                return ValueHistogram(min: 0, max: 0, counts: [Int](repeating: 0, count: bins), sum: 0, sumOfSquares: 0)
            }
            return of(base, count: buffer.count, bins: bins)
        }
    }

    /// The JSON object of a metrics.jsonl histogram record: min, max, counts, sum, sum_squares (and non_finite when
    /// some values were NaN or infinite).
    var json: [String: Any] {
        var object: [String: Any] = ["min": min, "max": max, "counts": counts, "sum": sum, "sum_squares": sumOfSquares]
        if nonFinite > 0 { object["non_finite"] = nonFinite }
        return object
    }
}

/// Per-layer weight and gradient histograms and the global gradient norm of a model at one training step: what
/// `--histogram-every` logs to metrics.jsonl and `--tensorboard` writes as histogram summaries.
///
/// Gradients are measured after the backward pass (summed over the ranks of a data-parallel job) and before
/// clipping and the optimiser step; weights after that step, so both describe step `step` as the metrics count it.
public struct ParameterHistograms: Sendable {
    /// Optimiser steps taken when the weights were measured.
    public var step: Int
    /// √(Σ over trainable tensors of Σ g²), before clipping: the norm `--clip` compares.
    public var gradientNorm: Double
    /// Tensor names in the model's order (the checkpoint's names), with their histograms.
    public var weights: [(name: String, histogram: ValueHistogram)]
    public var gradients: [(name: String, histogram: ValueHistogram)]

    /// The default number of bins (`--histogram-every`'s records).
    public static let defaultBins = 30

    /// The gradient histograms and global gradient norm of the trainable tensors in `parameters`; `weights` are left
    /// empty until `measureWeights`.
    public static func measureGradients(_ parameters: [Parameter<Float>], bins: Int = defaultBins) -> ParameterHistograms {
        let trainable = parameters.filter(\.trainable)
        let gradients = trainable.map { (name: $0.name, histogram: ValueHistogram.of($0.grad.ptr, count: $0.count, bins: bins)) }
        // The norm includes NaN and ±inf (as the clipping's does), which the histograms leave out.
        let norm = gradients.contains { $0.histogram.nonFinite > 0 }
            ? Double.nan : gradients.reduce(0.0) { $0 + $1.histogram.sumOfSquares }.squareRoot()
        return ParameterHistograms(step: 0, gradientNorm: norm, weights: [], gradients: gradients)
    }

    /// Fills `weights` from the trainable tensors of `parameters` at `step`.
    public mutating func measureWeights(_ parameters: [Parameter<Float>], step: Int, bins: Int = defaultBins) {
        self.step = step
        weights = parameters.filter(\.trainable).map {
            (name: $0.name, histogram: ValueHistogram.of($0.value.ptr, count: $0.count, bins: bins))
        }
    }

    /// The metrics.jsonl record (kind, step and elapsed_s are added by the run):
    /// `{"kind":"histograms","step":S,"grad_norm":G,"parameters":[names in order],"weights":{name:{min,max,counts,
    /// sum,sum_squares}},"gradients":{…}}`. Readers of train and val records skip it (`MetricsLog`).
    public var metricsLine: [String: Any] {
        var w: [String: Any] = [:], g: [String: Any] = [:]
        for (name, h) in weights { w[name] = h.json }
        for (name, h) in gradients { g[name] = h.json }
        let names = weights.isEmpty ? gradients.map(\.name) : weights.map(\.name)
        return ["kind": "histograms", "grad_norm": gradientNorm.isFinite ? gradientNorm : NSNull() as Any,
                "parameters": names, "weights": w, "gradients": g]
    }
}
