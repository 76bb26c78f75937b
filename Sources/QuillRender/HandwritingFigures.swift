import QuillData

/// Figures of written lines: Graves's Figs. 10 and 13, and a dataset sample under its caption. They draw plain
/// numbers (strokes and matrices); the models compute the numbers (`WindowFigureData`, `DensityFigureData`).
public enum HandwritingFigures {
    /// One set of insets for the heatmap panels that share a time axis, so their axes line up.
    static let panelInsets = EdgeInsets(top: 26, left: 56, bottom: 40, right: 16)

    /// Graves Fig. 13, 900 × 720 points: the written line; a heatmap of the window weights φ(t, u) with a row per
    /// character u of the text (`characters`, top to bottom) and a column per step t; and a heatmap of the soft
    /// window vector w_t with a row per symbol (`symbols`, top to bottom; nil for no labels).
    /// - Returns: the data frames of the φ and w panels (their time axes line up).
    /// - Throws: `RenderError` when the output can't be written, the strokes have no points or the labels do not
    ///   match the rows.
    @discardableResult
    public static func window(strokes: [Stroke], phi: Matrix, characters: [String], weights: Matrix,
                              symbols: [String]?, to path: String) throws -> (phi: PlotFrame, weights: PlotFrame) {
        let canvas = try Canvas(path: path, width: 900, height: 720, pixelScale: 2)
        let panels = Layout.vstack(in: canvas.bounds.inset(by: 10), [.weight(0.8), .weight(1.4), .weight(1.2)], spacing: 10)
        try canvas.drawStrokes(strokes, in: panels[0], margin: 8, style: StrokeStyle(width: 1.6))
        var hm = HeatmapOptions()
        hm.colormap = .greys
        hm.rowLabels = characters
        hm.axes = AxisStyle(title: "Window weights φ(t, u)", xLabel: "time step t", yLabel: "character u",
                            insets: panelInsets)
        let phiFrame = try canvas.drawHeatmap(phi, in: panels[1], options: hm)
        var wm = HeatmapOptions()
        wm.colormap = .viridis
        wm.rowLabels = symbols
        wm.axes = AxisStyle(title: "Soft window vector w_t (characters of the text)", xLabel: "time step t",
                            yLabel: "character", insets: panelInsets)
        let weightsFrame = try canvas.drawHeatmap(weights, in: panels[2], options: wm)
        try canvas.finish()
        return (phiFrame, weightsFrame)
    }

    /// Graves Fig. 10, 900 × 520 points: a density heatmap laid over the strokes (the matrix covers `area`, in the
    /// strokes' coordinates, row 0 at its top), and the mixture weights π_k with a row per component k (bottom to
    /// top) and a column per step.
    /// - Throws: `RenderError` when the output can't be written.
    public static func density(strokes: [Stroke], density: Matrix, area: Rect, mixtureWeights: Matrix,
                               to path: String) throws {
        let canvas = try Canvas(path: path, width: 900, height: 520, pixelScale: 2)
        let panels = Layout.vstack(in: canvas.bounds.inset(by: 10), [.weight(1.3), .weight(1)], spacing: 10)
        let fit = StrokeLayout.fitInside(area, panels[0], margin: 10)
        var hm = HeatmapOptions()
        hm.colormap = .hot.reversed
        hm.showAxes = false
        hm.smooth = true
        try canvas.drawHeatmap(density, in: fit.apply(area), options: hm)
        canvas.drawStrokes(strokes, transform: fit, style: StrokeStyle(width: 1, color: Color.black.withAlpha(0.6)))
        var mix = HeatmapOptions()
        mix.colormap = .viridis
        mix.rowZeroAtTop = false
        mix.colorbar = true
        mix.axes = AxisStyle(title: "Mixture weights π_k", xLabel: "time step", yLabel: "component k")
        try canvas.drawHeatmap(mixtureWeights, in: panels[1], options: mix)
        try canvas.finish()
    }

    /// A handwriting sample scaled to `height` points of ink, under a caption line; at least `minimumWidth` points
    /// wide (200 by default); a PNG at `pixelScale` pixels per point.
    /// - Throws: `RenderError` when the strokes have no points or the output can't be written.
    public static func captioned(strokes: [Stroke], caption: String, to path: String, height: Double,
                                 style: StrokeStyle, pixelScale: Double = 1, minimumWidth: Double = 200) throws {
        guard let bounds = Rect.bounding(strokes: strokes) else {
            throw RenderError.emptyGeometry(what: path, detail: "the sample has no points")
        }
        let margin = 16.0, captionHeight = 24.0
        let fit = StrokeLayout.fitToHeight(bounds, height: height, margin: margin)
        let width = max(fit.size.width, minimumWidth)
        let canvas = try Canvas(path: path, width: width, height: fit.size.height + captionHeight,
                                pixelScale: pixelScale, background: .white)
        canvas.text(caption, at: Point(margin, 18), Font(size: 12), color: .axis, anchor: .leftBaseline)
        let area = Rect(x: 0, y: captionHeight, width: width, height: fit.size.height)
        try canvas.drawStrokes(strokes, in: area, margin: margin, style: style)
        try canvas.finish()
    }
}
