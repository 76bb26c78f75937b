import QuillData
import XCTest
@testable import QuillRender

final class ScaleTests: XCTestCase {
    func testNiceTicksRoundOutward() {
        let t = NiceTicks(min: 0.13, max: 0.91, count: 5)
        XCTAssertEqual(t.step, 0.2, accuracy: 1e-12)
        XCTAssertEqual(t.lower, 0, accuracy: 1e-12)
        XCTAssertEqual(t.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(t.labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    }

    func testNiceTicksLargeAndNegativeRanges() {
        let t = NiceTicks(min: 0, max: 4870, count: 5)
        XCTAssertEqual(t.step, 1000)
        XCTAssertEqual(t.values, [0, 1000, 2000, 3000, 4000, 5000])
        XCTAssertEqual(t.labels, ["0", "1k", "2k", "3k", "4k", "5k"])
        let n = NiceTicks(min: -3.2, max: 1.1, count: 4)
        XCTAssertEqual(n.step, 1)
        XCTAssertEqual(n.values, [-4, -3, -2, -1, 0, 1, 2])
        XCTAssertFalse(n.labels.contains("-0"))
    }

    func testNiceTicksDegenerateInput() {
        let flat = NiceTicks(min: 2, max: 2)
        XCTAssertLessThan(flat.lower, 2)
        XCTAssertGreaterThan(flat.upper, 2)
        let zero = NiceTicks(min: 0, max: 0)
        XCTAssertEqual(zero.lower, -1)
        XCTAssertEqual(zero.upper, 1)
        let bad = NiceTicks(min: .nan, max: .infinity)
        XCTAssertEqual(bad.lower, 0)
        XCTAssertEqual(bad.upper, 1)
        let swapped = NiceTicks(min: 10, max: 0)
        XCTAssertEqual(swapped.lower, 0)
        XCTAssertEqual(swapped.upper, 10)
    }

    func testNiceNumber() {
        XCTAssertEqual(NiceTicks.niceNumber(0.0173, round: true), 0.02, accuracy: 1e-15)
        XCTAssertEqual(NiceTicks.niceNumber(3.4, round: false), 5)
        XCTAssertEqual(NiceTicks.niceNumber(7.5, round: true), 10)
        XCTAssertEqual(NiceTicks.format(12000, step: 2000), "12k")
        XCTAssertEqual(NiceTicks.format(2500, step: 500), "2500")
        XCTAssertEqual(NiceTicks.format(0.25, step: 0.05), "0.25")
        XCTAssertEqual(NiceTicks.format(-0.0, step: 0.1), "0.0")
    }

    func testColormapEndpointsAndClamping() {
        XCTAssertEqual(Colormap.viridis.color(at: 0), Color(hex: 0x440154))
        XCTAssertEqual(Colormap.viridis.color(at: 1), Color(hex: 0xfde725))
        XCTAssertEqual(Colormap.viridis.color(at: -3), Color(hex: 0x440154))
        XCTAssertEqual(Colormap.viridis.color(at: 7), Color(hex: 0xfde725))
        XCTAssertEqual(Colormap.viridis.color(at: .nan), Color(hex: 0x440154))
        XCTAssertEqual(Colormap.greys.color(at: 0), .white)
        XCTAssertEqual(Colormap.greys.color(at: 1), .black)
        XCTAssertEqual(Colormap.greys.color(at: 0.5).r, 0.5, accuracy: 1e-12)
        XCTAssertEqual(Colormap.hot.color(at: 0), Color(r: 0, g: 0, b: 0))
        XCTAssertEqual(Colormap.hot.color(at: 1), .white)
        XCTAssertEqual(Colormap.named("greys_r")?.color(at: 0), .black)
        XCTAssertNil(Colormap.named("jet"))
    }

    func testViridisIsMonotoneInLightness() {
        let lum = stride(from: 0.0, through: 1.0, by: 0.05).map { t -> Double in
            let c = Colormap.viridis.color(at: t)
            return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b
        }
        XCTAssertEqual(lum, lum.sorted())
    }

    func testMatrixShapeChecksAndColors() throws {
        let m = try Matrix([[0, 1], [2, 4]])
        XCTAssertEqual(m[1, 0], 2)
        XCTAssertEqual(m.transposed.values, [0, 2, 1, 4])
        XCTAssertEqual(m.colors(.greys, lower: 0, upper: 4).map(\.r), [1, 0.75, 0.5, 0])
        XCTAssertThrowsError(try Matrix(rows: 2, cols: 2, values: [1, 2, 3]))
        XCTAssertThrowsError(try Matrix([[1, 2], [3]]))
        XCTAssertThrowsError(try Matrix(rows: 0, cols: 3, values: []))
        XCTAssertThrowsError(try Matrix(rows: 1, cols: 2, values: [1, .infinity])) { error in
            XCTAssertTrue("\(error)".contains("column 1"), "\(error)")
        }
    }

    func testPlotFrameMapsCornersAndFlips() {
        let f = PlotFrame(rect: Rect(x: 10, y: 20, width: 100, height: 50), x: (0, 10), y: (0, 5))
        XCTAssertEqual(f.point(0, 0), Point(10, 70))
        XCTAssertEqual(f.point(10, 5), Point(110, 20))
        let flipped = PlotFrame(rect: f.rect, x: (0, 10), y: (5, 0))  // heatmap: row 0 on top
        XCTAssertEqual(flipped.point(0, 0), Point(10, 20))
    }

    func testMovingAverageAndSeriesRuns() {
        XCTAssertEqual(PlotMath.movingAverage([1, 2, 3, 4, 5], window: 3), [1, 2, 3, 4, 5])
        // The ends: the line through the points the window holds there ([0, 3] → 0 and 3 at the ends here).
        XCTAssertEqual(PlotMath.movingAverage([0, 3, 0, 3, 0], window: 3), [0, 1, 2, 1, 0])
        // A noisy flat series: the last value is smoothed, not the last point's noise; a straight line is kept.
        let noisy = (0..<40).map { 5 + ($0 % 2 == 0 ? 1.0 : -1.0) }
        let smoothed = PlotMath.movingAverage(noisy, window: 9)
        XCTAssertEqual(smoothed.last ?? 0, 5, accuracy: 0.4)
        XCTAssertEqual(smoothed.first ?? 0, 5, accuracy: 0.4)
        for (a, b) in zip(PlotMath.movingAverage((0..<30).map { 2 * Double($0) - 7 }, window: 11), (0..<30).map { 2 * Double($0) - 7 }) {
            XCTAssertEqual(a, b, accuracy: 1e-9)
        }
        XCTAssertEqual(PlotMath.movingAverage([4, 8], window: 1), [4, 8])
        let s = Series(xs: [0, 1, 2, 3, 4], ys: [1, .nan, 2, 3, .infinity])
        XCTAssertEqual(s.finiteRuns.map { $0.map(\.x) }, [[0], [2, 3]])
        XCTAssertEqual(LossPlot.smoothingWindow(count: 10), 1)
        XCTAssertEqual(LossPlot.smoothingWindow(count: 400), 21)
    }
}
