/// A sample in Graves's offset form: one row (dx, dy, eos) per point.
///
/// Row 0 is (0, 0, eos₀) and `origin` is the absolute first point, so absolute point k is origin + Σ rows 0…k.
/// `eos[k] = 1` when point k is the last point of its stroke (the pen lifts after it).
/// The conversion is exact whenever the coordinates and their differences are exactly representable
/// (integer sensor units, as in IAM-OnDB and QuickDraw, and dyadic fractions).
public struct OffsetSequence: Equatable, Sendable {
    public var originX: Double
    public var originY: Double
    public var dx: [Double]
    public var dy: [Double]
    public var eos: [UInt8]

    public init(originX: Double, originY: Double, dx: [Double], dy: [Double], eos: [UInt8]) {
        self.originX = originX
        self.originY = originY
        self.dx = dx
        self.dy = dy
        self.eos = eos
    }

    public var count: Int { dx.count }
}

extension HandwritingSample {
    /// The sample in offset form (dx, dy, end-of-stroke).
    public func offsets() -> OffsetSequence {
        let n = x.count
        var dx = [Double](repeating: 0, count: n)
        var dy = [Double](repeating: 0, count: n)
        var eos = [UInt8](repeating: 0, count: n)
        for i in 1..<max(n, 1) where i < n {
            dx[i] = x[i] - x[i - 1]
            dy[i] = y[i] - y[i - 1]
        }
        for end in strokeEnds where end > 0 && end <= n { eos[end - 1] = 1 }
        return OffsetSequence(originX: x.first ?? 0, originY: y.first ?? 0, dx: dx, dy: dy, eos: eos)
    }

    /// Rebuilds absolute points and strokes from offset form; a last point without eos still closes its stroke.
    public init(id: String, offsets o: OffsetSequence) {
        let n = o.count
        var xs = [Double](repeating: 0, count: n)
        var ys = [Double](repeating: 0, count: n)
        var ends = [Int]()
        var cx = o.originX, cy = o.originY
        for i in 0..<n {
            cx += o.dx[i]
            cy += o.dy[i]
            xs[i] = cx
            ys[i] = cy
            if o.eos[i] != 0 || i == n - 1 { ends.append(i + 1) }
        }
        self.init(id: id, x: xs, y: ys, strokeEnds: ends)
    }
}
