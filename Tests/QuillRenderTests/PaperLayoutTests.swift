import Foundation
import QuillData
import XCTest
@testable import QuillRender

/// Sheets of paper: sizes and lengths read, lines flowing onto further sheets inside the margins with one letter
/// size, alignment, ruling, and the files of a multi-page output.
final class PaperLayoutTests: RenderTestCase {
    func testSizesAndLengths() throws {
        let a4 = try XCTUnwrap(PaperSetup.size(named: "A4"))
        XCTAssertEqual(a4.width, 595.28, accuracy: 0.01)
        XCTAssertEqual(a4.height, 841.89, accuracy: 0.01)
        XCTAssertEqual(PaperSetup.size(named: "letter"), Size(width: 612, height: 792))
        XCTAssertEqual(PaperSetup.size(named: "8.5x11in"), Size(width: 612, height: 792))
        XCTAssertEqual(try XCTUnwrap(PaperSetup.size(named: "150x100mm")).height, 283.46, accuracy: 0.01)
        for bad in ["a6x1", "x100mm", "100x", "100x100", "0x100mm", "-5x100mm", "100x100km", "99999x1mm", "nanxnanmm"] {
            XCTAssertNil(PaperSetup.size(named: bad), bad)
        }
        XCTAssertEqual(try XCTUnwrap(PaperSetup.length("10")), 28.35, accuracy: 0.01)
        XCTAssertEqual(PaperSetup.length("0.5in"), 36)
        XCTAssertEqual(PaperSetup.length("36pt"), 36)
        XCTAssertNil(PaperSetup.length("ten mm"))
        XCTAssertNil(PaperSetup.length("infmm"))
        var setup = PaperSetup(size: Size(width: 100, height: 100))
        setup.margin = 50
        XCTAssertNotNil(setup.problem(lineHeight: 10))
        setup.margin = 10
        XCTAssertNil(setup.problem(lineHeight: 10))
        XCTAssertNotNil(setup.problem(lineHeight: 90))
        XCTAssertEqual(StrokeRenderer.pagePath("/a/page.png", page: 1, of: 3), "/a/page-2.png")
        XCTAssertEqual(StrokeRenderer.pagePath("/a/page.png", page: 0, of: 1), "/a/page.png")
    }

    /// Ten lines, one of them blank and one much wider than the rest, on a small sheet.
    func lines() -> [[Stroke]] {
        (0..<10).map { i -> [Stroke] in
            if i == 4 { return [] }
            let length = i == 7 ? 400.0 : 60 + Double(i) * 5
            return [[Point(x: 0, y: -8), Point(x: length / 2, y: 8), Point(x: length, y: 0)], [Point(x: 3, y: -12)]]
        }
    }

    /// `minimumBand` widens the shared band where the ink does not reach: a dot is drawn at the band's scale, not
    /// blown up to fill its slot; a band the ink already covers changes nothing.
    func testTheMinimumBandKeepsADotSmall() throws {
        let dot: [[Stroke]] = [[[Point(x: 0, y: 0.4), Point(x: 0.2, y: 0.5)]]]
        var options = PageOptions()
        options.lineHeight = 40
        options.sharedLineBand = true
        options.minimumBand = -5...5
        let placed = try StrokeRenderer.place(lines: dot, options: options, what: "t")
        XCTAssertEqual(placed.layout.lines[0].transform.scale, 4, accuracy: 1e-12, "40 points for a band 10 tall")
        let word: [[Stroke]] = [[[Point(x: 0, y: -8), Point(x: 30, y: 9)]]]
        let wide = try StrokeRenderer.place(lines: word, options: options, what: "t")
        options.minimumBand = nil
        XCTAssertEqual(wide, try StrokeRenderer.place(lines: word, options: options, what: "t"))
        XCTAssertEqual(try StrokeRenderer.place(lines: dot, options: options, what: "t").layout.lines[0].transform.scale,
                       400, accuracy: 1e-9, "without it the dot fills the slot")
    }

    func testLinesFlowOntoSheetsInsideTheMarginsWithOneLetterSize() throws {
        var paper = PaperSetup(size: Size(width: 300, height: 120))
        paper.margin = 20
        paper.alignment = .right
        paper.ruling = .ruled
        var options = PageOptions()
        options.lineHeight = 30
        options.sharedLineBand = true
        let pages = try StrokeRenderer.placePages(lines: lines(), options: options, paper: paper, baseline: 8, what: "t")
        XCTAssertGreaterThan(pages.count, 1)
        XCTAssertEqual(pages.map(\.lines.count).reduce(0, +), 10)
        XCTAssertEqual(pages.map(\.firstLine), pages.indices.map { $0 * pages[0].lines.count })
        let scales = Set(pages.flatMap { $0.layout.lines.map(\.transform.scale) })
        XCTAssertEqual(scales.count, 1, "one letter size: \(scales)")
        for page in pages {
            XCTAssertEqual(page.size, paper.size)
            for line in page.lines where !line.isEmpty {
                let b = try XCTUnwrap(Rect.bounding(strokes: line))
                XCTAssertGreaterThanOrEqual(b.minX, paper.margin - 1e-9)
                XCTAssertEqual(b.maxX, paper.size.width - paper.margin, accuracy: 1e-9, "right-aligned")
                XCTAssertGreaterThanOrEqual(b.minY, paper.margin - 1e-9)
                XCTAssertLessThanOrEqual(b.maxY, paper.size.height - paper.margin + 1e-9)
            }
            XCTAssertFalse(page.rules.isEmpty)
            XCTAssertTrue(page.rules.allSatisfy { $0 > paper.margin && $0 < paper.size.height - paper.margin }, "\(page.rules)")
        }
        // The widest line fills the text width exactly.
        let widest = try XCTUnwrap(pages.flatMap(\.lines).compactMap { Rect.bounding(strokes: $0)?.width }.max())
        XCTAssertEqual(widest, paper.size.width - 2 * paper.margin, accuracy: 1e-9)
    }

    /// When every line is too wide for the sheet, all of them are drawn as small as the widest needs, not each at
    /// its own width (a new-user try saw one long line at half the size of its neighbours on --page a5).
    func testEveryLineTooWideKeepsOneLetterSize() throws {
        var paper = PaperSetup(size: Size(width: 300, height: 400))
        paper.margin = 20
        var options = PageOptions()
        options.lineHeight = 30
        options.sharedLineBand = true
        let lines: [[Stroke]] = [500.0, 900, 600].map { length in
            [[Point(x: 0, y: -8), Point(x: length / 2, y: 8), Point(x: length, y: 0)]]
        }
        let pages = try StrokeRenderer.placePages(lines: lines, options: options, paper: paper, baseline: 8, what: "t")
        let scales = pages.flatMap { $0.layout.lines.map(\.transform.scale) }
        XCTAssertEqual(scales.count, 3)
        for s in scales { XCTAssertEqual(s, scales[1], accuracy: 1e-12 * scales[1], "one letter size: \(scales)") }
        let widths = pages.flatMap(\.lines).compactMap { Rect.bounding(strokes: $0)?.width }
        XCTAssertEqual(try XCTUnwrap(widths.max()), paper.size.width - 2 * paper.margin, accuracy: 1e-9)
    }

    func testMultiPageFiles() throws {
        var paper = PaperSetup(size: Size(width: 300, height: 120))
        paper.margin = 20
        paper.ruling = .squared
        var options = PageOptions()
        options.lineHeight = 30
        let pages = try StrokeRenderer.placePages(lines: lines(), options: options, paper: paper, baseline: 8, what: "t")
        let pdf = try StrokeRenderer.renderPages(pages, to: file("p.pdf"), options: options, paper: paper)
        XCTAssertEqual(pdf, [file("p.pdf")])
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file("p.pdf"))), as: UTF8.self)
        XCTAssertEqual(text.components(separatedBy: "/Type /Page\n").count - 1 + text.components(separatedBy: "/Type /Page ").count - 1
                       + text.components(separatedBy: "/Type /Page>").count - 1, pages.count, "pages in the PDF")
        let pngs = try StrokeRenderer.renderPages(pages, to: file("p.png"), options: options, paper: paper)
        XCTAssertEqual(pngs, pages.indices.map { file("p-\($0 + 1).png") })
        XCTAssertEqual(try listing(), (["p.pdf"] + pages.indices.map { "p-\($0 + 1).png" }).sorted())
    }

    /// The numbered pages an earlier, longer run left: never the output just written, and from NAME-1 on after a
    /// single page.
    func testStalePagesAreTheNumberedOnesBeyondThisRun() throws {
        let touch = { (name: String) in FileManager.default.createFile(atPath: self.file(name), contents: Data("x".utf8)) }
        touch("p.png")
        XCTAssertEqual(StrokeRenderer.stalePages(file("p.png"), after: 1), [], "a lone page is not stale")
        for k in 1...3 { touch("p-\(k).png") }
        XCTAssertEqual(StrokeRenderer.stalePages(file("p.png"), after: 1), (1...3).map { file("p-\($0).png") })
        XCTAssertEqual(StrokeRenderer.stalePages(file("p.png"), after: 2), [file("p-3.png")])
        XCTAssertEqual(StrokeRenderer.stalePages(file("p.png"), after: 3), [])
    }
}
