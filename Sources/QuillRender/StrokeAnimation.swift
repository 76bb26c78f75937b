import CGIF
import Foundation
import QuillData
import QuillIO

/// When each point of a page was written: the strokes in the order they were sampled, line by line, one time step per
/// point and one more for the pen-up between two strokes (as in Graves's offsets, where lifting the pen is a step).
public struct StrokeTimeline: Sendable {
    /// Each stroke in page coordinates and the step of its first point.
    public var strokes: [(points: Stroke, start: Int)]
    /// Steps from the first point to the last (at least 1).
    public var totalSteps: Int

    public init(page: PlacedPage) {
        var strokes: [(points: Stroke, start: Int)] = [], step = 0
        for stroke in page.lines.joined() where !stroke.isEmpty {
            strokes.append((stroke, step))
            step += stroke.count + 1
        }
        self.strokes = strokes
        // The step of the last point: the last stroke's start plus its points less one.
        totalSteps = max(step - 2, 1)
    }

    /// The bounding box of the points written after step `after` up to step `upTo`, with the `back` points before
    /// each (whose smoothed curve the new points bend); nil when none were written.
    public func changed(after: Double, upTo: Double, back: Int) -> Rect? {
        var points: [Point] = []
        for entry in strokes {
            let first = Int((after - Double(entry.start)).rounded(.down)) + 1  // points already drawn
            let last = min(Int((upTo - Double(entry.start)).rounded(.down)) + 1, entry.points.count)
            guard last > max(first, 0) else { continue }
            points += entry.points[max(0, first - back)..<last]
        }
        return Rect.bounding(points)
    }

    /// The ink written by step `s` (fractional): every stroke begun by then, up to its last point reached.
    public func ink(at s: Double) -> [Stroke] {
        strokes.compactMap { entry in
            let reached = Int((s - Double(entry.start)).rounded(.down)) + 1
            return reached >= 1 ? Array(entry.points.prefix(reached)) : nil
        }
    }
}

/// How an animation plays.
public struct AnimationOptions: Equatable, Sendable {
    /// Pen steps a second when `duration` is nil: the pace the page was written at (IAM-OnDB's pens report about
    /// 100 points a second, and the bundled model writes every second point).
    public static let stepsPerSecond = 50.0
    /// Seconds from the first stroke to the last (nil: `totalSteps / stepsPerSecond`).
    public var duration: Double?
    /// GIF frames a second.
    public var fps: Double = 25
    /// Seconds a GIF holds its last frame.
    public var hold: Double = 2

    public init() {}

    /// Seconds per pen step for `timeline`.
    public func secondsPerStep(_ timeline: StrokeTimeline) -> Double {
        (duration ?? Double(timeline.totalSteps) / Self.stepsPerSecond) / Double(timeline.totalSteps)
    }
}

/// Animated output of a page (`quill write --animate`, .gif): the strokes drawn at the pace they were written.
public enum StrokeAnimation {
    /// The most pixels a GIF frame may have (16 million: an A3 sheet at 300 dpi).
    public static let maximumFramePixels = 16_000_000

    /// An SVG document in which each stroke is drawn in, from its first point to its last, over the seconds the
    /// pen took (SMIL `<animate>` of the stroke's dash offset, which browsers play); played once, the last frame
    /// kept. Strokes are drawn with `style`'s colour and width (a fountain pen's nominal width) and smoothed as
    /// `style.smooth` says.
    public static func svg(_ page: PlacedPage, style: StrokeStyle, options: AnimationOptions = AnimationOptions()) -> String {
        let timeline = StrokeTimeline(page: page)
        let perStep = options.secondsPerStep(timeline)
        func n(_ v: Double) -> String { String(format: "%.3f", v) }
        func hex(_ c: Color) -> String {
            String(format: "#%02x%02x%02x", Int((c.r * 255).rounded()), Int((c.g * 255).rounded()), Int((c.b * 255).rounded()))
        }
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(page.size.width))pt" height="\(n(page.size.height))pt" \
        viewBox="0 0 \(n(page.size.width)) \(n(page.size.height))">
        <rect width="100%" height="100%" fill="white"/>
        <g fill="none" stroke-width="\(n(style.width))" stroke-linecap="round" stroke-linejoin="round">

        """
        for (i, entry) in timeline.strokes.enumerated() {
            let color = hex(style.color(forStroke: i)), opacity = style.color(forStroke: i).a
            let begin = n(Double(entry.start) * perStep)
            let ink = opacity < 1 ? " stroke-opacity=\"\(n(opacity))\"" : ""
            if entry.points.count == 1 {
                let p = entry.points[0]
                s += "<circle cx=\"\(n(p.x))\" cy=\"\(n(p.y))\" r=\"\(n(style.width / 2))\" fill=\"\(color)\" stroke=\"none\" opacity=\"0\">"
                    + "<set attributeName=\"opacity\" to=\"\(n(opacity))\" begin=\"\(begin)s\" fill=\"freeze\"/></circle>\n"
                continue
            }
            let path = style.smooth ? Path.catmullRom(entry.points) : Path.polyline(entry.points)
            let duration = n(max(Double(entry.points.count - 1) * perStep, 0.001))
            // pathLength 1 with dashes of 1 and gaps of 2: an offset past 1 hides the stroke, 0 shows all of it.
            s += "<path d=\"\(svgPathData(path))\" stroke=\"\(color)\"\(ink) pathLength=\"1\" stroke-dasharray=\"1 2\" "
                + "stroke-dashoffset=\"1.001\"><animate attributeName=\"stroke-dashoffset\" from=\"1.001\" to=\"0\" "
                + "begin=\"\(begin)s\" dur=\"\(duration)s\" fill=\"freeze\"/></path>\n"
        }
        return s + "</g>\n</svg>\n"
    }

    /// SVG path data (`M`, `L`, `C`) for `path`.
    static func svgPathData(_ path: Path) -> String {
        func p(_ q: Point) -> String { String(format: "%.3f %.3f", q.x, q.y) }
        return path.elements.map {
            switch $0 {
            case .move(let q): return "M" + p(q)
            case .line(let q): return "L" + p(q)
            case .curve(let a, let b, let q): return "C" + p(a) + " " + p(b) + " " + p(q)
            }
        }.joined(separator: " ")
    }

    /// Writes `page` as an animated GIF to `path`, atomically: frames `options.fps` a second over the writing, each
    /// the ink written by then, drawn with `style` at `pixelScale` pixels per point, then the finished page held
    /// `options.hold` seconds; played once. Colours are a 64-step ramp from the white paper to the ink colour (the
    /// first stroke's, when strokes are coloured one by one). Returns the number of frames. Throws `RenderError`
    /// and `FileSystemError`.
    @discardableResult
    public static func gif(_ page: PlacedPage, style: StrokeStyle, options: AnimationOptions = AnimationOptions(),
                           pixelScale: Double, to path: String) throws -> Int {
        let timeline = StrokeTimeline(page: page)
        let seconds = options.secondsPerStep(timeline) * Double(timeline.totalSteps)
        let frames = max(1, Int((seconds * options.fps).rounded(.up)))
        guard frames <= 100_000 else {
            throw RenderError.invalidArgument(what: path, detail: "\(frames) frames is too many; lower --fps or --duration")
        }
        let pixels = (page.size.width * pixelScale).rounded(.up) * (page.size.height * pixelScale).rounded(.up)
        guard pixels <= Double(maximumFramePixels) else {
            throw RenderError.invalidArgument(what: path, detail: String(format: "a GIF frame of %.0f million pixels is more than the %d million a GIF may have here; lower --dpi or write a smaller page", pixels / 1e6, maximumFramePixels / 1_000_000))
        }
        let raster = try Canvas(rasterWidth: page.size.width, height: page.size.height, pixelScale: pixelScale)
        let ink = style.color(forStroke: 0)
        let levels = 64
        // Invariant: a raster is a PNG-format canvas, whose pixels withPixels always gives.
        let (width, height) = raster.withPixels { _, w, h, _ in (w, h) }!
        let writer = try GIFWriter(path: path, width: width, height: height,
                                   palette: (0..<levels).map { Color.white.mix(ink.withAlpha(1), Double($0) / Double(levels - 1)) })
        defer { writer.abort() }
        var indices = [UInt8](repeating: 0, count: width * height)
        let centiseconds = max(1, Int((100 / options.fps).rounded()))
        // Ink only grows, so a frame differs from the one before only around the points added since (a smoothed
        // curve also bends back two points): only that rectangle is redrawn, converted and compared.
        let reach = style.width * (style.pen == .fountain ? 1.6 : 1) / 2 + 2 / pixelScale
        var previousStep = -1.0
        for k in 0...frames {
            // Frame k shows the ink at its time; the extra last frame is the finished page, held.
            let step = k == frames ? Double(timeline.totalSteps) : Double(k) / options.fps / options.secondsPerStep(timeline)
            // A fountain pen's widths follow the median speed of all ink drawn so far, so each frame can change
            // every stroke a little: it is redrawn whole.
            let dirty = k == 0 || style.pen == .fountain ? raster.bounds
                : timeline.changed(after: previousStep, upTo: step, back: 2)
                .map { Rect(x: $0.x - reach, y: $0.y - reach, width: $0.width + 2 * reach, height: $0.height + 2 * reach) }
            previousStep = step
            let delay = k == frames ? max(1, Int((options.hold * 100).rounded())) : centiseconds
            guard let dirty else { try writer.frame(indices, delay: delay, region: (0, 0, 0, 0)); continue }
            let x0 = max(0, Int((dirty.minX * pixelScale).rounded(.down))), y0 = max(0, Int((dirty.minY * pixelScale).rounded(.down)))
            let x1 = min(width - 1, Int((dirty.maxX * pixelScale).rounded(.up))), y1 = min(height - 1, Int((dirty.maxY * pixelScale).rounded(.up)))
            guard x0 <= x1, y0 <= y1 else { try writer.frame(indices, delay: delay, region: (0, 0, 0, 0)); continue }
            raster.fill(raster.bounds, .white)
            raster.drawStrokes(timeline.ink(at: step), transform: .identity, style: style)
            raster.withPixels { pixels, width, _, stride in
                for y in y0...y1 {
                    for x in x0...x1 { indices[y * width + x] = UInt8(rampIndex(pixels[y * stride + x], ink: ink, levels: levels)) }
                }
            }
            try writer.frame(indices, delay: delay, region: k == 0 ? (0, 0, width - 1, height - 1) : (x0, y0, x1, y1))
        }
        try writer.commit()
        return frames + 1
    }

    /// The ramp level (0 paper … levels − 1 ink) of an opaque ARGB pixel: its position between white and `ink`,
    /// measured along the channel where they differ most.
    static func rampIndex(_ argb: UInt32, ink: Color, levels: Int) -> Int {
        let r = Double((argb >> 16) & 0xff) / 255, g = Double((argb >> 8) & 0xff) / 255, b = Double(argb & 0xff) / 255
        let d = [(1 - ink.r, 1 - r), (1 - ink.g, 1 - g), (1 - ink.b, 1 - b)].max { $0.0 < $1.0 } ?? (1, 0)
        guard d.0 > 1e-9 else { return 0 }
        return min(levels - 1, max(0, Int((d.1 / d.0 * Double(levels - 1)).rounded())))
    }
}

/// A GIF written through giflib into an `AtomicOutput`: complete after `commit`, absent otherwise.
final class GIFWriter {
    private let output: AtomicOutput
    private var gif: UnsafeMutablePointer<GifFileType>?
    private var failure: Error?
    private let width: Int, height: Int
    private var line: [GifByteType]
    let path: String

    init(path: String, width: Int, height: Int, palette: [Color]) throws {
        precondition((2...256).contains(palette.count))
        guard (1...65_535).contains(width), (1...65_535).contains(height) else {
            throw RenderError.invalidArgument(what: path, detail: "a GIF is at most 65535 pixels on a side")
        }
        self.path = path
        self.width = width
        self.height = height
        line = [GifByteType](repeating: 0, count: width)
        output = try AtomicOutput(path: path)
        var error: Int32 = 0
        gif = EGifOpen(Unmanaged.passUnretained(self).toOpaque(), { file, bytes, count in
            guard let file, let user = file.pointee.UserData, let bytes else { return 0 }
            let writer = Unmanaged<GIFWriter>.fromOpaque(user).takeUnretainedValue()
            do { try writer.output.write(UnsafeRawBufferPointer(start: bytes, count: Int(count))) } catch {
                writer.failure = error
                return 0
            }
            return count
        }, &error)
        guard let gif else { output.abort(); throw RenderError.invalidArgument(what: path, detail: "giflib: \(Self.message(error))") }
        // A colour map of a power of two entries: the palette, padded with its last colour.
        let size = 1 << Int(ceil(log2(Double(palette.count))))
        var colors = (0..<size).map { i -> GifColorType in
            let c = palette[min(i, palette.count - 1)]
            func byte(_ v: Double) -> GifByteType { GifByteType(min(255, max(0, (v * 255).rounded()))) }
            return GifColorType(Red: byte(c.r), Green: byte(c.g), Blue: byte(c.b))
        }
        let map = GifMakeMapObject(Int32(size), &colors)
        defer { GifFreeMapObject(map) }
        EGifSetGifVersion(gif, true)
        try check(EGifPutScreenDesc(gif, Int32(width), Int32(height), 8, 0, map))
    }

    /// Appends a frame of palette indices (`width` × `height`, row-major) shown for `delay` hundredths of a second,
    /// storing only `region` (x0, y0, x1, y1, inclusive; drawn over the frame before): where it changed.
    func frame(_ indices: [UInt8], delay: Int, region: (Int, Int, Int, Int)) throws {
        guard let gif else { return }
        precondition(indices.count == width * height)
        let (x0, y0, x1, y1) = region
        var control = GraphicsControlBlock(DisposalMode: DISPOSE_DO_NOT, UserInputFlag: false,
                                           DelayTime: Int32(min(delay, 65_535)), TransparentColor: NO_TRANSPARENT_COLOR)
        var extension_ = [GifByteType](repeating: 0, count: 4)
        let length = EGifGCBToExtension(&control, &extension_)
        try check(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, Int32(length), extension_))
        let w = x1 - x0 + 1
        try check(EGifPutImageDesc(gif, Int32(x0), Int32(y0), Int32(w), Int32(y1 - y0 + 1), false, nil))
        for y in y0...y1 {
            for x in 0..<w { line[x] = indices[y * width + x0 + x] }
            try check(EGifPutLine(gif, &line, Int32(w)))
        }
    }

    /// Closes the GIF and renames it into place.
    func commit() throws {
        guard let file = gif else { return }
        gif = nil
        var error: Int32 = 0
        if EGifCloseFile(file, &error) != GIF_OK {
            output.abort()
            throw failure ?? RenderError.invalidArgument(what: path, detail: "giflib: \(Self.message(error))")
        }
        try output.commit()
    }

    /// Abandons an unfinished GIF: nothing is left at the path.
    func abort() {
        guard let file = gif else { return }
        gif = nil
        var error: Int32 = 0
        _ = EGifCloseFile(file, &error)
        output.abort()
    }

    private func check(_ status: Int32) throws {
        guard status != GIF_OK else { return }
        if let failure { throw failure }
        throw RenderError.invalidArgument(what: path, detail: "giflib: \(Self.message(gif?.pointee.Error ?? 0))")
    }

    private static func message(_ code: Int32) -> String {
        GifErrorString(code).map { String(cString: $0) } ?? "error \(code)"
    }
}
