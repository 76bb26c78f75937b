import Foundation
import QuillIO
import QuillNumerics

/// Reading and writing safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor names
/// to dtype, shape and byte offsets (plus a `__metadata__` map of strings), then the raw little-endian data.
///
/// Quill writes float32 ("F32") tensors in row-major order; numpy (`safetensors.numpy.load_file`) and PyTorch read
/// them directly. Writes are atomic: a temporary file in the same directory, then a rename.
public enum SafeTensors {
    /// A tensor as stored: shape and float32 values.
    public struct Entry: Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    /// A loaded file: tensors by name and the metadata strings.
    public struct File {
        public var tensors: [String: Entry]
        public var metadata: [String: String]
        public init(tensors: [String: Entry] = [:], metadata: [String: String] = [:]) {
            self.tensors = tensors; self.metadata = metadata
        }
    }

    /// Writes tensors (in the given order) and metadata to `path` atomically.
    public static func write(_ tensors: [(String, Entry)], metadata: [String: String], to path: String) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, e) in tensors {
            let bytes = e.values.count * 4
            header[name] = ["dtype": "F32", "shape": e.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces to a multiple of 8 so the data is aligned.
        while (json.count % 8) != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, e) in tensors {
            e.values.withUnsafeBufferPointer { buf in
                #if _endian(big)
                for v in buf { var b = v.bitPattern.littleEndian; withUnsafeBytes(of: &b) { out.append(contentsOf: $0) } }
                #else
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                               count: buf.count * 4))
                #endif
            }
        }
        try AtomicFile.write(out, to: path)
    }

    /// Reads and validates a file. Every structural problem is a `CheckpointError` naming the file.
    public static func read(_ path: String) throws -> File {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missing(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError.unreadable(path) }
        guard data.count >= 8 else { throw CheckpointError.corrupt(path, "file is \(data.count) bytes, too short for a header") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength > 0, headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw CheckpointError.corrupt(path, "header length \(headerLength) does not fit a \(data.count)-byte file (truncated?)")
        }
        let hl = Int(headerLength)
        let headerData = data.subdata(in: 8..<(8 + hl))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw CheckpointError.corrupt(path, "header is not a JSON object")
        }
        let base = 8 + hl
        let dataBytes = data.count - base
        var file = File()
        if let meta = header["__metadata__"] {
            guard let m = meta as? [String: String] else { throw CheckpointError.corrupt(path, "__metadata__ is not a map of strings") }
            file.metadata = m
        }
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offs = info["data_offsets"] as? [Int], offs.count == 2 else {
                throw CheckpointError.corrupt(path, "tensor '\(name)' has a malformed header entry")
            }
            guard dtype == "F32" || dtype == "F16" else {
                throw CheckpointError.corrupt(path, "tensor '\(name)' has dtype \(dtype); Quill reads F32 and F16")
            }
            let width = dtype == "F32" ? 4 : 2
            guard shape.allSatisfy({ $0 >= 0 }) else { throw CheckpointError.corrupt(path, "tensor '\(name)' has a negative dimension") }
            let count = shape.reduce(1, *)
            guard offs[0] >= 0, offs[1] == offs[0] + count * width, offs[1] <= dataBytes else {
                throw CheckpointError.corrupt(path, "tensor '\(name)' lies outside the file's \(dataBytes) data bytes (truncated?)")
            }
            var values = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { raw in
                let p = raw.baseAddress! + base + offs[0]
                for i in 0..<count {
                    if width == 4 {
                        values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    } else {
                        values[i] = Float(Float16Bits(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    }
                }
            }
            file.tensors[name] = Entry(shape: shape, values: values)
        }
        return file
    }
}

/// Converts IEEE half-precision bits to Float (Float16 is not available on every platform Quill builds on).
@inline(__always) func Float16Bits(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = Int((h >> 10) & 0x1f)
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        let v = Float(mant) * Float(bitPattern: 0x3380_0000)  // mant · 2^-24
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
}

/// Errors reading or writing model files.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case unreadable(String)
    case corrupt(String, String)
    case incompatible(String, String)
    case wrongKind(String, expected: String, found: String)

    public var description: String {
        switch self {
        case .missing(let p):
            return "\(p): no such model file; train one first, or check the --model directory"
        case .unreadable(let p):
            return "\(p): cannot be read (permissions?)"
        case .corrupt(let p, let why):
            return "\(p): corrupt or truncated checkpoint: \(why). Use another checkpoint or retrain"
        case .incompatible(let p, let why):
            return "\(p): \(why)"
        case .wrongKind(let p, let expected, let found):
            return "\(p): this is a \(found) model, but the command needs a \(expected) model"
        }
    }
}

/// Atomic file writes for checkpoints and styles (`QuillIO.AtomicOutput`): complete or absent; a failure throws
/// `FileSystemError` and leaves the older file in place.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        try AtomicOutput.write(data, to: path)
    }
}
