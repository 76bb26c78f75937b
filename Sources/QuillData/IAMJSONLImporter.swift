import Foundation

/// Reads the JSON-lines form of IAM-OnDB (`iam_ondb_lines.jsonl`).
///
/// Each line is one object: `id`, `writer`, `split_graves`, `text`, `origin` [x0, y0] and `points`, a list of
/// [dx, dy, eos] offsets whose row 0 is [0, 0, eos]; absolute point k = origin + Σ rows 0…k, y pointing down.
/// Other keys are ignored, any key order is accepted, and `writer`, `split_graves` and `text` may be null.
public enum IAMJSONLImporter {
    /// Reads every record of one file into `result`.
    public static func load(path: String, skipInvalid: Bool, into result: inout ImportResult) throws {
        let data = try readFile(path)
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            try forEachLine(in: bytes) { start, end, line in
                try result.attempt(skipInvalid: skipInvalid) { r in
                    var cursor = JSONCursor(bytes: bytes, start: start, end: end, file: path, line: line)
                    let sample = try parseRecord(&cursor, source: path)
                    try r.add(sample, skipInvalid: false,
                              at: SourcePosition(file: path, line: line))
                }
            }
        }
    }

    /// Parses one record from a cursor placed at its opening brace.
    static func parseRecord(_ c: inout JSONCursor, source: String) throws -> HandwritingSample {
        var id: String?
        var writer: String?
        var text: String?
        var split: DataSplit?
        var origin: [Double]?
        var x = [Double](), y = [Double](), ends = [Int]()
        var sawPoints = false
        let recordStart = c
        try c.readObject { c, key in
            if keyEquals(key, "points") {
                sawPoints = true
                try readPoints(&c, x: &x, y: &y, ends: &ends)
            } else if keyEquals(key, "id") {
                id = try c.readString()
            } else if keyEquals(key, "text") {
                text = try c.takeNull() ? nil : try c.readString()
            } else if keyEquals(key, "writer") {
                if try c.takeNull() {
                    writer = nil
                } else if c.peek() == UInt8(ascii: "\"") {
                    writer = try c.readString()
                } else {
                    let n = try c.readNumber()
                    // Integral and exactly representable, so Int(n) cannot trap.
                    guard n == n.rounded(), abs(n) <= 9_007_199_254_740_992 else {
                        throw c.error("writer is \(n), expected a string or a whole number")
                    }
                    writer = String(Int(n))
                }
            } else if keyEquals(key, "split_graves") {
                if try c.takeNull() {
                    split = .unassigned
                } else {
                    let s = try c.readString()
                    switch s {
                    case "train": split = .train
                    case "valid", "validation": split = .validation
                    default: throw c.error("split_graves is '\(s)', expected \"train\", \"valid\" or null")
                    }
                }
            } else if keyEquals(key, "origin") {
                var o = [Double]()
                try c.readArray { c in o.append(try c.readNumber()) }
                guard o.count == 2 else { throw c.error("origin must be [x, y]") }
                origin = o
            } else {
                try c.skipValue()
            }
        }
        try c.expectEnd()
        guard let id else { throw recordStart.missing("id") }
        guard sawPoints else { throw recordStart.missing("points (record \(id))") }
        guard let origin else { throw recordStart.missing("origin (record \(id))") }
        // Absolute point k = origin + Σ rows 0…k.
        var cx = origin[0], cy = origin[1]
        for i in 0..<x.count {
            cx += x[i]
            cy += y[i]
            x[i] = cx
            y[i] = cy
        }
        if let last = ends.last, last != x.count { ends.append(x.count) }  // last point without eos closes its stroke
        if ends.isEmpty, !x.isEmpty { ends.append(x.count) }
        return HandwritingSample(id: id, source: source, writer: writer, text: text, split: split,
                                 x: x, y: y, strokeEnds: ends)
    }

    /// Reads `[[dx, dy, eos], …]` into offset columns and stroke ends.
    @inline(__always)
    static func readPoints(_ c: inout JSONCursor, x: inout [Double], y: inout [Double], ends: inout [Int]) throws {
        x.reserveCapacity(1024)
        y.reserveCapacity(1024)
        if c.readCompactIntegerRows(x: &x, y: &y, ends: &ends) { return }
        try c.readArray { c in
            try c.expect(UInt8(ascii: "["))
            let dx = try c.readNumber()
            try c.expect(UInt8(ascii: ","))
            let dy = try c.readNumber()
            try c.expect(UInt8(ascii: ","))
            let eos = try c.readNumber()
            try c.expect(UInt8(ascii: "]"))
            guard eos == 0 || eos == 1 else { throw c.error("eos must be 0 or 1, found \(eos)") }
            x.append(dx)
            y.append(dy)
            if eos == 1 { ends.append(x.count) }
        }
    }
}

extension JSONCursor {
    /// Fast path for the layout the IAM file actually has: `[[int,int,0|1],…]` with no white space.
    /// Returns false, leaving the cursor and the arrays untouched, at the first deviation; the general
    /// parser then reads the value again and reports any error with its position.
    @inline(__always)
    mutating func readCompactIntegerRows(x: inout [Double], y: inout [Double], ends: inout [Int]) -> Bool {
        skipWhitespace()
        var i = index
        let n0 = x.count, e0 = ends.count
        func fail() -> Bool {
            x.removeSubrange(n0...)
            y.removeSubrange(n0...)
            ends.removeSubrange(e0...)
            return false
        }
        @inline(__always) func int(_ i: inout Int) -> Int? {
            var negative = false
            if i < end, bytes[i] == UInt8(ascii: "-") {
                negative = true
                i += 1
            }
            var v = 0, digits = 0
            if i + 1 < end, bytes[i] == UInt8(ascii: "0"), bytes[i + 1] &- 0x30 <= 9 { return nil }  // 07: not JSON
            while i < end, digits < 15 {
                let d = bytes[i] &- 0x30
                if d > 9 { break }
                v = v * 10 + Int(d)
                digits += 1
                i += 1
            }
            return digits == 0 ? nil : (negative ? -v : v)
        }
        guard i < end, bytes[i] == UInt8(ascii: "[") else { return false }
        i += 1
        if i < end, bytes[i] == UInt8(ascii: "]") {
            index = i + 1
            return true
        }
        while true {
            guard i < end, bytes[i] == UInt8(ascii: "[") else { return fail() }
            i += 1
            guard let dx = int(&i), i < end, bytes[i] == UInt8(ascii: ",") else { return fail() }
            i += 1
            guard let dy = int(&i), i + 1 < end, bytes[i] == UInt8(ascii: ","),
                  bytes[i + 1] == UInt8(ascii: "0") || bytes[i + 1] == UInt8(ascii: "1"),
                  i + 2 < end, bytes[i + 2] == UInt8(ascii: "]") else { return fail() }
            x.append(Double(dx))
            y.append(Double(dy))
            if bytes[i + 1] == UInt8(ascii: "1") { ends.append(x.count) }
            i += 3
            guard i < end else { return fail() }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard bytes[i] == UInt8(ascii: "]") else { return fail() }
            index = i + 1
            return true
        }
    }

    /// A missing-field error at this cursor's line.
    func missing(_ field: String) -> DatasetError {
        .missingField(SourcePosition(file: file, line: line), field)
    }
}
