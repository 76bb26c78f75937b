/// The conjugate-gradient inner loop of Hessian-free optimisation (Martens 2010, "Deep learning via Hessian-free
/// optimization", §4.3–4.6): minimises the quadratic model q(x) = ½ xᵀA x − bᵀx for a symmetric positive
/// (semi-)definite A given only as products A·d, from a start x₀ (Martens starts from the previous update, decayed).
///
/// It stops at `maxIterations`, when a direction has no positive curvature, when the residual vanishes, or by
/// Martens's relative-progress rule: at iteration i > k with k = max(10, ⌈0.1 i⌉), q(x_i) < 0 and
/// (q(x_i) − q(x_{i−k})) / q(x_i) < k·ε. It keeps the iterates at iterations ⌈1.3^j⌉ and the last one, for the outer
/// loop's backtracking (§4.6: the best of them on the objective, not on q, is the update).
public enum ConjugateGradient {
    /// One kept iterate: its iteration (counting from 1) and x.
    public struct Iterate: Equatable, Sendable {
        public var iteration: Int
        public var x: [Double]
        /// q(x).
        public var q: Double
    }

    public struct Result: Equatable, Sendable {
        /// The last iterate.
        public var x: [Double]
        /// q(x) of the last iterate.
        public var q: Double
        /// Products A·d computed (one per iteration, plus one for the start unless it was zero).
        public var products: Int
        /// The kept iterates, in order; the last is `x`.
        public var iterates: [Iterate]
        /// Why it stopped: "iterations", "progress", "converged" or "curvature".
        public var reason: String
    }

    /// The iterations whose iterates are kept: ⌈1.3^j⌉ for j = 1, 2, … (1, 2, 3, 4, 5, 7, 9, 11, 14, 18, …).
    public static func keeps(_ i: Int) -> Bool {
        var g = 1.3
        while Int(g.rounded(.up)) < i { g *= 1.3 }
        return Int(g.rounded(.up)) == i || i == 1
    }

    /// - Parameters:
    ///   - apply: A·d for a vector of `b.count` entries.
    ///   - b: the right-hand side (for Hessian-free, −∇L).
    ///   - x0: the start, or nil for zero.
    ///   - maxIterations: at least 1.
    ///   - tolerance: Martens's ε (5·10⁻⁴).
    public static func minimize(apply: ([Double]) -> [Double], b: [Double], x0: [Double]? = nil, maxIterations: Int,
                                tolerance: Double = 5e-4) -> Result {
        precondition(maxIterations >= 1 && (x0 == nil || x0?.count == b.count), "CG needs iterations and a start of b's size")
        let n = b.count
        func dot(_ u: [Double], _ v: [Double]) -> Double {
            var s = 0.0
            for i in 0..<n { s += u[i] * v[i] }
            return s
        }
        var x = x0 ?? [Double](repeating: 0, count: n)
        var products = 0
        var r = b
        if x0 != nil && x.contains(where: { $0 != 0 }) {
            let ax = apply(x)
            products += 1
            for i in 0..<n { r[i] = b[i] - ax[i] }
        }
        // q(x) = ½ xᵀ A x − bᵀ x = −½ xᵀ (b + r), with r = b − A x.
        func q(_ x: [Double], _ r: [Double]) -> Double {
            var s = 0.0
            for i in 0..<n { s += x[i] * (b[i] + r[i]) }
            return -0.5 * s
        }
        var d = r
        var rr = dot(r, r)
        var history = [q(x, r)]
        var iterates = [Iterate]()
        var reason = "iterations"
        var done = 0
        for i in 1...maxIterations {
            if rr == 0 { reason = "converged"; break }
            let ad = apply(d)
            products += 1
            let curvature = dot(d, ad)
            guard curvature > 0, curvature.isFinite else { reason = "curvature"; break }
            let alpha = rr / curvature
            for j in 0..<n { x[j] += alpha * d[j]; r[j] -= alpha * ad[j] }
            let next = dot(r, r)
            let beta = next / rr
            rr = next
            for j in 0..<n { d[j] = r[j] + beta * d[j] }
            let qi = q(x, r)
            history.append(qi)
            done = i
            if keeps(i) { iterates.append(Iterate(iteration: i, x: x, q: qi)) }
            let k = max(10, Int((0.1 * Double(i)).rounded(.up)))
            if i > k && qi < 0 && (qi - history[i - k]) / qi < Double(k) * tolerance {
                reason = "progress"
                break
            }
        }
        // The last iterate is always kept (iteration 0: the start, when no step was taken).
        if iterates.last?.iteration != done {
            iterates.append(Iterate(iteration: done, x: x, q: history[done]))
        }
        return Result(x: x, q: history[done], products: products, iterates: iterates, reason: reason)
    }
}
