import Foundation
import QuillData
import QuillIO
import XCTest
@testable import QuillRender

final class BadInputTests: RenderTestCase {
    func testUnknownExtensionNamesTheFile() {
        XCTAssertThrowsError(try StrokeRenderer.renderPage(lines: [[[Point(0, 0), Point(1, 1)]]], to: file("a.gif"))) {
            XCTAssertTrue("\($0)".contains("a.gif") && "\($0)".contains(".pdf"), "\($0)")
        }
    }

    func testMissingDirectoryIsUnwritable() {
        let path = file("no/such/dir/out.png")
        XCTAssertThrowsError(try Canvas(path: path, width: 10, height: 10)) { error in
            guard let e = error as? FileSystemError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.path, path)
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }

    func testOutputPathThatIsADirectory() throws {
        try FileManager.default.createDirectory(atPath: file("taken.png"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try Canvas(path: file("taken.png"), width: 10, height: 10)) {
            XCTAssertTrue("\($0)".contains("is a directory"), "\($0)")
        }
    }

    func testReadOnlyDirectory() throws {
        guard getuid() != 0 else { throw XCTSkip("root can write anywhere") }
        let ro = file("ro")
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: ro)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ro) }
        XCTAssertThrowsError(try Canvas(path: ro + "/x.svg", width: 10, height: 10)) {
            XCTAssertTrue("\($0)".contains("permission denied"), "\($0)")
        }
    }

    /// A disk that fills while a figure is written (simulated in the file layer) is an error; an older file at the path
    /// stays as it was and no temporary file is left. Cairo's PDF surface reports such a failure only by status.
    func testFullDiskKeepsTheOldFileInEveryFormat() throws {
        defer { FaultInjection.failWrites(after: nil) }
        for ext in ["png", "svg", "pdf"] {
            let path = file("full.\(ext)")
            let lines = [[[Point(0, 0), Point(40, 30), Point(80, 5)]]]
            try StrokeRenderer.renderPage(lines: lines, to: file("whole.\(ext)"))
            let size = try Data(contentsOf: URL(fileURLWithPath: file("whole.\(ext)"))).count
            try Data("older good file".utf8).write(to: URL(fileURLWithPath: path))
            for limit in [0, size / 2, size - 1] {
                FaultInjection.failWrites(after: limit)
                XCTAssertThrowsError(try StrokeRenderer.renderPage(lines: lines, to: path)) { error in
                    XCTAssertTrue("\(error)".contains("no space left on the device"), "\(ext) \(limit): \(error)")
                }
                FaultInjection.failWrites(after: nil)
                XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "older good file", "\(ext) \(limit)")
            }
            let dir = (path as NSString).deletingLastPathComponent
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
            XCTAssertEqual(left, [], ext)
        }
    }

    func testBadCanvasSizes() {
        for (w, h) in [(0.0, 10.0), (10, .nan), (.infinity, 5), (-3, 4), (1e9, 10)] {
            XCTAssertThrowsError(try Canvas(path: file("x.png"), width: w, height: h), "\(w) × \(h)")
        }
        XCTAssertThrowsError(try Canvas(path: file("x.png"), width: 10, height: 10, pixelScale: 0))
        // --dpi goes up to 1,200: a canvas takes that many pixels a point, and says dpi when refusing more.
        XCTAssertNoThrow(try Canvas(path: file("x.png"), width: 10, height: 10, pixelScale: 1200.0 / 72))
        XCTAssertThrowsError(try Canvas(path: file("x.png"), width: 10, height: 10, pixelScale: 1300.0 / 72)) {
            XCTAssertTrue("\($0)".contains("1300 dpi") && "\($0)".contains("1200 dpi"), "\($0)")
        }
        XCTAssertThrowsError(try Canvas(path: file("x.png"), width: 20_000.4, height: 10, pixelScale: 2)) {
            XCTAssertTrue("\($0)".contains("a PNG of 20000 × 10 points at 144 dpi would be 40001 × 20 pixels, over Cairo's 32767-pixel limit; lower --dpi"), "\($0)")
        }
        XCTAssertNoThrow(try Canvas(path: file("x.svg"), width: 20_000, height: 10, pixelScale: 2))
    }

    func testEmptyAndNonFiniteStrokes() throws {
        XCTAssertThrowsError(try StrokeRenderer.renderPage(lines: [], to: file("e.png")))
        XCTAssertThrowsError(try StrokeRenderer.renderPage(lines: [[[]]], to: file("e.png"))) {
            XCTAssertTrue("\($0)".contains("line 1"), "\($0)")
        }
        XCTAssertThrowsError(try StrokeRenderer.renderPage(
            lines: [[[Point(0, 0)]], [[Point(0, .infinity)]]], to: file("e.png"))) {
            XCTAssertTrue("\($0)".contains("line 2") && "\($0)".contains("non-finite"), "\($0)")
        }
        var options = PageOptions()
        options.lineHeight = -1
        XCTAssertThrowsError(try StrokeRenderer.renderPage(lines: [[[Point(0, 0)]]], to: file("e.png"), options: options))
        XCTAssertEqual(try listing(), [], "a failed render leaves no file")
    }

    func testSinglePointAndFlatLinesStillRender() throws {
        try StrokeRenderer.renderPage(lines: [[[Point(5, 5)]], [[Point(0, 1), Point(30, 1)]]], to: file("dot.png"))
        let image = try RasterImage.readPNG(file("dot.png"))
        XCTAssertGreaterThan(image.count(differingFrom: .white), 10)
    }

    func testHeatmapLabelAndSeriesMismatches() throws {
        let canvas = try Canvas(path: file("h.png"), width: 100, height: 100)
        var options = HeatmapOptions()
        options.rowLabels = ["a"]
        XCTAssertThrowsError(try canvas.drawHeatmap(try Matrix([[1, 2], [3, 4]]), in: canvas.bounds, options: options)) {
            XCTAssertTrue("\($0)".contains("1 row labels for 2 rows"), "\($0)")
        }
        XCTAssertThrowsError(try canvas.drawLinePlot([Series(xs: [1, 2], ys: [1])], in: canvas.bounds))
        XCTAssertThrowsError(try canvas.drawLinePlot([Series(ys: [.nan, .nan])], in: canvas.bounds)) {
            XCTAssertTrue("\($0)".contains("no series has a finite point"), "\($0)")
        }
        XCTAssertThrowsError(try canvas.drawLinePlot([], in: canvas.bounds))
        XCTAssertThrowsError(try canvas.drawLinePlot([Series(ys: [1, 2])], in: Rect(x: 0, y: 0, width: 20, height: 20))) {
            XCTAssertTrue("\($0)".contains("too small"), "\($0)")
        }
    }

    func testUnfinishedCanvasLeavesNoFiles() throws {
        do {
            let canvas = try Canvas(path: file("abandoned.svg"), width: 20, height: 20)
            canvas.fill(canvas.bounds, .black)
        }
        XCTAssertEqual(try listing(), [])
    }

    func testReadingAMissingPNG() {
        XCTAssertThrowsError(try RasterImage.readPNG(file("none.png")))
    }
}
