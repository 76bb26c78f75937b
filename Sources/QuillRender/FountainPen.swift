import QuillData

/// How a pen lays ink down.
public enum PenKind: String, CaseIterable, Sendable {
    /// One width along every stroke, drawn as a line with round caps.
    case constant
    /// A width that follows the pen's speed, thicker where it moves slowly and thinner where it moves fast, drawn as
    /// a filled outline with round ends.
    case fountain
}

/// The fountain pen's geometry: widths from speeds and the outline of a stroke of varying width. Pure functions of
/// the points, in page coordinates.
///
/// Points of a sampled stroke are equally spaced in time, so the distance between neighbours measures the pen's
/// speed. A point's speed is the mean length of its two segments; its width is `nominal × f(speed / reference)`
/// with f(v) = 1.6 − 0.6 v clamped to [0.4, 1.6] (1 at the reference speed: twice it or faster draws 0.4 of the
/// nominal width, a pen at rest 1.6), smoothed twice with the weights (1, 2, 1) / 4.
public enum FountainPen {
    /// The reference speed of a page: the median segment length over all its strokes (0 when no stroke has two
    /// points).
    public static func referenceSpeed(_ strokes: [Stroke]) -> Double {
        var lengths = strokes.flatMap { s in zip(s, s.dropFirst()).map { distance($0, $1) } }
        guard !lengths.isEmpty else { return 0 }
        lengths.sort()
        return lengths[lengths.count / 2]
    }

    /// Width in points at each of `points` for a pen of `nominal` width; all `nominal` when `reference` is 0.
    public static func widths(_ points: [Point], nominal: Double, reference: Double) -> [Double] {
        let n = points.count
        guard n >= 2, reference > 0 else { return [Double](repeating: nominal, count: n) }
        var w = (0..<n).map { i -> Double in
            let before = i > 0 ? distance(points[i - 1], points[i]) : nil
            let after = i < n - 1 ? distance(points[i], points[i + 1]) : nil
            let speed = ((before ?? after ?? 0) + (after ?? before ?? 0)) / 2
            return nominal * min(1.6, max(0.4, 1.6 - 0.6 * speed / reference))
        }
        for _ in 0..<2 {
            let previous = w
            for i in 0..<n {
                let sum: Double = previous[max(i - 1, 0)] + 2 * previous[i] + previous[min(i + 1, n - 1)]
                w[i] = sum / 4
            }
        }
        return w
    }

    /// The closed outline of a stroke through `points` with `widths` (one per point): its left side, a round end,
    /// its right side back, a round start. The sides are Catmull-Rom splines (`smooth`) or polylines. A stroke of
    /// one point, or whose points all coincide, is a circle of its first width.
    public static func outline(_ points: [Point], widths: [Double], smooth: Bool = true) -> Path {
        precondition(points.count == widths.count && !points.isEmpty, "one width per point, at least one point")
        let n = points.count
        var normals = [Point](repeating: Point(x: 0, y: 0), count: n)
        var last: Point?
        for i in 0..<n {
            let d = points[min(i + 1, n - 1)] - points[max(i - 1, 0)]
            let length = (d.x * d.x + d.y * d.y).squareRoot()
            // A point where the pen stood still keeps the direction it had; a stroke that never moves is a dot.
            if length > 1e-12 { last = Point(x: -d.y / length, y: d.x / length) }
            normals[i] = last ?? Point(x: 0, y: 0)
        }
        guard let firstNormal = normals.first(where: { $0.x != 0 || $0.y != 0 }) else {
            return circle(center: points[0], radius: widths[0] / 2)
        }
        for i in 0..<n where normals[i].x == 0 && normals[i].y == 0 { normals[i] = firstNormal }
        let left = (0..<n).map { points[$0] + normals[$0] * (widths[$0] / 2) }
        let right = (0..<n).map { points[$0] - normals[$0] * (widths[$0] / 2) }
        func side(_ p: [Point]) -> [Path.Element] { (smooth ? Path.catmullRom(p) : Path.polyline(p)).elements }
        // The forward direction t is the normal turned back by a quarter turn: n = (−t.y, t.x) ⇒ t = (n.y, −n.x).
        func forward(_ normal: Point) -> Point { Point(x: normal.y, y: -normal.x) }
        var elements = side(left)
        elements += cap(center: points[n - 1], normal: normals[n - 1], forward: forward(normals[n - 1]),
                        radius: widths[n - 1] / 2)
        elements += side(right.reversed()).dropFirst()
        elements += cap(center: points[0], normal: normals[0] * -1, forward: forward(normals[0]) * -1,
                        radius: widths[0] / 2)
        return Path(elements)
    }

    /// Half a circle from `center + normal·r` round the front (`center + forward·r`) to `center − normal·r`, as two
    /// cubic Béziers (the usual quarter-circle constant 0.5523).
    static func cap(center c: Point, normal n: Point, forward t: Point, radius r: Double) -> [Path.Element] {
        let k = 0.5522847498 * r
        return [
            .curve(c1: c + n * r + t * k, c2: c + t * r + n * k, to: c + t * r),
            .curve(c1: c + t * r - n * k, c2: c - n * r + t * k, to: c - n * r),
        ]
    }

    /// A circle as four cubic Béziers, starting and ending at its rightmost point.
    static func circle(center c: Point, radius r: Double) -> Path {
        let right = Point(x: 1, y: 0), down = Point(x: 0, y: 1)
        return Path([.move(c + right * r)]
                    + cap(center: c, normal: right, forward: down, radius: r)
                    + cap(center: c, normal: right * -1, forward: down * -1, radius: r))
    }

    static func distance(_ a: Point, _ b: Point) -> Double { ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot() }
}
