import QuillData
import XCTest
@testable import QuillRender

final class GeometryTests: XCTestCase {
    /// Three lines of 60 points, the longest of 10 characters (12 points each), margin 20, gap 16, pen 2.
    func testEstimatedPageSize() {
        var page = PageOptions()
        page.lineHeight = 60
        page.style.width = 2
        XCTAssertEqual(page.estimatedSize(lines: 3, longestLine: 10), Size(width: 120 + 42, height: 180 + 32 + 42))
        XCTAssertEqual(Canvas.maximumSide(for: .png), 32_767)
        XCTAssertEqual(Canvas.maximumSide(for: .pdf), 100_000)
    }

    func testBoundingBoxOfStrokes() throws {
        let strokes: [Stroke] = [[Point(1, 2), Point(3, -1)], [], [Point(-2, 5)]]
        let b = try XCTUnwrap(Rect.bounding(strokes: strokes))
        XCTAssertEqual(b, Rect(x: -2, y: -1, width: 5, height: 6))
        XCTAssertNil(Rect.bounding(strokes: [[], []]))
    }

    func testTransformApplyAndInverse() {
        let t = Transform(scale: 2, offset: Point(10, -4))
        XCTAssertEqual(t.apply(Point(1, 3)), Point(12, 2))
        XCTAssertEqual(t.apply(Rect(x: 1, y: 1, width: 2, height: 3)), Rect(x: 12, y: -2, width: 4, height: 6))
        let back = t.inverted.apply(t.apply(Point(7, -9)))
        XCTAssertEqual(back.x, 7, accuracy: 1e-12)
        XCTAssertEqual(back.y, -9, accuracy: 1e-12)
    }

    func testFitToHeightScalesAndAddsMargins() {
        // A 40 × 10 box fitted to height 30 with margin 5: inner height 20, so scale 2.
        let (t, size) = StrokeLayout.fitToHeight(Rect(x: 10, y: -5, width: 40, height: 10), height: 30, margin: 5)
        XCTAssertEqual(t.scale, 2)
        XCTAssertEqual(size, Size(width: 90, height: 30))
        XCTAssertEqual(t.apply(Point(10, -5)), Point(5, 5))      // top-left of ink at the margin
        XCTAssertEqual(t.apply(Point(50, 5)), Point(85, 25))     // bottom-right of ink at size - margin
    }

    func testFitToHeightOfFlatStrokeKeepsScaleOne() {
        let (t, size) = StrokeLayout.fitToHeight(Rect(x: 0, y: 3, width: 10, height: 0), height: 20, margin: 2)
        XCTAssertEqual(t.scale, 1)
        XCTAssertEqual(size.width, 14)
        XCTAssertEqual(t.apply(Point(0, 3)).y, 10)  // centred vertically
    }

    func testFitInsideKeepsAspectAndCentres() {
        let t = StrokeLayout.fitInside(Rect(x: 0, y: 0, width: 10, height: 5), Rect(x: 0, y: 0, width: 100, height: 100),
                                       margin: 10)
        XCTAssertEqual(t.scale, 8)  // width-limited: 80 / 10
        XCTAssertEqual(t.apply(Point(0, 0)), Point(10, 30))
        XCTAssertEqual(t.apply(Point(10, 5)), Point(90, 70))
        // A single dot is centred at scale 1.
        let dot = StrokeLayout.fitInside(Rect(x: 3, y: 4, width: 0, height: 0), Rect(x: 0, y: 0, width: 20, height: 10))
        XCTAssertEqual(dot.scale, 1)
        XCTAssertEqual(dot.apply(Point(3, 4)), Point(10, 5))
    }

    func testPageLayoutUniformScaling() {
        let lines = [Rect(x: 0, y: -2, width: 20, height: 4), Rect(x: 5, y: 0, width: 10, height: 2)]
        let page = StrokeLayout.page(lineBounds: lines, lineHeight: 40, lineGap: 10, margin: 5)
        // The tallest line (4 units) fills 40 points: one scale of 10 for both lines.
        XCTAssertEqual(page.lines.map(\.transform.scale), [10, 10])
        XCTAssertEqual(page.size, Size(width: 210, height: 5 + 40 + 10 + 40 + 5))
        XCTAssertEqual(page.lines[0].bounds, Rect(x: 5, y: 5, width: 200, height: 40))
        // Second line: 20 points tall, centred in its slot [55, 95], left edge at the margin.
        XCTAssertEqual(page.lines[1].bounds, Rect(x: 5, y: 65, width: 100, height: 20))
    }

    func testPageLayoutPerLineAndFixedWidth() {
        let lines = [Rect(x: 0, y: 0, width: 20, height: 4), Rect(x: 0, y: 0, width: 100, height: 2)]
        let page = StrokeLayout.page(lineBounds: lines, lineHeight: 20, margin: 10, width: 220, scaling: .perLine)
        XCTAssertEqual(page.lines[0].transform.scale, 5)
        // Line 2 wants scale 10 (1000 points) but only 200 fit: shrunk to 2.
        XCTAssertEqual(page.lines[1].transform.scale, 2)
        XCTAssertEqual(page.size.width, 220)
        XCTAssertLessThanOrEqual(page.lines.map(\.bounds.maxX).max() ?? 0, 210 + 1e-9)
    }

    func testVStackSplitsFixedAndWeighted() {
        let r = Layout.vstack(in: Rect(x: 10, y: 20, width: 100, height: 210), [.fixed(50), .weight(1), .weight(3)],
                              spacing: 10)
        XCTAssertEqual(r.map(\.height), [50, 35, 105])
        XCTAssertEqual(r.map(\.y), [20, 80, 125])
        XCTAssertEqual(r.last?.maxY, 230)
        XCTAssertTrue(r.allSatisfy { $0.x == 10 && $0.width == 100 })
    }

    func testStackShrinksOverflowingFixedPanels() {
        let parts = Layout.split(total: 100, [.fixed(100), .fixed(100), .weight(1)], spacing: 0)
        XCTAssertEqual(parts.map(\.length), [50, 50, 0])
        let h = Layout.hstack(in: Rect(x: 0, y: 0, width: 90, height: 5), [.weight(1), .weight(2)])
        XCTAssertEqual(h.map(\.width), [30, 60])
        XCTAssertEqual(h[1].x, 30)
    }

    func testInsetAndAspectFit() {
        let r = Rect(x: 0, y: 0, width: 100, height: 50).inset(by: EdgeInsets(top: 5, left: 10, bottom: 15, right: 20))
        XCTAssertEqual(r, Rect(x: 10, y: 5, width: 70, height: 30))
        XCTAssertEqual(Rect(x: 0, y: 0, width: 4, height: 4).inset(by: 3).size, Size(width: 0, height: 0))
        XCTAssertEqual(Layout.aspectFit(2, in: Rect(x: 0, y: 0, width: 100, height: 100)),
                       Rect(x: 0, y: 25, width: 100, height: 50))
    }

    func testCatmullRomPassesThroughPointsWithMatchingTangents() throws {
        let pts = [Point(0, 0), Point(1, 2), Point(3, 3), Point(4, 1)]
        let path = Path.catmullRom(pts)
        XCTAssertEqual(path.elements.count, 4)
        XCTAssertEqual(path.elements.first, .move(pts[0]))
        var prevC2: Point?
        for (i, e) in path.elements.dropFirst().enumerated() {
            guard case .curve(let c1, let c2, let to) = e else { return XCTFail("expected curves") }
            XCTAssertEqual(to, pts[i + 1])
            // C1 continuity: the incoming and outgoing handles at each joint are mirror images.
            if let p = prevC2 {
                let joint = pts[i]
                XCTAssertEqual((joint - p).x, (c1 - joint).x, accuracy: 1e-12)
                XCTAssertEqual((joint - p).y, (c1 - joint).y, accuracy: 1e-12)
            }
            prevC2 = c2
        }
        // The first segment's control point uses the repeated end point: p0 + (p1 - p0) / 6.
        guard case .curve(let c1, _, _) = path.elements[1] else { return XCTFail() }
        XCTAssertEqual(c1.x, 1.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(c1.y, 2.0 / 6, accuracy: 1e-12)
    }

    func testCatmullRomOfEvenlySpacedLineStaysOnTheLine() {
        let pts = (0..<5).map { Point(Double($0), 2 * Double($0)) }
        for e in Path.catmullRom(pts).elements {
            if case .curve(let c1, let c2, _) = e {
                XCTAssertEqual(c1.y, 2 * c1.x, accuracy: 1e-12)
                XCTAssertEqual(c2.y, 2 * c2.x, accuracy: 1e-12)
            }
        }
        // Interior segment from (1,2) to (2,4): handles at the thirds.
        guard case .curve(let c1, let c2, _) = Path.catmullRom(pts).elements[2] else { return XCTFail() }
        XCTAssertEqual(c1.x, 1 + 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(c2.x, 2 - 1.0 / 3, accuracy: 1e-12)
        let mid = bezierPoint(Point(1, 2), c1, c2, Point(2, 4), t: 0.5)
        XCTAssertEqual(mid.x, 1.5, accuracy: 1e-12)
    }

    func testShortStrokesBecomePolylines() {
        XCTAssertEqual(Path.catmullRom([Point(0, 0), Point(1, 1)]), Path([.move(Point(0, 0)), .line(Point(1, 1))]))
        XCTAssertEqual(Path.catmullRom([]).elements, [])
    }

    func testValidateStrokesRejectsEmptyAndNonFinite() {
        XCTAssertThrowsError(try validateStrokes([[]], what: "x.png")) { error in
            guard case RenderError.emptyGeometry = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("x.png"))
        }
        XCTAssertThrowsError(try validateStrokes([[Point(0, 0)], [Point(1, .nan)]], what: "y.svg")) { error in
            XCTAssertTrue("\(error)".contains("stroke 1, point 0"), "\(error)")
        }
        XCTAssertNoThrow(try validateStrokes([[Point(0, 0)]], what: "ok"))
    }

    func testSyntheticLinesAreSeededAndIAMSized() {
        let a = SyntheticHandwriting.line(seed: 7), b = SyntheticHandwriting.line(seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, SyntheticHandwriting.line(seed: 8))
        let lines = (1...20).map { SyntheticHandwriting.line(seed: UInt64($0)) }
        let points = Double(lines.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }) / 20
        let strokes = Double(lines.reduce(0) { $0 + $1.count }) / 20
        XCTAssertEqual(points, 600, accuracy: 150)
        XCTAssertEqual(strokes, 25, accuracy: 8)
    }

    func testStrokesFromFlatArrays() throws {
        let s = try strokes(x: [0, 1, 2, 3, 4], y: [5, 6, 7, 8, 9], strokeEnds: [2, 5], flipY: true)
        XCTAssertEqual(s, [[Point(0, -5), Point(1, -6)], [Point(2, -7), Point(3, -8), Point(4, -9)]])
        XCTAssertThrowsError(try strokes(x: [0, 1], y: [0], strokeEnds: [1]))
        XCTAssertThrowsError(try strokes(x: [0, 1], y: [0, 1], strokeEnds: [1]))     // ends short of the points
        XCTAssertThrowsError(try strokes(x: [0, 1], y: [0, 1], strokeEnds: [1, 1, 2])) // empty stroke
        XCTAssertThrowsError(try strokes(x: [0, 1], y: [0, 1], strokeEnds: [3]))
    }

    /// A path cut into pieces: each has at most `count` lines or curves, starts where the one before it ended, and
    /// together they hold the path's lines and curves in order; a move inside the path starts a piece of its own.
    func testPathPiecesCoverThePathInOrder() {
        let pts = (0..<10).map { Point(x: Double($0), y: Double($0 * $0 % 7)) }
        let path = Path.catmullRom(pts)
        let pieces = path.pieces(ofAtMost: 4)
        XCTAssertEqual(pieces.count, 3)  // 9 curves: 4, 4, 1
        XCTAssertEqual(pieces.map { $0.elements.count }, [5, 5, 2])
        XCTAssertEqual(pieces.flatMap { $0.elements.dropFirst() }, Array(path.elements.dropFirst()))
        XCTAssertEqual(pieces[0].elements.first, .move(pts[0]))
        XCTAssertEqual(pieces[1].elements.first, .move(pts[4]))
        XCTAssertEqual(pieces[2].elements.first, .move(pts[8]))
        XCTAssertEqual(path.pieces(ofAtMost: 100), [path])
        let two = Path([.move(Point(x: 0, y: 0)), .line(Point(x: 1, y: 0)), .move(Point(x: 5, y: 5)), .move(Point(x: 6, y: 6)),
                        .line(Point(x: 7, y: 6)), .line(Point(x: 8, y: 6))])
        XCTAssertEqual(two.pieces(ofAtMost: 1), [Path([.move(Point(x: 0, y: 0)), .line(Point(x: 1, y: 0))]),
                                                 Path([.move(Point(x: 6, y: 6)), .line(Point(x: 7, y: 6))]),
                                                 Path([.move(Point(x: 7, y: 6)), .line(Point(x: 8, y: 6))])])
        XCTAssertEqual(Path().pieces(ofAtMost: 3), [])
    }
}
