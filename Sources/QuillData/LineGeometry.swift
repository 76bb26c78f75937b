import Foundation

/// Pure geometry of one written line, used to give a page one hand: its slope, its letter height, and the
/// transforms that level it and bring it to a given size. Coordinates are absolute, y pointing down.
extension StrokeGeometry {
    /// The line y = intercept + slope·x through the sample's points: least squares, then least squares again
    /// over the points within three median absolute residuals of the fit (twice), so a long descender or a stroke
    /// that flies off does not tilt it. The slope is dy per dx (positive when the line runs downhill, as y points
    /// down); (0, mean y) when all x are equal.
    public static func fittedLine(_ s: HandwritingSample) -> (slope: Double, intercept: Double) {
        var fit = leastSquares(s.x, s.y, Array(0..<s.pointCount))
        // Two rounds: the first fit may be tilted by the outliers themselves.
        for _ in 0..<2 {
            let residuals = (0..<s.pointCount).map { abs(s.y[$0] - fit.intercept - fit.slope * s.x[$0]) }
            let mad = quantile(residuals.sorted(), 0.5)
            let inliers = (0..<s.pointCount).filter { residuals[$0] <= 3 * mad }
            guard inliers.count >= 2 && mad > 0 else { break }
            fit = leastSquares(s.x, s.y, inliers)
        }
        return fit
    }

    static func leastSquares(_ x: [Double], _ y: [Double], _ indices: [Int]) -> (slope: Double, intercept: Double) {
        let n = Double(indices.count)
        guard n > 0 else { return (0, 0) }
        let mx = indices.reduce(0) { $0 + x[$1] } / n, my = indices.reduce(0) { $0 + y[$1] } / n
        var sxy = 0.0, sxx = 0.0
        for i in indices {
            sxy += (x[i] - mx) * (y[i] - my)
            sxx += (x[i] - mx) * (x[i] - mx)
        }
        guard sxx > 1e-12 else { return (0, my) }
        let slope = sxy / sxx
        return (slope, my - slope * mx)
    }

    /// The slope of `fittedLine` as an angle in degrees (positive: downhill).
    public static func slopeDegrees(_ s: HandwritingSample) -> Double { atan(fittedLine(s).slope) * 180 / .pi }

    /// The letter height of a line: twice the interquartile range of its points' y after levelling. The middle
    /// half of the points lies in the band of the small letters, so this is close to the x-height and, unlike
    /// the bounding box, hardly moves with one long descender or capital. 0 for fewer than 4 points.
    public static func letterHeight(_ s: HandwritingSample) -> Double { band(ofLevel: levelled(s)).letterHeight }

    /// The median y of a line's points after levelling: the middle of its small letters.
    public static func midline(_ s: HandwritingSample) -> Double { band(ofLevel: levelled(s)).midline }

    /// `letterHeight` and `midline` of a sample that is already levelled, from one sort of its y.
    public static func band(ofLevel s: HandwritingSample) -> (letterHeight: Double, midline: Double) {
        let y = s.y.sorted()
        return (y.count >= 4 ? 2 * (quantile(y, 0.75) - quantile(y, 0.25)) : 0, quantile(y, 0.5))
    }

    /// Writing slopes by a few degrees; a fitted line steeper than this says the sample is too short to tell
    /// (a lone "I" or "l" fits a vertical line), and `levelled` leaves it as it is.
    public static let maxLevellingDegrees = 10.0

    /// Rotates the sample about the origin so its fitted line is horizontal (undoes the slope, keeps the shapes);
    /// unchanged when the fitted slope is steeper than `maxLevellingDegrees`.
    public static func levelled(_ s: HandwritingSample) -> HandwritingSample {
        let slope = fittedLine(s).slope
        guard slope != 0, abs(atan(slope)) <= maxLevellingDegrees * .pi / 180 else { return s }
        let a = -atan(slope), c = cos(a), sn = sin(a)
        var out = s
        for i in 0..<s.pointCount {
            out.x[i] = c * s.x[i] - sn * s.y[i]
            out.y[i] = sn * s.x[i] + c * s.y[i]
        }
        return out
    }

    /// How many x-heights `letterHeight` (twice the interquartile range of a line's y) spans for a line of `text`,
    /// in a model of the writing: each letter or digit spreads its points evenly over its vertical extent, in
    /// x-heights with the baseline at 0 and up positive: small letters 0…1, capitals, digits and letters with
    /// ascenders 0…2, letters with descenders −0.9…1 (punctuation, spaces and other symbols are left out, having
    /// few points). 1 for a line of small letters, 2 for one in capitals, about 1.2 for ordinary prose; 1 when the
    /// text has no letters or digits. A page divides each line's measured letter height by this before matching
    /// sizes, so a line in capitals is not shrunk to the small letters of the others.
    public static func letterHeightFactor(of text: String) -> Double {
        var extents = [(lo: Double, hi: Double)]()
        for ch in text.unicodeScalars {
            let c = Character(ch)
            guard c.isLetter || c.isNumber else { continue }
            if "gjpqy".unicodeScalars.contains(ch) {
                extents.append((-0.9, 1))
            } else if c.isUppercase || c.isNumber || "bdfhklt".unicodeScalars.contains(ch) {
                extents.append((0, 2))
            } else {
                extents.append((0, 1))
            }
        }
        guard !extents.isEmpty else { return 1 }
        // The mixture's distribution function, inverted by bisection over the extents' span.
        func cdf(_ y: Double) -> Double {
            extents.reduce(0) { $0 + min(max((y - $1.lo) / ($1.hi - $1.lo), 0), 1) } / Double(extents.count)
        }
        func quantile(_ q: Double) -> Double {
            var a = -0.9, b = 2.0
            for _ in 0..<50 {
                let m = (a + b) / 2
                if cdf(m) < q { a = m } else { b = m }
            }
            return (a + b) / 2
        }
        return 2 * (quantile(0.75) - quantile(0.25))
    }

    /// Levels the line, scales it so its letter height is `height` (unless it has none), and moves it so its
    /// leftmost point is at x = 0 and its midline at y = 0. Lines treated so share one baseline and one size.
    public static func normalisedLine(_ s: HandwritingSample, letterHeight height: Double) -> HandwritingSample {
        guard s.pointCount > 0 else { return s }
        var out = levelled(s)
        // The height as `letterHeight` measures it (the robust fit may tilt a levelled line a little further).
        let own = letterHeight(out), mid = band(ofLevel: out).midline
        let scale = own > 1e-12 && height > 0 && height.isFinite ? height / own : 1
        let left = out.x.min() ?? 0
        for i in 0..<out.pointCount {
            out.x[i] = (out.x[i] - left) * scale
            out.y[i] = (out.y[i] - mid) * scale
        }
        return out
    }

    /// The gaps a line's strokes leave, in writing order: for each stroke whose left edge lies right of all the ink
    /// before it, that distance and the stroke's index (strokes that start back over that ink, an i-dot or a t-bar,
    /// leave none). The widest `words − 1` of them are a line's gaps between words.
    public static func strokeGaps(_ strokes: [Stroke]) -> [(gap: Double, index: Int)] {
        var gaps: [(gap: Double, index: Int)] = []
        var right = -Double.infinity
        for (i, stroke) in strokes.enumerated() {
            guard let minX = stroke.map(\.x).min(), let maxX = stroke.map(\.x).max() else { continue }
            if right.isFinite, minX > right { gaps.append((minX - right, i)) }
            right = max(right, maxX)
        }
        return gaps
    }

    /// Whether a character counts as a letter or digit in a line's text (letter heights, a line's last letter).
    public static func isLetterOrDigit(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || c.properties.numericType != nil
    }

    /// The q-quantile (0…1) of sorted values, interpolating linearly between neighbours.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let p = q * Double(sorted.count - 1)
        let i = Int(p.rounded(.down)), f = p - Double(i)
        return i + 1 < sorted.count ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i]
    }
}
