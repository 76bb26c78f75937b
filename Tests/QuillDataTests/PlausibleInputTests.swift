import XCTest
@testable import QuillData

/// Values that parse but cannot be meant: hexadecimal or named numbers, statistics and offsets far outside any
/// real data, control characters in transcriptions, and invisible characters in text to write.
final class PlausibleInputTests: XCTestCase {
    func testDecimalTextIsStrict() {
        for (text, value) in [("12", 12.0), ("-3.5", -3.5), ("+7", 7), (".5", 0.5), ("7.", 7), ("1e-3", 1e-3),
                              ("2E+4", 2e4), ("0", 0), ("-0.0", 0)] {
            XCTAssertEqual(DecimalText.double(text), value, text)
        }
        for text in ["0x10", "0X1p4", "nan", "NaN", "inf", "-infinity", "", "-", ".", "1e", "1e+", " 1", "1 ", "1,5",
                     "١٢", "1_000", "e5", "--1", "1.2.3"] {
            XCTAssertNil(DecimalText.double(text), text)
        }
        XCTAssertEqual(DecimalText.double("1e999"), .infinity)  // callers bound the value
        XCTAssertEqual(DecimalText.double("12"[...]), 12)
    }

    func testIAMXMLRefusesHexAndNamedNumbers() throws {
        let dir = try TempDir()
        try dir.write("ascii/a01/a01-000/a01-000x.txt", "CSR:\n\na\n")
        for value in ["0x10", "inf", "1e", "0x1p3"] {
            try dir.write("lineStrokes/a01/a01-000/a01-000x-01.xml", """
            <WhiteboardCaptureSession><StrokeSet>
            <Stroke><Point x="\(value)" y="2" time="0"/></Stroke>
            </StrokeSet></WhiteboardCaptureSession>
            """)
            assertDatasetError(["a01-000x-01.xml:2", "needs decimal x and y", "x=\(value)"]) {
                _ = try Importer.load(.iamXML, inputs: [dir.path])
            }
        }
    }

    func testInkMLRefusesHexAndSplitsCRLFTraces() throws {
        let dir = try TempDir()
        func inkml(_ trace: String) -> String {
            """
            <ink xmlns="http://www.w3.org/2003/InkML"><traceFormat><channel name="X"/><channel name="Y"/></traceFormat>
            <trace>\(trace)</trace></ink>
            """
        }
        let hex = try dir.write("hex.inkml", inkml("0x10 2, 3 4"))
        assertDatasetError(["hex.inkml", "'0x10' is not a number"]) { _ = try InkMLImporter.load(path: hex) }
        let named = try dir.write("nan.inkml", inkml("1 2, nan 4"))
        assertDatasetError(["nan.inkml", "'nan' is not a number"]) { _ = try InkMLImporter.load(path: named) }
        // "\r\n" is one Character in Swift: a trace broken over CRLF lines still splits into its values.
        let crlf = try dir.write("crlf.inkml", Data(inkml("1\r\n2, 3\r\n4").utf8))
        let s = try InkMLImporter.load(path: crlf)
        XCTAssertEqual(s.x, [1, 3])
        XCTAssertEqual(s.y, [2, 4])
    }

    /// Transcriptions with NUL, ESC, DEL, C1 controls or bidi overrides are refused at import, naming the record and
    /// the code point, in every importer (the shared `HandwritingSample.validate`).
    func testControlCharactersInTranscriptionsAreRefused() throws {
        let dir = try TempDir()
        for (escaped, code) in [("\\u0000", "U+0000"), ("\\u001b[2J", "U+001B"), ("a\\u202eb", "U+202E"),
                                ("\\u007f", "U+007F"), ("x\\u0085", "U+0085"), ("\\u2066", "U+2066")] {
            let path = try dir.write("c.jsonl", """
            {"id":"ok","origin":[0,0],"points":[[0,0,0],[1,1,1]],"text":"fine\\ttext"}
            {"id":"bad","origin":[0,0],"points":[[0,0,0],[1,1,1]],"text":"\(escaped)"}
            """)
            assertDatasetError(["c.jsonl:2", "sample bad", code, "control or bidirectional-override"]) {
                _ = try Importer.load(.iamJSONL, inputs: [path])
            }
            let kept = try Importer.load(.iamJSONL, inputs: [path], skipInvalid: true)
            XCTAssertEqual(kept.samples.map(\.id), ["ok"])
        }
        // The same rule through InkML (its own entry point).
        let ink = try dir.write("esc.inkml", """
        <ink xmlns="http://www.w3.org/2003/InkML"><traceFormat><channel name="X"/><channel name="Y"/></traceFormat>
        <annotation type="truth">a\u{202E}b</annotation><trace>1 2, 3 4</trace></ink>
        """)
        assertDatasetError(["esc.inkml", "U+202E"]) { _ = try InkMLImporter.load(path: ink) }
        // No raw control character reaches the message.
        do { _ = try InkMLImporter.load(path: ink) } catch {
            XCTAssertFalse("\(error)".unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == "\u{202E}" })
        }
    }

    func testStatisticsMustBePlausible() {
        XCTAssertNil(OffsetStatistics(meanDx: 15.6, meanDy: 0.2, stdDx: 59.6, stdDy: 57.4).problem())  // IAM-OnDB
        XCTAssertNil(OffsetStatistics.identity.problem())
        for (st, fragment) in [
            (OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1e-300, stdDy: 1), "implausible standard deviation"),
            (OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1e30), "implausible standard deviation"),
            (OffsetStatistics(meanDx: 3e38, meanDy: 0, stdDx: 1, stdDy: 1), "implausible mean"),
            (OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 0, stdDy: 1), "not positive"),
            (OffsetStatistics(meanDx: .nan, meanDy: 0, stdDx: 1, stdDy: 1), "not finite"),
        ] {
            XCTAssertTrue(st.problem()?.contains(fragment) ?? false, "\(st): \(st.problem() ?? "nil")")
        }
        // Measured statistics never fall below the range: a deviation under it is replaced by 1, like zero.
        let flat = OffsetSequence(originX: 0, originY: 0, dx: [0, 1, 1 + 1e-9, 1], dy: [0, 2, 2, 2], eos: [0, 0, 0, 1])
        let m = OffsetStatistics.measure([flat])
        XCTAssertEqual(m.stdDx, 1)
        XCTAssertEqual(m.stdDy, 1)
        XCTAssertNil(m.problem())
    }

    func makeDataset() throws -> PreparedDataset {
        let samples = (0..<4).map { k in
            HandwritingSample(id: "s\(k)", strokes: [(0..<5).map { Point(Double($0 * 3 + k), Double($0)) }], text: "ab")
        }
        return try Preparer.prepare(ImportResult(samples: samples), format: .quickdraw, options: PreprocessOptions())
    }

    /// A prepared file whose offsets are finite but far beyond any two importable coordinates (dx = 3e38), or whose
    /// header statistics are implausible, is refused.
    func testPreparedFilesWithAbsurdOffsetsOrStatisticsAreRefused() throws {
        var ds = try makeDataset()
        XCTAssertNoThrow(try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "ok.qds"))
        ds.samples[1].dx[2] = 3e38
        assertDatasetError(["big.qds", "sample 1, point 2", "beyond"]) {
            _ = try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "big.qds")
        }
        var tiny = try makeDataset()
        tiny.header.stats.stdDy = 1e-300
        assertDatasetError(["tiny.qds", "implausible standard deviation"]) {
            _ = try PreparedFormat.decode(try PreparedFormat.encode(tiny), file: "tiny.qds")
        }
    }

    /// Zero-width characters are dropped, as the README says; a text of nothing else says so.
    func testZeroWidthCharactersAreDropped() throws {
        let known = Alphabet(policy: .frequency(minCount: 1), symbols: Array("abc ".unicodeScalars))
        for c in ["\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{00AD}"] {
            XCTAssertEqual(try TextPreparation.checked("a\(c)b", alphabet: known).text, "ab", c)
            XCTAssertEqual(try TextPreparation.prepare("a\(c)b c", wrap: 60, alphabet: known).lines, ["ab c"], c)
        }
        XCTAssertEqual(try TextPreparation.checked("\u{200B}\u{200D}\u{FEFF}", alphabet: known).text, "")
        XCTAssertThrowsError(try TextPreparation.prepare("\u{200B}\u{200D}\u{FEFF}", wrap: 60, alphabet: known)) {
            XCTAssertTrue("\($0)".contains("nothing to write") && "\($0)".contains("invisible"), "\($0)")
        }
    }
}
