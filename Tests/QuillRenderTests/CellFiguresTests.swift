import Foundation
import XCTest
@testable import QuillRender

/// `quill char cells`' figures: line wrapping, the colour mapping, the HTML page and the image.
final class CellFiguresTests: RenderTestCase {
    func testLinesBreakAfterNewlinesAndAtTheColumnLimit() {
        let chars = Array("abcdefg\nhi\n\nxyz")
        XCTAssertEqual(CellFigures.lines(chars, columns: 5), [0..<5, 5..<8, 8..<11, 11..<12, 12..<15])
        XCTAssertEqual(CellFigures.lines(chars, columns: 100), [0..<8, 8..<11, 11..<12, 12..<15])
        XCTAssertEqual(CellFigures.lines([], columns: 5), [])
        XCTAssertEqual(CellFigures.lines(Array("abcd"), columns: 2), [0..<2, 2..<4])
    }

    func testColoringMapsTheRangeEndsAndMiddle() {
        let c = CellFigures.Coloring(range: -2...2)
        XCTAssertEqual(c.color(-2), Colormap.coolwarm.color(at: 0))
        XCTAssertEqual(c.color(2), Colormap.coolwarm.color(at: 1))
        XCTAssertEqual(c.color(0), Colormap.coolwarm.color(at: 0.5))
        XCTAssertEqual(c.color(9), Colormap.coolwarm.color(at: 1))
        let rows = [CellFigures.Row(label: "a", values: [0.5, -3, 1])]
        XCTAssertEqual(CellFigures.Coloring.range(for: rows, bounds: nil), -3...3)
        XCTAssertEqual(CellFigures.Coloring.range(for: rows, bounds: 0...1), 0...1)
        XCTAssertEqual(CellFigures.Coloring.range(for: [CellFigures.Row(label: "z", values: [0, 0])], bounds: nil), -1...1)
        let scaled = CellFigures.scaledPerRow(rows + [CellFigures.Row(label: "z", values: [0, 0])])
        XCTAssertEqual(scaled[0], CellFigures.Row(label: "a (÷ 3)", values: [0.5 / 3, -1, 1.0 / 3]))
        XCTAssertEqual(scaled[1], CellFigures.Row(label: "z", values: [0, 0]))
        XCTAssertEqual(Color.white.hexString, "#ffffff")
        XCTAssertEqual(Color(hex: 0x3b4cc0).hexString, "#3b4cc0")
    }

    func testHTMLIsOnePageOfEscapedColouredSpans() throws {
        let text = Array("a<b & \"c\"\n'd'")
        let values = text.indices.map { Double($0) / Double(text.count - 1) }
        let rows = [CellFigures.Row(label: "unit <1>", values: values), CellFigures.Row(label: "unit 2", values: values.reversed())]
        let page = try CellFigures.html(text: text, rows: rows, coloring: CellFigures.Coloring(range: 0...1),
                                        valueLabel: "cell state", title: "t & u")
        XCTAssertTrue(page.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(page.components(separatedBy: "<span style=\"background:").count - 1, 2 * text.count)
        XCTAssertTrue(page.contains(">&lt;</span>"))
        XCTAssertTrue(page.contains(">&amp;</span>"))
        XCTAssertTrue(page.contains(">&quot;</span>"))
        XCTAssertTrue(page.contains(">&#39;</span>"))
        XCTAssertTrue(page.contains(">↵\n</span>"))
        XCTAssertTrue(page.contains("<h2>unit &lt;1&gt;</h2>"))
        XCTAssertTrue(page.contains("<title>t &amp; u</title>"))
        XCTAssertFalse(page.contains("a<b") || page.contains(">\"c"), "unescaped text")
        // The first character has value 0 (the map's low end), the last 1 (its high end); a colour bar is there.
        XCTAssertTrue(page.contains("background:\(Colormap.coolwarm.color(at: 0).hexString);color:#fff\" title=\"0\">a</span>"))
        XCTAssertTrue(page.contains("linear-gradient(to right,"))
        // Self-contained: nothing is fetched.
        XCTAssertFalse(page.contains("src="))
        XCTAssertFalse(page.contains("href="))
        try CellFigures.writeHTML(text: text, rows: rows, coloring: CellFigures.Coloring(range: 0...1), valueLabel: "x",
                                  title: nil, to: file("cells.html"))
        XCTAssertEqual(try listing(), ["cells.html"])
    }

    func testImageIsDrawnAndMismatchedValuesAreRefused() throws {
        let text = Array(String(repeating: "the quick brown fox\n", count: 6))
        let rows = (0..<3).map { k in CellFigures.Row(label: "unit \(k)", values: text.indices.map { sin(Double($0 + k) / 5) }) }
        try CellFigures.draw(text: text, rows: rows, coloring: CellFigures.Coloring(range: -1...1), valueLabel: "hidden state",
                             title: "test", columns: 40, to: file("cells.png"))
        let image = try RasterImage.readPNG(file("cells.png"))
        XCTAssertGreaterThan(image.count(differingFrom: .white), 5000)
        try CellFigures.draw(text: text, rows: rows, coloring: CellFigures.Coloring(range: -1...1), valueLabel: "v",
                             title: nil, to: file("cells.svg"))
        XCTAssertEqual(try head(file("cells.svg"), 5), Array("<?xml".utf8))
        XCTAssertThrowsError(try CellFigures.draw(text: text, rows: [CellFigures.Row(label: "short", values: [1])],
                                                  coloring: CellFigures.Coloring(range: 0...1), valueLabel: "v", title: nil,
                                                  to: file("bad.png"))) {
            XCTAssertTrue("\($0)".contains("short has 1 values for 120 characters"), "\($0)")
        }
        XCTAssertThrowsError(try CellFigures.html(text: [], rows: rows, coloring: CellFigures.Coloring(range: 0...1),
                                                  valueLabel: "v", title: nil))
    }
}
