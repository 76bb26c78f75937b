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

    /// Graves Fig. 13: the written line, φ(t, u) with the characters along u, and the window vector over time.
    func testWindowFigure() throws {
        let text = Array("under the window").map(String.init)
        let strokes = SyntheticHandwriting.line(seed: 5, words: 3)
        let T = 300, U = text.count
        var phi = [Double](repeating: 0, count: U * T)
        for t in 0..<T {
            let kappa = Double(t) / Double(T) * Double(U) + 0.3 * sin(Double(t) / 9)
            for u in 0..<U { phi[u * T + t] = exp(-1.5 * pow(Double(u) + 0.5 - kappa, 2)) }
        }
        let symbols = Array(Set(text)).sorted()
        // w_t over the text's symbols: the φ of the characters that are each symbol.
        var w = [[Double]](repeating: [Double](repeating: 0, count: T), count: symbols.count)
        for (r, s) in symbols.enumerated() {
            for u in 0..<U where text[u] == s { for t in 0..<T { w[r][t] += phi[u * T + t] } }
        }
        let weights = try Matrix(w)
        let phiMatrix = try Matrix(rows: U, cols: T, values: phi)
        for ext in ["svg", "pdf"] {
            try HandwritingFigures.window(strokes: strokes, phi: phiMatrix, characters: text, weights: weights,
                                          symbols: symbols, to: out("window.\(ext)"))
        }
        let frames = try HandwritingFigures.window(strokes: strokes, phi: phiMatrix, characters: text,
                                                   weights: weights, symbols: symbols, to: out("window.png"))
        XCTAssertEqual(frames.weights.rect.minX, frames.phi.rect.minX, accuracy: 1e-9, "time axes line up")
        XCTAssertEqual(frames.weights.rect.maxX, frames.phi.rect.maxX, accuracy: 1e-9)
        XCTAssertEqual(try RasterImage.readPNG(out("window.png")).width, 1800)
        // Without labels for the window vector's rows (no character of the text in the alphabet).
        try HandwritingFigures.window(strokes: strokes, phi: phiMatrix, characters: text,
                                      weights: try Matrix(rows: 1, cols: T, values: [Double](repeating: 0, count: T)),
                                      symbols: nil, to: out("window-unlabelled.png"))
    }

    /// Graves Fig. 10: a pen-position density laid over the written sample, and mixture weights over time.
    func testDensityFigure() throws {
        let strokes = SyntheticHandwriting.line(seed: 9, words: 2)
        // The density grid covers the ink plus a border, so the density fades out inside the grid.
        guard let area = Rect.bounding(strokes: strokes)?.inset(by: -0.3) else { return XCTFail() }
        let (rows, cols) = (60, 200)
        var density = [Double](repeating: 0, count: rows * cols)
        let pts = strokes.flatMap { $0 }
        for r in 0..<rows {
            for c in 0..<cols {
                let x = area.minX + (Double(c) + 0.5) / Double(cols) * area.width
                let y = area.minY + (Double(r) + 0.5) / Double(rows) * area.height
                density[r * cols + c] = pts.reduce(0) { $0 + exp(-(pow($1.x - x, 2) + pow($1.y - y, 2)) / 0.02) }
            }
        }
        let K = 20, T = 250
        var weights: [Double] = []
        for k in 0..<K {
            for t in 0..<T {
                let d: Double = Double(k) - 10 - 8 * sin(Double(t) / 30)
                weights.append(exp(-d * d / 6))
            }
        }
        try HandwritingFigures.density(strokes: strokes, density: try Matrix(rows: rows, cols: cols, values: density),
                                       area: area, mixtureWeights: try Matrix(rows: K, cols: T, values: weights),
                                       to: out("density.png"))
        XCTAssertGreaterThan(try RasterImage.readPNG(out("density.png")).count(differingFrom: .white), 10000)
    }

    /// A dataset sample under its caption, as `quill data show` draws it.
    func testCaptionedSample() throws {
        let strokes = SyntheticHandwriting.line(seed: 3, words: 2)
        try HandwritingFigures.captioned(strokes: strokes, caption: "a01-000u-01: two words", to: out("sample.png"),
                                         height: 120, style: StrokeStyle(width: 1.6))
        XCTAssertGreaterThan(try RasterImage.readPNG(out("sample.png")).count(differingFrom: .white), 1000)
        XCTAssertThrowsError(try HandwritingFigures.captioned(strokes: [], caption: "empty", to: out("none.png"),
                                                              height: 120, style: StrokeStyle()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("none.png")))
    }
}
