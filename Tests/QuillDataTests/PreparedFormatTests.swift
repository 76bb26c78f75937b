import XCTest
@testable import QuillData

final class PreparedFormatTests: XCTestCase {
    func makeDataset() throws -> PreparedDataset {
        var samples = [HandwritingSample]()
        for k in 0..<12 {
            var s = HandwritingSample(id: "id-\(k)", strokes: [(0..<(3 + k)).map { Point(Double($0 * 3 + k), Double($0)) },
                                                              [Point(40, 2)]],
                                      text: k == 3 ? nil : "héllo \(k)")
            s.writer = k % 2 == 0 ? "w\(k)" : nil
            samples.append(s)
        }
        var o = PreprocessOptions()
        o.alphabet = .frequency(minCount: 2)
        return try Preparer.prepare(ImportResult(samples: samples), format: .quickdraw, options: o)
    }

    func testRoundTrip() throws {
        let ds = try makeDataset()
        let dir = try TempDir()
        let path = dir.file("d.qds")
        try PreparedFormat.write(ds, to: path)
        let back = try PreparedFormat.load(path: path)
        XCTAssertEqual(back, ds)
        XCTAssertEqual(back.samples[3].text, nil)
        XCTAssertEqual(back.samples[2].writer, "w2")
        XCTAssertEqual(back.samples[1].writer, nil)
        XCTAssertEqual(back.header.options, ds.header.options)
        XCTAssertEqual(back.alphabet.encode("héllo"), ds.alphabet.encode("héllo"))
        let rows = back.samples[0].interleavedRows()
        XCTAssertEqual(rows.count, 3 * back.samples[0].count)
        XCTAssertEqual(Array(rows[3..<6]), [back.samples[0].dx[1], back.samples[0].dy[1], Float(back.samples[0].eos[1])])
        // No temporary file is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["d.qds"])
    }

    func testHeaderLayout() throws {
        let data = try PreparedFormat.encode(try makeDataset())
        XCTAssertEqual(Array(data.prefix(8)), Array("QUILLDS\0".utf8))
        XCTAssertEqual(data[8], 1)  // version 1, little-endian
        XCTAssertEqual(data[16], 12)  // sample count
        let total = data[56..<64].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        XCTAssertEqual(total, UInt64(data.count))
    }

    func testCorruptAndTruncatedFiles() throws {
        let good = try PreparedFormat.encode(try makeDataset())
        assertDatasetError(["x.qds", "truncated"]) { _ = try PreparedFormat.decode(good.prefix(good.count - 5), file: "x.qds") }
        assertDatasetError(["x.qds", "shorter than the 64-byte header"]) {
            _ = try PreparedFormat.decode(good.prefix(10), file: "x.qds")
        }
        var flipped = good
        flipped[good.count - 20] ^= 0xFF
        assertDatasetError(["x.qds", "checksum mismatch"]) { _ = try PreparedFormat.decode(flipped, file: "x.qds") }
        var magic = good
        magic[0] = UInt8(ascii: "X")
        assertDatasetError(["x.qds", "bad magic"]) { _ = try PreparedFormat.decode(magic, file: "x.qds") }
        var version = good
        version[8] = 9
        assertDatasetError(["x.qds", "version 9", "newer"]) { _ = try PreparedFormat.decode(version, file: "x.qds") }
        version[8] = 0
        assertDatasetError(["x.qds", "not a valid prepared dataset", "version 0"]) { _ = try PreparedFormat.decode(version, file: "x.qds") }
        assertDatasetError(["/no/such.qds", "cannot read"]) { _ = try PreparedFormat.load(path: "/no/such.qds") }
    }

    func testSummary() throws {
        let summary = DatasetSummary(try makeDataset())
        XCTAssertEqual(summary.samples, 12)
        XCTAssertEqual(summary.strokes, 24)
        XCTAssertEqual(summary.points, (0..<12).reduce(0) { $0 + 4 + $1 })
        XCTAssertEqual(summary.pointPercentiles.first?.value, 4)
        XCTAssertEqual(summary.pointPercentiles.last?.value, 15)
        XCTAssertEqual(summary.splitSizes.map(\.count).reduce(0, +), 12)
        XCTAssertTrue(summary.description.contains("alphabet"))
        XCTAssertEqual(DatasetSummary.percentile([1, 2, 3, 4], 50), 2)
    }

    func testPipelineWritesNothingOnError() throws {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", #"{"id":"a","origin":[0,0],"points":[[0,0,1]"#)
        let out = dir.file("out.qds")
        XCTAssertThrowsError(try ImportPipeline.run(format: .iamJSONL, inputs: [input], output: out,
                                                    options: PreprocessOptions()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        assertDatasetError(["no samples"]) {
            _ = try ImportPipeline.run(format: .iamJSONL, inputs: [input], output: out, options: PreprocessOptions(),
                                       skipInvalid: true)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
