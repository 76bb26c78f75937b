import Foundation
import QuillData
import XCTest
@testable import QuillRender

/// Metrics that parse but cannot come from a run, CRLF files, degenerate axes, and messages without Swift dumps.
final class PlausibleMetricsTests: RenderTestCase {
    func testAbsurdValuesAreRefusedWithTheLine() {
        let good = #"{"kind":"train","step":1,"elapsed_s":1,"loss":2}"#
        let cases: [(String, String)] = [
            (#"{"kind":"train","step":2,"elapsed_s":2,"loss":1e300}"#, "\"loss\" is 1e+300"),
            (#"{"kind":"val","step":2,"elapsed_s":2,"loss":-1e308}"#, "\"loss\" is -1e+308"),
            (#"{"kind":"train","step":2,"elapsed_s":-1e308,"loss":1}"#, "\"elapsed_s\" is -1e+308"),
            (#"{"kind":"train","step":2,"elapsed_s":-1,"loss":1}"#, "\"elapsed_s\" is -1"),
            (#"{"kind":"train","step":2,"elapsed_s":2e10,"loss":1}"#, "\"elapsed_s\" is 2e+10"),
            (#"{"kind":"train","step":1e13,"loss":1}"#, "\"step\" is 1e+13"),
            (#"{"kind":"train","step":2,"loss":1,"lr":1e200}"#, "\"lr\" is 1e+200"),
        ]
        for (line, expected) in cases {
            XCTAssertThrowsError(try MetricsLog.parse(good + "\n" + line + "\n", path: "m.jsonl"), line) { error in
                let m = "\(error)"
                XCTAssertTrue(m.hasPrefix("m.jsonl:2: ") && m.contains(expected) && m.contains("plausible"), m)
                XCTAssertFalse(m.contains("\n"))
            }
        }
        // The bounds themselves are accepted.
        XCTAssertNoThrow(try MetricsLog.parse(#"{"kind":"train","step":1000000000000,"elapsed_s":1e10,"loss":-1e12}"#,
                                              path: "m"))
    }

    func testCRLFLineEndsAreRead() throws {
        let text = "{\"kind\":\"train\",\"step\":1,\"loss\":2}\r\n{\"kind\":\"val\",\"step\":2,\"loss\":1.5}\r\n\r\n"
        let log = try MetricsLog.parse(text, path: "m.jsonl")
        XCTAssertEqual(log.train.map(\.step), [1])
        XCTAssertEqual(log.val.map(\.loss), [1.5])
        // An unfinished last line after CRLF lines is still left out, and a bad line still names its number.
        let cut = "{\"kind\":\"train\",\"step\":1,\"loss\":2}\r\n{\"kind\":\"tr"
        XCTAssertEqual(try MetricsLog.parse(cut, path: "m").train.count, 1)
        XCTAssertThrowsError(try MetricsLog.parse("{\"kind\":\"train\",\"step\":1,\"loss\":2}\r\n{x\r\n", path: "m")) {
            XCTAssertTrue("\($0)".contains("m:2: not valid JSON"), "\($0)")
        }
    }

    /// Ticks stay a handful of finite values with short labels, however huge or degenerate the range.
    func testTicksForHugeAndDegenerateRanges() {
        for (lo, hi) in [(-1e308, 0.0), (-1.7e308, 1.7e308), (0, Double.greatestFiniteMagnitude), (1e300, 1e300),
                         (5, 5), (-Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude), (1e15, 1e15 + 1)] {
            let t = NiceTicks(min: lo, max: hi, count: 5)
            XCTAssertTrue(t.values.count >= 2 && t.values.count <= 24, "\(lo)…\(hi): \(t.values.count) ticks")
            XCTAssertTrue(t.values.allSatisfy(\.isFinite) && t.lower.isFinite && t.upper.isFinite, "\(lo)…\(hi)")
            XCTAssertTrue(t.lower <= t.upper, "\(lo)…\(hi)")
            for label in t.labels { XCTAssertLessThanOrEqual(label.count, 20, "\(lo)…\(hi): \(label)") }
        }
        XCTAssertEqual(NiceTicks.format(1.2e10, step: 1e9), "1.2e+10")
        XCTAssertEqual(NiceTicks.format(3e11, step: 1e11), "3e+11")
        XCTAssertEqual(NiceTicks.format(12000, step: 2000), "12k")
    }

    /// Plots of the extreme values that are still accepted render, on both x axes.
    func testExtremeButAcceptedMetricsRender() throws {
        let text = """
        {"kind":"train","step":0,"elapsed_s":0,"loss":1e12}
        {"kind":"train","step":1000000000000,"elapsed_s":1e10,"loss":-1e12}
        {"kind":"val","step":5,"elapsed_s":3,"loss":1}
        """
        let log = try MetricsLog.parse(text, path: "m")
        for axis in LossPlot.XAxis.allCases {
            var options = LossPlot.Options()
            options.xAxis = axis
            options.pixelScale = 1
            XCTAssertNoThrow(try LossPlot.render(log, to: file("extreme-\(axis.rawValue).png"), options: options))
        }
    }

    func testGeometryPrintsPlainNumbers() {
        XCTAssertEqual(Rect(x: 8, y: 8, width: 704, height: 424).description, "704 × 424 at (8, 8)")
        XCTAssertEqual(Point(0.5, -3).description, "(0.5, -3)")
        XCTAssertEqual(Size(width: 720, height: 440).description, "720 × 440")
        XCTAssertEqual(Point(.nan, .infinity).description, "(nan, inf)")
    }
}
