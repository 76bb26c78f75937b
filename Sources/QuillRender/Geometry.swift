import QuillData

/// A width and a height.
public struct Size: Equatable, Sendable, CustomStringConvertible {
    public var width: Double
    public var height: Double

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Plain numbers for messages: "720 × 440".
    public var description: String { "\(plainNumber(width)) × \(plainNumber(height))" }
}

/// An axis-aligned rectangle; `y` is the top edge because y points down.
public struct Rect: Equatable, Sendable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public init(size: Size) {
        self.init(x: 0, y: 0, width: size.width, height: size.height)
    }

    public var minX: Double { x }
    public var minY: Double { y }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var midX: Double { x + width / 2 }
    public var midY: Double { y + height / 2 }
    public var size: Size { Size(width: width, height: height) }
    public var isFinite: Bool { x.isFinite && y.isFinite && width.isFinite && height.isFinite }
    /// Plain numbers for messages: "704 × 424 at (8, 8)".
    public var description: String {
        "\(plainNumber(width)) × \(plainNumber(height)) at (\(plainNumber(x)), \(plainNumber(y)))"
    }

    /// The rectangle shrunk by `insets` on each side; sizes never go below zero.
    public func inset(by insets: EdgeInsets) -> Rect {
        Rect(x: x + insets.left, y: y + insets.top,
             width: max(0, width - insets.left - insets.right),
             height: max(0, height - insets.top - insets.bottom))
    }

    /// The rectangle shrunk by `amount` on all four sides.
    public func inset(by amount: Double) -> Rect { inset(by: EdgeInsets(all: amount)) }

    /// The smallest rectangle that holds both.
    public func union(_ other: Rect) -> Rect {
        let x0 = min(minX, other.minX), y0 = min(minY, other.minY)
        return Rect(x: x0, y: y0, width: max(maxX, other.maxX) - x0, height: max(maxY, other.maxY) - y0)
    }

    public func contains(_ p: Point) -> Bool { p.x >= minX && p.x <= maxX && p.y >= minY && p.y <= maxY }

    /// The bounding box of `points`, or nil when there are none.
    public static func bounding(_ points: [Point]) -> Rect? {
        guard let first = points.first else { return nil }
        var x0 = first.x, x1 = first.x, y0 = first.y, y1 = first.y
        for p in points.dropFirst() {
            x0 = min(x0, p.x); x1 = max(x1, p.x)
            y0 = min(y0, p.y); y1 = max(y1, p.y)
        }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// The bounding box of every point of every stroke, or nil when there are no points.
    public static func bounding(strokes: [Stroke]) -> Rect? {
        var box: Rect?
        for stroke in strokes {
            guard let b = bounding(stroke) else { continue }
            box = box.map { $0.union(b) } ?? b
        }
        return box
    }
}

/// Space left free on each side of a rectangle.
public struct EdgeInsets: Equatable, Sendable {
    public var top: Double
    public var left: Double
    public var bottom: Double
    public var right: Double

    public init(top: Double = 0, left: Double = 0, bottom: Double = 0, right: Double = 0) {
        self.top = top
        self.left = left
        self.bottom = bottom
        self.right = right
    }

    public init(all: Double) { self.init(top: all, left: all, bottom: all, right: all) }
    public static let zero = EdgeInsets()
}

/// A uniform scale followed by a translation: `p' = p * scale + offset`; maps stroke coordinates to the page.
public struct Transform: Equatable, Sendable {
    public var scale: Double
    public var offset: Point

    public init(scale: Double = 1, offset: Point = .zero) {
        self.scale = scale
        self.offset = offset
    }

    public static let identity = Transform()

    public func apply(_ p: Point) -> Point { Point(x: p.x * scale + offset.x, y: p.y * scale + offset.y) }

    public func apply(_ r: Rect) -> Rect {
        Rect(x: r.x * scale + offset.x, y: r.y * scale + offset.y, width: r.width * scale, height: r.height * scale)
    }

    public func apply(_ stroke: Stroke) -> Stroke { stroke.map(apply) }

    /// The inverse map, from the page back to stroke coordinates (`scale` must be non-zero).
    public var inverted: Transform {
        Transform(scale: 1 / scale, offset: Point(x: -offset.x / scale, y: -offset.y / scale))
    }
}

/// Checks that strokes have at least one point and that every coordinate is finite.
///
/// - Parameter what: names the input in the error message, e.g. a file name or "line 3".
public func validateStrokes(_ strokes: [Stroke], what: String) throws {
    var count = 0
    for (s, stroke) in strokes.enumerated() {
        for (i, p) in stroke.enumerated() where !p.isFinite {
            throw RenderError.nonFinite(what: what, detail: "stroke \(s), point \(i) is \(p)")
        }
        count += stroke.count
    }
    if count == 0 { throw RenderError.emptyGeometry(what: what, detail: "no stroke has any point") }
}

/// Splits flat coordinate arrays into strokes: stroke i holds points `strokeEnds[i-1] ..< strokeEnds[i]`.
///
/// This is the layout of a data sample (x, y and exclusive stroke end indices); `flipY` negates y for data whose y
/// axis points up. Throws when the arrays disagree or the ends are not increasing up to the point count.
public func strokes(x: [Double], y: [Double], strokeEnds: [Int], flipY: Bool = false) throws -> [Stroke] {
    guard x.count == y.count else {
        throw RenderError.shapeMismatch(what: "strokes", detail: "\(x.count) x values but \(y.count) y values")
    }
    var out: [Stroke] = []
    var start = 0
    for (i, end) in strokeEnds.enumerated() {
        guard end > start, end <= x.count else {
            throw RenderError.shapeMismatch(
                what: "strokes", detail: "stroke end \(end) at index \(i) must be > \(start) and ≤ \(x.count)")
        }
        out.append((start..<end).map { Point(x: x[$0], y: flipY ? -y[$0] : y[$0]) })
        start = end
    }
    guard start == x.count else {
        throw RenderError.shapeMismatch(what: "strokes", detail: "stroke ends stop at \(start) of \(x.count) points")
    }
    return out
}
