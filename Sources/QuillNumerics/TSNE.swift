import Foundation

/// t-distributed stochastic neighbour embedding (van der Maaten and Hinton, "Visualizing Data using t-SNE", JMLR 2008),
/// exact (every pair, O(n²) time and memory per iteration): points in many dimensions laid out in two so that
/// neighbours stay neighbours. Quill uses it for the model-similarity figure of Karpathy, Johnson and Fei-Fei (2016),
/// one point per trained model, and for maps of one model's hidden states.
///
/// The optimisation is the paper's: affinities p_{j|i} ∝ exp(−β_i ‖x_i − x_j‖²) with β_i found by bisection so that
/// each point's perplexity 2^{H(P_i)} is the one asked for (eq. 1, H in bits), symmetrised p_ij = (p_{j|i} + p_{i|j})/2n;
/// a Student-t kernel with one degree of freedom in the map, q_ij ∝ (1 + ‖y_i − y_j‖²)⁻¹ (eq. 4); gradient descent on
/// KL(P‖Q) (eq. 5) with momentum, the adaptive gains of Jacobs (1988), and early exaggeration of P.
public enum TSNE {
    public struct Options: Equatable, Sendable {
        /// The effective number of neighbours each point keeps (the paper suggests 5–50); below the number of points.
        public var perplexity: Double = 30
        /// Gradient steps in all.
        public var iterations: Int = 1000
        /// Steps at the start during which P is multiplied by `exaggeration` (clusters form first, then spread).
        public var exaggerationIterations: Int = 250
        public var exaggeration: Double = 12
        /// The step size; nil for max(n / exaggeration / 4, 50) (Belkina et al. 2019, as scikit-learn's "auto").
        public var learningRate: Double? = nil
        /// Seed of the initial map, N(0, 10⁻⁴) per coordinate as in the paper.
        public var seed: UInt64 = 1

        public init(perplexity: Double = 30, iterations: Int = 1000, seed: UInt64 = 1) {
            self.perplexity = perplexity; self.iterations = iterations; self.seed = seed
        }
    }

    /// A map and how well it fits.
    public struct Embedding: Equatable, Sendable {
        /// One (x, y) per input point, centred on the origin.
        public var points: [(x: Double, y: Double)]
        /// KL(P‖Q) of the final map, in nats.
        public var divergence: Double

        public static func == (a: Embedding, b: Embedding) -> Bool {
            a.divergence == b.divergence && a.points.elementsEqual(b.points) { $0.x == $1.x && $0.y == $1.y }
        }
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case tooFewPoints(Int)
        case raggedInput(row: Int, count: Int, expected: Int)
        case notFinite(row: Int)
        case perplexity(Double, points: Int)

        public var description: String {
            switch self {
            case let .tooFewPoints(n): return "t-SNE needs at least 3 points; got \(n)"
            case let .raggedInput(row, count, expected):
                return "point \(row) has \(count) coordinates where the first has \(expected)"
            case let .notFinite(row): return "point \(row) has a coordinate that is not a finite number"
            case let .perplexity(p, n):
                return "perplexity \(p) must be at least 1 and below the number of points (\(n)); try \(String(format: "%.3g", TSNE.defaultPerplexity(points: n)))"
            }
        }
    }

    /// The largest sensible perplexity for `n` points, and the default Quill uses: min(30, (n − 1)/3).
    public static func defaultPerplexity(points n: Int) -> Double { min(30, max(1, Double(n - 1) / 3)) }

    /// Lays out `points` (n rows of d coordinates) in two dimensions.
    /// - Throws: `Failure` for fewer than 3 points, rows of different lengths, non-finite coordinates, or a perplexity
    ///   outside 1 ≤ perplexity < n.
    public static func embed(_ points: [[Double]], options: Options = Options()) throws -> Embedding {
        let n = points.count
        guard n >= 3 else { throw Failure.tooFewPoints(n) }
        let d = points[0].count
        for (i, row) in points.enumerated() {
            guard row.count == d else { throw Failure.raggedInput(row: i, count: row.count, expected: d) }
            guard row.allSatisfy(\.isFinite) else { throw Failure.notFinite(row: i) }
        }
        guard options.perplexity >= 1, options.perplexity < Double(n), options.perplexity.isFinite else {
            throw Failure.perplexity(options.perplexity, points: n)
        }
        let p = jointProbabilities(squaredDistances(points), perplexity: options.perplexity)
        return optimise(p, n: n, options: options)
    }

    /// ‖x_i − x_j‖² for every pair: n × n, row-major.
    static func squaredDistances(_ x: [[Double]]) -> [Double] {
        let n = x.count
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in (i + 1)..<n {
                var s = 0.0
                x[i].withUnsafeBufferPointer { a in
                    x[j].withUnsafeBufferPointer { b in
                        for k in 0..<a.count { let t = a[k] - b[k]; s += t * t }
                    }
                }
                out[i * n + j] = s; out[j * n + i] = s
            }
        }
        return out
    }

    /// p_{j|i} for one row of squared distances (i's own entry excluded), with the precision β that gives entropy
    /// `targetBits`: bisection on β, 100 steps at most, to 10⁻⁵ bits. Returns the row and its perplexity.
    static func conditionalRow(_ dist: ArraySlice<Double>, self i: Int, targetBits: Double) -> (row: [Double], perplexity: Double) {
        let n = dist.count, base = dist.startIndex
        // Distances relative to the nearest neighbour keep exp() from underflowing for far-apart data.
        var nearest = Double.infinity
        for j in 0..<n where j != i { nearest = min(nearest, dist[base + j]) }
        var beta = 1.0, lo = 0.0, hi = Double.infinity
        var row = [Double](repeating: 0, count: n)
        var bits = 0.0
        for _ in 0..<100 {
            var sum = 0.0, weighted = 0.0
            for j in 0..<n where j != i {
                let dj = dist[base + j] - nearest
                let e = Foundation.exp(-beta * dj)
                row[j] = e; sum += e; weighted += e * dj
            }
            // H = log Σ + β Σ d e / Σ (nats), in bits.
            bits = (Foundation.log(sum) + beta * weighted / sum) / M_LN2
            for j in 0..<n where j != i { row[j] /= sum }
            if abs(bits - targetBits) < 1e-5 { break }
            if bits > targetBits {
                lo = beta
                beta = hi.isFinite ? (beta + hi) / 2 : beta * 2
            } else {
                hi = beta
                beta = (beta + lo) / 2
            }
        }
        return (row, Foundation.pow(2, bits))
    }

    /// The symmetric joint affinities P (n × n, summing to 1), each entry at least 10⁻¹².
    static func jointProbabilities(_ dist: [Double], perplexity: Double) -> [Double] {
        let n = Int(Double(dist.count).squareRoot().rounded())
        let target = Foundation.log2(perplexity)
        var cond = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            let (row, _) = conditionalRow(dist[(i * n)..<((i + 1) * n)], self: i, targetBits: target)
            for j in 0..<n { cond[i * n + j] = row[j] }
        }
        var p = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n where j != i {
                p[i * n + j] = max((cond[i * n + j] + cond[j * n + i]) / Double(2 * n), 1e-12)
            }
        }
        return p
    }

    static func optimise(_ p: [Double], n: Int, options: Options) -> Embedding {
        var rng = SeededGenerator(seed: options.seed)
        var y = (0..<(2 * n)).map { _ in 1e-2 * rng.normal() }
        var update = [Double](repeating: 0, count: 2 * n)
        var gains = [Double](repeating: 1, count: 2 * n)
        var grad = [Double](repeating: 0, count: 2 * n)
        var num = [Double](repeating: 0, count: n * n)
        let rate = options.learningRate ?? max(Double(n) / options.exaggeration / 4, 50)
        for iteration in 0..<max(options.iterations, 0) {
            let exaggerate = iteration < options.exaggerationIterations ? options.exaggeration : 1
            let momentum = iteration < options.exaggerationIterations ? 0.5 : 0.8
            // Student-t numerators (1 + ‖y_i − y_j‖²)⁻¹ and their sum Z.
            var z = 0.0
            for i in 0..<n {
                for j in (i + 1)..<n {
                    let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                    let q = 1 / (1 + dx * dx + dy * dy)
                    num[i * n + j] = q; num[j * n + i] = q
                    z += 2 * q
                }
            }
            // ∂KL/∂y_i = 4 Σ_j (p_ij − q_ij)(y_i − y_j)(1 + ‖y_i − y_j‖²)⁻¹ (eq. 5).
            for i in 0..<n {
                var gx = 0.0, gy = 0.0
                for j in 0..<n where j != i {
                    let q = num[i * n + j]
                    let m = (exaggerate * p[i * n + j] - q / z) * q
                    gx += m * (y[2 * i] - y[2 * j]); gy += m * (y[2 * i + 1] - y[2 * j + 1])
                }
                grad[2 * i] = 4 * gx; grad[2 * i + 1] = 4 * gy
            }
            for k in 0..<(2 * n) {
                // Gains grow where the gradient keeps pointing against the last update, shrink where it agrees.
                gains[k] = (grad[k] > 0) != (update[k] > 0) ? gains[k] + 0.2 : max(gains[k] * 0.8, 0.01)
                update[k] = momentum * update[k] - rate * gains[k] * grad[k]
                y[k] += update[k]
            }
            var mx = 0.0, my = 0.0
            for i in 0..<n { mx += y[2 * i]; my += y[2 * i + 1] }
            mx /= Double(n); my /= Double(n)
            for i in 0..<n { y[2 * i] -= mx; y[2 * i + 1] -= my }
        }
        // KL(P‖Q) of the final map.
        var z = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i {
                let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                z += 1 / (1 + dx * dx + dy * dy)
            }
        }
        var kl = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i {
                let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                let q = max(1 / (1 + dx * dx + dy * dy) / z, 1e-300)
                let pij = p[i * n + j]
                kl += pij * Foundation.log(pij / q)
            }
        }
        // KL ≥ 0; rounding can leave a map that fits P exactly a hair below.
        return Embedding(points: (0..<n).map { (y[2 * $0], y[2 * $0 + 1]) }, divergence: max(kl, 0))
    }
}
