import Foundation
import QuillData

/// A sheet of paper for `quill write --page`: its size, margins, how lines sit on it, and what is printed on it.
public struct PaperSetup: Equatable, Sendable {
    /// Where each line sits between the margins.
    public enum Alignment: String, CaseIterable, Sendable { case left, center, right }
    /// What is drawn on the paper beneath the writing.
    public enum Ruling: String, CaseIterable, Sendable {
        case none
        /// A light line under each line of writing, at its baseline, across the text width.
        case ruled
        /// A light grid of 5 mm squares over the whole sheet.
        case squared
    }

    /// The sheet, in points (1/72 inch).
    public var size: Size
    /// The blank border on every side, in points.
    public var margin: Double = 72 * 20 / 25.4
    public var alignment: Alignment = .left
    /// Distance from one line's slot to the next, as a multiple of the line height.
    public var lineSpacing: Double = 1.25
    public var ruling: Ruling = .none

    public init(size: Size) { self.size = size }

    /// Points per millimetre and per inch.
    public static let pointsPerMillimetre = 72 / 25.4, pointsPerInch = 72.0

    /// A sheet by name (a4, a5, a3, letter, legal; any case) or as WIDTHxHEIGHT with a unit, mm, cm, in or pt
    /// (`150x100mm`, `8.5x11in`); nil for anything else or a side outside 1 mm … 5 m.
    public static func size(named text: String) -> Size? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let mm = pointsPerMillimetre
        switch t {
        case "a3": return Size(width: 297 * mm, height: 420 * mm)
        case "a4": return Size(width: 210 * mm, height: 297 * mm)
        case "a5": return Size(width: 148 * mm, height: 210 * mm)
        case "letter": return Size(width: 8.5 * 72, height: 11 * 72)
        case "legal": return Size(width: 8.5 * 72, height: 14 * 72)
        default: break
        }
        let units: [(String, Double)] = [("mm", mm), ("cm", 10 * mm), ("in", 72), ("pt", 1)]
        guard let (unit, scale) = units.first(where: { t.hasSuffix($0.0) }) else { return nil }
        let sides = t.dropLast(unit.count).split(separator: "x", omittingEmptySubsequences: false)
        guard sides.count == 2, let w = Double(sides[0]), let h = Double(sides[1]) else { return nil }
        let size = Size(width: w * scale, height: h * scale)
        let range = mm...(5000 * mm)
        return range.contains(size.width) && range.contains(size.height) ? size : nil
    }

    /// A length with a unit, mm, cm, in or pt (`15mm`, `0.75in`); a bare number is millimetres. Nil for anything else.
    public static func length(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("mm", pointsPerMillimetre), ("cm", 10 * pointsPerMillimetre), ("in", 72), ("pt", 1)]
        let (unit, scale) = units.first(where: { t.hasSuffix($0.0) }) ?? ("", pointsPerMillimetre)
        guard let v = Double(t.dropLast(unit.count)), v.isFinite else { return nil }
        return v * scale
    }

    /// A message when the margins leave no room or an option is out of range; nil when the setup can be used.
    public func problem(lineHeight: Double) -> String? {
        if !(margin.isFinite && margin >= 0) { return "the margin must not be negative" }
        if 2 * margin >= min(size.width, size.height) {
            return String(format: "margins of %.0f pt leave no room on a %.0f × %.0f pt page", margin, size.width, size.height)
        }
        if !(lineSpacing.isFinite && lineSpacing >= 1 && lineSpacing <= 10) { return "the line spacing must be between 1 and 10" }
        if lineHeight > size.height - 2 * margin {
            return String(format: "a line %.0f pt high does not fit between the margins of a page %.0f pt high",
                          lineHeight, size.height)
        }
        return nil
    }
}

extension StrokeRenderer {
    /// Lays `lines` out on sheets of `paper`, top to bottom, flowing onto further sheets when a sheet is full: every
    /// line scaled as `place` scales it (its shared band `options.lineHeight` tall) and aligned as
    /// `paper.alignment` says; slots `paper.lineSpacing` line heights
    /// apart, a blank line taking a slot. A line wider than the space between the margins makes every line that much
    /// smaller (slots and spacing too), so a page keeps one letter size. `baseline` is the baseline's y in line
    /// coordinates (for ruled paper).
    /// Throws `RenderError` for bad geometry or a setup without room (`PaperSetup.problem`).
    public static func placePages(lines: [[Stroke]], options: PageOptions = PageOptions(), paper: PaperSetup,
                                  baseline: Double, what: String) throws -> [PlacedPage] {
        if let m = paper.problem(lineHeight: options.lineHeight) { throw RenderError.invalidArgument(what: what, detail: m) }
        // The tight layout fixes each line's scale and vertical place in its slot; only the slots move here. One
        // hand has one letter size: when a line is too wide for the sheet, every line is drawn as small as it.
        var options = options
        options.width = paper.size.width - 2 * paper.margin + 2 * (options.margin + options.style.width / 2)
        var single = try place(lines: lines, options: options, what: what)
        let scales = zip(lines, single.layout.lines).filter { !$0.0.isEmpty }.map(\.1.transform.scale)
        if let lo = scales.min(), let hi = scales.max(), lo < hi * (1 - 1e-9) {
            options.lineHeight *= lo / hi
            single = try place(lines: lines, options: options, what: what)
        }
        let pitch = options.lineHeight * paper.lineSpacing
        let textWidth = paper.size.width - 2 * paper.margin
        let perPage = Int(((paper.size.height - 2 * paper.margin - options.lineHeight) / pitch).rounded(.down)) + 1
        // Where line i's slot starts in the tight layout (StrokeLayout.page), and where the baseline lies in a slot
        // (read from the line drawn largest, which no shrinking moved).
        func tightSlotTop(_ i: Int) -> Double {
            options.margin + options.style.width / 2 + Double(i) * (options.lineHeight + options.lineGap)
        }
        let largest = single.layout.lines.indices.max { single.layout.lines[$0].transform.scale < single.layout.lines[$1].transform.scale } ?? 0
        let baselineInSlot = single.layout.lines[largest].transform.apply(Point(x: 0, y: baseline)).y - tightSlotTop(largest)
        var pages: [PlacedPage] = []
        var start = 0
        while start < lines.count {
            let end = min(start + perPage, lines.count)
            var placements: [LinePlacement] = [], placed: [[Stroke]] = []
            for i in start..<end {
                let p = single.layout.lines[i]
                let slotTop = paper.margin + Double(i - start) * pitch
                let inkWidth = lines[i].isEmpty ? 0 : p.bounds.width
                let x: Double
                switch paper.alignment {
                case .left: x = paper.margin
                case .center: x = paper.margin + (textWidth - inkWidth) / 2
                case .right: x = paper.size.width - paper.margin - inkWidth
                }
                let shift = Point(x: x - p.bounds.x, y: slotTop - tightSlotTop(i))
                let t = Transform(scale: p.transform.scale, offset: p.transform.offset + shift)
                let bounds = Rect(x: p.bounds.x + shift.x, y: p.bounds.y + shift.y, width: p.bounds.width, height: p.bounds.height)
                placements.append(LinePlacement(transform: t, bounds: bounds))
                placed.append(lines[i].map(t.apply))
            }
            let rules = paper.ruling != .ruled ? [] : (0..<perPage).map { paper.margin + Double($0) * pitch + baselineInSlot }
            pages.append(PlacedPage(layout: PageLayout(size: paper.size, lines: placements), lines: placed,
                                    firstLine: start, rules: rules))
            start = end
        }
        return pages
    }
}

extension StrokeRenderer {
    /// The file of page `page` (0-based) of `count`: `path` itself for a single page, else `NAME-k.EXT` (k from 1).
    public static func pagePath(_ path: String, page: Int, of count: Int) -> String {
        guard count > 1 else { return path }
        let ns = path as NSString
        let ext = ns.pathExtension
        return ns.deletingPathExtension + "-\(page + 1)" + (ext.isEmpty ? "" : "." + ext)
    }

    /// Draws `pages` (`placePages`): one multi-page PDF, or one PNG or SVG per page (`pagePath`), each sheet with
    /// `paper`'s ruling beneath the writing. Returns the files written.
    @discardableResult
    public static func renderPages(_ pages: [PlacedPage], to path: String, options: PageOptions = PageOptions(),
                                   paper: PaperSetup) throws -> [String] {
        let format = try OutputFormat.forPath(path)
        guard let size = pages.first?.size else { throw RenderError.emptyGeometry(what: path, detail: "no pages") }
        var canvas: Canvas?
        var files: [String] = []
        for (k, page) in pages.enumerated() {
            if format == .pdf, let c = canvas {
                try c.newPage(background: options.background)
            } else {
                let file = format == .pdf ? path : pagePath(path, page: k, of: pages.count)
                try canvas?.finish()
                canvas = try Canvas(path: file, width: size.width, height: size.height, pixelScale: options.pixelScale,
                                    background: options.background)
                files.append(file)
            }
            // Invariant: the branch above has just opened a canvas when there was none.
            let c = canvas!
            drawRuling(on: c, page: page, paper: paper)
            for line in page.lines { c.drawStrokes(line, transform: .identity, style: options.style) }
        }
        try canvas?.finish()
        return files
    }

    /// Ruled lines at the page's rules across the text width, or a 5 mm grid over the sheet.
    static func drawRuling(on canvas: Canvas, page: PlacedPage, paper: PaperSetup) {
        let rule = LineStyle(width: 0.5, color: Color(hex: 0x9cc3e6), round: false)
        switch paper.ruling {
        case .none: break
        case .ruled:
            for y in page.rules {
                canvas.stroke(polyline: [Point(x: paper.margin, y: y), Point(x: page.size.width - paper.margin, y: y)], rule)
            }
        case .squared:
            let step = 5 * PaperSetup.pointsPerMillimetre
            var grid = rule
            grid.color = Color(hex: 0xc5dcef)
            for x in stride(from: step, to: page.size.width, by: step) {
                canvas.stroke(polyline: [Point(x: x, y: 0), Point(x: x, y: page.size.height)], grid)
            }
            for y in stride(from: step, to: page.size.height, by: step) {
                canvas.stroke(polyline: [Point(x: 0, y: y), Point(x: page.size.width, y: y)], grid)
            }
        }
    }
}
