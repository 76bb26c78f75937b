/// Which part of the data a sample belongs to.
public enum DataSplit: UInt8, Codable, CaseIterable, Sendable, CustomStringConvertible {
    case train = 0
    case validation = 1
    /// The source has a split but leaves this sample out of it (for IAM-OnDB: 9 lines Graves did not use).
    case unassigned = 2

    public var description: String {
        switch self {
        case .train: return "train"
        case .validation: return "validation"
        case .unassigned: return "unassigned"
        }
    }
}

/// One handwriting sample: pen points grouped into strokes (pen-down segments), in absolute coordinates.
///
/// Points are stored flat, column by column (`x`, `y`, optional `time`); `strokeEnds[k]` is the exclusive end index
/// of stroke k, so stroke k covers `strokeEnds[k-1]..<strokeEnds[k]`. Importers produce y pointing down,
/// as all supported sources do.
public struct HandwritingSample: Equatable, Sendable {
    /// Identifier within the source (IAM line id, QuickDraw key_id, InkML file name).
    public var id: String
    /// Where the sample came from (the file path), for error messages and provenance.
    public var source: String
    public var writer: String?
    /// The transcription; nil when the source has none.
    public var text: String?
    /// The split the source assigns, if it gives one.
    public var split: DataSplit?
    public var x: [Double]
    public var y: [Double]
    /// Per-point time stamps in the source's unit, when the source records them.
    public var time: [Double]?
    /// Exclusive end index of each stroke; increasing, the last equals the point count.
    public var strokeEnds: [Int]

    public init(id: String, source: String = "", writer: String? = nil, text: String? = nil, split: DataSplit? = nil,
                x: [Double], y: [Double], time: [Double]? = nil, strokeEnds: [Int]) {
        self.id = id
        self.source = source
        self.writer = writer
        self.text = text
        self.split = split
        self.x = x
        self.y = y
        self.time = time
        self.strokeEnds = strokeEnds
    }

    /// Builds a sample from strokes given as lists of points.
    public init(id: String, strokes: [Stroke], text: String? = nil) {
        var xs = [Double](), ys = [Double](), ends = [Int]()
        for stroke in strokes {
            for p in stroke {
                xs.append(p.x)
                ys.append(p.y)
            }
            ends.append(xs.count)
        }
        self.init(id: id, text: text, x: xs, y: ys, strokeEnds: ends)
    }

    public static func == (a: HandwritingSample, b: HandwritingSample) -> Bool {
        a.id == b.id && a.source == b.source && a.writer == b.writer && a.text == b.text && a.split == b.split
            && a.x == b.x && a.y == b.y && a.time == b.time && a.strokeEnds == b.strokeEnds
    }

    public var pointCount: Int { x.count }
    public var strokeCount: Int { strokeEnds.count }

    /// The index range of each stroke.
    public var strokeRanges: [Range<Int>] {
        var start = 0
        return strokeEnds.map { end in
            defer { start = end }
            return start..<end
        }
    }

    /// The sample's strokes as lists of points.
    public var strokes: [Stroke] {
        strokeRanges.map { r in r.map { Point(x: x[$0], y: y[$0]) } }
    }

    /// Checks the invariants importers promise: at least one stroke, no empty stroke, finite coordinates no larger
    /// than `limit` in magnitude, finite times, consistent column lengths, and a transcription without control or
    /// bidirectional-override characters (`DatasetError.missingField` naming the code point).
    /// `position` names the record in errors (default: the source file).
    public func validate(limit: Double = HandwritingSample.coordinateLimit, at position: SourcePosition? = nil) throws {
        let pos = position ?? SourcePosition(file: source.isEmpty ? id : source)
        guard !strokeEnds.isEmpty, !x.isEmpty else { throw DatasetError.emptyStroke(pos, stroke: 0) }
        guard x.count == y.count, time.map({ $0.count == x.count }) ?? true, strokeEnds.last == x.count else {
            throw DatasetError.malformedJSON(pos, "sample \(id): coordinate columns have different lengths")
        }
        var start = 0
        for (k, end) in strokeEnds.enumerated() {
            if end <= start { throw DatasetError.emptyStroke(pos, stroke: k) }
            start = end
        }
        for i in 0..<x.count where !(abs(x[i]) <= limit && abs(y[i]) <= limit) {  // false for NaN and ±inf too
            let (name, v) = abs(x[i]) <= limit ? ("y", y[i]) : ("x", x[i])
            throw DatasetError.badCoordinate(pos, "sample \(id), point \(i): \(name) = \(v) "
                + "(must be finite and at most \(limit) in magnitude)")
        }
        if let time, let i = time.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError.badCoordinate(pos, "sample \(id), point \(i): time = \(time[i]) (must be finite)")
        }
        if let text, let (offset, scalar) = text.unicodeScalars.enumerated().first(where: { Self.refusedInText($0.1) }) {
            let code = "U+" + String(String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4))
            throw DatasetError.missingField(pos, "\"text\" of sample \(id) (it holds \(code) at character "
                + "\(offset + 1), a control or bidirectional-override character; a transcription is printable text, "
                + "so remove it from the file)")
        }
    }

    /// Characters a transcription may not hold: C0 and C1 controls other than tab, line feed and carriage return
    /// (NUL, ESC, DEL…), and the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069),
    /// which would rewrite a terminal line when the text is printed.
    static func refusedInText(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// Coordinates beyond this magnitude are treated as corrupt ("absurd"): real tablets and whiteboards
    /// report at most tens of thousands of units.
    public static let coordinateLimit = 1.0e7
}
