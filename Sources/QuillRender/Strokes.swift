import QuillData

/// How handwriting strokes are drawn.
public struct StrokeStyle: Equatable, Sendable {
    /// Line width in points on the page (not scaled with the strokes); pages take `widthRange`.
    public var width: Double

    /// The pen widths a page may ask for, in points: from 0.1 (a hairline, a fifth of a pixel at 150 dpi; thinner
    /// draws nothing visible) to 50. `quill write --pen-width`, job files and `quill serve`'s `width` share it.
    public static let widthRange = 0.1...50.0
    /// Ink colour, used when `strokeColors` is nil.
    public var color: Color
    /// Optional colour per stroke, cycled when there are more strokes than colours (e.g. `Color.categorical`).
    public var strokeColors: [Color]?
    /// Draw each stroke as a Catmull-Rom spline through its points, so vector output is not jagged.
    public var smooth: Bool
    /// Constant width, or a fountain pen's width that follows the speed (`FountainPen`), `width` its nominal width.
    public var pen: PenKind

    public init(width: Double = 1.5, color: Color = .ink, strokeColors: [Color]? = nil, smooth: Bool = true,
                pen: PenKind = .constant) {
        self.width = width
        self.color = color
        self.strokeColors = strokeColors
        self.smooth = smooth
        self.pen = pen
    }

    /// The colour of stroke number `index`.
    public func color(forStroke index: Int) -> Color {
        guard let colors = strokeColors, !colors.isEmpty else { return color }
        return colors[index % colors.count]
    }
}

extension Canvas {
    /// Draws strokes mapped by `transform`, with round caps and joins; a one-point stroke draws a dot.
    /// With a fountain pen, each stroke is filled as an outline whose width follows the speed, relative to the
    /// median speed of these strokes on the page.
    public func drawStrokes(_ strokes: [Stroke], transform: Transform, style: StrokeStyle = StrokeStyle()) {
        let placed = strokes.map(transform.apply)
        let reference = style.pen == .fountain ? FountainPen.referenceSpeed(placed) : 0
        for (i, points) in placed.enumerated() where !points.isEmpty {
            let line = LineStyle(width: style.width, color: style.color(forStroke: i), round: true)
            if style.pen == .fountain {
                let widths = FountainPen.widths(points, nominal: style.width, reference: reference)
                fill(FountainPen.outline(points, widths: widths, smooth: style.smooth), line.color)
            } else if points.count == 1 {
                stroke(polyline: points, line)
            } else {
                stroke(style.smooth ? .catmullRom(points) : .polyline(points), line)
            }
        }
    }

    /// Draws strokes scaled to fit inside `rect` less `margin`, centred, keeping their aspect ratio.
    ///
    /// Returns the transform used, so overlays (a density heatmap, markers) can share the strokes' coordinates.
    @discardableResult
    public func drawStrokes(_ strokes: [Stroke], in rect: Rect, margin: Double = 0,
                            style: StrokeStyle = StrokeStyle()) throws -> Transform {
        try validateStrokes(strokes, what: path)
        guard let bounds = Rect.bounding(strokes: strokes) else {
            throw RenderError.emptyGeometry(what: path, detail: "no stroke has any point")
        }
        let t = StrokeLayout.fitInside(bounds, rect, margin: margin + style.width / 2)
        drawStrokes(strokes, transform: t, style: style)
        return t
    }
}

/// Options for a page of handwriting.
public struct PageOptions: Equatable, Sendable {
    /// Height in points of each line's slot (the tallest line's ink fills it with `.uniform` scaling).
    public var lineHeight: Double = 48
    /// Vertical space between line slots.
    public var lineGap: Double = 16
    /// Blank border around the page.
    public var margin: Double = 20
    /// Fixed page width; nil sizes the page to the widest line. Lines too wide for a fixed page are shrunk.
    public var width: Double? = nil
    public var scaling: StrokeLayout.Scaling = .uniform
    public var style = StrokeStyle()
    /// PNG pixels per point.
    public var pixelScale: Double = 1
    public var background: Color? = .white
    /// Give every line the same vertical extent (the union of the lines' ink from top to bottom), so lines drawn
    /// with their midlines at y = 0 share one baseline on the page instead of each being centred on its own ink.
    public var sharedLineBand: Bool = false
    /// With `sharedLineBand`: y values (line units) the shared band covers even where no line's ink reaches, so a
    /// page of a lone "." or "-" is drawn at the size of the page's letters rather than blown up to fill a slot.
    public var minimumBand: ClosedRange<Double>? = nil
    /// A pen per line of the page (`quill write --job`: each line its own colour and width), by the line's index
    /// among all the lines laid out; nil, or an index past its end, draws with `style`.
    public var lineStyles: [StrokeStyle]? = nil

    public init() {}

    /// The pen of line `index` (0-based, among all the lines laid out): `lineStyles[index]`, else `style`.
    public func style(forLine index: Int) -> StrokeStyle {
        guard let lineStyles, lineStyles.indices.contains(index) else { return style }
        return lineStyles[index]
    }

    /// The widest pen of the page, in points: half of it stays inside the margin so round caps are not clipped.
    public var widestPen: Double { max(style.width, lineStyles?.map(\.width).max() ?? 0) }
}

extension PageOptions {
    /// A low estimate of the size of a page of `lines` lines whose longest has `longestLine` characters, before
    /// they are written: a handwritten character is taken to be at least a fifth of the line height wide. A page
    /// larger than a canvas can be (`Canvas.maximumSide`) can be refused before any sampling.
    public func estimatedSize(lines: Int, longestLine: Int) -> Size {
        let n = Double(lines), border = 2 * (margin + widestPen / 2)
        return Size(width: Double(longestLine) * lineHeight / 5 + border,
                    height: n * lineHeight + max(n - 1, 0) * lineGap + border)
    }
}

/// Renders whole pages of handwriting to files.
public enum StrokeRenderer {
    /// Lays `lines` out as a page (see `StrokeLayout.page`) and writes it to `path` (PNG, SVG or PDF by extension).
    ///
    /// Each line is a list of strokes in its own coordinates, y pointing down; a line with no strokes is a blank
    /// line (a paragraph gap). At least one line must have ink. Returns the layout used.
    @discardableResult
    public static func renderPage(lines: [[Stroke]], to path: String,
                                  options: PageOptions = PageOptions()) throws -> PageLayout {
        _ = try OutputFormat.forPath(path)
        let page = try place(lines: lines, options: options, what: path)
        let canvas = try Canvas(path: path, width: page.layout.size.width, height: page.layout.size.height,
                                pixelScale: options.pixelScale, background: options.background)
        for (i, (line, placement)) in zip(lines, page.layout.lines).enumerated() {
            canvas.drawStrokes(line, transform: placement.transform, style: options.style(forLine: i))
        }
        try canvas.finish()
        return page.layout
    }

    /// Lays `lines` out as a page as `renderPage` draws it: each line's strokes moved to page coordinates (points, y
    /// down, origin at the page's top-left corner). Throws `RenderError` for bad options, non-finite points or a
    /// page without ink; `what` names the page in the message.
    public static func place(lines: [[Stroke]], options: PageOptions = PageOptions(), what: String) throws -> PlacedPage {
        guard !lines.isEmpty else { throw RenderError.emptyGeometry(what: what, detail: "no lines") }
        guard options.lineHeight.isFinite, options.lineHeight > 0, options.margin.isFinite, options.margin >= 0,
              options.lineGap.isFinite, options.lineGap >= 0,
              ([options.style] + (options.lineStyles ?? [])).allSatisfy({ $0.width.isFinite && $0.width > 0 }) else {
            throw RenderError.invalidArgument(
                what: what, detail: "line height and line width must be positive; margin and gap must be ≥ 0")
        }
        // An empty line is a blank line (a paragraph gap): it takes a slot and draws nothing.
        var inked: [Rect?] = []
        for (i, line) in lines.enumerated() {
            guard !line.isEmpty else { inked.append(nil); continue }
            try validateStrokes(line, what: "\(what) (line \(i + 1))")
            guard let b = Rect.bounding(strokes: line) else {
                throw RenderError.emptyGeometry(what: "\(what) (line \(i + 1))", detail: "no points")
            }
            inked.append(b)
        }
        let present = inked.compactMap { $0 }
        guard let first = present.first else { throw RenderError.emptyGeometry(what: what, detail: "every line is blank") }
        // present is non-empty (the guard above), so the fallbacks are never used.
        let least = options.minimumBand.flatMap { $0.lowerBound.isFinite && $0.upperBound.isFinite ? $0 : nil }
        let top = options.sharedLineBand ? min(present.map(\.minY).min() ?? first.minY, least?.lowerBound ?? .infinity) : 0
        let bottom = options.sharedLineBand ? max(present.map(\.maxY).max() ?? first.maxY, least?.upperBound ?? -.infinity) : 0
        let bounds: [Rect] = inked.map { b in
            guard let b else {
                return options.sharedLineBand ? Rect(x: 0, y: top, width: 0, height: bottom - top)
                                              : Rect(x: 0, y: 0, width: 0, height: first.height)
            }
            return options.sharedLineBand ? Rect(x: b.x, y: top, width: b.width, height: bottom - top) : b
        }
        // Half the pen width stays inside the margin so round caps are not clipped.
        let pad = options.widestPen / 2
        let layout = StrokeLayout.page(lineBounds: bounds, lineHeight: options.lineHeight, lineGap: options.lineGap,
                                       margin: options.margin + pad, width: options.width, scaling: options.scaling)
        return PlacedPage(layout: layout, lines: zip(lines, layout.lines).map { line, placement in
            line.map(placement.transform.apply)
        })
    }
}

/// A page of handwriting laid out: its size and each line's strokes in page coordinates (points, 1/72 inch; y down
/// from the top-left corner). A blank line has no strokes.
public struct PlacedPage: Equatable, Sendable {
    public var layout: PageLayout
    public var lines: [[Stroke]]
    /// The index of the page's first line among all the lines laid out (pages after the first start further on).
    public var firstLine: Int
    /// The y of each rule of ruled paper (`PaperSetup.Ruling.ruled`), in points; empty for plain paper.
    public var rules: [Double]
    public var size: Size { layout.size }

    public init(layout: PageLayout, lines: [[Stroke]], firstLine: Int = 0, rules: [Double] = []) {
        self.layout = layout; self.lines = lines; self.firstLine = firstLine; self.rules = rules
    }
}
