import XCTest
@testable import QuillData

final class PreprocessingTests: XCTestCase {
    func testOutlierRemovalDropsInStrokeGlitchesOnly() {
        // Stroke 1 has a glitch at index 2; the jump to stroke 2 (pen up) is long but legitimate.
        let s = HandwritingSample(id: "o", strokes: [[Point(0, 0), Point(1, 0), Point(500, 500), Point(2, 0)], [Point(1000, 0), Point(1001, 1)]])
        let (out, removed) = StrokeGeometry.removeOutliers(s, threshold: 50)
        XCTAssertEqual(removed, 1)
        XCTAssertEqual(out.x, [0, 1, 2, 1000, 1001])
        XCTAssertEqual(out.strokeEnds, [3, 5])
        // A glitch at a stroke's last point moves the stroke end back.
        let t = HandwritingSample(id: "t", strokes: [[Point(0, 0), Point(1, 0), Point(900, 0)], [Point(5, 5)]])
        let (out2, removed2) = StrokeGeometry.removeOutliers(t, threshold: 50)
        XCTAssertEqual(removed2, 1)
        XCTAssertEqual(out2.x, [0, 1, 5])
        XCTAssertEqual(out2.strokeEnds, [2, 3])
    }

    func testSavitzkyGolayReproducesCubicsExactlyIncludingEnds() {
        let cubic = (0..<20).map { i -> Double in let t = Double(i); return 0.5 * t * t * t - 2 * t * t + 3 * t - 7 }
        let smoothed = StrokeGeometry.savitzkyGolay(cubic, window: 7, order: 3)
        for i in cubic.indices { XCTAssertEqual(smoothed[i], cubic[i], accuracy: 1e-8 * max(1, abs(cubic[i]))) }
    }

    func testSavitzkyGolayKnownWeightsAndNoiseReduction() {
        // The classic 5-point quadratic weights: (−3, 12, 17, 12, −3) / 35.
        let w = StrokeGeometry.savitzkyGolayWeights(window: 5, order: 2)[2]
        for (a, b) in zip(w, [-3.0, 12, 17, 12, -3].map { $0 / 35 }) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        // Alternating noise on a line is damped.
        let noisy = (0..<30).map { Double($0) + ($0 % 2 == 0 ? 0.5 : -0.5) }
        let s = StrokeGeometry.savitzkyGolay(noisy, window: 7, order: 3)
        let err = zip(s, 0..<30).dropFirst(3).dropLast(3).map { abs($0 - Double($1)) }.max() ?? 1
        XCTAssertLessThan(err, 0.2)
        // Too short to smooth: unchanged.
        XCTAssertEqual(StrokeGeometry.savitzkyGolay([1, 5], window: 7, order: 3), [1, 5])
    }

    func testSmoothingIsPerStroke() {
        // Two strokes that are each a straight line: smoothing changes nothing, even across the jump.
        let s = HandwritingSample(id: "s", strokes: [(0..<9).map { Point(Double($0), 2 * Double($0)) },
                                                     (0..<9).map { Point(100 + Double($0), 50.0) }])
        let out = StrokeGeometry.smooth(s, window: 5, order: 1)
        for i in s.x.indices {
            XCTAssertEqual(out.x[i], s.x[i], accuracy: 1e-9)
            XCTAssertEqual(out.y[i], s.y[i], accuracy: 1e-9)
        }
    }

    func testSlantCorrectionMakesSlantedStrokesVertical() {
        // Down strokes leaning right by 0.4 units of x per unit of y (y down: the top is to the right).
        var strokes = [Stroke]()
        for k in 0..<5 {
            let x0 = Double(k) * 30
            strokes.append((0...10).map { j -> Point in
                let y = Double(j * 5)
                return Point(x: x0 - 0.4 * y, y: y)
            })
        }
        let s = HandwritingSample(id: "slant", strokes: strokes)
        XCTAssertEqual(StrokeGeometry.estimateSlant(s), -0.4, accuracy: 1e-12)
        let (out, shear) = StrokeGeometry.correctSlant(s)
        XCTAssertEqual(shear, -0.4, accuracy: 1e-12)
        XCTAssertEqual(StrokeGeometry.estimateSlant(out), 0, accuracy: 1e-12)
        for r in out.strokeRanges { for i in r { XCTAssertEqual(out.x[i], out.x[r.lowerBound], accuracy: 1e-9) } }
        XCTAssertEqual(out.y, s.y)
    }

    func testDecimationKeepsStrokeEnds() {
        let s = HandwritingSample(id: "d", strokes: [(0..<10).map { Point(Double($0), 0) }, [Point(50, 0), Point(51, 0)], [Point(70, 0)]])
        let out = StrokeGeometry.decimate(s, every: 4)
        XCTAssertEqual(out.x, [0, 4, 8, 9, 50, 51, 70])
        XCTAssertEqual(out.strokeEnds, [4, 6, 7])
        XCTAssertEqual(out.offsets().eos, [0, 0, 0, 1, 0, 1, 1])
    }

    func testTruncationEndsTheLastStroke() {
        let s = HandwritingSample(id: "t", strokes: [[Point(0, 0), Point(1, 1), Point(2, 2)], [Point(5, 5), Point(6, 6), Point(7, 7)]])
        let out = StrokeGeometry.truncate(s, maxPoints: 4)
        XCTAssertEqual(out.x, [0, 1, 2, 5])
        XCTAssertEqual(out.strokeEnds, [3, 4])
        XCTAssertEqual(StrokeGeometry.truncate(s, maxPoints: 10), s)
    }

    func testNormalisationStatistics() {
        let a = OffsetSequence(originX: 0, originY: 0, dx: [0, 1, 3], dy: [0, 2, 2], eos: [0, 0, 1])
        let b = OffsetSequence(originX: 0, originY: 0, dx: [0, 5], dy: [0, 2], eos: [0, 1])
        let st = OffsetStatistics.measure([a, b])  // rows 1…: dx 1, 3, 5; dy 2, 2, 2
        XCTAssertEqual(st.meanDx, 3)
        XCTAssertEqual(st.stdDx, (8.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(st.meanDy, 2)
        XCTAssertEqual(st.stdDy, 1)  // zero variance falls back to 1
    }

    func testPipelineNormalisesTrainingOffsetsToZeroMeanUnitVariance() throws {
        var samples = [HandwritingSample]()
        for k in 0..<40 {
            var s = HandwritingSample(id: "s\(k)", strokes: [(0..<(5 + k % 7)).map { j in
                Point(Double(j * j + k), Double(3 * j - k)) }, [Point(Double(k), 9), Point(Double(k + 4), 12)]], text: "ab")
            s.source = "fixture"
            samples.append(s)
        }
        var o = PreprocessOptions()
        o.validationFraction = 0
        o.alphabet = .frequency(minCount: 1)
        let ds = try Preparer.prepare(ImportResult(samples: samples), format: .iamJSONL, options: o)
        var values = [Double]()
        for s in ds.samples { values += s.dx.dropFirst().map(Double.init) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-5)
        XCTAssertEqual(variance, 1, accuracy: 1e-4)
        // Undoing the normalisation gives the original strokes back (to Float precision).
        for (s, src) in zip(ds.samples, samples) {
            let back = ds.strokes(of: s).flatMap { $0 }
            XCTAssertEqual(back.count, src.pointCount)
            for (p, i) in zip(back, src.x.indices) {
                XCTAssertEqual(p.x, src.x[i], accuracy: 1e-3)
                XCTAssertEqual(p.y, src.y[i], accuracy: 1e-3)
            }
        }
    }

    func testYAxisUpIsUndoneForDrawing() throws {
        let src = HandwritingSample(id: "y", strokes: [[Point(0, 0), Point(1, 10)], [Point(5, 20)]], text: "x")
        var o = PreprocessOptions()
        o.yAxis = .up
        o.normalise = false
        let ds = try Preparer.prepare(ImportResult(samples: [src]), format: .inkml, options: o)
        XCTAssertEqual(ds.samples[0].dy, [0, -10, -10])
        XCTAssertEqual(ds.strokes(of: ds.samples[0]).map { $0.map(\.y) }, [[0, 10], [20]])
    }

    func testInvalidOptionsAreRejected() {
        var o = PreprocessOptions()
        o.smoothingWindow = 4
        assertDatasetError(["smoothing window (--smooth-window) must be odd"]) { try o.validate() }
        o = PreprocessOptions()
        o.validationFraction = 1.5
        assertDatasetError(["validation fraction"]) { try o.validate() }
    }
}
