import Foundation
import QuillData
import QuillIO
import XCTest
@testable import QuillRender

/// Each stroke export and plotter program read back or checked: InkML through the importer, JSON through
/// Foundation, the .npy header and values, one pen-down per stroke inside the page in G-code and HP-GL.
final class StrokeExportTests: RenderTestCase {
    /// Two lines and a blank one between them, in line coordinates (y down), with awkward coordinates.
    func page() throws -> (PlacedPage, [String?]) {
        let lines: [[Stroke]] = [
            [[Point(x: 0, y: 0), Point(x: 3.1, y: -2.25), Point(x: 6, y: 1.0 / 3)], [Point(x: 9, y: 0.5)]],
            [],
            [[Point(x: 40, y: 1), Point(x: 41, y: 7)], [Point(x: 1, y: 2), Point(x: 2, y: 3), Point(x: 0.1, y: 4)]],
        ]
        var options = PageOptions()
        options.sharedLineBand = true
        return (try StrokeRenderer.place(lines: lines, options: options, what: "test"), ["it's <one>", nil, "two & \"three\""])
    }

    func testInkMLReadsBackThroughTheImporterUnchanged() throws {
        let (page, texts) = try page()
        try StrokeExport.write(page, texts: texts, format: .inkml, to: file("p.inkml"))
        let sample = try InkMLImporter.load(path: file("p.inkml"))
        let strokes = Array(page.lines.joined())
        XCTAssertEqual(sample.strokeCount, strokes.count)
        XCTAssertEqual(sample.x, strokes.flatMap { $0.map(\.x) })
        XCTAssertEqual(sample.y, strokes.flatMap { $0.map(\.y) })
        XCTAssertEqual(sample.text, "it's <one>\ntwo & \"three\"")
        XCTAssertEqual(try listing(), ["p.inkml"])
    }

    func testJSONHoldsTheLinesTextsAndPoints() throws {
        struct Line: Decodable { var text: String?; var strokes: [[[Double]]] }
        struct Document: Decodable { var format: String; var units: String; var y: String; var page: [String: Double]; var lines: [Line] }
        let (page, texts) = try page()
        try StrokeExport.write(page, texts: texts, format: .json, to: file("p.json"))
        // JSONDecoder reads numbers exactly (JSONSerialization on Linux rounds some in the last digit).
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: URL(fileURLWithPath: file("p.json"))))
        XCTAssertEqual([document.format, document.units, document.y], ["quill-strokes", "pt", "down"])
        XCTAssertEqual(document.lines.map(\.text), texts)
        for (line, strokes) in zip(document.lines, page.lines) {
            XCTAssertEqual(line.strokes, strokes.map { $0.map { [$0.x, $0.y] } })
        }
        XCTAssertEqual(document.page, ["width": page.size.width, "height": page.size.height])
        // A blank line (no text) still has its "text" key, as null, as the HTTP API writes it.
        try StrokeExport.write(page, texts: [nil] + texts.dropFirst(), format: .json, to: file("b.json"))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file("b.json")))) as? [String: Any]
        let first = (object?["lines"] as? [[String: Any]])?.first
        XCTAssertTrue(first?.keys.contains("text") == true && first?["text"] is NSNull, "\(String(describing: first))")
    }

    func testNpyHeaderAndOffsets() throws {
        let (page, _) = try page()
        let data = StrokeExport.npy(page)
        XCTAssertEqual(Array(data.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (9, 3), }"), header)
        XCTAssertTrue(header.hasSuffix("\n"))
        let bytes = Array(data)
        var values: [Float] = []
        for i in stride(from: 10 + headerLength, to: bytes.count, by: 4) {
            var bits: UInt32 = 0
            for k in 0..<4 { bits |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
            values.append(Float(bitPattern: bits))
        }
        XCTAssertEqual(values.count, 27)
        // Summing the offsets gives the points back (to float32 rounding); the third column ends each stroke.
        var x = 0.0, y = 0.0, row = 0
        for stroke in page.lines.joined() {
            for (j, p) in stroke.enumerated() {
                x += Double(values[3 * row]); y += Double(values[3 * row + 1])
                XCTAssertEqual(x, p.x, accuracy: 1e-4); XCTAssertEqual(y, p.y, accuracy: 1e-4)
                XCTAssertEqual(values[3 * row + 2], j == stroke.count - 1 ? 1 : 0)
                row += 1
            }
        }
    }

    func testGcodeHasOnePenDownPerStrokeInsideThePage() throws {
        let (page, texts) = try page()
        let report = try StrokeExport.write(page, texts: texts, format: .gcode, to: file("p.gcode"))
        let text = try String(contentsOfFile: file("p.gcode"), encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "M3 S1000").count - 1, 4)
        XCTAssertEqual(text.components(separatedBy: "\nM5\n").count - 1, 5)  // up before the first stroke and after each
        let width = page.size.width * PlotterProgram.millimetresPerPoint
        let height = page.size.height * PlotterProgram.millimetresPerPoint
        for line in text.split(separator: "\n") where line.hasPrefix("G0 X") || line.hasPrefix("G1 X") {
            let fields = line.split(separator: " ")
            let x = try XCTUnwrap(Double(fields[1].dropFirst())), y = try XCTUnwrap(Double(fields[2].dropFirst()))
            XCTAssertTrue((0...width + 1e-3).contains(x) && (0...height + 1e-3).contains(y), String(line))
        }
        let travel = try XCTUnwrap(report.penUpTravel)
        XCTAssertLessThanOrEqual(travel.written, travel.sampled)
    }

    func testHPGLHasOnePenDownPerStrokeInsideThePage() throws {
        let (page, texts) = try page()
        try StrokeExport.write(page, texts: texts, format: .hpgl, to: file("p.hpgl"))
        let text = try String(contentsOfFile: file("p.hpgl"), encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("IN;SP1;"))
        XCTAssertEqual(text.components(separatedBy: "PD").count - 1, 4)
        let width = (page.size.width * PlotterProgram.millimetresPerPoint * 40).rounded()
        let height = (page.size.height * PlotterProgram.millimetresPerPoint * 40).rounded()
        for command in text.split(whereSeparator: { $0 == ";" || $0 == "\n" }) where command.hasPrefix("P") {
            let numbers = command.dropFirst(2).split(separator: ",").compactMap { Double($0) }
            XCTAssertEqual(numbers.count % 2, 0, String(command))
            for i in stride(from: 0, to: numbers.count - 1, by: 2) {
                XCTAssertTrue((0...width).contains(numbers[i]) && (0...height).contains(numbers[i + 1]), String(command))
            }
        }
    }

    /// Words split at the widest gaps; a stroke back over the ink (a t-cross) stays in its word.
    func testWordGroupsAndPlotterSVG() throws {
        func s(_ x0: Double, _ x1: Double) -> Stroke { [Point(x: x0, y: 0), Point(x: x1, y: 1)] }
        let strokes = [s(0, 5), s(6, 10), s(3, 8), s(20, 25), s(26, 30), s(45, 50)]
        let groups = StrokeExport.wordGroups(strokes, words: 3)
        XCTAssertEqual(groups.map(\.count), [3, 2, 1])
        XCTAssertEqual(StrokeExport.wordGroups(strokes, words: 1).map(\.count), [6])
        XCTAssertEqual(StrokeExport.wordGroups([s(0, 5), s(1, 2)], words: 4).map(\.count), [2])

        let (page, texts) = try page()
        let svg = StrokeExport.plotterSVG(page, texts: texts, style: StrokeStyle(width: 1))
        XCTAssertEqual(svg.components(separatedBy: "<path ").count - 1, page.lines.joined().count)
        XCTAssertFalse(svg.contains("<rect"))
        XCTAssertTrue(svg.contains("id=\"line-1-word-2\"") && svg.contains("id=\"line-3\"") && !svg.contains("id=\"line-2\""))
        XCTAssertTrue(svg.contains(String(format: "width=\"%.3fmm\"", page.size.width * 25.4 / 72)))
    }

    /// The greedy order is kept only when it travels less with the pen up; strokes are reordered, never reversed.
    func testNearestNeighbourOrderTravelsNoFurther() {
        let far = [Point(x: 100, y: 0), Point(x: 101, y: 0)], near = [Point(x: 1, y: 0), Point(x: 2, y: 0)]
        let mid = [Point(x: 50, y: 0), Point(x: 51, y: 0)]
        let sampled = [far, near, mid]
        let greedy = PlotterProgram.nearestNeighbourOrder(sampled)
        XCTAssertEqual(greedy, [near, mid, far])
        XCTAssertLessThan(PlotterProgram.penUpTravel(greedy), PlotterProgram.penUpTravel(sampled))
        XCTAssertEqual(PlotterProgram.penUpTravel(greedy), 1 + 48 + 49 + 101, accuracy: 1e-12)
    }

    func testBadPlotterOptionsAndEmptyPagesAreRefused() throws {
        var o = PlotterOptions()
        o.feedRate = 0
        XCTAssertNotNil(o.validate())
        o.feedRate = 1000; o.penDown = "M3\u{7}"
        XCTAssertNotNil(o.validate())
        o.penDown = "M3 S90\nG4 P0.2"
        XCTAssertNil(o.validate())
        let empty = PlacedPage(layout: PageLayout(size: Size(width: 10, height: 10), lines: []), lines: [[]])
        XCTAssertThrowsError(try StrokeExport.write(empty, texts: [nil], format: .json, to: file("e.json")))
        let (page, texts) = try page()
        XCTAssertThrowsError(try StrokeExport.write(page, texts: texts, format: .npy, to: file("missing/p.npy"))) {
            XCTAssertTrue($0 is FileSystemError, "\($0)")
        }
        XCTAssertEqual(try listing(), [])
    }
}
