import Foundation
import XCTest
@testable import QuillRender

final class MetricsTests: RenderTestCase {
    func testParsesTrainAndValAndIgnoresUnknownKeys() throws {
        let text = """
        {"kind":"train","step":120,"elapsed_s":14.2,"loss":1.83,"lr":0.002,"rate":8123.4,"extra":[1,2]}

        {"kind":"val","step":200,"elapsed_s":25.0,"loss":1.71}
        {"kind":"sample","step":200,"text":"hello"}
        {"kind":"val","step":400,"elapsed_s":50.0,"loss":1.65,"unit":"nats/point"}
        """
        let log = try MetricsLog.parse(text, path: "m.jsonl")
        XCTAssertEqual(log.train, [MetricsRecord(kind: .train, step: 120, elapsedSeconds: 14.2, loss: 1.83,
                                                 learningRate: 0.002, rate: 8123.4)])
        XCTAssertEqual(log.val.map(\.step), [200, 400])
        XCTAssertEqual(log.bestVal?.step, 400)
        XCTAssertEqual(log.lossLabel, "loss (nats/point)")
        XCTAssertEqual(try MetricsLog.parse(#"{"kind":"train","step":1,"loss":2}"#, path: "m").lossLabel,
                       "loss (nats/char)")
    }

    func testMalformedLinesNameFileAndLine() {
        let cases: [(String, String)] = [
            ("{\"kind\":\"train\",\"step\":1,\"loss\":2}\n{not json\n", "m.jsonl:2: not valid JSON"),
            ("{\"kind\":\"train\",\"step\":1,\"loss\":1e999}\n", "m.jsonl:1: the number 1e999 is beyond the range of a double"),
            ("[1,2]", "m.jsonl:1: not a JSON object"),
            (#"{"step":1,"loss":2}"#, "missing \"kind\""),
            (#"{"kind":"train","loss":2}"#, "missing \"step\""),
            (#"{"kind":"val","step":3}"#, "missing \"loss\""),
            (#"{"kind":"val","step":3,"loss":"low"}"#, "\"loss\" must be a finite number"),
            (#"{"kind":"val","step":3,"loss":true}"#, "\"loss\" must be a finite number"),
            (#"{"kind":"val","step":-3,"loss":1}"#, "\"step\" must be a whole number"),
            (#"{"kind":"val","step":2.5,"loss":1}"#, "\"step\" must be a whole number"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try MetricsLog.parse(text, path: "m.jsonl"), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should contain \(expected)")
            }
        }
    }

    /// A run killed while appending leaves an unfinished last line: the records before it still plot.
    func testUnfinishedLastLineOfAKilledRunIsLeftOut() throws {
        let text = "{\"kind\":\"train\",\"step\":1,\"loss\":2}\n{\"kind\":\"train\",\"step\":2,\"lo"
        let log = try MetricsLog.parse(text, path: "m.jsonl")
        XCTAssertEqual(log.train.map(\.step), [1])
    }

    func testEmptyAndMissingFiles() throws {
        XCTAssertThrowsError(try MetricsLog.read(file("metrics.jsonl"))) {
            XCTAssertEqual($0 as? MetricsError, .missing(path: file("metrics.jsonl")))
        }
        try Data().write(to: URL(fileURLWithPath: file("metrics.jsonl")))
        XCTAssertThrowsError(try MetricsLog.read(file("metrics.jsonl"))) {
            XCTAssertTrue("\($0)".contains("no train or val records"), "\($0)")
        }
        try Data("\n\n".utf8).write(to: URL(fileURLWithPath: file("metrics.jsonl")))
        XCTAssertThrowsError(try MetricsLog.read(file("metrics.jsonl")))
        XCTAssertThrowsError(try MetricsLog.read(dir)) { XCTAssertTrue("\($0)".contains("no such file")) }
    }

    func testSeriesForStepAndTime() throws {
        var lines: [String] = []
        for s in stride(from: 0, through: 2000, by: 10) {
            lines.append(#"{"kind":"train","step":\#(s),"elapsed_s":\#(Double(s) * 0.3),"loss":\#(3 - Double(s) / 1000)}"#)
        }
        lines.append(#"{"kind":"val","step":1000,"elapsed_s":301,"loss":2.1}"#)
        let log = try MetricsLog.parse(lines.joined(separator: "\n"), path: "m")
        let byStep = LossPlot.series(log, xAxis: .step)
        XCTAssertEqual(byStep.map(\.name), [nil, "train (smoothed)", "validation"])
        XCTAssertLessThan(byStep[0].alpha, 0.5, "raw train is faint")
        XCTAssertEqual(byStep[2].xs, [1000])
        XCTAssertGreaterThan(byStep[2].markerRadius, 0)
        let byTime = LossPlot.series(log, xAxis: .time)
        XCTAssertEqual(byTime[2].xs[0], 301.0 / 60, accuracy: 1e-12)
        XCTAssertEqual(byTime[0].xs.last ?? 0, 10, accuracy: 1e-12)  // 2000 steps × 0.3 s = 10 minutes
    }

    /// Several runs on one plot: a colour per run, validation named after the run, train faint and unnamed; runs in
    /// different units are refused.
    func testOverlayOfSeveralRuns() throws {
        func log(_ base: Double, unit: String = "nats/char") throws -> MetricsLog {
            var lines = (0...40).map { #"{"kind":"train","step":\#($0 * 10),"loss":\#(base - Double($0) / 100),"unit":"\#(unit)"}"# }
            lines += [#"{"kind":"val","step":200,"loss":\#(base - 1)}"#, #"{"kind":"val","step":400,"loss":\#(base - 1.5)}"#]
            return try MetricsLog.parse(lines.joined(separator: "\n"), path: "m")
        }
        let runs = [(name: "lstm", log: try log(3)), (name: "gru", log: try log(3.2))]
        let series = LossPlot.overlaySeries(runs, xAxis: .step)
        XCTAssertEqual(series.map(\.name), [nil, "lstm", nil, "gru"])
        XCTAssertEqual(series[0].color, series[1].color)
        XCTAssertNotEqual(series[1].color, series[3].color)
        XCTAssertLessThan(series[0].alpha, 0.5)
        XCTAssertEqual(series[3].ys[1], 1.7, accuracy: 1e-12)
        try LossPlot.renderOverlay(runs, to: file("overlay.png"))
        XCTAssertGreaterThan(try RasterImage.readPNG(file("overlay.png")).count(differingFrom: .white), 5000)
        XCTAssertThrowsError(try LossPlot.renderOverlay(runs + [(name: "synthesis", log: try log(1, unit: "nats/point"))],
                                                        to: file("mixed.png"))) {
            XCTAssertTrue("\($0)".contains("different units (lstm: nats/char; gru: nats/char; synthesis: nats/point)"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("mixed.png")))
    }

    func testRenderLossPlotAllFormats() throws {
        var lines: [String] = []
        for s in stride(from: 0, through: 3000, by: 25) {
            let loss = 1.4 + 2.5 * exp(-Double(s) / 500) + 0.05 * sin(Double(s))
            lines.append(#"{"kind":"train","step":\#(s),"elapsed_s":\#(Double(s) * 0.1),"loss":\#(loss)}"#)
            if s % 500 == 0 {
                lines.append(#"{"kind":"val","step":\#(s),"elapsed_s":\#(Double(s) * 0.1),"loss":\#(loss + 0.1)}"#)
            }
        }
        let metrics = file("metrics.jsonl")
        try lines.joined(separator: "\n").write(toFile: metrics, atomically: true, encoding: .utf8)
        let log = try MetricsLog.read(metrics)
        var options = LossPlot.Options()
        options.title = "test run"
        options.pixelScale = 1
        for ext in ["png", "svg", "pdf"] {
            try LossPlot.render(log, to: file("loss.\(ext)"), options: options)
        }
        let image = try RasterImage.readPNG(file("loss.png"))
        XCTAssertEqual(image.width, 720)
        XCTAssertEqual(image.height, 440)
        XCTAssertGreaterThan(image.count(differingFrom: .white), 5000)
        // Validation curve colour appears.
        XCTAssertGreaterThan(image.pixels.filter { $0.r > 0.7 && $0.g < 0.3 && $0.b < 0.3 }.count, 50)
        options.xAxis = .time
        try LossPlot.render(log, to: file("loss-time.png"), options: options)
        XCTAssertEqual(try listing().filter { $0.hasPrefix(".") }, [], "no temporary files left")
    }

    /// A handwriting run without a validation split logs `"loss": null` validations; they are skipped.
    func testNullLossesAreSkipped() throws {
        let text = """
        {"kind":"train","step":10,"elapsed_s":1,"loss":1.5,"nats_per_sequence":900,"unit":"nats/point"}
        {"kind":"val","step":10,"elapsed_s":1.2,"loss":null,"nats_per_sequence":null,"unit":"nats/point"}
        {"kind":"train","step":20,"elapsed_s":2,"loss":1.2,"unit":"nats/point"}
        """
        let log = try MetricsLog.parse(text, path: "m.jsonl")
        XCTAssertEqual(log.train.map(\.step), [10, 20])
        XCTAssertEqual(log.val, [])
        XCTAssertNil(log.bestVal)
        XCTAssertEqual(LossPlot.series(log, xAxis: .step).map(\.name), ["train"])
        try text.write(toFile: file("metrics.jsonl"), atomically: true, encoding: .utf8)
        try LossPlot.render(try MetricsLog.read(file("metrics.jsonl")), to: file("loss.png"))

        let onlyNulls = #"{"kind":"val","step":10,"loss":null}"# + "\n" + #"{"kind":"train","step":10,"loss":null}"#
        XCTAssertThrowsError(try MetricsLog.parse(onlyNulls, path: "m.jsonl")) { e in
            XCTAssertEqual(e as? MetricsError, .noLosses(path: "m.jsonl"))
            XCTAssertTrue("\(e)".hasPrefix("m.jsonl: every train and val record has \"loss\": null"), "\(e)")
        }
        // A missing loss is still an error.
        XCTAssertThrowsError(try MetricsLog.parse(#"{"kind":"val","step":3}"#, path: "m.jsonl"))
    }

    func testResumedRunSupersedesLaterRecords() throws {
        let text = [10, 20, 30, 40, 20, 30, 50].map { #"{"kind":"train","step":\#($0),"loss":\#(Double($0) / 10)}"# }
        let log = try MetricsLog.parse(text.joined(separator: "\n"), path: "m")
        XCTAssertEqual(log.train.map(\.step), [10, 20, 30, 50])
    }
}
