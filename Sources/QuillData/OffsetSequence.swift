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

/// One point as a handwriting network reads it, Graves's x_t (eq. 1 and section 4.1): the offset from the previous
/// point in the model's normalised units, and the end-of-stroke bit, 1 when the pen lifts after this point.
/// Priming material (`Prime`, a style's strokes, a generated line's inputs) is a list of these, row 0 (0, 0, eos).
public struct OffsetRow: Equatable, Sendable {
    public var dx: Float
    public var dy: Float
    public var eos: Float

    public init(dx: Float, dy: Float, eos: Float) {
        self.dx = dx
        self.dy = dy
        self.eos = eos
    }

    /// The row every training sequence starts from: no offset, pen down.
    public static let start = OffsetRow(dx: 0, dy: 0, eos: 0)

    /// Whether the pen lifts after this point.
    public var penUp: Bool { eos > 0.5 }

    /// The offset as a point, in Double (normalised units).
    public var offset: Point { Point(x: Double(dx), y: Double(dy)) }
}

extension OffsetStatistics {
    /// Network input rows for raw offsets (any units): row 0 is (0, 0, eos₀); rows 1… are `normalise`d, after the
    /// offsets are multiplied by `scale` (1 keeps them as they are).
    public func rows(_ raw: OffsetSequence, scale: Double = 1) -> [OffsetRow] {
        (0..<raw.count).map { i in
            if i == 0 { return OffsetRow(dx: 0, dy: 0, eos: raw.eos[0] != 0 ? 1 : 0) }
            let n = normalise(Point(x: raw.dx[i] * scale, y: raw.dy[i] * scale))
            return OffsetRow(dx: Float(n.x), dy: Float(n.y), eos: raw.eos[i] != 0 ? 1 : 0)
        }
    }
}

extension OffsetStatistics {
    /// The factor that gives raw offsets in other units (a user's tablet, another dataset) the overall spread of the
    /// data these statistics describe: their RMS offset over rows 1…, pen-up moves included as in the statistics,
    /// matched to √(std² + mean²) summed over both axes; 1 when either is zero.
    public func scaleMatchingSpread(of raw: OffsetSequence) -> Double {
        var s = 0.0, n = 0
        for i in 1..<max(raw.count, 1) where i < raw.count { s += raw.dx[i] * raw.dx[i] + raw.dy[i] * raw.dy[i]; n += 1 }
        let rms = n > 0 ? (s / Double(n)).squareRoot() : 0
        let target = (stdDx * stdDx + meanDx * meanDx + stdDy * stdDy + meanDy * meanDy).squareRoot()
        return rms > 0 && target > 0 ? target / rms : 1
    }
}
