import Foundation
import QuillData
import XCTest
@testable import QuillRender

final class CanvasTests: RenderTestCase {
    let pngMagic: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    func testFormatFromExtension() throws {
        XCTAssertEqual(try OutputFormat.forPath("a/b.PNG"), .png)
        XCTAssertEqual(try OutputFormat.forPath("x.svg"), .svg)
        XCTAssertEqual(try OutputFormat.forPath("x.pdf"), .pdf)
        XCTAssertThrowsError(try OutputFormat.forPath("figure.jpg")) { error in
            XCTAssertEqual(error as? RenderError, .unknownExtension(path: "figure.jpg"))
            XCTAssertTrue("\(error)".contains("figure.jpg") && "\(error)".contains(".png"))
        }
        XCTAssertThrowsError(try OutputFormat.forPath("noextension"))
    }

    func testStrokePageToPNGHasSizeAndInk() throws {
        let lines = (1...3).map { SyntheticHandwriting.line(seed: UInt64($0), words: 3) }
        var options = PageOptions()
        options.lineHeight = 40
        options.lineGap = 10
        options.margin = 12
        let path = file("page.png")
        let layout = try StrokeRenderer.renderPage(lines: lines, to: path, options: options)
        let image = try RasterImage.readPNG(path)
        XCTAssertEqual(image.width, Int(layout.size.width.rounded(.up)))
        XCTAssertEqual(image.height, Int(layout.size.height.rounded(.up)))
        let expected: Double = 2 * (12 + 0.75) + 3 * 40 + 2 * 10  // margins (plus half the pen), slots, gaps
        XCTAssertEqual(layout.size.height, expected, accuracy: 1e-9)
        let ink = image.count(differingFrom: .white)
        XCTAssertGreaterThan(ink, image.width * image.height / 100, "the page should have visible ink")
        XCTAssertLessThan(ink, image.width * image.height / 2)
        // The margins stay blank.
        XCTAssertEqual(image.pixel(x: 2, y: 2), .white)
        XCTAssertEqual(image.pixel(x: image.width - 3, y: image.height - 3), .white)
        XCTAssertEqual(try listing(), ["page.png"], "no temporary file is left behind")
    }

    func testPixelScaleAndPerStrokeColours() throws {
        var options = PageOptions()
        options.pixelScale = 2
        options.style = StrokeStyle(width: 3, strokeColors: [Color(hex: 0xff0000), Color(hex: 0x0000ff)], smooth: false)
        let path = file("colours.png")
        let layout = try StrokeRenderer.renderPage(lines: [[[Point(0, 0), Point(10, 0), Point(10, 10)],
                                                             [Point(20, 0), Point(20, 10)]]], to: path, options: options)
        let image = try RasterImage.readPNG(path)
        XCTAssertEqual(image.width, Int((layout.size.width * 2).rounded(.up)))
        let reds = image.pixels.filter { $0.r > 0.8 && $0.g < 0.2 && $0.b < 0.2 }.count
        let blues = image.pixels.filter { $0.b > 0.8 && $0.r < 0.2 && $0.g < 0.2 }.count
        XCTAssertGreaterThan(reds, 50)
        XCTAssertGreaterThan(blues, 50)
    }

    func testVectorFormatsHaveMagicAndContent() throws {
        let line = SyntheticHandwriting.line(seed: 3, words: 2)
        try StrokeRenderer.renderPage(lines: [line], to: file("line.svg"))
        try StrokeRenderer.renderPage(lines: [line], to: file("line.pdf"))
        try StrokeRenderer.renderPage(lines: [line], to: file("line.png"))
        let svg = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file("line.svg"))), as: UTF8.self)
        XCTAssertTrue(svg.hasPrefix("<?xml"), String(svg.prefix(40)))
        XCTAssertTrue(svg.contains("<svg"))
        XCTAssertTrue(svg.contains(" C "), "smoothed strokes are written as cubic curves")
        XCTAssertEqual(try head(file("line.pdf"), 5), Array("%PDF-".utf8))
        XCTAssertEqual(try head(file("line.png")), pngMagic)
        XCTAssertEqual(try listing(), ["line.pdf", "line.png", "line.svg"])
    }

    func testHeatmapWithCharacterLabels() throws {
        let text = Array("hello world")
        let T = 60
        var values: [Double] = []
        for u in 0..<text.count {
            for t in 0..<T {
                let centre = Double(t) / Double(T) * Double(text.count)
                values.append(exp(-pow(Double(u) + 0.5 - centre, 2)))
            }
        }
        let matrix = try Matrix(rows: text.count, cols: T, values: values)
        let canvas = try Canvas(path: file("phi.png"), width: 400, height: 220)
        var options = HeatmapOptions()
        options.colormap = .greys
        options.rowLabels = text.map(String.init)
        options.axes = AxisStyle(title: "φ(t, u)", xLabel: "t", yLabel: "u")
        options.colorbar = true
        let frame = try canvas.drawHeatmap(matrix, in: canvas.bounds, options: options)
        try canvas.finish()
        XCTAssertEqual(frame.x.lower, 0)
        XCTAssertEqual(frame.x.upper, Double(T))
        XCTAssertEqual(frame.y.lower, Double(text.count))  // row 0 on top
        XCTAssertLessThan(frame.rect.width, 400)
        XCTAssertGreaterThan(frame.rect.minX, 10, "room was left for the labels")
        let image = try RasterImage.readPNG(file("phi.png"))
        XCTAssertEqual(image.width, 400)
        XCTAssertEqual(image.height, 220)
        // The cell for (u = 0, t = 0) is dark (high φ), the cell for (u = 0, t = T-1) is white.
        let dark = image.pixel(x: Int(frame.canvasX(0.5)), y: Int(frame.canvasY(0.5)))
        let light = image.pixel(x: Int(frame.canvasX(Double(T) - 0.5)), y: Int(frame.canvasY(0.5)))
        XCTAssertLessThan(dark.r, 0.6)
        XCTAssertGreaterThan(light.r, 0.95)
    }

    func testHeatmapOverlayWithoutAxesFillsRect() throws {
        let canvas = try Canvas(path: file("overlay.png"), width: 50, height: 40, background: .white)
        var options = HeatmapOptions()
        options.showAxes = false
        options.colormap = .hot
        let m = try Matrix([[0, 1], [1, 0]])
        let frame = try canvas.drawHeatmap(m, in: Rect(x: 10, y: 10, width: 20, height: 20), options: options)
        try canvas.finish()
        XCTAssertEqual(frame.rect, Rect(x: 10, y: 10, width: 20, height: 20))
        let image = try RasterImage.readPNG(file("overlay.png"))
        XCTAssertEqual(image.pixel(x: 12, y: 12), Color(r: 0, g: 0, b: 0))  // value 0: black
        XCTAssertEqual(image.pixel(x: 27, y: 12), .white)                   // value 1: white
        XCTAssertEqual(image.pixel(x: 5, y: 5), .white)                     // outside: background
    }

    func testLinePlotToAllFormats() throws {
        let xs = (0..<50).map(Double.init)
        let series = [Series(name: "sin", xs: xs, ys: xs.map { sin($0 / 5) }),
                      Series(name: "cos", xs: xs, ys: xs.map { cos($0 / 5) }, dash: [4, 3], markerRadius: 1.5)]
        for ext in ["png", "svg", "pdf"] {
            let canvas = try Canvas(path: file("plot.\(ext)"), width: 300, height: 200)
            var options = LinePlotOptions()
            options.axes = AxisStyle(title: "waves", xLabel: "x", yLabel: "y")
            let frame = try canvas.drawLinePlot(series, in: canvas.bounds, options: options)
            try canvas.finish()
            XCTAssertEqual(frame.y.lower, -1)
            XCTAssertEqual(frame.y.upper, 1)
            XCTAssertEqual(frame.x.upper, 50)
        }
        let image = try RasterImage.readPNG(file("plot.png"))
        XCTAssertEqual(image.width, 300)
        XCTAssertGreaterThan(image.count(differingFrom: .white), 2000)
        XCTAssertEqual(try head(file("plot.pdf"), 5), Array("%PDF-".utf8))
    }

    func testVStackOfPanelsInOneFigure() throws {
        let canvas = try Canvas(path: file("fig.png"), width: 300, height: 300)
        let panels = Layout.vstack(in: canvas.bounds.inset(by: 5), [.weight(1), .weight(2)], spacing: 5)
        let t = try canvas.drawStrokes(SyntheticHandwriting.line(seed: 1, words: 2), in: panels[0], margin: 4)
        try canvas.drawLinePlot([Series(ys: [1, 3, 2])], in: panels[1])
        try canvas.finish()
        XCTAssertGreaterThan(t.scale, 0)
        let image = try RasterImage.readPNG(file("fig.png"))
        // Ink in both halves.
        let top = image.pixels[0..<(150 * 300)].filter { $0 != .white }.count
        let bottom = image.pixels[(150 * 300)...].filter { $0 != .white }.count
        XCTAssertGreaterThan(top, 100)
        XCTAssertGreaterThan(bottom, 100)
    }

    /// With SOURCE_DATE_EPOCH set, a PDF's creation date is fixed and the same drawing gives the same bytes.
    func testPDFIsReproducibleWithSourceDateEpoch() throws {
        setenv("SOURCE_DATE_EPOCH", "1700000000", 1)
        defer { unsetenv("SOURCE_DATE_EPOCH") }
        var bytes = [Data]()
        for k in 0..<2 {
            try StrokeRenderer.renderPage(lines: [[[Point(0, 0), Point(10, 5), Point(20, 0)]]], to: file("r\(k).pdf"))
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: file("r\(k).pdf"))))
            if k == 0 { Thread.sleep(forTimeInterval: 1.1) }
        }
        XCTAssertEqual(bytes[0], bytes[1])
        // The date in PDF's form, "D:" first (Cairo 1.16 leaves it out), the file's offsets unmoved.
        let text = String(decoding: bytes[0], as: UTF8.self)
        XCTAssertTrue(text.contains("/CreationDate (D:20231114221320Z)"), text)
        XCTAssertEqual(CairoRewrite.pdfCreationDate(Data("<< /P (x)\n   /CreationDate (20231114221320Z)\n>>".utf8)),
                       Data("<< /P (x)\n /CreationDate (D:20231114221320Z)\n>>".utf8))
        let fixed = Data("   /CreationDate (D:20261205143923Z)".utf8)
        XCTAssertEqual(CairoRewrite.pdfCreationDate(fixed), fixed)
    }

    /// Cairo numbers SVG surfaces over the whole process; a server's second drawing gives the first one's bytes.
    func testSVGIsTheSameBytesInOneProcess() throws {
        var bytes = [Data]()
        for k in 0..<3 {
            try StrokeRenderer.renderPage(lines: [[[Point(0, 0), Point(10, 5), Point(20, 0)]]], to: file("s\(k).svg"))
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: file("s\(k).svg"))))
        }
        XCTAssertEqual(bytes[0], bytes[1])
        XCTAssertEqual(bytes[1], bytes[2])
        XCTAssertTrue(String(decoding: bytes[0], as: UTF8.self).contains("id=\"surface1\""))
        XCTAssertEqual(CairoRewrite.svg(Data(##"<g id="surface38"><use xlink:href="#surface40"/><use xlink:href="#surface38"/> surface7"##.utf8)),
                       Data(##"<g id="surface1"><use xlink:href="#surface2"/><use xlink:href="#surface1"/> surface7"##.utf8))
    }
}
