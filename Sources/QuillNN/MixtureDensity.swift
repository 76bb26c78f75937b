import QuillNumerics

/// Graves's mixture-density output for pen offsets (eqs. 15–26): M bivariate Gaussians over (dx, dy) plus an
/// end-of-stroke Bernoulli.
///
/// Each output row ŷ has 1 + 6M values laid out as `[ê, π̂(M), μ̂₁(M), μ̂₂(M), σ̂₁(M), σ̂₂(M), ρ̂(M)]`. The transforms
/// are π = softmax(π̂), μ = μ̂, σ = σ_floor + exp(σ̂), ρ = ρ_max · tanh(ρ̂), and e = sigmoid(ê), the probability that
/// the stroke ends. Graves writes e = 1/(1 + exp(ê)), the same family with ê's sign flipped; Quill's sign makes e
/// increase with ê. The floor and the ρ bound keep the density finite when a component collapses; both are smooth,
/// so the gradient stays exact.
public struct MixtureDensity: Codable, Equatable, Sendable {
    /// Number of mixture components M (Graves uses 20).
    public var components: Int
    /// Added to exp(σ̂): the smallest standard deviation a component can have, in normalised offset units.
    public var sigmaFloor: Double
    /// |ρ| stays below this (ρ = ρ_max · tanh ρ̂), so 1 − ρ² never reaches 0.
    public var rhoMax: Double

    public init(components: Int = 20, sigmaFloor: Double = 1e-4, rhoMax: Double = 0.9999) {
        self.components = components
        self.sigmaFloor = sigmaFloor
        self.rhoMax = rhoMax
    }

    /// 1 + 6M.
    public var outputSize: Int { 1 + 6 * components }

    public func validate() -> String? {
        if !(1...1000).contains(components) { return "mixture components must be between 1 and 1000, got \(components)" }
        if !(sigmaFloor >= 0 && sigmaFloor < 1) { return "sigma floor must be in [0, 1), got \(sigmaFloor)" }
        if !(rhoMax > 0 && rhoMax < 1) { return "rho max must be in (0, 1), got \(rhoMax)" }
        return nil
    }

    // MARK: - Loss and gradient (eqs. 26–32)

    /// Negative log-likelihood of targets under the mixture, summed over rows with mask 1, and its gradient.
    /// - y: (N, 1 + 6M) raw outputs. targets: (N, 3) as (dx, dy, eos). mask: N weights (nil: all 1).
    /// - dy: (N, 1 + 6M), written with `scale · ∂L/∂ŷ` when given (zero for masked-out rows).
    /// - Returns: (total NLL, offsets part, end-of-stroke part), in nats.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public func loss<T: QuillScalar>(_ y: UnsafePointer<T>, targets: UnsafePointer<T>, mask: UnsafePointer<T>?,
                                     rows N: Int, dy: UnsafeMutablePointer<T>?, scale: T = 1)
        -> (total: Double, offsets: Double, endOfStroke: Double) {
        let M = components, W = outputSize
        let floor = T(sigmaFloor), rmax = T(rhoMax)
        // Rows are independent: they are cut over the kernel threads, each row's two NLL terms kept, and the terms
        // summed afterwards in row order, so the totals have the bits of one loop over the rows.
        let rowNLL = UnsafeMutablePointer<Double>.allocate(capacity: 2 * Swift.max(N, 1))
        defer { rowNLL.deallocate() }
        rowNLL.initialize(repeating: 0, count: 2 * Swift.max(N, 1))
        KernelThreads.forEachRange(N, minimumPerThread: 256) { rows in
            // Per-component scratch of this range.
            var logTerm = [T](repeating: 0, count: M)
            for n in rows {
                let row = y + n * W
                let m = mask.map { $0[n] } ?? 1
                if m == 0 {
                    if let dy { (dy + n * W).update(repeating: 0, count: W) }
                    continue
                }
                let x1 = targets[3 * n], x2 = targets[3 * n + 1], x3 = targets[3 * n + 2]
                let piHat = row + 1, mu1 = row + 1 + M, mu2 = row + 1 + 2 * M
                let s1Hat = row + 1 + 3 * M, s2Hat = row + 1 + 4 * M, rhoHat = row + 1 + 5 * M
                // log π by log-sum-exp.
                var piMax = piHat[0]
                for j in 1..<M { piMax = Swift.max(piMax, piHat[j]) }
                var piSum: T = 0
                for j in 0..<M { piSum += T.exp(piHat[j] - piMax) }
                let logPiZ = piMax + T.log(piSum)
                var best = -T.infinity
                for j in 0..<M {
                    let s1 = floor + T.exp(s1Hat[j]), s2 = floor + T.exp(s2Hat[j])
                    let rho = rmax * T.tanh(rhoHat[j])
                    let z1 = (x1 - mu1[j]) / s1, z2 = (x2 - mu2[j]) / s2
                    let omr = 1 - rho * rho
                    let zz = z1 * z1 + z2 * z2 - 2 * rho * z1 * z2
                    let logN = -T.log(2 * T.pi) - T.log(s1) - T.log(s2) - T.log(omr) / 2 - zz / (2 * omr)
                    logTerm[j] = piHat[j] - logPiZ + logN
                    best = Swift.max(best, logTerm[j])
                }
                var sum: T = 0
                for j in 0..<M { sum += T.exp(logTerm[j] - best) }
                let logP = best + T.log(sum)
                // End of stroke: −[x3 log e + (1 − x3) log(1 − e)], e = sigmoid(ê), through softplus.
                let eHat = row[0]
                let eosLoss = x3 * softplus(-eHat) + (1 - x3) * softplus(eHat)
                rowNLL[2 * n] = Double(m) * Double(-logP)
                rowNLL[2 * n + 1] = Double(m) * Double(eosLoss)

                guard let dy else { continue }
                let d = dy + n * W, g = scale * m
                let e = T.fastSigmoid(eHat)
                d[0] = g * (e - x3)
                for j in 0..<M {
                    let gamma = T.exp(logTerm[j] - logP)             // posterior responsibility γ_j
                    let pi = T.exp(piHat[j] - logPiZ)
                    let es1 = T.exp(s1Hat[j]), es2 = T.exp(s2Hat[j])
                    let s1 = floor + es1, s2 = floor + es2
                    let th = T.tanh(rhoHat[j])
                    let rho = rmax * th
                    let z1 = (x1 - mu1[j]) / s1, z2 = (x2 - mu2[j]) / s2
                    let c = 1 / (1 - rho * rho)
                    let zz = z1 * z1 + z2 * z2 - 2 * rho * z1 * z2
                    d[1 + j] = g * (pi - gamma)
                    d[1 + M + j] = g * gamma * (-c * (z1 - rho * z2) / s1)
                    d[1 + 2 * M + j] = g * gamma * (-c * (z2 - rho * z1) / s2)
                    d[1 + 3 * M + j] = g * gamma * (1 - c * z1 * (z1 - rho * z2)) * es1 / s1
                    d[1 + 4 * M + j] = g * gamma * (1 - c * z2 * (z2 - rho * z1)) * es2 / s2
                    let dRho: T = -rho * c - z1 * z2 * c + rho * zz * c * c
                    d[1 + 5 * M + j] = g * gamma * dRho * rmax * (1 - th * th)
                }
            }
        }
        var offsetsNLL = 0.0, eosNLL = 0.0
        for n in 0..<N where (mask.map { $0[n] } ?? 1) != 0 {
            offsetsNLL += rowNLL[2 * n]
            eosNLL += rowNLL[2 * n + 1]
        }
        return (offsetsNLL + eosNLL, offsetsNLL, eosNLL)
    }

    @inline(__always) func softplus<T: QuillScalar>(_ x: T) -> T {
        x > 0 ? x + T.log(1 + T.exp(-x)) : T.log(1 + T.exp(x))
    }

    // MARK: - Sampling (eqs. 60–61)

    /// The mixture parameters of one output row after Graves's bias b (b = 0: the model's own distribution).
    public struct Parameters: Equatable, Sendable {
        public var endOfStroke: Double
        public var weights: [Double]
        public var mu1: [Double], mu2: [Double], sigma1: [Double], sigma2: [Double], rho: [Double]
    }

    /// π = softmax(π̂ (1 + b)), σ = σ_floor + exp(σ̂ − b), as in eqs. 60–61.
    @_specialize(exported: true, where T == Float)
    public func parameters<T: QuillScalar>(_ row: UnsafePointer<T>, bias b: Double = 0) -> Parameters {
        let M = components
        var w = (0..<M).map { Double(row[1 + $0]) * (1 + b) }
        let mx = w.max() ?? 0
        w = w.map { Double.exp($0 - mx) }
        let s = w.reduce(0, +)
        w = w.map { $0 / s }
        func col(_ k: Int) -> [Double] { (0..<M).map { Double(row[1 + k * M + $0]) } }
        return Parameters(
            endOfStroke: 1 / (1 + Double.exp(-Double(row[0]))),
            weights: w, mu1: col(1), mu2: col(2),
            sigma1: col(3).map { sigmaFloor + Double.exp($0 - b) },
            sigma2: col(4).map { sigmaFloor + Double.exp($0 - b) },
            rho: col(5).map { rhoMax * Double.tanh($0) })
    }

    /// Draws (dx, dy, eos) from one output row.
    @_specialize(exported: true, where T == Float)
    public func sample<T: QuillScalar>(_ row: UnsafePointer<T>, bias: Double = 0,
                                       rng: inout SeededGenerator) -> (Double, Double, Bool) {
        let p = parameters(row, bias: bias)
        let j = p.weights.withUnsafeBufferPointer { rng.categorical($0) }
        let n1 = rng.normal(), n2 = rng.normal()
        let x1 = p.mu1[j] + p.sigma1[j] * n1
        let x2 = p.mu2[j] + p.sigma2[j] * (p.rho[j] * n1 + (1 - p.rho[j] * p.rho[j]).squareRoot() * n2)
        let eos = rng.uniform() < p.endOfStroke
        return (x1, x2, eos)
    }

    /// The mixture density of the offsets at (x1, x2) (for density plots).
    public func density(_ p: Parameters, x1: Double, x2: Double) -> Double {
        var total = 0.0
        for j in 0..<components {
            let z1 = (x1 - p.mu1[j]) / p.sigma1[j], z2 = (x2 - p.mu2[j]) / p.sigma2[j]
            let omr = 1 - p.rho[j] * p.rho[j]
            let zz = z1 * z1 + z2 * z2 - 2 * p.rho[j] * z1 * z2
            total += p.weights[j] * Double.exp(-zz / (2 * omr)) / (2 * Double.pi * p.sigma1[j] * p.sigma2[j] * omr.squareRoot())
        }
        return total
    }
}
