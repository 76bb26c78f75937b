import Foundation
import QuillIO

/// The prepared binary format: one file holding a whole `PreparedDataset`, little-endian, loaded with a few
/// bulk copies. The layout is documented field by field in datasets/README.md.
///
/// ```
/// offset size  field
///  0      8    magic "QUILLDS\0"
///  8      4    u32 version (1)
/// 12      4    u32 H: header JSON length in bytes (padded with spaces to a multiple of 8)
/// 16      8    u64 S: samples
/// 24      8    u64 P: points (rows) in all samples
/// 32      8    u64 C: encoded characters in all samples
/// 40      8    u64 B: string blob length
/// 48      8    u64 checksum of bytes 64… (FNV-1a 64 over little-endian 64-bit words, then the tail bytes)
/// 56      8    u64 total file length
/// 64      H    header JSON (PreparedHeader: format, options, stats, measured stats, alphabet, split used)
///         then u64 pointStart[S+1], u64 charStart[S+1], u64 stringStart[3S+1] (id, writer, text of each sample),
///         f64 origin[2S] (x, y), f32 dx[P], f32 dy[P], i32 chars[C], u8 eos[P], u8 split[S],
///         u8 present[S] (bit 0: writer, bit 1: text), u8 strings[B] (UTF-8)
/// ```
public enum PreparedFormat {
    public static let magic: [UInt8] = Array("QUILLDS\0".utf8)
    public static let version: UInt32 = 1
    static let fixedHeaderSize = 64

    // MARK: - Writing

    /// Encodes a dataset into the bytes of a prepared file.
    public static func encode(_ ds: PreparedDataset) throws -> Data {
        let s = ds.samples
        let S = s.count
        var pointStart = [UInt64](repeating: 0, count: S + 1)
        var charStart = pointStart
        var stringStart = [UInt64](repeating: 0, count: 3 * S + 1)
        var blob = [UInt8]()
        var present = [UInt8](repeating: 0, count: S)
        for (i, x) in s.enumerated() {
            pointStart[i + 1] = pointStart[i] + UInt64(x.count)
            charStart[i + 1] = charStart[i] + UInt64(x.characters.count)
            for (k, field) in [x.id, x.writer ?? "", x.text ?? ""].enumerated() {
                blob.append(contentsOf: field.utf8)
                stringStart[3 * i + k + 1] = UInt64(blob.count)
            }
            present[i] = (x.writer == nil ? 0 : 1) | (x.text == nil ? 0 : 2)
        }
        let P = Int(pointStart[S]), C = Int(charStart[S])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var json = [UInt8](try encoder.encode(ds.header))
        while json.count % 8 != 0 { json.append(0x20) }

        var out = ByteWriter(capacity: 64 + json.count + 8 * (7 * S + 3) + 9 * P + 4 * C + 2 * S + blob.count)
        out.bytes(magic)
        out.u32(version)
        out.u32(UInt32(json.count))
        out.u64(UInt64(S))
        out.u64(UInt64(P))
        out.u64(UInt64(C))
        out.u64(UInt64(blob.count))
        out.u64(0)  // checksum, filled below
        out.u64(0)  // total length, filled below
        out.bytes(json)
        out.array(pointStart)
        out.array(charStart)
        out.array(stringStart)
        var origin = [Double]()
        origin.reserveCapacity(2 * S)
        for x in s { origin += [x.originX, x.originY] }
        out.array(origin)
        for x in s { out.array(x.dx) }
        for x in s { out.array(x.dy) }
        for x in s { out.array(x.characters) }
        for x in s { out.bytes(x.eos) }
        out.bytes(s.map { $0.split.rawValue })
        out.bytes(present)
        out.bytes(blob)
        out.patchU64(at: 56, UInt64(out.data.count))
        out.patchU64(at: 48, checksum(out.data, from: fixedHeaderSize))
        return out.data
    }

    /// Writes a prepared file atomically: to a temporary file in the same directory, then renamed over `path`.
    public static func write(_ ds: PreparedDataset, to path: String) throws {
        let data = try encode(ds)
        try writeAtomically(data, to: path)
    }

    /// Writes bytes completely or not at all (`QuillIO.AtomicOutput`): readers never see a partial file, and a failed
    /// write leaves no temporary file behind.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        do {
            try AtomicOutput.write(data, to: path)
        } catch let error as FileSystemError {
            throw DatasetError.io(path, "cannot write it: \(error.cause)")
        }
    }

    /// FNV-1a 64 over little-endian 64-bit words, then over the remaining bytes one at a time.
    static func checksum(_ data: Data, from start: Int) -> UInt64 {
        data.withUnsafeBytes { raw -> UInt64 in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            let prime: UInt64 = 0x100_0000_01B3
            var i = start
            let n = raw.count
            while i + 8 <= n {
                h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))) &* prime
                i += 8
            }
            while i < n {
                h = (h ^ UInt64(raw[i])) &* prime
                i += 1
            }
            return h
        }
    }

    // MARK: - Reading

    /// Loads a prepared file, checking magic, version, length, checksum and every table.
    public static func load(path: String) throws -> PreparedDataset {
        return try decode(try readFile(path), file: path)
    }

    /// Decodes the bytes of a prepared file; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws -> PreparedDataset {
        func corrupt(_ why: String) -> DatasetError { .corruptPrepared(file, why) }
        return try data.withUnsafeBytes { raw -> PreparedDataset in
            var r = ByteReader(raw: raw, file: file)
            guard raw.count >= fixedHeaderSize else {
                throw corrupt("only \(raw.count) bytes, shorter than the 64-byte header (truncated?)")
            }
            guard Array(raw[0..<8]) == magic else { throw corrupt("bad magic at byte 0 (expected \"QUILLDS\\0\")") }
            r.offset = 8
            let version = r.u32()
            guard version <= PreparedFormat.version, version >= 1 else {
                throw DatasetError.unsupportedVersion(file, version)
            }
            let H = Int(r.u32())
            let S = Int(r.u64()), P = Int(r.u64()), C = Int(r.u64()), B = Int(r.u64())
            let stored = r.u64()
            let total = r.u64()
            guard total == UInt64(raw.count) else {
                throw corrupt("header says \(total) bytes but the file has \(raw.count) (truncated or extended)")
            }
            let expected = 64 + H + 8 * (7 * S + 3) + 9 * P + 4 * C + 2 * S + B
            guard S < 1 << 40, P < 1 << 40, C < 1 << 40, B < 1 << 40, H < 1 << 30, expected == raw.count else {
                throw corrupt("table sizes (S=\(S), P=\(P), C=\(C), B=\(B), H=\(H)) do not add up to the file length")
            }
            let sum = checksum(data, from: fixedHeaderSize)
            guard sum == stored else { throw corrupt("checksum mismatch (the bytes after offset 64 are damaged)") }
            let header: PreparedHeader
            do {
                header = try JSONDecoder().decode(PreparedHeader.self, from: Data(raw[64..<(64 + H)]))
            } catch {
                throw corrupt("header JSON at byte 64 does not decode (\(error))")
            }
            r.offset = 64 + H
            let pointStart: [UInt64] = r.array(S + 1)
            let charStart: [UInt64] = r.array(S + 1)
            let stringStart: [UInt64] = r.array(3 * S + 1)
            let origin: [Double] = r.array(2 * S)
            let dxBase = r.offset
            r.offset += 4 * P
            let dyBase = r.offset
            r.offset += 4 * P
            let charBase = r.offset
            r.offset += 4 * C
            let eosBase = r.offset
            r.offset += P
            let splitBytes: [UInt8] = r.array(S)
            let present: [UInt8] = r.array(S)
            let blobBase = r.offset
            func monotonic(_ a: [UInt64], _ limit: Int, _ name: String) throws {
                guard a.first == 0, a.last == UInt64(limit) else { throw corrupt("\(name) table does not span 0…\(limit)") }
                for k in 1..<a.count where a[k] < a[k - 1] { throw corrupt("\(name) table decreases at entry \(k)") }
            }
            try monotonic(pointStart, P, "point")
            try monotonic(charStart, C, "character")
            try monotonic(stringStart, B, "string")
            var samples = [PreparedSample]()
            samples.reserveCapacity(S)
            let alphabetCount = Int32(header.alphabet.count)
            for i in 0..<S {
                let p0 = Int(pointStart[i]), n = Int(pointStart[i + 1]) - p0
                let c0 = Int(charStart[i]), nc = Int(charStart[i + 1]) - c0
                guard let split = DataSplit(rawValue: splitBytes[i]) else {
                    throw corrupt("sample \(i) has split code \(splitBytes[i])")
                }
                let dx: [Float] = ByteReader.copy(raw, at: dxBase + 4 * p0, count: n)
                let dy: [Float] = ByteReader.copy(raw, at: dyBase + 4 * p0, count: n)
                let eos: [UInt8] = ByteReader.copy(raw, at: eosBase + p0, count: n)
                let chars: [Int32] = ByteReader.copy(raw, at: charBase + 4 * c0, count: nc)
                if chars.contains(where: { $0 < 0 || $0 >= alphabetCount }) {
                    throw corrupt("sample \(i) has a character index outside the alphabet (\(alphabetCount) symbols)")
                }
                func string(_ k: Int) throws -> String {
                    let a = Int(stringStart[3 * i + k]), b = Int(stringStart[3 * i + k + 1])
                    guard let s = String(validating: UnsafeRawBufferPointer(rebasing: raw[(blobBase + a)..<(blobBase + b)]),
                                         as: UTF8.self) else {
                        throw corrupt("sample \(i) has a string that is not UTF-8")
                    }
                    return s
                }
                samples.append(PreparedSample(
                    id: try string(0), writer: present[i] & 1 != 0 ? try string(1) : nil,
                    text: present[i] & 2 != 0 ? try string(2) : nil, characters: chars, split: split,
                    originX: origin[2 * i], originY: origin[2 * i + 1], dx: dx, dy: dy, eos: eos))
            }
            return PreparedDataset(header: header, samples: samples)
        }
    }
}

/// Appends little-endian values to a byte buffer.
struct ByteWriter {
    var data: Data

    init(capacity: Int) { data = Data(capacity: capacity) }

    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }

    /// Appends an array of fixed-size numbers (the host must be little-endian, as every supported platform is).
    mutating func array<T>(_ a: [T]) {
        #if _endian(big)
        #error("the prepared format writer assumes a little-endian host")
        #endif
        a.withUnsafeBytes { data.append(contentsOf: $0) }
    }

    mutating func patchU64(at offset: Int, _ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { b in data.replaceSubrange(offset..<(offset + 8), with: b) }
    }
}

/// Reads little-endian values from a byte buffer whose bounds have already been checked.
struct ByteReader {
    let raw: UnsafeRawBufferPointer
    let file: String
    var offset = 0

    init(raw: UnsafeRawBufferPointer, file: String) {
        self.raw = raw
        self.file = file
    }

    mutating func u32() -> UInt32 {
        defer { offset += 4 }
        return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64() -> UInt64 {
        defer { offset += 8 }
        return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    mutating func array<T>(_ count: Int) -> [T] {
        defer { offset += count * MemoryLayout<T>.stride }
        return ByteReader.copy(raw, at: offset, count: count)
    }

    /// Copies `count` values starting at byte `at` (any alignment).
    static func copy<T>(_ raw: UnsafeRawBufferPointer, at: Int, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0, let base = raw.baseAddress {
                memcpy(buffer.baseAddress!, base + at, count * MemoryLayout<T>.stride)
            }
            initialized = count
        }
    }
}
