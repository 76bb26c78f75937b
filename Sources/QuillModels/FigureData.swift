import QuillData
import QuillNN

/// Values on a grid for a heatmap: `rows` × `columns`, row-major (`values[r * columns + c]`), with a label per row
/// (or none).
public struct FigureGrid: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    public var values: [Double]
    /// One label per row, or empty.
    public var rowLabels: [String]

    public init(rows: Int, columns: Int, values: [Double], rowLabels: [String] = []) {
        self.rows = rows; self.columns = columns; self.values = values; self.rowLabels = rowLabels
    }
}

/// The numbers of Graves's Fig. 13 for one written line: the window weights φ(t, u) over the text and the soft
/// window vector w_t over the text's characters (eqs. 46–51), one column per kept step t. `quill plot window` draws
/// them with `HandwritingFigures.window` (QuillRender).
public struct WindowFigureData {
    /// φ(t, u): a row per character u of the text (labelled with it), a column per step t. φ values past a
    /// step's recorded characters are 0.
    public var phi: FigureGrid
    /// w_t: a row per distinct character of the text that the alphabet has (sorted, labelled), a column per step;
    /// a single unlabelled row of zeros when the alphabet has none of them.
    public var windowWeights: FigureGrid

    /// The grids of `line`, written with `record` on (so it carries φ and w_t), for `text` (its characters, as the
    /// alphabet spells them) under `alphabet` (the model's symbols, in index order). Nil when the line has no steps
    /// or the text no characters: there is no window to plot.
    public init?(line: GeneratedLine, text: [String], alphabet: [String]) {
        let T = line.phi.count, U = text.count
        guard T > 0, U > 0 else { return nil }
        var phi = [Double](repeating: 0, count: U * T)
        for t in 0..<T { for u in 0..<min(U, line.phi[t].count) { phi[u * T + t] = line.phi[t][u] } }
        self.phi = FigureGrid(rows: U, columns: T, values: phi, rowLabels: text)
        let used = Array(Set(text)).sorted().compactMap { s in alphabet.firstIndex(of: s).map { (s, $0) } }
        guard !used.isEmpty else {
            windowWeights = FigureGrid(rows: 1, columns: T, values: [Double](repeating: 0, count: T))
            return
        }
        var w = [Double](repeating: 0, count: used.count * T)
        for (r, (_, v)) in used.enumerated() {
            for t in 0..<min(T, line.windowWeights.count) where v < line.windowWeights[t].count {
                w[r * T + t] = line.windowWeights[t][v]
            }
        }
        windowWeights = FigureGrid(rows: used.count, columns: T, values: w, rowLabels: used.map(\.0))
    }
}

/// The numbers of Graves's Fig. 10 for a sample of the prediction network: the predicted density of the next pen
/// position, summed over the steps and laid over the ink, and the mixture weights π_k over time. `quill plot
/// density` draws them with `HandwritingFigures.density` (QuillRender).
public struct DensityFigureData {
    /// The area the density grid covers, in the line's coordinates (y down): the ink's bounds widened on every side
    /// by 15% of the ink's height (at least 0.15), so the density fades out inside the grid.
    public var minX: Double, minY: Double, width: Double, height: Double
    /// Σ_t p_t(x, y): each step's mixture density (`MixtureDensity.density`, eqs. 23–25) of the next pen position,
    /// centred on the pen position it predicts from, at the centre of each cell; a column per cell along x, a row
    /// per cell down y. Scaled to a maximum of 1 and square-rooted, so faint predictions stay visible.
    public var density: FigureGrid
    /// π_k over time: a row per component k, a column per step (one zero column when there are no steps).
    public var mixtureWeights: FigureGrid

    /// Components whose weight is at most this are left out of a step's density (they do not show), and cells
    /// more than `reach` standard deviations from every kept component's mean get nothing from that step.
    static let minimumWeight = 1e-3, reach = 3.0

    /// The grids of `line` (sampled by `HandwritingSampler.sample`) and `parameters`, where `parameters[t]` is the
    /// mixture that predicted point t + 1 in normalised offsets, which `stats` map back to the line's units.
    /// `columns` cells span the area's width; the rows keep cells about square (at least 40). Nil when the line has
    /// no points.
    public init?(line: GeneratedLine, parameters: [MixtureDensity.Parameters], mixture: MixtureDensity,
                 stats: OffsetStatistics, columns: Int = 360) {
        let points = line.strokes.joined()
        guard let x0 = points.map(\.x).min(), let x1 = points.map(\.x).max(),
              let y0 = points.map(\.y).min(), let y1 = points.map(\.y).max() else { return nil }
        let border = max(y1 - y0, 1) * 0.15
        minX = x0 - border; minY = y0 - border; width = x1 - x0 + 2 * border; height = y1 - y0 + 2 * border
        let cols = columns, rows = max(40, Int(Double(columns) * height / max(width, 1)))
        let cellW = width / Double(cols), cellH = height / Double(rows)
        var grid = [Double](repeating: 0, count: rows * cols)
        var pen = Point.zero
        for t in 0..<min(parameters.count, line.dx.count) {
            let (kept, p) = Self.significant(parameters[t], of: mixture)
            // The cells within `reach` σ of a kept component's mean, in the line's units.
            var lowX = Double.infinity, highX = -Double.infinity, lowY = Double.infinity, highY = -Double.infinity
            for j in 0..<kept.components {
                let mean = pen + stats.denormalise(Point(x: p.mu1[j], y: p.mu2[j]))
                let spread = stats.denormaliseSpread(Point(x: p.sigma1[j], y: p.sigma2[j])) * Self.reach
                lowX = min(lowX, mean.x - spread.x); highX = max(highX, mean.x + spread.x)
                lowY = min(lowY, mean.y - spread.y); highY = max(highY, mean.y + spread.y)
            }
            // Cells partly inside that box (nothing when the box misses the area or no component is kept).
            if lowX <= minX + width, highX >= minX, lowY <= minY + height, highY >= minY {
                for r in Self.cell(lowY - minY, cellH, rows)...Self.cell(highY - minY, cellH, rows) {
                    for c in Self.cell(lowX - minX, cellW, cols)...Self.cell(highX - minX, cellW, cols) {
                        // The cell's centre as the offset from the pen, in the network's normalised units.
                        let centre = Point(x: minX + (Double(c) + 0.5) * cellW, y: minY + (Double(r) + 0.5) * cellH)
                        let offset = stats.normalise(centre - pen)
                        grid[r * cols + c] += kept.density(p, x1: offset.x, x2: offset.y)
                    }
                }
            }
            pen = pen + Point(x: line.dx[t], y: line.dy[t])
        }
        if let top = grid.max(), top > 0 { grid = grid.map { ($0 / top).squareRoot() } }
        density = FigureGrid(rows: rows, columns: cols, values: grid)
        let T = parameters.count, M = mixture.components
        var weights = [Double](repeating: 0, count: M * max(T, 1))
        for t in 0..<T { for k in 0..<min(M, parameters[t].weights.count) { weights[k * T + t] = parameters[t].weights[k] } }
        mixtureWeights = FigureGrid(rows: M, columns: max(T, 1), values: weights)
    }

    /// The index of the cell of size `size` (of `count`) that holds `offset` from the grid's edge, clamped to the grid.
    static func cell(_ offset: Double, _ size: Double, _ count: Int) -> Int {
        Int(min(max(offset / size, 0), Double(count - 1)))
    }

    /// The components of `p` whose weight is above `minimumWeight`, as a mixture of that many components.
    static func significant(_ p: MixtureDensity.Parameters, of mixture: MixtureDensity)
        -> (MixtureDensity, MixtureDensity.Parameters) {
        let keep = p.weights.indices.filter { p.weights[$0] > minimumWeight }
        var kept = mixture, q = p
        kept.components = keep.count
        func pick(_ a: [Double]) -> [Double] { keep.map { a[$0] } }
        q.weights = pick(p.weights); q.mu1 = pick(p.mu1); q.mu2 = pick(p.mu2)
        q.sigma1 = pick(p.sigma1); q.sigma2 = pick(p.sigma2); q.rho = pick(p.rho)
        return (kept, q)
    }
}
