import Foundation

/// Reads Google Quick, Draw! ndjson, raw or simplified.
///
/// Each line is one drawing: `key_id`, `word`, `countrycode` and `drawing`, a list of strokes. A raw stroke is
/// `[[x…], [y…], [t…]]` (absolute canvas pixels, floats allowed, t in milliseconds); a simplified one is
/// `[[x…], [y…]]` (integers 0…255). y points down. `word` becomes the transcription, `countrycode` is kept as the
/// writer field (the only information about who drew it).
public enum QuickDrawImporter {
    /// Reads every drawing of one file into `result`.
    public static func load(path: String, skipInvalid: Bool, into result: inout ImportResult) throws {
        let data = try readFile(path)
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            try forEachLine(in: bytes) { start, end, line in
                try result.attempt(skipInvalid: skipInvalid) { r in
                    var cursor = JSONCursor(bytes: bytes, start: start, end: end, file: path, line: line)
                    try r.add(try parseRecord(&cursor, source: path), skipInvalid: false,
                              at: SourcePosition(file: path, line: line))
                }
            }
        }
    }

    static func parseRecord(_ c: inout JSONCursor, source: String) throws -> HandwritingSample {
        var id: String?
        var word: String?
        var country: String?
        var x = [Double](), y = [Double](), t = [Double](), ends = [Int]()
        var timed: Bool?
        var sawDrawing = false
        let recordStart = c
        try c.readObject { c, key in
            if keyEquals(key, "drawing") {
                sawDrawing = true
                try c.readArray { c in
                    var columns = [[Double]]()
                    try c.readArray { c in
                        var column = [Double]()
                        try c.readArray { c in column.append(try c.readNumber()) }
                        columns.append(column)
                    }
                    guard columns.count == 2 || columns.count == 3 else {
                        throw c.error("a stroke must be [[x…], [y…]] or [[x…], [y…], [t…]], found \(columns.count) lists")
                    }
                    guard columns.allSatisfy({ $0.count == columns[0].count }) else {
                        throw c.error("stroke \(ends.count): x, y (and t) lists differ in length")
                    }
                    let hasTime = columns.count == 3
                    if let timed, timed != hasTime { throw c.error("strokes mix raw [x, y, t] and simplified [x, y]") }
                    timed = hasTime
                    x.append(contentsOf: columns[0])
                    y.append(contentsOf: columns[1])
                    if hasTime { t.append(contentsOf: columns[2]) }
                    guard !columns[0].isEmpty else {
                        throw DatasetError.emptyStroke(SourcePosition(file: c.file, line: c.line), stroke: ends.count)
                    }
                    ends.append(x.count)
                }
            } else if keyEquals(key, "key_id") {
                id = c.peek() == UInt8(ascii: "\"") ? try c.readString() : String(format: "%.0f", try c.readNumber())
            } else if keyEquals(key, "word") {
                word = try c.takeNull() ? nil : try c.readString()
            } else if keyEquals(key, "countrycode") {
                country = try c.takeNull() ? nil : try c.readString()
            } else {
                try c.skipValue()
            }
        }
        try c.expectEnd()
        guard sawDrawing else { throw recordStart.missing("drawing") }
        return HandwritingSample(id: id ?? "line\(recordStart.line)", source: source, writer: country, text: word,
                                 x: x, y: y, time: timed == true ? t : nil, strokeEnds: ends)
    }
}
