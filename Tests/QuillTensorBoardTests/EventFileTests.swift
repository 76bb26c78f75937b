import Foundation
import QuillTestSupport
import XCTest
@testable import QuillTensorBoard

/// TensorBoard event files: CRC-32C against known vectors, TFRecord framing read back with both checksums, and the
/// `Event` and `Summary` messages decoded field by field.
final class EventFileTests: XCTestCase {
    func testCRC32CMatchesKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // RFC 3720 B.4: 32 bytes of zeros, of 0xFF, and ascending 0…31.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        // The mask: rotate right 15, add 0xa282ead8.
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(0x8000), 0xA282_EAD8 &+ 1)
    }

    func testFramingRoundTripsAndDamageIsCaught() throws {
        let payloads = [Data("hello".utf8), Data(), Data((0..<300).map { UInt8($0 % 256) })]
        var stream = Data()
        for p in payloads { stream.append(TFRecord.frame(p)) }
        XCTAssertEqual(stream.count, payloads.reduce(0) { $0 + $1.count + 16 })
        XCTAssertEqual(try TFRecord.records(in: stream), payloads)
        // The length field of the first record, little-endian.
        XCTAssertEqual([UInt8](stream.prefix(8)), [5, 0, 0, 0, 0, 0, 0, 0])

        var flipped = stream; flipped[14] ^= 1
        XCTAssertThrowsError(try TFRecord.records(in: flipped)) { XCTAssertEqual($0 as? TFRecordError, .badChecksum(offset: 0, data: true)) }
        var badLength = stream; badLength[0] = 6
        XCTAssertThrowsError(try TFRecord.records(in: badLength)) { XCTAssertEqual($0 as? TFRecordError, .badChecksum(offset: 0, data: false)) }
        XCTAssertThrowsError(try TFRecord.records(in: stream.dropLast())) { XCTAssertEqual($0 as? TFRecordError, .truncated(offset: 37)) }
    }

    func testWireFormatMatchesHandEncodedBytes() throws {
        var w = ProtoWriter()
        w.int(2, 300)            // field 2, varint: 0x10, 0xac 0x02
        w.string(1, "ab")        // field 1, bytes: 0x0a 0x02 'a' 'b'
        w.float(2, 1)            // field 2, fixed32: 0x15, 00 00 80 3f
        w.int(1, -1)             // ten-byte varint
        XCTAssertEqual([UInt8](w.data), [0x10, 0xAC, 0x02, 0x0A, 0x02, 0x61, 0x62, 0x15, 0x00, 0x00, 0x80, 0x3F,
                                         0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        let fields = try ProtoReader.fields(w.data)
        XCTAssertEqual(fields.map(\.field), [2, 1, 2, 1])
        XCTAssertEqual(fields[0].value.integer, 300)
        XCTAssertEqual(fields[1].value.string, "ab")
        XCTAssertEqual(fields[2].value.float, 1)
        XCTAssertEqual(fields[3].value.integer, -1)
        XCTAssertThrowsError(try ProtoReader.fields(Data([0x0A, 0x05, 0x61])))
    }

    /// The fields of a message as a dictionary of the last value per field number (enough for these messages).
    func message(_ data: Data?) throws -> [Int: ProtoReader.Value] {
        var out: [Int: ProtoReader.Value] = [:]
        for f in try ProtoReader.fields(try XCTUnwrap(data)) { out[f.field] = f.value }
        return out
    }

    func testAnEventFileHoldsTheVersionThenSummariesThatDecode() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try EventFileWriter(directory: dir.path("tb/run"), now: Date(timeIntervalSince1970: 1000))
        XCTAssertTrue((writer.path as NSString).lastPathComponent.hasPrefix("events.out.tfevents.1000."))
        let histogram = HistogramSummary(min: -1, max: 2, count: 3, sum: 1.5, sumOfSquares: 5.25, bucketLimits: [0.5, 2],
                                         buckets: [1, 2])
        try writer.write(step: 7, [.scalar(tag: "train/loss", value: 2.5), .histogram(tag: "weights/w", histogram)],
                         now: Date(timeIntervalSince1970: 1001))
        try writer.write(step: 9, [.text(tag: "sample", "the cat"), .image(tag: "sample", png: Data([1, 2, 3]), width: 4, height: 5)])
        try writer.write(step: 10, [])  // nothing: no event

        let records = try TFRecord.records(in: try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        XCTAssertEqual(records.count, 3)
        let version = try message(records[0])
        XCTAssertEqual(version[1]?.double, 1000)
        XCTAssertEqual(version[3]?.string, "brain.Event:2")

        let first = try message(records[1])
        XCTAssertEqual(first[1]?.double, 1001)
        XCTAssertEqual(first[2]?.integer, 7)
        let values = try ProtoReader.fields(try XCTUnwrap(first[5]?.data)).map { try message($0.value.data) }
        XCTAssertEqual(values.count, 2)
        XCTAssertEqual(values[0][1]?.string, "train/loss")
        XCTAssertEqual(values[0][2]?.float, 2.5)
        XCTAssertEqual(values[1][1]?.string, "weights/w")
        let histo = try message(values[1][5]?.data)
        XCTAssertEqual([1, 2, 3, 4, 5].map { histo[$0]?.double }, [-1, 2, 3, 1.5, 5.25])
        XCTAssertEqual(histo[6]?.doubles, [0.5, 2])
        XCTAssertEqual(histo[7]?.doubles, [1, 2])

        let second = try message(records[2])
        XCTAssertEqual(second[2]?.integer, 9)
        let more = try ProtoReader.fields(try XCTUnwrap(second[5]?.data)).map { try message($0.value.data) }
        let metadata = try message(more[0][9]?.data), plugin = try message(metadata[1]?.data)
        XCTAssertEqual(plugin[1]?.string, "text")
        let tensor = try message(more[0][8]?.data)
        XCTAssertEqual(tensor[1]?.integer, 7)  // DT_STRING
        XCTAssertEqual(tensor[8]?.string, "the cat")
        let image = try message(more[1][4]?.data)
        XCTAssertEqual(image[1]?.integer, 5)
        XCTAssertEqual(image[2]?.integer, 4)
        XCTAssertEqual(image[4]?.data, Data([1, 2, 3]))

        // A second writer in the same second gets a file of its own.
        let other = try EventFileWriter(directory: dir.path("tb/run"), now: Date(timeIntervalSince1970: 1000))
        XCTAssertNotEqual(other.path, writer.path)
    }

    func testADirectoryThatIsAFileIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path("file")))
        XCTAssertThrowsError(try EventFileWriter(directory: dir.path("file"))) {
            XCTAssertEqual("\($0)", "--tensorboard \(dir.path("file")): is a file, not a directory; give a directory for the TensorBoard event files")
        }
    }
}
