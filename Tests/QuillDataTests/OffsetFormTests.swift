import XCTest
@testable import QuillData

final class OffsetFormTests: XCTestCase {
    func testOffsetsOfTwoStrokes() {
        let s = HandwritingSample(id: "a", strokes: [[Point(10, 20), Point(13, 24), Point(15, 21)], [Point(40, 20), Point(41, 22)]])
        let o = s.offsets()
        XCTAssertEqual(o.originX, 10)
        XCTAssertEqual(o.originY, 20)
        XCTAssertEqual(o.dx, [0, 3, 2, 25, 1])
        XCTAssertEqual(o.dy, [0, 4, -3, -1, 2])
        XCTAssertEqual(o.eos, [0, 0, 1, 0, 1])
    }

    func testRoundTripIsExactForIntegersAndDyadicFractions() {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<50 {
            var strokes = [Stroke]()
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                strokes.append((0..<Int.random(in: 1...20, using: &rng)).map { _ in
                    // Integers for half the trials, multiples of 1/64 for the others: both are exact in Double.
                    let scale = trial % 2 == 0 ? 1.0 : 1.0 / 64
                    return Point(Double(Int.random(in: -5000...5000, using: &rng)) * scale,
                            Double(Int.random(in: -5000...5000, using: &rng)) * scale)
                })
            }
            let s = HandwritingSample(id: "r\(trial)", strokes: strokes)
            let back = HandwritingSample(id: "r\(trial)", offsets: s.offsets())
            XCTAssertEqual(back, s, "trial \(trial)")
            XCTAssertEqual(back.offsets(), s.offsets())
        }
    }

    func testSinglePointStrokesSurvive() {
        let s = HandwritingSample(id: "dots", strokes: [[Point(1, 1)], [Point(5, 5)], [Point(9, 1)]])
        XCTAssertEqual(s.offsets().eos, [1, 1, 1])
        XCTAssertEqual(HandwritingSample(id: "dots", offsets: s.offsets()), s)
    }

    func testMissingFinalEosStillClosesTheLastStroke() {
        let o = OffsetSequence(originX: 0, originY: 0, dx: [0, 1, 1], dy: [0, 0, 0], eos: [0, 0, 0])
        XCTAssertEqual(HandwritingSample(id: "x", offsets: o).strokeEnds, [3])
    }
}
