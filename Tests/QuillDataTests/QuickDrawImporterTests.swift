import XCTest
@testable import QuillData

final class QuickDrawImporterTests: XCTestCase {
    func testRawAndSimplified() throws {
        let dir = try TempDir()
        let raw = try dir.write("raw.ndjson", """
        {"word":"cat","countrycode":"VE","timestamp":"2017-03-02 23:25:10.07453 UTC","recognized":true,"key_id":"5201","drawing":[[[414.5,410.25],[437.5,433.0],[0,120]],[[1,2,3],[4,5,6],[130,150,170]]]}
        {"word":"cat","countrycode":"BR","recognized":false,"key_id":"77","drawing":[[[9],[8],[0]]]}
        """)  // no newline after the last record, as in the real raw file
        let r = try Importer.load(.quickdraw, inputs: [raw])
        XCTAssertEqual(r.samples.count, 2)
        let a = r.samples[0]
        XCTAssertEqual(a.id, "5201")
        XCTAssertEqual(a.text, "cat")
        XCTAssertEqual(a.writer, "VE")
        XCTAssertEqual(a.x, [414.5, 410.25, 1, 2, 3])
        XCTAssertEqual(a.y, [437.5, 433.0, 4, 5, 6])
        XCTAssertEqual(a.time, [0, 120, 130, 150, 170])
        XCTAssertEqual(a.strokeEnds, [2, 5])

        let simple = try dir.write("simple.ndjson", """
        {"word":"cat","key_id":"1","drawing":[[[130,113],[72,40]],[[76,28,7],[136,128,128]]]}

        """)
        let s = try Importer.load(.quickdraw, inputs: [simple]).samples[0]
        XCTAssertNil(s.time)
        XCTAssertEqual(s.x, [130, 113, 76, 28, 7])
        XCTAssertEqual(s.strokeEnds, [2, 5])
    }

    func testBadDrawings() throws {
        let dir = try TempDir()
        let mismatch = try dir.write("m.ndjson", #"{"key_id":"1","drawing":[[[1,2],[3]]]}"#)
        assertDatasetError(["m.ndjson:1:", "differ in length"]) { _ = try Importer.load(.quickdraw, inputs: [mismatch]) }
        let empty = try dir.write("e.ndjson", #"{"key_id":"1","drawing":[[[],[]]]}"#)
        assertDatasetError(["e.ndjson:1", "stroke 0 has no points"]) { _ = try Importer.load(.quickdraw, inputs: [empty]) }
        let shape = try dir.write("s.ndjson", #"{"key_id":"1","drawing":[[[1]]]}"#)
        assertDatasetError(["s.ndjson:1:", "found 1 lists"]) { _ = try Importer.load(.quickdraw, inputs: [shape]) }
        let none = try dir.write("n.ndjson", "\n\n" + #"{"key_id":"1"}"#)
        assertDatasetError(["n.ndjson:3", "drawing"]) { _ = try Importer.load(.quickdraw, inputs: [none]) }
        let cut = try dir.write("c.ndjson", #"{"key_id":"1","drawing":[[[1,2],[3,"#)
        assertDatasetError(["c.ndjson:1:", "unexpected end of input"]) { _ = try Importer.load(.quickdraw, inputs: [cut]) }
    }
}
