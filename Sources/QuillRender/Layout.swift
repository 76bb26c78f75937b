/// How tall (or wide) one panel of a stack is.
public enum PanelLength: Equatable, Sendable {
    /// A fixed length in points.
    case fixed(Double)
    /// A share of the length left after fixed panels and spacing, in proportion to the weights.
    case weight(Double)
}

/// Pure layout helpers: split a rectangle into panels.
public enum Layout {
    /// Splits `rect` into panels stacked top to bottom, separated by `spacing`.
    ///
    /// Fixed panels get their length (shrunk proportionally if they do not fit); weighted panels share the rest.
    public static func vstack(in rect: Rect, _ lengths: [PanelLength], spacing: Double = 0) -> [Rect] {
        split(total: rect.height, lengths, spacing: spacing).map {
            Rect(x: rect.x, y: rect.y + $0.start, width: rect.width, height: $0.length)
        }
    }

    /// Splits `rect` into panels side by side, left to right, separated by `spacing`.
    public static func hstack(in rect: Rect, _ lengths: [PanelLength], spacing: Double = 0) -> [Rect] {
        split(total: rect.width, lengths, spacing: spacing).map {
            Rect(x: rect.x + $0.start, y: rect.y, width: $0.length, height: rect.height)
        }
    }

    /// Splits a length `total` into consecutive intervals; the 1-D core of `vstack` and `hstack`.
    public static func split(total: Double, _ lengths: [PanelLength],
                             spacing: Double = 0) -> [(start: Double, length: Double)] {
        guard !lengths.isEmpty else { return [] }
        let gaps = max(0, spacing) * Double(lengths.count - 1)
        let available = max(0, total - gaps)
        var fixedSum = 0.0, weightSum = 0.0
        for l in lengths {
            switch l {
            case .fixed(let v): fixedSum += max(0, v)
            case .weight(let w): weightSum += max(0, w)
            }
        }
        // Fixed panels win over weighted ones; if even they overflow, shrink them together.
        let fixedScale = fixedSum > available && fixedSum > 0 ? available / fixedSum : 1
        let rest = max(0, available - fixedSum * fixedScale)
        var out: [(start: Double, length: Double)] = []
        var cursor = 0.0
        for l in lengths {
            let len: Double
            switch l {
            case .fixed(let v): len = max(0, v) * fixedScale
            case .weight(let w): len = weightSum > 0 ? rest * max(0, w) / weightSum : 0
            }
            out.append((cursor, len))
            cursor += len + max(0, spacing)
        }
        return out
    }

    /// The largest rectangle of aspect `width / height = aspect` centred in `rect`.
    public static func aspectFit(_ aspect: Double, in rect: Rect) -> Rect {
        guard aspect > 0, aspect.isFinite, rect.width > 0, rect.height > 0 else { return rect }
        if rect.width / rect.height > aspect {
            let w = rect.height * aspect
            return Rect(x: rect.midX - w / 2, y: rect.y, width: w, height: rect.height)
        } else {
            let h = rect.width / aspect
            return Rect(x: rect.x, y: rect.midY - h / 2, width: rect.width, height: h)
        }
    }
}
