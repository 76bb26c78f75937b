import ArgumentParser
import Foundation
import QuillData

/// `quill bench import`: time importing the IAM-OnDB JSON-lines file, writing and reloading the prepared file.
public struct BenchImportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Time import + prepare + write of IAM-OnDB JSON lines, and loading the result (use -c release)."
    )

    @Option(name: .customLong("data"), help: "The IAM-OnDB JSON-lines file.")
    var data = "../shared/datasets/iam_ondb_lines/iam_ondb_lines.jsonl"

    @Option(name: .customLong("repeat"), help: "Runs (1…100); the best time is reported.")
    var repeats = 3

    @OptionGroup var output: BenchOutputOptions

    public init() {}

    public func validate() throws {
        try OptionRange.check("repeat", repeats, 1...100)
        try refuseNonFiles([("--data", data)])
    }

    public func run() throws {
        guard FileManager.default.fileExists(atPath: data) else {
            throw CLIError("\(data): no such file. Pass --data PATH to iam_ondb_lines.jsonl.", status: .noInput)
        }
        let scratch = NSTemporaryDirectory() + "quill-bench-\(ProcessInfo.processInfo.processIdentifier).qds"
        let bench = try ImportPipeline.benchmark(jsonl: data, repeats: repeats, scratch: scratch)
        let r = bench.best, bestLoad = bench.loadSeconds
        let points = Double(bench.points)
        let mb = Double(r.inputBytes) / 1e6
        var report = BenchReport(bench: "import")
        report.line(String(format: "input: %@ (%.1f MB, %d samples, %.0f points)", data, mb, r.dataset.samples.count, points))
        report.line(String(format: "parse   %.3f s  (%.0f MB/s, %.1f M points/s)", r.parseSeconds, mb / r.parseSeconds,
                           points / r.parseSeconds / 1e6))
        report.line(String(format: "prepare %.3f s", r.prepareSeconds))
        report.line(String(format: "write   %.3f s  (%.1f MB)", r.writeSeconds, Double(r.outputBytes) / 1e6))
        report.line(String(format: "total   %.3f s  (%.0f MB/s, %.1f M points/s), best of %d", r.totalSeconds,
                           mb / r.totalSeconds, points / r.totalSeconds / 1e6, repeats))
        report.line(String(format: "load prepared file: %.3f s (best of %d)", bestLoad, repeats))
        report.set("input_megabytes", mb)
        report.set("samples", r.dataset.samples.count)
        report.set("points", points)
        report.set("parse_seconds", r.parseSeconds)
        report.set("prepare_seconds", r.prepareSeconds)
        report.set("write_seconds", r.writeSeconds)
        report.set("total_seconds", r.totalSeconds)
        report.set("load_seconds", bestLoad)
        report.set("points_per_second", points / r.totalSeconds)
        report.set("repeats", repeats)
        report.emit(json: output.json)
    }
}
