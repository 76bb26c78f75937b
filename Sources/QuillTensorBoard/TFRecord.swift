import Foundation

/// A damaged TFRecord stream: where, and what is wrong.
public enum TFRecordError: Error, CustomStringConvertible, Equatable {
    /// The stream ends inside the record starting at `offset`.
    case truncated(offset: Int)
    /// The masked CRC-32C of the length (`data`: false) or of the payload (true) does not match.
    case badChecksum(offset: Int, data: Bool)

    public var description: String {
        switch self {
        case .truncated(let offset): return "the record at byte \(offset) is cut short"
        case .badChecksum(let offset, let data):
            return "the record at byte \(offset) has a wrong \(data ? "data" : "length") checksum"
        }
    }
}

/// TFRecord framing, the container of TensorBoard event files: each record is its length (uint64, little-endian),
/// the masked CRC-32C of those 8 bytes, the payload, and the masked CRC-32C of the payload (`CRC32C.masked`).
public enum TFRecord {
    /// The framed bytes of one record holding `payload`.
    public static func frame(_ payload: Data) -> Data {
        var out = Data(capacity: payload.count + 16)
        let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian) { Data($0) }
        out.append(length)
        appendLittleEndian(CRC32C.masked(CRC32C.checksum(length)), to: &out)
        out.append(payload)
        appendLittleEndian(CRC32C.masked(CRC32C.checksum(payload)), to: &out)
        return out
    }

    /// The payloads of every record in `data`, checking both checksums of each. Throws `TFRecordError`.
    public static func records(in data: Data) throws -> [Data] {
        let bytes = [UInt8](data)
        var records: [Data] = [], at = 0
        func word<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            var v: T = 0
            for k in 0..<MemoryLayout<T>.size { v |= T(bytes[offset + k]) << (8 * k) }
            return v
        }
        while at < bytes.count {
            guard bytes.count - at >= 16 else { throw TFRecordError.truncated(offset: at) }
            let length = word(UInt64.self, at)
            guard CRC32C.masked(CRC32C.checksum(bytes[at..<at + 8])) == word(UInt32.self, at + 8) else {
                throw TFRecordError.badChecksum(offset: at, data: false)
            }
            guard length <= UInt64(bytes.count - at - 16) else { throw TFRecordError.truncated(offset: at) }
            let start = at + 12, end = start + Int(length)
            guard CRC32C.masked(CRC32C.checksum(bytes[start..<end])) == word(UInt32.self, end) else {
                throw TFRecordError.badChecksum(offset: at, data: true)
            }
            records.append(Data(bytes[start..<end]))
            at = end + 4
        }
        return records
    }

    static func appendLittleEndian(_ v: UInt32, to out: inout Data) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }
}
