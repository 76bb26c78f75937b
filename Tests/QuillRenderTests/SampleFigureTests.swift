import Foundation
import QuillData
import XCTest
@testable import QuillRender

/// Composite figures built the way the next issue's plots will be (Graves 2013, Figs. 10 and 13), from synthetic data.
///
/// Set `QUILL_RENDER_SAMPLES=/some/dir` to keep the images for a look; otherwise they go to a temporary directory.
final class SampleFigureTests: RenderTestCase {
    var outDir: String { ProcessInfo.processInfo.environment["QUILL_RENDER_SAMPLES"] ?? dir }
    func out(_ name: String) -> String { (outDir as NSString).appendingPathComponent(name) }

    func testHandwritingPage() throws {
        let lines = (11...14).map { SyntheticHandwriting.line(seed: UInt64($0), words: 5) }
        var options = PageOptions()
        options.lineHeight = 56
        options.pixelScale = 2
        try StrokeRenderer.renderPage(lines: lines, to: out("page.png"), options: options)
        try StrokeRenderer.renderPage(lines: lines, to: out("page.svg"), options: options)
        options.style.strokeColors = Color.categorical
        options.style.width = 2
        try StrokeRenderer.renderPage(lines: Array(lines.prefix(2)), to: out("page-colours.png"), options: options)
        XCTAssertGreaterThan(try RasterImage.readPNG(out("page.png")).count(differingFrom: .white), 1000)
    }

    /// Graves Fig. 13: the written line, φ(t, u) with the characters along u, and the window weights over time.
    func testWindowFigure() throws {
        let text = Array("under the window")
        let strokes = SyntheticHandwriting.line(seed: 5, words: 3)
        let T = 300, U = text.count
        var phi = [Double](repeating: 0, count: U * T)
        for t in 0..<T {
            let kappa = Double(t) / Double(T) * Double(U) + 0.3 * sin(Double(t) / 9)
            for u in 0..<U { phi[u * T + t] = exp(-1.5 * pow(Double(u) + 0.5 - kappa, 2)) }
        }
        for ext in ["svg", "pdf"] { try drawWindowFigure(strokes, text, phi, T: T, path: out("window.\(ext)")) }
        let (frame, lineFrame) = try drawWindowFigure(strokes, text, phi, T: T, path: out("window.png"))
        XCTAssertEqual(lineFrame.rect.minX, frame.rect.minX, accuracy: 1e-9, "time axes line up")
        XCTAssertEqual(lineFrame.rect.maxX, frame.rect.maxX, accuracy: 1e-9)
        XCTAssertEqual(try RasterImage.readPNG(out("window.png")).width, 1520)
    }

    @discardableResult
    func drawWindowFigure(_ strokes: [Stroke], _ text: [Character], _ phi: [Double], T: Int, path: String) throws
        -> (PlotFrame, PlotFrame) {
        let U = text.count
        let canvas = try Canvas(path: path, width: 760, height: 560, pixelScale: 2)
        let panels = Layout.vstack(in: canvas.bounds.inset(by: 10), [.weight(0.8), .weight(1.4), .weight(1)], spacing: 10)
        // One set of insets for the two data panels, so their time axes line up.
        let insets = EdgeInsets(top: 26, left: 56, bottom: 40, right: 16)
        try canvas.drawStrokes(strokes, in: panels[0], margin: 8)
        var hm = HeatmapOptions()
        hm.colormap = .greys
        hm.rowLabels = text.map(String.init)
        hm.axes = AxisStyle(title: "Window weights φ(t, u)", xLabel: "time step t", yLabel: "character u",
                            insets: insets)
        let frame = try canvas.drawHeatmap(try Matrix(rows: U, cols: T, values: phi), in: panels[1], options: hm)
        // The window's centre of mass, drawn on top of the heatmap through the returned frame.
        let centre = (0..<T).map { t in
            (0..<U).reduce(0.0) { $0 + (Double($1) + 0.5) * phi[$1 * T + t] } / (0..<U).reduce(0.0) { $0 + phi[$1 * T + t] }
        }
        canvas.stroke(.polyline((0..<T).map { frame.point(Double($0) + 0.5, centre[$0]) }),
                      LineStyle(width: 1, color: Color(hex: 0xd62728, alpha: 0.8), dash: [3, 2]))
        var lp = LinePlotOptions()
        lp.axes = AxisStyle(title: "Soft window w_t (first three features)", xLabel: "time step t", yLabel: "w",
                            insets: insets)
        lp.xRange = 0...Double(T)
        let w = (0..<3).map { k in Series(name: "w[\(k)]", xs: (0..<T).map { Double($0) + 0.5 },
                                          ys: (0..<T).map { sin(Double($0 + 40 * k) / 25) * 0.5 + 0.5 }) }
        let lineFrame = try canvas.drawLinePlot(w, in: panels[2], options: lp)
        try canvas.finish()
        return (frame, lineFrame)
    }

    /// Graves Fig. 10: a pen-position density laid over the written sample, and mixture weights over time.
    func testDensityFigure() throws {
        let strokes = SyntheticHandwriting.line(seed: 9, words: 2)
        // The density grid covers the ink plus a border, so the density fades out inside the grid.
        guard let bounds = Rect.bounding(strokes: strokes)?.inset(by: -0.3) else { return XCTFail() }
        let canvas = try Canvas(path: out("density.png"), width: 700, height: 420, pixelScale: 2)
        let panels = Layout.vstack(in: canvas.bounds.inset(by: 10), [.weight(1.2), .weight(1)], spacing: 10)
        // Fit the strokes first, then draw the density over the same data rectangle through the same transform.
        let fit = StrokeLayout.fitInside(bounds, panels[0], margin: 10)
        let (rows, cols) = (60, 200)
        var density = [Double](repeating: 0, count: rows * cols)
        let pts = strokes.flatMap { $0 }
        for r in 0..<rows {
            for c in 0..<cols {
                let x = bounds.minX + (Double(c) + 0.5) / Double(cols) * bounds.width
                let y = bounds.minY + (Double(r) + 0.5) / Double(rows) * bounds.height
                density[r * cols + c] = pts.reduce(0) { $0 + exp(-(pow($1.x - x, 2) + pow($1.y - y, 2)) / 0.02) }
            }
        }
        var hm = HeatmapOptions()
        hm.colormap = .hot.reversed
        hm.showAxes = false
        hm.smooth = true
        try canvas.drawHeatmap(try Matrix(rows: rows, cols: cols, values: density), in: fit.apply(bounds), options: hm)
        canvas.drawStrokes(strokes, transform: fit, style: StrokeStyle(width: 1, color: Color.black.withAlpha(0.6)))
        var mix = HeatmapOptions()
        mix.colormap = .viridis
        mix.rowZeroAtTop = false
        mix.colorbar = true
        mix.axes = AxisStyle(title: "Mixture weights π_k", xLabel: "time step", yLabel: "component k")
        let K = 20, T = 250
        var weights: [Double] = []
        for k in 0..<K {
            for t in 0..<T {
                let d: Double = Double(k) - 10 - 8 * sin(Double(t) / 30)
                weights.append(exp(-d * d / 6))
            }
        }
        try canvas.drawHeatmap(try Matrix(rows: K, cols: T, values: weights), in: panels[1], options: mix)
        try canvas.finish()
        XCTAssertGreaterThan(try RasterImage.readPNG(out("density.png")).count(differingFrom: .white), 10000)
    }
}
