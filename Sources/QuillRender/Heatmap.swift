import QuillData

/// A dense row-major matrix of numbers to draw as a heatmap; `values[r * cols + c]` is row r, column c.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public let values: [Double]

    /// Checks the shape and that every value is finite.
    public init(rows: Int, cols: Int, values: [Double]) throws {
        guard rows > 0, cols > 0 else {
            throw RenderError.emptyGeometry(what: "matrix", detail: "shape \(rows) × \(cols)")
        }
        guard values.count == rows * cols else {
            throw RenderError.shapeMismatch(what: "matrix", detail: "\(values.count) values for \(rows) × \(cols)")
        }
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw RenderError.nonFinite(what: "matrix", detail: "row \(i / cols), column \(i % cols) is \(values[i])")
        }
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// A matrix from nested rows, which must all have the same length.
    public init(_ nested: [[Double]]) throws {
        let cols = nested.first?.count ?? 0
        if let bad = nested.firstIndex(where: { $0.count != cols }) {
            throw RenderError.shapeMismatch(what: "matrix", detail: "row \(bad) has \(nested[bad].count) values, row 0 has \(cols)")
        }
        try self.init(rows: nested.count, cols: cols, values: nested.flatMap { $0 })
    }

    public subscript(r: Int, c: Int) -> Double { values[r * cols + c] }

    /// The matrix with rows and columns swapped (e.g. to put time along x when it is stored along rows).
    public var transposed: Matrix {
        var out = [Double](repeating: 0, count: values.count)
        for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = values[r * cols + c] } }
        // Shape and values are already checked.
        return (try? Matrix(rows: cols, cols: rows, values: out)) ?? self
    }

    /// The smallest and largest values.
    public var range: (min: Double, max: Double) {
        (values.min() ?? 0, values.max() ?? 0)
    }

    /// Colours for every cell: each value normalised into `[lower, upper]`, then passed through `colormap`.
    /// A flat range maps every value to the colormap's low end.
    public func colors(_ colormap: Colormap, lower: Double, upper: Double) -> [Color] {
        let span = upper - lower
        return values.map { colormap.color(at: span > 0 ? ($0 - lower) / span : 0) }
    }
}

/// How a heatmap is drawn.
public struct HeatmapOptions: Equatable, Sendable {
    public var colormap: Colormap = .viridis
    /// The values mapped to the colormap's ends; nil uses the matrix's minimum and maximum.
    public var valueRange: ClosedRange<Double>? = nil
    public var axes = AxisStyle()
    /// One label per row, drawn left of the rows (e.g. the characters of the text along the u axis of φ(t,u)).
    public var rowLabels: [String]? = nil
    /// One label per column, drawn below the columns.
    public var columnLabels: [String]? = nil
    /// Data coordinates of the columns' outer edges, for numeric x ticks; nil numbers the columns 0, 1, 2, ….
    public var xExtent: ClosedRange<Double>? = nil
    /// Data coordinates of the rows' outer edges (bottom to top when `rowZeroAtTop` is false).
    public var yExtent: ClosedRange<Double>? = nil
    /// Draw row 0 at the top (matrix order) or at the bottom (plot order).
    public var rowZeroAtTop = true
    /// Interpolate between cells instead of sharp blocks.
    public var smooth = false
    /// Opacity, for laying a heatmap over a drawing.
    public var alpha: Double = 1
    /// Draw axes, ticks and labels; false fills `rect` with the bare image (for overlays).
    public var showAxes = true
    /// Draw a colour bar with value ticks at the right.
    public var colorbar = false
    /// Show spaces in row and column labels as "␣".
    public var visibleSpaces = true

    public init() {}
}

extension Canvas {
    /// Draws `matrix` as an image in `rect` with a colormap, axes and optional per-row or per-column labels.
    ///
    /// Returns the data frame: column c spans x in [c, c + 1] (or the matching part of `xExtent`), row r spans y in
    /// [r, r + 1] (or of `yExtent`), so markers and lines can be drawn on top with `frame.point(x, y)`.
    @discardableResult
    public func drawHeatmap(_ matrix: Matrix, in rect: Rect, options: HeatmapOptions = HeatmapOptions()) throws
        -> PlotFrame {
        guard rect.isFinite, rect.width > 0, rect.height > 0 else {
            throw RenderError.invalidArgument(what: path, detail: "heatmap rectangle \(rect) is empty")
        }
        if let labels = options.rowLabels, labels.count != matrix.rows {
            throw RenderError.shapeMismatch(what: path, detail: "\(labels.count) row labels for \(matrix.rows) rows")
        }
        if let labels = options.columnLabels, labels.count != matrix.cols {
            throw RenderError.shapeMismatch(what: path,
                                            detail: "\(labels.count) column labels for \(matrix.cols) columns")
        }
        let (lo, hi) = options.valueRange.map { ($0.lowerBound, $0.upperBound) } ?? matrix.range
        let pixels = matrix.colors(options.colormap, lower: lo, upper: hi)

        let xr = options.xExtent.map { ($0.lowerBound, $0.upperBound) } ?? (0, Double(matrix.cols))
        let yr = options.yExtent.map { ($0.lowerBound, $0.upperBound) } ?? (0, Double(matrix.rows))
        // Row 0 at the top means y grows downwards: the frame's y range runs from rows (bottom) to 0 (top).
        let yFrame = options.rowZeroAtTop ? (yr.1, yr.0) : (yr.0, yr.1)
        let cellW = (xr.1 - xr.0) / Double(matrix.cols), cellH = (yr.1 - yr.0) / Double(matrix.rows)

        guard options.showAxes else {
            let frame = PlotFrame(rect: rect, x: xr, y: yFrame)
            try image(pixels, cols: matrix.cols, rows: matrix.rows, in: rect, smooth: options.smooth,
                      alpha: options.alpha)
            return frame
        }

        let shown = { (s: String) in options.visibleSpaces ? s.replacingOccurrences(of: " ", with: "␣") : s }
        let style = options.axes
        var yTicks: AxisTicks
        if let labels = options.rowLabels {
            yTicks = AxisTicks(positions: (0..<matrix.rows).map { yr.0 + (Double($0) + 0.5) * cellH },
                               labels: labels.map(shown), marks: false)
        } else {
            yTicks = Canvas.numericTicks(options.yExtent.map { ($0.lowerBound, $0.upperBound) },
                                         count: matrix.rows, edgeLower: yr.0, cell: cellH)
        }
        var xTicks: AxisTicks
        if let labels = options.columnLabels {
            xTicks = AxisTicks(positions: (0..<matrix.cols).map { xr.0 + (Double($0) + 0.5) * cellW },
                               labels: labels.map(shown), marks: false)
        } else {
            xTicks = Canvas.numericTicks(options.xExtent.map { ($0.lowerBound, $0.upperBound) },
                                         count: matrix.cols, edgeLower: xr.0, cell: cellW)
        }
        let colorbarW = options.colorbar ? 56.0 : 0
        // Column labels wider than their cells are turned upright.
        var rotatedW = 0.0
        if options.columnLabels != nil {
            let widest = xTicks.labels.map { measure($0, style.tickFont).width }.max() ?? 0
            let guessCell = rect.width / Double(matrix.cols)
            if widest > guessCell * 0.9 { xTicks.rotated = true; rotatedW = widest }
        }
        // Category labels (one per row) thin out when rows are shorter than the font.
        var font = style
        if options.rowLabels != nil {
            let rowH = rect.height / Double(matrix.rows)
            font.tickFont.size = min(style.tickFont.size, max(5, rowH * 0.9))
            if rowH < 5 { yTicks = Canvas.thinned(yTicks, every: Int((5 / rowH).rounded(.up))) }
        }
        let insets = style.insets ?? autoInsets(style: font, yTickLabels: yTicks.labels, xTickRotatedWidth: rotatedW,
                                                extraRight: colorbarW)
        let area = rect.inset(by: insets)
        guard area.width > 0, area.height > 0 else {
            throw RenderError.invalidArgument(what: path, detail: "heatmap rectangle \(rect) is too small for its labels")
        }
        if xTicks.rotated == false, options.columnLabels != nil, Double(matrix.cols) > area.width / 6 {
            xTicks = Canvas.thinned(xTicks, every: Int((Double(matrix.cols) / (area.width / 6)).rounded(.up)))
        }
        let frame = PlotFrame(rect: area, x: xr, y: yFrame)
        try image(pixels, cols: matrix.cols, rows: matrix.rows, in: area, smooth: options.smooth, alpha: options.alpha)
        drawAxes(frame, outer: rect, style: font, xTicks: xTicks, yTicks: yTicks, grid: false)
        if options.colorbar {
            try drawColorbar(options.colormap, lower: lo, upper: hi,
                             in: Rect(x: area.maxX + 10, y: area.minY, width: 10, height: area.height), style: font)
        }
        return frame
    }

    /// A vertical colour bar with value ticks on its right.
    public func drawColorbar(_ colormap: Colormap, lower: Double, upper: Double, in rect: Rect,
                             style: AxisStyle = AxisStyle()) throws {
        let steps = 128
        let pixels = (0..<steps).map { colormap.color(at: 1 - Double($0) / Double(steps - 1)) }
        try image(pixels, cols: 1, rows: steps, in: rect, smooth: true)
        stroke(rect, LineStyle(width: 0.6, color: .axis, round: false))
        let ticks = NiceTicks(min: lower, max: upper, count: 4)
        let frame = PlotFrame(rect: rect, x: (0, 1), y: (lower, upper == lower ? lower + 1 : upper))
        for (v, label) in zip(ticks.values, ticks.labels) where v >= min(lower, upper) - 1e-12 && v <= max(lower, upper) + 1e-12 {
            let py = frame.canvasY(v)
            stroke(.polyline([Point(rect.maxX, py), Point(rect.maxX + 3, py)]), LineStyle(width: 0.6, color: .axis))
            text(label, at: Point(rect.maxX + 5, py), style.tickFont, anchor: TextAnchor(.left, .middle))
        }
    }

    /// Nice numeric ticks over an extent, or over cell indices (at cell centres) when there is no extent.
    static func numericTicks(_ extent: (Double, Double)?, count: Int, edgeLower: Double, cell: Double) -> AxisTicks {
        if let (a, b) = extent {
            let t = NiceTicks(min: a, max: b, count: 5)
            let inside = zip(t.values, t.labels).filter { $0.0 >= min(a, b) - 1e-9 && $0.0 <= max(a, b) + 1e-9 }
            return AxisTicks(positions: inside.map(\.0), labels: inside.map(\.1))
        }
        let t = NiceTicks(min: 0, max: Double(max(1, count - 1)), count: 5)
        let step = max(1, t.step.rounded())
        let idx = stride(from: 0.0, through: Double(count - 1), by: step)
        return AxisTicks(positions: idx.map { edgeLower + ($0 + 0.5) * cell },
                         labels: idx.map { String(Int($0)) })
    }

    /// Keeps every `every`-th tick.
    static func thinned(_ t: AxisTicks, every: Int) -> AxisTicks {
        let keep = t.positions.indices.filter { $0 % max(1, every) == 0 }
        return AxisTicks(positions: keep.map { t.positions[$0] }, labels: keep.map { t.labels[$0] }, marks: t.marks,
                         rotated: t.rotated)
    }
}
