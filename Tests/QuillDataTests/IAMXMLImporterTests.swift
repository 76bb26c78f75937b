import XCTest
@testable import QuillData

final class IAMXMLImporterTests: XCTestCase {
    static func lineXML(_ strokes: [[(Int, Int)]]) -> String {
        var s = """
        <?xml version="1.0" encoding="ISO-8859-1"?>\r
        <WhiteboardCaptureSession>
          <WhiteboardDescription>
            <SensorLocation corner="top_left"/>
          </WhiteboardDescription>
          <StrokeSet>

        """
        var t = 100.0
        for stroke in strokes {
            s += "    <Stroke colour=\"black\" start_time=\"1\" end_time=\"2\">\n"
            for p in stroke {
                s += "      <Point x=\"\(p.0)\" y=\"\(p.1)\" time=\"\(t)\"/>\n"
                t += 0.01
            }
            s += "    </Stroke>\n"
        }
        return s + "  </StrokeSet>\n</WhiteboardCaptureSession>\n"
    }

    /// A form with three line files and a transcription, in the distributed layout.
    func makeForm(_ dir: TempDir, ascii: String, lines: Int = 3) throws {
        for n in 1...lines {
            try dir.write("lineStrokes/a01/a01-000/a01-000x-0\(n).xml",
                          Self.lineXML([[(n, 10), (n + 1, 12)], [(50, 60)]]))
        }
        try dir.write("ascii/a01/a01-000/a01-000x.txt", ascii)
    }

    func testReadsStrokesAndTextWithLF() throws {
        let dir = try TempDir()
        try makeForm(dir, ascii: "OCR:\n\nprompt text\n\nCSR:\n\nfirst line\nsecond line\nthird line\n")
        let r = try Importer.load(.iamXML, inputs: [dir.path])
        XCTAssertEqual(r.samples.map(\.id), ["a01-000x-01", "a01-000x-02", "a01-000x-03"])
        XCTAssertEqual(r.samples.map(\.text), ["first line", "second line", "third line"])
        let s = r.samples[1]
        XCTAssertEqual(s.x, [2, 3, 50])
        XCTAssertEqual(s.y, [10, 12, 60])
        XCTAssertEqual(s.strokeEnds, [2, 3])
        XCTAssertEqual(s.time?.count, 3)
    }

    func testCRLFAndFewerTranscriptionLinesThanFiles() throws {
        let dir = try TempDir()
        try makeForm(dir, ascii: "OCR:\r\n\r\nCSR:\r\n\r\nonly \"one\"\r\nand two\r\n", lines: 3)
        let r = try Importer.load(.iamXML, inputs: [dir.file("lineStrokes")])
        XCTAssertEqual(r.samples.map(\.text), ["only \"one\"", "and two", nil])
        XCTAssertEqual(r.notes.count, 1)
        XCTAssertTrue(r.notes[0].contains("a01-000x-03.xml"))
    }

    func testAsciiRootOption() throws {
        let dir = try TempDir()
        try dir.write("strokes/lineStrokes/a01/a01-000/a01-000x-01.xml", Self.lineXML([[(1, 1), (2, 2)]]))
        try dir.write("text/a01/a01-000/a01-000x.txt", "CSR:\n\nhello\n")
        let r = try Importer.load(.iamXML, inputs: [dir.file("strokes")], asciiRoot: dir.file("text"))
        XCTAssertEqual(r.samples.first?.text, "hello")
    }

    func testMissingTranscriptionFile() throws {
        let dir = try TempDir()
        try dir.write("lineStrokes/a01/a01-000/a01-000x-01.xml", Self.lineXML([[(1, 1)]]))
        assertDatasetError(["a01-000x-01.xml", "no transcription file", "ascii/a01/a01-000/a01-000x.txt"]) {
            _ = try Importer.load(.iamXML, inputs: [dir.path])
        }
        let r = try Importer.load(.iamXML, inputs: [dir.path], skipInvalid: true)
        XCTAssertEqual(r.samples.count, 0)
        XCTAssertEqual(r.skipped.count, 1)
    }

    func testTruncatedXMLNamesFileAndLine() throws {
        let dir = try TempDir()
        try makeForm(dir, ascii: "CSR:\n\na\nb\nc\n", lines: 1)
        let full = Self.lineXML([[(1, 1), (2, 2)], [(3, 3)]])
        try dir.write("lineStrokes/a01/a01-000/a01-000x-02.xml", String(full.prefix(full.count - 60)))
        assertDatasetError(["a01-000x-02.xml:", "malformed XML"]) {
            _ = try Importer.load(.iamXML, inputs: [dir.path])
        }
        let r = try Importer.load(.iamXML, inputs: [dir.path], skipInvalid: true)
        XCTAssertEqual(r.samples.map(\.id), ["a01-000x-01"])
    }

    func testEmptyStrokeAndBadCoordinate() throws {
        let dir = try TempDir()
        try dir.write("ascii/a01/a01-000/a01-000x.txt", "CSR:\n\na\nb\n")
        try dir.write("lineStrokes/a01/a01-000/a01-000x-01.xml", """
        <WhiteboardCaptureSession><StrokeSet>
        <Stroke><Point x="1" y="2" time="0"/></Stroke>
        <Stroke></Stroke>
        </StrokeSet></WhiteboardCaptureSession>
        """)
        assertDatasetError(["a01-000x-01.xml:3", "stroke 1 has no points"]) {
            _ = try Importer.load(.iamXML, inputs: [dir.path])
        }
        try dir.write("lineStrokes/a01/a01-000/a01-000x-01.xml", """
        <WhiteboardCaptureSession><StrokeSet>
        <Stroke><Point x="1" y="abc" time="0"/></Stroke>
        </StrokeSet></WhiteboardCaptureSession>
        """)
        assertDatasetError(["a01-000x-01.xml:2", "bad coordinate"]) {
            _ = try Importer.load(.iamXML, inputs: [dir.path])
        }
        try dir.write("lineStrokes/a01/a01-000/a01-000x-01.xml", """
        <WhiteboardCaptureSession><StrokeSet>
        <Stroke><Point x="1" y="nan" time="0"/></Stroke>
        </StrokeSet></WhiteboardCaptureSession>
        """)
        assertDatasetError(["a01-000x-01.xml", "needs decimal x and y", "y=nan"]) {
            _ = try Importer.load(.iamXML, inputs: [dir.path])
        }
    }

    func testCSRLines() throws {
        XCTAssertEqual(try IAMXMLImporter.csrLines(text: "OCR:\n\nx y\n\nCSR:\n\n a \n\nb\n", file: "f"), ["a", "b"])
        assertDatasetError(["f.txt", "no 'CSR:' line"]) { _ = try IAMXMLImporter.csrLines(text: "hello", file: "f.txt") }
    }
}
