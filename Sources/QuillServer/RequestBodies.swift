import Foundation
import QuillData
import QuillRender

/// A JSON object's keys, whatever they are: bodies are read key by key so an unknown field can be named.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

/// Reading a body's fields with errors that name them (`APIError`, 400).
extension KeyedDecodingContainer where K == AnyKey {
    /// Refuses any key not in `known`, naming it and the known ones.
    func refuseUnknown(_ known: [String], prefix: String = "") throws {
        for key in allKeys where !known.contains(key.stringValue) {
            let name = prefix + key.stringValue
            throw APIError.bad(name, "unknown field '\(String(name.prefix(100)))'; the fields are \(known.joined(separator: ", "))")
        }
    }

    /// The value of `name` as `T`, nil when absent or null; `what` says what it must be.
    func field<T: Decodable>(_ name: String, _ type: T.Type, _ what: String, prefix: String = "") throws -> T? {
        let key = AnyKey(name)
        guard contains(key) else { return nil }
        if (try? decodeNil(forKey: key)) == true { return nil }
        do { return try decode(T.self, forKey: key) } catch let e as APIError { throw e } catch {
            throw APIError.bad(prefix + name, "\(prefix + name) must be \(what)")
        }
    }
}

/// The body of `POST /v1/write` and `/v1/write/stream`: `{text, style?, bias?, seed?, color?, width?}`, checked
/// field by field (the text's characters are checked later, against the model's alphabet).
struct WriteBody: Decodable, Sendable {
    static let fields = ["text", "style", "bias", "seed", "color", "width"]
    /// Graves's bias range, as `quill write --bias`.
    static let biasRange = 0.0...20
    /// The pen width range, as `quill write --pen-width` (0.1 to 50 points).
    static let widthRange = StrokeStyle.widthRange

    /// The width field of a write or render body, checked against `widthRange`; nil when absent.
    static func width(_ c: KeyedDecodingContainer<AnyKey>) throws -> Double? {
        let what = "a number of points from \(OptionText.number(widthRange.lowerBound)) to \(OptionText.number(widthRange.upperBound))"
        let width = try c.field("width", Double.self, what)
        if let width, !(width.isFinite && widthRange.contains(width)) {
            throw APIError.bad("width", "width must be \(what) (as quill write --pen-width), got \(OptionText.number(width))")
        }
        return width
    }

    var text: String
    /// nil: the model's default style; "none": the page's own hand.
    var style: String?
    var bias: Double?
    var seed: UInt64?
    var color: Color
    /// The colour as the request gave it, for messages.
    var colorName: String
    var width: Double?

    init(from decoder: Decoder) throws {
        let c: KeyedDecodingContainer<AnyKey>
        do { c = try decoder.container(keyedBy: AnyKey.self) } catch {
            throw APIError.bad(nil, "the body must be a JSON object with the fields \(Self.fields.joined(separator: ", "))")
        }
        try c.refuseUnknown(Self.fields)
        guard let text = try c.field("text", String.self, "a string") else {
            throw APIError.bad("text", "text is missing; give the text to write")
        }
        self.text = text
        style = try c.field("style", String.self, "a string: a style name of GET /v1/styles, or \"none\"")
        if let style, style.isEmpty || style.count > 100 {
            throw APIError.bad("style", "style must be a style name of GET /v1/styles, or \"none\"")
        }
        bias = try c.field("bias", Double.self, "a number from 0 to 20")
        if let bias, !(bias.isFinite && Self.biasRange.contains(bias)) {
            throw APIError.bad("bias", "bias must be a number from 0 to 20, got \(OptionText.number(bias))")
        }
        if bias == 0 { bias = 0 }  // -0 is 0: the answer echoes 0, not -0
        seed = try c.field("seed", UInt64.self, "a whole number from 0 to 18446744073709551615")
        colorName = try c.field("color", String.self, "a string: a colour name or #hex code") ?? "ink"
        guard let color = Color(parsing: colorName) else {
            throw APIError.bad("color", "color '\(String(colorName.prefix(40)))' is not a colour; use a name (\(Color.named.keys.sorted().joined(separator: ", "))) or a hex code such as #1a1f3a")
        }
        self.color = color
        width = try Self.width(c)
    }
}

/// The body of `POST /v1/render`: `{lines: [{points: [[x, y, end], ...]} | null, ...], format, color?, width?,
/// size?}`, points in page points (y down), as `/v1/write` answers. A line object may carry the other fields of a
/// `/v1/write` line (`text`, `phi`, `pi`), which are ignored, so a write answer's lines can be sent back as they are.
///
/// Every page it accepts can be drawn: points lie within ±`Canvas.maximumPoints`, the page is at most that on a
/// side, and a PNG has at most `maximumPNGPixels` pixels.
struct RenderBody: Decodable, Sendable {
    static let fields = ["lines", "format", "color", "width", "size"]
    static let formats = ["svg", "png", "pdf"]
    /// A PNG's resolution: 150 dpi, pixels per page point.
    static let pngScale = 150.0 / 72
    /// The most pixels a PNG may have: 16 megapixels (4096 × 4096, 64 MiB of image in memory; a US Letter page at
    /// 150 dpi is 2.1). A larger raster took one worker tens of seconds and gigabytes; Cairo writes a PNG without a
    /// way to stop it, so this bounds the part of a render that the time limit cannot cut short.
    static let maximumPNGPixels = 16_777_216
    /// The largest page side the size field takes, in points (200 inches).
    static let maximumSizeSide = 14_400.0

    /// Each line's strokes in page points; empty for a blank line.
    var lines: [[Stroke]]
    var format: String
    var color: Color
    var width: Double
    /// The page's size in points: as given, else the ink's extent and the page margin (ink at negative x or y then
    /// moved right or down to the margin).
    var size: Size

    var mediaType: String {
        ["svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"][format] ?? "application/octet-stream"
    }

    /// What a point must be, in every message about one.
    static let pointRule = "a point is [x, y, end]: x and y page points from -100000 to 100000 (the largest page), end 0 or 1"

    /// One line: its points as given, checked by `init(from:)` of the body. Errors name the line by its index in
    /// `lines` (`lines[2].points[7]`), the one way every field of a render body is named.
    private struct Line: Decodable {
        var points: [[Double]]
        init(from decoder: Decoder) throws {
            let index = decoder.codingPath.last?.intValue.map(String.init) ?? ""
            let prefix = "lines[\(index)]."
            let c: KeyedDecodingContainer<AnyKey>
            do { c = try decoder.container(keyedBy: AnyKey.self) } catch {
                throw APIError.bad("lines[\(index)]", "each line is {\"points\": [[x, y, end], ...]} or null")
            }
            try c.refuseUnknown(["points", "text", "phi", "pi"], prefix: prefix)
            guard let points = try c.field("points", [[Double]].self, "a list of points; \(RenderBody.pointRule)", prefix: prefix) else {
                throw APIError.bad(prefix + "points", "each line needs its points, [[x, y, end], ...]")
            }
            self.points = points
        }
    }

    /// The size field as given, `{"width": w, "height": h}`: an unknown field in it is named (`size.depth`), as
    /// everywhere else; the values are checked by the body.
    private struct SizeField: Decodable {
        var width: Double?
        var height: Double?
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try c.refuseUnknown(["width", "height"], prefix: "size.")
            width = try c.field("width", Double.self, "a number of points from 1 to 14400", prefix: "size.")
            height = try c.field("height", Double.self, "a number of points from 1 to 14400", prefix: "size.")
        }
    }

    init(from decoder: Decoder) throws {
        let c: KeyedDecodingContainer<AnyKey>
        do { c = try decoder.container(keyedBy: AnyKey.self) } catch {
            throw APIError.bad(nil, "the body must be a JSON object with the fields \(Self.fields.joined(separator: ", "))")
        }
        try c.refuseUnknown(Self.fields)
        guard let raw = try c.field("lines", [Line?].self, "a list of lines, each {\"points\": [[x, y, end], ...]} or null") else {
            throw APIError.bad("lines", "lines is missing; give the lines of a /v1/write answer")
        }
        var lines: [[Stroke]] = []
        for (i, line) in raw.enumerated() {
            var strokes: [Stroke] = [], current: Stroke = []
            for (j, p) in (line?.points ?? []).enumerated() {
                guard p.count == 3, p[0].isFinite, p[1].isFinite, p[2] == 0 || p[2] == 1,
                      abs(p[0]) <= Canvas.maximumPoints, abs(p[1]) <= Canvas.maximumPoints else {
                    throw APIError.bad("lines[\(i)].points[\(j)]", "lines[\(i)].points[\(j)] must be a point; \(Self.pointRule)")
                }
                current.append(Point(x: p[0], y: p[1]))
                if p[2] == 1 { strokes.append(current); current = [] }
            }
            if !current.isEmpty { strokes.append(current) }
            lines.append(strokes)
        }
        guard lines.contains(where: { !$0.isEmpty }) else { throw APIError.bad("lines", "every line is blank; nothing to draw") }
        self.lines = lines
        guard let format = try c.field("format", String.self, "one of svg, png, pdf") else {
            throw APIError.bad("format", "format is missing; give svg, png or pdf")
        }
        guard Self.formats.contains(format) else { throw APIError.bad("format", "format must be one of svg, png, pdf") }
        self.format = format
        let colorName = try c.field("color", String.self, "a string: a colour name or #hex code") ?? "ink"
        guard let color = Color(parsing: colorName) else {
            throw APIError.bad("color", "color '\(String(colorName.prefix(40)))' is not a colour; use a name (\(Color.named.keys.sorted().joined(separator: ", "))) or a hex code such as #1a1f3a")
        }
        self.color = color
        width = try WriteBody.width(c) ?? 2
        let sizeField: String
        if let s = try c.field("size", SizeField.self, "{\"width\": w, \"height\": h} in points") {
            guard let w = s.width, let h = s.height, w.isFinite, h.isFinite, w >= 1, h >= 1,
                  w <= Self.maximumSizeSide, h <= Self.maximumSizeSide else {
                throw APIError.bad("size", "size must be {\"width\": w, \"height\": h}, each from 1 to 14400 points")
            }
            size = Size(width: w, height: h)
            sizeField = "size"
        } else {
            // The ink's extent and the margin, as a page of `quill write` has it around its ink. Ink left of or
            // above the page's corner (negative x or y) is moved right or down to the margin, so none is cut off.
            let margin = PageOptions().margin + width / 2
            if let before = Rect.bounding(strokes: lines.flatMap { $0 }), before.minX < 0 || before.minY < 0 {
                let dx = before.minX < 0 ? margin - before.minX : 0, dy = before.minY < 0 ? margin - before.minY : 0
                self.lines = lines.map { $0.map { $0.map { Point(x: $0.x + dx, y: $0.y + dy) } } }
            }
            let ink = Rect.bounding(strokes: self.lines.flatMap { $0 })
            size = Size(width: max(1, (ink?.maxX ?? 0) + margin), height: max(1, (ink?.maxY ?? 0) + margin))
            sizeField = "lines"
            if max(size.width, size.height) > Canvas.maximumPoints {
                throw APIError.bad("lines", "the ink reaches \(OptionText.number((max(ink?.maxX ?? 0, ink?.maxY ?? 0)).rounded())) points from the page's corner; with the margin the page would be \(OptionText.number(size.width.rounded(.up))) × \(OptionText.number(size.height.rounded(.up))) points, more than the largest page, 100000 points on a side")
            }
        }
        if format == "png" {
            let w = (size.width * Self.pngScale).rounded(.up), h = (size.height * Self.pngScale).rounded(.up)
            if max(w, h) > Canvas.maximumPixels {
                throw APIError.bad(sizeField, "a PNG of \(OptionText.number(size.width.rounded(.up))) × \(OptionText.number(size.height.rounded(.up))) points is \(Int(w)) × \(Int(h)) pixels at 150 dpi, more than the 32767 pixels a PNG can have on a side; ask for svg or pdf")
            }
            if w * h > Double(Self.maximumPNGPixels) {
                throw APIError.bad(sizeField, "a PNG of \(OptionText.number(size.width.rounded(.up))) × \(OptionText.number(size.height.rounded(.up))) points is \(Int(w)) × \(Int(h)) pixels at 150 dpi, more than this server's limit of 16777216 pixels (16 megapixels, 4096 × 4096); \(sizeField == "size" ? "give a smaller size" : "draw fewer lines"), or ask for svg or pdf")
            }
        }
    }
}

extension Color {
    /// `#rrggbb`, or `#rrggbbaa` when the colour is not opaque.
    var hexCode: String {
        func byte(_ v: Double) -> String {
            let b = Int((min(max(v, 0), 1) * 255).rounded())
            return String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16)
        }
        return "#" + byte(r) + byte(g) + byte(b) + (a < 1 ? byte(a) : "")
    }
}
