import Foundation
import QuillData
import QuillIO

/// Text coloured by one unit's value per character (Karpathy, Johnson and Fei-Fei 2016, Fig. 2 and 4): several units
/// one under another, as an image (PNG, SVG, PDF through the Cairo canvas) or one self-contained HTML file.
public enum CellFigures {
    /// One unit's block of the figure: a heading and one value per character of the text.
    public struct Row: Equatable, Sendable {
        public var label: String
        public var values: [Double]

        public init(label: String, values: [Double]) {
            self.label = label
            self.values = values
        }
    }

    /// The map from values to colours: `colormap` over `range` (values outside are clamped).
    public struct Coloring: Equatable, Sendable {
        public var colormap: Colormap
        public var range: ClosedRange<Double>

        public init(colormap: Colormap = .coolwarm, range: ClosedRange<Double>) {
            self.colormap = colormap
            self.range = range
        }

        /// The colour of `value`; NaN shows as the low end.
        public func color(_ value: Double) -> Color {
            let span = range.upperBound - range.lowerBound
            return colormap.color(at: span > 0 ? (value - range.lowerBound) / span : 0.5)
        }

        /// A range for `rows`: `bounds` when the values have one (gates in [0, 1], tanh in [−1, 1]), else symmetric
        /// about 0 out to the largest |value| (1 when all are 0), so 0 is the map's middle.
        public static func range(for rows: [Row], bounds: ClosedRange<Double>?) -> ClosedRange<Double> {
            if let bounds { return bounds }
            let m = rows.flatMap(\.values).filter(\.isFinite).map(abs).max() ?? 0
            return m > 0 ? -m...m : -1...1
        }
    }

    /// Each row divided by its own largest |value|, into [−1, 1], with " (÷ scale)" added to its label: for values
    /// without bounds (an LSTM cell state), where one unit reaching ±20 would leave the others pale on a shared
    /// scale. An all-zero row is left as it is.
    public static func scaledPerRow(_ rows: [Row]) -> [Row] {
        rows.map { row in
            let m = row.values.filter(\.isFinite).map(abs).max() ?? 0
            guard m > 0 else { return row }
            return Row(label: row.label + " (÷ \(String(format: "%.3g", m)))", values: row.values.map { $0 / m })
        }
    }

    /// Lines of `count` characters of `chars`: broken after every newline (which stays at its line's end) and every
    /// `columns` characters. Ranges of indices into `chars`, in order, covering every index once.
    public static func lines(_ chars: [Character], columns: Int) -> [Range<Int>] {
        let width = max(1, columns)
        var out = [Range<Int>](), start = 0
        for i in chars.indices {
            if chars[i] == "\n" || i + 1 - start == width {
                out.append(start..<(i + 1))
                start = i + 1
            }
        }
        if start < chars.count { out.append(start..<chars.count) }
        return out
    }

    /// How a character is shown: a newline as "↵", a tab as "→", other control characters as "·".
    static func glyph(_ ch: Character) -> String {
        if ch == "\n" { return "↵" }
        if ch == "\t" { return "→" }
        if ch.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control }) { return "·" }
        return String(ch)
    }

    /// Draws `text` once per row, each character on a background coloured by its value, wrapped at `columns`, with a
    /// colour bar labelled `valueLabel`. `path`'s extension picks PNG, SVG or PDF.
    /// - Throws: `RenderError` when a row's values don't match the text, there are no rows or no text, or the file
    ///   can't be written.
    public static func draw(text: [Character], rows: [Row], coloring: Coloring, valueLabel: String, title: String?,
                            columns: Int = 100, to path: String) throws {
        try check(text: text, rows: rows)
        let font = Font(size: 11, monospaced: true), head = Font(size: 11, bold: true)
        let lineRanges = lines(text, columns: columns)
        let probe = try Canvas(rasterWidth: 10, height: 10)
        let cw = probe.measure("M", font).width, lineH = 15.0, margin = 12.0
        let headH = 18.0, gap = 10.0, titleH = title == nil ? 0 : 24.0, barW = 90.0
        let longest = lineRanges.map(\.count).max() ?? 1
        let labelW = rows.map { probe.measure($0.label, head).width }.max() ?? 0
        let textW = max(Double(longest) * cw, 200, labelW)
        let blockH = headH + Double(lineRanges.count) * lineH
        let width = margin * 2 + textW + max(barW, 24 + probe.measure(valueLabel, Font(size: 10)).width)
        let height = margin * 2 + titleH + Double(rows.count) * (blockH + gap)
        let canvas = try Canvas(path: path, width: width, height: height, pixelScale: 2)
        if let title {
            canvas.text(title, at: Point(margin, margin), Font(size: 13), color: .black, anchor: TextAnchor(.left, .top))
        }
        var y = margin + titleH
        for row in rows {
            canvas.text(row.label, at: Point(margin, y + 2), head, color: .black, anchor: TextAnchor(.left, .top))
            y += headH
            for line in lineRanges {
                for (k, i) in line.enumerated() {
                    let x = margin + Double(k) * cw
                    let bg = coloring.color(row.values[i])
                    canvas.fill(Rect(x: x, y: y, width: cw + 0.3, height: lineH), bg)
                    canvas.text(glyph(text[i]), at: Point(x, y + lineH / 2), font,
                                color: bg.luma < 0.45 ? .white : (text[i] == "\n" ? .axis : .black),
                                anchor: TextAnchor(.left, .middle))
                }
                y += lineH
            }
            y += gap
        }
        let barTop = margin + titleH + headH
        let barH = min(180, max(60, height - barTop - margin - 20))
        let bar = Rect(x: margin + textW + 16, y: barTop + 14, width: 14, height: barH)
        canvas.text(valueLabel, at: Point(bar.x, barTop + 8), Font(size: 10), color: .axis, anchor: TextAnchor(.left, .bottom))
        try canvas.drawColorbar(coloring.colormap, lower: coloring.range.lowerBound, upper: coloring.range.upperBound, in: bar)
        try canvas.finish()
    }

    /// One self-contained HTML page: every character a `<span>` with an inline background colour (and its value as
    /// a tooltip), the text escaped, a colour bar as a CSS gradient labelled with the range's ends and `valueLabel`.
    /// - Throws: `RenderError` when a row's values don't match the text or there are no rows or no text.
    public static func html(text: [Character], rows: [Row], coloring: Coloring, valueLabel: String,
                            title: String?) throws -> String {
        try check(text: text, rows: rows)
        let stops = (0...10).map { coloring.colormap.color(at: Double($0) / 10).hexString }.joined(separator: ",")
        let lo = String(format: "%.3g", coloring.range.lowerBound), hi = String(format: "%.3g", coloring.range.upperBound)
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(StrokeExport.escaped(title ?? "unit activations"))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
        h2{font-size:1em;margin:1.2em 0 .3em}
        .text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;line-height:1.55;white-space:pre-wrap;word-break:break-all}
        .legend{display:flex;align-items:center;gap:.5em;font-size:.9em}
        .bar{width:240px;height:14px;border:1px solid #888;background:linear-gradient(to right,\(stops))}
        </style></head><body>

        """
        if let title { page += "<h1>\(StrokeExport.escaped(title))</h1>\n" }
        page += "<div class=\"legend\"><span>\(StrokeExport.escaped(valueLabel)):</span><span>\(StrokeExport.escaped(lo))</span><span class=\"bar\"></span><span>\(StrokeExport.escaped(hi))</span></div>\n"
        for row in rows {
            page += "<h2>\(StrokeExport.escaped(row.label))</h2>\n<div class=\"text\">"
            for (i, ch) in text.enumerated() {
                let bg = coloring.color(row.values[i])
                let fg = bg.luma < 0.45 ? "#fff" : "#000"
                let shown = ch == "\n" ? "↵\n" : StrokeExport.escaped(glyph(ch) == "·" ? "·" : String(ch))
                page += "<span style=\"background:\(bg.hexString);color:\(fg)\" title=\"\(String(format: "%.4g", row.values[i]))\">\(shown)</span>"
            }
            page += "</div>\n"
        }
        page += "</body></html>\n"
        return page
    }

    /// Writes `html(…)` to `path`, completely or not at all.
    public static func writeHTML(text: [Character], rows: [Row], coloring: Coloring, valueLabel: String, title: String?,
                                 to path: String) throws {
        let page = try html(text: text, rows: rows, coloring: coloring, valueLabel: valueLabel, title: title)
        let out = try AtomicOutput(path: path)
        do {
            try out.write(Data(page.utf8))
            try out.commit()
        } catch {
            out.abort()
            throw error
        }
    }

    static func check(text: [Character], rows: [Row]) throws {
        guard !text.isEmpty, !rows.isEmpty else {
            throw RenderError.emptyGeometry(what: "cell figure", detail: "\(text.count) characters, \(rows.count) units")
        }
        if let bad = rows.first(where: { $0.values.count != text.count }) {
            throw RenderError.shapeMismatch(what: "cell figure",
                                            detail: "\(bad.label) has \(bad.values.count) values for \(text.count) characters")
        }
    }
}
