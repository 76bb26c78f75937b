/// Pure stroke-geometry functions used by preprocessing, one job each, on absolute coordinates.
///
/// Each returns a new sample; point times follow the points they belong to.
public enum StrokeGeometry {
    /// Keeps the listed point indices (increasing); a stroke's last kept point ends it, emptied strokes vanish.
    public static func keeping(_ s: HandwritingSample, indices: [Int]) -> HandwritingSample {
        var out = s
        out.x = indices.map { s.x[$0] }
        out.y = indices.map { s.y[$0] }
        out.time = s.time.map { t in indices.map { t[$0] } }
        var ends = [Int]()
        var stroke = 0
        for (k, i) in indices.enumerated() {
            while stroke < s.strokeEnds.count, i >= s.strokeEnds[stroke] { stroke += 1 }
            // The point closes a stroke when the next kept point belongs to a later stroke (or there is none).
            let next = k + 1 < indices.count ? indices[k + 1] : Int.max
            if stroke < s.strokeEnds.count, next >= s.strokeEnds[stroke] { ends.append(k + 1) }
        }
        if let last = ends.last, last != indices.count { ends.append(indices.count) }
        out.strokeEnds = ends
        return out
    }

    /// Mirrors y (y down ↔ y up).
    public static func flipY(_ s: HandwritingSample) -> HandwritingSample {
        var out = s
        out.y = s.y.map { -$0 }
        return out
    }

    /// Removes in-stroke outlier jumps: a point farther than `threshold` from the previous kept point of its
    /// stroke is dropped (a sensor glitch). A stroke's first point is always kept, so no stroke empties.
    /// Pen-up moves between strokes are not touched. Returns the sample and the number of points removed.
    public static func removeOutliers(_ s: HandwritingSample, threshold: Double) -> (HandwritingSample, removed: Int) {
        var keep = [Int]()
        keep.reserveCapacity(s.pointCount)
        for r in s.strokeRanges {
            var last = r.lowerBound
            keep.append(last)
            for i in r.dropFirst() {
                let ddx = s.x[i] - s.x[last], ddy = s.y[i] - s.y[last]
                if (ddx * ddx + ddy * ddy).squareRoot() <= threshold {
                    keep.append(i)
                    last = i
                }
            }
        }
        return (keeping(s, indices: keep), s.pointCount - keep.count)
    }

    /// Savitzky–Golay smoothing of one sequence: each value becomes the value at its position of the
    /// least-squares polynomial of degree `order` fitted over `window` neighbours (odd). Near the ends the window
    /// is shifted inwards rather than shrunk, so a polynomial of degree ≤ `order` is reproduced exactly everywhere.
    /// Sequences shorter than the window use the largest odd window that fits (unchanged below 3 values).
    public static func savitzkyGolay(_ v: [Double], window: Int, order: Int) -> [Double] {
        let n = v.count
        var w = min(window, n % 2 == 1 ? n : n - 1)
        if w % 2 == 0 { w -= 1 }
        let p = min(order, w - 1)
        guard w >= 3, p >= 0 else { return v }
        let weights = savitzkyGolayWeights(window: w, order: p)
        let half = w / 2
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let start = min(max(i - half, 0), n - w)
            let row = weights[i - start]
            var acc = 0.0
            for j in 0..<w { acc += row[j] * v[start + j] }
            out[i] = acc
        }
        return out
    }

    /// `weights[t][j]`: the contribution of window value j to the fitted polynomial evaluated at window
    /// position t, i.e. row t of the hat matrix V (VᵀV)⁻¹ Vᵀ with V the Vandermonde matrix of centred positions.
    static func savitzkyGolayWeights(window w: Int, order p: Int) -> [[Double]] {
        let m = p + 1
        let half = Double(w / 2)
        let v = (0..<w).map { j in (0..<m).map { k in pow(Double(j) - half, k) } }
        var a = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)  // VᵀV
        for r in 0..<m { for c in 0..<m { for j in 0..<w { a[r][c] += v[j][r] * v[j][c] } } }
        let inv = invert(a)
        // (VᵀV)⁻¹ Vᵀ: m × w
        var b = [[Double]](repeating: [Double](repeating: 0, count: w), count: m)
        for r in 0..<m { for j in 0..<w { for k in 0..<m { b[r][j] += inv[r][k] * v[j][k] } } }
        return (0..<w).map { t in (0..<w).map { j in (0..<m).reduce(0.0) { $0 + v[t][$1] * b[$1][j] } } }
    }

    private static func pow(_ x: Double, _ k: Int) -> Double { (0..<k).reduce(1.0) { acc, _ in acc * x } }

    /// Gauss–Jordan inverse with partial pivoting of a small symmetric positive-definite matrix.
    private static func invert(_ m: [[Double]]) -> [[Double]] {
        let n = m.count
        var a = m
        var inv = (0..<n).map { r in (0..<n).map { c in r == c ? 1.0 : 0.0 } }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) } ?? col
            a.swapAt(col, pivot)
            inv.swapAt(col, pivot)
            let d = a[col][col]
            for c in 0..<n {
                a[col][c] /= d
                inv[col][c] /= d
            }
            for r in 0..<n where r != col {
                let f = a[r][col]
                if f == 0 { continue }
                for c in 0..<n {
                    a[r][c] -= f * a[col][c]
                    inv[r][c] -= f * inv[col][c]
                }
            }
        }
        return inv
    }

    /// Smooths x and y of each stroke separately with `savitzkyGolay`.
    public static func smooth(_ s: HandwritingSample, window: Int, order: Int) -> HandwritingSample {
        var out = s
        for r in s.strokeRanges {
            out.x.replaceSubrange(r, with: savitzkyGolay(Array(s.x[r]), window: window, order: order))
            out.y.replaceSubrange(r, with: savitzkyGolay(Array(s.y[r]), window: window, order: order))
        }
        return out
    }

    /// The slant as a shear factor s (x moves s units per unit of y): the length-weighted mean dx/dy of the
    /// near-vertical pen-down segments (|dy| > |dx|), Σ dx·sign(dy) / Σ |dy|. Zero when there are none.
    public static func estimateSlant(_ s: HandwritingSample) -> Double {
        var num = 0.0, den = 0.0
        for r in s.strokeRanges {
            for i in r.dropFirst() {
                let ddx = s.x[i] - s.x[i - 1], ddy = s.y[i] - s.y[i - 1]
                if abs(ddy) > abs(ddx) {
                    num += ddy > 0 ? ddx : -ddx
                    den += abs(ddy)
                }
            }
        }
        return den > 0 ? num / den : 0
    }

    /// Removes the slant with the shear x' = x − s·(y − ȳ), s from `estimateSlant`, so near-vertical strokes
    /// become vertical; y is unchanged and ȳ (the mean y) keeps the sample roughly in place.
    public static func correctSlant(_ s: HandwritingSample) -> (HandwritingSample, shear: Double) {
        let shear = estimateSlant(s)
        guard shear != 0, !s.y.isEmpty else { return (s, 0) }
        let meanY = s.y.reduce(0, +) / Double(s.y.count)
        var out = s
        for i in 0..<s.x.count { out.x[i] = s.x[i] - shear * (s.y[i] - meanY) }
        return (out, shear)
    }

    /// Keeps every `every`-th point of each stroke plus its first and last points (stroke ends are never lost).
    public static func decimate(_ s: HandwritingSample, every: Int) -> HandwritingSample {
        guard every > 1 else { return s }
        var keep = [Int]()
        for r in s.strokeRanges {
            for i in r where (i - r.lowerBound) % every == 0 || i == r.upperBound - 1 { keep.append(i) }
        }
        return keeping(s, indices: keep)
    }

    /// Keeps the first `maxPoints` points; the last kept point ends its stroke.
    public static func truncate(_ s: HandwritingSample, maxPoints: Int) -> HandwritingSample {
        guard s.pointCount > maxPoints, maxPoints > 0 else { return s }
        return keeping(s, indices: Array(0..<maxPoints))
    }
}
