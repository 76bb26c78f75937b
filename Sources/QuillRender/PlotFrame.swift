import QuillData

/// The data area of a plot and the map from data coordinates to the canvas.
///
/// `x.lower` maps to the left edge and `x.upper` to the right; `y.lower` to the bottom and `y.upper` to the top.
/// A reversed range (lower > upper) flips the axis, as a heatmap with row 0 at the top does.
public struct PlotFrame: Equatable, Sendable {
    /// The data area on the canvas (inside the axes).
    public var rect: Rect
    public var x: (lower: Double, upper: Double)
    public var y: (lower: Double, upper: Double)

    public init(rect: Rect, x: (lower: Double, upper: Double), y: (lower: Double, upper: Double)) {
        self.rect = rect
        self.x = x
        self.y = y
    }

    /// The canvas point for data coordinates `(dx, dy)`.
    public func point(_ dx: Double, _ dy: Double) -> Point {
        Point(x: canvasX(dx), y: canvasY(dy))
    }

    public func canvasX(_ dx: Double) -> Double {
        let span = x.upper - x.lower
        return rect.x + (span == 0 ? 0.5 : (dx - x.lower) / span) * rect.width
    }

    public func canvasY(_ dy: Double) -> Double {
        let span = y.upper - y.lower
        return rect.maxY - (span == 0 ? 0.5 : (dy - y.lower) / span) * rect.height
    }

    public static func == (a: PlotFrame, b: PlotFrame) -> Bool {
        a.rect == b.rect && a.x == b.x && a.y == b.y
    }
}

/// The text and sizes shared by plot axes.
public struct AxisStyle: Equatable, Sendable {
    public var title: String?
    public var xLabel: String?
    public var yLabel: String?
    public var titleFont = Font(size: 13, bold: true)
    public var labelFont = Font(size: 11)
    public var tickFont = Font(size: 9.5)
    /// Space around the data area for ticks and labels; nil computes it from the labels. Give the same insets to
    /// panels stacked above one another so their data areas line up.
    public var insets: EdgeInsets?

    public init(title: String? = nil, xLabel: String? = nil, yLabel: String? = nil, insets: EdgeInsets? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.insets = insets
    }
}

/// Labels to draw along one axis: at data positions, with text.
struct AxisTicks {
    var positions: [Double]
    var labels: [String]
    /// Draw small tick marks (numeric axes) or not (category labels such as characters).
    var marks: Bool = true
    var rotated: Bool = false
}

extension Canvas {
    /// Insets that leave room for the title, axis labels and tick labels.
    func autoInsets(style: AxisStyle, yTickLabels: [String], xTickRotatedWidth: Double = 0,
                    extraRight: Double = 0) -> EdgeInsets {
        let tickW = yTickLabels.map { measure($0, style.tickFont).width }.max() ?? 0
        let tickH = measure("0", style.tickFont).height
        let labelH = measure("Ag", style.labelFont).height
        let titleH = style.title == nil ? 0 : measure("Ag", style.titleFont).height + 6
        let left = 6 + tickW + 6 + (style.yLabel == nil ? 0 : labelH + 4)
        let bottom = 4 + max(tickH, xTickRotatedWidth) + 4 + (style.xLabel == nil ? 0 : labelH + 2)
        return EdgeInsets(top: 8 + titleH, left: left, bottom: bottom, right: 12 + extraRight)
    }

    /// Draws the frame, ticks, tick labels, axis labels and title around `frame`.
    func drawAxes(_ frame: PlotFrame, outer: Rect, style: AxisStyle, xTicks: AxisTicks, yTicks: AxisTicks,
                  grid: Bool) {
        let r = frame.rect
        let axisLine = LineStyle(width: 0.8, color: .axis, round: false)
        if grid {
            let gridLine = LineStyle(width: 0.6, color: .grid, round: false)
            for v in xTicks.positions {
                let px = frame.canvasX(v)
                stroke(.polyline([Point(px, r.minY), Point(px, r.maxY)]), gridLine)
            }
            for v in yTicks.positions {
                let py = frame.canvasY(v)
                stroke(.polyline([Point(r.minX, py), Point(r.maxX, py)]), gridLine)
            }
        }
        stroke(r, axisLine)
        let tickLen = 4.0
        for (v, label) in zip(xTicks.positions, xTicks.labels) {
            let px = frame.canvasX(v)
            if xTicks.marks { stroke(.polyline([Point(px, r.maxY), Point(px, r.maxY + tickLen)]), axisLine) }
            if xTicks.rotated {
                text(label, at: Point(px, r.maxY + tickLen + 2), style.tickFont, anchor: TextAnchor(.right, .middle),
                     angle: -Double.pi / 2)
            } else {
                text(label, at: Point(px, r.maxY + tickLen + 2), style.tickFont, anchor: TextAnchor(.center, .top))
            }
        }
        for (v, label) in zip(yTicks.positions, yTicks.labels) {
            let py = frame.canvasY(v)
            if yTicks.marks { stroke(.polyline([Point(r.minX - tickLen, py), Point(r.minX, py)]), axisLine) }
            text(label, at: Point(r.minX - tickLen - 2, py), style.tickFont, anchor: TextAnchor(.right, .middle))
        }
        if let xl = style.xLabel {
            text(xl, at: Point(r.midX, outer.maxY - 2), style.labelFont, anchor: TextAnchor(.center, .bottom))
        }
        if let yl = style.yLabel {
            text(yl, at: Point(outer.minX + 2, r.midY), style.labelFont, anchor: TextAnchor(.center, .top),
                 angle: -Double.pi / 2)
        }
        if let t = style.title {
            text(t, at: Point(r.midX, outer.minY + 4), style.titleFont, color: .black, anchor: TextAnchor(.center, .top))
        }
    }
}
