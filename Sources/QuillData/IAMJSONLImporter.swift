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
                    try r.add(sample, skipInvalid: false)
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
                    writer = String(Int(try c.readNumber()))
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
    /// A missing-field error at this cursor's line.
    func missing(_ field: String) -> DatasetError {
        .missingField(SourcePosition(file: file, line: line), field)
    }
}
