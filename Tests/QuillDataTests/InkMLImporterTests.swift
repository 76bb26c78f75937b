import XCTest
@testable import QuillData

final class InkMLImporterTests: XCTestCase {
    func testTracesChannelsGroupsAndTruth() throws {
        let dir = try TempDir()
        let path = try dir.write("eq.inkml", """
        <?xml version="1.0" encoding="utf-8"?>
        <ink xmlns="http://www.w3.org/2003/InkML">
          <traceFormat>
            <channel name="X" type="integer"/>
            <channel name="Y" type="integer"/>
            <channel name="T" type="integer"/>
          </traceFormat>
          <annotation type="truth">$x^2$</annotation>
          <annotation type="writer">W7</annotation>
          <trace id="0">10 20 0, 11 22 5,
            12 25 9</trace>
          <traceGroup xml:id="9">
            <annotation type="truth">Segmentation</annotation>
            <trace id="1">30.5 40 12</trace>
            <traceGroup><annotation type="truth">x</annotation><traceView traceDataRef="0"/></traceGroup>
          </traceGroup>
        </ink>
        """)
        let s = try InkMLImporter.load(path: path)
        XCTAssertEqual(s.id, "eq")
        XCTAssertEqual(s.text, "$x^2$")
        XCTAssertEqual(s.writer, "W7")
        XCTAssertEqual(s.x, [10, 11, 12, 30.5])
        XCTAssertEqual(s.y, [20, 22, 25, 40])
        XCTAssertEqual(s.time, [0, 5, 9, 12])
        XCTAssertEqual(s.strokeEnds, [3, 4])
    }

    func testChannelDefAndUPXLabel() throws {
        let dir = try TempDir()
        let path = try dir.write("w.inkml", """
        <?xml version="1.0" encoding="ASCII"?>\r
        <ink xmlns="http://www.w3.org/2003/InkML">\r
          <captureDevice><channelList><channelDef name="Y"/><channelDef name="X"/></channelList></captureDevice>\r
          <trace id="id001" type="penDown">1 2,3 4</trace>\r
        </ink>
        """)
        try dir.write("w.upx", """
        <UpxType xmlns="http://unipen.nici.ru.nl/upx"><hwData><hLevel level="Word" writerRef="id42">
        <label><alternate value="&#x627;&#x644; "/></label></hLevel></hwData></UpxType>
        """)
        let s = try InkMLImporter.load(path: path)
        XCTAssertEqual(s.x, [2, 4])  // channel order Y X
        XCTAssertEqual(s.y, [1, 3])
        XCTAssertEqual(s.text, "\u{627}\u{644}")
        XCTAssertEqual(s.writer, "id42")
        XCTAssertNil(s.time)
    }

    func testBadInkML() throws {
        let dir = try TempDir()
        let truncated = try dir.write("t.inkml", "<ink xmlns=\"http://www.w3.org/2003/InkML\">\n<trace>1 2, 3")
        assertDatasetError(["t.inkml:", "malformed XML"]) { _ = try InkMLImporter.load(path: truncated) }
        let empty = try dir.write("e.inkml", "<ink>\n<trace>1 2</trace>\n<trace> </trace>\n</ink>")
        assertDatasetError(["e.inkml:3", "stroke 1 has no points"]) { _ = try InkMLImporter.load(path: empty) }
        let noTraces = try dir.write("n.inkml", "<ink></ink>")
        assertDatasetError(["n.inkml", "<trace> (the file has no strokes)"]) { _ = try InkMLImporter.load(path: noTraces) }
        let word = try dir.write("w.inkml", "<ink>\n\n<trace>1 2, 3 four</trace></ink>")
        assertDatasetError(["w.inkml:3", "'four' is not a number"]) { _ = try InkMLImporter.load(path: word) }
        let diff = try dir.write("d.inkml", "<ink><trace>1 2, '1 '1</trace></ink>")
        assertDatasetError(["d.inkml:1", "difference-encoded"]) { _ = try InkMLImporter.load(path: diff) }
        // A declared entity's text would be dropped silently by Foundation's parser: refused, with its place.
        let entity = try dir.write("x.inkml", "<?xml version=\"1.0\"?>\n<!DOCTYPE ink [<!ENTITY nm \"hello\">]>\n<ink><annotation type=\"truth\">&nm;</annotation><trace>0 0, 1 1</trace></ink>")
        assertDatasetError(["x.inkml:2", "entity declaration"]) { _ = try InkMLImporter.load(path: entity) }
        let root = try dir.write("r.inkml", "<svg/>")
        assertDatasetError(["r.inkml", "expected <ink>"]) { _ = try InkMLImporter.load(path: root) }
        let inf = try dir.write("i.inkml", "<ink><trace>1 2, inf 3</trace></ink>")
        assertDatasetError(["i.inkml", "'inf' is not a number"]) { _ = try Importer.load(.inkml, inputs: [inf]) }
    }

    func testSkipInvalidOverFiles() throws {
        let dir = try TempDir()
        try dir.write("a.inkml", "<ink><trace>1 2, 3 4</trace></ink>")
        try dir.write("b.inkml", "<ink><trace>1 2, 3 4</trace>")
        let r = try Importer.load(.inkml, inputs: [dir.path], skipInvalid: true)
        XCTAssertEqual(r.samples.map(\.id), ["a"])
        XCTAssertEqual(r.skipped.count, 1)
        XCTAssertTrue(r.skipped[0].description.contains("b.inkml"))
    }

    /// When --skip-invalid skipped every sample, the error says why the first was skipped.
    func testAllSkippedSaysWhy() throws {
        let dir = try TempDir()
        try dir.write("b.inkml", "<ink><trace>1 2, 3 4</trace>")
        let r = try Importer.load(.inkml, inputs: [dir.path], skipInvalid: true)
        assertDatasetError(["all 1 samples were invalid; the first: ", "b.inkml"]) {
            _ = try Preparer.prepare(r, format: .inkml, options: PreprocessOptions())
        }
    }
}
