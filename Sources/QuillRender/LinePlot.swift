import QuillData

/// One curve of a line plot.
public struct Series: Equatable, Sendable {
    /// Name shown in the legend; nil leaves the series out of the legend.
    public var name: String?
    public var xs: [Double]
    public var ys: [Double]
    /// Line colour; nil takes the next colour of `Color.categorical`.
    public var color: Color?
    public var width: Double
    public var dash: [Double]
    /// Opacity of line and markers (e.g. 0.25 for a faint raw curve under a smoothed one).
    public var alpha: Double
    /// Radius of a dot at each point; 0 for none.
    public var markerRadius: Double
    /// Draw the connecting line (false for a scatter).
    public var showsLine: Bool

    public init(name: String? = nil, xs: [Double], ys: [Double], color: Color? = nil, width: Double = 1.5,
                dash: [Double] = [], alpha: Double = 1, markerRadius: Double = 0, showsLine: Bool = true) {
        self.name = name
        self.xs = xs
        self.ys = ys
        self.color = color
        self.width = width
        self.dash = dash
        self.alpha = alpha
        self.markerRadius = markerRadius
        self.showsLine = showsLine
    }

    /// A series from y values at x = 0, 1, 2, ….
    public init(name: String? = nil, ys: [Double], color: Color? = nil) {
        self.init(name: name, xs: ys.indices.map(Double.init), ys: ys, color: color)
    }

    /// The finite (x, y) points, split into runs wherever a non-finite value breaks the curve.
    public var finiteRuns: [[Point]] {
        var runs: [[Point]] = [[]]
        for (x, y) in zip(xs, ys) {
            if x.isFinite && y.isFinite {
                runs[runs.count - 1].append(Point(x: x, y: y))
            } else if !(runs.last?.isEmpty ?? true) {
                runs.append([])
            }
        }
        return runs.filter { !$0.isEmpty }
    }
}

/// Where a plot's legend goes, inside the data area.
public enum LegendPosition: Equatable, Sendable {
    case none, topLeft, topRight, bottomLeft, bottomRight
}

/// How a line plot is drawn.
public struct LinePlotOptions: Equatable, Sendable {
    public var axes = AxisStyle()
    /// Fixed axis ranges; nil fits the data and widens to nice ticks.
    public var xRange: ClosedRange<Double>? = nil
    public var yRange: ClosedRange<Double>? = nil
    public var legend: LegendPosition = .topRight
    public var grid = true
    /// About how many tick intervals per axis.
    public var tickCount = 6

    public init() {}
}

/// Pure helpers for plot data.
public enum PlotMath {
    /// The smallest and largest finite values, or nil when there are none.
    public static func finiteRange(_ values: [Double]) -> (min: Double, max: Double)? {
        var lo = Double.infinity, hi = -Double.infinity
        for v in values where v.isFinite {
            lo = min(lo, v); hi = max(hi, v)
        }
        return lo <= hi ? (lo, hi) : nil
    }

    /// A centred moving average over `window` points. Near the ends, where the window does not fit, the value is
    /// the least-squares line through the points the window holds there, read at the point: the ends are smoothed
    /// as much as the data allows (the last value is not the last raw point's noise) and a straight trend does not
    /// lag. In the interior the line through a symmetric window is its mean, so the two agree. Window 1 returns the
    /// input.
    public static func movingAverage(_ ys: [Double], window: Int) -> [Double] {
        let half = max(0, window - 1) / 2
        guard half > 0, !ys.isEmpty else { return ys }
        var sum = [0.0], weighted = [0.0]
        sum.reserveCapacity(ys.count + 1)
        weighted.reserveCapacity(ys.count + 1)
        for (j, y) in ys.enumerated() {
            sum.append(sum[j] + y)
            weighted.append(weighted[j] + Double(j) * y)
        }
        return ys.indices.map { i in
            let a = max(0, i - half), b = min(ys.count - 1, i + half)
            let m = Double(b - a + 1), mean = (sum[b + 1] - sum[a]) / m
            guard i - a != b - i else { return mean }
            // The line through (j, y_j), j in a…b: slope Sxy / Sxx about the window's centre c.
            let c = Double(a + b) / 2
            let sxx = m * (m * m - 1) / 12
            let sxy = (weighted[b + 1] - weighted[a]) - c * (sum[b + 1] - sum[a])
            return mean + sxy / sxx * (Double(i) - c)
        }
    }
}

extension Canvas {
    /// Draws series as lines (and optional markers) in `rect`, with nice-tick axes, grid and legend.
    ///
    /// Non-finite points break a curve rather than fail; a plot with no finite point at all is an error.
    /// Returns the data frame, for annotations drawn on top with `frame.point(x, y)`.
    @discardableResult
    public func drawLinePlot(_ series: [Series], in rect: Rect, options: LinePlotOptions = LinePlotOptions()) throws
        -> PlotFrame {
        guard rect.isFinite, rect.width > 0, rect.height > 0 else {
            throw RenderError.invalidArgument(what: path, detail: "plot rectangle \(rect) is empty")
        }
        for s in series where s.xs.count != s.ys.count {
            throw RenderError.shapeMismatch(what: "\(path) (series \(s.name ?? "unnamed"))",
                                            detail: "\(s.xs.count) x values but \(s.ys.count) y values")
        }
        let runs = series.map(\.finiteRuns)
        let allX = runs.flatMap { $0.flatMap { $0.map(\.x) } }, allY = runs.flatMap { $0.flatMap { $0.map(\.y) } }
        guard let dx = PlotMath.finiteRange(allX), let dy = PlotMath.finiteRange(allY) else {
            throw RenderError.emptyGeometry(what: path, detail: "no series has a finite point")
        }
        let xt = NiceTicks(min: options.xRange?.lowerBound ?? dx.min, max: options.xRange?.upperBound ?? dx.max,
                           count: options.tickCount)
        let yt = NiceTicks(min: options.yRange?.lowerBound ?? dy.min, max: options.yRange?.upperBound ?? dy.max,
                           count: options.tickCount)
        // Fixed ranges are kept exactly; fitted ranges widen to the outer ticks.
        let xr = options.xRange.map { ($0.lowerBound, $0.upperBound) } ?? (xt.lower, xt.upper)
        let yr = options.yRange.map { ($0.lowerBound, $0.upperBound) } ?? (yt.lower, yt.upper)
        let inRange = { (v: Double, r: (Double, Double)) in v >= min(r.0, r.1) - 1e-9 && v <= max(r.0, r.1) + 1e-9 }
        let xTicks = zip(xt.values, xt.labels).filter { inRange($0.0, xr) }
        let yTicks = zip(yt.values, yt.labels).filter { inRange($0.0, yr) }

        let style = options.axes
        let insets = style.insets ?? autoInsets(style: style, yTickLabels: yTicks.map(\.1))
        let area = rect.inset(by: insets)
        guard area.width > 0, area.height > 0 else {
            throw RenderError.invalidArgument(what: path, detail: "plot rectangle \(rect) is too small for its labels")
        }
        let frame = PlotFrame(rect: area, x: xr, y: yr)
        drawAxes(frame, outer: rect, style: style,
                 xTicks: AxisTicks(positions: xTicks.map(\.0), labels: xTicks.map(\.1)),
                 yTicks: AxisTicks(positions: yTicks.map(\.0), labels: yTicks.map(\.1)), grid: options.grid)

        let colors = series.enumerated().map { $1.color ?? Color.categorical[$0 % Color.categorical.count] }
        clipped(to: area.inset(by: -3)) {
            for (i, s) in series.enumerated() {
                let c = colors[i].withAlpha(colors[i].a * s.alpha)
                for run in runs[i] {
                    let pts = run.map { frame.point($0.x, $0.y) }
                    if s.showsLine {
                        stroke(polyline: pts, LineStyle(width: s.width, color: c, dash: s.dash))
                    }
                    if s.markerRadius > 0 {
                        for p in pts { fillCircle(center: p, radius: s.markerRadius, c) }
                    }
                }
            }
        }
        if options.legend != .none {
            drawLegend(series.enumerated().compactMap { i, s in s.name.map { ($0, s, colors[i]) } }, in: area,
                       position: options.legend, font: style.tickFont)
        }
        return frame
    }

    private func drawLegend(_ items: [(String, Series, Color)], in area: Rect, position: LegendPosition, font: Font) {
        guard !items.isEmpty else { return }
        let lineH = measure("Ag", font).height + 3
        let sample = 20.0, pad = 6.0
        let textW = items.map { measure($0.0, font).width }.max() ?? 0
        let w = pad * 3 + sample + textW, h = pad * 2 + lineH * Double(items.count)
        let x: Double, y: Double
        switch position {
        case .topLeft, .bottomLeft: x = area.minX + 8
        default: x = area.maxX - 8 - w
        }
        switch position {
        case .bottomLeft, .bottomRight: y = area.maxY - 8 - h
        default: y = area.minY + 8
        }
        let box = Rect(x: x, y: y, width: w, height: h)
        fill(box, Color.white.withAlpha(0.85))
        stroke(box, LineStyle(width: 0.6, color: Color(hex: 0xbbbbbb), round: false))
        for (i, (name, s, color)) in items.enumerated() {
            let cy = y + pad + lineH * (Double(i) + 0.5)
            let c = color.withAlpha(color.a * max(s.alpha, 0.6))
            if s.showsLine {
                stroke(.polyline([Point(x + pad, cy), Point(x + pad + sample, cy)]),
                       LineStyle(width: s.width, color: c, dash: s.dash))
            }
            if s.markerRadius > 0 { fillCircle(center: Point(x + pad + sample / 2, cy), radius: s.markerRadius, c) }
            text(name, at: Point(x + pad * 2 + sample, cy), font, color: .axis, anchor: TextAnchor(.left, .middle))
        }
    }
}
