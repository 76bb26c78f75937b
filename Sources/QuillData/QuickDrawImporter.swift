import Foundation

/// Reads Google Quick, Draw! ndjson, raw or simplified.
///
/// Each line is one drawing: `key_id`, `word`, `countrycode` and `drawing`, a list of strokes. A raw stroke is
/// `[[x…], [y…], [t…]]` (absolute canvas pixels, floats allowed, t in milliseconds); a simplified one is
/// `[[x…], [y…]]` (integers 0…255). y points down. `word` becomes the transcription, `countrycode` is kept as the
/// writer field (the only information about who drew it).
///
/// The two forms have different scales, so one import takes one kind only (`Kind`); a drawing of another kind
/// than the first one read, in the same file or a later one, stops the import with `DatasetError.mixedInputs`
/// (even with --skip-invalid, which would otherwise drop every drawing of one kind).
public enum QuickDrawImporter {
    /// The form of a drawing, told apart by what Google's two files actually differ in.
    enum Kind: Equatable, Sendable, CustomStringConvertible {
        /// Strokes carry a time list: canvas pixels.
        case raw
        /// No times and every coordinate a whole number in 0…255: scaled to a 256-unit box.
        case simplified
        /// No times, but coordinates outside 0…255 or fractional: a raw-scale drawing without times.
        case untimedRaw

        static func of(_ s: HandwritingSample) -> Kind {
            if s.time != nil { return .raw }
            let simple = zip(s.x, s.y).allSatisfy { x, y in
                x >= 0 && x <= 255 && y >= 0 && y <= 255 && x == x.rounded() && y == y.rounded()
            }
            return simple ? .simplified : .untimedRaw
        }

        var description: String {
            switch self {
            case .raw: return "raw (canvas pixels, with times)"
            case .simplified: return "simplified (whole numbers 0…255, no times)"
            case .untimedRaw: return "untimed with coordinates beyond the simplified 0…255 box"
            }
        }
    }

    /// Reads every drawing of one file into `result`.
    public static func load(path: String, skipInvalid: Bool, into result: inout ImportResult) throws {
        let data = try readFile(path)
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            try forEachLine(in: bytes) { start, end, line in
                var mixed: DatasetError?
                try result.attempt(skipInvalid: skipInvalid) { r in
                    var cursor = JSONCursor(bytes: bytes, start: start, end: end, file: path, line: line)
                    let position = SourcePosition(file: path, line: line)
                    let sample = try parseRecord(&cursor, source: path)
                    try sample.validate(at: position)
                    let kind = Kind.of(sample)
                    if let first = r.quickDrawKind, first.kind != kind {
                        mixed = .mixedInputs(position, "this drawing is \(kind), but the drawing at \(first.at) is "
                                             + "\(first.kind); the two scales cannot be mixed in one dataset")
                        return
                    }
                    if r.quickDrawKind == nil { r.quickDrawKind = (kind, position) }
                    r.samples.append(sample)
                }
                if let mixed { throw mixed }
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
