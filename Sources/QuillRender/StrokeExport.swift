import Foundation
import QuillData
import QuillIO

/// Files that carry a page's strokes rather than a picture of them, chosen by the output's extension: stroke
/// exports other programs read (InkML, JSON, NumPy) and pen-plotter programs (G-code, HPGL).
public enum StrokeFormat: String, CaseIterable, Sendable {
    /// W3C InkML: one `<traceGroup>` per line, one `<trace>` per stroke, X and Y in points, y down; the page's text
    /// (its lines joined by line breaks) as the root `<annotation type="truth">`, so `quill write --prime-inkml`
    /// (one line) and `quill data import inkml` read it.
    case inkml
    /// JSON: the page size and, per line, its text and strokes as [x, y] pairs in points, y down.
    case json
    /// NumPy `.npy`: an (N, 3) float32 array of Graves's offsets (dx, dy, end of stroke) in points, y down.
    case npy
    /// G-code for a pen plotter (`PlotterOptions`), in millimetres.
    case gcode
    /// HP-GL for a pen plotter, in plotter units of 0.025 mm.
    case hpgl

    /// The stroke format for `path`'s extension (case-insensitive), or nil (an image, or an unknown extension).
    public static func forPath(_ path: String) -> StrokeFormat? {
        StrokeFormat(rawValue: (path as NSString).pathExtension.lowercased())
    }

    /// Whether the format is a program for a pen plotter.
    public var isPlotter: Bool { self == .gcode || self == .hpgl }
}

/// Writes a laid-out page's strokes (`StrokeRenderer.place`) in a `StrokeFormat`.
public enum StrokeExport {
    /// What an export wrote: its bytes and, for plotter programs, the pen-up travel in millimetres of the order
    /// written and of the order the strokes were sampled in.
    public struct Report: Sendable {
        public var bytes: Int
        public var penUpTravel: (written: Double, sampled: Double)?
    }

    /// Writes `page` to `path` in `format`, atomically (complete or absent). `texts` holds each line's text (nil for
    /// a blank line), as many as the page has lines. Throws `RenderError` for a page without ink and
    /// `FileSystemError` when the file cannot be written.
    @discardableResult
    public static func write(_ page: PlacedPage, texts: [String?], format: StrokeFormat, to path: String,
                             plotter: PlotterOptions = PlotterOptions()) throws -> Report {
        guard page.lines.contains(where: { !$0.isEmpty }) else {
            throw RenderError.emptyGeometry(what: path, detail: "every line is blank")
        }
        var travel: (written: Double, sampled: Double)?
        let data: Data
        switch format {
        case .inkml: data = Data(inkml(page, texts: texts).utf8)
        case .json: data = try json(page, texts: texts)
        case .npy: data = npy(page)
        case .gcode, .hpgl:
            let program = PlotterProgram(page: page, options: plotter)
            travel = (program.penUpTravel, program.sampledPenUpTravel)
            data = Data((format == .gcode ? program.gcode() : program.hpgl()).utf8)
        }
        let out = try AtomicOutput(path: path)
        do { try out.write(data); try out.commit() } catch { out.abort(); throw error }
        return Report(bytes: data.count, penUpTravel: travel)
    }

    /// The InkML document of `page` (see `StrokeFormat.inkml`). Coordinates are written in Swift's shortest
    /// round-trip form, so reading them back gives the same Doubles.
    public static func inkml(_ page: PlacedPage, texts: [String?]) -> String {
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ink xmlns="http://www.w3.org/2003/InkML">
          <annotation type="truth">\(escaped(texts.compactMap { $0 }.joined(separator: "\n")))</annotation>
          <annotation type="writer">quill write</annotation>
          <traceFormat>
            <channel name="X" type="decimal" units="pt"/>
            <channel name="Y" type="decimal" units="pt"/>
          </traceFormat>

        """
        for (i, line) in page.lines.enumerated() where !line.isEmpty {
            s += "  <traceGroup>\n"
            if i < texts.count, let text = texts[i] { s += "    <annotation type=\"truth\">\(escaped(text))</annotation>\n" }
            for stroke in line {
                s += "    <trace>" + stroke.map { "\($0.x) \($0.y)" }.joined(separator: ", ") + "</trace>\n"
            }
            s += "  </traceGroup>\n"
        }
        return s + "</ink>\n"
    }

    /// The JSON document of `page` (see `StrokeFormat.json`), keys sorted.
    public static func json(_ page: PlacedPage, texts: [String?]) throws -> Data {
        struct Line: Encodable {
            var text: String?, strokes: [[[Double]]]
            enum CodingKeys: String, CodingKey { case text, strokes }
            // Every line has "text": null for a blank line (a paragraph gap), as the HTTP API writes it.
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(text, forKey: .text)
                try c.encode(strokes, forKey: .strokes)
            }
        }
        struct Document: Encodable {
            var format = "quill-strokes", version = 1, units = "pt", y = "down"
            var page: [String: Double]
            var lines: [Line]
        }
        let lines = page.lines.enumerated().map { i, strokes in
            Line(text: i < texts.count ? texts[i] : nil, strokes: strokes.map { $0.map { [$0.x, $0.y] } })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(Document(page: ["width": page.size.width, "height": page.size.height], lines: lines))
            + Data("\n".utf8)
    }

    /// The `.npy` file of `page` (see `StrokeFormat.npy`): each point's offset from the one before (the first from
    /// the page's top-left corner), with 1 in the third column on each stroke's last point. NumPy format 1.0,
    /// little-endian float32, C order.
    public static func npy(_ page: PlacedPage) -> Data {
        var rows: [Float] = []
        var previous = Point(x: 0, y: 0)
        for stroke in page.lines.joined() {
            for (j, p) in stroke.enumerated() {
                rows += [Float(p.x - previous.x), Float(p.y - previous.y), j == stroke.count - 1 ? 1 : 0]
                previous = p
            }
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count / 3), 3), }"
        // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data += [UInt8(length & 0xFF), UInt8(length >> 8)]
        data += Data(header.utf8)
        for v in rows { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
        return data
    }

    /// `text` with the five XML special characters escaped (the apostrophe as `&#39;`, which HTML and XML both read):
    /// InkML annotations and the HTML of `CellFigures`.
    static func escaped(_ text: String) -> String {
        var s = ""
        for c in text {
            switch c {
            case "&": s += "&amp;"
            case "<": s += "&lt;"
            case ">": s += "&gt;"
            case "\"": s += "&quot;"
            case "'": s += "&#39;"
            default: s.append(c)
            }
        }
        return s
    }
}

extension StrokeExport {
    /// An SVG for pen plotters such as the AxiDraw: sized in millimetres (the viewBox in points), no background,
    /// one `<path>` of straight segments per stroke (a dot is a zero-length segment), grouped by line
    /// (`<g id="line-N">`) and, within a line, by word (`<g id="line-N-word-M">`): a line whose text has k words is
    /// cut at the k − 1 widest gaps between a stroke and the ink before it.
    public static func plotterSVG(_ page: PlacedPage, texts: [String?], style: StrokeStyle) -> String {
        func n(_ v: Double) -> String { String(format: "%.3f", v) }
        let mm = 25.4 / 72
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(page.size.width * mm))mm" \
        height="\(n(page.size.height * mm))mm" viewBox="0 0 \(n(page.size.width)) \(n(page.size.height))">
        <g fill="none" stroke="black" stroke-width="\(n(style.width))" stroke-linecap="round" stroke-linejoin="round">

        """
        for (i, line) in page.lines.enumerated() where !line.isEmpty {
            let text = i < texts.count ? texts[i] ?? "" : ""
            let words = wordGroups(line, words: text.split(whereSeparator: \.isWhitespace).count)
            s += "<g id=\"line-\(page.firstLine + i + 1)\">\n"
            for (w, group) in words.enumerated() {
                s += "<g id=\"line-\(page.firstLine + i + 1)-word-\(w + 1)\">\n"
                for stroke in group {
                    let points = stroke.count == 1 ? [stroke[0], stroke[0]] : stroke
                    s += "<path d=\"M" + points.map { "\(n($0.x)) \(n($0.y))" }.joined(separator: " L") + "\"/>\n"
                }
                s += "</g>\n"
            }
            s += "</g>\n"
        }
        return s + "</g>\n</svg>\n"
    }

    /// `strokes` (in writing order) split into `words` groups at the widest gaps between a stroke's left edge and
    /// the right edge of the ink before it; strokes that start back over that ink never start a word. Fewer
    /// groups when there are fewer gaps.
    static func wordGroups(_ strokes: [Stroke], words: Int) -> [[Stroke]] {
        let gaps = StrokeGeometry.strokeGaps(strokes)
        let cuts = Set(gaps.sorted { ($0.gap, -$0.index) > ($1.gap, -$1.index) }.prefix(max(words - 1, 0)).map(\.index))
        var groups: [[Stroke]] = [[]]
        for (i, stroke) in strokes.enumerated() {
            if cuts.contains(i) { groups.append([]) }
            groups[groups.count - 1].append(stroke)
        }
        return groups
    }
}
