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
        let mm = PaperSetup.pointsPerMillimetre
        func shown(_ points: Double) -> String { String(format: "%.0f mm", points / mm) }
        if !(margin.isFinite && margin >= 0 && margin < 5000 * mm) { return "the margin must be a length from 0 to 5 m" }
        let room = Size(width: size.width - 2 * margin, height: size.height - 2 * margin)
        // A line needs room for a few letters: four line heights across, one down.
        if room.width < 4 * lineHeight || room.height < lineHeight {
            return "margins of \(shown(margin)) leave \(shown(max(room.width, 0))) × \(shown(max(room.height, 0))) of a "
                + "\(shown(size.width)) × \(shown(size.height)) page for writing; a line \(shown(lineHeight)) high needs at "
                + "least \(shown(4 * lineHeight)) × \(shown(lineHeight)) (lower --margin or --line-height)"
        }
        if !(lineSpacing.isFinite && lineSpacing >= 1 && lineSpacing <= 10) { return "the line spacing must be between 1 and 10" }
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
        options.width = paper.size.width - 2 * paper.margin + 2 * (options.margin + options.widestPen / 2)
        var single = try place(lines: lines, options: options, what: what)
        // Each line's scale against the scale it has without the sheet's width: the smallest such factor shrinks
        // every line (through the line height), so that none is wider than the sheet and all keep one size. (The
        // factor, not the smallest scale over the largest: when every line is too wide, the largest scale is a
        // width-limited one too, and the other lines kept their own sizes.)
        var free = options
        free.width = nil
        let unlimited = try place(lines: lines, options: free, what: what)
        let factors = zip(lines, zip(single.layout.lines, unlimited.layout.lines)).filter { !$0.0.isEmpty }
            .map { $0.1.0.transform.scale / $0.1.1.transform.scale }
        if let f = factors.min(), f < 1 - 1e-9 {
            options.lineHeight *= f
            single = try place(lines: lines, options: options, what: what)
        }
        let pitch = options.lineHeight * paper.lineSpacing
        let textWidth = paper.size.width - 2 * paper.margin
        let perPage = Int(((paper.size.height - 2 * paper.margin - options.lineHeight) / pitch).rounded(.down)) + 1
        // Where line i's slot starts in the tight layout (StrokeLayout.page), and where the baseline lies in a slot
        // (read from the line drawn largest, which no shrinking moved).
        func tightSlotTop(_ i: Int) -> Double {
            options.margin + options.widestPen / 2 + Double(i) * (options.lineHeight + options.lineGap)
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

    /// Writes one file per page through `body(page, file)` (files named by `pagePath`). When a page fails, the pages
    /// this call has written are removed before the error is rethrown, so a multi-page output is complete or absent.
    /// Returns the files written.
    public static func writeEachPage(count: Int, output: String, _ body: (Int, String) throws -> Void) throws -> [String] {
        var files: [String] = []
        do {
            for k in 0..<count {
                let file = pagePath(output, page: k, of: count)
                try body(k, file)
                files.append(file)
            }
        } catch {
            for file in files { unlink(file) }
            throw error
        }
        return files
    }

    /// Numbered pages beyond the first `count` that an earlier, longer run left (`NAME-(count+1).EXT`, … while they
    /// exist), which a run of `count` pages does not replace.
    public static func stalePages(_ output: String, after count: Int) -> [String] {
        // A single page is NAME.EXT itself, so every numbered page (NAME-1.EXT on) is stale then.
        var stale: [String] = [], k = count <= 1 ? 0 : count
        while k < 10_000, case let file = pagePath(output, page: k, of: .max), FileManager.default.fileExists(atPath: file) {
            stale.append(file)
            k += 1
        }
        return stale
    }

    /// Draws `pages` (`placePages`): one multi-page PDF, or one PNG or SVG per page (`pagePath`), each sheet with
    /// `paper`'s ruling beneath the writing. Returns the files written.
    @discardableResult
    public static func renderPages(_ pages: [PlacedPage], to path: String, options: PageOptions = PageOptions(),
                                   paper: PaperSetup) throws -> [String] {
        let format = try OutputFormat.forPath(path)
        guard let size = pages.first?.size else { throw RenderError.emptyGeometry(what: path, detail: "no pages") }
        func draw(_ page: PlacedPage, on c: Canvas) {
            drawRuling(on: c, page: page, paper: paper)
            for (j, line) in page.lines.enumerated() {
                c.drawStrokes(line, transform: .identity, style: options.style(forLine: page.firstLine + j))
            }
        }
        guard format == .pdf else {
            return try writeEachPage(count: pages.count, output: path) { k, file in
                let c = try Canvas(path: file, width: size.width, height: size.height, pixelScale: options.pixelScale,
                                   background: options.background)
                draw(pages[k], on: c)
                try c.finish()
            }
        }
        let c = try Canvas(path: path, width: size.width, height: size.height, background: options.background)
        for (k, page) in pages.enumerated() {
            if k > 0 { try c.newPage(background: options.background) }
            draw(page, on: c)
        }
        try c.finish()
        return [path]
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
