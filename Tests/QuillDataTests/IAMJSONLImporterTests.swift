import XCTest
@testable import QuillData

final class IAMJSONLImporterTests: XCTestCase {
    static let good = """
    {"id":"a01-000u-01","form":"a01-000u","line":1,"writer":null,"split_graves":"train","text":"A MOVE","text_xml":null,"origin":[1073,1058],"points":[[0,0,0],[-1,27,0],[-6,32,1],[100,-5,0],[2,2,1]]}
    {"points":[[0,0,0],[3,4,1]],"origin":[5,6],"extra":{"nested":[1,2,{"k":null}],"f":1.5e3},"text":"caf\\u00e9 \\"x\\"","split_graves":"valid","id":"b","writer":"10028"}

    {"id":"c","writer":null,"split_graves":null,"text":null,"origin":[0,0],"points":[[0,0,1]]}
    """

    func testParsesRecordsInAnyKeyOrder() throws {
        let dir = try TempDir()
        let path = try dir.write("lines.jsonl", Self.good)
        let r = try Importer.load(.iamJSONL, inputs: [path])
        XCTAssertEqual(r.samples.count, 3)
        let a = r.samples[0]
        XCTAssertEqual(a.id, "a01-000u-01")
        XCTAssertEqual(a.text, "A MOVE")
        XCTAssertNil(a.writer)
        XCTAssertEqual(a.split, .train)
        XCTAssertEqual(a.x, [1073, 1072, 1066, 1166, 1168])
        XCTAssertEqual(a.y, [1058, 1085, 1117, 1112, 1114])
        XCTAssertEqual(a.strokeEnds, [3, 5])
        let b = r.samples[1]
        XCTAssertEqual(b.text, "café \"x\"")
        XCTAssertEqual(b.writer, "10028")
        XCTAssertEqual(b.split, .validation)
        XCTAssertEqual(b.x, [5, 8])
        XCTAssertEqual(b.y, [6, 10])
        XCTAssertNil(r.samples[2].text)
        XCTAssertEqual(r.samples[2].split, .unassigned)
    }

    /// `quill bench import`: the best of the runs, reloaded, and the scratch file removed.
    func testImportBenchmark() throws {
        let dir = try TempDir()
        let path = try dir.write("lines.jsonl", Self.good)
        let scratch = dir.file("scratch.qds")
        let bench = try ImportPipeline.benchmark(jsonl: path, repeats: 2, scratch: scratch)
        XCTAssertEqual(bench.best.dataset.samples.count, 3)
        XCTAssertEqual(bench.points, 8)
        XCTAssertEqual(bench.repeats, 2)
        XCTAssertTrue(bench.loadSeconds.isFinite && bench.loadSeconds >= 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch))
    }

    func testSpacedAndFractionalRowsTakeTheGeneralPath() throws {
        let dir = try TempDir()
        let path = try dir.write("spaced.jsonl", """
        {"id": "s", "origin": [0.5, 1], "points": [ [0, 0, 0] , [1.25, -2e0, 1], [3,4,0],[5,6,1] ]}
        {"id":"t","origin":[0,0],"points":[[0,0,0],[-12,7,1],[3,4,0],[5,6,1]]}
        """)
        let r = try Importer.load(.iamJSONL, inputs: [path])
        XCTAssertEqual(r.samples[0].x, [0.5, 1.75, 4.75, 9.75])
        XCTAssertEqual(r.samples[0].y, [1, -1, 3, 9])
        XCTAssertEqual(r.samples[0].strokeEnds, [2, 4])
        XCTAssertEqual(r.samples[1].x, [0, -12, -9, -4])
        XCTAssertEqual(r.samples[1].strokeEnds, [2, 4])
    }

    func testOffsetsMatchTheSourceRows() throws {
        let dir = try TempDir()
        let path = try dir.write("lines.jsonl", Self.good)
        let a = try Importer.load(.iamJSONL, inputs: [path]).samples[0].offsets()
        XCTAssertEqual(a.dx, [0, -1, -6, 100, 2])
        XCTAssertEqual(a.dy, [0, 27, 32, -5, 2])
        XCTAssertEqual(a.eos, [0, 0, 1, 0, 1])
    }

    func testMalformedJSONNamesFileLineAndColumn() throws {
        let dir = try TempDir()
        let path = try dir.write("bad.jsonl", """
        {"id":"a","origin":[0,0],"points":[[0,0,1]]}
        {"id":"b","origin":[0,0],"points":[[0,0,1],[1,x,1]]}
        """)
        assertDatasetError(["bad.jsonl:2:47", "expected a number"]) {
            _ = try Importer.load(.iamJSONL, inputs: [path])
        }
    }

    func testTruncatedRecordIsAnError() throws {
        let dir = try TempDir()
        let path = try dir.write("cut.jsonl", #"{"id":"a","origin":[0,0],"points":[[0,0,0],[1,2"#)
        assertDatasetError(["cut.jsonl:1:", "unexpected end of input"]) {
            _ = try Importer.load(.iamJSONL, inputs: [path])
        }
    }

    func testMissingFieldsAndBadValues() throws {
        let dir = try TempDir()
        let noPoints = try dir.write("a.jsonl", #"{"id":"a","origin":[0,0]}"#)
        assertDatasetError(["a.jsonl:1", "points"]) { _ = try Importer.load(.iamJSONL, inputs: [noPoints]) }
        let badEos = try dir.write("b.jsonl", #"{"id":"a","origin":[0,0],"points":[[0,0,2]]}"#)
        assertDatasetError(["b.jsonl:1:", "eos must be 0 or 1"]) { _ = try Importer.load(.iamJSONL, inputs: [badEos]) }
        let empty = try dir.write("c.jsonl", #"{"id":"a","origin":[0,0],"points":[]}"#)
        assertDatasetError(["c.jsonl:1:", "no points"]) { _ = try Importer.load(.iamJSONL, inputs: [empty]) }
        let absurd = try dir.write("d.jsonl", #"{"id":"a","origin":[0,0],"points":[[0,0,0],[1e300,0,1]]}"#)
        assertDatasetError(["d.jsonl:1:", "bad coordinate", "point 1"]) {
            _ = try Importer.load(.iamJSONL, inputs: [absurd])
        }
        let trailing = try dir.write("e.jsonl", #"{"id":"a","origin":[0,0],"points":[[0,0,1]]} x"#)
        assertDatasetError(["e.jsonl:1:46", "after the end"]) { _ = try Importer.load(.iamJSONL, inputs: [trailing]) }
    }

    func testSkipInvalidKeepsGoodRecordsAndSaysWhy() throws {
        let dir = try TempDir()
        let path = try dir.write("mixed.jsonl", """
        {"id":"a","origin":[0,0],"points":[[0,0,1]]}
        {"id":"b","origin":[0,0],"points":[[0,0,1],[1,
        {"id":"c","origin":[0,0],"points":[]}
        {"id":"d","origin":[0,0],"points":[[0,0,1]]}
        """)
        let r = try Importer.load(.iamJSONL, inputs: [path], skipInvalid: true)
        XCTAssertEqual(r.samples.map(\.id), ["a", "d"])
        XCTAssertEqual(r.skipped.count, 2)
        XCTAssertTrue(r.skipped[0].description.contains("mixed.jsonl:2:"))
        XCTAssertTrue(r.skippedSummary().contains("skipped 2"))
    }

    func testMissingFileIsAnIOError() {
        assertDatasetError(["/no/such/file.jsonl", "no such file"]) {
            _ = try Importer.load(.iamJSONL, inputs: ["/no/such/file.jsonl"])
        }
    }

    func testUnknownFormat() {
        assertDatasetError(["unknown format 'svg'", "iam-jsonl"]) { _ = try ImportFormat(name: "svg") }
    }
}
