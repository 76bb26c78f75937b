import Foundation

/// One of the Hershey vector fonts (A. V. Hershey, U.S. National Bureau of Standards, 1967), read from the
/// SVG-path JSON of Evil Mad Scientist's "Hershey Text" (`hersheytext.json`, in ../shared/datasets/hershey_fonts_json):
/// single-stroke glyphs for the printable ASCII characters `!`…`~`, drawn with straight segments between integer
/// points, y down, about 30 units from the top of a capital to the bottom of a descender (baseline at y = 22 in the
/// script fonts). Quill uses the single-stroke script fonts as pen trajectories for the characters IAM-OnDB has too
/// few of (`SyntheticLines`).
public struct HersheyFont: Sendable, Equatable {
    /// The font's id in the file (`scripts`, `cursive`, …).
    public var id: String
    /// The glyph of each character (space has none: it is only an advance).
    public var glyphs: [Character: Glyph]

    /// One character: its strokes (polylines, font units, y down) and its advance.
    public struct Glyph: Sendable, Equatable {
        /// Pen-down polylines, each of one point or more.
        public var strokes: [[Point]]
        /// The horizontal distance to the next glyph's origin, in font units: the glyph's right edge (script fonts
        /// leave a letter where the next begins, so connected letters join), at least 1.
        public var advance: Double

        public init(strokes: [[Point]], advance: Double) {
            self.strokes = strokes
            self.advance = advance
        }

        /// The smallest rectangle holding every point: (minX, minY, maxX, maxY); all zero for a glyph without points.
        public var bounds: (minX: Double, minY: Double, maxX: Double, maxY: Double) {
            let p = strokes.joined()
            guard let first = p.first else { return (0, 0, 0, 0) }
            return p.reduce((first.x, first.y, first.x, first.y)) {
                (min($0.0, $1.x), min($0.1, $1.y), max($0.2, $1.x), max($0.3, $1.y))
            }
        }
    }

    /// The single-stroke script fonts of the file, in the order `SyntheticLines` cycles through them.
    public static let scriptFontIDs = ["scripts", "cursive"]
    /// The file's single-stroke fonts of the Latin alphabet, which synthetic lines may be written in: the script
    /// fonts and `futural` (simplex roman, print letters). The file's other fonts are double-stroke outlines or
    /// other scripts (Greek, Cyrillic, kana, symbols) at the code points of ASCII.
    public static let handwritingFontIDs = scriptFontIDs + ["futural"]

    /// Why `ids` can't be the fonts of synthetic lines (none, twice, or not in `handwritingFontIDs`), or nil.
    public static func problem(withHandwritingFonts ids: [String]) -> String? {
        if ids.isEmpty { return "no font given" }
        if Set(ids).count != ids.count { return "a font is named twice" }
        if let other = ids.first(where: { !handwritingFontIDs.contains($0) }) {
            let shown = other.count > 40 ? String(other.prefix(40)) + "…" : other
            return "'\(shown)' is not a single-stroke Latin font; use \(handwritingFontIDs.joined(separator: ", "))"
        }
        return nil
    }

    /// The printable ASCII characters `!`…`~` without a glyph, and the letters and digits whose glyph is under
    /// 5 font units tall (a dot or a dash where a letter should be): what synthetic lines can't be written with.
    public var unusableCharacters: [Character] {
        (33...126).compactMap { code -> Character? in
            let c = Character(Unicode.Scalar(UInt8(code)))
            guard let g = glyphs[c] else { return c }
            let b = g.bounds
            return (c.isLetter || c.isNumber) && b.maxY - b.minY < 5 ? c : nil
        }
    }

    /// The most glyph points and path characters the reader accepts (the file's largest glyph has a few hundred).
    static let maximumPathLength = 20_000
    /// Coordinates outside ±this are refused (the file's lie within -10…40).
    static let coordinateLimit = 1000.0

    public init(id: String, glyphs: [Character: Glyph]) {
        self.id = id
        self.glyphs = glyphs
    }

    /// Reads font `id` from a `hersheytext.json` file (`{"<id>": {"name": …, "chars": [{"d": path, "o": int}, …]}}`,
    /// `chars[i]` the glyph of the character with code 33 + i).
    /// - Throws: `DatasetError` naming the file for a missing or unreadable file, malformed JSON, an unknown font id
    ///   (the error lists the file's fonts) or a malformed path (an unknown command, a number out of range).
    public static func load(path: String, font id: String) throws -> HersheyFont {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DatasetError.io(path, "cannot read the Hershey font file (\(error.localizedDescription))")
        }
        return try parse(data, font: id, file: path)
    }

    /// Parses font `id` from the JSON bytes of a `hersheytext.json` file; `file` names it in errors.
    public static func parse(_ data: Data, font id: String, file: String) throws -> HersheyFont {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw DatasetError.invalidFont("\(file): not a Hershey font file (a JSON object of fonts)")
        }
        guard let font = root[id] as? [String: Any] else {
            let ids = root.keys.sorted()
            let listed = ids.prefix(30).map { $0.count > 40 ? String($0.prefix(40)) + "…" : $0 }.joined(separator: ", ")
                + (ids.count > 30 ? " and \(ids.count - 30) more" : "")
            throw DatasetError.invalidFont("\(file): no font '\(id)'; it has \(ids.isEmpty ? "none" : listed)")
        }
        guard let chars = font["chars"] as? [Any] else {
            throw DatasetError.invalidFont("\(file): font '\(id)' has no list of chars")
        }
        var glyphs = [Character: Glyph]()
        for (i, entry) in chars.prefix(94).enumerated() {
            guard let e = entry as? [String: Any], let d = e["d"] as? String else {
                throw DatasetError.invalidFont("\(file): font '\(id)', glyph \(i + 1): no path \"d\"")
            }
            let strokes = try parsePath(d, where: "\(file): font '\(id)', glyph \(i + 1)")
            guard !strokes.isEmpty, let scalar = Unicode.Scalar(33 + i) else { continue }
            let bounds = Glyph(strokes: strokes, advance: 0).bounds
            glyphs[Character(scalar)] = Glyph(strokes: strokes, advance: max(1, bounds.maxX))
        }
        return HersheyFont(id: id, glyphs: glyphs)
    }

    /// Parses an SVG path of absolute `M x,y` and `L x,y x,y …` commands into polylines.
    static func parsePath(_ d: String, where place: String) throws -> [[Point]] {
        guard d.utf8.count <= maximumPathLength else { throw DatasetError.invalidFont("\(place): the path is too long") }
        var strokes = [[Point]]()
        var command: Character?
        for token in d.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            var t = Substring(token)
            if let c = t.first, c == "M" || c == "L" {
                command = c
                t = t.dropFirst()
                if t.isEmpty { continue }
            }
            let parts = t.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, let x = Double(parts[0]), let y = Double(parts[1]), x.isFinite, y.isFinite,
                  abs(x) <= coordinateLimit, abs(y) <= coordinateLimit else {
                throw DatasetError.invalidFont("\(place): '\(token)' is not a point x,y (|x|, |y| ≤ \(Int(coordinateLimit)))")
            }
            switch command {
            case "M": strokes.append([Point(x, y)]); command = "L"
            case "L" where !strokes.isEmpty: strokes[strokes.count - 1].append(Point(x, y))
            default: throw DatasetError.invalidFont("\(place): the path must start with M")
            }
        }
        return strokes
    }
}
