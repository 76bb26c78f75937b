import QuillData
import QuillNN
import XCTest
@testable import QuillModels

/// The numbers behind `quill plot window` (Graves Fig. 13) and `quill plot density` (Fig. 10).
final class FigureDataTests: XCTestCase {
    func testWindowGridsPutTimeAlongColumns() throws {
        var line = GeneratedLine(textLength: 3)
        line.phi = [[0.9, 0.1, 0], [0.2, 0.7, 0.1]]            // T = 2 steps, φ over U = 3 characters
        line.windowWeights = [[0, 0.8, 0.2, 0], [0, 0.1, 0.3, 0.6]]  // w_t over an alphabet of 4 symbols
        let figure = try XCTUnwrap(WindowFigureData(line: line, text: ["b", "a", "b"], alphabet: ["?", "a", "b", "c"]))
        XCTAssertEqual(figure.phi, FigureGrid(rows: 3, columns: 2, values: [0.9, 0.2, 0.1, 0.7, 0, 0.1],
                                              rowLabels: ["b", "a", "b"]))
        // One row per distinct character of the text, sorted: a (symbol 1), b (symbol 2).
        XCTAssertEqual(figure.windowWeights, FigureGrid(rows: 2, columns: 2, values: [0.8, 0.1, 0.2, 0.3],
                                                        rowLabels: ["a", "b"]))
        let unknown = try XCTUnwrap(WindowFigureData(line: line, text: ["x"], alphabet: ["?", "a"]))
        XCTAssertEqual(unknown.windowWeights, FigureGrid(rows: 1, columns: 2, values: [0, 0]))
        XCTAssertNil(WindowFigureData(line: GeneratedLine(textLength: 1), text: ["a"], alphabet: ["?", "a"]))
        XCTAssertNil(WindowFigureData(line: line, text: [], alphabet: ["?", "a"]))
    }

    /// One step with one round component: the density peaks where the mixture's mean puts the next point, and every
    /// cell holds √(p / p_max) of `MixtureDensity.density`.
    func testDensityIsTheMixtureDensityAroundThePredictedPoint() throws {
        var line = GeneratedLine(textLength: 0)
        line.dx = [0, 10]; line.dy = [0, 0]; line.eos = [false, true]
        let mixture = MixtureDensity(components: 2)
        var p = mixture.parameters([Float](repeating: 0, count: mixture.outputSize), bias: 0)
        p.weights = [1, 0]; p.mu1 = [0.5, 0]; p.mu2 = [0, 0]; p.sigma1 = [1, 1]; p.sigma2 = [1, 1]; p.rho = [0, 0]
        // Offsets are normalised as (dx − 2) / 4, so the mean offset 0.5 is 4 units right of the pen.
        let stats = OffsetStatistics(meanDx: 2, meanDy: 0, stdDx: 4, stdDy: 4)
        let figure = try XCTUnwrap(DensityFigureData(line: line, parameters: [p], mixture: mixture, stats: stats,
                                                     columns: 100))
        // The ink spans x 0…10 at y 0; the border is 0.15 (15% of a height of at least 1).
        XCTAssertEqual(figure.minX, -0.15, accuracy: 1e-12)
        XCTAssertEqual(figure.width, 10.3, accuracy: 1e-12)
        XCTAssertEqual(figure.density.rows, 40)
        let grid = figure.density
        let peak = try XCTUnwrap(grid.values.indices.max { grid.values[$0] < grid.values[$1] })
        let cellW = figure.width / 100, cellH = figure.height / 40
        XCTAssertEqual(figure.minX + (Double(peak % 100) + 0.5) * cellW, 4, accuracy: cellW)
        XCTAssertEqual(grid.values[peak], 1)
        var kept = mixture
        kept.components = 1
        let one = DensityFigureData.significant(p, of: mixture).1
        func density(_ c: Int, _ r: Int) -> Double {
            kept.density(one, x1: (figure.minX + (Double(c) + 0.5) * cellW - 2) / 4,
                         x2: (figure.minY + (Double(r) + 0.5) * cellH) / 4)
        }
        let (pc, pr) = (peak % 100, peak / 100)
        XCTAssertEqual(grid.values[pr * 100 + pc + 5], (density(pc + 5, pr) / density(pc, pr)).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(figure.mixtureWeights, FigureGrid(rows: 2, columns: 1, values: [1, 0]))
        XCTAssertNil(DensityFigureData(line: GeneratedLine(), parameters: [], mixture: mixture, stats: stats))
    }
}
