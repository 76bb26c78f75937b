import XCTest
@testable import QuillData

/// Damaged input must give a DatasetError, never a crash: every truncation and many byte flips are tried.
final class RobustnessTests: XCTestCase {
    func testEveryTruncationOfAJSONRecordIsHandled() throws {
        let record = #"{"id":"a","writer":"7","split_graves":"train","text":"h\u00e9 \"q\"","origin":[3,4],"points":[[0,0,0],[1,-2,1],[3,4,1]],"x":[1.5e2,null,true]}"#
        let bytes = Array(record.utf8)
        var failures = 0
        for n in 0..<bytes.count {
            do {
                try Array(bytes.prefix(n)).withUnsafeBufferPointer { b in
                    var c = JSONCursor(bytes: b, start: 0, end: n, file: "f", line: 1)
                    _ = try IAMJSONLImporter.parseRecord(&c, source: "f")
                }
            } catch is DatasetError {
                failures += 1
            }
        }
        XCTAssertEqual(failures, bytes.count)  // every proper prefix is incomplete
    }

    func testByteFlipsInJSONRecordsNeverCrash() throws {
        let record = Array(#"{"id":"a","origin":[3,4],"points":[[0,0,0],[1,-2,1],[3,4,1]],"text":"abc"}"#.utf8)
        var rng = SystemRandomNumberGenerator()
        let junk: [UInt8] = Array("{}[],:\"\\-+.eE0123456789 nul".utf8) + [0x00, 0xFF, 0xC3]
        for _ in 0..<2000 {
            var b = record
            b[Int.random(in: 0..<b.count, using: &rng)] = junk.randomElement(using: &rng)!
            do {
                try b.withUnsafeBufferPointer { p in
                    var c = JSONCursor(bytes: p, start: 0, end: p.count, file: "f", line: 1)
                    try IAMJSONLImporter.parseRecord(&c, source: "f").validate()
                }
            } catch is DatasetError {}
        }
    }

    func testEveryTruncationOfAPreparedFileIsAnError() throws {
        let samples = (0..<4).map { k in
            HandwritingSample(id: "s\(k)", strokes: [[Point(0, 0), Point(Double(k), 1)], [Point(5, 5)]], text: "ab")
        }
        let data = try PreparedFormat.encode(try Preparer.prepare(ImportResult(samples: samples), format: .inkml,
                                                                  options: PreprocessOptions()))
        for n in stride(from: 0, to: data.count, by: 1) {
            XCTAssertThrowsError(try PreparedFormat.decode(data.prefix(n), file: "p.qds")) { error in
                XCTAssertTrue(error is DatasetError)
            }
        }
        XCTAssertNoThrow(try PreparedFormat.decode(data, file: "p.qds"))
    }
}
