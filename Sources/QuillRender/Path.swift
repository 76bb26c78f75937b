import QuillData

/// A drawing path made of moves, straight lines and cubic Bézier curves, in drawing coordinates.
public struct Path: Equatable, Sendable {
    /// One path command.
    public enum Element: Equatable, Sendable {
        case move(Point)
        case line(Point)
        /// A cubic Bézier from the current point through control points `c1`, `c2` to `to`.
        case curve(c1: Point, c2: Point, to: Point)
    }

    public var elements: [Element] = []

    public init(_ elements: [Element] = []) { self.elements = elements }

    /// A polyline through `points`.
    public static func polyline(_ points: [Point]) -> Path {
        guard let first = points.first else { return Path() }
        return Path([.move(first)] + points.dropFirst().map { .line($0) })
    }

    /// A smooth curve through `points`: a uniform Catmull-Rom spline written as cubic Béziers.
    ///
    /// Segment `p[i] → p[i+1]` gets controls `p[i] + (p[i+1] - p[i-1]) / 6` and `p[i+1] - (p[i+2] - p[i]) / 6`,
    /// repeating the end points at the ends, so the curve passes through every point with a continuous tangent.
    /// Fewer than three points give a polyline.
    public static func catmullRom(_ points: [Point]) -> Path {
        guard points.count >= 3 else { return polyline(points) }
        var els: [Element] = [.move(points[0])]
        els.reserveCapacity(points.count)
        let n = points.count
        for i in 0..<(n - 1) {
            let p0 = points[max(i - 1, 0)], p1 = points[i], p2 = points[i + 1], p3 = points[min(i + 2, n - 1)]
            els.append(.curve(c1: p1 + (p2 - p0) / 6, c2: p2 - (p3 - p1) / 6, to: p2))
        }
        return Path(els)
    }

    /// The path cut into consecutive pieces of at most `count` lines or curves each (`count` ≥ 1), each piece
    /// starting with a move to where the one before it ended; a move inside the path starts a new piece.
    ///
    /// Stroked one after another with round caps and joins, the pieces cover the pixels the whole path covers (two
    /// round caps at a shared point make the round join), so a long stroke can be drawn in bounded steps: Cairo
    /// rasterises a stroke in one uninterruptible call whose time grows with the square of its crossings (one
    /// 8,000-point stroke criss-crossing a 4096-pixel square took 45 s). Ink that is not opaque is laid twice where
    /// pieces meet.
    public func pieces(ofAtMost count: Int) -> [Path] {
        let count = max(1, count)
        var pieces: [Path] = [], current: [Element] = [], drawn = 0
        var end: Point?
        func close() {
            if drawn > 0 { pieces.append(Path(current)) }
            current = []; drawn = 0
        }
        for element in elements {
            switch element {
            case .move(let p):
                close()
                current = [.move(p)]
                end = p
            case .line(let p), .curve(_, _, let p):
                if drawn == count {
                    close()
                    if let end { current = [.move(end)] }
                }
                current.append(element)
                drawn += 1
                end = p
            }
        }
        close()
        return pieces
    }

    /// The path with every point mapped by `t`.
    public func applying(_ t: Transform) -> Path {
        Path(elements.map {
            switch $0 {
            case .move(let p): return .move(t.apply(p))
            case .line(let p): return .line(t.apply(p))
            case .curve(let a, let b, let p): return .curve(c1: t.apply(a), c2: t.apply(b), to: t.apply(p))
            }
        })
    }
}

/// The point at parameter `t` in [0, 1] on the cubic Bézier `p0, c1, c2, p3`.
public func bezierPoint(_ p0: Point, _ c1: Point, _ c2: Point, _ p3: Point, t: Double) -> Point {
    let u = 1 - t
    return p0 * (u * u * u) + c1 * (3 * u * u * t) + c2 * (3 * u * t * t) + p3 * (t * t * t)
}
