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
    /// - Throws: `FileSystemError` (operation `.write`: "PATH: cannot write it: CAUSE"), an output failure.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        try AtomicOutput.write(data, to: path)
    }

    /// FNV-1a 64 over little-endian 64-bit words, then over the remaining bytes one at a time (the prepared format's
    /// checksum, and the one Quill's checkpoints record for their data, `SafeTensors.checksumKey`).
    public static func checksum(_ data: Data, from start: Int) -> UInt64 {
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
    ///
    /// Every count, offset and length in the file is checked against the bytes actually present, with
    /// overflow-checked arithmetic, before anything is allocated or indexed; the header's statistics must be
    /// finite with positive deviations; offsets and origins must be finite and end-of-stroke bytes 0 or 1.
    /// - Throws: `DatasetError.corruptPrepared` naming what is wrong, `.unsupportedVersion`.
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
            guard version >= 1 else { throw corrupt("format version 0 at byte 8 (versions start at 1)") }
            guard version <= PreparedFormat.version else { throw DatasetError.unsupportedVersion(file, version) }
            let h64 = UInt64(r.u32())
            let s64 = r.u64(), p64 = r.u64(), c64 = r.u64(), b64 = r.u64()
            let stored = r.u64()
            let total = r.u64()
            guard total == UInt64(raw.count) else {
                throw corrupt("header says \(total) bytes but the file has \(raw.count) (truncated or extended)")
            }
            // Each count is at most the file length before it is used, so the products below stay far from
            // overflow; they are still computed with overflow checks, as nothing else guards them in release builds.
            let sizes = "table sizes (S=\(s64), P=\(p64), C=\(c64), B=\(b64), H=\(h64))"
            let fileLength = UInt64(raw.count)
            guard s64 < fileLength, p64 < fileLength, c64 < fileLength, b64 < fileLength, h64 < fileLength else {
                throw corrupt("\(sizes) exceed the file length \(raw.count)")
            }
            let H = Int(h64), S = Int(s64), P = Int(p64), C = Int(c64), B = Int(b64)
            guard let expected = checkedSum([(1, 64), (1, H), (8, 7 * S + 3), (9, P), (4, C), (2, S), (1, B)]),
                  expected == raw.count else {
                throw corrupt("\(sizes) do not add up to the file length \(raw.count)")
            }
            let sum = checksum(data, from: fixedHeaderSize)
            guard sum == stored else { throw corrupt("checksum mismatch (the bytes after offset 64 are damaged)") }
            let header: PreparedHeader
            do {
                header = try JSONDecoder().decode(PreparedHeader.self, from: Data(raw[64..<(64 + H)]))
            } catch let error as DecodingError {
                throw corrupt("header JSON at byte 64: \(describe(error))")
            } catch {
                throw corrupt("header JSON at byte 64 does not decode")
            }
            if let why = header.problem() { throw corrupt("header: \(why)") }
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
            // After these checks every table entry lies in 0…limit, so the slices below stay inside their tables.
            func monotonic(_ a: [UInt64], _ limit: Int, _ name: String) throws {
                guard a.first == 0, a.last == UInt64(limit) else { throw corrupt("\(name) table does not span 0…\(limit)") }
                for k in 1..<a.count where a[k] < a[k - 1] { throw corrupt("\(name) table decreases at entry \(k)") }
            }
            try monotonic(pointStart, P, "point")
            try monotonic(charStart, C, "character")
            try monotonic(stringStart, B, "string")
            var samples = [PreparedSample]()
            samples.reserveCapacity(S)
            // The alphabet came from at most H < 2³² bytes of JSON, several bytes a symbol, so it fits an Int32.
            let alphabetCount = Int32(clamping: header.alphabet.count)
            for i in 0..<S {
                let p0 = Int(pointStart[i]), n = Int(pointStart[i + 1]) - p0
                let c0 = Int(charStart[i]), nc = Int(charStart[i + 1]) - c0
                guard let split = DataSplit(rawValue: splitBytes[i]) else {
                    throw corrupt("sample \(i) has split code \(splitBytes[i]) (expected 0, 1 or 2)")
                }
                guard present[i] <= 3 else { throw corrupt("sample \(i) has presence flags \(present[i]) (expected 0…3)") }
                guard n > 0 else { throw corrupt("sample \(i) has no points") }
                let dx: [Float] = ByteReader.copy(raw, at: dxBase + 4 * p0, count: n)
                let dy: [Float] = ByteReader.copy(raw, at: dyBase + 4 * p0, count: n)
                let eos: [UInt8] = ByteReader.copy(raw, at: eosBase + p0, count: n)
                let chars: [Int32] = ByteReader.copy(raw, at: charBase + 4 * c0, count: nc)
                if chars.contains(where: { $0 < 0 || $0 >= alphabetCount }) {
                    throw corrupt("sample \(i) has a character index outside the alphabet (\(alphabetCount) symbols)")
                }
                if let k = eos.firstIndex(where: { $0 > 1 }) {
                    throw corrupt("sample \(i), point \(k) has end-of-stroke byte \(eos[k]) (expected 0 or 1)")
                }
                if let k = dx.indices.first(where: { !dx[$0].isFinite || !dy[$0].isFinite }) {
                    throw corrupt("sample \(i), point \(k) has a non-finite offset (\(dx[k]), \(dy[k]))")
                }
                // An offset joins two points an importer accepted, so in raw units it is at most twice their limit.
                let st = header.stats
                if let k = dx.indices.first(where: {
                    let raw = st.denormalise(Point(x: Double(dx[$0]), y: Double(dy[$0])))
                    return !(abs(raw.x) <= OffsetStatistics.meanLimit && abs(raw.y) <= OffsetStatistics.meanLimit)
                }) {
                    throw corrupt("sample \(i), point \(k) has an offset (\(dx[k]), \(dy[k]) normalised) beyond "
                                  + "\(OffsetStatistics.meanLimit) in magnitude in raw units")
                }
                let ox = origin[2 * i], oy = origin[2 * i + 1]
                guard abs(ox) <= HandwritingSample.coordinateLimit, abs(oy) <= HandwritingSample.coordinateLimit else {
                    throw corrupt("sample \(i) has origin (\(ox), \(oy)), not finite or beyond "
                                  + "\(HandwritingSample.coordinateLimit) in magnitude")
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
                    originX: ox, originY: oy, dx: dx, dy: dy, eos: eos))
            }
            return PreparedDataset(header: header, samples: samples)
        }
    }

    /// Σ factor × count with overflow checks; nil on overflow or a negative term.
    static func checkedSum(_ terms: [(Int, Int)]) -> Int? {
        var total = 0
        for (factor, count) in terms {
            guard factor >= 0, count >= 0 else { return nil }
            let (product, o1) = factor.multipliedReportingOverflow(by: count)
            let (next, o2) = total.addingReportingOverflow(product)
            if o1 || o2 { return nil }
            total = next
        }
        return total
    }

    /// A decoding failure in one line of plain words: which field, and what was wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ extra: CodingKey? = nil) -> String {
            let keys = context.codingPath + (extra.map { [$0] } ?? [])
            let names = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "the top level" : "field " + names.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .keyNotFound(key, context): return "\(path(context, key)) is missing"
        case let .valueNotFound(_, context): return "\(path(context)) is null or missing"
        case let .typeMismatch(_, context): return "\(path(context)) has the wrong type"
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)) has a value this quill does not know"
        @unknown default: return "does not decode"
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

    /// Copies `count` values starting at byte `at` (any alignment). The caller has checked that
    /// `at + count * stride` lies inside `raw`.
    static func copy<T>(_ raw: UnsafeRawBufferPointer, at: Int, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0, let base = raw.baseAddress, let target = buffer.baseAddress {
                memcpy(target, base + at, count * MemoryLayout<T>.stride)
            }
            initialized = count
        }
    }
}
