/// Every preprocessing choice, recorded in the prepared file's header so a dataset can be rebuilt exactly.
///
/// Steps run in this order: y orientation, outlier removal, smoothing, slant correction, decimation, truncation,
/// conversion to offsets, normalisation; then the split and the alphabet.
public struct PreprocessOptions: Codable, Equatable, Sendable {
    public enum YAxis: String, Codable, Sendable, CaseIterable {
        /// Keep the sources' orientation (every importer gives y pointing down, like screen coordinates).
        case down
        /// Flip to y pointing up (as sjvasquez's preprocessing does).
        case up
    }

    public enum SplitPolicy: String, Codable, Sendable, CaseIterable {
        /// The source's own split when it gives one (IAM-OnDB: Graves's), otherwise a seeded split.
        case auto
        /// The source's split; it is an error when the source has none.
        case source
        /// A seeded random split, ignoring any split in the source.
        case seeded
    }

    /// Orientation of y in the prepared file. Default `.down`.
    public var yAxis: YAxis = .down
    /// In-stroke jumps longer than this (source units) are removed as sensor glitches; nil keeps everything.
    /// IAM-OnDB's 99th-percentile in-stroke step is 63 units, so 600 removes only obvious glitches.
    public var outlierThreshold: Double? = nil
    /// Savitzky–Golay window (odd, ≥ 3) per stroke; nil disables smoothing. sjvasquez uses 7.
    public var smoothingWindow: Int? = nil
    /// Savitzky–Golay polynomial order (< window). sjvasquez uses 3.
    public var smoothingOrder: Int = 3
    /// Shear each sample so its near-vertical strokes become vertical.
    public var slantCorrection: Bool = false
    /// Keep every k-th point of each stroke (plus its first and last); nil or 1 keeps all.
    public var decimation: Int? = nil
    /// Samples longer than this many points are cut (the last kept point ends its stroke); nil keeps all.
    public var maxPoints: Int? = nil
    /// Scale offsets to zero mean and unit variance with statistics from the training split (stored in the file).
    public var normalise: Bool = true
    /// How characters become the alphabet.
    public var alphabet: AlphabetPolicy = .default
    public var split: SplitPolicy = .auto
    /// Fraction of samples put in validation by a seeded split.
    public var validationFraction: Double = 0.1
    /// Seed of the seeded split (SeededGenerator).
    public var seed: UInt64 = 1

    public init() {}

    /// Checks ranges, naming the option and the allowed values.
    public func validate() throws {
        if let t = outlierThreshold, !(t > 0 && t.isFinite) {
            throw DatasetError.invalidOption("outlier threshold (--outlier-threshold) must be a positive number, got \(t)")
        }
        if let w = smoothingWindow {
            guard w >= 3, w % 2 == 1 else {
                throw DatasetError.invalidOption("smoothing window (--smooth-window) must be odd and at least 3, got \(w)")
            }
            guard smoothingOrder >= 0, smoothingOrder < w else {
                throw DatasetError.invalidOption("smoothing order (--smooth-order) must be in 0..<window (\(w)), got \(smoothingOrder)")
            }
        }
        if let d = decimation, d < 1 { throw DatasetError.invalidOption("decimation (--decimate) must be at least 1, got \(d)") }
        if let m = maxPoints, m < 2 { throw DatasetError.invalidOption("max points (--max-points) must be at least 2, got \(m)") }
        if !(validationFraction >= 0 && validationFraction < 1) {
            throw DatasetError.invalidOption("validation fraction (--valid-fraction) must be in [0, 1), got \(validationFraction)")
        }
        if case let .frequency(n) = alphabet, n < 1 {
            throw DatasetError.invalidOption("alphabet minimum count (--min-count) must be at least 1, got \(n)")
        }
    }
}

/// Mean and standard deviation of the offsets, per axis: stored value = (raw − mean) / std.
public struct OffsetStatistics: Codable, Equatable, Sendable {
    public var meanDx: Double
    public var meanDy: Double
    public var stdDx: Double
    public var stdDy: Double

    public init(meanDx: Double, meanDy: Double, stdDx: Double, stdDy: Double) {
        self.meanDx = meanDx
        self.meanDy = meanDy
        self.stdDx = stdDx
        self.stdDy = stdDy
    }

    /// The plausible range of a standard deviation, in the dataset's raw units. Real data: IAM-OnDB's pen offsets
    /// have σ ≈ 60 (decimated) and QuickDraw's a few units; the upper bound is the largest offset an importer
    /// accepts (two coordinates of `HandwritingSample.coordinateLimit`), the lower one far below any pen's
    /// resolution. A deviation outside it can only come from a damaged file, and would blow offsets up or
    /// shrink a drawing to nothing.
    public static let stdRange: ClosedRange<Double> = 1e-6...(2 * HandwritingSample.coordinateLimit)
    /// The largest plausible |mean| of an offset: the largest offset an importer accepts.
    public static let meanLimit = 2 * HandwritingSample.coordinateLimit

    /// Why these statistics cannot undo a normalisation, or nil when they can: every field finite, both
    /// deviations within `stdRange` (a zero deviation would divide by zero, a NaN would poison every offset, a
    /// deviation of 1e-300 would shrink every line to a dot) and both means within `meanLimit`.
    public func problem() -> String? {
        guard meanDx.isFinite, meanDy.isFinite, stdDx.isFinite, stdDy.isFinite else {
            return "are not finite (mean \(meanDx), \(meanDy); std \(stdDx), \(stdDy))"
        }
        guard stdDx > 0, stdDy > 0 else { return "have a standard deviation that is not positive (\(stdDx), \(stdDy))" }
        let r = Self.stdRange
        guard r.contains(stdDx), r.contains(stdDy) else {
            return "have an implausible standard deviation (\(stdDx), \(stdDy); expected \(r.lowerBound)…\(r.upperBound))"
        }
        guard abs(meanDx) <= Self.meanLimit, abs(meanDy) <= Self.meanLimit else {
            return "have an implausible mean (\(meanDx), \(meanDy); expected at most \(Self.meanLimit) in magnitude)"
        }
        return nil
    }

    /// The identity transform (used when normalisation is off).
    public static let identity = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1)

    // MARK: - Normalisation: the one place offsets change units

    /// A raw offset in the normalised units, per axis: (raw − mean) / std.
    public func normalise(_ raw: Point) -> Point {
        Point(x: (raw.x - meanDx) / stdDx, y: (raw.y - meanDy) / stdDy)
    }

    /// A normalised offset back in raw units, per axis: normalised · std + mean.
    public func denormalise(_ normalised: Point) -> Point {
        Point(x: normalised.x * stdDx + meanDx, y: normalised.y * stdDy + meanDy)
    }

    /// A spread of normalised offsets (a mixture component's σ) in raw units, per axis: σ · std.
    public func denormaliseSpread(_ sigma: Point) -> Point { Point(x: sigma.x * stdDx, y: sigma.y * stdDy) }

    /// A sequence's offsets as a prepared file stores them: rows 1… normalised, row 0 the (0, 0) start row.
    /// The arithmetic is (raw − mean) · (1 / std), the reciprocal taken once per sequence, as prepared files have
    /// always been written; it can differ from `normalise` in the last bit, and is kept so that importing the same
    /// data gives the same bytes.
    public func preparedRows(_ sequence: OffsetSequence) -> (dx: [Float], dy: [Float]) {
        let n = sequence.count
        var dx = [Float](repeating: 0, count: n), dy = [Float](repeating: 0, count: n)
        let ix = 1 / stdDx, iy = 1 / stdDy
        for k in 1..<max(n, 1) where k < n {
            dx[k] = Float((sequence.dx[k] - meanDx) * ix)
            dy[k] = Float((sequence.dy[k] - meanDy) * iy)
        }
        return (dx, dy)
    }

    /// Raw offsets of prepared rows (`denormalise` of rows 1…; row 0 stays the (0, 0) start row).
    public func rawOffsets(dx: [Float], dy: [Float]) -> (dx: [Double], dy: [Double]) {
        let n = min(dx.count, dy.count)
        var rx = [Double](repeating: 0, count: n), ry = rx
        for k in 1..<max(n, 1) where k < n {
            let raw = denormalise(Point(x: Double(dx[k]), y: Double(dy[k])))
            rx[k] = raw.x
            ry[k] = raw.y
        }
        return (rx, ry)
    }

    /// Population mean and standard deviation over rows 1… of each sequence (row 0 is the (0, 0) start row);
    /// a zero deviation (or one below `stdRange`) becomes 1 so that normalising never divides by zero.
    public static func measure(_ sequences: [OffsetSequence]) -> OffsetStatistics {
        var n = 0.0, sx = 0.0, sy = 0.0
        for s in sequences where s.count > 1 {
            for i in 1..<s.count {
                sx += s.dx[i]
                sy += s.dy[i]
            }
            n += Double(s.count - 1)
        }
        guard n > 0 else { return .identity }
        let mx = sx / n, my = sy / n
        var vx = 0.0, vy = 0.0
        for s in sequences where s.count > 1 {
            for i in 1..<s.count {
                vx += (s.dx[i] - mx) * (s.dx[i] - mx)
                vy += (s.dy[i] - my) * (s.dy[i] - my)
            }
        }
        let dxStd = (vx / n).squareRoot(), dyStd = (vy / n).squareRoot()
        let low = stdRange.lowerBound
        return OffsetStatistics(meanDx: mx, meanDy: my, stdDx: dxStd >= low ? dxStd : 1, stdDy: dyStd >= low ? dyStd : 1)
    }
}
