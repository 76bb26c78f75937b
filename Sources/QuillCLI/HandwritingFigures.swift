import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillRender

/// Graves's figures, drawn from generated lines.
enum HandwritingFigures {
    /// Fig. 13: the written line, a heatmap of φ(t, u) with the characters along u, and the window weights w_t.
    static func window(_ g: GeneratedLine, text: [String], alphabet: [String], to path: String) throws {
        let T = g.phi.count, U = text.count
        guard T > 0, U > 0 else { throw CLIError("\(path): nothing was written, so there is no window to plot") }
        let canvas = try Canvas(path: path, width: 900, height: 720, pixelScale: 2)
        let panels = Layout.vstack(in: canvas.bounds.inset(by: 10), [.weight(0.8), .weight(1.4), .weight(1.2)], spacing: 10)
        let insets = EdgeInsets(top: 26, left: 56, bottom: 40, right: 16)
        try canvas.drawStrokes(g.strokes, in: panels[0], margin: 8, style: StrokeStyle(width: 1.6))
        var phi = [Double](repeating: 0, count: U * T)
        for t in 0..<T { for u in 0..<min(U, g.phi[t].count) { phi[u * T + t] = g.phi[t][u] } }
        var hm = HeatmapOptions()
        hm.colormap = .greys
        hm.rowLabels = text
        hm.axes = AxisStyle(title: "Window weights φ(t, u)", xLabel: "time step t", yLabel: "character u", insets: insets)
        try canvas.drawHeatmap(try Matrix(rows: U, cols: T, values: phi), in: panels[1], options: hm)
        // w_t over the alphabet symbols that occur in the text.
        let used = Array(Set(text)).sorted()
        let rows = used.compactMap { s in alphabet.firstIndex(of: s).map { (s, $0) } }
        var w = [Double](repeating: 0, count: rows.count * T)
        for (r, (_, v)) in rows.enumerated() { for t in 0..<T where v < g.windowWeights[t].count { w[r * T + t] = g.windowWeights[t][v] } }
        var wm = HeatmapOptions()
        wm.colormap = .viridis
        wm.rowLabels = rows.map(\.0)
        wm.axes = AxisStyle(title: "Soft window vector w_t (characters of the text)", xLabel: "time step t",
                            yLabel: "character", insets: insets)
        try canvas.drawHeatmap(try Matrix(rows: max(rows.count, 1), cols: T, values: rows.isEmpty ? [Double](repeating: 0, count: T) : w),
                               in: panels[2], options: wm)
        try canvas.finish()
    }

    /// Fig. 10: the predicted pen-position density laid over the written sample, and the mixture weights over time.
    /// `params[t]` are the mixture parameters that predicted point t + 1 (in normalised units); `stats` undoes that.
    static func density(_ g: GeneratedLine, params: [MixtureDensity.Parameters], mixture: MixtureDensity,
                        stats: QuillDataStats, to path: String) throws {
        let s = g.strokes
        guard let ink = Rect.bounding(strokes: s) else { throw CLIError("\(path): the sample has no points") }
        let bounds = ink.inset(by: -max(ink.height, 1) * 0.15)
        let canvas = try Canvas(path: path, width: 900, height: 520, pixelScale: 2)
        let panels = Layout.vstack(in: canvas.bounds.inset(by: 10), [.weight(1.3), .weight(1)], spacing: 10)
        let fit = StrokeLayout.fitInside(bounds, panels[0], margin: 10)
        let cols = 360, rows = max(40, Int(Double(cols) * bounds.height / max(bounds.width, 1)))
        var grid = [Double](repeating: 0, count: rows * cols)
        // Each step's density is centred on the pen position it predicts from.
        var x = 0.0, y = 0.0
        let cellW = bounds.width / Double(cols), cellH = bounds.height / Double(rows)
        for t in 0..<min(params.count, g.dx.count) {
            let p = params[t]
            // Only cells within a few σ of the predicted mean matter.
            for j in 0..<mixture.components where p.weights[j] > 1e-3 {
                let mean = stats.denormalise(Point(x: p.mu1[j], y: p.mu2[j]))
                let spread = stats.denormaliseSpread(Point(x: p.sigma1[j], y: p.sigma2[j]))
                let mx: Double = x + mean.x, my: Double = y + mean.y
                let sx: Double = spread.x, sy: Double = spread.y
                let c0 = max(0, Int((mx - 3 * sx - bounds.minX) / cellW)), c1 = min(cols - 1, Int((mx + 3 * sx - bounds.minX) / cellW))
                let r0 = max(0, Int((my - 3 * sy - bounds.minY) / cellH)), r1 = min(rows - 1, Int((my + 3 * sy - bounds.minY) / cellH))
                if c0 > c1 || r0 > r1 { continue }
                let rho = p.rho[j], weight = p.weights[j]
                let omr: Double = 1 - rho * rho
                for r in r0...r1 {
                    let py: Double = bounds.minY + (Double(r) + 0.5) * cellH
                    let z2: Double = (py - my) / sy
                    for c in c0...c1 {
                        let px: Double = bounds.minX + (Double(c) + 0.5) * cellW
                        let z1: Double = (px - mx) / sx
                        let zz: Double = z1 * z1 + z2 * z2 - 2 * rho * z1 * z2
                        grid[r * cols + c] += weight * exp(-zz / (2 * omr))
                    }
                }
            }
            x += g.dx[t]; y += g.dy[t]
        }
        let maxV = grid.max() ?? 1
        if maxV > 0 { grid = grid.map { pow($0 / maxV, 0.5) } }
        var hm = HeatmapOptions()
        hm.colormap = .hot.reversed
        hm.showAxes = false
        hm.smooth = true
        try canvas.drawHeatmap(try Matrix(rows: rows, cols: cols, values: grid), in: fit.apply(bounds), options: hm)
        canvas.drawStrokes(s, transform: fit, style: StrokeStyle(width: 1, color: Color.black.withAlpha(0.6)))
        let T = params.count, M = mixture.components
        var weights = [Double](repeating: 0, count: M * max(T, 1))
        for t in 0..<T { for k in 0..<M { weights[k * T + t] = params[t].weights[k] } }
        var mix = HeatmapOptions()
        mix.colormap = .viridis
        mix.rowZeroAtTop = false
        mix.colorbar = true
        mix.axes = AxisStyle(title: "Mixture weights π_k", xLabel: "time step", yLabel: "component k")
        try canvas.drawHeatmap(try Matrix(rows: M, cols: max(T, 1), values: weights), in: panels[1], options: mix)
        try canvas.finish()
    }
}

typealias QuillDataStats = HandwritingCheckpoint.Loaded.Stats
