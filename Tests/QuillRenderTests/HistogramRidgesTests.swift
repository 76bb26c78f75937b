import Foundation
import QuillData
import QuillTestSupport
import XCTest
@testable import QuillRender

/// `quill plot histograms`: reading the histogram records of metrics.jsonl and drawing them as a ridge plot.
final class HistogramRidgesTests: XCTestCase {
    static func record(step: Int, scale: Double, norm: String = "1.5") -> String {
        let w = #"{"min":\#(-scale),"max":\#(scale),"counts":[1,4,9,4,1],"sum":0,"sum_squares":1}"#
        let g = #"{"min":-0.1,"max":0.2,"counts":[0,2,5,3,0],"sum":0,"sum_squares":1}"#
        return #"{"kind":"histograms","step":\#(step),"elapsed_s":1,"grad_norm":\#(norm),"parameters":["lstm.0.wx","out.b"],"#
            + #""weights":{"lstm.0.wx":\#(w),"out.b":\#(w)},"gradients":{"lstm.0.wx":\#(g),"out.b":\#(g)}}"#
    }

    static let log = [
        #"{"kind":"train","step":10,"loss":2.5}"#, record(step: 10, scale: 0.1),
        #"{"kind":"val","step":10,"loss":2.4}"#, record(step: 20, scale: 0.2, norm: "null"), record(step: 30, scale: 0.3),
        // A resumed run logs step 30 again: the later record replaces it.
        record(step: 30, scale: 0.35),
    ].joined(separator: "\n") + "\n"

    func testRecordsAreReadPerTensorAndStepAndLossLinesSkipped() throws {
        let log = try HistogramLog.parse(Self.log, path: "m.jsonl")
        XCTAssertEqual(log.parameters, ["lstm.0.wx", "out.b"])
        let wx = try log.series("lstm.0.wx", gradients: false, path: "m.jsonl")
        XCTAssertEqual(wx.map(\.step), [10, 20, 30])
        XCTAssertEqual(wx.last?.max, 0.35)
        XCTAssertEqual(wx[0].counts, [1, 4, 9, 4, 1])
        XCTAssertEqual(try log.series("out.b", gradients: true, path: "m.jsonl")[1].min, -0.1)
        XCTAssertEqual(log.gradientNorms.map(\.step), [10, 20, 30])
        XCTAssertTrue(log.gradientNorms[1].norm.isNaN)
        // And MetricsLog, the loss reader, still reads the file.
        XCTAssertEqual(try MetricsLog.parse(Self.log, path: "m.jsonl").train.count, 1)
    }

    func testMissingRecordsUnknownTensorsAndDamagedRecordsAreOneLineErrors() {
        XCTAssertThrowsError(try HistogramLog.parse(#"{"kind":"train","step":1,"loss":2}"# + "\n", path: "m.jsonl")) {
            XCTAssertEqual("\($0)", "m.jsonl: no histogram records; train with --histogram-every N to log them")
        }
        XCTAssertThrowsError(try HistogramLog.parse(Self.log, path: "m.jsonl").series("lstm.9.wx", gradients: false, path: "m.jsonl")) {
            XCTAssertEqual("\($0)", "m.jsonl: no parameter 'lstm.9.wx'; the run logs lstm.0.wx, out.b")
        }
        // A tensor the run lists, without gradient histograms: said so, not "no parameter".
        let record = #"{"kind":"histograms","step":1,"grad_norm":1,"parameters":["a"],"weights":{"a":{"min":0,"max":1,"counts":[1]}},"gradients":{}}"#
        XCTAssertThrowsError(try HistogramLog.parse(record + "\n", path: "m.jsonl").series("a", gradients: true, path: "m.jsonl")) {
            XCTAssertEqual("\($0)", "m.jsonl: the run lists 'a' but logged no gradient histograms of it; draw its weights without --gradients")
        }
        for (bad, reason) in [(Self.record(step: 1, scale: 0.1).replacingOccurrences(of: "[1,4,9,4,1]", with: "[1,-4,9,4,1]"), "whole numbers"),
                              (Self.record(step: 1, scale: -0.1), "above max"),
                              (Self.record(step: 1, scale: 0.1).replacingOccurrences(of: #""step":1"#, with: #""step":1.5"#), "\"step\""),
                              (Self.record(step: 1, scale: 1e300), "finite number"),
                              (Self.record(step: 1, scale: 0.1).replacingOccurrences(of: #""parameters":["lstm.0.wx","out.b"]"#, with: #""parameters":["lstm.0.wx"]"#),
                               #""weights" holds 'out.b', which "parameters" does not list"#)] {
            XCTAssertThrowsError(try HistogramLog.parse(bad + "\n", path: "m.jsonl")) {
                XCTAssertTrue("\($0)".hasPrefix("m.jsonl:1: "), "\($0)")
                XCTAssertTrue("\($0)".contains(reason), "\($0)")
            }
        }
    }

    func testOutlineFollowsTheBinsScaledToThePeak() {
        let h = LoggedHistogram(step: 0, min: 0, max: 3, counts: [1, 2, 4])
        let p = RidgePlot.outline(h, baseline: 5, peak: 2, spikeWidth: 0.1)
        XCTAssertEqual(p, [Point(0, 5), Point(0, 5.5), Point(1, 5.5), Point(1, 6), Point(2, 6), Point(2, 7), Point(3, 7), Point(3, 5)])
        let spike = RidgePlot.outline(LoggedHistogram(step: 0, min: 1, max: 1, counts: [3, 0]), baseline: 0, peak: 1, spikeWidth: 0.2)
        XCTAssertEqual(spike.map(\.x), [0.9, 0.9, 1.1, 1.1])
        XCTAssertEqual(spike.map(\.y), [0, 1, 1, 0])
        XCTAssertEqual(RidgePlot.thinned(count: 5, limit: 10), [0, 1, 2, 3, 4])
        XCTAssertEqual(RidgePlot.thinned(count: 101, limit: 3), [0, 50, 100])
    }

    func testCentralRangeIsThePooledQuantilesWithEveryRidgeWeighingTheSame() throws {
        let flat = LoggedHistogram(step: 0, min: 0, max: 10, counts: [Int](repeating: 3, count: 10))
        let r = try XCTUnwrap(RidgePlot.centralRange([flat], coverage: 0.9))
        XCTAssertEqual(r.lower, 0.5, accuracy: 1e-9)
        XCTAssertEqual(r.upper, 9.5, accuracy: 1e-9)
        // A second ridge of 1000 values at 100 weighs as much as the first: the upper quantile lands in it.
        let point = LoggedHistogram(step: 1, min: 100, max: 100, counts: [1000, 0])
        let both = try XCTUnwrap(RidgePlot.centralRange([flat, point], coverage: 0.5))
        XCTAssertEqual(both.lower, 5, accuracy: 1e-9)
        XCTAssertEqual(both.upper, 100, accuracy: 1e-9)
        XCTAssertNil(RidgePlot.centralRange([LoggedHistogram(step: 0, min: 0, max: 0, counts: [0])], coverage: 0.9))
    }

    func testRidgePlotDrawsEveryFormat() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let ridges = try HistogramLog.parse(Self.log, path: "m").series("lstm.0.wx", gradients: false, path: "m")
        for ext in ["png", "svg", "pdf"] {
            let path = dir.path("ridges.\(ext)")
            XCTAssertEqual(try RidgePlot.render(ridges, to: path), 3)
            XCTAssertGreaterThan(try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int), 500)
        }
        let image = try RasterImage.readPNG(dir.path("ridges.png"))
        XCTAssertEqual(image.width, 1440)
        XCTAssertGreaterThan(image.count(differingFrom: .white), 20_000)
    }
}
