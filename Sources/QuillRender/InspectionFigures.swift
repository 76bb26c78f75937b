import Foundation
import QuillData

/// Figures of what happens inside a char model (issue 16): the typo experiment and gate saturation.
public enum InspectionFigures {
    /// A figure of one plot filling the canvas (8-point margin): the series, then `annotate` on top with the plot's
    /// data frame, written to `path` (.png, .svg or .pdf).
    static func plotFigure(_ series: [Series], options: LinePlotOptions, size: Size, to path: String,
                           annotate: (Canvas, PlotFrame) -> Void = { _, _ in }) throws {
        let canvas = try Canvas(path: path, width: size.width, height: size.height, pixelScale: 2)
        let frame = try canvas.drawLinePlot(series, in: canvas.bounds.inset(by: 8), options: options)
        annotate(canvas, frame)
        try canvas.finish()
    }

    /// The typo experiment (note 001): per layer, the distance between the hidden states of the text and of the text
    /// with a typo, against the steps after the typo. `distances[layer][k]`: k steps after it (k = 0 the typo's own).
    public static func typo(_ distances: [[Double]], title: String?, to path: String, size: Size = Size(width: 720, height: 420)) throws {
        var plot = LinePlotOptions()
        plot.axes = AxisStyle(title: title, xLabel: "steps after the typo", yLabel: "‖h − h_typo‖ (Euclidean)")
        plot.legend = .topRight
        let series = distances.enumerated().map { l, d in
            Series(name: "layer \(l + 1)", xs: d.indices.map(Double.init), ys: d, width: 1.6)
        }
        try plotFigure(series, options: plot, size: size, to: path)
    }

    /// Gate saturation (Karpathy, Johnson and Fei-Fei 2016, Fig. 3): one panel per gate, a dot per unit at (fraction
    /// of steps left-saturated, fraction right-saturated), coloured by layer. `points[gate]` lists each layer's
    /// (left, right) fractions.
    public static func saturation(gates: [String], layers: Int, points: [String: [[(left: Double, right: Double)]]],
                                  title: String?, to path: String) throws {
        let panel = 300.0, width = panel * Double(max(gates.count, 1)) + 16
        let canvas = try Canvas(path: path, width: width, height: panel + 40, pixelScale: 2)
        if let title {
            canvas.text(title, at: Point(width / 2, 6), Font(size: 13), color: Color.black, anchor: TextAnchor(.center, .top))
        }
        for (k, gate) in gates.enumerated() {
            var plot = LinePlotOptions()
            plot.axes = AxisStyle(title: "\(gate) gate", xLabel: "fraction left-saturated (< 0.1)",
                                  yLabel: "fraction right-saturated (> 0.9)")
            plot.xRange = 0...1
            plot.yRange = 0...1
            plot.legend = k == gates.count - 1 ? .topRight : .none
            let series = (0..<layers).map { l in
                let p = points[gate]?[l] ?? []
                return Series(name: "layer \(l + 1)", xs: p.map(\.left), ys: p.map(\.right),
                              color: Color.categorical[l % Color.categorical.count], alpha: 0.6, markerRadius: 2.2,
                              showsLine: false)
            }
            try canvas.drawLinePlot(series, in: Rect(x: 8 + panel * Double(k), y: 28, width: panel, height: panel),
                                    options: plot)
        }
        try canvas.finish()
    }

    /// A t-SNE map (model similarity, or one model's states): a dot per point coloured by its category, with a legend;
    /// `labels` draws each point's label beside it (for a map of a few models). `points` are (x, y, label, category);
    /// the axes are the map's own, without units (t-SNE keeps neighbourhoods, not distances).
    public static func map(_ points: [(x: Double, y: Double, label: String, category: String)], labels: Bool,
                           title: String?, to path: String, size: Size = Size(width: 640, height: 560)) throws {
        var categories = [String]()
        for p in points where !categories.contains(p.category) { categories.append(p.category) }
        var plot = LinePlotOptions()
        plot.axes = AxisStyle(title: title, xLabel: "t-SNE 1", yLabel: "t-SNE 2")
        plot.legend = .topRight
        // Room for the labels at the edges: the data range padded by 12% on each side.
        let xs = points.map(\.x), ys = points.map(\.y)
        if let rx = PlotMath.finiteRange(xs), let ry = PlotMath.finiteRange(ys) {
            let px = max((rx.max - rx.min) * 0.12, 1e-6), py = max((ry.max - ry.min) * 0.12, 1e-6)
            plot.xRange = (rx.min - px)...(rx.max + px)
            plot.yRange = (ry.min - py)...(ry.max + py)
        }
        let radius = points.count > 500 ? 1.6 : (labels ? 4 : 2.6)
        let series = categories.enumerated().map { k, name in
            let mine = points.filter { $0.category == name }
            return Series(name: name, xs: mine.map(\.x), ys: mine.map(\.y),
                          color: Color.categorical[k % Color.categorical.count], alpha: labels ? 0.9 : 0.55,
                          markerRadius: radius, showsLine: false)
        }
        try plotFigure(series, options: plot, size: size, to: path) { canvas, frame in
            guard labels else { return }
            for p in points {
                canvas.text(p.label, at: frame.point(p.x, p.y) + Point(radius + 3, 0), Font(size: 9.5),
                            color: Color.black, anchor: TextAnchor(.left, .middle))
            }
        }
    }

    /// One curve of `scores` or `gradientFlow`: a name, its colour slot and its dash pattern (layers of one cell share
    /// a colour and differ in dash: 0 solid, then long dashes, dots, dash-dot, … cycling).
    public struct Curve: Sendable {
        public var name: String
        public var xs: [Double]
        public var ys: [Double]
        public var colorIndex: Int
        public var dashIndex: Int
        public init(name: String, xs: [Double], ys: [Double], colorIndex: Int, dashIndex: Int = 0) {
            self.name = name; self.xs = xs; self.ys = ys; self.colorIndex = colorIndex; self.dashIndex = dashIndex
        }
        /// The dash pattern in points (empty: solid).
        var dash: [Double] { Self.dashes[dashIndex % Self.dashes.count] }
        static let dashes: [[Double]] = [[], [6, 3], [1.5, 2.5], [8, 3, 2, 3], [3, 6]]
    }

    /// Memory tasks (note 002, Fig. 1b and 2): a score (accuracy or MSE) against the sequence length or the training
    /// step, one curve per cell, with dots at the measured points.
    public static func scores(_ curves: [Curve], xLabel: String, yLabel: String, yRange: ClosedRange<Double>?,
                              title: String?, to path: String, size: Size = Size(width: 720, height: 440)) throws {
        var plot = LinePlotOptions()
        plot.axes = AxisStyle(title: title, xLabel: xLabel, yLabel: yLabel)
        plot.yRange = yRange
        plot.legend = yLabel.contains("MSE") ? .topLeft : .bottomLeft
        let series = curves.map {
            Series(name: $0.name, xs: $0.xs, ys: $0.ys, color: Color.categorical[$0.colorIndex % Color.categorical.count],
                   width: 1.8, dash: $0.dash, markerRadius: $0.xs.count <= 40 ? 2.6 : 0)
        }
        try plotFigure(series, options: plot, size: size, to: path)
    }

    /// The Phased LSTM's time gate (note 002, Fig. 3): k against t for a few units, each a line between the steps
    /// and dots at the steps t = 0, 1, … the network reads. `stepXs`/`stepYs` per curve carry the dots.
    public static func timeGate(_ curves: [Curve], steps: [(xs: [Double], ys: [Double])], length: Int, title: String?,
                                to path: String, size: Size = Size(width: 720, height: 400)) throws {
        var plot = LinePlotOptions()
        plot.axes = AxisStyle(title: title, xLabel: "time t (steps read since the state was reset)",
                              yLabel: "time gate k_t")
        plot.xRange = 0...Double(max(length, 1))
        // A legend of up to 10 units, in room left for it above k = 1 so it covers no curve; with more units the
        // command lists them and the figure has none.
        let legend = (2...10).contains(curves.count)
        plot.yRange = 0...(legend ? 1.1 + 0.1 * Double(curves.count) : 1.05)
        plot.legend = legend ? .topRight : .none
        var series = [Series]()
        for (c, dots) in zip(curves, steps) {
            let color = Color.categorical[c.colorIndex % Color.categorical.count]
            // Past the palette's colours, dash patterns tell the units apart.
            let dash = Curve.dashes[(c.colorIndex / Color.categorical.count) % Curve.dashes.count]
            series.append(Series(name: c.name, xs: c.xs, ys: c.ys, color: color, width: 1.6, dash: dash))
            series.append(Series(xs: dots.xs, ys: dots.ys, color: color, width: 0, markerRadius: 2.6, showsLine: false))
        }
        try plotFigure(series, options: plot, size: size, to: path)
    }

    /// Gradient flow through time (note 003): log₁₀ of ‖∂L_T/∂h_t‖ against t, one curve per cell and layer (a cell's
    /// layers share a colour and differ in dash pattern). Norms that are 0 are left out (log of 0).
    public static func gradientFlow(_ curves: [Curve], length: Int, title: String?, to path: String,
                                    size: Size = Size(width: 720, height: 440)) throws {
        let logged = curves.map { c in
            Curve(name: c.name, xs: c.xs, ys: c.ys.map { $0 > 0 ? log10($0) : .nan }, colorIndex: c.colorIndex,
                  dashIndex: c.dashIndex)
        }
        var plot = LinePlotOptions()
        plot.axes = AxisStyle(title: title, xLabel: "step t (the loss is at t = T = \(length))",
                              yLabel: "log₁₀ ‖∂L_T / ∂h_t‖")
        plot.legend = .bottomRight
        let series = logged.map {
            Series(name: $0.name, xs: $0.xs, ys: $0.ys, color: Color.categorical[$0.colorIndex % Color.categorical.count],
                   width: 1.8, dash: $0.dash)
        }
        try plotFigure(series, options: plot, size: size, to: path)
    }
}
