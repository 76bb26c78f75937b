import Foundation

/// A point, or an offset between two points, in the plane: the one point type of data, models and rendering.
/// Handwriting coordinates have y pointing down, as every supported source records them.
public struct Point: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    public init(_ x: Double, _ y: Double) {
        self.init(x: x, y: y)
    }

    public static let zero = Point(x: 0, y: 0)

    public var isFinite: Bool { x.isFinite && y.isFinite }
    /// Plain numbers for messages: "(12.5, 3)".
    public var description: String { "(\(plainNumber(x)), \(plainNumber(y)))" }

    public static func + (a: Point, b: Point) -> Point { Point(x: a.x + b.x, y: a.y + b.y) }
    public static func - (a: Point, b: Point) -> Point { Point(x: a.x - b.x, y: a.y - b.y) }
    public static func * (a: Point, s: Double) -> Point { Point(x: a.x * s, y: a.y * s) }
    public static func / (a: Point, s: Double) -> Point { Point(x: a.x / s, y: a.y / s) }
}

/// One pen-down trace: the points the pen passes through, in order, y pointing down.
public typealias Stroke = [Point]

/// A number as a person writes it in a message: 8 rather than 8.0, 0.5, 1e+300, nan.
public func plainNumber(_ v: Double) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    return String(format: "%g", v)
}
