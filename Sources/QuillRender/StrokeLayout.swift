import QuillData

/// Where one line of handwriting sits on a page: its transform and the box it covers on the page.
public struct LinePlacement: Equatable, Sendable {
    /// Maps the line's own stroke coordinates to page coordinates.
    public var transform: Transform
    /// The line's bounding box on the page (its ink, without margins).
    public var bounds: Rect
}

/// A page of handwriting lines: the page size and one placement per line, top to bottom.
public struct PageLayout: Equatable, Sendable {
    public var size: Size
    public var lines: [LinePlacement]
}

/// Pure functions that fit strokes to boxes and lay lines out as pages.
public enum StrokeLayout {
    /// How a page scales its lines.
    public enum Scaling: Equatable, Sendable {
        /// One scale for every line, chosen so the tallest line fills `lineHeight`: letters keep one size.
        case uniform
        /// Each line scaled on its own to fill `lineHeight`.
        case perLine
    }

    /// The transform that scales `bounds` to `height` (plus `margin` above and below) and puts its top-left
    /// corner at `(margin, margin)`; returns it with the fitted size including margins.
    ///
    /// A flat box (zero height) keeps scale 1, so a horizontal dash is not blown up to infinity.
    public static func fitToHeight(_ bounds: Rect, height: Double, margin: Double) -> (transform: Transform, size: Size) {
        let inner = max(0, height - 2 * margin)
        let scale = bounds.height > 1e-12 ? inner / bounds.height : 1
        let t = Transform(scale: scale,
                          offset: Point(x: margin - bounds.x * scale,
                                        y: margin - bounds.y * scale + (inner - bounds.height * scale) / 2))
        return (t, Size(width: bounds.width * scale + 2 * margin, height: height))
    }

    /// The transform that fits `bounds` inside `rect` (less `margin` on each side), keeping the aspect ratio and
    /// centring it; a degenerate box (a dot or a flat dash) is centred without being blown up.
    public static func fitInside(_ bounds: Rect, _ rect: Rect, margin: Double = 0) -> Transform {
        let inner = rect.inset(by: margin)
        let sx = bounds.width > 1e-12 ? inner.width / bounds.width : Double.infinity
        let sy = bounds.height > 1e-12 ? inner.height / bounds.height : Double.infinity
        var scale = min(sx, sy)
        if !scale.isFinite { scale = 1 }
        return Transform(scale: scale,
                         offset: Point(x: inner.midX - (bounds.x + bounds.width / 2) * scale,
                                       y: inner.midY - (bounds.y + bounds.height / 2) * scale))
    }

    /// Lays lines (given by their ink bounding boxes) out as a page, top to bottom, left-aligned.
    ///
    /// Each line gets a slot `lineHeight` tall, separated by `lineGap`, and is centred vertically in it;
    /// the page is `margin` wider than the widest line on each side. With `width`, the page has that width and a line
    /// too wide for it is shrunk to fit.
    public static func page(lineBounds: [Rect], lineHeight: Double, lineGap: Double = 0, margin: Double = 0,
                            width: Double? = nil, scaling: Scaling = .uniform) -> PageLayout {
        let tallest = lineBounds.map(\.height).max() ?? 0
        var scales: [Double] = lineBounds.map { b in
            switch scaling {
            case .uniform: return tallest > 1e-12 ? lineHeight / tallest : 1
            case .perLine: return b.height > 1e-12 ? lineHeight / b.height : 1
            }
        }
        if let width {
            let room = max(0, width - 2 * margin)
            for i in scales.indices where lineBounds[i].width * scales[i] > room && lineBounds[i].width > 0 {
                scales[i] = room / lineBounds[i].width
            }
        }
        var placements: [LinePlacement] = []
        var maxWidth = 0.0
        for (i, b) in lineBounds.enumerated() {
            let s = scales[i]
            let slotTop = margin + Double(i) * (lineHeight + lineGap)
            let top = slotTop + (lineHeight - b.height * s) / 2
            let t = Transform(scale: s, offset: Point(x: margin - b.x * s, y: top - b.y * s))
            placements.append(LinePlacement(transform: t, bounds: t.apply(b)))
            maxWidth = max(maxWidth, b.width * s)
        }
        let n = Double(lineBounds.count)
        let height = 2 * margin + n * lineHeight + max(0, n - 1) * lineGap
        return PageLayout(size: Size(width: width ?? (maxWidth + 2 * margin), height: height), lines: placements)
    }
}
