import Foundation
import QuillData
import XCTest

/// The geometry that gives a page one hand: slope, letter height, levelling and scaling, as numbers.
final class LineGeometryTests: XCTestCase {
    /// A line of small loops (radius r) along y = slope·x, one every 10 units.
    func loops(count: Int = 12, radius r: Double = 3, slope: Double = 0) -> HandwritingSample {
        let strokes = (0..<count).map { k in (0..<8).map { i -> Point in
            let x = Double(k) * 10 + r * cos(Double(i) * .pi / 4)
            return Point(x: x, y: slope * x + r * sin(Double(i) * .pi / 4))
        } }
        return HandwritingSample(id: "loops", strokes: strokes)
    }

    func testSlopeIsFittedAndLevelled() {
        let tilted = loops(slope: tan(5 * .pi / 180))
        XCTAssertEqual(StrokeGeometry.slopeDegrees(tilted), 5, accuracy: 0.2)
        XCTAssertEqual(StrokeGeometry.slopeDegrees(StrokeGeometry.levelled(tilted)), 0, accuracy: 0.05)
        XCTAssertEqual(StrokeGeometry.slopeDegrees(loops()), 0, accuracy: 1e-9)
    }

    func testOneStrokeFlyingOffDoesNotTiltTheLine() {
        var strokes = loops().strokes
        strokes.append((0..<6).map { Point(x: 120 + Double($0) * 4, y: -Double($0) * 30) })
        XCTAssertEqual(StrokeGeometry.slopeDegrees(HandwritingSample(id: "fly", strokes: strokes)), 0, accuracy: 0.5)
    }

    func testAVerticalStrokeIsNotTurnedOnItsSide() {
        let i = HandwritingSample(id: "I", strokes: [[Point(x: 0, y: 0), Point(x: 1, y: 20), Point(x: 2, y: 40)]])
        XCTAssertEqual(StrokeGeometry.levelled(i), i)
    }

    func testLetterHeightAndNormalisation() {
        let small = loops(radius: 3), large = loops(radius: 6, slope: 0.05)
        let h = StrokeGeometry.letterHeight(small)
        XCTAssertEqual(StrokeGeometry.letterHeight(large) / h, 2, accuracy: 0.1)
        let normal = StrokeGeometry.normalisedLine(large, letterHeight: h)
        XCTAssertEqual(StrokeGeometry.letterHeight(normal), h, accuracy: 1e-6 * h)
        XCTAssertEqual(normal.x.min()!, 0, accuracy: 1e-9)
        XCTAssertEqual(StrokeGeometry.midline(normal), 0, accuracy: 0.01 * h)
        XCTAssertEqual(StrokeGeometry.slopeDegrees(normal), 0, accuracy: 0.05)
        XCTAssertEqual(normal.strokeEnds, large.strokeEnds)
    }

    func testLetterHeightFactorOfTexts() {
        XCTAssertEqual(StrokeGeometry.letterHeightFactor(of: "a sum: occurs, even"), 1, accuracy: 1e-6)
        XCTAssertEqual(StrokeGeometry.letterHeightFactor(of: "HELLO WORLD, 1984"), 2, accuracy: 1e-6)
        XCTAssertEqual(StrokeGeometry.letterHeightFactor(of: "... !?"), 1)
        XCTAssertEqual(StrokeGeometry.letterHeightFactor(of: ""), 1)
        // Prose lies between: a few ascenders and descenders widen the middle half of the points a little.
        let prose = StrokeGeometry.letterHeightFactor(of: "thank you for the letter and the photographs")
        XCTAssertGreaterThan(prose, 1.1)
        XCTAssertLessThan(prose, 1.6)
    }
}
