import Foundation

/// The few pieces of the protocol-buffer wire format that TensorBoard's event messages need, written by hand
/// (https://protobuf.dev/programming-guides/encoding/): varints, 64- and 32-bit fixed fields, length-delimited
/// fields and packed repeated doubles. Fields are written in the order given; proto3 readers accept any order.
public struct ProtoWriter {
    public private(set) var data = Data()

    public init() {}

    /// Wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit.
    mutating func tag(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { data.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        data.append(UInt8(v))
    }

    /// An int64 or int32 field (negative values take ten bytes, as proto's two's complement encoding does).
    public mutating func int(_ field: Int, _ value: Int64) { tag(field, 0); varint(UInt64(bitPattern: value)) }

    public mutating func double(_ field: Int, _ value: Double) {
        tag(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func float(_ field: Int, _ value: Float) {
        tag(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func bytes(_ field: Int, _ value: Data) { tag(field, 2); varint(UInt64(value.count)); data.append(value) }

    public mutating func string(_ field: Int, _ value: String) { bytes(field, Data(value.utf8)) }

    public mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        bytes(field, inner.data)
    }

    /// A packed repeated double field.
    public mutating func packedDoubles(_ field: Int, _ values: [Double]) {
        var inner = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { inner.append(contentsOf: $0) } }
        bytes(field, inner)
    }
}

/// A malformed protocol-buffer message (`ProtoReader`).
public struct ProtoError: Error, CustomStringConvertible, Equatable {
    public let offset: Int
    public var description: String { "malformed protocol buffer at byte \(offset)" }
}

/// Reads back the fields of one protocol-buffer message: each field's number and value, in order. Enough to check
/// what `ProtoWriter` wrote (tests, `quill`'s own checks); not a general decoder.
public enum ProtoReader {
    public enum Value: Equatable {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(Data)

        public var double: Double? { if case .fixed64(let b) = self { return Double(bitPattern: b) } else { return nil } }
        public var float: Float? { if case .fixed32(let b) = self { return Float(bitPattern: b) } else { return nil } }
        public var integer: Int64? { if case .varint(let v) = self { return Int64(bitPattern: v) } else { return nil } }
        public var data: Data? { if case .bytes(let d) = self { return d } else { return nil } }
        public var string: String? { data.flatMap { String(data: $0, encoding: .utf8) } }
        /// A packed repeated double field's values.
        public var doubles: [Double]? {
            guard let d = data, d.count % 8 == 0 else { return nil }
            let b = [UInt8](d)
            return stride(from: 0, to: b.count, by: 8).map { i in
                var bits: UInt64 = 0
                for k in 0..<8 { bits |= UInt64(b[i + k]) << (8 * k) }
                return Double(bitPattern: bits)
            }
        }
    }

    /// The fields of `message`, in order. Throws `ProtoError` for a truncated field or an unknown wire type.
    public static func fields(_ message: Data) throws -> [(field: Int, value: Value)] {
        let b = [UInt8](message)
        var at = 0, out: [(field: Int, value: Value)] = []
        func varint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard at < b.count, shift < 64 else { throw ProtoError(offset: at) }
                let byte = b[at]; at += 1
                v |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return v }
                shift += 7
            }
        }
        func fixed(_ n: Int) throws -> UInt64 {
            guard b.count - at >= n else { throw ProtoError(offset: at) }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[at + k]) << (8 * k) }
            at += n
            return v
        }
        while at < b.count {
            let start = at
            let key = try varint()
            let field = Int(truncatingIfNeeded: key >> 3)
            switch key & 7 {
            case 0: out.append((field, .varint(try varint())))
            case 1: out.append((field, .fixed64(try fixed(8))))
            case 5: out.append((field, .fixed32(UInt32(try fixed(4)))))
            case 2:
                let n = try varint()
                guard n <= UInt64(b.count - at) else { throw ProtoError(offset: start) }
                out.append((field, .bytes(Data(b[at..<at + Int(n)]))))
                at += Int(n)
            default: throw ProtoError(offset: start)
            }
        }
        return out
    }
}
