import CCairo
import Foundation
import QuillData
import QuillIO

// Every Cairo call of the project lives in this file: `Canvas` (drawing to PNG, SVG or PDF) and `RasterImage`
// (reading a PNG back). Everything else in QuillRender draws through `Canvas`'s small vocabulary.

/// The file formats a canvas can write, chosen by the output file's extension.
public enum OutputFormat: String, CaseIterable, Sendable {
    case png, svg, pdf

    /// The format for `path`'s extension (case-insensitive).
    public static func forPath(_ path: String) throws -> OutputFormat {
        let ext = (path as NSString).pathExtension.lowercased()
        guard let format = OutputFormat(rawValue: ext) else { throw RenderError.unknownExtension(path: path) }
        return format
    }
}

/// Where a piece of text sits relative to the point it is drawn at.
public struct TextAnchor: Equatable, Sendable {
    public enum Horizontal: Sendable { case left, center, right }
    public enum Vertical: Sendable { case top, middle, baseline, bottom }
    public var horizontal: Horizontal
    public var vertical: Vertical

    public init(_ horizontal: Horizontal, _ vertical: Vertical) {
        self.horizontal = horizontal
        self.vertical = vertical
    }

    public static let leftBaseline = TextAnchor(.left, .baseline)
    public static let center = TextAnchor(.center, .middle)
}

/// The look of a text label.
public struct Font: Equatable, Sendable {
    public var size: Double
    public var bold: Bool
    public var monospaced: Bool

    public init(size: Double = 11, bold: Bool = false, monospaced: Bool = false) {
        self.size = size
        self.bold = bold
        self.monospaced = monospaced
    }
}

/// The look of a drawn line.
public struct LineStyle: Equatable, Sendable {
    public var width: Double
    public var color: Color
    /// Dash pattern as alternating on/off lengths; empty for a solid line.
    public var dash: [Double]
    /// Round caps and joins (true) or butt caps and miter joins.
    public var round: Bool

    public init(width: Double = 1, color: Color = .black, dash: [Double] = [], round: Bool = true) {
        self.width = width
        self.color = color
        self.dash = dash
        self.round = round
    }
}

/// Carries Cairo's output into an `AtomicOutput` and keeps the first write failure, which Cairo itself reduces to a
/// bare status.
final class CairoStream {
    let output: AtomicOutput
    var failure: Error?
    /// Where the bytes collect instead, when `finish` rewrites them before they are written (`CairoRewrite`).
    var buffer: Data?
    init(_ output: AtomicOutput) { self.output = output }
}

/// Cairo's write callback: `closure` is an unretained `CairoStream`.
private let cairoWrite: cairo_write_func_t = { closure, data, length in
    guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
    let stream = Unmanaged<CairoStream>.fromOpaque(closure).takeUnretainedValue()
    guard stream.failure == nil else { return CAIRO_STATUS_WRITE_ERROR }
    do {
        if stream.buffer != nil, let data {
            stream.buffer?.append(data, count: Int(length))
            return CAIRO_STATUS_SUCCESS
        }
        try stream.output.write(UnsafeRawBufferPointer(start: data, count: Int(length)))
    } catch {
        stream.failure = error
        return CAIRO_STATUS_WRITE_ERROR
    }
    return CAIRO_STATUS_SUCCESS
}

/// A drawing surface backed by a PNG, SVG or PDF file; the file appears, complete, only when `finish()` succeeds.
///
/// Coordinates are in points with y pointing down. PNG canvases have `pixelScale` pixels per point. The file is written
/// through `QuillIO.AtomicOutput`: complete or absent, even when the disk fills or the process is killed.
public final class Canvas {
    public let path: String
    public let format: OutputFormat
    public let size: Size
    public let pixelScale: Double

    private let surface: OpaquePointer
    private let cr: OpaquePointer
    /// Where Cairo's bytes go: a temporary file that `finish()` renames into place (nil for an in-memory raster).
    private let stream: CairoStream?
    private var finished = false

    /// The largest width or height of a canvas, in points.
    public static let maximumPoints = 100_000.0
    /// The largest width or height of a PNG, in pixels (Cairo's image surfaces).
    public static let maximumPixels = 32_767.0

    /// The largest width or height of a canvas written as `format` at one pixel a point.
    public static func maximumSide(for format: OutputFormat) -> Double {
        format == .png ? maximumPixels : maximumPoints
    }

    /// Opens a canvas of `width` × `height` points that will be written to `path` (format from the extension).
    ///
    /// Checks the extension and that the path can be written (`FileSystemError`) before drawing anything.
    /// The most PNG pixels a point may have: 1,200 dpi.
    public static let maximumPixelScale = 1200.0 / 72

    public init(path: String, width: Double, height: Double, pixelScale: Double = 1,
                background: Color? = .white) throws {
        let format = try OutputFormat.forPath(path)
        guard width.isFinite, height.isFinite, width >= 1, height >= 1, width <= Canvas.maximumPoints,
              height <= Canvas.maximumPoints else {
            throw RenderError.invalidArgument(what: path,
                                              detail: "canvas size \(width) × \(height) must be between 1 and 100000 points")
        }
        // 1,200 dpi (the highest `--dpi`) is 1200 / 72 pixels a point.
        guard pixelScale.isFinite, pixelScale > 0, pixelScale <= Canvas.maximumPixelScale else {
            throw RenderError.invalidArgument(what: path, detail: String(format: "%g pixels a point (%g dpi) is outside 0…%g (1200 dpi)", pixelScale, pixelScale * 72, Canvas.maximumPixelScale))
        }
        if format == .png, width * pixelScale > Canvas.maximumPixels || height * pixelScale > Canvas.maximumPixels {
            throw RenderError.invalidArgument(
                what: path, detail: String(format: "a PNG of %.0f × %.0f points at %g dpi would be %.0f × %.0f pixels, over Cairo's ",
                                           width, height, pixelScale * 72, (width * pixelScale).rounded(.up), (height * pixelScale).rounded(.up))
                    + "32767-pixel limit; lower --dpi (or the size) or write .svg or .pdf")
        }
        // Creating the output first reports a missing directory, a read-only file or a directory at the path before
        // anything is drawn.
        let output = try AtomicOutput(path: path)
        let stream = CairoStream(output)
        let closure = Unmanaged.passUnretained(stream).toOpaque()

        let surface: OpaquePointer?
        switch format {
        case .png:
            let w = Int32(max(1, (width * pixelScale).rounded(.up)))
            let h = Int32(max(1, (height * pixelScale).rounded(.up)))
            surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h)
        case .svg:
            surface = cairo_svg_surface_create_for_stream(cairoWrite, closure, width, height)
            stream.buffer = Data()   // its surface ids are renumbered (CairoRewrite.svg)
        case .pdf:
            surface = cairo_pdf_surface_create_for_stream(cairoWrite, closure, width, height)
            // A PDF records when it was made; SOURCE_DATE_EPOCH (the reproducible-builds convention) fixes that
            // date, so the same drawing gives the same bytes (and CairoRewrite.pdfCreationDate its "D:").
            if let surface, let epoch = CairoRewrite.sourceDateEpoch {
                let f = DateFormatter()
                f.locale = Locale(identifier: "en_US_POSIX")
                f.timeZone = TimeZone(identifier: "UTC")
                f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
                cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE,
                                               f.string(from: Date(timeIntervalSince1970: TimeInterval(epoch))))
                stream.buffer = Data()
            }
        }
        guard let surface else { throw RenderError.cairo(path: path, status: "no surface") }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw RenderError.cairo(path: path, status: Canvas.message(status))
        }
        guard let cr = cairo_create(surface) else {
            cairo_surface_destroy(surface)
            throw RenderError.cairo(path: path, status: "no context")
        }
        self.path = path
        self.format = format
        self.size = Size(width: width, height: height)
        self.pixelScale = pixelScale
        self.surface = surface
        self.cr = cr
        self.stream = stream
        if format == .png, pixelScale != 1 { cairo_scale(cr, pixelScale, pixelScale) }
        if let background { fill(Rect(size: size), background) }
    }

    deinit {
        if !finished { stream?.output.abort() }
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    /// An in-memory raster of `width` × `height` points at `pixelScale` pixels per point, written to no file: draw on
    /// it, then read it with `withPixels` (animation frames). Throws `RenderError.invalidArgument` for a size out of
    /// range and `.cairo` when Cairo cannot allocate it.
    public init(rasterWidth width: Double, height: Double, pixelScale: Double = 1, background: Color? = .white) throws {
        let w = (width * pixelScale).rounded(.up), h = (height * pixelScale).rounded(.up)
        guard width.isFinite, height.isFinite, pixelScale.isFinite, pixelScale > 0, w >= 1, h >= 1,
              w <= Canvas.maximumPixels, h <= Canvas.maximumPixels else {
            throw RenderError.invalidArgument(what: "raster", detail: "\(width) × \(height) points at \(pixelScale) px/pt is out of range")
        }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(w), Int32(h)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let cr = cairo_create(surface) else {
            throw RenderError.cairo(path: "raster", status: "cannot allocate a \(Int(w)) × \(Int(h)) image")
        }
        (self.path, self.format, self.size, self.pixelScale) = ("raster", .png, Size(width: width, height: height), pixelScale)
        (self.surface, self.cr, self.stream) = (surface, cr, nil)
        if pixelScale != 1 { cairo_scale(cr, pixelScale, pixelScale) }
        if let background { fill(Rect(size: size), background) }
    }

    /// Calls `body` with the pixels of a PNG canvas or raster as drawn so far: rows of premultiplied native-endian
    /// 0xAARRGGBB words, `stride` words apart. Nil for SVG and PDF.
    public func withPixels<R>(_ body: (_ pixels: UnsafePointer<UInt32>, _ width: Int, _ height: Int, _ stride: Int) throws -> R)
        rethrows -> R? {
        guard format == .png, let data = cairo_image_surface_get_data(surface) else { return nil }
        cairo_surface_flush(surface)
        let width = Int(cairo_image_surface_get_width(surface)), height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface)) / 4
        return try data.withMemoryRebound(to: UInt32.self, capacity: stride * height) {
            try body(UnsafePointer($0), width, height, stride)
        }
    }

    /// The whole canvas as a rectangle.
    public var bounds: Rect { Rect(size: size) }

    /// Ends the page drawn so far and starts a fresh one of the same size (PDF only: PNG and SVG hold one page),
    /// filled with `background`. Throws `RenderError.invalidArgument` for PNG and SVG.
    public func newPage(background: Color? = .white) throws {
        guard format == .pdf else {
            throw RenderError.invalidArgument(what: path, detail: "a \(format.rawValue.uppercased()) file holds one page")
        }
        cairo_show_page(cr)
        if let background { fill(Rect(size: size), background) }
    }

    /// Writes the file: streams the drawing through a temporary file in the target directory, flushes it to the disk
    /// and renames it into place. A failed write (a full disk, say) throws and leaves any older file at the path as it was.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        guard let stream else { return }  // an in-memory raster has no file
        var status = cairo_status(cr)
        if status == CAIRO_STATUS_SUCCESS {
            switch format {
            case .png:
                cairo_surface_flush(surface)
                status = cairo_surface_write_to_png_stream(surface, cairoWrite, Unmanaged.passUnretained(stream).toOpaque())
            case .svg, .pdf:
                // Cairo's PDF and SVG surfaces write most of the file here, and report a failed write only by status.
                cairo_surface_finish(surface)
                status = cairo_surface_status(surface)
            }
        }
        if let failure = stream.failure {
            stream.output.abort()
            throw failure
        }
        guard status == CAIRO_STATUS_SUCCESS else {
            stream.output.abort()
            throw RenderError.cairo(path: path, status: Canvas.message(status))
        }
        if let buffer = stream.buffer {
            do {
                switch format {
                case .svg: try stream.output.write(CairoRewrite.svg(buffer))
                case .pdf: try stream.output.write(CairoRewrite.pdfCreationDate(buffer))
                case .png: try stream.output.write(buffer)
                }
            } catch {
                stream.output.abort()
                throw error
            }
        }
        try stream.output.commit()
    }

    private static func message(_ status: cairo_status_t) -> String {
        String(cString: cairo_status_to_string(status))
    }

    // MARK: - State

    /// Runs `body` with drawing clipped to `rect`; the clip is lifted afterwards.
    public func clipped<T>(to rect: Rect, _ body: () throws -> T) rethrows -> T {
        cairo_save(cr)
        defer { cairo_restore(cr) }
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(cr)
        return try body()
    }

    private func setColor(_ c: Color) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a) }

    private func apply(_ style: LineStyle) {
        setColor(style.color)
        cairo_set_line_width(cr, style.width)
        cairo_set_line_cap(cr, style.round ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT)
        cairo_set_line_join(cr, style.round ? CAIRO_LINE_JOIN_ROUND : CAIRO_LINE_JOIN_MITER)
        if style.dash.isEmpty {
            cairo_set_dash(cr, nil, 0, 0)
        } else {
            style.dash.withUnsafeBufferPointer { cairo_set_dash(cr, $0.baseAddress, Int32($0.count), 0) }
        }
    }

    private func append(_ path: Path) {
        for e in path.elements {
            switch e {
            case .move(let p): cairo_move_to(cr, p.x, p.y)
            case .line(let p): cairo_line_to(cr, p.x, p.y)
            case .curve(let a, let b, let p): cairo_curve_to(cr, a.x, a.y, b.x, b.y, p.x, p.y)
            }
        }
    }

    // MARK: - Shapes

    /// Strokes `path` with `style`.
    public func stroke(_ path: Path, _ style: LineStyle) {
        cairo_new_path(cr)
        append(path)
        apply(style)
        cairo_stroke(cr)
    }

    /// Strokes a polyline through `points`; a single point draws a dot as wide as the line.
    public func stroke(polyline points: [Point], _ style: LineStyle) {
        if points.count == 1, let p = points.first {
            fillCircle(center: p, radius: style.width / 2, style.color)
        } else {
            stroke(.polyline(points), style)
        }
    }

    /// Fills `path` (non-zero winding).
    public func fill(_ path: Path, _ color: Color) {
        cairo_new_path(cr)
        append(path)
        setColor(color)
        cairo_fill(cr)
    }

    /// Fills a rectangle.
    public func fill(_ rect: Rect, _ color: Color) {
        cairo_new_path(cr)
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        setColor(color)
        cairo_fill(cr)
    }

    /// Outlines a rectangle.
    public func stroke(_ rect: Rect, _ style: LineStyle) {
        cairo_new_path(cr)
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        apply(style)
        cairo_stroke(cr)
    }

    /// Fills a circle.
    public func fillCircle(center: Point, radius: Double, _ color: Color) {
        cairo_new_path(cr)
        cairo_arc(cr, center.x, center.y, radius, 0, 2 * Double.pi)
        setColor(color)
        cairo_fill(cr)
    }

    /// Outlines a circle.
    public func strokeCircle(center: Point, radius: Double, _ style: LineStyle) {
        cairo_new_path(cr)
        cairo_arc(cr, center.x, center.y, radius, 0, 2 * Double.pi)
        apply(style)
        cairo_stroke(cr)
    }

    // MARK: - Text (Cairo's toy text API)

    private func select(_ font: Font) {
        cairo_select_font_face(cr, font.monospaced ? "DejaVu Sans Mono" : "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, font.size)
    }

    /// The advance width of `text` and the font's line height (ascent + descent).
    public func measure(_ text: String, _ font: Font) -> Size {
        select(font)
        var te = cairo_text_extents_t()
        cairo_text_extents(cr, text, &te)
        var fe = cairo_font_extents_t()
        cairo_font_extents(cr, &fe)
        return Size(width: te.x_advance, height: fe.ascent + fe.descent)
    }

    /// Draws `text` anchored at `point`, turned by `angle` radians (negative turns counter-clockwise on screen).
    public func text(_ text: String, at point: Point, _ font: Font = Font(), color: Color = .axis,
                     anchor: TextAnchor = .leftBaseline, angle: Double = 0) {
        guard !text.isEmpty else { return }
        select(font)
        var te = cairo_text_extents_t()
        cairo_text_extents(cr, text, &te)
        var fe = cairo_font_extents_t()
        cairo_font_extents(cr, &fe)
        let dx: Double
        switch anchor.horizontal {
        case .left: dx = 0
        case .center: dx = -te.x_advance / 2
        case .right: dx = -te.x_advance
        }
        let dy: Double
        switch anchor.vertical {
        case .baseline: dy = 0
        case .top: dy = fe.ascent
        case .bottom: dy = -fe.descent
        case .middle: dy = (fe.ascent - fe.descent) / 2
        }
        cairo_save(cr)
        cairo_translate(cr, point.x, point.y)
        if angle != 0 { cairo_rotate(cr, angle) }
        cairo_new_path(cr)
        cairo_move_to(cr, dx, dy)
        setColor(color)
        cairo_show_text(cr, text)
        cairo_restore(cr)
    }

    // MARK: - Images

    /// Draws a `cols` × `rows` grid of colours (row-major, row 0 at the top) stretched over `rect`.
    ///
    /// `smooth` interpolates between cells; otherwise each cell is a sharp block.
    public func image(_ pixels: [Color], cols: Int, rows: Int, in rect: Rect, smooth: Bool = false,
                      alpha: Double = 1) throws {
        guard cols > 0, rows > 0, pixels.count == cols * rows else {
            throw RenderError.shapeMismatch(what: path, detail: "\(pixels.count) pixels for \(rows) × \(cols)")
        }
        // SVG has no nearest-neighbour flag that Cairo writes, and viewers smooth small images when they scale them
        // up, so sharp cells are enlarged by whole factors before embedding (about two pixels per point).
        if format == .svg, !smooth {
            let kx = max(1, min(16, Int((rect.width * 2 / Double(cols)).rounded(.up))))
            let ky = max(1, min(16, Int((rect.height * 2 / Double(rows)).rounded(.up))))
            if kx * ky > 1, cols * kx * rows * ky <= 4_000_000 {
                var big = [Color]()
                big.reserveCapacity(cols * kx * rows * ky)
                for r in 0..<rows {
                    var line = [Color]()
                    line.reserveCapacity(cols * kx)
                    for c in 0..<cols { line.append(contentsOf: repeatElement(pixels[r * cols + c], count: kx)) }
                    for _ in 0..<ky { big.append(contentsOf: line) }
                }
                return try image(big, cols: cols * kx, rows: rows * ky, in: rect, smooth: true, alpha: alpha)
            }
        }
        guard cols <= 32_767, rows <= 32_767 else {
            throw RenderError.invalidArgument(what: path, detail: "image \(rows) × \(cols) exceeds Cairo's 32767 limit")
        }
        guard let img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(cols), Int32(rows)),
              cairo_surface_status(img) == CAIRO_STATUS_SUCCESS,
              let data = cairo_image_surface_get_data(img) else {
            throw RenderError.cairo(path: path, status: "cannot allocate a \(cols) × \(rows) image")
        }
        defer { cairo_surface_destroy(img) }
        cairo_surface_flush(img)
        let stride = Int(cairo_image_surface_get_stride(img))
        for r in 0..<rows {
            let row = (data + r * stride).withMemoryRebound(to: UInt32.self, capacity: cols) { $0 }
            for c in 0..<cols {
                let p = pixels[r * cols + c]
                // Cairo's ARGB32 is premultiplied, native-endian 0xAARRGGBB.
                let a = min(1, max(0, p.a))
                func byte(_ v: Double) -> UInt32 { UInt32((min(1, max(0, v)) * a * 255).rounded()) }
                let ab = UInt32((a * 255).rounded())
                row[c] = (ab << 24) | (byte(p.r) << 16) | (byte(p.g) << 8) | byte(p.b)
            }
        }
        cairo_surface_mark_dirty(img)
        cairo_save(cr)
        defer { cairo_restore(cr) }
        cairo_new_path(cr)
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(cr)
        cairo_translate(cr, rect.x, rect.y)
        cairo_scale(cr, rect.width / Double(cols), rect.height / Double(rows))
        cairo_set_source_surface(cr, img, 0, 0)
        if let pattern = cairo_get_source(cr) {
            cairo_pattern_set_filter(pattern, smooth ? CAIRO_FILTER_BILINEAR : CAIRO_FILTER_NEAREST)
            cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD)
        }
        cairo_paint_with_alpha(cr, alpha)
    }
}

/// A decoded raster image (straight, not premultiplied, colours), used to check rendered PNGs.
public struct RasterImage: Sendable {
    public var width: Int
    public var height: Int
    /// Row-major pixels, row 0 at the top.
    public var pixels: [Color]

    /// Reads a PNG file.
    public static func readPNG(_ path: String) throws -> RasterImage {
        guard FileManager.default.fileExists(atPath: path) else {
            throw RenderError.unwritableOutput(path: path, reason: "no such file")
        }
        guard let surface = cairo_image_surface_create_from_png(path) else {
            throw RenderError.cairo(path: path, status: "cannot read PNG")
        }
        defer { cairo_surface_destroy(surface) }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw RenderError.cairo(path: path, status: String(cString: cairo_status_to_string(status)))
        }
        cairo_surface_flush(surface)
        let w = Int(cairo_image_surface_get_width(surface)), h = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        let format = cairo_image_surface_get_format(surface)
        guard let data = cairo_image_surface_get_data(surface) else {
            throw RenderError.cairo(path: path, status: "no pixel data")
        }
        var pixels: [Color] = []
        pixels.reserveCapacity(w * h)
        for r in 0..<h {
            let row = (data + r * stride).withMemoryRebound(to: UInt32.self, capacity: w) { $0 }
            for c in 0..<w {
                let v = row[c]
                let a = format == CAIRO_FORMAT_RGB24 ? 1 : Double(v >> 24) / 255
                func ch(_ shift: UInt32) -> Double {
                    let x = Double((v >> shift) & 0xff) / 255
                    return a > 0 ? min(1, x / a) : 0
                }
                pixels.append(Color(r: ch(16), g: ch(8), b: ch(0), a: a))
            }
        }
        return RasterImage(width: w, height: h, pixels: pixels)
    }

    /// The pixel at column `x`, row `y`.
    public func pixel(x: Int, y: Int) -> Color { pixels[y * width + x] }

    /// How many pixels differ from `background` by more than `tolerance` in any channel.
    public func count(differingFrom background: Color, tolerance: Double = 0.02) -> Int {
        pixels.reduce(0) { n, p in
            let d = max(abs(p.r - background.r), abs(p.g - background.g), abs(p.b - background.b), abs(p.a - background.a))
            return n + (d > tolerance ? 1 : 0)
        }
    }
}

/// Rewrites of Cairo's SVG and PDF bytes that make one drawing give the same bytes in every process.
enum CairoRewrite {
    /// SOURCE_DATE_EPOCH (seconds since 1970, UTC) when set to a whole number from 0 to the end of year 9999.
    static var sourceDateEpoch: Int? {
        guard let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap(Int.init),
              epoch >= 0, epoch < 253_402_300_800 else { return nil }
        return epoch
    }

    /// Cairo names each SVG surface `surfaceN` with a counter over the whole process, so the second drawing of a
    /// process (a server's second request) differs from the first: the ids (`id="surfaceN"`, `#surfaceN`) are
    /// renumbered 1, 2, … in their order of first appearance.
    static func svg(_ data: Data) -> Data {
        let bytes = [UInt8](data), word = Array("surface".utf8)
        var out = [UInt8](), numbers: [ArraySlice<UInt8>: Int] = [:]
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let quoted = i >= 4 && bytes[(i - 4)..<i].elementsEqual("id=\"".utf8)
            let referenced = i >= 1 && bytes[i - 1] == UInt8(ascii: "#")
            if (quoted || referenced), bytes[i...].starts(with: word) {
                var j = i + word.count
                while j < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[j]) { j += 1 }
                if j > i + word.count {
                    let digits = bytes[(i + word.count)..<j]
                    let n = numbers[digits] ?? numbers.count + 1
                    numbers[digits] = n
                    out += word + Array(String(n).utf8)
                    i = j
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return Data(out)
    }

    /// Cairo 1.16 writes a creation date given through its metadata call without PDF's "D:" prefix, as
    /// `   /CreationDate (20231114221320Z)` (three spaces of indentation): two of the spaces make room for the prefix,
    /// so the file keeps its length and its cross-reference offsets hold. Bytes without such a date (a Cairo that
    /// writes the prefix itself) are returned as they are.
    static func pdfCreationDate(_ data: Data) -> Data {
        var bytes = [UInt8](data)
        let key = Array("   /CreationDate (".utf8)
        guard let start = bytes.indices.first(where: { bytes[$0...].starts(with: key) }),
              start + key.count < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[start + key.count])
        else { return data }
        bytes.replaceSubrange(start..<(start + key.count), with: Array(" /CreationDate (D:".utf8))
        return Data(bytes)
    }
}
