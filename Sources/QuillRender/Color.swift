import Foundation

/// An sRGB colour with alpha, each channel in [0, 1].
public struct Color: Equatable, Hashable, Sendable {
    public var r: Double
    public var g: Double
    public var b: Double
    public var a: Double

    public init(r: Double, g: Double, b: Double, a: Double = 1) {
        self.r = r
        self.g = g
        self.b = b
        self.a = a
    }

    /// A colour from a hex number such as `0x1f77b4`.
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(r: Double((hex >> 16) & 0xff) / 255, g: Double((hex >> 8) & 0xff) / 255,
                  b: Double(hex & 0xff) / 255, a: alpha)
    }

    /// `#rrggbb` (alpha dropped), for CSS and SVG.
    public var hexString: String {
        let byte = { (v: Double) in Int((min(1, max(0, v.isNaN ? 0 : v)) * 255).rounded()) }
        return String(format: "#%02x%02x%02x", byte(r), byte(g), byte(b))
    }

    /// Perceived lightness in [0, 1] (Rec. 601 weights), for choosing dark or light text over a colour.
    public var luma: Double { 0.299 * r + 0.587 * g + 0.114 * b }

    /// The same colour with alpha `a`.
    public func withAlpha(_ a: Double) -> Color { Color(r: r, g: g, b: b, a: a) }

    /// Linear interpolation between two colours; `t = 0` gives `self`.
    public func mix(_ other: Color, _ t: Double) -> Color {
        Color(r: r + (other.r - r) * t, g: g + (other.g - g) * t, b: b + (other.b - b) * t, a: a + (other.a - a) * t)
    }

    public static let black = Color(r: 0, g: 0, b: 0)
    public static let white = Color(r: 1, g: 1, b: 1)
    public static let clear = Color(r: 0, g: 0, b: 0, a: 0)
    /// Ink for handwriting: a dark blue-black.
    public static let ink = Color(hex: 0x1a1f3a)
    /// Axis lines, ticks and labels.
    public static let axis = Color(hex: 0x333333)
    /// Light grid lines.
    public static let grid = Color(hex: 0xe5e5e5)

    /// The colour names `Color(parsing:)` knows: CSS's sixteen basic colours, a few common ink colours, and Quill's
    /// own `ink`.
    public static let named: [String: Color] = [
        "black": 0x000000, "white": 0xffffff, "gray": 0x808080, "grey": 0x808080, "silver": 0xc0c0c0,
        "red": 0xff0000, "maroon": 0x800000, "yellow": 0xffff00, "olive": 0x808000, "lime": 0x00ff00,
        "green": 0x008000, "aqua": 0x00ffff, "teal": 0x008080, "blue": 0x0000ff, "navy": 0x000080,
        "fuchsia": 0xff00ff, "purple": 0x800080, "orange": 0xffa500, "brown": 0xa52a2a, "darkblue": 0x00008b,
        "darkred": 0x8b0000, "darkgreen": 0x006400, "royalblue": 0x4169e1, "ink": 0x1a1f3a,
    ].mapValues { Color(hex: $0) }

    /// A colour from a name in `named` (any case) or a hex code `#rgb`, `#rrggbb` or `#rrggbbaa` (the `#` optional).
    /// Returns nil for anything else.
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let c = Color.named[t] { self = c; return }
        var hex = t.hasPrefix("#") ? String(t.dropFirst()) : t
        guard [3, 6, 8].contains(hex.count), hex.allSatisfy(\.isHexDigit) else { return nil }
        if hex.count == 3 { hex = hex.map { "\($0)\($0)" }.joined() }
        guard let v = UInt64(hex, radix: 16) else { return nil }
        let alpha = hex.count == 8 ? Double(v & 0xff) / 255 : 1
        self.init(hex: UInt32(truncatingIfNeeded: hex.count == 8 ? v >> 8 : v), alpha: alpha)
    }

    /// Ten distinct colours for series and per-stroke colouring (matplotlib's "tab10").
    public static let categorical: [Color] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
    ].map { Color(hex: $0) }
}

/// A map from a value in [0, 1] to a colour, by linear interpolation between evenly spaced anchors.
public struct Colormap: Equatable, Sendable {
    public var name: String
    public var anchors: [Color]

    public init(name: String, anchors: [Color]) {
        self.name = name
        self.anchors = anchors
    }

    /// The colour for `t`; values outside [0, 1] are clamped and NaN maps to the low end.
    public func color(at t: Double) -> Color {
        guard anchors.count > 1 else { return anchors.first ?? .black }
        let u = t.isNaN ? 0 : min(1, max(0, t))
        let x = u * Double(anchors.count - 1)
        let i = min(anchors.count - 2, Int(x))
        return anchors[i].mix(anchors[i + 1], x - Double(i))
    }

    /// Blue (low) → near-white (middle) → red (high), a diverging map for signed values (Moreland's "cool to warm",
    /// as Karpathy et al. colour cell states): 0 of a symmetric range shows as paper.
    public static let coolwarm = Colormap(name: "coolwarm", anchors: [
        0x3b4cc0, 0x8db0fe, 0xf2f0ee, 0xf49a7b, 0xb40426,
    ].map { Color(hex: $0) })

    /// The same map run backwards.
    public var reversed: Colormap { Colormap(name: name + "_r", anchors: anchors.reversed()) }

    /// Perceptually uniform dark purple → yellow (matplotlib's default), sampled at nine points.
    public static let viridis = Colormap(name: "viridis", anchors: [
        0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21908c, 0x27ad81, 0x5dc863, 0xaadc32, 0xfde725,
    ].map { Color(hex: $0) })

    /// White (low) → black (high), as in Graves's window plots: attention shows as dark ink on paper.
    public static let greys = Colormap(name: "greys", anchors: [.white, .black])

    /// Black → red → yellow → white (the classic "hot" map), good for densities.
    public static let hot = Colormap(name: "hot", anchors: [
        Color(r: 0, g: 0, b: 0), Color(r: 0.9, g: 0, b: 0), Color(r: 1, g: 0.9, b: 0), Color(r: 1, g: 1, b: 1),
    ])

    /// Looks a colormap up by name (`viridis`, `greys`, `hot`, each with an optional `_r` suffix).
    public static func named(_ name: String) -> Colormap? {
        let reversed = name.hasSuffix("_r")
        let base = reversed ? String(name.dropLast(2)) : name
        let map: Colormap?
        switch base.lowercased() {
        case "viridis": map = .viridis
        case "greys", "grays", "grey", "gray": map = .greys
        case "hot": map = .hot
        case "coolwarm": map = .coolwarm
        default: map = nil
        }
        return reversed ? map?.reversed : map
    }
}
