import XCTest
@testable import QuillData

/// Tests on the real files in ../shared/datasets; they skip, saying so, when the folder is absent.
final class SharedDataTests: XCTestCase {
    func testIAMOriginalFormsMatchTheJSONLines() throws {
        let root = try sharedDatasets("the IAM-OnDB original-format test")
        let xml = try Importer.load(.iamXML, inputs: [root + "/iam_ondb_original_samples"])
        XCTAssertEqual(xml.samples.count, 15)
        XCTAssertEqual(xml.samples.map(\.strokeCount), [31, 32, 29, 32, 29, 27, 37, 38, 43, 46, 38, 36, 47, 36, 27])
        XCTAssertEqual(xml.samples[0].text, "A MOVE to stop Mr . Gaitskell")
        XCTAssertTrue(xml.samples.allSatisfy { $0.text != nil })  // both LF and CRLF ascii files
        let jsonl = try Importer.load(.iamJSONL, inputs: [root + "/iam_ondb_lines/iam_ondb_lines.sample100.jsonl"])
        XCTAssertEqual(jsonl.samples.count, 100)
        let byID = Dictionary(uniqueKeysWithValues: jsonl.samples.map { ($0.id, $0) })
        var compared = 0
        for s in xml.samples {
            guard let j = byID[s.id] else { continue }
            XCTAssertEqual(s.x, j.x, s.id)
            XCTAssertEqual(s.y, j.y, s.id)
            XCTAssertEqual(s.strokeEnds, j.strokeEnds, s.id)
            XCTAssertEqual(s.text, j.text, s.id)
            compared += 1
        }
        XCTAssertGreaterThanOrEqual(compared, 6)
    }

    func testSample100PreparesAndRoundTrips() throws {
        let root = try sharedDatasets("the IAM-OnDB JSON-lines sample test")
        let imported = try Importer.load(.iamJSONL, inputs: [root + "/iam_ondb_lines/iam_ondb_lines.sample100.jsonl"])
        XCTAssertEqual(imported.samples.first?.id, "a01-000u-01")
        XCTAssertEqual(imported.samples.first?.x.first, 1073)
        let ds = try Preparer.prepare(imported, format: .iamJSONL, options: PreprocessOptions())
        XCTAssertEqual(ds.header.splitUsed, "source")
        let back = try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "memory")
        XCTAssertEqual(back, ds)
    }

    func testInkMLSamples() throws {
        let root = try sharedDatasets("the InkML sample test")
        let r = try Importer.load(.inkml, inputs: [root + "/inkml_samples"])
        XCTAssertEqual(r.samples.count, 17)
        let mfr = try XCTUnwrap(r.samples.first { $0.id == "MfrDB1843" })
        XCTAssertEqual(mfr.strokeCount, 23)
        XCTAssertEqual(mfr.pointCount, 889)
        XCTAssertNotNil(mfr.time)
        XCTAssertEqual(mfr.text, "$2 l o g ( x - 3 ) = l o g ( 5 - x )$")
        let adab = try XCTUnwrap(r.samples.first { $0.id == "1232450808149" })
        XCTAssertEqual(adab.text, "الزركين")
        XCTAssertNil(r.samples.first { $0.id == "RIT_2014_19" }?.text)
    }

    func testQuickDrawSamples() throws {
        let root = try sharedDatasets("the QuickDraw sample test")
        let raw = try Importer.load(.quickdraw, inputs: [root + "/quickdraw_ndjson_samples/raw"])
        let simple = try Importer.load(.quickdraw, inputs: [root + "/quickdraw_ndjson_samples/simplified"])
        XCTAssertEqual(raw.samples.count, 25)
        XCTAssertEqual(simple.samples.count, 25)
        XCTAssertEqual(raw.samples.map(\.id), simple.samples.map(\.id))
        XCTAssertTrue(raw.samples.allSatisfy { $0.time != nil })
        XCTAssertTrue(simple.samples.allSatisfy { $0.time == nil && $0.x.allSatisfy { (0...255).contains($0) } })
        XCTAssertEqual(raw.samples.map(\.pointCount).min(), 42)
        XCTAssertEqual(raw.samples.map(\.pointCount).max(), 605)
    }
}
