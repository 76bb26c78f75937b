import Foundation
import QuillData
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

    /// The metadata key of the checksum of a file's data section: "fnv1a64:" and 16 hex digits of
    /// `PreparedFormat.checksum` over every byte after the header. Written since 2026-12-05; `read` checks it where
    /// present, so a flipped weight byte is a corrupt file, not a silently different model (files written before,
    /// and by other tools, load unchecked).
    public static let checksumKey = "quill.data-checksum"

    /// Writes tensors (in the given order) and metadata to `path` atomically, with the data's checksum
    /// (`checksumKey`, computed here; a value given in `metadata` is replaced).
    public static func write(_ tensors: [(String, Entry)], metadata: [String: String], to path: String) throws {
        var body = Data(capacity: tensors.reduce(0) { $0 + 4 * $1.1.values.count })
        for (_, e) in tensors {
            e.values.withUnsafeBufferPointer { buf in
                guard let base = buf.baseAddress, !buf.isEmpty else { return }  // an empty tensor has no bytes
                #if _endian(big)
                for v in buf { var b = v.bitPattern.littleEndian; withUnsafeBytes(of: &b) { body.append(contentsOf: $0) } }
                #else
                body.append(UnsafeBufferPointer(start: UnsafeRawPointer(base).assumingMemoryBound(to: UInt8.self),
                                                count: buf.count * 4))
                #endif
            }
        }
        var metadata = metadata
        metadata[checksumKey] = checksumText(body)
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
        out.append(body)
        try AtomicOutput.write(out, to: path)
    }

    /// The `checksumKey` value of a data section.
    static func checksumText(_ body: Data) -> String {
        let h = PreparedFormat.checksum(body, from: 0)
        return "fnv1a64:" + String(repeating: "0", count: 16 - String(h, radix: 16).count) + String(h, radix: 16)
    }

    /// Largest header Quill reads (bytes): far above any real checkpoint's (a few kB), far below memory limits.
    static let maxHeaderBytes = 100_000_000
    /// Largest tensor rank Quill reads; its own tensors have rank 1 or 2.
    static let maxRank = 8

    /// Reads and validates a file. Every structural problem is a `CheckpointError` naming the file.
    ///
    /// The header is checked before any data is read: the header length against the file size, every dtype,
    /// shape and offset as an exact non-negative integer, element and byte counts with overflow-safe arithmetic,
    /// and every tensor's byte range inside the data and overlapping no other tensor's.
    public static func read(_ path: String) throws -> File {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missing(path) }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CheckpointError.unreadable(path) }
        defer { try? handle.close() }
        let fileSize: UInt64
        do { fileSize = try handle.seekToEnd(); try handle.seek(toOffset: 0) } catch {
            throw CheckpointError.unreadable(path)
        }
        guard fileSize >= 8 else { throw CheckpointError.corrupt(path, "file is \(fileSize) bytes, too short for a header") }
        func readBytes(_ n: Int) throws -> Data {
            let d: Data?
            do { d = try handle.read(upToCount: n) } catch {
                // A read that fails is not a truncated file: say what the system said (often memory, under ulimit -v).
                let code = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code ?? (error as NSError).code
                let cause = code == Int(ENOMEM) || code == Int(EFAULT)
                    ? "not enough memory to read it (the buffer could not be allocated); raise ulimit -v or free memory"
                    : (error as NSError).domain == NSPOSIXErrorDomain || code > 0 && code < 200
                    ? FileSystemError(path: path, operation: .read, code: Int32(truncatingIfNeeded: code)).cause
                    : "the read failed (out of memory? check ulimit -v)"
                throw CheckpointError.incompatible(path, "cannot read the checkpoint: \(cause)")
            }
            guard let d, d.count == n else {
                throw CheckpointError.corrupt(path, "the file ended early (truncated?)")
            }
            return d
        }
        let prefix = try readBytes(8)
        let headerLength = prefix.enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength > 0, headerLength <= fileSize - 8, headerLength <= UInt64(maxHeaderBytes) else {
            // A safetensors header is JSON: a file whose ninth byte is not "{" is another kind of file (a text, an
            // n-gram model, metrics), not a damaged checkpoint.
            if fileSize > 8, try readBytes(1).first != UInt8(ascii: "{") {
                throw CheckpointError.incompatible(path, "not a Quill checkpoint (a safetensors file begins with its header's "
                    + "length and a JSON header); give a run's directory or its model.safetensors or last.safetensors")
            }
            throw CheckpointError.corrupt(path, "header length \(headerLength) does not fit a \(fileSize)-byte file (truncated?)")
        }
        let hl = Int(headerLength)
        let headerData = try readBytes(hl)
        guard let header = (try? JSONSerialization.jsonObject(with: JSONText.escapingByteOrderMarks(headerData))) as? [String: Any] else {
            throw CheckpointError.corrupt(path, "header is not a JSON object")
        }
        let dataBytes = Int(fileSize - 8 - headerLength)
        var file = File()
        if let meta = header["__metadata__"] {
            guard let m = meta as? [String: String] else { throw CheckpointError.corrupt(path, "__metadata__ is not a map of strings") }
            file.metadata = m
        }
        // Check every entry before reading any data.
        struct Layout { let name: String; let shape: [Int]; let count: Int; let width: Int; let begin: Int; let end: Int }
        var layouts: [Layout] = []
        // In name order, so a file with several bad entries is always reported by the same one.
        for (name, value) in header.sorted(by: { $0.key < $1.key }) where name != "__metadata__" {
            let shown = String(name.unicodeScalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
            func bad(_ why: String) -> CheckpointError { .corrupt(path, "tensor '\(shown)' \(why)") }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsetValues = info["data_offsets"] as? [Any],
                  offsetValues.count == 2 else {
                throw bad("has a malformed header entry")
            }
            guard dtype == "F32" || dtype == "F16" else {
                throw bad("has dtype \(dtype.prefix(16)); Quill reads F32 and F16")
            }
            let width = dtype == "F32" ? 4 : 2
            guard shapeValues.count <= maxRank else { throw bad("has rank \(shapeValues.count); at most \(maxRank) is allowed") }
            var shape: [Int] = []
            for v in shapeValues {
                guard let d = exactInteger(v) else { throw bad("has a shape entry that is not a whole number") }
                guard d >= 0 else { throw bad("has a negative dimension") }
                shape.append(d)
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= dataBytes else { throw bad("has shape \(shape), larger than the file's \(dataBytes) data bytes") }
                count = p
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow else { throw bad("has shape \(shape), larger than the file's \(dataBytes) data bytes") }
            guard let begin = exactInteger(offsetValues[0]), let end = exactInteger(offsetValues[1]) else {
                throw bad("has data offsets that are not whole numbers")
            }
            let (expectedEnd, endOverflow) = begin.addingReportingOverflow(bytes)
            guard begin >= 0, !endOverflow, end == expectedEnd else {
                throw bad("has data offsets [\(begin), \(end)] that do not hold \(count) \(dtype) values")
            }
            guard end <= dataBytes else {
                throw bad("lies outside the file's \(dataBytes) data bytes (truncated?)")
            }
            layouts.append(Layout(name: name, shape: shape, count: count, width: width, begin: begin, end: end))
        }
        // Byte ranges must not overlap (empty tensors occupy nothing).
        let ranges = layouts.filter { $0.end > $0.begin }.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.begin < a.end {
            throw CheckpointError.corrupt(path, "tensors '\(a.name.prefix(80))' and '\(b.name.prefix(80))' overlap in the data")
        }
        // The format leaves no holes and nothing after the last tensor: bytes no tensor holds mean a damaged file (or
        // one with something appended).
        var covered = 0
        for r in ranges {
            guard r.begin == covered else {
                throw CheckpointError.corrupt(path, "data bytes \(covered)…\(r.begin - 1) belong to no tensor (a damaged file)")
            }
            covered = r.end
        }
        guard covered == dataBytes else {
            throw CheckpointError.corrupt(path, "\(dataBytes - covered) bytes after the last tensor belong to no tensor (a damaged file, or something appended to it)")
        }
        let data = dataBytes > 0 ? try readBytes(dataBytes) : Data()
        if let recorded = file.metadata[checksumKey], recorded != checksumText(data) {
            throw CheckpointError.corrupt(path, "its data does not match the checksum its header records (\(recorded.prefix(40))): the file was damaged after it was written")
        }
        for l in layouts {
            var values = [Float](repeating: 0, count: l.count)
            data.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }  // no data: every tensor is empty
                let p = base + l.begin
                for i in 0..<l.count {
                    if l.width == 4 {
                        values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    } else {
                        values[i] = Float(Float16Bits(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    }
                }
            }
            file.tensors[l.name] = Entry(shape: l.shape, values: values)
        }
        return file
    }

    /// A JSON number that is exactly a whole number in Int's range (booleans, fractions and huge values are not).
    static func exactInteger(_ value: Any) -> Int? {
        guard let n = value as? NSNumber else { return nil }
        let type = String(cString: n.objCType)
        guard type != "c" && type != "B" else { return nil }  // booleans
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) <= 9.2e18 else { return nil }
        let i = n.int64Value
        guard Double(i) == d else { return nil }
        return Int(i)
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

    /// The message with any invisible or control character (from a file's contents or name) shown by code point.
    public var description: String { TextPreparation.shown(text: message) }

    var message: String {
        switch self {
        case .missing(let p):
            // A --force run killed before its first checkpoint leaves the old run aside (`RunFiles.replacedSuffix`).
            if FileManager.default.fileExists(atPath: p + RunFiles.replacedSuffix) {
                return "\(p): no such model file, but \(RunFiles.replacedSuffix) of it is there: a --force run was stopped before its first checkpoint; training in that directory again (--resume continues the old run) puts it back"
            }
            return "\(p): no such model file; train one first, or check the path"
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

