import Foundation
import QuillData
import XCTest
@testable import QuillRender

/// Layout regressions: a small page (three lines of fixed strokes and a paragraph gap on a ruled A7 sheet, centred,
/// two pens, one line smoothed as curves) drawn as SVG and PNG and compared with the snapshots in PageSnapshots/:
/// the SVG as text, the PNG pixel by pixel within a tolerance (anti-aliasing may move by a level between Cairo
/// builds). After a meant change of layout or drawing, write the snapshots again and look at them:
///
///     QUILL_UPDATE_SNAPSHOTS=1 swift test --skip-build --filter PageSnapshotTests
final class PageSnapshotTests: RenderTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("PageSnapshots")
    var update: Bool { ProcessInfo.processInfo.environment["QUILL_UPDATE_SNAPSHOTS"] == "1" }

    /// Three lines of "writing" made of fixed curves (loops, a crossing stroke, a dot), in line units, y down.
    static func lines() -> [[Stroke]] {
        func loops(_ n: Int, x0: Double, width: Double) -> Stroke {
            (0...n * 12).map { i in
                let t = Double(i) / 12
                return Point(x: x0 + t * width + 3 * sin(t * 2 * .pi), y: -6 * cos(t * 2 * .pi))
            }
        }
        let first: [Stroke] = [loops(4, x0: 0, width: 9), [Point(x: 40, y: -14), Point(x: 42, y: 8)],
                               [Point(x: 36, y: -4), Point(x: 48, y: -4)], [Point(x: 52, y: -12)]]
        let second: [Stroke] = [loops(6, x0: 0, width: 8), loops(2, x0: 56, width: 10)]
        let third: [Stroke] = [loops(3, x0: 0, width: 12), [Point(x: 40, y: 6), Point(x: 44, y: -12), Point(x: 48, y: 6)]]
        return [first, [], second, third]
    }

    func page() throws -> (pages: [PlacedPage], options: PageOptions, paper: PaperSetup) {
        var options = PageOptions()
        options.lineHeight = 24
        options.sharedLineBand = true
        options.pixelScale = 1
        options.style = StrokeStyle(width: 1.5, color: .ink, smooth: true)
        var red = options.style
        red.color = Color(r: 0.7, g: 0.1, b: 0.1)
        red.width = 2.5
        var straight = options.style
        straight.smooth = false
        options.lineStyles = [options.style, options.style, red, straight]
        var paper = PaperSetup(size: Size(width: 210, height: 298))   // A7 in points
        paper.margin = 20
        paper.alignment = .center
        paper.ruling = .ruled
        let pages = try StrokeRenderer.placePages(lines: Self.lines(), options: options, paper: paper, baseline: 6,
                                                  what: "snapshot")
        return (pages, options, paper)
    }

    /// Pixels of two images of one size in which a channel differs by more than 24/255.
    static func differing(_ a: RasterImage, _ b: RasterImage) -> Int {
        var count = 0
        for (p, q) in zip(a.pixels, b.pixels) {
            let d: [Double] = [abs(p.r - q.r), abs(p.g - q.g), abs(p.b - q.b), abs(p.a - q.a)]
            if d.max() ?? 0 > 24.0 / 255 { count += 1 }
        }
        return count
    }

    func snapshot(_ name: String) -> URL { Self.folder.appendingPathComponent(name) }

    func testSVGPageMatchesItsSnapshot() throws {
        let (pages, options, paper) = try page()
        XCTAssertEqual(pages.count, 1)
        let out = file("page.svg")
        try StrokeRenderer.renderPages(pages, to: out, options: options, paper: paper)
        // Cairo numbers its surfaces across the process ("surface3"): the number says how many tests ran before.
        let svg = try String(contentsOfFile: out, encoding: .utf8)
            .replacingOccurrences(of: #"surface[0-9]+"#, with: "surface", options: .regularExpression)
        if update {
            try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
            try Data(svg.utf8).write(to: snapshot("page.svg"))
            return
        }
        let expected = try String(contentsOf: snapshot("page.svg"), encoding: .utf8)
        if svg != expected {
            let a = svg.split(separator: "\n", omittingEmptySubsequences: false)
            let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            XCTFail("page.svg differs from PageSnapshots/page.svg from line \(line + 1) (\(a.count) lines against "
                    + "\(b.count)); if the change is meant, run with QUILL_UPDATE_SNAPSHOTS=1 and look at the result")
        }
    }

    func testPNGPageMatchesItsSnapshotWithinTolerance() throws {
        let (pages, options, paper) = try page()
        let out = file("page.png")
        try StrokeRenderer.renderPages(pages, to: out, options: options, paper: paper)
        if update {
            try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: snapshot("page.png"))
            try FileManager.default.copyItem(atPath: out, toPath: snapshot("page.png").path)
            return
        }
        let got = try RasterImage.readPNG(out), want = try RasterImage.readPNG(snapshot("page.png").path)
        XCTAssertEqual(got.width, want.width, "width")
        XCTAssertEqual(got.height, want.height, "height")
        guard got.width == want.width, got.height == want.height else { return }
        // A pixel differs when a channel moves by more than 24/255; up to 0.2% of them may (anti-aliased edges).
        let differing = Self.differing(got, want)
        let share = Double(differing) / Double(got.pixels.count)
        XCTAssertLessThanOrEqual(share, 0.002, "\(differing) of \(got.pixels.count) pixels differ from PageSnapshots/page.png")
        // The snapshot has ink at all: the comparison would pass two blank pages.
        let inked = want.pixels.filter { $0.r < 0.5 }.count
        XCTAssertGreaterThan(inked, 300, "the snapshot page has ink")
        XCTAssertTrue(want.pixels.contains { $0.r > 0.5 && $0.g < 0.3 }, "the red line is red in the snapshot")
    }

    /// The tolerance is not so loose that a moved line passes: shifting the page's ink by 2 points fails it.
    func testAShiftedLineFailsTheComparison() throws {
        var (pages, options, paper) = try page()
        pages[0].lines[2] = pages[0].lines[2].map { $0.map { Point(x: $0.x + 2, y: $0.y) } }
        let out = file("shifted.png")
        try StrokeRenderer.renderPages(pages, to: out, options: options, paper: paper)
        guard !update else { return }
        let got = try RasterImage.readPNG(out), want = try RasterImage.readPNG(snapshot("page.png").path)
        let differing = Self.differing(got, want)
        XCTAssertGreaterThan(Double(differing) / Double(got.pixels.count), 0.002)
    }
}
